"""What decoding a built-in object into upstream's Go structs does: type errors, unknown and repeated fields.

Upstream decodes every request body into Go structs, so a field of the wrong JSON type (`"data": []` on a
ConfigMap, `"command": "echo"` on a container) is a 400 BadRequest before any strategy sees it, and a field
the struct does not have never reaches storage (`fieldValidation=Strict` refuses it, `Warn` — the default —
answers a Warning per field, `Ignore` drops it silently); so are keys an object repeats. kubeshim keeps objects
as dicts; this module gives the same answers in the same words by walking the body along the kind's Go types,
as tools/k8s/cmd/gotypes writes them from upstream's scheme (gotypes.json). `null` is accepted anywhere (Go
decodes it to the zero value).

The words are encoding/json's: the first type error (`json: cannot unmarshal number into Go struct field
ConfigMap.data of type string`) unless a type with a decoder of its own fails later (a quantity, a time), which
ends the decoding at once; the strict errors (`unknown field "spec"`, `duplicate field "data.k"`) count only
when nothing else failed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from shim.machinery import quantity
from shim.machinery.golang import base64_error, quote, time_error
from shim.machinery.gojson import Duplicated, value_kind

_DATA = Path(__file__).with_name("gotypes.json")
_INTS = {f"int{bits}": (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) for bits in (8, 16, 32, 64)}
_INTS |= {f"uint{bits}": (0, (1 << bits) - 1) for bits in (8, 16, 32, 64)}
_INTS |= {"int": _INTS["int64"], "uint": _INTS["uint64"]}
_QUANTITY = "k8s.io/apimachinery/pkg/api/resource.Quantity"
_TIMES = {"k8s.io/apimachinery/pkg/apis/meta/v1.Time": "2006-01-02T15:04:05Z07:00",
          "k8s.io/apimachinery/pkg/apis/meta/v1.MicroTime": "2006-01-02T15:04:05.000000Z07:00"}
_INT_OR_STRING = "k8s.io/apimachinery/pkg/util/intstr.IntOrString"


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(_DATA.read_bytes())
    return data


def go_kind(api_version: str, kind: str) -> dict[str, str] | None:
    """The Go type upstream decodes a kind into, `{"type": id, "internal": "core.ConfigMap"}`; None for a kind
    its scheme does not register."""
    found: dict[str, str] | None = _data()["kinds"].get(f"{api_version}/{kind}")
    return found


def go_name(api_version: str, kind: str) -> str:
    """How Go prints the kind's type: `v1.ConfigMap`."""
    found = go_kind(api_version, kind)
    return _data()["types"][found["type"]]["go"] if found else kind


class _Abort(Exception):
    """A decoder of a type's own failed: encoding/json stops there."""


@dataclass
class Decoded:
    """What decoding a body into its Go type found."""

    #: the error that fails the decoding, in Go's words; None: it decodes
    problem: str | None = None
    #: the strict decoding errors in the order met: `unknown field "x"`, `duplicate field "y"`
    strict: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _At:
    """Where the walk is: the innermost struct and the path of struct fields Go's type errors name, and the
    path of every key and index the strict errors name."""

    struct: str = ""
    fields: str = ""
    strict: str = ""

    def field(self, struct: str, name: str) -> "_At":
        return _At(struct, f"{self.fields}.{name}" if self.fields else name, self._key(name))

    def key(self, name: str) -> "_At":
        return _At(self.struct, self.fields, self._key(name))

    def index(self, i: int) -> "_At":
        return _At(self.struct, self.fields, f"{self.strict}[{i}]")

    def _key(self, name: str) -> str:
        return f"{self.strict}.{name}" if self.strict else name


