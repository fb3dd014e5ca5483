"""API Priority and Fairness configuration: the mandatory and suggested objects every server has (upstream's
config-producer post-start hook), and each FlowSchema's Dangling condition (its config consumer). kubeshim's
own fairness does not read these objects."""
from __future__ import annotations

import copy
import logging
from typing import Any

from shim.clients.base import Client, Resource
from shim.machinery import timeutil
from shim.machinery.errors import StatusError
from shim.registry.kinds.flowcontrol import bootstrap_objects

log = logging.getLogger(__name__)
FLOW_SCHEMAS = Resource("flowcontrol.apiserver.k8s.io", "v1", "flowschemas")
PRIORITY_LEVELS = Resource("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations")
AUTO_UPDATE = "apf.kubernetes.io/autoupdate-spec"
Obj = dict[str, Any]


async def ensure_bootstrap(client: Client) -> None:
    """Create the bootstrap objects that are missing; put back the spec of those still marked for automatic
    update (annotation apf.kubernetes.io/autoupdate-spec "true"). Levels first: schemas refer to them."""
    for wanted in sorted(bootstrap_objects(), key=lambda o: o["kind"] != "PriorityLevelConfiguration"):
        resource = PRIORITY_LEVELS if wanted["kind"] == "PriorityLevelConfiguration" else FLOW_SCHEMAS
        name = wanted["metadata"]["name"]
        try:
            current = await client.get(resource, name)
        except StatusError as err:
            if err.code != 404:
                raise
            try:
                await client.create(resource, copy.deepcopy(wanted))
            except StatusError as create_err:
                if create_err.code != 409:
                    raise
            continue
        auto = (current["metadata"].get("annotations") or {}).get(AUTO_UPDATE) == "true"
        if auto and current.get("spec") != wanted["spec"]:
            current["spec"] = copy.deepcopy(wanted["spec"])
            try:
                await client.update(resource, current)
            except StatusError as err:
                log.warning("restoring the spec of %s %s: %s", resource.plural, name, err.message)


def dangling_condition(level: str, exists: bool, previous: Obj | None) -> Obj:
    """The Dangling condition a FlowSchema referring to priority level `level` has; its transition time stays
    while its status does."""
    condition = {"type": "Dangling", "status": "False" if exists else "True",
                 "reason": "Found" if exists else "NotFound",
                 "message": f'This FlowSchema references the PriorityLevelConfiguration object named "{level}" '
                            + ("and it exists" if exists else "but there is no such object")}
    keep = previous is not None and previous.get("status") == condition["status"]
    condition["lastTransitionTime"] = previous["lastTransitionTime"] if keep and previous \
        else timeutil.now_string()
    return condition


async def update_dangling(client: Client) -> None:
    """Set every FlowSchema's Dangling condition from whether its priority level exists."""
    levels = {pl["metadata"]["name"] for pl in (await client.list(PRIORITY_LEVELS))["items"]}
    for schema in (await client.list(FLOW_SCHEMAS))["items"]:
        level = ((schema.get("spec") or {}).get("priorityLevelConfiguration") or {}).get("name", "")
        conditions = list((schema.get("status") or {}).get("conditions") or [])
        previous = next((c for c in conditions if c.get("type") == "Dangling"), None)
        wanted = dangling_condition(level, level in levels, previous)
        if previous == wanted:
            continue
        schema["status"] = {**(schema.get("status") or {}),
                            "conditions": [c for c in conditions if c.get("type") != "Dangling"] + [wanted]}
        try:
            await client.update(FLOW_SCHEMAS, schema, subresource="status")
        except StatusError as err:
            if err.code not in (404, 409):  # gone, or changed meanwhile: the next event brings it back
                raise
