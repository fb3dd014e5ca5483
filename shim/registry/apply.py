"""Server-side apply (`application/apply-patch+yaml`): create or merge, with field ownership and conflicts.

The applied configuration is merged into the live object along the kind's schema and the manager owns
exactly the fields it applied (shim.machinery.managed_fields.apply, structured-merge-diff's Apply): fields it
applied before and no longer applies are removed unless someone else owns them; setting a field another
manager owns to a different value is a 409 conflict unless `force=true`, which takes the field over.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from shim.machinery import errors, fieldpath, managed_fields, nesting, typed
from shim.registry.generic import Registry
from shim.registry.options import Patch, WriteOptions, Written
from shim.registry.resource import ResourceInfo

Obj = dict[str, Any]


def applying(info: ResourceInfo, name: str, patch: Patch, opts: WriteOptions,
             subresource: str = "") -> Callable[[Obj], Obj]:
    """The read-modify-write step that applies the configuration `patch.body` to the live object, after
    checking the configuration; writes with it record their managedFields themselves (`fields_recorded`)."""
    applied = patch.body
    _check(info, name, applied, opts)
    rv = (applied.get("metadata") or {}).get("resourceVersion")
    types = info.strategy.field_types(info.api_version, info.kind)
    _check_typed(info, types, name, applied)

    def mutate(live: Obj) -> Obj:
        if rv and rv != live["metadata"].get("resourceVersion"):
            raise errors.stale(info.plural, name, info.group)
        result = managed_fields.apply(types, live, applied, opts.field_manager, patch.force, subresource)
        _refuse_repeated_keys(patch, opts)
        result["metadata"]["resourceVersion"] = live["metadata"].get("resourceVersion")
        return result

    return mutate


def _refuse_repeated_keys(patch: Patch, opts: WriteOptions) -> None:
    """fieldValidation=Strict refuses a configuration that repeats a key, once the apply itself succeeded
    (upstream's order: the apply's own errors come first)."""
    if patch.repeated and opts.field_validation == "Strict":
        raise errors.bad_request("error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal "
                                 "errors:\n  " + "\n  ".join(patch.repeated))


def repeated_key_warnings(patch: Patch, opts: WriteOptions) -> tuple[str, ...]:
    """fieldValidation=Warn: one Warning per repeated key, as upstream splits yaml.v2's error."""
    return patch.repeated if opts.field_validation == "Warn" else ()


def _check(info: ResourceInfo, name: str, applied: Any, opts: WriteOptions) -> None:
    if not opts.field_manager:
        raise errors.invalid("PatchOptions", "", [errors.field_required(
            "fieldManager", "is required for apply patch")], "meta.k8s.io")
    if not isinstance(applied, dict):
        raise errors.bad_request("the applied configuration must be an object")
    for key, want in (("apiVersion", info.api_version), ("kind", info.kind)):
        if applied.get(key) != want:
            raise errors.bad_request(f"{key} must be {want!r} in an applied configuration (got "
                                     f"{applied.get(key)!r})")
    meta = applied.get("metadata") or {}
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if meta.get("name") not in (None, name):
        raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the "
                                 f"URL ({name})")
    if meta.get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")
    for key in ("uid", "creationTimestamp"):
        if key in meta:
            raise errors.bad_request(f"metadata.{key} must not be set in an applied configuration")


def _check_typed(info: ResourceInfo, types: managed_fields.FieldTypes, name: str, applied: Obj) -> None:
    """The configuration converts to a typed value of its kind, whatever fieldValidation says (a field the
    schema does not declare, a value of the wrong type: upstream cannot type it otherwise), and nests no deeper
    than kubeshim goes. The wording is upstream's; its code is 500 there (kubernetes#139253, a plain error
    reaching the handler), 400 here, as the fix proposed upstream answers."""
    problems = [f"{fieldpath.render(path)}: {problem}" for path, problem in typed.validate(applied, types.atom)]
    if problems:
        namespace = (applied.get("metadata") or {}).get("namespace", "")
        gvk = f"{info.group}/{info.version}, Kind={info.kind}"
        listed = problems[0] if len(problems) == 1 else "\n  ".join(["errors:", *problems])
        raise errors.bad_request(f"failed to create typed patch object ({namespace}/{name}; {gvk}): {listed}")
    nesting.check(applied)


async def server_side_apply(registry: Registry, info: ResourceInfo, namespace: str, name: str, patch: Patch,
                            opts: WriteOptions) -> Written:
    """Create the object from the applied configuration (201), or merge it into the live one."""
    mutate = applying(info, name, patch, opts)
    ns = namespace if info.namespaced else ""
    recorded = dataclasses.replace(opts, fields_recorded=True)
    if registry.get_entry(info, ns, name) is None:
        types = info.strategy.field_types(info.api_version, info.kind)
        obj = managed_fields.apply(types, None, patch.body, opts.field_manager, patch.force)
        _refuse_repeated_keys(patch, opts)
        obj.setdefault("metadata", {})["name"] = name
        written = dataclasses.replace(await registry.create(info, ns, obj, recorded), created=True)
    else:
        written = await registry.update_with(info, ns, name, mutate, recorded)
    return dataclasses.replace(written, warnings=repeated_key_warnings(patch, opts) + written.warnings)
