"""Deeply nested documents: decoding them without recursion, and the depth kubeshim's machinery takes.

kube-apiserver decodes JSON and YAML nested up to 10,000 levels (sigs.k8s.io/json's and go-yaml's limit,
`DECODE_LIMIT`); a value nested that deep still reaches the checks that come after decoding (a type error,
a typed apply configuration) or, where a schema keeps unknown fields, storage. kubeshim decodes to the same
depth here, without recursion, so that those checks answer as upstream's do however deep the value.

Everything after those checks walks objects recursively and encodes them with orjson, which stops at 254
levels: an object nested deeper than `MAX_DEPTH` is refused with a 400 (`check`) before it gets there.
Upstream stores what lies between the two limits; nothing kubeshim is built to serve nests that deep.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import orjson
import yaml
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from shim.machinery import errors, gofmt

DECODE_LIMIT = 10_000
#: the deepest object kubeshim takes: below orjson's 254 levels with room for what wraps an object in an
#: answer (a list's items, a watch event, a Table row, the managedFields of its own fields)
MAX_DEPTH = 200


class TooDeep(ValueError):
    """A document nested deeper than `DECODE_LIMIT`."""

    def __init__(self) -> None:
        super().__init__(f"exceeded max depth of {DECODE_LIMIT}")


def depth(value: Any) -> int:
    """How many objects and arrays nest at the deepest point of `value` (a scalar is 0, `[]` is 1)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def check(value: Any) -> None:
    """400 for a document nested deeper than kubeshim's machinery goes: an object's own fields at most
    `MAX_DEPTH` levels, the fieldsV1 of its managedFields (which mirror those fields, one level deeper for the
    leaves' `{}`) one more."""
    found = depth(_without_managed_fields(value))
    for entry in _managed_fields(value):
        found = max(found, depth(entry.get("fieldsV1")) - 1 if isinstance(entry, dict) else 0)
    if found > MAX_DEPTH:
        raise errors.bad_request(f"the object is nested {found} levels deep; this server takes at most "
                                 f"{MAX_DEPTH} (kube-apiserver: {DECODE_LIMIT})")


def _managed_fields(value: Any) -> list[Any]:
    meta = value.get("metadata") if isinstance(value, dict) else None
    entries = meta.get("managedFields") if isinstance(meta, dict) else None
    return entries if isinstance(entries, list) else []


def _without_managed_fields(value: Any) -> Any:
    if not _managed_fields(value):
        return value
    return {**value, "metadata": {k: v for k, v in value["metadata"].items() if k != "managedFields"}}


