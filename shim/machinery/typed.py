"""Objects walked along their schema, as structured-merge-diff's `typed` package does for server-side apply.

One mechanism for built-in kinds and custom resources: a schema is an OpenAPI v3 node (a built-in definition,
or a CRD version's openAPIV3Schema), turned into structured-merge-diff's type model the way kube-openapi's
`schemaconv` does it:

- an object with `properties` is a struct (its fields typed, and each field's `default` kept: it fills the
  missing key fields of a list-map item); one with `additionalProperties` a map; one with neither (or with
  `x-kubernetes-preserve-unknown-fields`) takes unknown keys as *deduced* values; `x-kubernetes-map-type:
  atomic` makes it one leaf;
- an array is atomic unless `x-kubernetes-list-type` says `set` (items by value) or `map` (items by their
  `x-kubernetes-list-map-keys`); without a list type, `x-kubernetes-patch-strategy: merge` with a merge key
  keys items by it;
- Quantity is a scalar, RawExtension an atomic untyped value, a node without `type` any of the three.

On that model: the field set of a value (`to_field_set`), what changed between two values (`compare`), an
applied configuration merged into a live object (`merge`) and the removal of owned paths (`remove_items`).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from shim.machinery import fieldpath, gofmt, golang
from shim.machinery.fieldpath import Path, PathElement, Set

Obj = dict[str, Any]
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension"
REF_PREFIX = "#/components/schemas/"


class _Absent:
    """A value that is not there at all (unlike JSON null)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(eq=False)
class MapType:
    fields: dict[str, "Atom"] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    elem: "Atom | None" = None
    atomic: bool = False


@dataclass(eq=False)
class ListType:
    elem: "Atom | None" = None
    atomic: bool = True
    keys: tuple[str, ...] = ()


@dataclass(eq=False)
class Atom:
    """One type: a scalar, a map (struct or map), a list, or several of them (untyped and deduced values)."""
    #: the scalar's kind (STRING, NUMERIC, BOOLEAN, UNTYPED), "" for none
    scalar: str = ""
    map: MapType | None = None
    list: ListType | None = None

    def deduce(self, value: Any) -> "Atom":
        """The part of the type that fits the value (structured-merge-diff's deduceAtom)."""
        if isinstance(value, dict):
            return Atom(map=self.map) if self.map is not None else self
        if isinstance(value, list):
            return Atom(list=self.list) if self.list is not None else self
        if value is None or value is ABSENT:
            return self
        return Atom(scalar=self.scalar) if self.scalar else self

    def same_kind(self, other: "Atom") -> bool:
        return (self.scalar, self.map, self.list) == (other.scalar, other.map, other.list)


STRING, NUMERIC, BOOLEAN, UNTYPED_SCALAR = "string", "numeric", "boolean", "untyped"


def _scalar_kind(kind: str, format: Any) -> str:
    """kube-openapi's convertPrimitive: a string with a format (int-or-string, date-time, ...) is untyped."""
    if kind in ("integer", "number"):
        return NUMERIC
    if kind == "boolean":
        return BOOLEAN
    if kind == "string" and format in (None, "", "byte"):
        return STRING
    return UNTYPED_SCALAR


def _untyped_atomic() -> Atom:
    atom = Atom(scalar=UNTYPED_SCALAR)
    atom.list = ListType(elem=atom, atomic=True)
    atom.map = MapType(elem=atom, atomic=True)
    return atom


UNTYPED = _untyped_atomic()
DEDUCED = Atom(scalar=UNTYPED_SCALAR, list=ListType(elem=UNTYPED, atomic=True))
DEDUCED.map = MapType(elem=DEDUCED)


# -- from OpenAPI ---------------------------------------------------------------------------------------------


