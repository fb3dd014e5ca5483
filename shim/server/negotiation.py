"""Content negotiation: decoding request bodies and choosing the response form from Accept."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from shim.machinery import decoding, errors, gojson
from shim.machinery.decoding import DecodeError
from shim.machinery.patch import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
BODY_TYPES = [JSON, YAML, PROTOBUF]
PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH, "application/apply-patch+cbor"]
#: what upstream's routes of built-in kinds produce; a list's and a watch's also their streams
ROUTE_TYPES = [JSON, YAML, PROTOBUF]
STREAM_TYPES = [f"{JSON};stream=watch", f"{PROTOBUF};stream=watch"]


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


def route_accepts(accept: str, produced: list[str]) -> bool:
    """Whether upstream's router (go-restful) finds a route for an Accept header: one of its media types, without
    parameters, is one the route produces exactly, or */* (which an empty header means)."""
    for part in (accept or "*/*").split(","):
        media_type = part.split(";")[0].strip()
        if media_type == "*/*" or media_type in produced:
            return True
    return False


def content_type_of(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def decode_body(body: bytes, content_type: str, *, duplicates: bool = False) -> Any:
    """A request body as the JSON value it encodes (None for `null` or an empty YAML document); a DecodeError in
    upstream's words for garbage, 415 for types other than JSON, YAML and protobuf. With `duplicates`, JSON
    objects that repeat a key are marked (shim.machinery.gojson.Duplicated) for the typed decoding to report."""
    if content_type in ("", JSON) or content_type.endswith("+json") and content_type not in PATCH_TYPES:
        try:
            return gojson.loads(body, duplicates=duplicates)
        except gojson.JSONError as err:
            raise DecodeError(f"couldn't get version/kind; json parse error: {err}") from None
    if content_type in (YAML, "application/x-yaml", "text/yaml"):
        return decoding.yaml_to_json(body)
    if content_type == PROTOBUF:
        from shim.machinery import protobuf
        try:
            return protobuf.decode_object(body)
        except protobuf.ProtobufDataError as err:
            raise DecodeError(str(err), err.kind) from None
    raise errors.unsupported_media_type(BODY_TYPES)


#: how Go names the value each patch type is read into, where the body is of another JSON type
_PATCH_TARGETS = {JSON_PATCH: "[]handlers.jsonPatchOp", MERGE_PATCH: "map[string]interface {}",
                  STRATEGIC_PATCH: "map[string]interface {}"}


def decode_patch(body: bytes, content_type: str, *, validating: bool = True,
                 repeated: list[str] | None = None) -> Any:
    """A PATCH body as the value its type reads, refused in upstream's words: JSON and merge patches are read
    strictly ("error decoding patch: ...") unless fieldValidation=Ignore (`validating` False), when each
    library's own reader answers. An apply configuration's repeated keys are noted in `repeated`."""
    if content_type == APPLY_PATCH:
        try:
            value = decoding.yaml_to_json(body, repeated)
        except DecodeError as err:
            raise errors.bad_request(f"error decoding YAML: error converting YAML to JSON: {err}") from None
        if value is not None and not isinstance(value, dict):
            raise errors.bad_request("error decoding YAML: error unmarshaling JSON: while decoding JSON: json: "
                                     f"cannot unmarshal {gojson.value_kind(value)} into Go value of type "
                                     "map[string]interface {}")
        return value
    if content_type not in PATCH_TYPES:
        raise errors.unsupported_media_type(PATCH_TYPES[:4])
    strict = validating and content_type != STRATEGIC_PATCH
    prefix = "error decoding patch: " if strict else ""
    try:
        value = gojson.loads(body)
    except gojson.JSONError as err:
        raise errors.bad_request("Invalid JSON Patch" if content_type == MERGE_PATCH and not strict
                                 else f"{prefix}{err}") from None
    target = _PATCH_TARGETS.get(content_type, "")
    if content_type == JSON_PATCH and not strict:
        target = "jsonpatch.Patch"
    problem = _patch_shape(value, content_type, target)
    if problem:
        raise errors.bad_request("Invalid JSON Patch" if content_type == MERGE_PATCH and not strict
                                 else f"{prefix}json: {problem}")
    return value


def _patch_shape(value: Any, content_type: str, target: str) -> str | None:
    """Go's type error for a patch of the wrong JSON type: a JSON patch is a list of objects, the others an
    object."""
    if content_type == JSON_PATCH:
        if not isinstance(value, list):
            return f"cannot unmarshal {gojson.value_kind(value)} into Go value of type {target}"
        element = "handlers.jsonPatchOp" if target.startswith("[]") else "jsonpatch.Operation"
        for op in value:
            if op is not None and not isinstance(op, dict):
                return f"cannot unmarshal {gojson.value_kind(op)} into Go value of type {element}"
        return None
    if value is not None and not isinstance(value, dict):
        return f"cannot unmarshal {gojson.value_kind(value)} into Go value of type {target}"
    return None


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