# -- JSON -----------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""[ \t\n\r]*(?:
    (?P<punct>[\[\]{},:])
  | (?P<string>"(?:[^"\\\x00-\x1f]|\\.)*")
  | (?P<scalar>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)
)""", re.VERBOSE)
_END = re.compile(r"[ \t\n\r]*\Z")
_VALUE, _ITEM_OR_CLOSE, _KEY_OR_CLOSE, _KEY, _COLON, _NEXT_OR_CLOSE, _DONE = range(7)


def loads_json(body: bytes) -> Any:
    """JSON of any depth up to `DECODE_LIMIT`, as orjson decodes it (which stops at 1,024 levels): structure
    by an explicit stack, each string and number by orjson. Raises ValueError (orjson's JSONDecodeError is one)
    for malformed input and TooDeep past the limit."""
    text = body.decode("utf-8")
    open_: list[Any] = []  # the containers being filled, innermost last
    key = ""
    state = _VALUE
    root: Any = None
    pos = 0
    while state != _DONE:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"unexpected character at char {pos}")
        pos = match.end()
        punct = match.group("punct")
        if state == _COLON:
            if punct != ":":
                raise ValueError(f"expected ':' at char {match.start()}")
            state = _VALUE
            continue
        if state in (_KEY, _KEY_OR_CLOSE) and match.group("string"):
            key, state = orjson.loads(match.group("string")), _COLON
            continue
        if punct in ("]", "}") and (state == _NEXT_OR_CLOSE or state == (_ITEM_OR_CLOSE if punct == "]"
                                                                          else _KEY_OR_CLOSE)):
            if isinstance(open_[-1], list) != (punct == "]"):
                raise ValueError(f"mismatched {punct!r} at char {match.start()}")
            open_.pop()
            state = _NEXT_OR_CLOSE if open_ else _DONE
            continue
        if punct == "," and state == _NEXT_OR_CLOSE:
            state = _VALUE if isinstance(open_[-1], list) else _KEY
            continue
        if state not in (_VALUE, _ITEM_OR_CLOSE) or punct in ("]", "}", ",", ":"):
            raise ValueError(f"unexpected {match.group().strip()!r} at char {match.start()}")
        value: Any = {} if punct == "{" else [] if punct == "[" else orjson.loads(match.group().strip())
        if not open_:
            root = value
        elif isinstance(open_[-1], list):
            open_[-1].append(value)
        else:
            open_[-1][key] = value
        if punct:
            open_.append(value)
            if len(open_) > DECODE_LIMIT:
                raise TooDeep()
            state = _ITEM_OR_CLOSE if punct == "[" else _KEY_OR_CLOSE
        else:
            state = _NEXT_OR_CLOSE if open_ else _DONE
    if not _END.match(text, pos):
        raise ValueError(f"trailing characters at char {pos}")
    return root


# -- YAML -----------------------------------------------------------------------------------------------------


class SafeLoader(yaml.composer.Composer, yaml.CSafeLoader):  # type: ignore[misc]  # PyYAML is untyped
    """PyYAML's safe loader on libyaml's parser (PyYAML's own scanner takes time quadratic in the depth),
    composing nodes with an explicit stack instead of recursion (its constructor already goes without): the
    same values, to any depth up to `DECODE_LIMIT`."""

    def __init__(self, stream: str | bytes) -> None:
        yaml.CSafeLoader.__init__(self, stream)
        yaml.composer.Composer.__init__(self)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        open_: list[tuple[Node, list[Node]]] = []  # collections being filled, each with a mapping's pending key
        open_ids: set[int] = set()
        while True:
            if open_ and self.check_event(yaml.SequenceEndEvent, yaml.MappingEndEvent):
                node = open_.pop()[0]
                open_ids.discard(id(node))
                node.end_mark = self.get_event().end_mark
                self.ascend_resolver()
            else:
                where, at = parent, index
                if open_:
                    where, pending = open_[-1]
                    at = len(where.value) if isinstance(where, SequenceNode) else (pending[0] if pending else None)
                node, opened = self._compose_one(where, at)
                if id(node) in open_ids:  # upstream's decoder refuses what a Python object graph could hold
                    raise yaml.composer.ComposerError(None, None, "anchor value contains itself", node.start_mark)
                if opened:
                    open_.append((node, []))
                    open_ids.add(id(node))
                    if len(open_) > DECODE_LIMIT:
                        raise yaml.composer.ComposerError(None, None, str(TooDeep()), node.start_mark)
                    continue
            if not open_:
                return node
            collection, pending = open_[-1]
            if isinstance(collection, SequenceNode):
                collection.value.append(node)
            elif pending:
                collection.value.append((pending.pop(), node))
            else:
                pending.append(node)

    def _compose_one(self, parent: Node | None, index: Any) -> tuple[Node, bool]:
        """The next node: an alias's, a scalar, or a collection just opened (True: its items follow)."""
        if self.check_event(AliasEvent):
            event = self.get_event()
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)
            return self.anchors[event.anchor], False
        event = self.peek_event()
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            raise yaml.composer.ComposerError(f"found duplicate anchor {anchor!r}; first occurrence",
                                              self.anchors[anchor].start_mark, "second occurrence",
                                              event.start_mark)
        self.descend_resolver(parent, index)
        if self.check_event(ScalarEvent):
            scalar: Node = self.compose_scalar_node(anchor)
            self.ascend_resolver()
            return scalar, False
        start = self.get_event()
        assert isinstance(start, (SequenceStartEvent, MappingStartEvent))
        kind = SequenceNode if isinstance(start, SequenceStartEvent) else MappingNode
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(kind, None, start.implicit)
        node = kind(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        return node, True


def load_yaml(body: bytes) -> list[Any]:
    """The documents of a YAML stream (empty ones left out) as the JSON values Kubernetes converts them to.
    Raises yaml.YAMLError for malformed input, input nested deeper than `DECODE_LIMIT`, and aliases that
    expand out of proportion to the text (as go-yaml refuses "excessive aliasing")."""
    loader = SafeLoader(body)
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
    finally:
        loader.dispose()
    return [json_value(document) for document in documents if document is not None]


def _allowed_alias_ratio(decoded: int) -> float:
    """go-yaml's allowance: 99% of a small document's values may come from aliases, 10% of a huge one's."""
    low, high = 400_000, 4_000_000
    if decoded <= low:
        return 0.99
    if decoded >= high:
        return 0.10
    return 0.99 - 0.89 * (decoded - low) / (high - low)


def _scalar(value: Any) -> Any:
    """YAML's non-JSON scalars as upstream's YAML-to-JSON conversion gives them: timestamps and dates as
    strings, binary as its (UTF-8) text, an integer past 64 bits as a float (go-yaml parses it as one; past
    a float's range it stays the text it was), and infinities and NaN refused (JSON has none)."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2 ** 63) <= value < 2 ** 64:
        try:
            return float(value)
        except OverflowError:
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise yaml.YAMLError(f"json: unsupported value: {gofmt.number(value)}")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def json_value(value: Any) -> Any:
    """A constructed YAML document as a JSON value, walked with an explicit stack: keys become strings, sets
    maps to null, and a value reached again through an alias is copied (counted against the alias ratio)."""
    decoded = aliased = 0
    seen: set[int] = set()
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, bool]] = [(value, root, 0, False)]  # (value, into, at, under an alias)
    while stack:
        node, into, at, alias = stack.pop()
        decoded += 1
        if isinstance(node, (dict, list, set, tuple)):
            alias = alias or id(node) in seen
            seen.add(id(node))
        if alias:
            aliased += 1
            if aliased > 100 and decoded > 1000 and aliased / decoded > _allowed_alias_ratio(decoded):
                raise yaml.YAMLError("document contains excessive aliasing")
        if isinstance(node, set):
            node = dict.fromkeys(sorted(str(k) for k in node))
        children: list[tuple[Any, Any]]
        if isinstance(node, dict):
            out: Any = {}
            children = [(str(k), v) for k, v in node.items()]
        elif isinstance(node, (list, tuple)):
            out = [None] * len(node)
            children = list(enumerate(node))
        else:
            into[at] = _scalar(node)
            continue
        into[at] = out
        stack.extend((child, out, key, alias) for key, child in reversed(children))
    return root[0]
