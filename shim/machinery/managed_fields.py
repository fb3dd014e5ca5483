"""metadata.managedFields: who owns which fields, computed as kube-apiserver's field manager does.

The model is structured-merge-diff's: each manager (identified by name, operation, apiVersion for updates and
subresource) owns a `fieldpath.Set`. The steps follow upstream's field manager chain
(k8s.io/apimachinery/pkg/util/managedfields/internal):

- the managedFields a write carries replace the stored ones when they decode (an update or patch may set them;
  `[]` or `[{}]` clears them), else the stored ones stay (`decodeLiveOrNew`); subresource writes always
  keep the stored ones;
- an object without managedFields is not tracked by updates until an apply (`skipNonApplied`), which first
  gives everything already there to `before-first-apply`;
- an update owns what it added or changed, compared with the stored object as Go types hold them (so a
  field the server fills in after the request, such as a Service's clusterIP, is nobody's); what it changed
  or removed is taken from everyone else (`structuredmerge` + `managedFieldsUpdater`);
- an apply owns exactly the fields of its configuration; fields it applied before and no longer applies
  are removed unless someone else owns them; changing a field another manager owns is a conflict unless
  forced (`merge.Updater.Apply`); kubectl's own manager may take over what its client-side apply set
  (`lastAppliedManager`) and keeps the last-applied annotation up to date (`lastAppliedUpdater`);
- metadata the server owns is nobody's (`stripMeta`), at most ten update managers are kept
  (`capManagers`), entries are sorted by operation, time and manager.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from shim.machinery import errors, fieldpath, timeutil, typed
from shim.machinery.fieldpath import Path, Set

Obj = dict[str, Any]
Filter = Callable[[Set], Set]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_UPDATE_MANAGERS = 10
MAX_MANAGER_LENGTH = 128
MAX_SUBRESOURCE_LENGTH = 256
_STRIPPED = Set.of(*((fieldpath.field(name),) for name in ("apiVersion", "kind", "metadata")),
                   *((fieldpath.field("metadata"), fieldpath.field(name)) for name in (
                       "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
                       "managedFields", "resourceVersion")))
_STATUS = Set.of((fieldpath.field("status"),))


@dataclass(frozen=True)
class FieldTypes:
    """What the field manager knows of a kind: its type, how Go holds its objects, its status subresource."""
    api_version: str
    kind: str
    atom: typed.Atom
    view: Callable[[Obj], Obj] = lambda obj: obj
    status_subresource: bool = False

    def scope(self, obj: Obj, subresource: str) -> Obj:
        """The part of `obj` a write through `subresource` can own (what `reset` keeps), in Go's view; comparing
        only that part gives the same sets for less work."""
        if subresource == "status":
            obj = {k: v for k, v in obj.items() if k in ("apiVersion", "kind", "metadata", "status")}
        elif self.status_subresource and not subresource and "status" in obj:
            obj = {k: v for k, v in obj.items() if k != "status"}
        return self.view(obj)

    def reset(self, subresource: str) -> Filter:
        """The fields a write through `subresource` may not own (upstream's ResetFields): status on the main
        endpoint of a kind with a status subresource, everything but status and metadata through /status (the
        metadata a status write may not change, its rules keep as it was)."""
        if subresource == "status":
            return _status_and_metadata
        if self.status_subresource and not subresource:
            return lambda s: s.recursive_difference(_STATUS)
        return lambda s: s


def _status_and_metadata(fields: Set) -> Set:
    out = Set()
    for name in ("metadata", "status"):
        element = fieldpath.field(name)
        if element in fields.children:
            out.children[element] = fields.children[element].copy()
    return out


@dataclass
class Owned:
    fields: Set
    api_version: str
    applied: bool


@dataclass
class Managed:
    """Managers (by identifier) with their sets and times."""
    owners: dict[str, Owned] = field(default_factory=dict)
    times: dict[str, Any] = field(default_factory=dict)


class Conflicts(Exception):
    def __init__(self, conflicts: list[tuple[str, Path]]) -> None:
        super().__init__(conflicts)
        self.conflicts = conflicts


# -- identifiers and encoding ---------------------------------------------------------------------------------


def manager_id(manager: str, operation: str, api_version: str, subresource: str) -> str:
    """Upstream's manager identifier: the entry without time and fields (and without apiVersion for Apply)."""
    entry = {"manager": manager, "operation": operation,
             "apiVersion": "" if operation == "Apply" else api_version, "subresource": subresource}
    return json.dumps({k: v for k, v in entry.items() if v}, separators=(",", ":"))


def decode(entries: Any) -> Managed:
    """Stored managedFields as sets; raises ValueError where upstream's decoder refuses them."""
    if entries is None:
        return Managed()
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")
    out = Managed()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"managed fields entry {i} is not an object")
        operation = entry.get("operation")
        if operation not in ("Apply", "Update"):
            raise ValueError("operation must be `Apply` or `Update`")
        api_version = entry.get("apiVersion")
        if not isinstance(api_version, str) or not api_version:
            raise ValueError("apiVersion must not be empty")
        fields_type = entry.get("fieldsType")
        if fields_type != "FieldsV1":
            raise ValueError(f"invalid fieldsType in managed fields entry {i}")
        manager, subresource = entry.get("manager", ""), entry.get("subresource", "")
        if not isinstance(manager, str) or not isinstance(subresource, str):
            raise ValueError(f"invalid manager in managed fields entry {i}")
        try:
            owned = Set.from_fields(entry.get("fieldsV1") or {})
        except fieldpath.InvalidFields as err:
            raise ValueError(f"error decoding set: {err}") from None
        key = manager_id(manager, operation, api_version, subresource)
        out.owners[key] = Owned(owned, api_version, operation == "Apply")
        out.times[key] = entry.get("time")
    return out


