"""The API objects a pod's environment and volumes are made from, fetched once per sync.

runtime/env.py and volumes.py are pure: they read ConfigMaps and Secrets from a `PodSources` that the pod
worker fetched. `SourcesOnce` makes one fetch serve the volume refresh and every container started in the same
sync, so a sync costs one GET per referenced object however many containers start in it.
"""
from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shim.clients.base import CONFIGMAPS, SECRETS, Client
from shim.kubelet.config import TokenIssuer
from shim.machinery.errors import StatusError


@dataclass
class PodSources:
    """Objects by name (a name mapped to None was looked up and does not exist) and the node's facts."""

    configmaps: Mapping[str, dict[str, Any] | None] = field(default_factory=dict)
    secrets: Mapping[str, dict[str, Any] | None] = field(default_factory=dict)
    allocatable: Mapping[str, Any] = field(default_factory=dict)
    host_ip: str = "127.0.0.1"
    pod_ip: str = "127.0.0.1"
    #: (audience, expirationSeconds) -> token for projected serviceAccountToken volumes (volumes only).
    tokens: Mapping[tuple[str, int], str] = field(default_factory=dict)


def referenced_objects(pod: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(configmap names, secret names) referenced by env, envFrom and volumes."""
    cms: set[str] = set()
    secrets: set[str] = set()
    spec = pod.get("spec") or {}
    for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        for src in c.get("envFrom") or []:
            if src.get("configMapRef"):
                cms.add(src["configMapRef"].get("name", ""))
            if src.get("secretRef"):
                secrets.add(src["secretRef"].get("name", ""))
        for var in c.get("env") or []:
            ref = var.get("valueFrom") or {}
            if ref.get("configMapKeyRef"):
                cms.add(ref["configMapKeyRef"].get("name", ""))
            if ref.get("secretKeyRef"):
                secrets.add(ref["secretKeyRef"].get("name", ""))
    for vol in spec.get("volumes") or []:
        if vol.get("configMap"):
            cms.add(vol["configMap"].get("name", ""))
        if vol.get("secret"):
            secrets.add(vol["secret"].get("secretName", ""))
        for source in (vol.get("projected") or {}).get("sources") or []:
            if source.get("configMap"):
                cms.add(source["configMap"].get("name", ""))
            if source.get("secret"):
                secrets.add(source["secret"].get("name", ""))
    return cms, secrets


def secret_data(secret: dict[str, Any]) -> dict[str, bytes]:
    """A Secret's data decoded (stringData merged in, as the API server would have)."""
    out = {k: base64.b64decode(v or "") for k, v in (secret.get("data") or {}).items()}
    for k, v in (secret.get("stringData") or {}).items():
        out[k] = str(v).encode()
    return out


async def fetch(client: Client, pod: dict[str, Any], *, allocatable: Mapping[str, Any], host_ip: str,
                pod_ip: str) -> PodSources:
    """GET every ConfigMap and Secret the pod references, in its namespace (a 404 is recorded as None)."""
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    cm_names, secret_names = referenced_objects(pod)
    cms: dict[str, dict[str, Any] | None] = {}
    secrets: dict[str, dict[str, Any] | None] = {}
    for resource, names, out in ((CONFIGMAPS, cm_names, cms), (SECRETS, secret_names, secrets)):
        for n in sorted(names):
            try:
                out[n] = await client.get(resource, n, namespace)
            except StatusError as exc:
                if exc.code != 404:
                    raise
                out[n] = None
    return PodSources(cms, secrets, allocatable, host_ip, pod_ip)


async def service_account_tokens(pod: dict[str, Any], issuer: TokenIssuer | None) -> dict[tuple[str, int], str]:
    """One token per (audience, expirationSeconds) the pod's projected volumes ask for; none without an issuer
    (a kubelet given no way to mint them)."""
    out: dict[tuple[str, int], str] = {}
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        for source in (vol.get("projected") or {}).get("sources") or []:
            tok = source.get("serviceAccountToken")
            if tok is None:
                continue
            key = (tok.get("audience") or "", int(tok.get("expirationSeconds") or 3607))
            if issuer is not None and key not in out:
                out[key] = await issuer(pod, key[0], key[1])
    return out


class SourcesOnce:
    """A pod's sources, fetched at first use and reused after (one per sync, however many use them)."""

    def __init__(self, fetch_sources: Callable[[], Awaitable[PodSources]]) -> None:
        self._fetch = fetch_sources
        self._sources: PodSources | None = None

    async def get(self) -> PodSources:
        if self._sources is None:
            self._sources = await self._fetch()
        return self._sources