class Converter:
    """OpenAPI v3 nodes to types; `$ref`s to `#/components/schemas/NAME` are looked up with `definition`."""

    def __init__(self, definition: Callable[[str], Obj | None]) -> None:
        self.definition = definition
        self.named: dict[tuple[str, bool], Atom] = {}

    def named_type(self, name: str, preserve: bool) -> Atom:
        cached = self.named.get((name, preserve))
        if cached is not None:
            return cached
        if name == QUANTITY:
            atom = Atom(scalar=UNTYPED_SCALAR)
        elif name == RAW_EXTENSION:
            atom = UNTYPED
        else:
            atom = Atom()
            self.named[(name, preserve)] = atom  # before converting: definitions refer to themselves
            node = self.definition(name)
            if node is not None:
                converted = self.convert(node, preserve)
                atom.scalar, atom.map, atom.list = converted.scalar, converted.map, converted.list
            else:
                atom.scalar, atom.map, atom.list = DEDUCED.scalar, DEDUCED.map, DEDUCED.list
        self.named[(name, preserve)] = atom
        return atom

    def ref(self, node: Obj, preserve: bool) -> Atom:
        """A field's type: a reference (plain or a one-element allOf, with a map-type override) or inline."""
        target = node.get("$ref")
        all_of = node.get("allOf")
        if not isinstance(target, str) and isinstance(all_of, list) and len(all_of) == 1 \
                and isinstance(all_of[0], dict):
            target = all_of[0].get("$ref")
        if isinstance(target, str) and target.startswith(REF_PREFIX):
            atom = self.named_type(target[len(REF_PREFIX):], preserve)
            override = node.get("x-kubernetes-map-type")
            if override in ("atomic", "granular") and atom.map is not None:
                return Atom(scalar=atom.scalar, list=atom.list,
                            map=MapType(atom.map.fields, atom.map.defaults, atom.map.elem, override == "atomic"))
            return atom
        return self.convert(node, preserve)

    def convert(self, node: Obj, preserve: bool = False) -> Atom:
        if node.get("x-kubernetes-preserve-unknown-fields") is True:
            preserve = True
        kind = node.get("type")
        if isinstance(kind, list):
            kind = next((t for t in kind if t != "null"), "")
        if not kind:
            return Atom(scalar=UNTYPED_SCALAR, list=self._list(node, preserve), map=self._map(node, preserve))
        if kind == "object":
            return Atom(map=self._map(node, preserve))
        if kind == "array":
            return Atom(list=self._list(node, preserve))
        return Atom(scalar=_scalar_kind(kind, node.get("format")))

    def _map(self, node: Obj, preserve: bool) -> MapType:
        properties = node.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        out = MapType(atomic=node.get("x-kubernetes-map-type") == "atomic")
        for name, member in properties.items():
            if isinstance(member, dict):
                out.fields[name] = self.ref(member, preserve)
                if "default" in member:
                    out.defaults[name] = member["default"]
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out.elem = self.ref(extra, preserve)
        elif extra is True or (extra is None and (preserve or not properties)):
            out.elem = DEDUCED
        return out

    def _list(self, node: Obj, preserve: bool) -> ListType:
        list_type = node.get("x-kubernetes-list-type")
        items = node.get("items")
        elem = self.ref(items, preserve) if isinstance(items, dict) else UNTYPED
        if list_type == "set":
            return ListType(elem, atomic=False)
        if list_type == "map":
            return ListType(elem, atomic=False, keys=tuple(node.get("x-kubernetes-list-map-keys") or ()))
        if list_type is None and node.get("x-kubernetes-patch-strategy") in ("merge", "merge,retainKeys"):
            merge_key = node.get("x-kubernetes-patch-merge-key")
            return ListType(elem, atomic=False, keys=(merge_key,) if isinstance(merge_key, str) else ())
        return ListType(elem, atomic=True)


_builtin: Converter | None = None
_builtin_lock = threading.Lock()


def builtin_type(definition_name: str, definition: Callable[[str], Obj | None]) -> Atom:
    """The type of a built-in definition (`io.k8s.api.core.v1.Pod`); definitions are converted once."""
    global _builtin
    with _builtin_lock:
        if _builtin is None:
            _builtin = Converter(definition)
        return _builtin.named_type(definition_name, False)


# -- list items -----------------------------------------------------------------------------------------------