class _Walk:
    def __init__(self) -> None:
        self.types: dict[str, Any] = _data()["types"]
        self.decoded = Decoded()

    def mismatch(self, what: str, go: str, at: _At) -> str:
        """encoding/json's UnmarshalTypeError text."""
        if at.struct or at.fields:
            return f"json: cannot unmarshal {what} into Go struct field {at.struct}.{at.fields} of type {go}"
        return f"json: cannot unmarshal {what} into Go value of type {go}"

    def save(self, problem: str) -> None:
        if self.decoded.problem is None:
            self.decoded.problem = problem

    def strict(self, kind: str, path: str) -> None:
        text = f"{kind} {quote(path)}"
        if text not in self.decoded.strict:
            self.decoded.strict.append(text)

    def value(self, value: Any, type_id: str, at: _At) -> None:
        if value is None:
            return
        info = self.types[type_id]
        kind = info["kind"]
        if kind == "any":
            return
        if kind == "custom":
            self.custom(value, type_id, info["go"], at)
        elif kind == "struct":
            if not isinstance(value, dict):
                return self.save(self.mismatch(value_kind(value), info["go"], at))
            fields, repeated = info.get("fields", {}), getattr(value, "duplicates", ())
            for key in list(value):
                child = fields.get(key)
                if child is None:
                    self.strict("unknown field", at.key(key).strict)
                    del value[key]
                    continue
                if key in repeated:
                    self.strict("duplicate field", at.key(key).strict)
                self.value(value[key], child, at.field(info["name"], key))
        elif kind == "map":
            if not isinstance(value, dict):
                return self.save(self.mismatch(value_kind(value), info["go"], at))
            repeated = value.duplicates if isinstance(value, Duplicated) else ()
            for key, item in value.items():
                if key in repeated:
                    self.strict("duplicate field", at.key(key).strict)
                self.value(item, info["elem"], at.key(key))
        elif kind == "slice":
            if not isinstance(value, list):
                return self.save(self.mismatch(value_kind(value), info["go"], at))
            for i, item in enumerate(value):
                self.value(item, info["elem"], at.index(i))
        elif kind == "bytes":
            self.bytes(value, info["go"], at)
        else:
            self.scalar(value, kind, info["go"], at)
        return None

    def scalar(self, value: Any, kind: str, go: str, at: _At) -> None:
        if kind == "string":
            ok = isinstance(value, str)
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind in ("float32", "float64"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind in _INTS:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                low, high = _INTS[kind]
                if not isinstance(value, int) or not low <= value <= high:
                    return self.save(self.mismatch(f"number {value}", go, at))
                return None
            ok = False
        else:
            ok = True  # a kind the API types do not use
        if not ok:
            self.save(self.mismatch(value_kind(value), go, at))
        return None

    def bytes(self, value: Any, go: str, at: _At) -> None:
        """[]byte: a base64 string (or, as Go also reads it, an array of bytes)."""
        if isinstance(value, str):
            problem = base64_error(value)
            if problem:
                self.save(problem)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.scalar(item, "uint8", "uint8", at.index(i))
        else:
            self.save(self.mismatch(value_kind(value), go, at))

    def custom(self, value: Any, type_id: str, go: str, at: _At) -> None:
        """Types with an UnmarshalJSON of their own; one that fails ends the decoding."""
        if type_id == _QUANTITY:
            text = value if isinstance(value, str) else orjson.dumps(value).decode()
            if isinstance(value, (bool, list, dict)) or quantity.syntax_error(text.strip()):
                raise _Abort(quantity.FORMAT_WRONG)
        elif type_id in _TIMES:
            if not isinstance(value, str):
                raise _Abort(self.mismatch(value_kind(value), "string", at))
            problem = time_error(value, _TIMES[type_id])
            if problem:
                raise _Abort(problem)
        elif type_id == _INT_OR_STRING and not isinstance(value, str):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _Abort(self.mismatch(value_kind(value), "int32", at))
            low, high = _INTS["int32"]
            if not isinstance(value, int) or not low <= value <= high:
                raise _Abort(self.mismatch(f"number {value}", "int32", at))


def decode(api_version: str, kind: str, obj: dict[str, Any]) -> Decoded | None:
    """What decoding `obj` into the kind's Go type finds (unknown fields are removed from `obj` on the way);
    None for a kind without a built-in Go type (custom resources)."""
    found = go_kind(api_version, kind)
    if found is None:
        return None
    walk = _Walk()
    try:
        walk.value(obj, found["type"], _At())
    except _Abort as abort:
        walk.decoded.problem = str(abort)
    return walk.decoded
