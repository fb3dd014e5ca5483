"""A JSON object as upstream's Go types hold it: what kube-apiserver compares when it computes managedFields.

kube-apiserver decodes every write into its Go struct, so two writes that differ only in what Go cannot tell
apart own the same fields: an omitted map and an empty one are the same nil map, a struct that is not a
pointer is always there (an empty `spec: {}` in a zero object), a field without `omitempty` is always there
too (`null`, or its zero value). The per-field Go facts are the protobuf codec's (pointer, omitempty, kind).
"""
from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from ._codec import (DOUBLE, DUR, FIELDS, IOS, JSONRAW, MAP, MICRO, MSG, QTY, RAW, REPEATED, SCALAR, SINGLE, TIME,
                     _Plan, registry)

Obj = dict[str, Any]

#: what a non-pointer field of a special type holds when it is zero (its Go marshaller's output)
_SPECIAL_ZERO: dict[int, Any] = {TIME: None, MICRO: None, IOS: 0, QTY: "0", DUR: "0s", RAW: None, FIELDS: None,
                                 JSONRAW: None}
_ABSENT = object()
OBJECT_META = "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"
#: fields whose Go tag says `omitzero`: left out when zero although not pointers (the only one in k8s.io/api and
#: apimachinery v0.34: a pod template's metadata has no `creationTimestamp: null`)
_OMITZERO = {(OBJECT_META, "creationTimestamp")}


def go_view(obj: Obj, api_version: str, kind: str) -> Obj:
    """`obj` as its Go type would hold and marshal it; unchanged for kinds without one (custom resources)."""
    plan = registry().resolve(api_version, kind)
    if plan is None:
        return obj
    return _struct(obj, plan)


def go_object_meta(meta: Obj) -> Obj:
    """`metadata` as Go's ObjectMeta holds and marshals it (what upstream makes of a custom resource's metadata)."""
    return _struct(meta, registry().plan(OBJECT_META))


def _struct(obj: Obj, plan: _Plan) -> Obj:
    out = dict(obj)
    by_name, always = _fields_of(plan)
    for name, value in obj.items():
        facts = by_name.get(name)
        if value is None and (plan.desc.full_name, name) in _OMITZERO:
            out.pop(name)
        elif facts is not None:
            _set(out, name, _field(value, *facts))
    for name, facts in always:
        if name not in obj:
            _set(out, name, _field(_ABSENT, *facts))
    return out


def _set(out: Obj, name: str, value: Any) -> None:
    if value is _ABSENT:
        out.pop(name, None)
    else:
        out[name] = value


_Facts = tuple[FieldDescriptor, int, int, "_Plan | None", bool, bool]
_compiled: dict[str, tuple[dict[str, _Facts], list[tuple[str, _Facts]]]] = {}


def _fields_of(plan: _Plan) -> tuple[dict[str, _Facts], list[tuple[str, _Facts]]]:
    """A struct's fields by JSON name (inline structs' fields flattened in), and those Go always writes
    (non-pointer structs and special types, fields without omitempty)."""
    compiled = _compiled.get(plan.desc.full_name)
    if compiled is None:
        by_name: dict[str, _Facts] = {}
        always: list[tuple[str, _Facts]] = []
        _compile(plan, by_name, always)
        compiled = _compiled.setdefault(plan.desc.full_name, (by_name, always))
    return compiled


def _compile(plan: _Plan, by_name: dict[str, _Facts], always: list[tuple[str, _Facts]]) -> None:
    for fd, (json_name, shape, code, sub, ptr, keep, inline) in plan.fields.items():
        if inline:
            assert sub is not None
            _compile(sub, by_name, always)
            continue
        if json_name is None:
            continue
        facts = (fd, shape, code, sub, ptr, keep)
        by_name[json_name] = facts
        if (plan.desc.full_name, json_name) in _OMITZERO:
            continue
        if keep or (shape == SINGLE and not ptr and (code == MSG or code in _SPECIAL_ZERO)):
            always.append((json_name, facts))


def _field(value: Any, fd: FieldDescriptor, shape: int, code: int, sub: _Plan | None, ptr: bool,
           keep: bool) -> Any:
    missing = value is _ABSENT or value is None
    if shape == SINGLE:
        if ptr:
            if missing:
                return None if keep else _ABSENT
            return _struct(value, sub) if code == MSG and isinstance(value, dict) and sub is not None else value
        if code == MSG and sub is not None:
            return _struct(value if isinstance(value, dict) else {}, sub)
        if code in _SPECIAL_ZERO:
            return _SPECIAL_ZERO[code] if missing else value
        if missing or not value:
            return _zero(fd, code) if keep else _ABSENT
        return value
    if missing or not value:
        if keep:
            return value if isinstance(value, (list, dict)) else None
        return _ABSENT
    if code != MSG or sub is None:
        return value
    if shape == REPEATED and isinstance(value, list):
        return [_struct(item if isinstance(item, dict) else {}, sub) for item in value]
    if shape == MAP and isinstance(value, dict):
        return {k: _struct(v if isinstance(v, dict) else {}, sub) for k, v in value.items()}
    return value


def _zero(fd: FieldDescriptor, code: int) -> Any:
    if code not in (SCALAR, DOUBLE) or fd.type == FieldDescriptor.TYPE_BYTES:
        return None
    if fd.type == FieldDescriptor.TYPE_STRING:
        return ""
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return False
    return 0


def go_defaults(definition: str) -> dict[str, Any]:
    """The `+default=` markers of an OpenAPI definition's Go struct (`io.k8s.api.core.v1.ContainerPort` ->
    `{"protocol": "TCP"}`): what upstream publishes as the properties' `default`."""
    if not definition.startswith("io.k8s."):
        return {}
    message = "k8s.io." + definition[len("io.k8s."):].replace("apiextensions-apiserver", "apiextensions_apiserver", 1)
    facts = registry().fields.get(message) or {}
    return {f.get("json", name): f["default"] for name, f in facts.items() if "default" in f}