def item_element(list_type: ListType, item: Any) -> PathElement | None:
    """The path element of an associative list's item: its key fields (missing ones from their schema
    defaults) or, in a set, its value. None where upstream refuses the item (a set of maps, an item without
    any key)."""
    if list_type.keys:
        if not isinstance(item, dict):
            return None
        elem_map = list_type.elem.map if list_type.elem is not None else None
        keys: Obj = {}
        for name in list_type.keys:
            if name in item:
                keys[name] = item[name]
            elif elem_map is not None and elem_map.defaults.get(name) is not None:
                keys[name] = elem_map.defaults[name]
        return fieldpath.key(keys) if keys else None
    if isinstance(item, (dict, list)) or item is None:
        return None
    return fieldpath.value(item)


def _child_type(atom: Atom, name: str) -> Atom:
    assert atom.map is not None
    return atom.map.fields.get(name) or atom.map.elem or DEDUCED


def _as_map(value: Any) -> Obj | None:
    return value if isinstance(value, dict) else None


def _as_list(value: Any) -> list[Any] | None:
    return value if isinstance(value, list) else None


# -- field sets -----------------------------------------------------------------------------------------------


def to_field_set(value: Any, atom: Atom) -> Set:
    """Every path the value sets: scalars, atomic values, list items, map entries that are not struct fields,
    and fields holding null or an empty map (structured-merge-diff's ToFieldSet)."""
    out = Set()
    _to_set(value, atom, (), out)
    return out


def _to_set(value: Any, atom: Atom, path: Path, out: Set) -> None:
    atom = atom.deduce(value)
    if atom.map is not None:
        if atom.map.atomic:
            out.insert(path)
            return
        if not isinstance(value, dict):
            return
        for name, child in value.items():
            child_path = path + (fieldpath.field(name),)
            _to_set(child, _child_type(atom, name), child_path, out)
            if child is None or child == {} or name not in atom.map.fields:
                out.insert(child_path)
    elif atom.scalar:
        out.insert(path)
    elif atom.list is not None:
        if atom.list.atomic:
            out.insert(path)
            return
        if not isinstance(value, list):
            return
        elements = [item_element(atom.list, item) for item in value]
        seen: dict[PathElement, int] = {}
        for element in elements:
            if element is not None:
                seen[element] = seen.get(element, 0) + 1
        elem = atom.list.elem or DEDUCED
        for element, item in zip(elements, value, strict=True):
            if element is None:
                continue
            if seen[element] > 1:  # duplicates are owned as one item, not field by field
                out.insert(path + (element,))
                continue
            _to_set(item, elem, path + (element,), out)
            out.insert(path + (element,))


def validate(value: Any, atom: Atom) -> list[tuple[Path, str]]:
    """What converting an applied configuration to a typed value finds wrong, worded as structured-merge-diff's
    validation words it: values of the wrong type, fields a struct does not declare (in each map the first
    one: upstream stops walking a map there; maps in key order here, Go's map order there), list items an
    associative list cannot key and duplicated keys. Walked with an explicit stack, and not below a value of
    an untyped or deduced type (anything fits those): a configuration may nest thousands of levels deep."""
    out: list[tuple[Path, str]] = []
    #: a value to walk with its type, or (in place of the type) a problem found while walking its parent
    stack: list[tuple[Any, Atom | str, Path]] = [(value, atom, ())]
    while stack:
        value, declared, path = stack.pop()
        if isinstance(declared, str):
            out.append((path, declared))
            continue
        if value is None or declared is DEDUCED or declared is UNTYPED:
            continue
        atom = declared.deduce(value)
        if atom.map is not None:
            if not isinstance(value, dict):
                out.append((path, f"expected map, got &{{{gofmt.value(value)}}}"))
                continue
            children: list[tuple[Any, Atom | str, Path]] = []
            for name in sorted(value):
                child_path = path + (fieldpath.field(name),)
                if name not in atom.map.fields and atom.map.elem is None:
                    children.append((None, "field not declared in schema", child_path))
                    break
                children.append((value[name], _child_type(atom, name), child_path))
            stack.extend(reversed(children))
        elif atom.scalar:
            problem = _scalar_problem(atom.scalar, value)
            if problem:
                out.append((path, problem))
        elif atom.list is not None:
            if not isinstance(value, list):
                out.append((path, f"expected list, got &{{{gofmt.value(value)}}}"))
                continue
            stack.extend(reversed(_list_items(atom.list, value, path)))
    return out


