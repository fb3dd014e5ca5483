"""The Kubernetes protobuf wire format (``application/vnd.kubernetes.protobuf``) as pure functions.

A body is the magic ``b"k8s\\x00"`` followed by a ``runtime.Unknown`` message
{typeMeta=1 {apiVersion=1, kind=2}, raw=2, contentEncoding=3, contentType=4} whose ``raw`` is the
object in the schema of the k8s.io/api ``generated.proto`` files (apimachinery
pkg/runtime/serializer/protobuf). Messages are parsed with google.protobuf's dynamic message classes
built from the FileDescriptorSet ``k8s-v0.34.1.desc`` (regenerate with
``tools/gen_protobuf_descriptors.py``), and converted to exactly the dict the JSON path produces for
the same object -- i.e. what Go's encoding/json would have written, read back by a JSON parser:

* field names are the Go JSON names (``$ref``, ``x-kubernetes-preserve-unknown-fields``, ...);
  embedded ``json:",inline"`` structs (``Volume.volumeSource``, ``Probe.handler``) are merged into
  their parent;
* ``resource.Quantity`` -> its string; ``metav1.Time`` -> ``"2006-01-02T15:04:05Z"``;
  ``MicroTime`` -> ``"2006-01-02T15:04:05.000000Z"``; ``metav1.Duration`` -> Go duration text
  (``"1h0m0s"``); ``IntOrString`` -> int or str; ``RawExtension``, ``FieldsV1`` and apiextensions
  ``JSON`` -> the parsed JSON value (a nested ``k8s\\0`` protobuf object is decoded); ``bytes``
  fields (``Secret.data``, ``ConfigMap.binaryData``) -> base64 strings; ``Verbs``/``ExtraValue`` ->
  lists; ``JSONSchemaPropsOrBool/OrArray/OrStringArray`` -> bool/schema, list/schema, list/schema;
  integral ``double`` values -> int (Go prints ``5``, not ``5.0``).

Omit-empty rule (decode). gogo-generated Go marshallers write every *non-pointer* field, even when it
is empty (``metadata.name ""``, ``generation 0``, an empty ``status``, a zero ``Time``), and a
*pointer* field exactly when it is set (``gracePeriodSeconds: 0``, ``replicas: 0``,
``emptyDir: {}``). Go's encoding/json instead omits ``omitempty`` fields holding their zero value.
So, for a field present on the wire:

1. a pointer field (``*T`` in Go) is always kept, whatever its value (0, false, "", ``{}``);
2. a non-pointer field whose value is zero -- 0, false, "", int-or-string 0, or a message that
   converts to ``{}`` -- is dropped, UNLESS its Go JSON tag has no ``omitempty`` or it is
   ``required`` in the Kubernetes OpenAPI schema (kubernetes-validate's v1.34 definitions), e.g.
   ``ContainerStateTerminated.exitCode``, ``ContainerPort.containerPort``, ``ContainerStatus.ready``:
   those stay, with their zero value;
3. empty lists and maps are dropped (Go writes ``null`` or omits them; both read back as absent);
4. values that Go marshals as JSON ``null`` (zero ``Time``/``MicroTime``, empty ``RawExtension``,
   ``FieldsV1``, ``JSON``) are dropped -- where Go would write ``"creationTimestamp": null`` the dict
   has no key, which every reader treats the same.

Where Go would print an empty struct (``"resources": {}``) the dict has no key (rule 2) unless the
field is a pointer (``securityContext: {}`` stays). The per-field Go facts (pointer, omitempty,
JSON name, inline) come from ``k8s-v0.34.1.fields.json``, generated with the descriptor set from the
Go structs the messages were generated from.

Encode is the reverse: every key of the dict that names a proto field is written (unknown keys,
``None`` values and the type meta of list items are ignored), map keys in sorted order.
"""
from __future__ import annotations

import struct
from typing import Any

from ..errors import StatusError, bad_request
from ._codec import (
    KUBE_VERSION,
    MAGIC,
    ProtobufDataError,
    decode_object,
    encode_message,
    envelope,
    openapi_v2_document_class,
    registry,
)
from ._goview import go_defaults, go_object_meta, go_view

__all__ = [
    "CONTENT_TYPE",
    "KUBE_VERSION",
    "MAGIC",
    "ProtobufDataError",
    "decode",
    "decode_object",
    "decode_watch_event",
    "encode",
    "encode_list",
    "encode_watch_event",
    "go_defaults",
    "go_object_meta",
    "go_view",
    "message_name",
    "openapi_v2_document",
    "supports",
]

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
_FRAME_LEN = struct.Struct(">I")


