"""Kubernetes' CEL quantity library (k8s.io/apiserver pkg/cel/library/quantity.go): `quantity('1Gi')`,
`isQuantity(s)`, `sign(q)` and a quantity's isLessThan, isGreaterThan, compareTo, add, sub, asInteger, isInteger
and asApproximateFloat; exact values from shim.machinery.quantity."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

from celpy import celtypes as ct
from celpy.evaluation import CELEvalError

from shim.machinery import quantity
from shim.machinery.cel import types as t
from shim.machinery.cel.declarations import Overload

QUANTITY = t.object_type("kubernetes.Quantity", {})
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


def _m(*sig: t.Type) -> Overload:
    return Overload(tuple(sig[:-1]), sig[-1], member=True)


DECLARATIONS: dict[str, list[Overload]] = {
    "quantity": [Overload((t.STRING,), QUANTITY)],
    "isQuantity": [Overload((t.STRING,), t.BOOL)],
    "sign": [Overload((QUANTITY,), t.INT)],
    "isGreaterThan": [_m(QUANTITY, QUANTITY, t.BOOL)],
    "isLessThan": [_m(QUANTITY, QUANTITY, t.BOOL)],
    "compareTo": [_m(QUANTITY, QUANTITY, t.INT)],
    "asApproximateFloat": [_m(QUANTITY, t.DOUBLE)],
    "asInteger": [_m(QUANTITY, t.INT)],
    "isInteger": [_m(QUANTITY, t.BOOL)],
    "add": [_m(QUANTITY, QUANTITY, QUANTITY), _m(QUANTITY, t.INT, QUANTITY)],
    "sub": [_m(QUANTITY, QUANTITY, QUANTITY), _m(QUANTITY, t.INT, QUANTITY)],
}


@dataclass(frozen=True)
class Quantity:
    """A quantity's exact value (two quantities are equal when their values are)."""

    value: Fraction


def _parse(text: Any) -> Any:
    problem = quantity.syntax_error(str(text))
    if problem is not None:
        return CELEvalError(problem, ValueError, None)
    return Quantity(quantity.parse(str(text)))


def _is_integer(q: Quantity) -> bool:
    return q.value.denominator == 1 and _INT64[0] <= q.value <= _INT64[1]


def _as_integer(q: Quantity) -> Any:
    if not _is_integer(q):
        return CELEvalError("cannot convert value to integer", ValueError, None)
    return ct.IntType(int(q.value))


def _operand(other: Any) -> Fraction:
    return other.value if isinstance(other, Quantity) else Fraction(int(other))


def _compare(a: Quantity, b: Quantity) -> int:
    return (a.value > b.value) - (a.value < b.value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "quantity": _parse,
    "isQuantity": lambda text: ct.BoolType(quantity.syntax_error(str(text)) is None),
    "sign": lambda q: ct.IntType((q.value > 0) - (q.value < 0)),
    "isGreaterThan": lambda a, b: ct.BoolType(_compare(a, b) > 0),
    "isLessThan": lambda a, b: ct.BoolType(_compare(a, b) < 0),
    "compareTo": lambda a, b: ct.IntType(_compare(a, b)),
    "asApproximateFloat": lambda q: ct.DoubleType(float(q.value)),
    "asInteger": _as_integer,
    "isInteger": lambda q: ct.BoolType(_is_integer(q)),
    "add": lambda q, other: Quantity(q.value + _operand(other)),
    "sub": lambda q, other: Quantity(q.value - _operand(other)),
}