def _scalar_problem(kind: str, value: Any) -> str | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == NUMERIC and not number:
        return f"expected numeric (int or float), got {gofmt.go_type(value)}"
    if kind == STRING and not isinstance(value, str):
        return f"expected string, got &value.valueUnstructured{{Value:{gofmt.syntax(value)}}}"
    if kind == BOOLEAN and not isinstance(value, bool):
        return f"expected boolean, got &{{{gofmt.value(value)}}}"
    if kind == UNTYPED_SCALAR and isinstance(value, (dict, list)):
        return f"expected any scalar, got &{{{gofmt.value(value)}}}"
    return None


def _list_items(list_type: ListType, items: list[Any], path: Path) -> list[tuple[Any, Atom | str, Path]]:
    """A list's items with their types and paths, in order with what is wrong with the list itself: a key
    that comes twice (before that item), an item its associative list cannot key (the last: upstream stops
    there)."""
    elem = list_type.elem or DEDUCED
    if list_type.atomic:
        return [(item, elem, path + (fieldpath.index(i),)) for i, item in enumerate(items)]
    out: list[tuple[Any, Atom | str, Path]] = []
    seen: set[PathElement] = set()
    for i, item in enumerate(items):
        element = item_element(list_type, item)
        if element is None:
            out.append((None, f"element {i}: {_unkeyable(list_type, item)}", path))
            break
        if element in seen:
            out.append((None, f"duplicate entries for key {fieldpath.render((element,))}", path))
        seen.add(element)
        out.append((item, elem, path + (element,)))
    return out


def _unkeyable(list_type: ListType, item: Any) -> str:
    """Why an associative list has no path element for `item` (structured-merge-diff's words)."""
    if list_type.keys:
        if item is None:
            return "associative list with keys may not have a null element"
        if not isinstance(item, dict):
            return "associative list with keys may not have non-map elements"
        keys = " ".join(golang.quote(k) for k in list_type.keys)
        return (f"associative list with keys has an element that omits all key fields [{keys}] (and doesn't "
                f"have default values for any key fields)")
    if isinstance(item, dict):
        return "associative list without keys has an element that's a map type"
    if isinstance(item, list):
        return "not supported: associative list with lists as elements"
    return "associative list without keys has an element that's an explicit null"


def ensure_named_fields_are_members(fields: Set, atom: Atom) -> Set:
    """`fields` with every struct field that has paths under it made a member itself (what prune removes)."""
    out = Set()
    out.members = set(fields.members)
    for element, child in fields.children.items():
        child_type: Atom | None = None
        if element.startswith("f:") and atom.map is not None:
            name = element[2:]
            if name in atom.map.fields:
                out.members.add(element)
            child_type = _child_type(atom, name)
        elif element.startswith("k:") and atom.list is not None:
            child_type = atom.list.elem
        out.children[element] = ensure_named_fields_are_members(child, child_type or Atom())
    return out


# -- compare --------------------------------------------------------------------------------------------------


@dataclass
class Comparison:
    added: Set = field(default_factory=Set)
    modified: Set = field(default_factory=Set)
    removed: Set = field(default_factory=Set)

    def same(self) -> bool:
        return self.added.empty() and self.modified.empty() and self.removed.empty()

    def filtered(self, keep: Callable[[Set], Set]) -> "Comparison":
        return Comparison(keep(self.added), keep(self.modified), keep(self.removed))


def compare(lhs: Any, rhs: Any, atom: Atom) -> Comparison:
    """What `rhs` added, modified and removed relative to `lhs`: every path present on one side only, at any
    depth, and the leaves (scalars, atomic values) whose values differ (structured-merge-diff's Compare)."""
    out = Comparison()
    _Compare(out).node(lhs, rhs, atom, ())
    return out


