"""Kubernetes protobuf bodies read and written field by field, as the judge of protobuf round trips.

Independent of kubeshim's codec on purpose: it uses only google.protobuf and the FileDescriptorSet of the
k8s.io `generated.proto` files (data kubeshim ships, generated from the upstream Go modules), and shows the
fields on the wire by their proto names, with one rule: a singular field holding its zero value ("", 0, false,
an empty or zero-time message) counts as absent. Go's gogo marshallers write every non-pointer field, zero or
not, and read a missing one as the same zero, so writing it or not is no difference to a client. (A pointer
field set to zero is the exception this rule hides; the JSON scenarios see those, where Go writes them.)
"""
from __future__ import annotations

import base64
import functools
import json
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor

from shim.machinery.protobuf._codec import DESCRIPTOR_SET

MAGIC = b"k8s\x00"
UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
TIMES = {"k8s.io.apimachinery.pkg.apis.meta.v1.Time", "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime"}


@functools.cache
def _pool() -> tuple[descriptor_pool.DescriptorPool, dict[tuple[str, str, str], str]]:
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    index: dict[tuple[str, str, str], str] = {}
    for file in files.file:
        pool.Add(file)
        parts = file.package.split(".")
        for message in file.message_type:
            index[(parts[-2], parts[-1], message.name)] = f"{file.package}.{message.name}"
    return pool, index


def _message_class(full_name: str) -> Any:
    return message_factory.GetMessageClass(_pool()[0].FindMessageTypeByName(full_name))


def message_name(api_version: str, kind: str) -> str:
    """The proto message of a kind: k8s.io.api.<group's first label>.<version>.<Kind> (core for the legacy group,
    meta.v1 for Status and the meta.k8s.io kinds)."""
    group, _, version = api_version.rpartition("/")
    short = group.split(".")[0] if group else "core"
    index = _pool()[1]
    for key in ((short, version, kind), ("meta", "v1", kind)):
        if key in index:
            return index[key]
    raise KeyError(f"no protobuf message for {api_version} {kind}")


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name in TIMES:
            return "<time>" if value.seconds or value.nanos else {}
        return to_dict(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        try:
            return {"json": json.loads(value)} if value[:1] in (b"{", b"[") else {"bytes": value.decode()}
        except (ValueError, UnicodeDecodeError):
            return {"base64": base64.b64encode(value).decode()}
    return value


def to_dict(message: Any) -> dict[str, Any]:
    """The fields on the wire by proto name, zero singular fields left out; maps as dicts, bytes as JSON or text."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {k: _value(value_field, v) for k, v in sorted(value.items())}
        elif field.is_repeated:
            out[field.name] = [_value(field, v) for v in value]
        else:
            converted = _value(field, value)
            if converted not in ("", 0, {}):
                out[field.name] = converted
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf response: its envelope (typeMeta, contentEncoding, contentType) and its object, field by field."""
    if not body.startswith(MAGIC):
        return {"not protobuf": body[:200].decode(errors="replace")}
    unknown = _message_class(UNKNOWN).FromString(body[len(MAGIC):])
    envelope = to_dict(unknown)
    envelope.pop("raw", None)
    meta = unknown.typeMeta
    try:
        cls = _message_class(message_name(meta.apiVersion, meta.kind))
    except KeyError as err:
        return {"envelope": envelope, "object": str(err)}
    return {"envelope": envelope, "object": to_dict(cls.FromString(unknown.raw))}


def encode(obj: dict[str, Any]) -> bytes:
    """A request body in protobuf from a JSON-shaped dict of a simple kind (names, labels, data: what
    json_format can map; no Times or Quantities)."""
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    raw = json_format.ParseDict(body, _message_class(message_name(obj["apiVersion"], obj["kind"]))())
    unknown = _message_class(UNKNOWN)(raw=raw.SerializeToString())
    unknown.typeMeta.apiVersion, unknown.typeMeta.kind = obj["apiVersion"], obj["kind"]
    return MAGIC + unknown.SerializeToString()

