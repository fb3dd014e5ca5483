"""Parsing of resource URLs: /api/v1/namespaces/{ns}/{plural}/{name}/{subresource} and the /apis form."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    group: str
    version: str
    plural: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    #: legacy /watch/ prefix
    watch_path: bool = False
    #: what follows the subresource (a proxy's path: "/a/b", "/" for a bare trailing slash); only a subresource
    #: that forwards requests (shim.registry.subresources.proxy) takes one
    subpath: str = ""


def parse(path: str, namespace_subresources: Collection[str]) -> Target | None:
    """A resource target, or None for paths that are not resource requests (discovery, unknown).

    `/api/v1/namespaces/{name}/{segment}` is namespace `name`'s subresource when `segment` is one of
    `namespace_subresources`, else the collection `segment` in that namespace."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) < 3:
            return None
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    watch_path = False
    if rest and rest[0] == "watch":
        watch_path = True
        rest = rest[1:]
        if not rest:
            return None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in namespace_subresources
                                                              and group == ""):
        namespace = rest[1]
        rest = rest[2:]
        return Target(group, version, rest[0], namespace, rest[1] if len(rest) > 1 else "",
                      rest[2] if len(rest) > 2 else "", watch_path, _subpath(path, rest))
    return Target(group, version, rest[0], "", rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "",
                  watch_path, _subpath(path, rest))


def _subpath(path: str, rest: list[str]) -> str:
    """The path below a subresource (`rest`: the segments from the resource on), with a leading slash and the
    request's trailing one, as upstream's connect handlers get it."""
    if len(rest) < 3:
        return ""
    sub = "/" + "/".join(rest[3:]) if len(rest) > 3 else ""
    return sub + "/" if path.endswith("/") and not sub.endswith("/") else sub
