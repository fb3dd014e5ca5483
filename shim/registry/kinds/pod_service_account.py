"""kube-apiserver's ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount): a new pod runs as a
service account that exists (`default` unless it names one), gets the account's image pull secrets, and has the
`kube-api-access-*` projected volume (a bound token, the cluster CA, its namespace) mounted where in-cluster
clients look for it; an account annotated `kubernetes.io/enforce-mountable-secrets` limits the secrets the pod
may reference to the account's own.
"""
from __future__ import annotations

from typing import Any

from shim.machinery import errors, names
from shim.registry.strategy import Obj, Stored

PLUGIN = "ServiceAccount"
STORAGE = "/serviceaccounts"
DEFAULT_ACCOUNT = "default"
VOLUME_PREFIX = "kube-api-access-"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
ENFORCE_MOUNTABLE = "kubernetes.io/enforce-mountable-secrets"
#: upstream's WarnOnlyBoundTokenExpirationSeconds: an hour and 7 seconds, so that the token request can tell
#: the admission-made volume apart (and extend its token to a year with a warning after the hour)
TOKEN_EXPIRATION_SECONDS = 3607


def token_volume_source() -> Obj:
    """The projected source of the token volume (upstream's TokenVolumeSource)."""
    return {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}


def awaited_account(pod: Obj, stored: Stored) -> list[tuple[str, str, str]]:
    """The `default` account a new pod will run as when it is not there yet: a fresh namespace gets it from the
    service-account controller a moment later, and upstream retries it for a second or two."""
    if PLUGIN not in stored.plugins or _is_mirror(pod):
        return []
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if not isinstance(spec, dict) or (spec.get("serviceAccountName") or DEFAULT_ACCOUNT) != DEFAULT_ACCOUNT:
        return []
    return [(STORAGE, str(meta.get("namespace") or ""), DEFAULT_ACCOUNT)]


def admit_pod_service_account(pod: Obj, stored: Stored) -> None:
    """Admit then validate a new pod, as the plugin does; raises upstream's Forbidden."""
    if PLUGIN not in stored.plugins:
        return
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    meta = pod.get("metadata") or {}
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    if _is_mirror(pod):
        _validate_mirror(spec, name)
        return
    account_name = spec.get("serviceAccountName") or DEFAULT_ACCOUNT
    spec["serviceAccountName"] = spec["serviceAccount"] = account_name
    account = stored.get(STORAGE, namespace, account_name)
    if account is None:
        raise errors.forbidden("pods", name, f"error looking up service account {namespace}/{account_name}: "
                               f'serviceaccount "{account_name}" not found')
    if _automounts(account, spec):
        _mount_token(spec)
    if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
        spec["imagePullSecrets"] = [{"name": ref.get("name", "")} for ref in account["imagePullSecrets"]]
    if _enforces_mountable_secrets(account):
        problem = _unlisted_secret(account, spec)
        if problem:
            raise errors.forbidden("pods", name, problem)


def _is_mirror(pod: Obj) -> bool:
    return MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def _validate_mirror(spec: Obj, name: str) -> None:
    """A kubelet's static pod stands for no account and may carry no credentials."""
    if spec.get("serviceAccountName"):
        raise errors.forbidden("pods", name, "a mirror pod may not reference service accounts")
    if _secret_names(spec, ("initContainers", "containers", "ephemeralContainers")):
        raise errors.forbidden("pods", name, "a mirror pod may not reference secrets")
    for volume in spec.get("volumes") or []:
        for source in ((volume.get("projected") or {}).get("sources") or []) if isinstance(volume, dict) else []:
            if isinstance(source, dict) and source.get("serviceAccountToken") is not None:
                raise errors.forbidden("pods", name, "a mirror pod may not use ServiceAccountToken volume "
                                       "projections")


def _automounts(account: Obj, spec: Obj) -> bool:
    """The pod's automountServiceAccountToken wins over the account's; both unset mounts."""
    for owner in (spec, account):
        if owner.get("automountServiceAccountToken") is not None:
            return bool(owner["automountServiceAccountToken"])
    return True


