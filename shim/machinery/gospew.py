"""A pod template printed as the kube-controller-manager prints its Go value to hash it.

controller.ComputeHash writes `dump.ForHash(*template)` into fnv32a: go-spew's `%#v` (SortKeys, DisableMethods)
of the Go `v1.PodTemplateSpec`, which prints every field of every struct in declaration order with its Go name and
type, unexported ones included. That text depends on the Go layout, generated from upstream's types into
golayout.json (tools/k8s/cmd/spewlayout), and on what the Go value holds after its trip through the API server:
the JSON body decoded, stored as protobuf and decoded again by the informer, so empty lists and maps are nil and a
quantity is parsed back from its canonical string. Each type with a JSON form of its own (Quantity, IntOrString,
Time) is converted here to its Go fields.

Not reproduced: a quantity of more than 18 significant digits (held as an inf.Dec) and a set timestamp (a
time.Time in the informer's local zone); both are printed as their int64 and zero forms.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from shim.machinery import quantity

_DATA = Path(__file__).with_name("golayout.json")
_QUANTITY = "k8s.io/apimachinery/pkg/api/resource.Quantity"
_INT_OR_STRING = "k8s.io/apimachinery/pkg/util/intstr.IntOrString"
_TIME = "k8s.io/apimachinery/pkg/apis/meta/v1.Time"
_INTS = {"int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64"}
_BINARY_EXPONENTS = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_EXPONENTS = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class _Go(dict[str, Any]):
    """A struct's value keyed by Go field names (a custom type's internals), not by JSON names."""


@functools.cache
def _layout() -> tuple[str, dict[str, Any]]:
    data = json.loads(_DATA.read_text())
    return data["root"], data["types"]


def pod_template(template: Any) -> str:
    """`dump.ForHash(*template)` for a pod template as stored (its JSON form)."""
    root, _ = _layout()
    out: list[str] = []
    _format(out, root, template, show_type=True)
    return "".join(out)


def _format(out: list[str], tid: str, value: Any, show_type: bool) -> None:
    """spew's formatState.format: `show_type` is the negation of its ignoreNextType."""
    types = _layout()[1]
    info = types[tid]
    kind = info["kind"]
    if kind == "ptr":
        if value is None:
            out.append(f"({info['go']})<nil>" if show_type else "<nil>")
            return
        out.append(f"(*{types[info['elem']]['go']})" if show_type else "<*>")
        _format(out, info["elem"], value, show_type=False)
        return
    if show_type:
        out.append(f"({info['go']})")
    value = _go_value(tid, value)
    if kind == "struct":
        parts = []
        for field in info["fields"]:
            if isinstance(value, _Go):
                inner = value.get(field["name"])
            elif field.get("inline"):
                inner = value
            else:
                inner = (value or {}).get(field["json"]) if field.get("json") else None
            part = [field["name"], ":"]
            _format(part, field["type"], inner, show_type=True)
            parts.append("".join(part))
        out.append("{" + " ".join(parts) + "}")
    elif kind == "slice":
        if not value:
            out.append("<nil>")
            return
        items = []
        for item in value:
            part = []
            _format(part, info["elem"], item, show_type=False)
            items.append("".join(part))
        out.append("[" + " ".join(items) + "]")
    elif kind == "map":
        if not value:
            out.append("<nil>")
            return
        entries = []
        for key in sorted(value):
            part = [key, ":"]
            _format(part, info["elem"], value[key], show_type=False)
            entries.append("".join(part))
        out.append("map[" + " ".join(entries) + "]")
    elif kind == "bool":
        out.append("true" if value else "false")
    elif kind in _INTS:
        out.append(str(int(value or 0)))
    elif kind == "string":
        out.append("" if value is None else str(value))
    else:
        raise TypeError(f"go-spew layout: unexpected kind {kind} of {info['go']}")


def _go_value(tid: str, value: Any) -> Any:
    """A custom type's JSON form as its Go fields; any other value as it is."""
    if tid == _QUANTITY and value is not None and not isinstance(value, _Go):
        return _quantity(value)
    if tid == _INT_OR_STRING and value is not None and not isinstance(value, _Go):
        if isinstance(value, str):
            return _Go(Type=1, IntVal=0, StrVal=value)
        return _Go(Type=0, IntVal=int(value), StrVal="")
    if tid == _TIME and not isinstance(value, _Go):
        return _Go(Time=_Go(wall=0, ext=0, loc=None))
    return value


def _quantity(value: Any) -> _Go:
    """resource.ParseQuantity of the canonical string: its int64 amount, and the string kept when it is canonical
    in ParseQuantity's own (narrower) sense."""
    text = quantity.canonical(value)
    if text == "0":
        return _Go(i=_Go(value=0, scale=0), d=_Go(Dec=None), s="0", Format="DecimalSI")
    negative = text.startswith("-")
    digits = text.lstrip("+-")
    num, suffix = digits[:_digits_end(digits)], digits[_digits_end(digits):]
    if suffix in _BINARY_EXPONENTS:
        exponent = _BINARY_EXPONENTS[suffix]
        amount, scale, fmt = int(num) << exponent, 0, "BinarySI"
        keep = exponent % 10 == 0 and int(num) & 7 != 0
    else:
        decimal = suffix in _DECIMAL_EXPONENTS
        exponent = _DECIMAL_EXPONENTS[suffix] if decimal else int(suffix[1:])
        fmt = "DecimalSI" if decimal else "DecimalExponent"
        amount, scale = int(num), exponent
        keep = scale % 3 == 0 and not num.endswith("000") and num[0] != "0"
    return _Go(i=_Go(value=-amount if negative else amount, scale=scale), d=_Go(Dec=None),
               s=text if keep else "", Format=fmt)


def _digits_end(text: str) -> int:
    for index, char in enumerate(text):
        if not char.isdigit():
            return index
    return len(text)
