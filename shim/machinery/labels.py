"""Label selectors in the full grammar of apimachinery pkg/labels/selector.go.

`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a`, `!a`, joined by commas (AND). `!=` and `notin`
match objects that lack the key, as upstream.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Mapping

from shim.machinery.errors import bad_request

_NO_LABELS: Mapping[str, str] = {}
_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
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


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise bad_request(f"unable to parse requirement: invalid label selector: {text!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _check_key(key: str, selector: str) -> str:
    if not _KEY.match(key) or len(key) > 316:
        raise bad_request(f"unable to parse requirement: values[0][{key}]: Invalid value: \"{key}\": "
                          f"name part must consist of alphanumeric characters, '-', '_' or '.'")
    return key


def _check_value(value: str) -> str:
    if len(value) > 63 or not _VALUE.match(value):
        raise bad_request(f"unable to parse requirement: values[0]: Invalid value: \"{value}\": a valid label "
                          f"must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                          f"and must start and end with an alphanumeric character")
    return value


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a selector string; a syntax error is a 400 BadRequest as upstream answers."""
    if not text or not text.strip():
        return EVERYTHING
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def fail() -> None:
        raise bad_request(f"unable to parse requirement: found '{toks[i] if i < len(toks) else ''}', "
                          f"expected: identifier or operator in selector {text!r}")

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            if i >= len(toks):
                fail()
            reqs.append(Requirement(_check_key(toks[i], text), "!", frozenset()))
            i += 1
        else:
            key = toks[i]
            if key in ("=", "==", "!=", "(", ")", ","):
                fail()
            _check_key(key, text)
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append(Requirement(key, "exists", frozenset()))
            elif toks[i] in ("=", "==", "!="):
                op = "!=" if toks[i] == "!=" else "="
                i += 1
                value = ""
                if i < len(toks) and toks[i] not in (",", "(", ")", "=", "==", "!=", "!"):
                    value = toks[i]
                    i += 1
                reqs.append(Requirement(key, op, frozenset([_check_value(value)])))
            elif toks[i] in ("in", "notin"):
                op = toks[i]
                i += 1
                if i >= len(toks) or toks[i] != "(":
                    fail()
                i += 1
                values: list[str] = []
                expect_value = True
                while i < len(toks) and toks[i] != ")":
                    if toks[i] == ",":
                        if expect_value:
                            values.append("")
                        expect_value = True
                    else:
                        if not expect_value:
                            fail()
                        values.append(_check_value(toks[i]))
                        expect_value = False
                    i += 1
                if i >= len(toks):
                    fail()
                if expect_value and values:
                    values.append("")
                i += 1
                if not values:
                    raise bad_request(f"unable to parse requirement: for 'in', 'notin' operators, values set "
                                      f"can't be empty in selector {text!r}")
                reqs.append(Requirement(key, op, frozenset(values)))
            else:
                fail()
        if i < len(toks):
            if toks[i] != ",":
                fail()
            i += 1
            if i >= len(toks):
                fail()
    return LabelSelector(tuple(reqs))


def selector_from_match(match_labels: Mapping[str, str] | None,
                        match_expressions: list[dict[str, Any]] | None = None) -> LabelSelector:
    """A metav1.LabelSelector (matchLabels/matchExpressions) as a LabelSelector."""
    reqs = [Requirement(k, "=", frozenset([v])) for k, v in sorted((match_labels or {}).items())]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in match_expressions or []:
        reqs.append(Requirement(expr["key"], ops[expr["operator"]], frozenset(expr.get("values") or [])))
    return LabelSelector(tuple(reqs))
