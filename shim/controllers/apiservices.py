"""APIServices: one local APIService per group version this server serves (kube-apiserver's autoregister and
CRD registration controllers), and the availability of the others (kube-aggregator's availability controller).

kubeshim serves every group itself and does not proxy to aggregated API servers, so an APIService backed by a
service is never Available: its condition says the service is missing, or that kubeshim does not call it.
"""
from __future__ import annotations

from typing import Any, Callable

from shim.clients.base import Client, Resource
from shim.machinery import timeutil
from shim.machinery.errors import StatusError
from shim.registry.catalog import CUSTOM_PRIORITY, PRIORITIES, Catalog

APISERVICES = Resource("apiregistration.k8s.io", "v1", "apiservices")
SERVICES = Resource("", "v1", "services")
MANAGED = "kube-aggregator.kubernetes.io/automanaged"
Obj = dict[str, Any]

def wanted_apiservices(catalog: Catalog) -> dict[str, Obj]:
    """Name -> the APIService this server should have for each group version it serves (not for
    apiregistration.k8s.io itself): built-in ones labelled `onstart`, custom resources' labelled `true`."""
    builtin = {(r.group, r.version) for r in catalog.builtin}
    wanted: dict[str, Obj] = {}
    for group, versions in catalog.groups().items():
        for version in versions:
            if group == "apiregistration.k8s.io":
                continue
            if (group, version) in builtin:
                if (group, version) not in PRIORITIES:
                    continue
                (group_priority, version_priority), managed = PRIORITIES[(group, version)], "onstart"
            else:
                (group_priority, version_priority), managed = CUSTOM_PRIORITY, "true"
            spec: Obj = {"group": group, "version": version, "groupPriorityMinimum": group_priority,
                         "versionPriority": version_priority}
            if not group:
                del spec["group"]
            name = f"{version}.{group}"
            wanted[name] = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                            "metadata": {"name": name, "labels": {MANAGED: managed}}, "spec": spec}
    return wanted


async def register_local(client: Client, wanted: Callable[[], dict[str, Obj]]) -> None:
    """Create the wanted local APIServices, put back their spec when it changed, and delete the automanaged
    ones nothing serves any more (a deleted CRD's)."""
    desired = wanted()
    present = {a["metadata"]["name"]: a for a in (await client.list(APISERVICES))["items"]}
    for name, service in desired.items():
        current = present.get(name)
        try:
            if current is None:
                await client.create(APISERVICES, service)
            elif current.get("spec") != service["spec"] or (current["metadata"].get("labels") or {}).get(MANAGED) \
                    != service["metadata"]["labels"][MANAGED]:
                current["spec"] = service["spec"]
                current["metadata"]["labels"] = {**(current["metadata"].get("labels") or {}),
                                                 **service["metadata"]["labels"]}
                await client.update(APISERVICES, current)
        except StatusError as err:
            if err.code != 409:  # raced with another writer: the next change brings it back
                raise
    for name, current in present.items():
        if name not in desired and (current["metadata"].get("labels") or {}).get(MANAGED) in ("onstart", "true"):
            try:
                await client.delete(APISERVICES, name)
            except StatusError as err:
                if err.code != 404:
                    raise


def availability(apiservice: Obj, services: set[tuple[str, str]]) -> tuple[str, str, str]:
    """(status, reason, message) of the Available condition of an APIService backed by a service."""
    ref = (apiservice.get("spec") or {}).get("service") or {}
    namespace, name = ref.get("namespace", ""), ref.get("name", "")
    if (namespace, name) not in services:
        return "False", "ServiceNotFound", f'service/{name} in "{namespace}" is not present'
    return "False", "NotProxied", (f'kubeshim does not proxy to aggregated API servers: service/{name} in '
                                   f'"{namespace}" is not called')


async def update_availability(client: Client) -> None:
    """Set the Available condition of every service-backed APIService (local ones are Available from their
    creation on)."""
    remote = [a for a in (await client.list(APISERVICES))["items"] if (a.get("spec") or {}).get("service")]
    if not remote:  # the usual case: no need to read the services a busy cluster churns through
        return
    services = {(s["metadata"].get("namespace", ""), s["metadata"]["name"])
                for s in (await client.list(SERVICES))["items"]}
    for apiservice in remote:
        status, reason, message = availability(apiservice, services)
        conditions = list((apiservice.get("status") or {}).get("conditions") or [])
        previous = next((c for c in conditions if c.get("type") == "Available"), None)
        if previous is not None and (previous.get("status"), previous.get("reason"), previous.get("message")) \
                == (status, reason, message):
            continue
        moved = previous is None or previous.get("status") != status
        condition = {"type": "Available", "status": status,
                     "lastTransitionTime": timeutil.now_string() if moved or previous is None
                     else previous.get("lastTransitionTime"),
                     "reason": reason, "message": message}
        apiservice["status"] = {"conditions": [c for c in conditions if c.get("type") != "Available"] + [condition]}
        try:
            await client.update(APISERVICES, apiservice, subresource="status")
        except StatusError as err:
            if err.code not in (404, 409):
                raise
