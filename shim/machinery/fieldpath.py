"""Field paths and sets of them, as structured-merge-diff's `fieldpath` package models managedFields.

A path is a tuple of path elements, each in its serialized FieldsV1 form:

- `f:name`                a field of a struct or an entry of a map;
- `k:{"port":80,...}`     an item of an associative list, by its key fields (sorted by name);
- `v:"value"`             an item of a set (an associative list of scalars), by its value;
- `i:3`                   a list item by position (older managedFields; nothing here writes it).

A `Set` is a trie: at each level the elements whose path is a member, and the children under elements. Its
FieldsV1 form is the JSON object upstream stores: `{"f:data": {".": {}, "f:a": {}}}` says that `.data` and
`.data.a` are both members (`.` marks the enclosing element itself; an empty object is a member without
children).
"""
from __future__ import annotations

import functools
import json
from typing import Any, Iterator

import orjson

PathElement = str
Path = tuple[PathElement, ...]
FieldsV1 = dict[str, Any]

_KINDS = ("f", "k", "v", "i")


class InvalidFields(ValueError):
    """A FieldsV1 document or path element that does not parse."""


class UnknownElement(InvalidFields):
    """A path element of a kind this version does not know (`x:...`): upstream skips those."""


def _go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it for path elements: compact, sorted keys, HTML characters escaped."""
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def field(name: str) -> PathElement:
    return "f:" + name


def key(fields: dict[str, Any]) -> PathElement:
    """The element of an associative-list item by its key fields."""
    return "k:" + _go_json(fields)


def value(item: Any) -> PathElement:
    """The element of a set item by its value."""
    return "v:" + _go_json(item)


def index(i: int) -> PathElement:
    return f"i:{i}"


@functools.lru_cache(maxsize=4096)
def canonical(element: str) -> PathElement:
    """A serialized element in the form this module writes (key fields sorted, values re-encoded); raises
    InvalidFields for anything upstream's deserializer would refuse."""
    if len(element) < 2 or element[1] != ":":
        raise InvalidFields(f"invalid path element {element!r}")
    if element[0] not in _KINDS:
        raise UnknownElement(f"unknown path element type {element!r}")
    kind, rest = element[0], element[2:]
    if kind == "f":
        return element
    if kind == "i":
        try:
            return index(int(rest))
        except ValueError:
            raise InvalidFields(f"invalid index in {element!r}") from None
    try:
        parsed = json.loads(rest)
    except ValueError:
        raise InvalidFields(f"invalid JSON in {element!r}") from None
    if kind == "k":
        if not isinstance(parsed, dict):
            raise InvalidFields(f"a key must be a JSON object: {element!r}")
        return key(parsed)
    return value(parsed)


def render(path: Path) -> str:
    """A path as upstream prints it in conflicts: `.spec.ports[port=80,protocol="TCP"].name`, `[="a"]`, `[0]`."""
    out = []
    for element in path:
        kind, rest = element[0], element[2:]
        if kind == "f":
            out.append("." + rest)
        elif kind == "k":
            fields = json.loads(rest)
            out.append("[" + ",".join(f"{k}={_go_json(v)}" for k, v in fields.items()) + "]")
        elif kind == "v":
            out.append("[=" + rest + "]")
        else:
            out.append("[" + rest + "]")
    return "".join(out)


