"""Wiring the kubelet into one `kubeshim up` (called by shim.cli.cluster): config from the cluster's options,
service-account tokens from its authenticator, and the pods/log endpoint's handler.

This is the only kubelet module that knows the in-process server exists; `run_kubelet` itself needs nothing
but a Client. The log handler answers ApiContext.pod_logs' contract (pod + query in, byte stream out) with
the kubelet's read_log, which reads through the runtime provider; the server turns the stream into a response.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, Protocol

from shim.clients.base import SERVICEACCOUNTS, Client
from shim.kubelet.config import KubeletConfig, TokenIssuer
from shim.kubelet.kubelet import Kubelet
from shim.kubelet.logs import options_from_query
from shim.machinery.errors import StatusError

log = logging.getLogger(__name__)


def config_from_options(opts: Any) -> KubeletConfig:
    """KubeletConfig from shim.cli.cluster.Options: `extra["kubelet"]` may hold any KubeletConfig field."""
    raw = dict((getattr(opts, "extra", None) or {}).get("kubelet") or {})
    known = {f.name for f in fields(KubeletConfig)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown kubelet settings: {', '.join(sorted(unknown))}")
    raw.setdefault("data_dir", Path(opts.data_dir) / "kubelet")
    config = KubeletConfig(**raw)
    host = opts.host if opts.host not in ("0.0.0.0", "::") else "127.0.0.1"
    config.api_env = {"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": str(opts.port),
                      "KUBERNETES_SERVICE_PORT_HTTPS": str(opts.port), **config.api_env}
    return config


class TokenAuthority(Protocol):
    """What the in-process server's authenticator offers the kubelet: signed service-account tokens."""

    def issue(self, namespace: str, name: str, uid: str, seconds: int) -> tuple[str, int]: ...


def token_issuer(client: Client, authenticator: TokenAuthority) -> TokenIssuer:
    async def issue(pod: dict[str, Any], audience: str, seconds: int) -> str:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        name = spec.get("serviceAccountName") or "default"
        uid = ""
        try:
            uid = ((await client.get(SERVICEACCOUNTS, name, meta.get("namespace", ""))).get("metadata") or {}).get(
                "uid", "")
        except StatusError:
            pass
        token, _ = authenticator.issue(meta.get("namespace", ""), name, uid, max(seconds, 600))
        return token

    return issue


def log_handler(kubelet: Kubelet) -> Callable[[dict[str, Any], Mapping[str, str]], Awaitable[AsyncIterator[bytes]]]:
    async def pod_logs(pod: dict[str, Any], query: Mapping[str, str]) -> AsyncIterator[bytes]:
        container, opts = options_from_query(query)
        return await kubelet.read_log(pod, container, opts)

    return pod_logs


async def start_kubelet(client: Client, opts: Any, ctx: Any) -> None:
    """Run the kubelet of this kubeshim until cancelled."""
    config = config_from_options(opts)
    if getattr(ctx, "authenticator", None) is not None and config.token_issuer is None:
        config.token_issuer = token_issuer(client, ctx.authenticator)
    kubelet = Kubelet(client, config)
    await kubelet.prepare()
    ctx.pod_logs = log_handler(kubelet)
    await kubelet.run()