def supports(api_version: str, kind: str) -> bool:
    """Whether objects of this apiVersion/kind have a protobuf form: built-in kinds (and their
    ``...List``), the meta options kinds (``DeleteOptions`` etc., under any apiVersion), ``v1 Status``,
    ``meta.k8s.io`` PartialObjectMetadata(List). Custom resources and ``meta.k8s.io`` Table: no."""
    return registry().resolve(api_version, kind) is not None


def message_name(api_version: str, kind: str) -> str | None:
    """The proto message for apiVersion/kind, e.g. ``v1``/``Pod`` -> ``k8s.io.api.core.v1.Pod``."""
    plan = registry().resolve(api_version, kind)
    return plan.desc.full_name if plan is not None else None


def decode(body: bytes, *, default_api_version: str = "", default_kind: str = "") -> dict[str, Any]:
    """A protobuf request body -> the JSON-form dict, with ``kind`` and ``apiVersion`` set.

    ``default_*`` fill an envelope without type meta (upstream's ``copyKindDefaults``: a DELETE body
    defaults to DeleteOptions). Raises a 400 :class:`StatusError` (BadRequest) for bytes that are not
    a protobuf object of a known kind."""
    try:
        return decode_object(bytes(body), default_api_version, default_kind)
    except ProtobufDataError as e:
        raise bad_request(str(e)) from None


def encode(obj: dict[str, Any]) -> bytes:
    """A JSON-form object dict (with apiVersion and kind) -> ``k8s\\0`` + ``runtime.Unknown`` bytes.

    Raises a 406 :class:`StatusError` (NotAcceptable) for kinds without a protobuf form (check
    :func:`supports` first) and a 500 for a dict whose values do not fit the schema."""
    api_version = obj.get("apiVersion") or ""
    kind = obj.get("kind") or ""
    plan = registry().resolve(api_version, kind)
    if plan is None:
        raise StatusError(
            406, "NotAcceptable",
            f"object {api_version}, Kind={kind} does not implement the protobuf marshalling interface "
            "and cannot be encoded to a protobuf message")
    try:
        raw = encode_message(obj, plan)
    except (TypeError, ValueError, AttributeError) as e:
        raise StatusError(500, "InternalError",
                          f"Internal error occurred: cannot encode {kind} as protobuf: {e}") from None
    return envelope(api_version, kind, raw)


def encode_list(api_version: str, kind: str, items: list[dict[str, Any]],
                metadata: dict[str, Any] | None = None) -> bytes:
    """A list response: ``kind`` is the list kind (``"PodList"``; ``"Pod"`` is taken to mean it).
    Items are written without their apiVersion/kind, as upstream does."""
    list_kind = kind if kind.endswith("List") else kind + "List"
    return encode({"apiVersion": api_version, "kind": list_kind, "metadata": metadata or {}, "items": items})


def encode_watch_event(type: str, obj: dict[str, Any]) -> bytes:  # noqa: A002 - upstream's field name
    """One watch frame: 4-byte big-endian length + ``metav1.WatchEvent`` {type, object: RawExtension
    holding the ``k8s\\0``-prefixed protobuf object}, as apiserver's protobuf stream serializer writes
    it (the frame itself has no magic prefix and no Unknown envelope)."""
    reg = registry()
    ev = reg.watch_event()
    ev.type = type
    ev.object.raw = encode(obj)
    data: bytes = ev.SerializeToString()
    return _FRAME_LEN.pack(len(data)) + data


def openapi_v2_document() -> Any:
    """An empty gnostic ``openapi.v2.Document`` message (from ``openapiv2.desc``), to fill and serialize: the
    form client-go reads ``/openapi/v2`` in."""
    return openapi_v2_document_class()()


def decode_watch_event(frame: bytes) -> tuple[str, dict[str, Any]]:
    """The reverse of :func:`encode_watch_event` (one complete frame, length prefix included)."""
    if len(frame) < 4 or _FRAME_LEN.unpack_from(frame)[0] != len(frame) - 4:
        raise bad_request("watch frame length does not match its length prefix")
    ev = registry().watch_event()
    try:
        ev.ParseFromString(frame[4:])
    except Exception as e:  # google.protobuf.message.DecodeError
        raise bad_request(f"invalid watch event: {e}") from None
    return ev.type, decode(ev.object.raw)
