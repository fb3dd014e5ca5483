"""The downward API: pod fields and container resources as strings, for env vars and downwardAPI volumes.

Shared by runtime/env.py and volumes.py so both render a value identically (upstream's fieldpath package and
resource helpers). Errors are ValueError with upstream-like messages; callers turn them into
CreateContainerConfigError (env) or a mount failure (volumes).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from shim.machinery import quantity
from shim.kubelet.resources import container_requests

_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.*)'\]$")


def format_map(values: Mapping[str, str]) -> str:
    """labels/annotations as a downwardAPI file shows them: key="escaped value" lines, sorted."""
    import json

    return "\n".join(f"{k}={json.dumps(v)}" for k, v in sorted(values.items()))


def field_value(pod: dict[str, Any], path: str, *, host_ip: str = "127.0.0.1", pod_ip: str = "127.0.0.1") -> str:
    """Resolve a fieldRef.fieldPath."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    match = _SUBSCRIPT.match(path)
    if match:
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName") or spec.get("serviceAccount") or "",
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path])
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map(meta.get(path.split(".")[1]) or {})
    raise ValueError(f'unsupported fieldPath: "{path}"')


def resource_value(pod: dict[str, Any], container_name: str, ref: dict[str, Any],
                   allocatable: Mapping[str, Any]) -> str:
    """Resolve a resourceFieldRef; unset limits fall back to node allocatable, as upstream."""
    name = ref.get("containerName") or container_name
    containers = list((pod.get("spec") or {}).get("containers") or []) + list(
        (pod.get("spec") or {}).get("initContainers") or [])
    container = next((c for c in containers if c.get("name") == name), None)
    if container is None:
        raise ValueError(f"container {name} not found")
    resource = ref.get("resource", "")
    kind, _, res = resource.partition(".")
    if kind not in ("limits", "requests") or res not in ("cpu", "memory", "ephemeral-storage") and not \
            res.startswith("hugepages-"):
        raise ValueError(f"unsupported container resource : {resource}")
    limits = (container.get("resources") or {}).get("limits") or {}
    if kind == "limits":
        value = limits.get(res, allocatable.get(res, 0))
    else:
        value = container_requests(container).get(res, 0)
    divisor = ref.get("divisor") or ("1" if res != "cpu" else "1")
    if quantity.parse(divisor) == 0:
        divisor = "1"
    return str(quantity.scaled(value, divisor))
