"""The served resources: built-in kinds plus one entry per served version of every stored CRD."""
from __future__ import annotations

import re
from typing import Any

import orjson

from shim.registry.builtin import builtin_resources
from shim.registry.kinds.custom import CustomResourceStrategy
from shim.registry.resource import ResourceInfo
from shim.registry.subresource import Subresource
from shim.registry.subresources.scale import Scale
from shim.registry.subresources.status import Status
from shim.storage.store import Store

CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"
Obj = dict[str, Any]

#: (group, version) -> (groupPriorityMinimum, versionPriority) of the built-in group versions, as v1.34 lists
#: them (pkg/controlplane/apiserver's priorities); a group version missing here gets no APIService, as upstream.
#: Discovery lists groups and versions in this order, as kube-aggregator does
PRIORITIES: dict[tuple[str, str], tuple[int, int]] = {
    ("", "v1"): (18000, 1),
    ("apps", "v1"): (17800, 15),
    ("events.k8s.io", "v1"): (17750, 15),
    ("authentication.k8s.io", "v1"): (17700, 15),
    ("authorization.k8s.io", "v1"): (17600, 15),
    ("autoscaling", "v1"): (17500, 15),
    ("autoscaling", "v2"): (17500, 30),
    ("batch", "v1"): (17400, 15),
    ("certificates.k8s.io", "v1"): (17300, 15),
    ("networking.k8s.io", "v1"): (17200, 15),
    ("policy", "v1"): (17100, 15),
    ("rbac.authorization.k8s.io", "v1"): (17000, 15),
    ("storage.k8s.io", "v1"): (16800, 15),
    ("apiextensions.k8s.io", "v1"): (16700, 15),
    ("admissionregistration.k8s.io", "v1"): (16700, 15),
    ("scheduling.k8s.io", "v1"): (16600, 15),
    ("coordination.k8s.io", "v1"): (16500, 15),
    ("node.k8s.io", "v1"): (16300, 15),
    ("discovery.k8s.io", "v1"): (16200, 15),
    ("resource.k8s.io", "v1"): (16200, 21),
    ("flowcontrol.apiserver.k8s.io", "v1"): (16100, 21),
}
#: a custom resource's group version (its CRD's), as the CRD registration controller registers it
CUSTOM_PRIORITY = (1000, 100)
#: a custom resource's verbs, in the order apiextensions-apiserver lists them
CUSTOM_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
#: the aggregator's own group, listed before all others (kube-aggregator: "it's good to be king")
AGGREGATOR_GROUP = "apiregistration.k8s.io"


def _version_key(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version priority: GA > beta > alpha, higher numbers first (for preferred versions)."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


class Catalog:
    """Looks resources up by group/version/plural; custom ones follow the CRDs in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.builtin = builtin_resources()
        self._by_path = {(r.group, r.version, r.plural): r for r in self.builtin}
        self._builtin_groups = {r.group for r in self.builtin}
        self._crd_revs: dict[str, int] = {}
        self._custom: dict[tuple[str, str, str], ResourceInfo] = {}

    def _refresh(self) -> None:
        revs = {name: entry.rv for _, name, entry in self.store.items(CRD_KEY)}
        if revs == self._crd_revs:
            return
        custom: dict[tuple[str, str, str], ResourceInfo] = {}
        for _, _, entry in self.store.items(CRD_KEY):
            crd = orjson.loads(entry.raw)
            if crd.get("metadata", {}).get("deletionTimestamp") and not crd.get("metadata", {}).get("finalizers"):
                continue
            for info in custom_resources(crd):
                custom[(info.group, info.version, info.plural)] = info
        self._custom = custom
        self._crd_revs = revs

    def lookup(self, group: str, version: str, plural: str) -> ResourceInfo | None:
        info = self._by_path.get((group, version, plural))
        if info is not None:
            return info
        self._refresh()
        return self._custom.get((group, version, plural))

    def builtin_group(self, group: str) -> bool:
        """Whether built-in resources are served in `group`: upstream's router answers for every path of such a
        group; a path of another group falls through to its HTTP mux (custom resources' groups too)."""
        return group in self._builtin_groups

    def by_kind(self, group: str, version: str, kind: str) -> ResourceInfo | None:
        for info in self.all():
            if (info.group, info.version, info.kind) == (group, version, kind):
                return info
        return None

    def all(self) -> list[ResourceInfo]:
        self._refresh()
        return self.builtin + list(self._custom.values())

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions, preferred first, in discovery's order (kube-aggregator's
        SortedByGroupAndVersion): the aggregator's group, then by group priority, ties by APIService name;
        versions by version priority, then kube-aware version order."""
        builtin = {(r.group, r.version) for r in self.builtin}

        def priority(group: str, version: str) -> tuple[int, int]:
            return PRIORITIES.get((group, version), (0, 0)) if (group, version) in builtin else CUSTOM_PRIORITY

        served = sorted({(info.group, info.version) for info in self.all()}, key=lambda gv: (
            gv[0] != AGGREGATOR_GROUP, -priority(*gv)[0], f"{gv[1]}.{gv[0]}"))
        out: dict[str, list[str]] = {}
        for group, version in served:
            out.setdefault(group, []).append(version)
        for group, versions in out.items():
            versions.sort(key=lambda v: (-priority(group, v)[1], _version_key(v)))
        return out


def custom_resources(crd: Obj) -> list[ResourceInfo]:
    """A ResourceInfo for every served version of a CRD."""
    spec = crd.get("spec") or {}
    names = (crd.get("status") or {}).get("acceptedNames") or spec.get("names") or {}
    if not names.get("plural") or not names.get("kind"):
        return []
    stored = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")), "")
    out = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        declared = version.get("subresources") or {}
        subresources: dict[str, Subresource] = {}
        if "status" in declared:
            subresources["status"] = Status()
        if "scale" in declared:
            subresources["scale"] = Scale()
        api_version = f"{spec['group']}/{version['name']}"
        strategy = CustomResourceStrategy(version, api_version, namespaced=spec.get("scope") == "Namespaced",
                                          terminating=bool((crd.get("metadata") or {}).get("deletionTimestamp")))
        out.append(ResourceInfo(
            group=spec["group"], version=version["name"], plural=names["plural"],
            singular=names.get("singular") or names["kind"].lower(), kind=names["kind"],
            namespaced=spec.get("scope") == "Namespaced", strategy=strategy,
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
            verbs=CUSTOM_VERBS, names_own_group_version=True, subresources=subresources,
            storage=f"{spec['group']}/{names['plural']}",
            from_storage=strategy.from_storage, storage_version=f"{spec['group']}/{stored}" if stored else ""))
    return out
