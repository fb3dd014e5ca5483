"""Requests as hypothesis strategies: any operation of the OpenAPI documents (spec.py), its path filled from
small pools of names, query parameters from pools of likely and unlikely values, and a body generated from the
operation's schema, encoded as JSON, YAML or protobuf or made hostile.

Half the requests are plain (the required fields and a few optional ones of the schema's kinds, small lists
and maps, names from a pool of three, JSON both ways), so that creates succeed and later updates, patches,
deletes and subresources find the objects; the other half are noisy: values of the wrong type, unknown fields,
odd names, unlikely query values and Accept headers, and a quarter of their bodies hostile: nesting around
kubeshim's and upstream's limits, huge strings, invalid UTF-8, truncated or corrupted protobuf, YAML tricks,
wrong content types, garbage bytes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote

import yaml
from hypothesis import strategies as st

from shim.machinery import nesting, protobuf
from spec import Obj, Operation, Spec

NAMES = ("fz-a", "fz-b", "fz-c")
ODD_NAMES = ("", "Bad_Name", "a" * 300, "..", "a:b", "é", "a b", "-x", "fz-a.", "x" * 64)
PLAIN_STRINGS = ("a", "fz-a", "x-1", "Always", "IfNotPresent", "TCP", "busybox", "ClusterIP", "v1", "fz")
STRINGS = PLAIN_STRINGS + ("", "1", "true", "default", "*", "a.b/c", "0.5", "10.0.0.1", "None", "Orphan", "100m",
                           "1Gi", "2024-01-01T00:00:00Z")
WRONG = (None, "x", 1, -1.5, True, [], {}, ["x"], {"a": 1})
QUANTITIES = ("1", "100m", "1Gi", "0", "-1", "1e3", "x", "", "1.5Ki", "9" * 40)
TIMES = ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123456Z", "", "yesterday", "2024-13-40T99:99:99Z")
LABEL_KEYS = ("app", "fz", "a/b", "example.com/x", "bad key!", "", "x" * 70)
LABEL_VALUES = ("x", "", "a-b.c_d", "bad value!", "v" * 70)
#: fields validation wants that the schemas do not mark required: a plain body always has them
NEEDED = ("spec", "containers", "image", "port", "ports", "roleRef", "subjects", "target", "rules", "apiGroup")
DEEP = "__fuzz_deep__"  # where a hostile payload replaces a generated value, after encoding
_FROM_SCHEMA = object()

QUERY: dict[str, tuple[str, ...]] = {
    "pretty": ("true", "false", "x"),
    "dryRun": ("All", "", "Some"),
    "fieldManager": ("fz", "", "m" * 129, "a\x01b", "kubectl"),
    "fieldValidation": ("Strict", "Warn", "Ignore", "", "bogus"),
    "force": ("true", "false", "yes"),
    "gracePeriodSeconds": ("0", "1", "30", "-1", "x", "9" * 25),
    "orphanDependents": ("true", "false", "x"),
    "propagationPolicy": ("Orphan", "Background", "Foreground", "Sideways", ""),
    "labelSelector": ("fz=a", "fz in (a,b)", "!fz", "fz!=a", "a in (b", "=x", "i>2", "Bad Key=1", "a=" + "b" * 70),
    "fieldSelector": ("metadata.name=fz-a", "metadata.namespace!=x", "spec.nodeName=x", "status.phase=Running",
                      "metadata.name", "a=b=c", "metadata.name==fz-a,metadata.name!=fz-b"),
    "limit": ("1", "2", "0", "-1", "x", "100000"),
    "continue": ("", "eyJ2IjoxfQ", "x", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiIvIn0"),
    # none ahead of the store: upstream answers those 504 Timeout after waiting 3 s, as kubeshim does
    # (tests/differential compares that), which would take most of the run
    "resourceVersion": ("", "0", "1", "2", "x", "-1", "1.5"),
    "resourceVersionMatch": ("", "NotOlderThan", "Exact", "Sometime"),
    "watch": ("true", "false", "1", "0", "x"),
    "allowWatchBookmarks": ("true", "false", "x"),
    "sendInitialEvents": ("true", "false", "x"),
    "timeoutSeconds": ("1", "0", "-1", "x"),
    "includeObject": ("None", "Metadata", "Object", "x"),
    "container": ("c", "", "nope"),
    "follow": ("true", "false"),
    "previous": ("true", "false"),
    "tailLines": ("1", "0", "-1", "x"),
    "sinceSeconds": ("1", "0", "-5", "x"),
    "sinceTime": TIMES,
    "timestamps": ("true", "x"),
    "limitBytes": ("1", "0", "-1", "x"),
}
ACCEPT = ("application/json",) * 6 + (
    "application/yaml", "application/vnd.kubernetes.protobuf", "*/*", "",
    "application/json;as=Table;v=v1;g=meta.k8s.io", "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
    "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
    "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
    "application/yaml;as=Table;v=v1;g=meta.k8s.io", "application/json;as=Table;v=v9;g=meta.k8s.io",
    "text/html", "application/xml", "application/json, application/yaml;q=0.9", "application/json;as=Thing")
PATCH_TYPES = ("application/json-patch+json",) * 3 + ("application/merge-patch+json",) * 3 + (
    "application/strategic-merge-patch+json",) * 2 + ("application/apply-patch+yaml",) * 3 + (
    "application/apply-patch+cbor", "application/json", "text/plain")
WRONG_CONTENT_TYPES = ("text/plain", "application/xml", "application/cbor", "", "application/json; charset=latin1",
                       "application/json-patch+json", "*/*", "application/vnd.kubernetes.protobuf;stream=watch",
                       "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "image/png")
JSON_POINTERS = ("/metadata/labels/fz", "/metadata/labels", "/spec", "/data/k", "/metadata/name", "", "/",
                 "/a/b/c", "bad", "/metadata/finalizers/-", "/metadata/annotations/a~1b", "/status", "/spec/0")


@dataclass(frozen=True)
class Request:
    operation: Operation
    path: str
    params: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    content: bytes | None
    body: str  # what the body is: none, json, yaml, protobuf, or the hostile kind

    @property
    def method(self) -> str:
        return self.operation.method

    @property
    def streams(self) -> bool:
        """A request that may be answered with an endless stream (a watch, a followed log)."""
        names = {name for name, _ in self.params}
        return "/watch/" in self.path or bool(names & {"watch", "follow"})

    def describe(self) -> str:
        body = "" if self.content is None else f" {self.body} body {self.content[:160]!r}"
        if self.content is not None and len(self.content) > 160:
            body += f"... ({len(self.content)} bytes)"
        return f"{self.method} {self.path} {list(self.params)} {dict(self.headers)}{body}"


Draw = Callable[[st.SearchStrategy[Any]], Any]


def _pick(draw: Draw, values: tuple[Any, ...]) -> Any:
    return draw(st.sampled_from(values))


def _chance(draw: Draw, one_in: int) -> bool:
    return draw(st.integers(0, one_in - 1)) == 0


class Bodies:
    """Values of a schema: `value(draw, schema, depth, key)`."""

    MAX_DEPTH = 6

    def __init__(self, spec: Spec, namespace: str, noisy: bool) -> None:
        self.spec = spec
        self.namespace = namespace
        #: now and then a value of the wrong type, an unknown field, an odd name; else the schema's kinds only
        self.noisy = noisy

    def resolve(self, node: Any) -> tuple[Obj, str]:
        """The node behind $ref and one-element allOf, and the name of the definition it came from."""
        name = ""
        for _ in range(5):
            if not isinstance(node, dict):
                return {}, name
            ref = node.get("$ref")
            if not isinstance(ref, str) and isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
                ref = node["allOf"][0].get("$ref")
            if not isinstance(ref, str):
                return node, name
            name = ref.rsplit("/", 1)[-1]
            node = self.spec.schema(name)
        return {}, name

    def value(self, draw: Draw, node: Any, depth: int, key: str = "") -> Any:
        node, name = self.resolve(node)
        if self.noisy and _chance(draw, 25):
            return _pick(draw, WRONG)
        special = self._special(draw, name, node, key)
        if special is not _FROM_SCHEMA:
            return special
        kind = node.get("type")
        if kind == "object" or "properties" in node or "additionalProperties" in node:
            return self._object(draw, node, depth) if depth < self.MAX_DEPTH else {}
        if kind == "array":
            if depth >= self.MAX_DEPTH:
                return []
            size = draw(st.integers(0 if self.noisy else 1, 2))
            return [self.value(draw, node.get("items"), depth + 1) for _ in range(size)]
        if kind == "string":
            return self._string(draw, node)
        if kind == "integer":
            if self.noisy and _chance(draw, 4):
                return _pick(draw, (2 ** 31, 2 ** 63, -(2 ** 63) - 1, 10 ** 30))
            return draw(st.integers(-2, 5))
        if kind == "number":
            return draw(st.one_of(st.integers(0, 3), st.floats(-1e6, 1e6, allow_nan=False)))
        if kind == "boolean":
            return draw(st.booleans())
        return _pick(draw, ("x", 1, True, {"a": "b"}, ["x"], None, "50%"))  # untyped: any of them

    def _special(self, draw: Draw, name: str, node: Obj, key: str) -> Any:
        """Values the schema alone would rarely make valid (_FROM_SCHEMA: none, generate from the schema)."""
        if name.endswith(".resource.Quantity"):
            return _pick(draw, QUANTITIES)
        if name.endswith(".intstr.IntOrString") or node.get("format") == "int-or-string":
            return _pick(draw, (80, 0, -1, "80", "50%", "http", "x y"))
        if name.endswith((".meta.v1.Time", ".meta.v1.MicroTime")) or node.get("format") == "date-time":
            return _pick(draw, TIMES)
        if key in ("labels", "annotations", "matchLabels", "nodeSelector", "selector") and \
                node.get("type") == "object" and "properties" not in node:
            if not self.noisy:
                return {"fz": "a"} if draw(st.booleans()) else {}
            return {_pick(draw, LABEL_KEYS): _pick(draw, LABEL_VALUES) for _ in range(draw(st.integers(0, 2)))}
        if key == "metadata" and not self.noisy and name.endswith(".meta.v1.ObjectMeta"):
            return {"name": _pick(draw, NAMES)}
        if key == "name":
            return _pick(draw, NAMES + NAMES + ODD_NAMES if self.noisy else NAMES)
        if key == "namespace":
            return _pick(draw, (self.namespace, self.namespace, "other", ""))
        if key == "resourceVersion":
            return _pick(draw, ("", "1", "abc", "99999999999", "0"))
        return _FROM_SCHEMA

    def _object(self, draw: Draw, node: Obj, depth: int) -> Obj:
        out: Obj = {}
        properties = node.get("properties") or {}
        if properties:
            required = [k for k in node.get("required") or () if k in properties]
            if not self.noisy:
                required += [k for k in NEEDED if k in properties and k not in required]
            optional = sorted(set(properties) - set(required))
            most = 3 if self.noisy else 1
            chosen = required + (draw(st.lists(st.sampled_from(optional), max_size=most, unique=True))
                                 if optional else [])
            for key in chosen:
                if key in required or not _chance(draw, 10):
                    out[key] = self.value(draw, properties[key], depth + 1, key)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            for _ in range(draw(st.integers(0, 2))):
                keys = ("a", "k", "fz", "bad key!", "") if self.noisy else ("a", "k", "fz")
                out[_pick(draw, keys)] = self.value(draw, extra, depth + 1)
        elif node.get("x-kubernetes-preserve-unknown-fields") or not properties:
            for _ in range(draw(st.integers(0, 1))):
                out[_pick(draw, ("x", "y"))] = _pick(draw, WRONG)
        if self.noisy and _chance(draw, 15):
            out["zz-unknown"] = _pick(draw, WRONG)
        return out

    def _string(self, draw: Draw, node: Obj) -> str:
        if node.get("format") == "byte":
            return _pick(draw, ("aGk=", "", "!!", "aGk"))
        if isinstance(node.get("enum"), list) and node["enum"] and not _chance(draw, 4):
            return str(_pick(draw, tuple(node["enum"])))
        if not self.noisy:
            return _pick(draw, PLAIN_STRINGS)
        if _chance(draw, 5):
            return draw(st.text(max_size=12))
        return _pick(draw, STRINGS)

    def kind_object(self, draw: Draw, schema: str, name: str) -> Obj:
        """An object of `schema` with its apiVersion and kind (mostly right) and a name (mostly `name`)."""
        obj = self.value(draw, {"$ref": f"#/components/schemas/{schema}"}, 0)
        if not isinstance(obj, dict):
            return obj
        gvk = (self.spec.schema(schema).get("x-kubernetes-group-version-kind") or [{}])[0]
        if not _chance(draw, 10):
            group = gvk.get("group", "")
            obj["apiVersion"] = f"{group}/{gvk.get('version')}" if group else gvk.get("version", "v1")
            obj["kind"] = gvk.get("kind", "")
        meta = obj.get("metadata")
        if (isinstance(meta, dict) or meta is None) and not _chance(draw, 8):
            meta = obj["metadata"] = meta or {}
            meta["name"] = name
        return obj


@st.composite
def request_to(draw: Draw, spec: Spec, op: Operation, namespace: str) -> Request:
    """One request to `op`, for the fuzz namespace `namespace`."""
    noisy = draw(st.booleans())
    bodies = Bodies(spec, namespace, noisy)
    names: dict[str, str] = {}
    path = op.path
    for param in ("namespace", "name"):
        if "{" + param + "}" in path:
            value = _pick(draw, (namespace,) * 6 + ("fz-a", "nope", "Bad_NS", "")) if param == "namespace" \
                else _pick(draw, NAMES * 4 + ODD_NAMES if noisy else NAMES)
            names[param] = value
            path = path.replace("{" + param + "}", quote(value, safe=""))
    params = _query(draw, op) if noisy or _chance(draw, 4) else []
    if op.action == "patch" and ("fieldManager", "fz") not in params and not _chance(draw, 4):
        params.append(("fieldManager", "fz"))
    headers = [("Accept", _pick(draw, ACCEPT) if noisy else "application/json")]
    content, content_type, body = _body(draw, bodies, op, names.get("name") or _pick(draw, NAMES), noisy)
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    if op.method == "DELETE" and "{namespace}" not in op.path and names.get("name", "") == "":
        # a collection delete of cluster-scoped objects (an empty name too reaches the collection): the
        # cluster's own objects (system roles, CRDs, API services...) are not the fuzzer's to delete wholesale
        params = [(k, v) for k, v in params if k != "labelSelector"] + [("labelSelector", "fz-owned=yes")]
    return Request(op, path, tuple(params), tuple(headers), content, body)


def _query(draw: Draw, op: Operation) -> list[tuple[str, str]]:
    params = [(name, _pick(draw, QUERY.get(name, ("x", "")))) for name in op.query if _chance(draw, 4)]
    if _chance(draw, 8):
        name = _pick(draw, tuple(QUERY) + ("zz", "", "zz"))
        params.append((name, _pick(draw, QUERY[name]) if name in QUERY else draw(st.text(max_size=10))))
    return params


def _body(draw: Draw, bodies: Bodies, op: Operation, name: str,
          noisy: bool) -> tuple[bytes | None, str | None, str]:
    """(content, content type, what it is) for the operation."""
    if op.action == "patch":
        content_type = _pick(draw, PATCH_TYPES)
        value = _patch(draw, bodies, op, content_type, name)
        encoding = "yaml" if content_type.startswith("application/apply-patch") and _chance(draw, 2) else "json"
    elif op.body is not None and op.method in ("POST", "PUT"):
        content_type = "application/json"
        value = bodies.kind_object(draw, op.body, name)
        encoding = _pick(draw, ("json",) * 6 + ("yaml", "protobuf"))
        if encoding != "json":
            content_type = {"yaml": "application/yaml", "protobuf": "application/vnd.kubernetes.protobuf"}[encoding]
    elif op.body is not None and not _chance(draw, 3):  # DeleteOptions, mostly left out
        return None, None, "none"
    elif op.body is not None:
        content_type, encoding = "application/json", "json"
        value = bodies.value(draw, {"$ref": f"#/components/schemas/{op.body}"}, 0)
    elif _chance(draw, 20):
        content_type, encoding, value = "application/json", "json", {"a": 1}
    else:
        return None, None, "none"
    if noisy and _chance(draw, 4):
        return _hostile(draw, value, content_type)
    return _encode(value, encoding), content_type, encoding


def _patch(draw: Draw, bodies: Bodies, op: Operation, content_type: str, name: str) -> Any:
    if content_type == "application/json-patch+json":
        ops = []
        for _ in range(draw(st.integers(0, 3))):
            step: Obj = {"op": _pick(draw, ("add", "remove", "replace", "test", "move", "copy", "jump")),
                         "path": _pick(draw, JSON_POINTERS)}
            if not _chance(draw, 4):
                step["value"] = _pick(draw, WRONG + ("fz", {"fz": "a"}))
            if step["op"] in ("move", "copy"):
                step["from"] = _pick(draw, JSON_POINTERS)
            ops.append(step)
        return ops
    if op.kind is None:
        return {"metadata": {"labels": {"fz": "a"}}}
    if content_type.startswith("application/apply-patch"):
        return bodies.kind_object(draw, op.kind, name)
    partial = bodies.value(draw, {"$ref": f"#/components/schemas/{op.kind}"}, 1)
    if isinstance(partial, dict) and _chance(draw, 4):
        partial[_pick(draw, ("metadata", "spec", "status", "data"))] = None
    return partial


def _encode(value: Any, encoding: str) -> bytes:
    if encoding == "yaml":
        return yaml.safe_dump(value).encode()
    if encoding == "protobuf" and isinstance(value, dict):
        try:
            return protobuf.encode(value)
        except Exception:  # noqa: BLE001 - a kind without protobuf, or a value it cannot carry: JSON then
            pass
    return json.dumps(value).encode()


def _hostile(draw: Draw, value: Any, content_type: str) -> tuple[bytes, str, str]:
    kind = _pick(draw, ("deep", "deep", "huge", "utf8", "protobuf", "content-type", "garbage", "empty", "yaml"))
    if kind in ("deep", "huge", "utf8"):
        holder = value if isinstance(value, dict) else {"items": value}
        where = _pick(draw, ("spec", "data", "metadata", "status", "zz"))
        if where == "metadata" and isinstance(holder.get("metadata"), dict):
            holder["metadata"] = {**holder["metadata"], "annotations": DEEP}
        else:
            holder[where] = DEEP
        text = json.dumps(holder).encode()
        if kind == "deep":
            depth = _pick(draw, (nesting.MAX_DEPTH - 3, nesting.MAX_DEPTH + 1, 1025, 5000, nesting.DECODE_LIMIT + 1))
            payload = (b"[" * depth + b"]" * depth) if draw(st.booleans()) else \
                (b'{"a":' * depth + b"1" + b"}" * depth)
        elif kind == "huge":
            payload = b'"' + b"x" * _pick(draw, (1 << 16, 1 << 20, 3 * (1 << 20) + 1)) + b'"'
        else:
            payload = _pick(draw, (b'"a\xffb"', b'"\xc3\x28"', b'"\xed\xa0\x80"', b'"\xf8\x88\x80\x80\x80"'))
        return text.replace(json.dumps(DEEP).encode(), payload), content_type, kind
    if kind == "protobuf":
        encoded = _encode(value, "protobuf")
        cut = draw(st.integers(0, max(0, len(encoded) - 1)))
        if draw(st.booleans()):
            return encoded[:cut], "application/vnd.kubernetes.protobuf", "truncated-protobuf"
        flipped = encoded[:cut] + bytes([encoded[cut] ^ 0xFF]) + encoded[cut + 1:] if encoded else b"\xff"
        return flipped, "application/vnd.kubernetes.protobuf", "corrupt-protobuf"
    if kind == "content-type":
        return _encode(value, "json"), _pick(draw, WRONG_CONTENT_TYPES), "wrong-content-type"
    if kind == "garbage":
        return draw(st.binary(max_size=64)), content_type, "garbage"
    if kind == "empty":
        return b"", content_type, "empty"
    tricks = (b"a: &a [1, 2]\nb: *a\n", b"x: !!binary aGk=\ny: !!set {a, b}\n", b"--- a\n--- b\n", b"\t- x\n",
              b"a: &a [*a]\n", b"a: {b: [c, {d: e}]}\nmetadata: {name: fz-a}\n", b"? [a]\n: b\n",
              b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n",
              b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
              b"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
              b"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n")
    yaml_type = "application/apply-patch+yaml" if content_type.startswith("application/apply") else "application/yaml"
    return _pick(draw, tricks), yaml_type, "yaml-trick"
