"""Decoded JSON values printed as Go's fmt prints them (`%v`, `%#v`, `%T`), for messages upstream builds that way.

The values are what Go decodes JSON into an `interface{}` as: maps, slices, strings, bools, nil, and numbers as
int64 when they are integers that fit, float64 otherwise. Walked with an explicit stack: a message may quote a
value nested thousands of levels deep.
"""
from __future__ import annotations

import math
from typing import Any

from shim.machinery.golang import quote

_INT64 = range(-(2 ** 63), 2 ** 63)


def go_type(value: Any) -> str:
    """`%T`."""
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int) and value in _INT64:
        return "int64"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "<nil>"


def _float(number: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64), as %v prints a float64: the shortest digits that read back as
    the same number, in exponent form when the exponent is below -4 or from 6 up."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    sign = "-" if math.copysign(1, number) < 0 else ""
    mantissa, _, exp_text = repr(abs(number)).partition("e")  # Python's repr is the shortest form too
    whole, _, fraction = mantissa.partition(".")
    if exp_text:
        digits, exponent = whole + fraction, int(exp_text)
    elif whole.strip("0"):
        digits, exponent = (whole + fraction).lstrip("0"), len(whole.lstrip("0")) - 1
    else:
        digits, exponent = fraction.lstrip("0"), -(len(fraction) - len(fraction.lstrip("0")) + 1)
    digits = digits.rstrip("0") or "0"
    if digits == "0":
        return sign + "0"
    if exponent < -4 or exponent >= 6:
        tail = "." + digits[1:] if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits[:exponent + 1].ljust(exponent + 1, "0")
    return sign + whole + ("." + digits[exponent + 1:] if len(digits) > exponent + 1 else "")


def number(value: int | float) -> str:
    if isinstance(value, int) and value in _INT64:
        return str(value)
    return _float(float(value))


def _format(value: Any, sharp: bool) -> str:
    out: list[str] = []
    stack: list[Any] = [value]  # values to print, and ("text",) tuples of literal text between them
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            out.append(item[0])
        elif isinstance(item, dict):
            keys = sorted(item)
            parts: list[Any] = [("map[string]interface {}{" if sharp else "map[",)]
            for i, key in enumerate(keys):
                sep = ", " if sharp else " "
                parts += [((sep if i else "") + (quote(key) if sharp else key) + ":",), item[key]]
            parts.append(("}" if sharp else "]",))
            stack.extend(reversed(parts))
        elif isinstance(item, list):
            parts = [("[]interface {}{" if sharp else "[",)]
            for i, element in enumerate(item):
                if i:
                    parts.append((", " if sharp else " ",))
                parts.append(element)
            parts.append(("}" if sharp else "]",))
            stack.extend(reversed(parts))
        elif item is None:
            out.append("interface {}(nil)" if sharp else "<nil>")
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (int, float)):
            out.append(number(item))
        else:
            out.append(quote(str(item)) if sharp else str(item))
    return "".join(out)


def value(v: Any) -> str:
    """`%v`."""
    return _format(v, sharp=False)


def syntax(v: Any) -> str:
    """`%#v`: Go syntax."""
    return _format(v, sharp=True)