def is_reset(entries: Any) -> bool:
    """`managedFields: []` or `[{}]`: the writer clears them."""
    return isinstance(entries, list) and (not entries or entries == [{}])


def encode(managed: Managed) -> list[Obj]:
    """managedFields entries, sorted as upstream sorts them."""
    out = []
    for key, owned in managed.owners.items():
        ident = json.loads(key)
        entry: Obj = {"manager": ident.get("manager", ""),
                      "operation": "Apply" if owned.applied else "Update", "apiVersion": owned.api_version}
        if managed.times.get(key) is not None:
            entry["time"] = managed.times[key]
        entry["fieldsType"] = "FieldsV1"
        entry["fieldsV1"] = owned.fields.to_fields()
        if ident.get("subresource"):
            entry["subresource"] = ident["subresource"]
        out.append(entry)

    def order(e: Obj) -> tuple[Any, ...]:
        return (e["operation"], str(e.get("time") or ""), e["manager"], e["apiVersion"], e.get("subresource", ""))
    return sorted(out, key=order)


def validate(entries: Any) -> list[dict[str, str]]:
    """Causes for managedFields that decode but that ObjectMeta validation refuses."""
    causes: list[dict[str, str]] = []
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        path = f"metadata.managedFields[{i}]"
        manager = entry.get("manager", "") if isinstance(entry, dict) else ""
        if len(manager.encode()) > MAX_MANAGER_LENGTH:
            causes.append(errors.field_too_long(f"{path}.manager", "", MAX_MANAGER_LENGTH))
        for pos, char in enumerate(manager):
            if not char.isprintable():
                causes.append(errors.field_invalid(f"{path}.manager", manager,
                                                   f"invalid character U+{ord(char):04X} (at position {pos})"))
        subresource = entry.get("subresource", "") if isinstance(entry, dict) else ""
        if len(subresource) > MAX_SUBRESOURCE_LENGTH:
            causes.append(errors.field_too_long(f"{path}.subresource", "", MAX_SUBRESOURCE_LENGTH))
    return causes


def comparable(entries: Any) -> Any:
    """managedFields without their times: a write that changes only those changes nothing."""
    if not isinstance(entries, list):
        return entries
    return [{k: v for k, v in e.items() if k != "time"} if isinstance(e, dict) else e for e in entries]


def _store(obj: Obj, managed: Managed) -> None:
    meta = obj.setdefault("metadata", {})
    entries = encode(managed)
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


# -- update ---------------------------------------------------------------------------------------------------


def update(types: FieldTypes, live: Obj | None, new: Obj, manager: str, subresource: str = "") -> None:
    """Record in `new` the managedFields after `manager` wrote it over `live` (None: a create) with an update,
    a patch or a create. Mutates `new`'s metadata."""
    meta = new.setdefault("metadata", {})
    live_meta = (live or {}).get("metadata") or {}
    managed = _live_or_new(live_meta.get("managedFields"), meta.get("managedFields"), bool(subresource))
    meta.pop("managedFields", None)
    if not managed.owners and live is not None:
        return  # untracked until an apply
    ident = manager_id(manager or "unknown", "Update", types.api_version, subresource)
    # a create compares with the empty object (upstream's `Creater.New`, as Go holds it)
    base = live if live is not None else {"apiVersion": types.api_version, "kind": types.kind}
    _update(types, types.scope(base, subresource), types.scope(new, subresource), managed, ident,
            types.reset(subresource))
    _cap(managed, types.api_version)
    _store(new, managed)


