"""Label selectors in the full grammar of apimachinery pkg/labels/selector.go.

`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, `a>1`, `a<1`, joined by commas (AND). `!=`
and `notin` match objects that lack the key, as upstream.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Mapping

from shim.machinery import names
from shim.machinery.errors import bad_request
from shim.machinery.golang import quote

_NO_LABELS: Mapping[str, str] = {}


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: frozenset[str]

    def predicate(self) -> Callable[[Mapping[str, str]], bool]:
        """This requirement as one closure over its key and values (absent keys read as None, no value)."""
        key, values = self.key, self.values
        if self.op == "exists":
            return lambda labels: key in labels
        if self.op == "!":
            return lambda labels: key not in labels
        if self.op in ("=", "in"):
            return lambda labels: labels.get(key) in values
        if self.op in ("gt", "lt"):
            # a label that is no integer matches neither way, as upstream
            bound, above = _int64(next(iter(values))), self.op == "gt"

            def compares(labels: Mapping[str, str]) -> bool:
                found = _int64(labels[key]) if key in labels else None
                return found is not None and bound is not None and (found > bound if above else found < bound)
            return compares
        return lambda labels: labels.get(key) not in values  # "!=", "notin"


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...]

    @cached_property
    def matches(self) -> Callable[[Mapping[str, str] | None], bool]:
        """Whether labels satisfy every requirement: compiled once, as a list tests it against every object."""
        tests = tuple(r.predicate() for r in self.requirements)
        if not tests:
            return lambda labels: True
        if len(tests) == 1:
            only = tests[0]
            return lambda labels: only(labels or _NO_LABELS)
        return lambda labels: all(test(labels or _NO_LABELS) for test in tests)

    @property
    def empty(self) -> bool:
        return not self.requirements


EVERYTHING = LabelSelector(())

# The lexer and parser of upstream's labels.Parse, so that a selector means and fails the same: its tokens, its
# two contexts (`in`/`notin` are values where a value may stand) and its error messages word for word.
_END, _ID, _ERROR = "end of string", "identifier", "error"
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_LITERALS = frozenset({")", ",", "!", "==", "=", ">", "in", "<", "!=", "notin", "("})
_OPERATORS = {"in": "in", "notin": "notin", "=": "=", "==": "=", "!=": "!=", ">": "gt", "<": "lt"}
_BINARY = "in, notin, =, ==, !=, gt, lt"


class _SyntaxError(Exception):
    """A parse error inside one requirement (upstream prefixes it with `unable to parse requirement: `)."""


def _lex(text: str) -> list[tuple[str, str]]:
    """(token, literal) pairs up to the end of the string; a NUL ends the string, as upstream's lexer reads it."""
    text = text.split("\0", 1)[0]
    items: list[tuple[str, str]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        if pos == len(text):
            items.append((_END, ""))
            return items
        start = pos
        if text[pos] in _SPECIAL:
            # the longest run of symbols that is still a token (`!=` before `!`)
            token = ""
            while pos < len(text) and text[pos] in _SPECIAL:
                if text[start:pos + 1] in _LITERALS:
                    token = text[start:pos + 1]
                elif token:
                    break
                pos += 1
            if not token:
                items.append((_ERROR, f"error expected: keyword found '{text[start:pos]}'"))
                continue
            pos = start + len(token)
            items.append((token, token))
        else:
            while pos < len(text) and text[pos] not in _SPECIAL and text[pos] not in _WHITESPACE:
                pos += 1
            word = text[start:pos]
            items.append((word if word in _LITERALS else _ID, word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.position = 0

    def lookahead(self, values: bool = True) -> tuple[str, str]:
        """The next token; where a value may stand (`values`), `in` and `notin` are identifiers."""
        token, literal = self.items[self.position]
        return (_ID if values and token in ("in", "notin") else token), literal

    def consume(self, values: bool = True) -> tuple[str, str]:
        item = self.lookahead(values)
        self.position += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self.lookahead()
            if token == _END:
                return requirements
            if token not in (_ID, "!"):
                raise bad_request(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except _SyntaxError as err:
                raise bad_request(f"unable to parse requirement: {err}") from None
            token, literal = self.consume()
            if token == _END:
                return requirements
            if token != ",":
                raise bad_request(f"found '{literal}', expected: ',' or 'end of string'")
            token, literal = self.lookahead()
            if token not in (_ID, "!"):
                raise bad_request(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        negated = self.lookahead()[0] == "!"
        if negated:
            self.position += 1
        token, key = self.consume()
        if token != _ID:
            raise _SyntaxError(f"found '{key}', expected: identifier")
        if problems := names.label_key(key):
            raise _SyntaxError(f"<nil>: Invalid value: {quote(key)}: {'; '.join(problems)}")
        if negated or self.lookahead()[0] in (_END, ","):
            return _requirement(key, "!" if negated else "exists", [])
        token, literal = self.consume(values=False)
        if token not in _OPERATORS:
            raise _SyntaxError(f"found '{literal}', expected: {_BINARY}")
        op = _OPERATORS[token]
        return _requirement(key, op, self.set_values() if op in ("in", "notin") else self.exact_value())

    def set_values(self) -> list[str]:
        token, literal = self.consume()
        if token != "(":
            raise _SyntaxError(f"found '{literal}' expected: '('")
        token, literal = self.lookahead()
        if token == ")":  # `()` is the empty value
            self.position += 1
            return [""]
        if token not in (_ID, ","):
            raise _SyntaxError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self.identifiers()
        self.position += 1  # the `)` identifiers() stopped at
        return sorted(values)

    def identifiers(self) -> set[str]:
        """A comma-separated list of possibly empty values, up to (not past) its `)`."""
        values: set[str] = set()
        while True:
            token, literal = self.consume()
            if token == _ID:
                values.add(literal)
                after, literal = self.lookahead()
                if after == ")":
                    return values
                if after != ",":
                    raise _SyntaxError(f"found '{literal}', expected: ',' or ')'")
            elif token == ",":
                if not values:
                    values.add("")  # `(,`
                after, _ = self.lookahead()
                if after == ")":
                    values.add("")  # `,)`
                    return values
                if after == ",":
                    self.position += 1
                    values.add("")  # `,,`
            else:
                raise _SyntaxError(f"found '{literal}', expected: ',', or identifier")

    def exact_value(self) -> list[str]:
        if self.lookahead()[0] in (_END, ","):
            return [""]
        token, literal = self.consume()
        if token != _ID:
            raise _SyntaxError(f"found '{literal}', expected: identifier")
        return [literal]


def _requirement(key: str, op: str, values: list[str]) -> Requirement:
    """Upstream's NewRequirement: the values checked, every problem reported (an aggregate of field errors)."""
    problems = []
    if op in ("gt", "lt"):
        problems += [f"values[{i}]: Invalid value: {quote(v)}: for 'Gt', 'Lt' operators, the value must be an "
                     f"integer" for i, v in enumerate(values) if _int64(v) is None]
    for i, value in enumerate(values):
        if errs := names.label_value(value):
            problems.append(f"values[{i}][{key}]: Invalid value: {quote(value)}: {'; '.join(errs)}")
    problems = list(dict.fromkeys(problems))
    if problems:
        raise _SyntaxError(problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]")
    return Requirement(key, op, frozenset(values))


def _int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64), None where it fails."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -(1 << 63) <= value < (1 << 63) else None


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a selector string; a syntax error is a 400 BadRequest in upstream's words."""
    if not text:
        return EVERYTHING
    return LabelSelector(tuple(_Parser(text).parse()))


def selector_from_match(match_labels: Mapping[str, str] | None,
                        match_expressions: list[dict[str, Any]] | None = None) -> LabelSelector:
    """A metav1.LabelSelector (matchLabels/matchExpressions) as a LabelSelector."""
    reqs = [Requirement(k, "=", frozenset([v])) for k, v in sorted((match_labels or {}).items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in match_expressions or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], frozenset(expr.get("values") or [])))
    return LabelSelector(tuple(reqs))