class Set:
    """A set of paths (structured-merge-diff's fieldpath.Set)."""

    __slots__ = ("members", "children")

    def __init__(self) -> None:
        self.members: set[PathElement] = set()
        self.children: dict[PathElement, Set] = {}

    @classmethod
    def of(cls, *paths: Path) -> "Set":
        out = cls()
        for path in paths:
            out.insert(path)
        return out

    def insert(self, path: Path) -> None:
        node = self
        for element in path[:-1]:
            child = node.children.get(element)
            if child is None:
                child = node.children[element] = Set()
            node = child
        if path:
            node.members.add(path[-1])

    def has(self, path: Path) -> bool:
        node: Set | None = self
        for element in path[:-1]:
            node = node.children.get(element) if node is not None else None
        return node is not None and bool(path) and path[-1] in node.members

    def empty(self) -> bool:
        return not self.members and all(child.empty() for child in self.children.values())

    def copy(self) -> "Set":
        out = Set()
        out.members = set(self.members)
        out.children = {k: v.copy() for k, v in self.children.items()}
        return out

    def union(self, other: "Set") -> "Set":
        out = Set()
        out.members = self.members | other.members
        for element in self.children.keys() | other.children.keys():
            mine, theirs = self.children.get(element), other.children.get(element)
            if mine is None:
                assert theirs is not None
                out.children[element] = theirs.copy()
            elif theirs is None:
                out.children[element] = mine.copy()
            else:
                out.children[element] = mine.union(theirs)
        return out

    def intersection(self, other: "Set") -> "Set":
        out = Set()
        out.members = self.members & other.members
        for element, mine in self.children.items():
            theirs = other.children.get(element)
            if theirs is not None:
                both = mine.intersection(theirs)
                if not both.empty():
                    out.children[element] = both
        return out

    def difference(self, other: "Set") -> "Set":
        """The paths of self that are not in other (children of a removed member stay)."""
        out = Set()
        out.members = self.members - other.members
        for element, mine in self.children.items():
            theirs = other.children.get(element)
            rest = mine if theirs is None else mine.difference(theirs)
            if not rest.empty():
                out.children[element] = rest.copy() if theirs is None else rest
        return out

    def recursive_difference(self, other: "Set") -> "Set":
        """The paths of self that neither are in other nor lie under a member of other."""
        out = Set()
        out.members = self.members - other.members
        for element, mine in self.children.items():
            if element in other.members:
                continue
            theirs = other.children.get(element)
            rest = mine.copy() if theirs is None else mine.recursive_difference(theirs)
            if not rest.empty():
                out.children[element] = rest
        return out

    def with_prefix(self, element: PathElement) -> "Set":
        """The paths under `element`, relative to it."""
        return self.children.get(element) or Set()

    def paths(self, prefix: Path = ()) -> Iterator[Path]:
        """Every member path, in sorted order."""
        for element in sorted(self.members | self.children.keys()):
            if element in self.members:
                yield prefix + (element,)
            child = self.children.get(element)
            if child is not None:
                yield from child.paths(prefix + (element,))

    def leaves(self) -> "Set":
        """The members that have no member below them."""
        out = Set()
        for element in self.members:
            child = self.children.get(element)
            if child is None or child.empty():
                out.members.add(element)
        for element, child in self.children.items():
            sub = child.leaves()
            if not sub.empty():
                out.children[element] = sub
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Set) and self.to_fields() == other.to_fields()

    def __repr__(self) -> str:
        return f"Set({self.to_fields()!r})"

    # -- FieldsV1 ---------------------------------------------------------------------------------------------

    def to_fields(self) -> FieldsV1:
        """The FieldsV1 form (keys in sorted order, `.` first)."""
        out: FieldsV1 = {}
        for element in sorted(self.members | self.children.keys()):
            child = self.children.get(element)
            sub = child.to_fields() if child is not None and not child.empty() else {}
            if element in self.members and sub:
                sub = {".": {}, **sub}
            if element in self.members or sub:
                out[element] = sub
        return out

    @classmethod
    def from_fields(cls, fields: Any) -> "Set":
        """Parse FieldsV1; raises InvalidFields where upstream's decoder fails. Elements of unknown kinds are
        dropped with what is under them, and an element with nothing (else) under it is a member."""
        if not isinstance(fields, dict):
            raise InvalidFields("FieldsV1 must be a JSON object")
        out = cls()
        for raw, child in fields.items():
            if raw == ".":
                continue
            try:
                element = canonical(raw)
            except UnknownElement:
                continue
            if not isinstance(child, dict):
                raise InvalidFields(f"the value of {raw!r} must be a JSON object")
            sub = cls.from_fields(child)
            if "." in child or sub.empty():
                out.members.add(element)
            if not sub.empty():
                existing = out.children.get(element)
                out.children[element] = sub if existing is None else existing.union(sub)
        return out
