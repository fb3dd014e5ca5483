"""Runtime implementations, for cel-python, of the Kubernetes CEL library functions it lacks (cel-go's ext.Strings,
ext.Lists and Kubernetes' lists and regex libraries), with cel-go's error texts. What shim.machinery.cel.declarations
declares and cel-python does not provide lives here."""
from __future__ import annotations

import operator
import re
from typing import Any, Callable

from celpy import celtypes as ct
from celpy.evaluation import CELEvalError, base_functions

from shim.machinery.cel import authorizer, quantity


def _error(message: str) -> CELEvalError:
    return CELEvalError(message, ValueError, None)


def _char_at(s: Any, i: Any) -> Any:
    if i < 0 or i > len(s):
        return _error(f"index out of range: {i}")
    return ct.StringType(s[i:i + 1])


def _index_of(s: Any, sub: Any, start: Any = None) -> Any:
    if isinstance(s, ct.ListType):
        return ct.IntType(next((i for i, v in enumerate(s) if v == sub), -1))
    begin = 0 if start is None else int(start)
    if begin < 0 or begin > len(s):
        return _error(f"index out of range: {begin}")
    return ct.IntType(s.find(sub, begin))


def _last_index_of(s: Any, sub: Any, end: Any = None) -> Any:
    if isinstance(s, ct.ListType):
        return ct.IntType(max((i for i, v in enumerate(s) if v == sub), default=-1))
    stop = len(s) if end is None else int(end)
    if stop < 0 or stop > len(s):
        return _error(f"index out of range: {stop}")
    return ct.IntType(s.rfind(sub, 0, stop + len(sub)))


def _replace(s: Any, old: Any, new: Any, n: Any = None) -> Any:
    return ct.StringType(s.replace(old, new, -1 if n is None or n < 0 else int(n)))


def _split(s: Any, sep: Any, n: Any = None) -> Any:
    if n is not None and n == 0:
        return ct.ListType([])
    limit = -1 if n is None or n < 0 else int(n) - 1
    parts = list(s) if sep == "" else s.split(sep, limit)
    if sep == "" and limit >= 0 and len(parts) > limit + 1:
        parts = parts[:limit] + ["".join(parts[limit:])]
    return ct.ListType([ct.StringType(p) for p in parts])


def _substring(s: Any, start: Any, end: Any = None) -> Any:
    stop = len(s) if end is None else int(end)
    if start < 0 or start > len(s):
        return _error(f"index out of range: {start}")
    if stop < 0 or stop > len(s):
        return _error(f"index out of range: {stop}")
    if start > stop:
        return _error(f"invalid substring range. start: {start}, end: {stop}")
    return ct.StringType(s[start:stop])


def _join(items: Any, sep: Any = None) -> Any:
    return ct.StringType(("" if sep is None else sep).join(str(i) for i in items))


def _is_sorted(items: Any) -> Any:
    return ct.BoolType(all(a <= b for a, b in zip(items, items[1:], strict=False)))


def _sum(items: Any) -> Any:
    if not items:
        return ct.IntType(0)
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def _max(items: Any) -> Any:
    if not items:
        return _error("max of empty list")
    return max(items)


def _find(s: Any, pattern: Any) -> Any:
    try:
        match = re.search(pattern, s)
    except re.error as exc:
        return _error(f"error parsing regexp: {exc}")
    return ct.StringType(match.group(0) if match else "")


def _find_all(s: Any, pattern: Any, n: Any = None) -> Any:
    try:
        found = [m.group(0) for m in re.finditer(pattern, s)]
    except re.error as exc:
        return _error(f"error parsing regexp: {exc}")
    if n is not None and n >= 0:
        found = found[:int(n)]
    return ct.ListType([ct.StringType(f) for f in found])


def _distinct(items: Any) -> Any:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return ct.ListType(out)


