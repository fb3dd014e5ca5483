"""JSON as kube-apiserver reads it (Go's encoding/json, in the sigs.k8s.io/json fork): its errors word for word.

Python's parsers accept the same documents but word their failures otherwise, and keep no trace of a repeated
key; upstream's answers quote Go's texts (`invalid character 'n' looking for beginning of object key string`,
`json: cannot unmarshal number into Go struct field ConfigMap.data of type string`, `duplicate field "data.k"`).
A failed parse is scanned again by a port of Go's scanner to find its words; a parse that must notice repeated
keys keeps them on the objects that had them (`Duplicated`), for the typed decoding to report where they sit.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

from shim.machinery import nesting
from shim.machinery.golang import quote

#: the nesting upstream's scanner stops at
MAX_DEPTH = 10000


class JSONError(ValueError):
    """A body that is not JSON; the message is Go's."""


class Duplicated(dict[str, Any]):
    """A JSON object that repeated keys: the last value of each is kept, as Go keeps it."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    repeated: dict[str, None] = {}
    for key, _ in pairs:
        if key in seen:
            repeated[key] = None
        seen.add(key)
    out = Duplicated(obj)
    out.duplicates = tuple(repeated)
    return out


def _constant(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are no JSON to Go


_TRACKING = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)


def loads(data: bytes, *, duplicates: bool = False) -> Any:
    """The value `data` encodes; with `duplicates`, objects that repeated a key are `Duplicated`. Go's syntax
    error as a JSONError otherwise."""
    try:
        if not duplicates:
            return orjson.loads(data)
        return _TRACKING.decode(data.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError) as exc:
        problem = syntax_error(data)
        if problem:
            raise JSONError(problem) from None
        try:  # valid JSON nested deeper than orjson (1,024 levels) or Python's recursion reads
            return nesting.loads_json(data)
        except ValueError:
            raise JSONError(str(exc)) from None


def value_kind(value: Any) -> str:
    """How Go's type errors name a JSON value: `cannot unmarshal <kind> into ...`."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# -- Go's scanner (encoding/json scanner.go): the first syntax error of a document, in its words -------------

