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
    """RFC 6902; a failed test or a bad path is an Invalid or BadRequest as upstream answers."""
    if not isinstance(operations, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        return jsonpatch.JsonPatch(operations).apply(target)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise errors.StatusError(422, "Invalid", f"the server rejected our request due to an error in our "
                                 f"request: {exc}") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, KeyError,
            IndexError) as exc:
        raise errors.StatusError(422, "Invalid", f"the server rejected our request due to an error in our "
                                 f"request: {exc}") from None
