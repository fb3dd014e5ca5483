"""The functions the checker knows, with their overloads: CEL's standard library and the part of Kubernetes'
libraries kubeshim evaluates (shim.machinery.cel.functions). A function missing here is an undeclared reference,
as in an environment without it."""
from __future__ import annotations

from dataclasses import dataclass

from shim.machinery.cel.types import (BOOL, BYTES, DOUBLE, DURATION, DYN, INT, STRING, TIMESTAMP, UINT, Type,
                                      list_of, map_of, param, type_of)

A, B = param("A"), param("B")


@dataclass(frozen=True)
class Overload:
    args: tuple[Type, ...]
    result: Type
    #: a method: the first argument is the receiver (`s.startsWith(x)`)
    member: bool = False


def _g(*sig: Type) -> Overload:
    return Overload(tuple(sig[:-1]), sig[-1])


def _m(*sig: Type) -> Overload:
    return Overload(tuple(sig[:-1]), sig[-1], member=True)


_NUMBERS = (INT, UINT, DOUBLE)
_ORDERED = (BOOL, INT, UINT, DOUBLE, STRING, BYTES, TIMESTAMP, DURATION)
_ORDER = [_g(x, x, BOOL) for x in _ORDERED] + [_g(x, y, BOOL) for x in _NUMBERS for y in _NUMBERS if x != y]
_TIME_PARTS = ("getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate", "getDayOfWeek")
_CLOCK_PARTS = ("getHours", "getMinutes", "getSeconds", "getMilliseconds")

FUNCTIONS: dict[str, list[Overload]] = {
    "_+_": [_g(x, x, x) for x in (INT, UINT, DOUBLE, STRING, BYTES)] + [
        _g(list_of(A), list_of(A), list_of(A)), _g(TIMESTAMP, DURATION, TIMESTAMP),
        _g(DURATION, TIMESTAMP, TIMESTAMP), _g(DURATION, DURATION, DURATION)],
    "_-_": [_g(x, x, x) for x in _NUMBERS] + [_g(TIMESTAMP, TIMESTAMP, DURATION), _g(TIMESTAMP, DURATION, TIMESTAMP),
                                               _g(DURATION, DURATION, DURATION)],
    "_*_": [_g(x, x, x) for x in _NUMBERS],
    "_/_": [_g(x, x, x) for x in _NUMBERS],
    "_%_": [_g(x, x, x) for x in (INT, UINT)],
    "-_": [_g(INT, INT), _g(DOUBLE, DOUBLE)],
    "!_": [_g(BOOL, BOOL)],
    "_&&_": [_g(BOOL, BOOL, BOOL)],
    "_||_": [_g(BOOL, BOOL, BOOL)],
    "_?_:_": [_g(BOOL, A, A, A)],
    "_==_": [_g(A, A, BOOL)],
    "_!=_": [_g(A, A, BOOL)],
    "_<_": _ORDER, "_<=_": _ORDER, "_>_": _ORDER, "_>=_": _ORDER,
    "_[_]": [_g(list_of(A), INT, A), _g(map_of(A, B), A, B)],
    "@in": [_g(A, list_of(A), BOOL), _g(A, map_of(A, B), BOOL)],
    "size": [f(x, INT) for f in (_g, _m) for x in (STRING, BYTES, list_of(A), map_of(A, B))],
    "contains": [_m(STRING, STRING, BOOL)],
    "startsWith": [_m(STRING, STRING, BOOL)],
    "endsWith": [_m(STRING, STRING, BOOL)],
    "matches": [_m(STRING, STRING, BOOL), _g(STRING, STRING, BOOL)],
    "int": [_g(x, INT) for x in (INT, UINT, DOUBLE, STRING, TIMESTAMP)],
    "uint": [_g(x, UINT) for x in (INT, UINT, DOUBLE, STRING)],
    "double": [_g(x, DOUBLE) for x in (INT, UINT, DOUBLE, STRING)],
    "string": [_g(x, STRING) for x in (INT, UINT, DOUBLE, BOOL, STRING, BYTES, TIMESTAMP, DURATION)],
    "bytes": [_g(BYTES, BYTES), _g(STRING, BYTES)],
    "bool": [_g(BOOL, BOOL), _g(STRING, BOOL)],
    "duration": [_g(DURATION, DURATION), _g(STRING, DURATION)],
    "timestamp": [_g(TIMESTAMP, TIMESTAMP), _g(STRING, TIMESTAMP), _g(INT, TIMESTAMP)],
    "dyn": [_g(A, DYN)],
    "type": [_g(A, type_of(A))],
    **{name: [_m(TIMESTAMP, INT), _m(TIMESTAMP, STRING, INT)] for name in _TIME_PARTS},
    **{name: [_m(TIMESTAMP, INT), _m(TIMESTAMP, STRING, INT), _m(DURATION, INT)] for name in _CLOCK_PARTS},
    # cel-go ext.Strings (version 2)
    "charAt": [_m(STRING, INT, STRING)],
    "indexOf": [_m(STRING, STRING, INT), _m(STRING, STRING, INT, INT), _m(list_of(A), A, INT)],
    "lastIndexOf": [_m(STRING, STRING, INT), _m(STRING, STRING, INT, INT), _m(list_of(A), A, INT)],
    "lowerAscii": [_m(STRING, STRING)],
    "upperAscii": [_m(STRING, STRING)],
    "replace": [_m(STRING, STRING, STRING, STRING), _m(STRING, STRING, STRING, INT, STRING)],
    "split": [_m(STRING, STRING, list_of(STRING)), _m(STRING, STRING, INT, list_of(STRING))],
    "substring": [_m(STRING, INT, STRING), _m(STRING, INT, INT, STRING)],
    "trim": [_m(STRING, STRING)],
    "join": [_m(list_of(STRING), STRING), _m(list_of(STRING), STRING, STRING)],
    # Kubernetes' lists library
    "isSorted": [_m(list_of(A), BOOL)],
    "sum": [_m(list_of(A), A)],
    "max": [_m(list_of(A), A)],
    # Kubernetes' regex library
    "find": [_m(STRING, STRING, STRING)],
    "findAll": [_m(STRING, STRING, list_of(STRING)), _m(STRING, STRING, INT, list_of(STRING))],
    # cel-go ext.Lists (version 3, the part without macros)
    "distinct": [_m(list_of(A), list_of(A))],
    "flatten": [_m(list_of(DYN), list_of(DYN)), _m(list_of(DYN), INT, list_of(DYN))],
    "reverse": [_m(list_of(A), list_of(A))],
    "slice": [_m(list_of(A), INT, INT, list_of(A))],
    "sort": [_m(list_of(A), list_of(A))],
}

#: identifiers that name types (`type(x) == string`)
TYPE_NAMES: dict[str, Type] = {
    name: type_of(t) for name, t in (("int", INT), ("uint", UINT), ("double", DOUBLE), ("bool", BOOL),
                                     ("string", STRING), ("bytes", BYTES), ("list", list_of(DYN)),
                                     ("map", map_of(DYN, DYN)), ("null_type", Type("null_type")),
                                     ("type", type_of(DYN)), ("google.protobuf.Duration", DURATION),
                                     ("google.protobuf.Timestamp", TIMESTAMP))}
