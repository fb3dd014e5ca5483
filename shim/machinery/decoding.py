"""Request bodies read as upstream's handlers read them, and their failures in its words.

A body is decoded in steps: its bytes into a value (JSON, YAML, protobuf), apiVersion and kind found in it
(`couldn't get version/kind`), then the value into the Go type of the kind it names. A failure before the kind
is known is "the object provided is unrecognized (must be of type K): ... (<the body's first bytes>)"; after, "K2
in version "v" cannot be handled as a K: ..." (transformDecodeError in apiserver's handlers).
"""
from __future__ import annotations

import base64
import posixpath
from typing import Any

import yaml

from shim.machinery import gojson, nesting
from shim.machinery.errors import StatusError, bad_request
from shim.machinery.golang import base64_error, quote
from shim.machinery.gojson import value_kind

#: how Go prints the struct SimpleMetaFactory.Interpret reads apiVersion and kind into
_FIND_KIND = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'


class DecodeError(ValueError):
    """Bytes that do not decode; `kind` is the apiVersion and kind the body named, when it got that far."""

    def __init__(self, message: str, kind: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.kind = kind


def summarize(body: bytes, limit: int = 30) -> str:
    """The first bytes of a body as upstream quotes them: text when it is a JSON object, else hex."""
    if not body:
        return "<empty>"
    shown = body[:limit]
    text = shown.decode("utf-8", errors="replace") if body[:1] == b"{" else shown.hex()
    return text + " ..." if len(body) > limit else text


def unrecognized(into: str, problem: str, body: bytes) -> StatusError:
    return bad_request(f"the object provided is unrecognized (must be of type {into}): {problem} "
                       f"({summarize(body)})")


def cannot_be_handled(kind: str, api_version: str, into: str, problem: str) -> StatusError:
    version = api_version.rsplit("/", 1)[-1]
    return bad_request(f"{kind} in version {quote(version)} cannot be handled as a {into}: {problem}")


def failure(into: str, err: DecodeError, body: bytes) -> StatusError:
    """The answer to a body that did not decode into the kind `into`."""
    if err.kind is not None:
        api_version, kind = err.kind
        return cannot_be_handled(kind, api_version, into, str(err))
    return unrecognized(into, str(err), body)


def interpret(value: Any) -> str | None:
    """Why apiVersion and kind cannot be read from a decoded body (SimpleMetaFactory.Interpret), or None."""
    prefix = "couldn't get version/kind; json parse error: json: cannot unmarshal "
    if value is not None and not isinstance(value, dict):
        return f"{prefix}{value_kind(value)} into Go value of type {_FIND_KIND}"
    for key, item in (value or {}).items():
        if key in ("apiVersion", "kind") and item is not None and not isinstance(item, str):
            return f"{prefix}{value_kind(item)} into Go struct field .{key} of type string"
    return None


def continue_error(token: str) -> str | None:
    """Why upstream refuses a continue token (storage.DecodeContinue), None when it would read it. The token is
    upstream's public shape: unpadded URL-safe base64 of {"v": "meta.k8s.io/v1", "rv": N, "start": key}."""
    invalid = "continue key is not valid"
    problem = base64_error(token, url=True, padded=False)
    if problem:
        return f"{invalid}: {problem}"
    data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    try:
        value = gojson.loads(data)
    except gojson.JSONError as err:
        return f"{invalid}: {err}"
    if not isinstance(value, dict):
        return f"{invalid}: json: cannot unmarshal {value_kind(value)} into Go value of type storage.continueToken"
    for key, go in (("v", "string"), ("rv", "int64"), ("start", "string")):
        item = value.get(key)
        wrong = item is not None and (not isinstance(item, int) or isinstance(item, bool) if go == "int64"
                                      else not isinstance(item, str))
        if wrong:
            return f"{invalid}: json: cannot unmarshal {value_kind(item)} into Go struct field continueToken.{key} " \
                   f"of type {go}"
    if value.get("v") != "meta.k8s.io/v1":
        return f"{invalid}: server does not recognize this encoded version {value.get('v') or ''}"
    if not value.get("rv"):
        return f"{invalid}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
    start = value.get("start") or ""
    if not start:
        return f"{invalid}: encoded start key empty (version meta.k8s.io/v1)"
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key or key.startswith("//"):
        return f"{invalid}: {start}"
    return None


# -- YAML, as sigs.k8s.io/yaml converts it to JSON (go-yaml, a port of libyaml like PyYAML's parser) ----------

#: PyYAML's problem texts and libyaml's for the same failure, where they differ
_PROBLEMS = (
    ("mapping values are not allowed here", "mapping values are not allowed in this context"),
    ("that cannot start any token", "found character that cannot start any token"),
    ("expected ',' or ']'", "did not find expected ',' or ']'"),
    ("expected ',' or '}'", "did not find expected ',' or '}'"),
    ("expected '<document start>'", "did not find expected <document start>"),
    ("found unknown escape character", "found unknown escape character"),
    ("expected alphabetic or numeric character", "did not find expected alphabetic or numeric character"),
    ("expected a comment or a line break", "did not find expected comment or line break"),
    ("could not find expected ':'", "could not find expected ':'"),
)


def _yaml_problem(err: yaml.MarkedYAMLError) -> str:
    problem = err.problem or "unknown problem parsing YAML content"
    if problem.startswith("expected <block end>"):
        return "did not find expected " + ("key" if "mapping" in (err.context or "") else "'-' indicator")
    for pyyaml, libyaml in _PROBLEMS:
        if pyyaml in problem:
            return libyaml
    return problem


def yaml_error(err: yaml.YAMLError) -> str:
    """go-yaml's error text for what PyYAML refused: `yaml: line 2: did not find expected ',' or ']'`. go-yaml
    names the problem's line counted from 0 (from 1 for the scanner's problems), or the context's."""
    if not isinstance(err, yaml.MarkedYAMLError):
        return f"yaml: {err}"
    line = 0
    if err.problem_mark is not None and err.problem_mark.line:
        line = err.problem_mark.line + (1 if isinstance(err, yaml.scanner.ScannerError) else 0)
    elif err.context_mark is not None:
        line = err.context_mark.line
    return "yaml: " + (f"line {line}: " if line else "") + _yaml_problem(err)


def yaml_to_json(body: bytes, repeated: list[str] | None = None) -> Any:
    """The first YAML document of a body as its JSON value (YAMLToJSON, to upstream's depth: see
    shim.machinery.nesting). The keys it repeats within a mapping are noted in `repeated`, as yaml.v2's strict
    mode words them."""
    loader = nesting.SafeLoader(body)
    try:
        node = loader.get_node() if loader.check_node() else None
        if node is not None and repeated is not None:
            repeated.extend(_repeated_keys(node))
        return nesting.json_value(loader.construct_document(node)) if node is not None else None
    except yaml.YAMLError as err:
        raise DecodeError(yaml_error(err)) from None
    finally:
        loader.dispose()


def _repeated_keys(root: yaml.Node) -> list[str]:
    """yaml.v2's strict-mode complaints, in its order: a mapping's values are read before the key is set, and
    the line named is the repeated value's (`line 9: key "foo" already set in map`). An explicit stack: the
    document may nest as deep as upstream reads."""
    found: list[str] = []
    #: (a node to visit, or a mapping's (key, value) to judge once its value was visited; the keys seen so far)
    stack: list[tuple[Any, set[tuple[str, str]] | None]] = [(root, None)]
    while stack:
        item, seen = stack.pop()
        if seen is not None:
            key, value = item
            if (key.tag, key.value) in seen:
                shown = quote(key.value) if key.tag.endswith(":str") else key.value
                found.append(f"line {value.start_mark.line + 1}: key {shown} already set in map")
            seen.add((key.tag, key.value))
        elif isinstance(item, yaml.SequenceNode):
            stack.extend((child, None) for child in reversed(item.value))
        elif isinstance(item, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key, value in reversed(item.value):
                if isinstance(key, yaml.ScalarNode):
                    stack.append(((key, value), keys))
                stack.append((value, None))
    return found
