"""What a client gets back, in one place: an object, a list or a watch event of a resource in the view it asked
for (the object itself, a meta.k8s.io Table, or PartialObjectMetadata) and the encoding it accepts.

Stored bytes are served as they are when nothing needs converting (plain JSON of a resource served in its
stored form), which keeps lists and watches of large collections cheap.
"""
from __future__ import annotations

from typing import Any

import orjson

from shim.machinery import tables
from shim.registry.generic import ListResult
from shim.registry.resource import ResourceInfo
from shim.registry.rest import Verbs, list_metadata
from shim.server import negotiation as neg
from shim.storage.store import Entry

Obj = dict[str, Any]

METADATA_VIEWS = ("PartialObjectMetadata", "PartialObjectMetadataList")


class Renderer:
    """Renders objects of `info` as `rendering` says; `include_object` is a Table's includeObject."""

    def __init__(self, verbs: Verbs, info: ResourceInfo, rendering: neg.Rendering,
                 include_object: str = "Metadata") -> None:
        self.verbs, self.info, self.rendering, self.include_object = verbs, info, rendering, include_object
        self.media_type = neg.media_type(rendering)
        #: the stored bytes are the answer: no view, no conversion
        self.raw = not rendering.view and info.from_storage is None
        #: a watch of Tables describes its columns in the first event only (later ones: null)
        self.columns_sent = False

    def object(self, obj: Obj) -> bytes:
        """One object (a get, or what a write answers), in a rendering negotiated for one (`single`)."""
        return neg.encode(self._view(obj), self.rendering)

    def list(self, result: ListResult) -> bytes:
        info, meta = self.info, list_metadata(result)
        if self.raw and self.rendering.encoding == "json":
            head = orjson.dumps({"kind": info.list_kind, "apiVersion": info.api_version, "metadata": meta})
            return head[:-1] + b',"items":[' + b",".join(e.raw for e in result.entries) + b"]}"
        view = self.rendering.view
        if view == "Table":
            items = info.strategy.table_order([self.verbs.decode(info, e) for e in result.entries])
            out = tables.table(items, info.strategy.table_columns(), info.strategy.table_cells, meta,
                               self.include_object, self.rendering.version)
        elif view in METADATA_VIEWS:
            items = [self.verbs.decode(info, e) for e in result.entries]
            out = tables.partial_metadata_list(items, meta, self.rendering.version)
        else:
            out = self.verbs.list_object(info, result)
        return neg.encode(out, self.rendering)

    def computed_list(self, listed: Obj) -> bytes:
        """A List a handler computed (metrics.k8s.io), in the view asked for."""
        view, items, meta = self.rendering.view, listed["items"], listed["metadata"]
        if view == "Table":
            out = tables.table(items, self.info.strategy.table_columns(), self.info.strategy.table_cells, meta,
                               self.include_object, self.rendering.version)
        elif view in METADATA_VIEWS:
            out = tables.partial_metadata_list(items, meta, self.rendering.version)
        else:
            out = listed
        return neg.encode(out, self.rendering)

    def event(self, kind: str, entry: Entry) -> bytes:
        """One watch event as a JSON line (watch streams are JSON here)."""
        if self.raw:
            return _frame(kind, entry.raw)
        view = self._view(self.verbs.decode(self.info, entry))
        if self.rendering.view == "Table":
            if self.columns_sent:
                view["columnDefinitions"] = None
            self.columns_sent = True
        return _frame(kind, orjson.dumps(view))

    def bookmark(self, meta: Obj) -> bytes:
        """A BOOKMARK event carrying `meta`; in a metadata watch it is metadata too (a metadata client cannot
        decode the full kind)."""
        obj: Obj = {"kind": self.info.kind, "apiVersion": self.info.api_version, "metadata": meta}
        if self.rendering.view in METADATA_VIEWS:
            obj = tables.partial_metadata(obj, self.rendering.version)
        return _frame("BOOKMARK", orjson.dumps(obj))

    def _view(self, obj: Obj) -> Obj:
        view = self.rendering.view
        if view == "Table":
            meta = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
            return tables.table([obj], self.info.strategy.table_columns(), self.info.strategy.table_cells, meta,
                                self.include_object, self.rendering.version)
        if view in METADATA_VIEWS:
            return tables.partial_metadata(obj, self.rendering.version)
        return obj


def _frame(kind: str, obj_bytes: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + obj_bytes + b"}\n"
