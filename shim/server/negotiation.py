"""Content negotiation: decoding request bodies and choosing the response form from Accept."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import datetime as dt

import orjson
import yaml

from shim.machinery import errors
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


def _yaml_load(body: bytes, repeated: list[str] | None = None) -> Any:
    """The one YAML document of a body; its keys repeated within a mapping are noted in `repeated`."""
    loader = yaml.SafeLoader(body)
    docs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if repeated is not None:
                repeated.extend(_repeated_keys(node))
            doc = loader.construct_document(node)
            if doc is not None:
                docs.append(doc)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error converting YAML to JSON: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()
    if len(docs) != 1:
        raise errors.bad_request("the body of the request must hold exactly one YAML document")
    return _json_safe(docs[0])


def _repeated_keys(node: yaml.Node) -> Iterator[str]:
    """yaml.v2's strict-mode complaints, in its order and words: a mapping's values are read before the key is
    set, and the line named is the repeated value's."""
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _repeated_keys(item)
    elif isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            yield from _repeated_keys(value)
            if not isinstance(key, yaml.ScalarNode):
                continue
            if (key.tag, key.value) in seen:
                shown = orjson.dumps(key.value).decode() if key.tag.endswith(":str") else key.value
                yield f"line {value.start_mark.line + 1}: key {shown} already set in map"
            seen.add((key.tag, key.value))


def _json_safe(value: Any) -> Any:
    """YAML timestamps and dates become strings, as Kubernetes' YAML->JSON conversion does."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def decode_body(body: bytes, content_type: str) -> Any:
    """A request body as the JSON value it encodes; 400 for garbage, 415 for unknown types."""
    if content_type in ("", JSON) or content_type.endswith("+json") and content_type not in PATCH_TYPES:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise errors.bad_request(f"error decoding JSON: {exc}") from None
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


def decode_apply(body: bytes) -> tuple[Any, tuple[str, ...]]:
    """An apply configuration, and the keys it repeats (which fieldValidation judges after the apply)."""
    repeated: list[str] = []
    return _yaml_load(body, repeated), tuple(repeated)


def decode_patch(body: bytes, content_type: str) -> Any:
    if content_type not in PATCH_TYPES:
        raise errors.unsupported_media_type(PATCH_TYPES[:4])
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_request(f"error decoding patch: {exc}") from None


@dataclass(frozen=True)
class Rendering:
    """What the client gets: encoding (json, yaml, protobuf) and view (object, Table, metadata)."""

    encoding: str
    view: str = ""
    version: str = "v1"


def choose(accept: str, *, protobuf_ok: bool, views: bool = True, protobuf_views: bool = True) -> Rendering:
    """Pick the first acceptable form in the client's order; JSON when Accept is empty or */*.

    `protobuf_ok`: the object itself has a protobuf form (built-in kinds); metadata views always have one
    (meta.k8s.io PartialObjectMetadata), except on watch streams, which are JSON here.
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
