"""Admission webhooks (k8s.io/apiserver pkg/admission/plugin/webhook): the MutatingWebhookConfigurations and
ValidatingWebhookConfigurations stored in the registry are called over HTTPS with an AdmissionReview v1 for every
write their rules match, as kube-apiserver calls them.

- `hooks`: the configured webhooks, read from the store's current state and decoded once per revision;
- `matching`: which webhooks a request goes to (selectors, rules with matchPolicy, matchConditions);
- `review`: the AdmissionReview sent and the checks on the one that comes back;
- `client`: the HTTPS call (service or URL, caBundle, timeout) and its failures in Go's words;
- `dispatch`: the mutating (in order, with reinvocation and JSONPatch) and validating (in parallel) dispatchers.
"""