def _mount_token(spec: Obj) -> None:
    """Mount the token volume read-only in every container and init container that has nothing mounted at the
    token path yet (ephemeral containers get none), adding the volume unless the pod already has one."""
    volumes = spec.get("volumes") or []
    existing = next((v["name"] for v in volumes if isinstance(v, dict)
                     and str(v.get("name") or "").startswith(VOLUME_PREFIX)), None)
    volume_name = existing or names.generate_name(VOLUME_PREFIX)
    needed = False
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            if not isinstance(container, dict):
                continue
            mounts = container.get("volumeMounts") or []
            if any(isinstance(m, dict) and m.get("mountPath") == MOUNT_PATH for m in mounts):
                continue
            container["volumeMounts"] = [*mounts, {"name": volume_name, "readOnly": True, "mountPath": MOUNT_PATH}]
            needed = True
    if needed and existing is None:
        spec["volumes"] = [*volumes, {"name": volume_name, "projected": token_volume_source()}]


def _enforces_mountable_secrets(account: Obj) -> bool:
    value = ((account.get("metadata") or {}).get("annotations") or {}).get(ENFORCE_MOUNTABLE)
    return str(value).lower() in ("1", "t", "true")


def _secret_refs(container: Obj) -> list[tuple[str, str]]:
    """(env var name or "", secret name) of the secrets a container's env and envFrom read."""
    refs = []
    for env in container.get("env") or []:
        ref = ((env.get("valueFrom") or {}).get("secretKeyRef") if isinstance(env, dict) else None)
        if isinstance(ref, dict):
            refs.append((str(env.get("name") or ""), str(ref.get("name") or "")))
    for source in container.get("envFrom") or []:
        ref = source.get("secretRef") if isinstance(source, dict) else None
        if isinstance(ref, dict):
            refs.append(("", str(ref.get("name") or "")))
    return refs


def _secret_names(spec: Obj, fields: tuple[str, ...]) -> set[str]:
    """Every secret the pod references (volumes, projections, env, image pull secrets), as VisitPodSecretNames."""
    found: set[str] = {str(r.get("name") or "") for r in spec.get("imagePullSecrets") or [] if isinstance(r, dict)}
    for field in fields:
        for container in spec.get(field) or []:
            if isinstance(container, dict):
                found |= {secret for _, secret in _secret_refs(container)}
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        if isinstance(volume.get("secret"), dict):
            found.add(str(volume["secret"].get("secretName") or ""))
        for source in (volume.get("projected") or {}).get("sources") or []:
            if isinstance(source, dict) and isinstance(source.get("secret"), dict):
                found.add(str(source["secret"].get("name") or ""))
        for kind in ("azureFile", "cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos", "csi"):
            ref: Any = volume.get(kind)
            if isinstance(ref, dict):
                secret = ref.get("secretName") or (ref.get("secretRef") or {}).get("name") \
                    or (ref.get("nodePublishSecretRef") or {}).get("name")
                if secret:
                    found.add(str(secret))
    return found - {""}


def _unlisted_secret(account: Obj, spec: Obj) -> str:
    """Upstream's limitSecretReferences: the first secret the pod uses that the account does not list, said as
    upstream says it ("" when there is none)."""
    account_name = account["metadata"]["name"]
    mountable = {str(r.get("name") or "") for r in account.get("secrets") or [] if isinstance(r, dict)}
    tail = f"is not allowed because service account {account_name} does not reference that secret"
    for volume in spec.get("volumes") or []:
        secret = volume.get("secret") if isinstance(volume, dict) else None
        if isinstance(secret, dict) and secret.get("secretName", "") not in mountable:
            return f'volume with secret.secretName="{secret.get("secretName", "")}" {tail}'
    for field, label in (("initContainers", "init container"), ("containers", "container")):
        for container in spec.get(field) or []:
            if not isinstance(container, dict):
                continue
            for env_name, secret_name in _secret_refs(container):
                if secret_name in mountable:
                    continue
                what = f"with envVar {env_name}" if env_name else "with envFrom"
                return f'{label} {container.get("name", "")} {what} referencing secret.secretName="{secret_name}" ' \
                       f"{tail}"
    pull = {str(r.get("name") or "") for r in account.get("imagePullSecrets") or [] if isinstance(r, dict)}
    for i, ref in enumerate(spec.get("imagePullSecrets") or []):
        if isinstance(ref, dict) and ref.get("name", "") not in pull:
            return f'imagePullSecrets[{i}].name="{ref.get("name", "")}" is not allowed because service account ' \
                   f"{account_name} does not reference that imagePullSecret"
    return ""
