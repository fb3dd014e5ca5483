"""propeller's pod webhook (secret injection) on kubeshim, set up as Flyte's flyte-binary Helm chart sets it up.

propeller itself makes its certificates (the `flyte-pod-webhook` Secret in its namespace, and with `localCert`
the files its HTTPS server reads), and its MutatingWebhookConfiguration, which names the Service
`flyte-pod-webhook` in that namespace with the CA as caBundle. The chart creates that Service; here `flyte up`
does, before Flyte starts, with the webhook's listen port as targetPort: pods share the host network on kubeshim,
so kubeshim calls the webhook at 127.0.0.1:<targetPort>, verifying the name `flyte-pod-webhook.flyte.svc`
against the CA, as kube-apiserver would through the Service.
"""
from __future__ import annotations

import asyncio
from typing import Any

from shim.cli.flyte.settings import FlyteSettings
from shim.clients.base import NAMESPACES, Resource
from shim.clients.remote import RemoteClient
from shim.machinery.errors import StatusError

#: propeller's namespace (cmd/single's default, also given to it as POD_NAMESPACE) and its webhook's names
NAMESPACE = "flyte"
SERVICE = "flyte-pod-webhook"
SERVICES = Resource("", "v1", "services")


def webhook_config(s: FlyteSettings) -> dict[str, Any]:
    """The single binary's `webhook` section: certificates written under the data dir, served on our port."""
    return {"certDir": str(s.flyte_dir / "webhook-certs"), "localCert": True,
            "listenPort": s.flyte_ports.pod_webhook, "serviceName": SERVICE, "servicePort": 443,
            "secretName": SERVICE}


def service(s: FlyteSettings) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/name": SERVICE}},
            "spec": {"ports": [{"name": "webhook", "port": 443, "protocol": "TCP",
                                "targetPort": s.flyte_ports.pod_webhook}]}}


def ensure_service(s: FlyteSettings) -> None:
    """The namespace and the Service, made or brought up to date (a second `flyte up` may use other ports)."""
    asyncio.run(_ensure(s))


async def _ensure(s: FlyteSettings) -> None:
    async with RemoteClient.from_kubeconfig(s.kubeconfig, manager="kubeshim-flyte") as client:
        try:
            await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": NAMESPACE}})
        except StatusError as err:
            if err.code != 409:
                raise
        wanted = service(s)
        try:
            await client.create(SERVICES, wanted, NAMESPACE)
        except StatusError as err:
            if err.code != 409:
                raise
            current = await client.get(SERVICES, SERVICE, NAMESPACE)
            current["spec"]["ports"] = wanted["spec"]["ports"]
            await client.update(SERVICES, current)
