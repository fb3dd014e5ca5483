"""Wiring the kubelet into one `kubeshim up` (called by shim.cli.cluster): config from the cluster's options,
service-account tokens from the API's TokenRequest, the pods/log endpoint's handler and the resource usage
metrics.k8s.io serves.

This is the only kubelet module that knows the in-process server exists; `run_kubelet` itself needs nothing
but a Client. The log handler answers ApiContext.pod_logs' contract (pod + query in, byte stream out) with
the kubelet's read_log, which reads through the runtime provider; the server turns the stream into a response.
"""
from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from shim.clients.base import SERVICEACCOUNTS, Client
from shim.kubelet import streams
from shim.kubelet.config import KubeletConfig, TokenIssuer
from shim.kubelet.kubelet import Kubelet
from shim.kubelet.logs import options_from_query
from shim.kubelet.stats import StatsCollector
from shim.machinery import timeutil

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


#: upstream's kubelet token manager: a token is renewed once 80% of its lifetime passed, or a day at most
RENEW_AT = 0.8
MAX_REUSE_SECONDS = 24 * 3600


def token_issuer(client: Client) -> TokenIssuer:
    """Projected service-account tokens as the kubelet gets them: a TokenRequest bound to the pod (so that the
    token dies with it), one per pod, audience and lifetime, reused until it is due for renewal."""
    cache: dict[tuple[str, str, int], tuple[str, float]] = {}

    async def issue(pod: dict[str, Any], audience: str, seconds: int) -> str:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        key = (meta.get("uid", ""), audience, seconds)
        now = time.time()
        if key in cache and now < cache[key][1]:
            return cache[key][0]
        for stale in [k for k, (_, renew) in cache.items() if renew <= now]:
            del cache[stale]
        account, namespace = spec.get("serviceAccountName") or "default", meta.get("namespace", "")
        request: dict[str, Any] = {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {"name": account},
            "spec": {"expirationSeconds": seconds, "boundObjectRef": {
                "apiVersion": "v1", "kind": "Pod", "name": meta.get("name", ""), "uid": meta.get("uid", "")}}}
        if audience:
            request["spec"]["audiences"] = [audience]
        answer = await client.create(SERVICEACCOUNTS, request, namespace, subresource="token")
        expires = timeutil.parse_time(answer["status"]["expirationTimestamp"]).timestamp()
        cache[key] = (answer["status"]["token"], now + min(RENEW_AT * (expires - now), MAX_REUSE_SECONDS))
        return cache[key][0]

    return issue


def log_handler(kubelet: Kubelet) -> Callable[[dict[str, Any], Mapping[str, str]], Awaitable[AsyncIterator[bytes]]]:
    async def pod_logs(pod: dict[str, Any], query: Mapping[str, str]) -> AsyncIterator[bytes]:
        container, opts = options_from_query(query)
        return await kubelet.read_log(pod, container, opts)

    return pod_logs


async def start_kubelet(client: Client, opts: Any, ctx: Any) -> None:
    """Run the kubelet of this kubeshim until cancelled."""
    config = config_from_options(opts)
    if config.token_issuer is None:
        config.token_issuer = token_issuer(client)
    kubelet = Kubelet(client, config)
    await kubelet.prepare()
    ctx.pod_logs = log_handler(kubelet)
    services = ctx.verbs.services
    services.usage = StatsCollector(config.node_name, config.pods_dir)
    services.exec_in, services.attach_to, services.dial_pod = kubelet.exec_in, kubelet.attach_to, streams.dial
    await kubelet.run()
