"""Kubernetes resource quantities ("500m", "1Gi", "2e3") as exact numbers.

The kubelet only needs three readings of a quantity: CPU in millicores (scheduling, cgroup quota), bytes
(memory, storage) and a value scaled by a divisor (downward API). Fractions keep "0.1" and "100m" equal.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_RE = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|)$")


#: ParseQuantity's ErrFormatWrong
FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def syntax_error(value: Any) -> str | None:
    """Why `value` is not a quantity, or None (cheap: the pattern only, no arithmetic)."""
    if isinstance(value, bool):
        return f"quantity {value!r} is not a number"
    if isinstance(value, (int, float)):
        return None
    match = _RE.match(str(value).strip())
    if not match or match.group(1) in ("", ".", "+", "-") or match.group(1).count(".") > 1:
        return FORMAT_WRONG
    return None


def parse(value: Any) -> Fraction:
    """The exact value of a quantity; ints and floats pass through. Raises ValueError on garbage."""
    if isinstance(value, bool):
        raise ValueError(f"quantity {value!r} is not a number")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value).limit_denominator(10**9)
    text = str(value).strip()
    match = _RE.match(text)
    if not match or match.group(1) in ("", ".", "+", "-"):
        raise ValueError(f"quantities must match the regular expression "
                         f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text!r}")
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if len(suffix) > 1 and suffix[0] in "eE":
        return number * Fraction(10) ** int(suffix[1:])
    return number * _DECIMAL[suffix]


def millicores(value: Any) -> int:
    """CPU in millicores, rounded up as the kubelet does for cgroup shares and quota."""
    return math.ceil(parse(value) * 1000)


def to_bytes(value: Any) -> int:
    """Memory or storage in bytes, rounded up."""
    return math.ceil(parse(value))


def scaled(value: Any, divisor: Any = 1) -> int:
    """value / divisor rounded up: the downward API's resourceFieldRef rule (ceil, at least 1 if non-zero)."""
    div = parse(divisor) if divisor not in (None, "", 0) else Fraction(1)
    if div <= 0:
        raise ValueError("divisor must be positive")
    return math.ceil(parse(value) / div)



_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}


def format_decimal(value: int, scale: int = 0) -> str:
    """The canonical DecimalSI form of value * 10**scale, as Go's Quantity.String() writes an integer amount
    (resource.NewScaledQuantity): every factor of ten moved into the exponent, which then steps down to a
    multiple of three; `format_decimal(5_000_000, -9)` is "5m", `format_decimal(123, -9)` "123n"."""
    if value == 0:
        return "0"
    exponent = scale
    while value % 10 == 0:
        value //= 10
        exponent += 1
    step = exponent % 3
    value, exponent = value * 10**step, exponent - step
    if exponent > 18:
        value, exponent = value * 10 ** (exponent - 18), 18
    return f"{value}{_DECIMAL_SUFFIXES[exponent]}"


_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def format_binary(value: int) -> str:
    """The canonical BinarySI form of an integer amount (resource.NewQuantity(v, BinarySI).String()): powers of
    1024 as Ki, Mi...; an amount below 1024 is written in DecimalSI, as Go's does ("1k" for 1000)."""
    if -1024 < value < 1024:
        return format_decimal(value)
    power = 0
    while value % 1024 == 0 and power < len(_BINARY_SUFFIXES) - 1:
        value //= 1024
        power += 1
    return f"{value}{_BINARY_SUFFIXES[power]}"


def canonical(value: Any) -> str:
    """The string the API server stores for a quantity (Quantity.String() of ParseQuantity's result): the value
    rounded up to a nano, in the format its suffix asked for; "0.5" is "500m", "2048Ki" "2Mi", "1000e-3" "1".
    Raises ValueError on garbage."""
    text = str(value).strip()
    match = _RE.match(text)
    if isinstance(value, bool) or not match:
        raise ValueError(f"not a quantity: {value!r}")
    amount = parse(text)
    nanos = amount * 10**9
    whole = math.ceil(abs(nanos)) * (1 if nanos >= 0 else -1)
    amount = Fraction(whole, 10**9)
    suffix = match.group(2)
    if amount == 0:
        return "0"
    if suffix in _BINARY and amount.denominator == 1 and not -1024 < amount < 1024:
        return format_binary(int(amount))
    if len(suffix) > 1 and suffix[0] in "eE":
        mantissa, exponent = whole, -9
        while mantissa % 10 == 0:
            mantissa, exponent = mantissa // 10, exponent + 1
        step = exponent % 3
        mantissa, exponent = mantissa * 10**step, exponent - step
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    return format_decimal(whole, -9)