def _char(c: int) -> str:
    """quoteChar: a byte as Go's errors quote it."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    return "'" + quote(chr(c))[1:-1] + "'"


class _Scanner:
    """One state per Go state function; `step` answers a byte with an error text or None."""

    def __init__(self) -> None:
        self.stack: list[str] = []  # "key" or "value" of objects, "array" of arrays
        self.state = self.begin_value
        self.end_top = False
        self.error: str | None = None

    def fail(self, c: int, context: str) -> str:
        self.state = lambda c: self.error
        self.error = f"invalid character {_char(c)} {context}"
        return self.error

    def push(self, c: int, kind: str) -> str | None:
        self.stack.append(kind)
        return self.fail(c, "exceeded max depth") if len(self.stack) > MAX_DEPTH else None

    def pop(self) -> None:
        self.stack.pop()
        if not self.stack:
            self.state, self.end_top = self.end_of_top, True
        else:
            self.state = self.end_value

    def begin_value_or_empty(self, c: int) -> str | None:
        if c in _SPACE:
            return None
        if c == ord("]"):
            return self.end_value(c)
        return self.begin_value(c)

    def begin_value(self, c: int) -> str | None:
        if c in _SPACE:
            return None
        ch = chr(c)
        if ch == "{":
            self.state = self.begin_string_or_empty
            return self.push(c, "key")
        if ch == "[":
            self.state = self.begin_value_or_empty
            return self.push(c, "array")
        literal = {'"': self.in_string, "-": self.negative, "0": self.zero, "t": self.word("true", 1),
                   "f": self.word("false", 1), "n": self.word("null", 1)}.get(ch)
        if literal is None and "1" <= ch <= "9":
            literal = self.digits
        if literal is None:
            return self.fail(c, "looking for beginning of value")
        self.state = literal
        return None

    def begin_string_or_empty(self, c: int) -> str | None:
        if c in _SPACE:
            return None
        if c == ord("}"):
            self.stack[-1] = "value"
            return self.end_value(c)
        return self.begin_string(c)

    def begin_string(self, c: int) -> str | None:
        if c in _SPACE:
            return None
        if c == ord('"'):
            self.state = self.in_string
            return None
        return self.fail(c, "looking for beginning of object key string")

    def end_value(self, c: int) -> str | None:
        if not self.stack:
            self.state, self.end_top = self.end_of_top, True
            return self.end_of_top(c)
        if c in _SPACE:
            self.state = self.end_value
            return None
        top = self.stack[-1]
        if top == "key":
            if c == ord(":"):
                self.stack[-1], self.state = "value", self.begin_value
                return None
            return self.fail(c, "after object key")
        if top == "value":
            if c == ord(","):
                self.stack[-1], self.state = "key", self.begin_string
                return None
            if c == ord("}"):
                self.pop()
                return None
            return self.fail(c, "after object key:value pair")
        if c == ord(","):
            self.state = self.begin_value
            return None
        if c == ord("]"):
            self.pop()
            return None
        return self.fail(c, "after array element")

    def end_of_top(self, c: int) -> str | None:
        if c not in _SPACE:
            self.fail(c, "after top-level value")  # reported at the next byte, or at the end
        return None

    def in_string(self, c: int) -> str | None:
        if c == ord('"'):
            self.state = self.end_value
        elif c == ord("\\"):
            self.state = self.in_escape
        elif c < 0x20:
            return self.fail(c, "in string literal")
        return None

    def in_escape(self, c: int) -> str | None:
        if chr(c) in 'bfnrt\\/"':
            self.state = self.in_string
            return None
        if c == ord("u"):
            self.state = self.hex_digits(4)
            return None
        return self.fail(c, "in string escape code")

    def hex_digits(self, left: int) -> Any:
        def step(c: int) -> str | None:
            if chr(c) not in "0123456789abcdefABCDEF":
                return self.fail(c, "in \\u hexadecimal character escape")
            self.state = self.in_string if left == 1 else self.hex_digits(left - 1)
            return None
        return step

    def negative(self, c: int) -> str | None:
        if c == ord("0"):
            self.state = self.zero
            return None
        if ord("1") <= c <= ord("9"):
            self.state = self.digits
            return None
        return self.fail(c, "in numeric literal")

    def digits(self, c: int) -> str | None:
        if ord("0") <= c <= ord("9"):
            return None
        return self.zero(c)

    def zero(self, c: int) -> str | None:
        if c == ord("."):
            self.state = self.dot
            return None
        if c in (ord("e"), ord("E")):
            self.state = self.exponent
            return None
        return self.end_value(c)

    def dot(self, c: int) -> str | None:
        if ord("0") <= c <= ord("9"):
            self.state = self.fraction
            return None
        return self.fail(c, "after decimal point in numeric literal")

    def fraction(self, c: int) -> str | None:
        if ord("0") <= c <= ord("9"):
            return None
        if c in (ord("e"), ord("E")):
            self.state = self.exponent
            return None
        return self.end_value(c)

    def exponent(self, c: int) -> str | None:
        if c in (ord("+"), ord("-")):
            self.state = self.exponent_sign
            return None
        return self.exponent_sign(c)

    def exponent_sign(self, c: int) -> str | None:
        if ord("0") <= c <= ord("9"):
            self.state = self.exponent_digits
            return None
        return self.fail(c, "in exponent of numeric literal")

    def exponent_digits(self, c: int) -> str | None:
        if ord("0") <= c <= ord("9"):
            return None
        return self.end_value(c)

    def word(self, literal: str, at: int) -> Any:
        """`true`, `false`, `null` after their first `at` letters."""
        def step(c: int) -> str | None:
            if c != ord(literal[at]):
                return self.fail(c, f"in literal {literal} (expecting {_char(ord(literal[at]))})")
            self.state = self.end_value if at + 1 == len(literal) else self.word(literal, at + 1)
            return None
        return step


_SPACE = frozenset(b" \t\r\n")


def syntax_error(data: bytes) -> str | None:
    """Go's SyntaxError text for the first error of `data` (checkValid), None when it is valid JSON."""
    scanner = _Scanner()
    for c in data:
        if scanner.state(c) is not None or scanner.error is not None:
            return scanner.error
    if scanner.end_top:
        return None
    scanner.state(ord(" "))
    if scanner.end_top and scanner.error is None:
        return None
    return scanner.error or "unexpected end of JSON input"