def _live_or_new(live_entries: Any, new_entries: Any, subresource: bool) -> Managed:
    if not subresource:
        if is_reset(new_entries):
            return Managed()
        try:
            managed = decode(new_entries)
        except ValueError:
            managed = Managed()
        if managed.owners:
            return managed
    try:
        return decode(live_entries)
    except ValueError:
        return Managed()


def _update(types: FieldTypes, live: Obj, new: Obj, managed: Managed, ident: str, reset: Filter) -> None:
    """An update's ownership: the changed fields leave their other owners and join `ident`'s."""
    comparison = typed.compare(live, new, types.atom).filtered(reset)
    _take(managed, comparison, skip=None)
    current = comparison.modified.union(comparison.added).difference(_STRIPPED)
    if current.empty():
        return
    previous = managed.owners.get(ident)
    owned = current if previous is None else current.union(previous.fields)
    managed.owners[ident] = Owned(owned, types.api_version, False)
    managed.times[ident] = timeutil.now_string()


def _take(managed: Managed, comparison: typed.Comparison, skip: str | None) -> list[tuple[str, Path]]:
    """Take the changed fields from their owners (all but `skip`); returns what was taken (the conflicts)."""
    changed = comparison.modified.union(comparison.added)
    taken: list[tuple[str, Path]] = []
    for key in list(managed.owners):
        if key == skip:
            continue
        owned = managed.owners[key]
        conflict = owned.fields.intersection(changed)
        taken.extend((key, path) for path in conflict.paths())
        rest = owned.fields.difference(conflict).difference(comparison.removed)
        if rest.empty():
            del managed.owners[key]
            managed.times.pop(key, None)
        else:
            owned.fields = rest
    return taken


def _cap(managed: Managed, api_version: str) -> None:
    """At most MAX_UPDATE_MANAGERS update managers: the oldest merge into `ancient-changes`, per version."""
    updaters = [key for key, owned in managed.owners.items() if not owned.applied]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda key: (str(managed.times.get(key) or ""), key))
    first_of_version: dict[str, str] = {}
    count = len(updaters)
    for key in updaters:
        if count <= MAX_UPDATE_MANAGERS:
            break
        owned = managed.owners[key]
        bucket = manager_id("ancient-changes", "Update", owned.api_version, "")
        if owned.api_version not in first_of_version:
            first_of_version[owned.api_version] = key
            continue
        if bucket not in managed.owners:
            first = first_of_version[owned.api_version]
            managed.owners[bucket] = managed.owners.pop(first)
            managed.times[bucket] = managed.times.pop(first, None)
        merged = managed.owners[bucket]
        managed.owners[bucket] = Owned(owned.fields.union(merged.fields), owned.api_version, owned.applied)
        managed.times[bucket] = managed.times.get(key)
        del managed.owners[key]
        managed.times.pop(key, None)
        count -= 1


# -- apply ----------------------------------------------------------------------------------------------------


def apply(types: FieldTypes, live: Obj | None, config: Obj, manager: str, force: bool,
          subresource: str = "") -> Obj:
    """The object after `manager` applied `config` to `live` (None: it does not exist yet), its managedFields
    set; raises a 409 StatusError on conflicts unless `force`."""
    base: Obj = live if live is not None else {"apiVersion": types.api_version, "kind": types.kind, "metadata": {}}
    try:
        managed = decode((base.get("metadata") or {}).get("managedFields"))
    except ValueError:
        managed = Managed()
    reset = types.reset(subresource)
    if not managed.owners and live is not None:
        _update(types, types.scope({"apiVersion": types.api_version, "kind": types.kind}, subresource),
                types.scope(live, subresource), managed,
                manager_id("before-first-apply", "Update", types.api_version, subresource), reset)
    ident = manager_id(manager, "Apply", "", subresource)
    try:
        result, after = _apply(types, base, config, managed, ident, force, subresource)
    except Conflicts as err:
        if manager != "kubectl":
            raise conflict_error(err.conflicts) from None
        allowed = _allowed_by_last_applied(types, base)
        rest = [(m, p) for m, p in err.conflicts if allowed is None or not allowed.has(p)]
        if rest:
            raise conflict_error(rest) from None
        result, after = _apply(types, base, config, managed, ident, True, subresource)
    if not typed.equal(types.view(base), types.view(result)):
        after.times[ident] = timeutil.now_string()
    meta = result.setdefault("metadata", {})
    meta.pop("managedFields", None)
    if manager == "kubectl" and (meta.get("annotations") or {}).get(LAST_APPLIED):
        meta["annotations"][LAST_APPLIED] = last_applied(config)
    _store(result, after)
    return result


