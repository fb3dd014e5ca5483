"""JSON patch (RFC 6902) and JSON merge patch (RFC 7386) applied to objects in their JSON form."""
from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from shim.machinery import errors

#: the PATCH media types Kubernetes takes
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902; an operation that fails (a test, a missing path, an unknown op) is upstream's bare 422."""
    if not isinstance(operations, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        return jsonpatch.JsonPatch(operations).apply(target)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError,
            IndexError):
        # upstream's handler drops the patch library's words: the client sees only that the request was wrong
        raise errors.generic_server_response(422) from None
