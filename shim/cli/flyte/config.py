"""Flyte's configuration, generated: the single binary's config, the flytekit client config, the kubelet's image
rules for task pods, and the cluster resource templates.

The values follow Flyte's own sandbox and the flyte-binary Helm chart (docker/sandbox-bundled, charts/flyte-binary
in Flyte's repository), with everything pointed at the local services: kubeshim as the Kubernetes API, the
Postgres and S3 endpoints `kubeshim flyte up` runs, task pods given the object store's endpoint and keys.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from shim.cli.flyte import webhook
from shim.cli.flyte.objectstore import ObjectStore
from shim.cli.flyte.postgres import Database
from shim.cli.flyte.processes import StartError
from shim.cli.flyte.settings import FlyteSettings

FLYTEKIT_IMAGES = ["cr.flyte.org/flyteorg/flytekit:*", "ghcr.io/flyteorg/flytekit:*"]
NAMESPACE_TEMPLATE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: '{{ namespace }}'
"""


def flyte_config(s: FlyteSettings, db: Database, store: ObjectStore) -> dict[str, Any]:
    """The single binary's config (admin + propeller + datacatalog in one process)."""
    ports = s.flyte_ports
    logs = {"kubernetes-enabled": True, "kubernetes-template-uri": s.log_template(),
            "cloudwatch-enabled": False, "stackdriver-enabled": False}
    stow = {"kind": "s3", "config": {"region": store.region, "disable_ssl": store.endpoint.startswith("http:"),
                                     "v2_signing": False, "endpoint": store.endpoint, "auth_type": "accesskey",
                                     "access_key_id": store.access_key, "secret_key": store.secret_key}}
    return {
        "admin": {"endpoint": f"dns:///{s.host}:{ports.admin_grpc}", "insecure": True},
        "catalog-cache": {"endpoint": f"{s.host}:{ports.datacatalog_grpc}", "insecure": True,
                          "type": "datacatalog"},
        "flyte": {
            "admin": {"disabled": False, "disableScheduler": False, "disableClusterResourceManager": False,
                      "seedProjects": list(s.projects)},
            "dataCatalog": {"disabled": False},
            # propeller's pod webhook injects tasks' secret_requests (shim.cli.flyte.webhook)
            "propeller": {"disabled": False, "disableWebhook": False},
        },
        "server": {"httpPort": ports.admin_http, "grpc": {"port": ports.admin_grpc}, "kube-config": str(s.kubeconfig),
                   "security": {"secure": False, "useAuth": False, "allowCors": True,
                                "allowedOrigins": ["*"], "allowedHeaders": ["Content-Type"]}},
        "application": {"grpcPort": ports.datacatalog_grpc, "httpPort": ports.datacatalog_http},
        "propeller": {
            "kube-config": str(s.kubeconfig),
            "create-flyteworkflow-crd": False,  # kubeshim installs crds/flyteworkflow.yaml at first start
            "rawoutput-prefix": f"s3://{store.bucket}/data",
            "metadata-prefix": "metadata/propeller",
            "prof-port": ports.profiler,  # the single binary's only profiling server
            "workers": 8,
            "workflow-reeval-duration": "5s",
            "downstream-eval-duration": "5s",
            "leader-election": {"enabled": False},
            "kube-client-config": {"qps": 100, "burst": 50, "timeout": "30s"},
            "queue": {"type": "batch", "batching-interval": "200ms", "batch-size": -1,
                      "queue": {"type": "maxof", "rate": 1000, "capacity": 10000, "base-delay": "0s",
                                "max-delay": "10s"},
                      "sub-queue": {"type": "bucket", "rate": 1000, "capacity": 10000}},
        },
        "webhook": webhook.webhook_config(s),
        "database": db.flyte_config(),
        "storage": {"type": "stow", "stow": stow, "container": store.bucket,
                    "signedURL": {"stowConfigOverride": {"endpoint": store.endpoint}},
                    "limits": {"maxDownloadMBs": 100}},
        "cluster_resources": {"standaloneDeployment": False, "templatePath": str(s.templates_dir),
                              "refreshInterval": "10s"},
        "namespace_mapping": {"template": s.namespace_template},
        "domains": [{"id": d, "name": d} for d in s.domains],
        "tasks": {"task-plugins": {"enabled-plugins": ["container", "sidecar", "k8s-array", "echo"],
                                   "default-for-task-types": {"container": "container", "sidecar": "sidecar",
                                                              "container_array": "k8s-array"}}},
        "plugins": {
            "logs": logs,
            "k8s-array": {"logs": {"config": logs}},
            "k8s": {
                "inject-finalizer": True,
                "default-env-vars": [
                    {"FLYTE_AWS_ENDPOINT": store.endpoint},
                    {"FLYTE_AWS_ACCESS_KEY_ID": store.access_key},
                    {"FLYTE_AWS_SECRET_ACCESS_KEY": store.secret_key},
                    {"FLYTE_PLATFORM_URL": f"{s.host}:{ports.admin_grpc}"},
                    {"FLYTE_PLATFORM_INSECURE": "true"},
                    {"PYTHONUNBUFFERED": "1"},
                ],
            },
        },
        "task_resources": {"defaults": {"cpu": "500m", "memory": "500Mi"},
                           "limits": {"cpu": "2", "memory": "4Gi"}},
        "logger": {"level": 4, "show-source": True},
    }


def flytekit_config(s: FlyteSettings, store: ObjectStore) -> dict[str, Any]:
    """What pyflyte and FlyteRemote need: admin's gRPC endpoint and the object store."""
    return {"admin": {"endpoint": f"dns:///{s.host}:{s.flyte_ports.admin_grpc}", "insecure": True},
            "storage": {"connection": {"endpoint": store.endpoint, "access-key": store.access_key,
                                       "secret-key": store.secret_key}}}


def kubelet_config(s: FlyteSettings, task_venv: Path) -> dict[str, Any]:
    """Image rules: Flyte's default task images run in the flytekit virtualenv; the user's own kubelet config
    (--kubelet-config) comes first, so its rules win."""
    settings: Any = {}
    if s.kubelet_config is not None:
        try:
            settings = yaml.safe_load(s.kubelet_config.read_text()) or {}
        except yaml.YAMLError as err:
            raise StartError(f"--kubelet-config {s.kubelet_config} is not YAML: {str(err).splitlines()[0]}") from err
    if not isinstance(settings, dict) or not isinstance(settings.get("image_rules") or [], list):
        raise StartError(f"--kubelet-config {s.kubelet_config} must be a YAML mapping whose image_rules is a list")
    rules = list(settings.get("image_rules") or [])
    rules.append({"match": FLYTEKIT_IMAGES, "venv": str(task_venv), "env": {"PYTHONUNBUFFERED": "1"}})
    return {**settings, "image_rules": rules}


def write_templates(s: FlyteSettings) -> None:
    """The cluster resource manager's templates: a namespace per project and domain, plus the user's own
    (--cluster-resource-templates; a file of the same name replaces ours)."""
    s.templates_dir.mkdir(parents=True, exist_ok=True)
    for old in s.templates_dir.iterdir():
        old.unlink()
    (s.templates_dir / "namespace.yaml").write_text(NAMESPACE_TEMPLATE)
    if s.cluster_resource_templates is not None:
        for path in sorted(s.cluster_resource_templates.iterdir()):
            if path.is_file() and path.suffix in (".yaml", ".yml"):
                shutil.copyfile(path, s.templates_dir / path.name)


def write_yaml(path: Path, doc: dict[str, Any]) -> Path:
    """Configs hold credentials: 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path
