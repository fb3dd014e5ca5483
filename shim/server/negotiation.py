"""Content negotiation: decoding request bodies and choosing the response form from Accept."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from shim.machinery import errors, nesting
from shim.machinery.patch import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
BODY_TYPES = [JSON, YAML, PROTOBUF]
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH, "application/apply-patch+cbor"]


@dataclass(frozen=True)
class MediaType:
    type: str
    params: dict[str, str]

    @property
    def view(self) -> str:
        """"" for plain objects, else Table, PartialObjectMetadata, PartialObjectMetadataList, ..."""
        return self.params.get("as", "")


def parse_media_types(header: str) -> list[MediaType]:
    out = []
    for part in (header or "").split(","):
        bits = [b.strip() for b in part.split(";")]
        if not bits[0]:
            continue
        params = {}
        for b in bits[1:]:
            if "=" in b:
                k, v = b.split("=", 1)
                params[k.strip()] = v.strip().strip('"')
        out.append(MediaType(bits[0].lower(), params))
    return out


def content_type_of(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def _yaml_load(body: bytes) -> Any:
    try:
        docs = nesting.load_yaml(body)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error converting YAML to JSON: {str(exc).splitlines()[0]}") from None
    if len(docs) != 1:
        raise errors.bad_request("the body of the request must hold exactly one YAML document")
    return docs[0]


def _json_load(body: bytes, what: str) -> Any:
    """JSON to upstream's depth: orjson, and for what it finds nested too deep (over 1,024 levels) the
    iterative reader of shim.machinery.nesting."""
    try:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            if not str(exc).startswith("depth limit exceeded"):
                raise
            return nesting.loads_json(body)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and TooDeep are ValueErrors
        raise errors.bad_request(f"error decoding {what}: {exc}") from None


def decode_body(body: bytes, content_type: str) -> Any:
    """A request body as the JSON value it encodes; 400 for garbage, 415 for unknown types."""
    if content_type in ("", JSON) or content_type.endswith("+json") and content_type not in PATCH_TYPES:
        return _json_load(body, "JSON")
    if content_type in (YAML, "application/x-yaml", "text/yaml", APPLY_PATCH):
        return _yaml_load(body)
    if content_type == PROTOBUF:
        from shim.machinery import protobuf
        try:
            return protobuf.decode(body)
        except errors.StatusError:
            raise
        except Exception as exc:  # any malformed message is the client's fault
            raise errors.bad_request(f"failed to decode protobuf body: {exc}") from None
    raise errors.unsupported_media_type(BODY_TYPES)


def decode_patch(body: bytes, content_type: str) -> Any:
    if content_type == APPLY_PATCH:
        return _yaml_load(body)
    if content_type not in PATCH_TYPES:
        raise errors.unsupported_media_type(PATCH_TYPES[:4])
    return _json_load(body, "patch")


@dataclass(frozen=True)
class Rendering:
    """What the client gets: encoding (json, yaml, protobuf) and view (object, Table, metadata)."""

    encoding: str
    view: str = ""
    version: str = "v1"


def choose(accept: str, *, protobuf_ok: bool, views: bool = True, protobuf_views: bool = True,
           single: bool = False) -> Rendering:
    """Pick the first acceptable form in the client's order; JSON when Accept is empty or */*.

    `protobuf_ok`: the object itself has a protobuf form (built-in kinds); metadata views always have one
    (meta.k8s.io PartialObjectMetadata), except on watch streams, which are JSON here. `single`: the answer is
    one object, which has no PartialObjectMetadataList form.
    """
    types = parse_media_types(accept)
    if not types:
        return Rendering("json")
    for mt in types:
        view = mt.view
        if view:
            if not views or mt.params.get("g") not in ("meta.k8s.io", None):
                continue
            if view not in ("Table", "PartialObjectMetadata", "PartialObjectMetadataList"):
                continue
            if single and view == "PartialObjectMetadataList":
                continue
            version = mt.params.get("v", "v1")
            if version not in ("v1", "v1beta1"):
                continue
            if mt.type in (JSON, "*/*", "application/*"):
                return Rendering("json", view, version)
            if mt.type == YAML:
                return Rendering("yaml", view, version)
            if mt.type == PROTOBUF and view != "Table" and protobuf_views:
                return Rendering("protobuf", view, version)
            continue
        if mt.type in (JSON, "*/*", "application/*"):
            return Rendering("json")
        if mt.type == YAML:
            return Rendering("yaml")
        if mt.type == PROTOBUF:
            if protobuf_ok:
                return Rendering("protobuf")
            continue
    raise errors.not_acceptable("application/json, application/yaml, application/vnd.kubernetes.protobuf")


_MEDIA_TYPES = {"json": JSON, "yaml": YAML, "protobuf": PROTOBUF}


def media_type(rendering: Rendering) -> str:
    return _MEDIA_TYPES[rendering.encoding]


def encode(obj: Any, rendering: Rendering) -> bytes:
    if rendering.encoding == "yaml":
        text: str = yaml.safe_dump(obj, sort_keys=False)
        return text.encode()
    if rendering.encoding == "protobuf":
        from shim.machinery import protobuf
        return protobuf.encode(obj)
    return orjson.dumps(obj)
