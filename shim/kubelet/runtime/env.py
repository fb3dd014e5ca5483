"""A container's environment as upstream's makeEnvironmentVariables builds it, from already-fetched objects.

Pure: the caller fetches the ConfigMaps and Secrets the pod references (shim.kubelet.sources) and passes
them in, so this is testable without an API. Order: base (image PATH, api env), then envFrom sources in
order, then env entries, each value `$(VAR)`-expanded against what is defined so far. Failures raise
`ConfigError` whose message becomes the CreateContainerConfigError waiting message.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from shim.kubelet.downward import field_value, resource_value
from shim.kubelet.runtime.expand import expand
from shim.kubelet.sources import PodSources, secret_data


class ConfigError(Exception):
    """The container cannot be configured yet (missing ConfigMap/Secret/key): CreateContainerConfigError."""


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def container_env(pod: dict[str, Any], container: dict[str, Any], sources: PodSources,
                  base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The full environment for one container."""
    ns = (pod.get("metadata") or {}).get("namespace", "")
    env: dict[str, str] = dict(base or {})
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        if src.get("configMapRef"):
            ref = src["configMapRef"]
            cm = sources.configmaps.get(ref.get("name", ""))
            if cm is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'configmap "{ref.get("name", "")}" not found')
            for k, v in (cm.get("data") or {}).items():
                env[prefix + k] = str(v)
        elif src.get("secretRef"):
            ref = src["secretRef"]
            secret = sources.secrets.get(ref.get("name", ""))
            if secret is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'secret "{ref.get("name", "")}" not found')
            for k, v in secret_data(secret).items():
                env[prefix + k] = _text(v)
    for var in container.get("env") or []:
        name = var.get("name", "")
        ref = var.get("valueFrom")
        if not ref:
            env[name] = expand(str(var.get("value", "")), env)
            continue
        value = _value_from(pod, container, ns, ref, sources)
        if value is not None:
            env[name] = value
    return env


def _value_from(pod: dict[str, Any], container: dict[str, Any], ns: str, ref: dict[str, Any],
                sources: PodSources) -> str | None:
    """One valueFrom; None means 'optional and absent: leave the variable unset'."""
    try:
        if ref.get("fieldRef"):
            return field_value(pod, ref["fieldRef"].get("fieldPath", ""), host_ip=sources.host_ip,
                               pod_ip=sources.pod_ip)
        if ref.get("resourceFieldRef"):
            return resource_value(pod, container.get("name", ""), ref["resourceFieldRef"], sources.allocatable)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if ref.get("configMapKeyRef"):
        key_ref = ref["configMapKeyRef"]
        name, key, optional = key_ref.get("name", ""), key_ref.get("key", ""), bool(key_ref.get("optional"))
        cm = sources.configmaps.get(name)
        if cm is None:
            if optional:
                return None
            raise ConfigError(f'configmap "{name}" not found')
        data = cm.get("data") or {}
        if key not in data:
            if optional:
                return None
            raise ConfigError(f"couldn't find key {key} in ConfigMap {ns}/{name}")
        return str(data[key])
    if ref.get("secretKeyRef"):
        key_ref = ref["secretKeyRef"]
        name, key, optional = key_ref.get("name", ""), key_ref.get("key", ""), bool(key_ref.get("optional"))
        secret = sources.secrets.get(name)
        if secret is None:
            if optional:
                return None
            raise ConfigError(f'secret "{name}" not found')
        data = secret_data(secret)
        if key not in data:
            if optional:
                return None
            raise ConfigError(f"couldn't find key {key} in Secret {ns}/{name}")
        return _text(data[key])
    return ""


def container_argv(container: dict[str, Any], env: Mapping[str, str], entrypoint: Sequence[str] = (),
                   default_args: Sequence[str] = ()) -> list[str]:
    """command + args with $(VAR) expansion. Without a command, the image's `entrypoint` runs with the
    container's args, or with the image's `default_args` when it has none (Docker's ENTRYPOINT and CMD)."""
    if container.get("command"):
        command = [expand(str(a), env) for a in container["command"]]
    else:
        command = list(entrypoint)
    if container.get("args"):
        args = [expand(str(a), env) for a in container["args"]]
    else:
        args = [] if container.get("command") else list(default_args)
    return command + args
