"""Field selectors: `=`, `==`, `!=` joined by commas, matched against a kind's selectable fields."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Mapping

from shim.machinery.errors import bad_request
from shim.machinery.golang import quote


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    equal: bool
    value: str

    def predicate(self) -> Callable[[Mapping[str, str]], bool]:
        field, value = self.field, self.value
        if self.equal:
            return lambda fields: fields.get(field) == value
        return lambda fields: fields.get(field) != value


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...]

    @cached_property
    def matches(self) -> Callable[[Mapping[str, str]], bool]:
        """Whether fields satisfy every requirement: compiled once, as a list tests it against every object."""
        tests = tuple(r.predicate() for r in self.requirements)
        if not tests:
            return lambda fields: True
        if len(tests) == 1:
            return tests[0]
        return lambda fields: all(test(fields) for test in tests)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def value_of(self, field: str) -> str | None:
        """The value an equality requirement pins `field` to, if any (for fast lookups)."""
        for r in self.requirements:
            if r.field == field and r.equal:
                return r.value
        return None


EVERYTHING = FieldSelector(())


def _split(text: str) -> list[str]:
    """Split on commas not escaped with a backslash."""
    parts, cur, escaped = [], [], False
    for ch in text:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            cur.append(ch)
            escaped = True
        elif ch == ",":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\")


def parse_field_selector(text: str | None) -> FieldSelector:
    if not text or not text.strip():
        return EVERYTHING
    reqs = []
    for part in _split(text):
        part = part.strip()
        if not part:
            continue
        for op, equal in (("!=", False), ("==", True), ("=", True)):
            idx = part.find(op)
            if idx > 0:
                reqs.append(FieldRequirement(part[:idx].strip(), equal, _unescape(part[idx + len(op):].strip())))
                break
        else:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
    return FieldSelector(tuple(reqs))


#: the fields a kind without a field label conversion of its own may be selected by
#: (upstream's DefaultMetaV1FieldSelectorConversion)
META_LABELS = frozenset({"metadata.name", "metadata.namespace"})


def check_supported(selector: FieldSelector, labels: frozenset[str] | None) -> None:
    """400 for a field the kind cannot be selected by, in the words of the conversion that refuses it: the kind's
    own (`labels`: the fields upstream's conversion function for the kind lists) or, for a kind without one
    (None), upstream's default."""
    for r in selector.requirements:
        if labels is None and r.field not in META_LABELS:
            raise bad_request(f'{quote(r.field)} is not a known field selector: only "metadata.name", '
                              '"metadata.namespace"')
        if labels is not None and r.field not in labels:
            raise bad_request(f"field label not supported: {r.field}")