class _Compare:
    def __init__(self, out: Comparison) -> None:
        self.out = out

    def node(self, lhs: Any, rhs: Any, atom: Atom, path: Path) -> None:
        left, right = atom.deduce(lhs), atom.deduce(rhs)
        if rhs is ABSENT:
            leaf = self.handle(left, lhs, rhs, path)
        elif lhs is ABSENT or left.same_kind(right):
            leaf = self.handle(right, lhs, rhs, path)
        else:
            self.handle(left, lhs, rhs, path)
            leaf = self.handle(right, lhs, rhs, path)
        if not leaf:
            if lhs is ABSENT:
                self.out.added.insert(path)
            elif rhs is ABSENT:
                self.out.removed.insert(path)

    def handle(self, atom: Atom, lhs: Any, rhs: Any, path: Path) -> bool:
        """Compare along one atom; True when the node was a leaf (its own add/remove already recorded)."""
        if atom.map is not None:
            left, right = _as_map(lhs), _as_map(rhs)
            if atom.map.atomic or (not left and not right):
                return self.leaf(lhs, rhs, path)
            for name in _zip_keys(left or {}, right or {}):
                self.node((left or {}).get(name, ABSENT), (right or {}).get(name, ABSENT),
                          _child_type(atom, name), path + (fieldpath.field(name),))
            return False
        if atom.scalar:
            return self.leaf(lhs, rhs, path)
        if atom.list is not None:
            left_list, right_list = _as_list(lhs), _as_list(rhs)
            if atom.list.atomic or (not left_list and not right_list):
                return self.leaf(lhs, rhs, path)
            self.items(atom.list, left_list or [], right_list or [], path)
        return False

    def leaf(self, lhs: Any, rhs: Any, path: Path) -> bool:
        if lhs is ABSENT:
            self.out.added.insert(path)
        elif rhs is ABSENT:
            self.out.removed.insert(path)
        elif not equal(lhs, rhs):
            self.out.modified.insert(path)
        return True

    def items(self, list_type: ListType, lhs: list[Any], rhs: list[Any], path: Path) -> None:
        order: list[PathElement] = []
        left: dict[PathElement, list[Any]] = {}
        right: dict[PathElement, list[Any]] = {}
        for items, index in ((lhs, left), (rhs, right)):
            for item in items:
                element = item_element(list_type, item)
                if element is None:
                    continue
                if element not in left and element not in right:
                    order.append(element)
                index.setdefault(element, []).append(item)
        elem = list_type.elem or DEDUCED
        for element in order:
            mine, theirs = left.get(element, []), right.get(element, [])
            here = path + (element,)
            if len(mine) <= 1 and len(theirs) <= 1:
                self.node(mine[0] if mine else ABSENT, theirs[0] if theirs else ABSENT, elem, here)
            elif len(mine) >= 2 and len(theirs) >= 2:
                if not equal(mine, theirs):
                    self.out.modified.insert(here)
            elif len(mine) >= 2:
                if theirs:
                    self.node(ABSENT, theirs[0], elem, here)
                self.out.removed.insert(here)
            else:
                if mine:
                    self.node(mine[0], ABSENT, elem, here)
                self.out.added.insert(here)


