"""The one client interface controllers and the kubelet use to reach the API.

Two implementations: `LocalClient` (in-process, straight to the registry) and `RemoteClient` (HTTP to any
kube-apiserver, kubeshim or real). Objects are plain dicts in their JSON form. Resources are named by
`Resource` (group, version, plural). Errors are `shim.machinery.errors.StatusError`, as a server would answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Protocol


@dataclass(frozen=True)
class Resource:
    """A group/version/plural triple, e.g. Resource("", "v1", "pods")."""

    group: str
    version: str
    plural: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


PODS = Resource("", "v1", "pods")
NODES = Resource("", "v1", "nodes")
NAMESPACES = Resource("", "v1", "namespaces")
CONFIGMAPS = Resource("", "v1", "configmaps")
SECRETS = Resource("", "v1", "secrets")
SERVICEACCOUNTS = Resource("", "v1", "serviceaccounts")
EVENTS = Resource("", "v1", "events")
LEASES = Resource("coordination.k8s.io", "v1", "leases")
PERSISTENTVOLUMECLAIMS = Resource("", "v1", "persistentvolumeclaims")
CRDS = Resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: dict[str, Any]


class Client(Protocol):
    async def get(self, resource: Resource, name: str, namespace: str = "") -> dict[str, Any]: ...

    async def list(self, resource: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "") -> dict[str, Any]:
        """A List object: items plus metadata.resourceVersion to watch from."""
        ...

    def watch(self, resource: Resource, namespace: str = "", *, resource_version: str = "",
              label_selector: str = "", field_selector: str = "") -> AsyncIterator[WatchEvent]: ...

    async def create(self, resource: Resource, obj: dict[str, Any], namespace: str = "", *,
                     subresource: str = "") -> dict[str, Any]:
        """POST to the collection; with `subresource`, to that subresource of the object obj names
        (pods/{name}/binding)."""
        ...

    async def update(self, resource: Resource, obj: dict[str, Any], *, subresource: str = "") -> dict[str, Any]:
        """PUT; obj carries metadata.name/namespace and (optionally) resourceVersion as precondition."""
        ...

    async def patch(self, resource: Resource, name: str, patch: Any, *, namespace: str = "",
                    patch_type: str = "application/merge-patch+json", subresource: str = "") -> dict[str, Any]: ...

    async def delete(self, resource: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, uid: str | None = None,
                     propagation_policy: str | None = None) -> dict[str, Any]: ...
