"""Built-in Kubernetes schemas, from the JSON schemas shipped by the `kubernetes-validate` package.

The package carries, per Kubernetes minor, a directory `kubernetes-json-schema/v1.NN.0-local/` whose
`_definitions.json` holds every upstream OpenAPI definition under `$defs`, keyed by upstream's definition name
(`io.k8s.api.core.v1.Pod`), with references written `#/$defs/<name>`. The definitions keep the extensions
clients depend on: `x-kubernetes-group-version-kind`, `x-kubernetes-patch-merge-key`,
`x-kubernetes-patch-strategy`, `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`. They are JSON-schema
flavoured: optional fields are typed `["string", "null"]`, `apiVersion`/`kind` carry an `enum`, and
IntOrString/Quantity are `oneOf`s (`shim.machinery.openapi` turns them back into OpenAPI v3 shapes).

Everything is loaded lazily, once, on first use: these lookups sit on request paths (strategic merge
patch, OpenAPI documents).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from orjson import loads as _loads  # parses the 1.5 MB definitions file several times faster than json

#: A schema node (a definition, or any node inside one), as decoded from JSON.
Schema = dict[str, Any]

#: The Kubernetes minor whose schemas are served (Flyte 1.16 builds against client-go 0.34). If the installed
#: kubernetes-validate lacks it, the newest minor it ships is used instead (see `schema_version()`).
KUBERNETES_VERSION = "1.34"

#: Prefixes under which a `$ref` may name a definition: the package's own, OpenAPI v3 and Swagger 2.0.
REF_PREFIXES = ("#/$defs/", "#/components/schemas/", "#/definitions/")

@dataclass(frozen=True)
class _Loaded:
    version: str                                 # the Kubernetes minor actually loaded ("1.34")
    directory: Path                              # its kubernetes-json-schema directory
    by_gvk: dict[tuple[str, str, str], str]      # (group, version, kind) -> definition name
    defs: dict[str, Schema]                      # definition name -> definition


_lock = threading.Lock()
_loaded: _Loaded | None = None


def _schema_root() -> Path:
    return Path(str(resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")))


def _minor_key(name: str) -> tuple[int, ...]:
    digits = name[1:].split("-", 1)[0]
    return tuple(int(p) for p in digits.split(".") if p.isdigit())


def _pick_dir() -> tuple[str, Path]:
    root = _schema_root()
    wanted = root / f"v{KUBERNETES_VERSION}.0-local"
    if (wanted / "_definitions.json").is_file():
        return KUBERNETES_VERSION, wanted
    available = sorted((p for p in root.iterdir() if p.name.endswith("-local") and p.name.startswith("v")),
                       key=lambda p: _minor_key(p.name))
    if not available:
        raise RuntimeError(f"kubernetes-validate ships no schemas under {root}")
    newest = available[-1]
    minor = ".".join(str(n) for n in _minor_key(newest.name)[:2])
    return minor, newest


def _load() -> _Loaded:
    global _loaded
    loaded = _loaded
    if loaded is not None:
        return loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        version, directory = _pick_dir()
        document = _loads((directory / "_definitions.json").read_bytes())
        defs: dict[str, Schema] = document["$defs"]
        by_gvk: dict[tuple[str, str, str], str] = {}
        for name, definition in defs.items():
            for gvk in definition.get("x-kubernetes-group-version-kind") or ():
                key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
                # Several definitions may claim one GVK only for shared meta types; the first (sorted) wins.
                by_gvk.setdefault(key, name)
        _loaded = loaded = _Loaded(version, directory, by_gvk, defs)
    return loaded


def schema_version() -> str:
    """The Kubernetes minor ("1.34") whose schemas are actually loaded."""
    return _load().version


def split_api_version(api_version: str) -> tuple[str, str]:
    """`"apps/v1"` -> `("apps", "v1")`; `"v1"` -> `("", "v1")`."""
    group, _, version = api_version.rpartition("/")
    return group, version


def definitions() -> dict[str, Schema]:
    """All built-in definitions by upstream name. Shared, cached data: do not mutate."""
    return _load().defs


def definition(name: str) -> Schema | None:
    """The definition called `name` (`io.k8s.api.core.v1.Container`), or None."""
    return _load().defs.get(name)


def definition_name_for(api_version: str, kind: str) -> str | None:
    """Upstream definition name of a kind (`io.k8s.api.core.v1.Pod`), found via x-kubernetes-group-version-kind."""
    group, version = split_api_version(api_version)
    return _load().by_gvk.get((group, version, kind))


def definition_for(api_version: str, kind: str) -> Schema | None:
    """The schema of a built-in kind, or None when it is not built in. Shared, cached data: do not mutate."""
    name = definition_name_for(api_version, kind)
    return None if name is None else _load().defs[name]


def ref_name(ref: str) -> str | None:
    """The definition name a `$ref` points at, for any of the `REF_PREFIXES`; None for other references."""
    for prefix in REF_PREFIXES:
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return None


def resolve(node: Any) -> Any:
    """Follow `$ref`s (and a single-element `allOf` wrapping one, as OpenAPI v3 documents write them).

    Returns the referenced definition, or the node itself when it refers to nothing. A reference to an unknown
    definition resolves to None. Cycles cannot loop: each step follows a different name, and a name seen twice
    stops the walk.
    """
    seen: set[str] = set()
    while isinstance(node, dict):
        if "$ref" in node:
            name = ref_name(node["$ref"])
            if name is None or name in seen:
                return None
            seen.add(name)
            node = _load().defs.get(name)
            continue
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and "properties" not in node:
            node = all_of[0]
            continue
        return node
    return node


def references(node: Any) -> Iterator[str]:
    """Names of the definitions a schema node refers to directly (not transitively)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str):
                name = ref_name(ref)
                if name is not None:
                    yield name
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def closure(names: Iterator[str] | list[str]) -> list[str]:
    """The given definition names plus every definition they reference, transitively, in discovery order."""
    defs = _load().defs
    ordered: list[str] = []
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop(0)
        if name in seen or name not in defs:
            continue
        seen.add(name)
        ordered.append(name)
        pending.extend(n for n in references(defs[name]) if n not in seen)
    return ordered