def equal(a: Any, b: Any) -> bool:
    """JSON equality where true is not 1 (Python's == says it is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _zip_keys(left: Obj, right: Obj) -> list[str]:
    return list(left) + [k for k in right if k not in left]


# -- merge ----------------------------------------------------------------------------------------------------


def merge(lhs: Any, rhs: Any, atom: Atom) -> Any:
    """`rhs` (an applied configuration) merged into `lhs`: maps by key, associative lists by item, leaves and
    atomic values replaced (structured-merge-diff's Merge)."""
    return _merge(lhs, rhs, atom)


def _merge(lhs: Any, rhs: Any, atom: Atom) -> Any:
    chosen = atom.deduce(lhs if rhs is ABSENT else rhs)
    kept = lhs if rhs is ABSENT else rhs
    if chosen.map is not None:
        lmap, rmap = _as_map(lhs), _as_map(rhs)
        if chosen.map.atomic or (not lmap and not rmap):
            return kept
        out: Obj = {}
        for name in _zip_keys(lmap or {}, rmap or {}):
            merged = _merge((lmap or {}).get(name, ABSENT), (rmap or {}).get(name, ABSENT),
                            _child_type(chosen, name))
            if merged is not ABSENT:
                out[name] = merged
        return out if out else ABSENT
    if chosen.scalar or chosen.list is None:
        return kept
    llist, rlist = _as_list(lhs), _as_list(rhs)
    if chosen.list.atomic or (not llist and not rlist):
        return kept
    return _merge_items(chosen.list, llist or [], rlist or []) or ABSENT


def _elements(list_type: ListType, items: list[Any]) -> list[PathElement]:
    """Each item's path element; an item that has none keeps its place under its index."""
    out = []
    for i, item in enumerate(items):
        element = item_element(list_type, item)
        out.append(element if element is not None else fieldpath.index(i))
    return out


def _merge_items(list_type: ListType, lhs: list[Any], rhs: list[Any]) -> list[Any]:
    """Items of both lists, in structured-merge-diff's order: live items the configuration does not name stay
    where they are, the configuration's items come in its order, each merged with its live counterpart."""
    elem = list_type.elem or DEDUCED
    lhs_pes, rhs_pes = _elements(list_type, lhs), _elements(list_type, rhs)
    in_rhs = dict(zip(rhs_pes, rhs, strict=True))
    in_lhs: dict[PathElement, Any] = {}
    for element, item in zip(lhs_pes, lhs, strict=True):
        in_lhs[element] = None if element in in_lhs else item  # a duplicated live item merges as null
    shared = [e for e in rhs_pes if e in in_lhs]
    next_shared = shared.pop(0) if shared else None
    merged_rhs: set[PathElement] = set()
    out: list[Any] = []

    def emit(value: Any) -> None:
        if value is not ABSENT:
            out.append(value)

    li = ri = 0
    while li < len(lhs_pes) or ri < len(rhs_pes):
        if li < len(lhs_pes) and ri < len(rhs_pes):
            element = lhs_pes[li]
            if element == rhs_pes[ri]:
                merged_rhs.add(element)
                emit(_merge(in_lhs[element], in_rhs[element], elem))
                li, ri = li + 1, ri + 1
                next_shared = shared.pop(0) if shared else None
                continue
            if element in in_rhs and next_shared is not None and next_shared != element:
                li += 1
                continue
        if li < len(lhs_pes):
            element = lhs_pes[li]
            if element not in in_rhs:
                emit(_merge(lhs[li], ABSENT, elem))
                li += 1
                continue
            if element in merged_rhs:
                li += 1
        if ri < len(rhs_pes):
            element = rhs_pes[ri]
            merged_rhs.add(element)
            emit(_merge(in_lhs.get(element, ABSENT), in_rhs[element], elem))
            ri += 1
            if next_shared is not None and next_shared == element:
                next_shared = shared.pop(0) if shared else None
    return out


# -- removal --------------------------------------------------------------------------------------------------


def remove_items(value: Any, paths: Set, atom: Atom) -> Any:
    """`value` without the paths in `paths` (a map or list left empty becomes null, as upstream's RemoveItems
    leaves it)."""
    atom = atom.deduce(value)
    if atom.map is not None and isinstance(value, dict):
        if not value or atom.map.atomic:
            return value if not value else None
        out: Obj = {}
        for name, child in value.items():
            element = fieldpath.field(name)
            if element in paths.members:
                continue
            sub = paths.children.get(element)
            out[name] = remove_items(child, sub, _child_type(atom, name)) if sub is not None and not sub.empty() \
                else child
        return out or None
    if atom.list is not None and isinstance(value, list):
        if not value or atom.list.atomic:
            return value if not value else None
        items = []
        for item in value:
            item_pe = item_element(atom.list, item)
            if item_pe is not None and item_pe in paths.members:
                continue
            sub = paths.children.get(item_pe) if item_pe is not None else None
            items.append(remove_items(item, sub, atom.list.elem or DEDUCED) if sub is not None and not sub.empty()
                         else item)
        return items or None
    return value