def _apply(types: FieldTypes, live: Obj, config: Obj, managed: Managed, ident: str, force: bool,
           subresource: str) -> tuple[Obj, Managed]:
    """structured-merge-diff's Updater.Apply on a copy of `managed`."""
    reset = types.reset(subresource)
    managed = Managed({k: Owned(v.fields, v.api_version, v.applied) for k, v in managed.owners.items()},
                      dict(managed.times))
    merged = typed.merge(live, config, types.atom)
    merged = merged if isinstance(merged, dict) else {}
    previous = managed.owners.get(ident)
    managed.owners[ident] = Owned(reset(typed.to_field_set(config, types.atom)).difference(_STRIPPED),
                                  types.api_version, True)
    managed.times.setdefault(ident, None)
    if previous is not None and not previous.fields.empty():
        merged = _prune(types.atom, merged, managed, previous.fields)
    comparison = typed.compare(types.scope(live, subresource), types.scope(merged, subresource),
                               types.atom).filtered(reset)
    changed = comparison.modified.union(comparison.added)
    conflicts = [(key, path) for key, owned in managed.owners.items() if key != ident
                 for path in owned.fields.intersection(changed).paths()]
    if conflicts and not force:
        raise Conflicts(conflicts)
    _take(managed, comparison, skip=ident)
    return merged, managed


def _prune(atom: typed.Atom, merged: Obj, managed: Managed, last: Set) -> Obj:
    """Remove what the applier applied last time and no longer applies, unless someone else owns it."""
    def ensure(fields: Set) -> Set:
        return typed.ensure_named_fields_are_members(fields, atom)

    last_set = ensure(last)
    pruned = typed.remove_items(merged, last_set, atom)
    owned = Set()
    for entry in managed.owners.values():
        owned = owned.union(entry.fields)
    merged_set = ensure(typed.to_field_set(merged, atom))
    pruned_set = ensure(typed.to_field_set(pruned, atom))
    pruned = typed.remove_items(merged, merged_set.difference(pruned_set.union(ensure(owned))), atom)
    pruned_set = ensure(typed.to_field_set(pruned, atom))
    result = typed.remove_items(merged, merged_set.difference(pruned_set).intersection(last_set), atom)
    return result if isinstance(result, dict) else {}


def _allowed_by_last_applied(types: FieldTypes, live: Obj) -> Set | None:
    """The fields kubectl's client-side apply set and the live object still holds as it set them: a
    server-side apply by `kubectl` may take them over."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        last = json.loads(text)
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != types.api_version:
        return None
    comparison = typed.compare(last, types.view(live), types.atom)
    return typed.to_field_set(last, types.atom).difference(comparison.modified).difference(
        comparison.added).difference(comparison.removed)


def last_applied(config: Obj) -> str:
    """The last-applied annotation for `config`: itself without that annotation, as Go's JSON encoder
    writes it."""
    body = json.loads(json.dumps(config))
    annotations = (body.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    text = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def conflict_error(conflicts: list[tuple[str, Path]]) -> errors.StatusError:
    """Upstream's 409 for apply conflicts: one cause per conflicting field, the message listing them."""
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {_print_manager(m)}",
               "field": fieldpath.render(p)} for m, p in conflicts]
    if len(conflicts) == 1:
        manager, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_print_manager(manager)}: {fieldpath.render(path)}"
    else:
        by_manager: dict[str, list[Path]] = {}
        for manager, path in conflicts:
            by_manager.setdefault(manager, []).append(path)
        lines = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {_print_manager(manager)}:")
            lines.extend(f"- {fieldpath.render(p)}" for p in by_manager[manager])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.StatusError(409, "Conflict", message, causes=causes)


def _print_manager(key: str) -> str:
    ident = json.loads(key)
    text = json.dumps(ident.get("manager", ""))
    if ident.get("subresource"):
        text += f" with subresource {json.dumps(ident['subresource'])}"
    if ident.get("operation") == "Update":
        text += f" using {ident.get('apiVersion', '')}"
    return text
