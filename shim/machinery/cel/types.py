"""CEL's types as its checker sees them (cel-go common/types), formatted as cel-go formats them in messages."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Type:
    """A CEL type: `kind` names it (int, list, map, object...), `params` are its type arguments (a list's
    element, a map's key and value); an object type has a `name` and its fields; a type parameter only a name."""

    kind: str
    params: tuple["Type", ...] = ()
    name: str = ""
    #: an object type's fields, built when first asked for (schemas may be large and recursive)
    fields_of: Callable[[], dict[str, "Type"]] | None = field(default=None, compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return format_type(self)

    def field(self, name: str) -> "Type | None":
        if self.fields_of is None:
            return None
        return self.fields_of().get(name)


INT = Type("int")
UINT = Type("uint")
DOUBLE = Type("double")
BOOL = Type("bool")
STRING = Type("string")
BYTES = Type("bytes")
NULL = Type("null_type")
DURATION = Type("google.protobuf.Duration")
TIMESTAMP = Type("google.protobuf.Timestamp")
DYN = Type("dyn")
ERROR = Type("error")
#: a type parameter's kind; `name` says which one (an overload's A, B)
PARAM = "param"


def list_of(elem: Type) -> Type:
    return Type("list", (elem,))


def map_of(key: Type, value: Type) -> Type:
    return Type("map", (key, value))


def type_of(t: Type) -> Type:
    """The type of a type value: `type(int)` for the identifier `int`."""
    return Type("type", (t,))


def optional_of(t: Type) -> Type:
    return Type("optional_type", (t,))


def param(name: str) -> Type:
    return Type(PARAM, name=name)


def object_type(name: str, fields: Callable[[], dict[str, Type]] | dict[str, Type]) -> Type:
    """A declared object type: cel-go's DeclType with fields (a schema's object, kubernetes.AdmissionRequest)."""
    if isinstance(fields, dict):
        fixed = fields
        return Type("object", name=name, fields_of=lambda: fixed)
    return Type("object", name=name, fields_of=fields)


_NAMES = {"null_type": "null", "google.protobuf.Duration": "duration", "google.protobuf.Timestamp": "timestamp",
          "error": "!error!"}


def format_type(t: Type) -> str:
    """cel-go's FormatCELType: what `found no matching overload ... applied to '(int, string)'` prints."""
    if t.kind in ("object", PARAM):
        return t.name
    if t.kind in _NAMES:
        return _NAMES[t.kind]
    if t.params:
        return f"{t.kind}({', '.join(format_type(p) for p in t.params)})"
    return t.kind


def type_string(t: Type) -> str:
    """cel-go's Type.String(): how `must evaluate to bool but got int` names a type (durations and timestamps by
    their message names)."""
    if t.kind in ("object", PARAM):
        return t.name
    if t.kind == "null_type":
        return "null_type"
    if t.params:
        return f"{t.kind}({', '.join(type_string(p) for p in t.params)})"
    return t.kind


def is_dyn(t: Type) -> bool:
    return t.kind in ("dyn", "error")
