"""pods/{name}/eviction: delete the pod with the Eviction's DeleteOptions (no disruption budgets here)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from shim.machinery import errors
from shim.registry.options import DeleteOptions, WriteOptions, Written
from shim.registry.strategy import Obj
from shim.registry.subresource import Kind, Subresource, success

if TYPE_CHECKING:
    from shim.registry.resource import ResourceInfo
    from shim.registry.rest import Verbs


class Eviction(Subresource):
    name = "eviction"
    verbs = ("create",)
    kind = Kind("policy", "v1", "Eviction")

    async def create(self, verbs: Verbs, info: ResourceInfo, namespace: str, name: str, body: Obj,
                     opts: WriteOptions) -> Written:
        options = body.get("deleteOptions") or {}
        if not isinstance(options, dict):
            raise errors.bad_request("deleteOptions must be an object")
        deleted = await verbs.delete(info, namespace, name, DeleteOptions.from_body(options, user=opts.user))
        return Written(success(), deleted.warnings)
