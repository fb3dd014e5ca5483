"""Descriptor loading, kind resolution and the message <-> JSON-dict walk.

Everything here is built lazily, once: the descriptor pool on the first call that needs it, one
:class:`_Plan` per message type on first use (plans hold, per field, what the walk needs so the hot
loop is dictionary look-ups and a few integer compares).
"""
from __future__ import annotations

import base64
import functools
import json
import threading
from pathlib import Path
from typing import Any

import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from . import _types

KUBE_VERSION = "v0.34.1"
_HERE = Path(__file__).resolve().parent
DESCRIPTOR_SET = _HERE / f"k8s-{KUBE_VERSION}.desc"
FIELD_FACTS = _HERE / f"k8s-{KUBE_VERSION}.fields.json"
#: gnostic's OpenAPI v2 model (openapi.v2.Document), what client-go reads /openapi/v2 as
OPENAPI_V2_SET = _HERE / "openapiv2.desc"

MAGIC = b"k8s\x00"
META_V1 = "k8s.io.apimachinery.pkg.apis.meta.v1"
META_GROUP = "meta.k8s.io"

# Registered by metav1.AddToGroupVersion into every API group version (so a DeleteOptions body may
# say apiVersion "v1", "apps/v1", "coordination.k8s.io/v1" or "meta.k8s.io/v1").
_OPTIONS_KINDS = frozenset(
    {"ListOptions", "GetOptions", "DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "WatchEvent"}
)
# Unversioned kinds: served as apiVersion "v1".
_UNVERSIONED_KINDS = frozenset({"Status", "APIVersions", "APIGroupList", "APIGroup", "APIResourceList"})

# shapes
SINGLE, REPEATED, MAP = 0, 1, 2
# conversion codes
SCALAR, DOUBLE, BYTES, MSG, QTY, TIME, MICRO, DUR, IOS, RAW, FIELDS, JSONRAW, SLICE, ORBOOL, ORARRAY, ORSTR = range(16)

_SPECIAL = {
    "k8s.io.apimachinery.pkg.api.resource.Quantity": QTY,
    "k8s.io.apimachinery.pkg.api.resource.QuantityValue": QTY,
    f"{META_V1}.Time": TIME,
    f"{META_V1}.MicroTime": MICRO,
    f"{META_V1}.Duration": DUR,
    f"{META_V1}.FieldsV1": FIELDS,
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": IOS,
    "k8s.io.apimachinery.pkg.runtime.RawExtension": RAW,
}
for _v in ("v1", "v1beta1"):
    _p = f"k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.{_v}"
    _SPECIAL[f"{_p}.JSON"] = JSONRAW
    _SPECIAL[f"{_p}.JSONSchemaPropsOrBool"] = ORBOOL
    _SPECIAL[f"{_p}.JSONSchemaPropsOrArray"] = ORARRAY
    _SPECIAL[f"{_p}.JSONSchemaPropsOrStringArray"] = ORSTR
# codes whose value needs the plan of a (nested) message: the message itself, or the schema inside
_NEEDS_SCHEMA_PLAN = {ORBOOL, ORARRAY, ORSTR}


class ProtobufDataError(ValueError):
    """The bytes are not a valid Kubernetes protobuf object (the caller answers 400); `kind` is the apiVersion and
    kind its envelope named, when the object itself failed."""

    def __init__(self, message: str, kind: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind


# decode ops (shape and code folded into one small int for the hot loop)
_OP_SCALAR, _OP_MSG, _OP_INLINE, _OP_REP_SCALAR, _OP_REP_MSG, _OP_MAP_SCALAR, _OP_MAP_MSG, \
    _OP_SPECIAL, _OP_REP_SPECIAL, _OP_MAP_SPECIAL, _OP_SKIP = range(11)


# What a plan keeps per field; `sub` is the plan of the field's message type (of the schema inside it, for the
# JSONSchemaPropsOr* codes), None for fields that hold no message.
#: (json name, shape, code, sub plan, pointer, keep, inline); json name is None for inline fields
_FieldFacts = tuple["str | None", int, int, "_Plan | None", bool, bool, bool]
#: (op, json name ("" for an inline field: its fields land in the parent's), keep zero value, sub plan, code)
_DecodeStep = tuple[int, str, bool, "_Plan | None", int]
#: (inline path, proto field name, shape, code, sub plan)
_EncodeStep = tuple[tuple[str, ...], str, int, int, "_Plan | None"]


class _Plan:
    """Per message type: field facts for decoding (by descriptor) and encoding (by JSON key)."""

    __slots__ = ("desc", "cls", "fields", "dec", "_enc")

    def __init__(self, desc: Descriptor) -> None:
        self.desc = desc
        self.cls: Any = None
        self.fields: dict[FieldDescriptor, _FieldFacts] = {}
        self.dec: dict[FieldDescriptor, _DecodeStep] = {}
        self._enc: dict[str, _EncodeStep] | None = None

    def add(self, fd: FieldDescriptor, json_name: str | None, shape: int, code: int, sub: _Plan | None,
            ptr: bool, keep: bool, inline: bool, hidden: bool) -> None:
        if not hidden:
            self.fields[fd] = (json_name, shape, code, sub, ptr, keep, inline)
        if hidden:
            op = _OP_SKIP
        elif shape == SINGLE:
            op = _OP_SCALAR if code == SCALAR else _OP_INLINE if inline else _OP_MSG if code == MSG else _OP_SPECIAL
        elif shape == REPEATED:
            op = _OP_REP_SCALAR if code == SCALAR else _OP_REP_MSG if code == MSG else _OP_REP_SPECIAL
        else:
            op = _OP_MAP_SCALAR if code == SCALAR else _OP_MAP_MSG if code == MSG else _OP_MAP_SPECIAL
        self.dec[fd] = (op, json_name or "", ptr or keep, sub, code)

    @property
    def enc(self) -> dict[str, _EncodeStep]:
        """JSON key -> (inline path, proto field name, shape, code, sub plan); inline fields flattened."""
        if self._enc is None:
            enc: dict[str, _EncodeStep] = {}
            for fd, (json_name, shape, code, sub, _ptr, _keep, inline) in self.fields.items():
                if inline:
                    assert sub is not None  # an inline field is a message
                    for key, (path, name, s, c, p) in sub.enc.items():
                        enc.setdefault(key, ((fd.name, *path), name, s, c, p))
                elif json_name is not None:
                    enc[json_name] = ((), fd.name, shape, code, sub)
            self._enc = enc
        return self._enc


def load_pool(path: Path) -> descriptor_pool.DescriptorPool:
    """A descriptor pool holding every file of the FileDescriptorSet at `path`."""
    pool = descriptor_pool.DescriptorPool()
    for fdp in descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file:
        pool.AddSerializedFile(fdp.SerializeToString())
    return pool


@functools.cache
def openapi_v2_document_class() -> Any:
    """gnostic's `openapi.v2.Document` message class (loaded on first use, apart from the Kubernetes kinds)."""
    return message_factory.GetMessageClass(load_pool(OPENAPI_V2_SET).FindMessageTypeByName("openapi.v2.Document"))


class _Registry:
    def __init__(self) -> None:
        self.pool = load_pool(DESCRIPTOR_SET)
        facts = json.loads(FIELD_FACTS.read_text())
        self.fields: dict[str, dict[str, dict[str, Any]]] = facts["fields"]
        self.slices: frozenset[str] = frozenset(facts["slices"])
        self.group_versions: dict[str, dict[str, Any]] = facts["groupVersions"]
        self.plans: dict[str, _Plan] = {}
        self.kinds: dict[tuple[str, str], _Plan | None] = {}
        self.lock = threading.RLock()
        self.unknown = self.plan("k8s.io.apimachinery.pkg.runtime.Unknown").cls
        self.watch_event = self.plan(f"{META_V1}.WatchEvent").cls

    # -- plans --------------------------------------------------------------------------------------
    def plan(self, full_name: str) -> _Plan:
        p = self.plans.get(full_name)
        if p is not None:
            return p
        with self.lock:
            p = self.plans.get(full_name)
            if p is None:
                p = self._build(self.pool.FindMessageTypeByName(full_name))
        return p

    def _build(self, desc: Descriptor) -> _Plan:
        p = _Plan(desc)
        self.plans[desc.full_name] = p  # registered before the fields: recursive types (JSONSchemaProps)
        p.cls = message_factory.GetMessageClass(desc)
        facts = self.fields.get(desc.full_name, {})
        for fd in desc.fields:
            f = facts.get(fd.name, {})
            shape = REPEATED if fd.is_repeated else SINGLE
            vfd = fd
            if shape == REPEATED and fd.type == FieldDescriptor.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
                shape = MAP
                vfd = fd.message_type.fields_by_name["value"]
            code, sub = self._code(vfd)
            p.add(fd, None if f.get("inline") else f.get("json", fd.name), shape, code, sub,
                  bool(f.get("ptr")), bool(f.get("keep")), bool(f.get("inline")), bool(f.get("hidden")))
        return p

    def _code(self, fd: FieldDescriptor) -> tuple[int, _Plan | None]:
        t = fd.type
        if t == FieldDescriptor.TYPE_MESSAGE:
            name = fd.message_type.full_name
            code = _SPECIAL.get(name)
            if code is None:
                if name in self.slices:
                    return SLICE, None
                return MSG, self.plan(name)
            if code in _NEEDS_SCHEMA_PLAN:
                return code, self.plan(fd.message_type.fields_by_name["schema"].message_type.full_name)
            return code, None
        if t == FieldDescriptor.TYPE_BYTES:
            return BYTES, None
        if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return DOUBLE, None
        return SCALAR, None

    # -- kinds --------------------------------------------------------------------------------------
    def resolve(self, api_version: str, kind: str) -> _Plan | None:
        key = (api_version, kind)
        try:
            return self.kinds[key]
        except KeyError:
            pass
        name = self._message_for(api_version, kind)
        p = self.plan(name) if name is not None else None
        self.kinds[key] = p
        return p

    def _message_for(self, api_version: str, kind: str) -> str | None:
        if not kind:
            return None
        gv = self.group_versions.get(api_version)
        if gv is not None and kind in gv["kinds"]:
            name = f"{gv['package']}.{kind}"
            if self._has(name):
                return name
            if api_version.startswith(META_GROUP + "/") and self._has(f"{META_V1}.{kind}"):
                return f"{META_V1}.{kind}"  # meta v1beta1 aliases the v1 types
            return None  # registered but without a protobuf form (meta Table)
        if kind in _OPTIONS_KINDS:
            return f"{META_V1}.{kind}"
        if kind in _UNVERSIONED_KINDS and api_version in ("v1", ""):
            return f"{META_V1}.{kind}"
        return None

    def _has(self, name: str) -> bool:
        try:
            self.pool.FindMessageTypeByName(name)
        except KeyError:
            return False
        return True


_registry: _Registry | None = None
_registry_lock = threading.Lock()


def registry() -> _Registry:
    global _registry
    r = _registry
    if r is None:
        with _registry_lock:
            if _registry is None:
                _registry = _Registry()
            r = _registry
    return r


# -- protobuf -> JSON dict ---------------------------------------------------------------------------
def to_dict(msg: Any, plan: _Plan) -> dict[str, Any]:
    """The JSON form of ``msg`` (see the omit-empty rule in the package docstring)."""
    out: dict[str, Any] = {}
    dec = plan.dec
    for fd, val in msg.ListFields():
        op, json_name, keep, sub, code = dec[fd]
        if op == _OP_SCALAR:
            if val or keep:
                out[json_name] = val
        elif op == _OP_MSG:
            assert sub is not None  # every message op has its plan (and below)
            v = to_dict(val, sub)
            if v or keep:
                out[json_name] = v
        elif op == _OP_REP_MSG:
            assert sub is not None
            out[json_name] = [to_dict(x, sub) for x in val]
        elif op == _OP_MAP_SCALAR:
            out[json_name] = dict(val)
        elif op == _OP_SPECIAL:
            v = _value(val, code, sub)
            if v is not None and (v or keep):
                out[json_name] = v
        elif op == _OP_REP_SCALAR:
            out[json_name] = list(val)
        elif op == _OP_INLINE:
            assert sub is not None
            out.update(to_dict(val, sub))
        elif op == _OP_MAP_MSG:
            assert sub is not None
            out[json_name] = {k: to_dict(x, sub) for k, x in val.items()}
        elif op == _OP_MAP_SPECIAL:
            out[json_name] = {k: _value(x, code, sub) for k, x in val.items()}
        elif op == _OP_REP_SPECIAL:
            out[json_name] = [_value(x, code, sub) for x in val]
    return out


def _value(val: Any, code: int, sub: _Plan | None) -> Any:
    """The JSON value of a field of a special type (or a plain message, ``MSG``); ``sub`` is set for the codes
    that hold a message (MSG and the JSONSchemaPropsOr* ones)."""
    if code == SCALAR:
        return val
    if code == MSG:
        assert sub is not None
        return to_dict(val, sub)
    if code == QTY:
        return val.string or "0"
    if code == TIME:
        if not val.ListFields():
            return None  # zero Time: Go marshals null
        s = val.seconds
        return None if s == _types.GO_ZERO_UNIX else _types.format_time(s)
    if code == MICRO:
        if not val.ListFields():
            return None
        s = val.seconds
        return None if s == _types.GO_ZERO_UNIX and not val.nanos else _types.format_micro_time(s, val.nanos)
    if code == IOS:
        return val.strVal if val.type == 1 else val.intVal
    if code == BYTES:
        return base64.b64encode(val).decode("ascii")
    if code == DOUBLE:
        return _types.json_float(val)
    if code == RAW:
        return _raw_json(val.raw)
    if code == FIELDS:
        return _raw_json(val.Raw)
    if code == JSONRAW:
        return _raw_json(val.raw)
    if code == SLICE:
        return list(val.items)
    if code == DUR:
        return _types.format_duration(val.duration)
    if code == ORBOOL:
        assert sub is not None
        return to_dict(val.schema, sub) if val.HasField("schema") else val.allows
    if code == ORARRAY:
        assert sub is not None
        if len(val.jSONSchemas):
            return [to_dict(x, sub) for x in val.jSONSchemas]
        return to_dict(val.schema, sub) if val.HasField("schema") else None
    if code == ORSTR:
        assert sub is not None
        if len(val.property):
            return list(val.property)
        return to_dict(val.schema, sub) if val.HasField("schema") else None
    raise AssertionError(code)


def _raw_json(raw: bytes) -> Any:
    """RawExtension / FieldsV1 / JSON bytes -> JSON value; a nested ``k8s\\0`` protobuf object is decoded."""
    if not raw:
        return None
    if raw[:4] == MAGIC:
        return decode_object(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ProtobufDataError(f"embedded raw data is neither JSON nor a protobuf object: {e}") from None


def decode_object(body: bytes, default_api_version: str = "", default_kind: str = "") -> dict[str, Any]:
    reg = registry()
    if body[:4] != MAGIC:
        raise ProtobufDataError(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]")
    if len(body) == 4:
        raise ProtobufDataError("empty body")
    try:
        unk = reg.unknown.FromString(body[4:])
    except Exception:  # google.protobuf.message.DecodeError; gogo's decoder mostly runs out of bytes first
        raise ProtobufDataError("unexpected EOF") from None
    api_version = unk.typeMeta.apiVersion or default_api_version
    kind = unk.typeMeta.kind or default_kind
    if not kind:
        raise ProtobufDataError(f"Object 'Kind' is missing in '{_type_meta(unk)}'")
    if unk.contentEncoding:
        raise ProtobufDataError(f"unsupported protobuf contentEncoding {unk.contentEncoding!r}")
    plan = reg.resolve(api_version, kind)
    if plan is None:
        if not api_version:
            raise ProtobufDataError(f"Object 'apiVersion' is missing in '{_type_meta(unk)}'")
        raise ProtobufDataError(f'no kind "{kind}" is registered for version "{api_version}" in protobuf')
    try:
        msg = plan.cls.FromString(unk.raw)
    except Exception:  # google.protobuf.message.DecodeError, worded as gogo's decoder mostly fails
        raise ProtobufDataError("unexpected EOF", (api_version, kind)) from None
    out: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    out.update(to_dict(msg, plan))
    return out


def _type_meta(unk: Any) -> str:
    return '{"apiVersion":%s,"kind":%s}' % (json.dumps(unk.typeMeta.apiVersion), json.dumps(unk.typeMeta.kind))


# -- JSON dict -> protobuf ---------------------------------------------------------------------------
def fill(msg: Any, plan: _Plan, obj: dict[str, Any]) -> None:
    """Set the fields of ``msg`` from the JSON dict ``obj``; keys without a proto field are ignored."""
    enc = plan.enc
    for key, v in obj.items():
        if v is None:
            continue
        fp = enc.get(key)
        if fp is None:
            continue
        path, name, shape, code, sub = fp
        target = msg
        for step in path:
            target = getattr(target, step)
        if shape == SINGLE:
            if code == SCALAR:
                setattr(target, name, v)
            elif code == BYTES:
                setattr(target, name, base64.b64decode(v))
            elif code == DOUBLE:
                setattr(target, name, float(v))
            else:
                m = getattr(target, name)
                m.SetInParent()
                _set(m, code, sub, v)
        elif shape == REPEATED:
            rep = getattr(target, name)
            if code == SCALAR:
                rep.extend(v)
            elif code == BYTES:
                rep.extend(base64.b64decode(x) for x in v)
            elif code == DOUBLE:
                rep.extend(float(x) for x in v)
            else:
                for x in v:
                    _set(rep.add(), code, sub, x)
        else:
            m = getattr(target, name)
            if code == SCALAR:
                m.update(v)
            elif code == BYTES:
                for k, x in v.items():
                    m[k] = base64.b64decode(x)
            elif code == DOUBLE:
                for k, x in v.items():
                    m[k] = float(x)
            else:
                for k, x in v.items():
                    _set(m[k], code, sub, x)


def _set(m: Any, code: int, sub: _Plan | None, v: Any) -> None:
    """Fill the message ``m`` of a special (or plain, ``MSG``) type from its JSON value ``v``."""
    if code == MSG:
        assert sub is not None
        fill(m, sub, v)
    elif code == QTY:
        m.string = v if isinstance(v, str) else _quantity_text(v)
    elif code == TIME:
        if v:
            m.seconds = _types.parse_time(v)[0]
    elif code == MICRO:
        if v:
            s, ns = _types.parse_time(v)
            m.seconds = s
            m.nanos = ns // 1000 * 1000
    elif code == IOS:
        if isinstance(v, str):
            m.type, m.intVal, m.strVal = 1, 0, v
        else:
            m.type, m.intVal, m.strVal = 0, int(v), ""
    elif code == RAW:
        m.raw = orjson.dumps(v)
    elif code == FIELDS:
        m.Raw = orjson.dumps(v)
    elif code == JSONRAW:
        m.raw = orjson.dumps(v)
    elif code == SLICE:
        m.items.extend(v)
    elif code == DUR:
        m.duration = _types.parse_duration(v)
    elif code == ORBOOL:
        assert sub is not None
        if isinstance(v, dict):
            m.allows = True
            m.schema.SetInParent()
            fill(m.schema, sub, v)
        else:
            m.allows = bool(v)
    elif code == ORARRAY:
        assert sub is not None
        if isinstance(v, list):
            for x in v:
                fill(m.jSONSchemas.add(), sub, x)
        elif v is not None:
            m.schema.SetInParent()
            fill(m.schema, sub, v)
    elif code == ORSTR:
        assert sub is not None
        if isinstance(v, list):
            m.property.extend(v)
        elif v is not None:
            m.schema.SetInParent()
            fill(m.schema, sub, v)
    else:
        raise AssertionError(code)


def _quantity_text(v: Any) -> str:
    if isinstance(v, bool):
        raise TypeError(f"invalid quantity {v!r}")
    if isinstance(v, float):
        v = _types.json_float(v)
    return str(v)


def encode_message(obj: dict[str, Any], plan: _Plan) -> bytes:
    msg = plan.cls()
    fill(msg, plan, obj)
    data: bytes = msg.SerializeToString(deterministic=True)
    return data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    unk = registry().unknown()
    unk.typeMeta.apiVersion = api_version
    unk.typeMeta.kind = kind
    unk.raw = raw
    unk.contentEncoding = ""
    unk.contentType = ""
    data: bytes = unk.SerializeToString()
    return MAGIC + data