def _flatten(items: Any, depth: Any = None) -> Any:
    levels = 1 if depth is None else int(depth)
    if levels < 0:
        return _error("level must be non-negative")
    out: list[Any] = []
    for item in items:
        if isinstance(item, ct.ListType) and levels > 0:
            out += _flatten(item, ct.IntType(levels - 1))
        else:
            out.append(item)
    return ct.ListType(out)


def _slice(items: Any, start: Any, end: Any) -> Any:
    if start < 0 or end < 0:
        return _error(f"cannot slice(-1, {end}), negative indexes not supported" if start < 0 else
                      f"cannot slice({start}, {end}), negative indexes not supported")
    if start > end:
        return _error(f"cannot slice({start}, {end}), start index must be less than or equal to end index")
    if end > len(items):
        return _error(f"cannot slice({start}, {end}), list is length {len(items)}")
    return ct.ListType(items[int(start):int(end)])


def _dyn(value: Any) -> Any:
    return value


_NUMBERS = (ct.IntType, ct.UintType, ct.DoubleType)


def _numbers(a: Any, b: Any) -> bool:
    """Two numbers of different CEL types (int, uint, double), which cel-go compares by value."""
    return isinstance(a, _NUMBERS) and isinstance(b, _NUMBERS) and type(a) is not type(b)


def _plain(n: Any) -> int | float:
    return float(n) if isinstance(n, ct.DoubleType) else int(n)


def _failed(a: Any, b: Any) -> CELEvalError | None:
    """The error an operand evaluated to, which the operation then is."""
    return a if isinstance(a, CELEvalError) else b if isinstance(b, CELEvalError) else None


def _ordering(name: str, compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    """A comparison with Kubernetes' cross-type numeric comparisons (`1 < 1.5`); cel-python's otherwise."""
    base = base_functions[name]

    def order(a: Any, b: Any) -> Any:
        return ct.BoolType(compare(_plain(a), _plain(b))) if _numbers(a, b) else base(a, b)
    return order


def _equal(a: Any, b: Any) -> Any:
    """cel-go's heterogeneous equality: numbers by value whatever their types, other values of two different
    types unequal (not an error)."""
    failed = _failed(a, b)
    if failed is not None:
        return failed
    if _numbers(a, b):
        return ct.BoolType(_plain(a) == _plain(b))
    if type(a) is not type(b) and not (isinstance(a, ct.MapType) and isinstance(b, ct.MapType)):
        return ct.BoolType(False)
    return base_functions["_==_"](a, b)


def _not_equal(a: Any, b: Any) -> Any:
    equal = _equal(a, b)
    return ct.BoolType(not equal) if isinstance(equal, ct.BoolType) else equal


def _in(item: Any, container: Any) -> Any:
    failed = _failed(item, container)
    if failed is not None:
        return failed
    if isinstance(container, ct.ListType):
        return ct.BoolType(any(_equal(item, e) == ct.BoolType(True) for e in container))
    return base_functions["_in_"](item, container)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "charAt": _char_at,
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "lowerAscii": lambda s: ct.StringType("".join(c.lower() if c.isascii() else c for c in s)),
    "upperAscii": lambda s: ct.StringType("".join(c.upper() if c.isascii() else c for c in s)),
    "replace": _replace,
    "split": _split,
    "substring": _substring,
    "trim": lambda s: ct.StringType(s.strip()),
    "join": _join,
    "isSorted": _is_sorted,
    "sum": _sum,
    "max": _max,
    "find": _find,
    "findAll": _find_all,
    "distinct": _distinct,
    "flatten": _flatten,
    "reverse": lambda items: ct.ListType(list(reversed(items))),
    "slice": _slice,
    "sort": lambda items: ct.ListType(sorted(items)),
    "dyn": _dyn,
    "_<_": _ordering("_<_", operator.lt),
    "_<=_": _ordering("_<=_", operator.le),
    "_>_": _ordering("_>_", operator.gt),
    "_>=_": _ordering("_>=_", operator.ge),
    "_==_": _equal,
    "_!=_": _not_equal,
    "_in_": _in,
    **authorizer.FUNCTIONS,
    **quantity.FUNCTIONS,
}
