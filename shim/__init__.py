"""kubeshim: a Kubernetes API server on SQLite that runs Pods as local processes."""
