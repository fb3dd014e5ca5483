"""The generic registry: every verb implemented once for every kind (upstream's generic/registry/store.go).

Runs on the event loop: each verb decides against the in-memory state and hands its write to the store
without awaiting in between, so conflicts are decided atomically; the verb returns once the write committed.
"""
from __future__ import annotations

import asyncio
import copy
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Sequence

import orjson

from shim.machinery import decoding, errors, managed_fields, names, nesting, protobuf, timeutil, typecheck
from shim.machinery.fields import FieldSelector, check_supported
from shim.machinery.golang import parse_uint_error, quote, string_slice
from shim.machinery.labels import LabelSelector
from shim.registry.admission import Admission, Attributes, NoAdmission
from shim.registry.options import Deleted, DeleteOptions, ListOptions, WriteOptions, Written
from shim.registry.resource import Attrs, ResourceInfo
from shim.registry.strategy import UpdateRules
from shim.storage.paging import ContinueTooOld, InvalidContinue
from shim.storage.store import ADDED, DELETED, MODIFIED, Entry, Event, Store, Subscription, TooOld

Obj = dict[str, Any]

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
NAMESPACES_KEY = "/namespaces"
TOO_LARGE_WAIT = 3.0
#: how often, and how far apart, a create looks for an object its admission waits for (Strategy.admission_waits)
ADMISSION_ATTEMPTS = 10
ADMISSION_RETRY_SECONDS = 0.15


@dataclass
class ListResult:
    entries: list[Entry]
    resource_version: int
    continue_token: str = ""
    remaining: int | None = None


@dataclass
class Watch:
    """An open watch: initial events first, then filtered live events from the subscription."""

    info: ResourceInfo
    initial: list[tuple[str, Entry]]
    sub: Subscription
    after: int
    labels: LabelSelector
    fields: FieldSelector
    registry: "Registry"
    name: str | None = None
    #: for sendInitialEvents: the revision of the initial-events-end bookmark
    initial_end: int | None = None
    closed: bool = field(default=False)

    async def next(self, timeout: float | None = None) -> tuple[str, Entry] | None:
        """The next event that passes the selectors, or None when the watch was closed by the store.

        Raises asyncio.TimeoutError after `timeout` seconds without one.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            event = await asyncio.wait_for(self.sub.queue.get(), remaining)
            if event is None:
                return None
            if event.rv <= self.after:
                continue
            out = self.registry.filter_event(self.info, event, self.labels, self.fields, self.name)
            if out is not None:
                return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.registry.store.unsubscribe(self.sub)


def _meta(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    if meta is None:
        meta = obj["metadata"] = {}
    if not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    return meta


def _dumps(obj: Obj) -> bytes:
    return orjson.dumps(obj)


def _conversion_problem(kind: str, api_version: str, info: ResourceInfo) -> str:
    """Why upstream's scheme cannot turn a body of another kind into the resource's: the kind is not registered
    in the scheme that serves the resource, or no conversion leads from its type to the resource's."""
    found = typecheck.go_kind(api_version, kind)
    target = typecheck.go_kind(info.api_version, info.kind)
    if found is None or _scheme(api_version) != _scheme(info.api_version):
        return f'no kind {quote(kind)} is registered for version {quote(api_version)} in scheme ' \
               '"pkg/runtime/scheme.go:110"'
    internal = target["internal"] if target else info.kind
    return f"converting ({typecheck.go_name(api_version, kind)}) to ({internal}): unknown conversion"


def _scheme(api_version: str) -> str:
    """Which of kube-apiserver's schemes registers an API group: the CRD and APIService groups have their own."""
    group = api_version.rpartition("/")[0]
    return group if group in ("apiextensions.k8s.io", "apiregistration.k8s.io") else ""


def parse_rv(value: str) -> int:
    """A resourceVersion string as a number; anything else is a 400 in the words of upstream's storage."""
    problem = parse_uint_error(value)
    if problem:
        raise errors.bad_request(f"invalid resource version: resourceVersion: Invalid value: {quote(value)}: "
                                 f"{problem}")
    return int(value)


class StoredObjects:
    """The store's current objects as admission reads them (shim.registry.strategy.Stored)."""

    def __init__(self, store: Store, plugins: frozenset[str]) -> None:
        self.store = store
        self.plugins = plugins

    def get(self, storage: str, namespace: str, name: str) -> Obj | None:
        entry = self.store.get(storage, namespace, name)
        return None if entry is None else orjson.loads(entry.raw)

    def items(self, storage: str) -> list[Obj]:
        return [orjson.loads(entry.raw) for _, _, entry in self.store.items(storage)]


class Registry:
    """Create/get/list/watch/update/patch/delete for any ResourceInfo, over one Store."""

    def __init__(self, store: Store, plugins: frozenset[str] = frozenset()) -> None:
        self.store = store
        #: the objects admission reads, and which optional admission plugins are on
        self.stored = StoredObjects(store, plugins)
        #: validating admission of every write, after the kind's own validation (shim.registry.admission);
        #: the verbs layer that drives this registry puts the policy plugin here
        self.admission: Admission = NoAdmission()

    # -- attributes ---------------------------------------------------------------------------------------

    def attrs(self, info: ResourceInfo, entry: Entry) -> Attrs:
        attrs: Attrs | None = entry.cache  # storage keeps the slot for us, untyped
        if attrs is None:
            attrs = entry.cache = self._attrs_of(info, orjson.loads(entry.raw))
        return attrs

    @staticmethod
    def _attrs_of(info: ResourceInfo, obj: Obj) -> Attrs:
        return Attrs(dict(obj.get("metadata", {}).get("labels") or {}), info.strategy.fields(obj))

    def decode(self, info: ResourceInfo, entry: Entry) -> Obj:
        """The object as served at info's version."""
        obj = orjson.loads(entry.raw)
        return self.present(info, obj)

    @staticmethod
    def present(info: ResourceInfo, obj: Obj) -> Obj:
        return info.from_storage(obj) if info.from_storage is not None else obj

    # -- reads --------------------------------------------------------------------------------------------

    def get(self, info: ResourceInfo, namespace: str, name: str) -> Obj:
        entry = self.store.get(info.storage, namespace, name)
        if entry is None:
            raise errors.not_found(info.plural, name, info.group)
        return self.decode(info, entry)

    def get_entry(self, info: ResourceInfo, namespace: str, name: str) -> Entry | None:
        return self.store.get(info.storage, namespace, name)

    async def list(self, info: ResourceInfo, namespace: str, opts: ListOptions) -> ListResult:
        opts.validate()
        check_supported(opts.field_selector, info.strategy.field_labels)
        rv_param = opts.resource_version
        match = opts.resource_version_match
        if opts.continue_token:
            problem = decoding.continue_error(opts.continue_token)
            if problem:
                raise errors.bad_request(f"invalid continue token: {problem}")
        if opts.continue_token and rv_param and rv_param != "0":
            raise errors.bad_request("specifying resource version is not allowed when using continue")
        revision: int | None = None
        limit = opts.limit
        if rv_param == "0" and not opts.continue_token:
            limit = 0  # "any version": upstream answers from its watch cache, which does not paginate
        if not opts.continue_token and rv_param and rv_param != "0":
            asked = parse_rv(rv_param)
            await self._wait_for_revision(asked)
            if match == "Exact":
                revision = asked
        try:
            page = self.store.list(info.storage, namespace, revision=revision, continue_token=opts.continue_token,
                                   limit=limit, keep=self._keep(info, opts))
        except InvalidContinue:  # upstream's shape, but no key of this store
            raise errors.bad_request("invalid continue token: continue key is not valid") from None
        except ContinueTooOld as exc:
            raise errors.expired(str(exc), exc.inconsistent) from None
        except TooOld as exc:
            raise errors.expired(str(exc)) from None
        return ListResult(page.items, page.revision, page.continue_token, page.remaining)

    def _keep(self, info: ResourceInfo, opts: ListOptions) -> Callable[[str, str, Entry], bool] | None:
        """The selectors as a filter of stored entries; None when they select everything."""
        labels, fields = opts.label_selector, opts.field_selector
        if labels.empty and fields.empty:
            return None
        name_pin = fields.value_of("metadata.name")
        label_ok, field_ok, attrs = labels.matches, fields.matches, self.attrs

        def keep(namespace: str, name: str, entry: Entry) -> bool:
            if name_pin is not None and name != name_pin:
                return False
            a = attrs(info, entry)
            return label_ok(a.labels) and field_ok(a.fields)
        return keep

    def _matches(self, info: ResourceInfo, entry: Entry, labels: LabelSelector, fields: FieldSelector) -> bool:
        if labels.empty and fields.empty:
            return True
        a = self.attrs(info, entry)
        return labels.matches(a.labels) and fields.matches(a.fields)

    async def _wait_for_revision(self, asked: int) -> None:
        """Like the watch cache: wait briefly for a revision ahead of us, then answer Timeout."""
        if asked <= self.store.revision:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TOO_LARGE_WAIT
        while asked > self.store.revision and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if asked > self.store.revision:
            raise errors.timeout(f"Too large resource version: {asked}, current: {self.store.revision}",
                                 causes=[{"reason": "ResourceVersionTooLarge",
                                          "message": "Too large resource version"}], retry_after=1)

    # -- watch --------------------------------------------------------------------------------------------

    async def watch(self, info: ResourceInfo, namespace: str, opts: ListOptions, *,
                    send_initial_events: bool | None = None) -> Watch:
        """Open a watch. RV unset or "0" (or sendInitialEvents) starts with the current state as ADDED."""
        opts.validate(watch=True, send_initial_events=send_initial_events)
        check_supported(opts.field_selector, info.strategy.field_labels)
        rv_param = opts.resource_version
        name_pin = opts.field_selector.value_of("metadata.name")
        initial: list[tuple[str, Entry]] = []
        if send_initial_events or (send_initial_events is None and rv_param in ("", "0")):
            if rv_param not in ("", "0"):
                await self._wait_for_revision(parse_rv(rv_param))
            after = self.store.revision
            _, sub = self.store.subscribe(info.storage, namespace, after)
            initial = [(ADDED, e) for e in self.store.list(info.storage, namespace, keep=self._keep(info, opts)).items]
            w = Watch(info, initial, sub, after, opts.label_selector, opts.field_selector, self, name_pin)
            if send_initial_events:
                w.initial_end = after
            return w
        asked = parse_rv(rv_param)
        await self._wait_for_revision(asked)
        try:
            backlog, sub = self.store.subscribe(info.storage, namespace, asked)
        except TooOld as exc:
            raise errors.expired(str(exc)) from None
        for event in backlog:
            sub.queue.put_nowait(event)
        return Watch(info, [], sub, asked, opts.label_selector, opts.field_selector, self, name_pin)

    def filter_event(self, info: ResourceInfo, event: Event, labels: LabelSelector, fields: FieldSelector,
                     name: str | None) -> tuple[str, Entry] | None:
        """Apply selectors to a change: leaving the selection is DELETED, entering it is ADDED."""
        if name is not None and event.name != name:
            return None
        if labels.empty and fields.empty:
            return event.type, event.entry
        now_matches = self._matches(info, event.entry, labels, fields)
        if event.type == DELETED:
            return (DELETED, event.entry) if now_matches else None
        before = event.prev is not None and self._matches(info, event.prev, labels, fields)
        if event.type == ADDED or event.prev is None:
            return (ADDED if event.type == ADDED else MODIFIED, event.entry) if now_matches else None
        if now_matches and before:
            return MODIFIED, event.entry
        if now_matches:
            return ADDED, event.entry
        if before:
            old = orjson.loads(event.prev.raw)
            _meta(old)["resourceVersion"] = str(event.rv)
            return DELETED, Entry(event.rv, _dumps(old), event.prev.cache)
        return None

    # -- writes -------------------------------------------------------------------------------------------

    def _check_namespace(self, info: ResourceInfo, namespace: str, *, creating: bool, name: str = "") -> None:
        if not info.namespaced:
            return
        ns = self.store.get(NAMESPACES_KEY, "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if creating and orjson.loads(ns.raw)["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(info.plural, name, f"unable to create new content in namespace {namespace} "
                                   f"because it is being terminated", info.group,
                                   causes=[{"reason": "NamespaceTerminating",
                                            "message": f"namespace {namespace} is being terminated",
                                            "field": "metadata.namespace"}])

    def _check_type(self, info: ResourceInfo, obj: Obj, opts: WriteOptions) -> tuple[str, ...]:
        """The object is of this resource's kind and decodes as upstream decodes it (built-in kinds into their
        Go types, custom resources by their schema), and nests no deeper than kubeshim goes (after the type
        errors upstream's decoding finds first); returns the Warning texts of its unknown and repeated fields
        (fieldValidation=Warn), which Strict refuses instead."""
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be an object")
        if typecheck.go_kind(info.api_version, info.kind) is not None:
            self._check_builtin_kind(info, obj)
        else:
            self._check_custom_kind(info, obj)
        obj["kind"], obj["apiVersion"] = info.kind, info.api_version
        if info.strategy.go_typed:
            try:
                decoded = typecheck.decode(info.api_version, info.kind, obj)
            except RecursionError:  # nested past what the typed walk follows: past kubeshim's depth too
                nesting.check(obj)
                raise errors.bad_request(f"the object is nested deeper than this server takes "
                                         f"({nesting.MAX_DEPTH} levels)") from None
            if decoded is not None and decoded.problem:
                raise decoding.cannot_be_handled(info.kind, info.api_version, info.kind, decoded.problem)
            nesting.check(obj)
            strict = tuple(decoded.strict) if decoded is not None else ()
        else:
            nesting.check(obj)
            strict = tuple(f"unknown field {quote(path)}" for path in info.strategy.prune_unknown(obj))
        if strict and opts.field_validation == "Strict":
            raise decoding.cannot_be_handled(info.kind, info.api_version, info.kind,
                                             "strict decoding error: " + ", ".join(strict))
        return strict if opts.field_validation == "Warn" else ()

    @staticmethod
    def _check_builtin_kind(info: ResourceInfo, obj: Obj) -> None:
        """A built-in kind's body is of the kind the resource decodes (a missing apiVersion or kind is the
        resource's): another kind is one upstream's scheme cannot convert."""
        kind, api_version = obj.get("kind") or info.kind, obj.get("apiVersion") or info.api_version
        if (kind, api_version) != (info.kind, info.api_version):
            raise decoding.cannot_be_handled(kind, api_version, info.kind,
                                             _conversion_problem(kind, api_version, info))

    @staticmethod
    def _check_custom_kind(info: ResourceInfo, obj: Obj) -> None:
        """A custom resource's body names its resource's apiVersion, and its kind (upstream's validation)."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if api_version != info.api_version:
            raise errors.bad_request(f"the API version in the data ({api_version or ''}) does not match the "
                                     f"expected API version ({info.api_version})")
        if kind and kind != info.kind:
            name = str((obj.get("metadata") or {}).get("name") or "")
            raise errors.invalid(kind, name, [errors.field_invalid("kind", kind, f"must be {info.kind}")],
                                 info.group)

    def _to_storage(self, info: ResourceInfo, obj: Obj) -> Obj:
        return info.to_storage(obj) if info.to_storage is not None else obj

    async def create(self, info: ResourceInfo, namespace: str, obj: Obj,
                     opts: WriteOptions | None = None) -> Written:
        opts = opts or WriteOptions()
        warnings = self._check_type(info, obj, opts)
        info.strategy.admit_create()
        meta = _meta(obj)
        if info.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
            namespace = ""
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        if not meta.get("name") and not meta.get("generateName"):
            raise errors.invalid(info.kind, "", [errors.field_required("metadata.name",
                                                                       "name or generateName is required")],
                                 info.group)
        if not isinstance(meta.get("name", ""), str):
            raise errors.bad_request("metadata.name must be a string")
        self._check_namespace(info, namespace, creating=True, name=meta.get("name") or "")
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(key, None)
        info.strategy.default(obj)
        if not opts.fields_recorded:  # what the writer sent, before the server fills in its own fields
            managed_fields.update(info.strategy.field_types(info.api_version, info.kind), None, obj,
                                  opts.manager)
        # mutating admission sees the object before the server's own fields (name, uid, times) are filled in
        obj, mutation_warnings = await self._mutate(Attributes(
            info, "CREATE", namespace, meta.get("name") or "", obj, None, user=opts.user, dry_run=opts.dry_run,
            options=_write_options(opts)))
        warnings += mutation_warnings
        meta = _meta(obj)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = names.generate_name(meta["generateName"])
        name = meta.get("name") or ""
        if not isinstance(name, str):
            raise errors.bad_request("metadata.name must be a string")
        self._validate_meta(info, obj)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = timeutil.now_string()
        if info.strategy.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        info.strategy.prepare_for_create(obj)
        obj = _go_shaped(info, obj)
        meta = _meta(obj)
        await self._wait_for(info.strategy.admission_waits(obj, self.stored))
        info.strategy.admit(obj, None, self.stored)
        causes = info.strategy.validate(obj) + managed_fields.validate(meta.get("managedFields"))
        if causes:
            raise errors.invalid(info.kind, name, causes, info.group)
        info.strategy.validate_admission(obj, None, self.stored)
        warnings += tuple(info.strategy.warnings(obj, None))
        warnings += await self.admission.validate(Attributes(info, "CREATE", namespace, name, obj, None,
                                                             user=opts.user, dry_run=opts.dry_run,
                                                             options=_write_options(opts)))
        if self.store.get(info.storage, namespace, name) is not None:
            raise errors.already_exists(info.plural, name, info.group)
        if opts.dry_run:
            return Written(obj, warnings)
        return Written(await self._write(info, namespace, name, ADDED, obj), warnings)

    async def _wait_for(self, wanted: Sequence[tuple[str, str, str]]) -> None:
        """Look for `wanted` objects a few times, briefly, until they are all there (upstream's ServiceAccount
        admission tries ten times, 100-200 ms apart); admission then decides with whatever is there."""
        for attempt in range(ADMISSION_ATTEMPTS if wanted else 0):
            if all(self.store.get(storage, ns, name) is not None for storage, ns, name in wanted):
                return
            if attempt + 1 < ADMISSION_ATTEMPTS:
                await asyncio.sleep(ADMISSION_RETRY_SECONDS)

    async def _write(self, info: ResourceInfo, namespace: str, name: str, event: str, obj: Obj) -> Obj:
        """Stamp the next revision, apply to memory, await the commit; returns the served object."""
        stored = self._to_storage(info, obj) if info.to_storage is not None else obj
        _meta(stored)["resourceVersion"] = str(self.store.next_revision())
        raw = _dumps(stored)
        future = self.store.write(info.storage, namespace, name, event, raw, self._attrs_of(info, stored))
        await future
        if stored is not obj:
            return self.present(info, orjson.loads(raw))
        return obj

    def _check_unchanged(self, info: ResourceInfo, namespace: str, name: str, read: Obj) -> None:
        """The object is still the one this write read: admission may have waited on webhooks meanwhile, and
        another write got in (upstream's storage compares revisions when it swaps)."""
        entry = self.store.get(info.storage, namespace, name)
        if entry is None:
            raise errors.not_found(info.plural, name, info.group)
        if str(entry.rv) != str(read["metadata"].get("resourceVersion")):
            raise errors.stale(info.plural, name, info.group)

    async def _mutate(self, attrs: Attributes) -> tuple[Obj, tuple[str, ...]]:
        """The object written after mutating admission (the one given when nothing changed it), and its warnings;
        the object stays where the request put it (name and namespace)."""
        assert attrs.object is not None
        mutated, warnings = await self.admission.mutate(attrs)
        if mutated is None or mutated is attrs.object:
            return attrs.object, warnings
        meta = mutated.get("metadata")
        if not isinstance(meta, dict):
            raise errors.internal("the mutated object has no metadata")
        meta["name"], meta["namespace"] = attrs.name or meta.get("name", ""), attrs.namespace or meta.get(
            "namespace", "")
        if not attrs.namespace:
            meta.pop("namespace", None)
        return mutated, warnings

    def _validate_meta(self, info: ResourceInfo, obj: Obj) -> None:
        meta = obj["metadata"]
        name = meta.get("name", "")
        causes = []
        if not isinstance(name, str):
            raise errors.bad_request("metadata.name must be a string")
        if meta.get("generateName"):
            for problem in info.strategy.validate_name(meta["generateName"].rstrip("-") or "x"):
                causes.append(errors.field_invalid("metadata.generateName", meta["generateName"], problem))
        for problem in info.strategy.validate_name(name):
            causes.append(errors.field_invalid("metadata.name", name, problem))
        _check_key_values(meta, "labels", names.label_value, causes)
        annotations = _check_key_values(meta, "annotations", None, causes)
        if sum(len(k) + len(v) for k, v in annotations.items()) > 256 * 1024:
            causes.append(errors.field_too_long("metadata.annotations", "", 256 * 1024))
        finalizers = meta.get("finalizers") or []
        if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
            raise errors.bad_request("metadata.finalizers must be a list of strings")
        if causes:
            raise errors.invalid(info.kind, name, causes, info.group)

    async def update(self, info: ResourceInfo, namespace: str, name: str, obj: Obj,
                     opts: WriteOptions | None = None, *, subresource: str = "",
                     rules: UpdateRules | None = None) -> Written:
        """PUT: replace the object, with resourceVersion as an optimistic lock. A write through a subresource
        names it and brings its own `rules` (else the kind's main-endpoint rules apply)."""
        opts = opts or WriteOptions()
        warnings = self._check_type(info, obj, opts)
        meta = _meta(obj)
        namespace = namespace if info.namespaced else ""
        if meta.get("name") not in (None, "", name):
            raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on "
                                     f"the URL ({name})")
        if info.namespaced and meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        entry = self.store.get(info.storage, namespace, name)
        if entry is None:
            raise errors.not_found(info.plural, name, info.group)
        rv = meta.get("resourceVersion")
        if rv:
            if parse_rv(str(rv)) != entry.rv:
                raise errors.stale(info.plural, name, info.group)
        old = self.decode(info, entry)
        return await self._apply_update(info, namespace, name, old, obj, opts, subresource, rules, warnings)

    async def _apply_update(self, info: ResourceInfo, namespace: str, name: str, old: Obj, obj: Obj,
                            opts: WriteOptions, subresource: str, rules: UpdateRules | None,
                            warnings: tuple[str, ...]) -> Written:
        meta = _meta(obj)
        old_meta = old["metadata"]
        meta["name"] = name
        if info.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        info.strategy.default(obj)
        mutated, warnings_of_mutation = await self._mutate(Attributes(
            info, "UPDATE", namespace, name, obj, old, subresource, opts.user, opts.dry_run, _write_options(opts)))
        warnings += warnings_of_mutation
        obj = mutated
        meta = _meta(obj)
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if rules is not None:
            rules.prepare_for_update(obj, old)
        else:
            info.strategy.prepare_for_update(obj, old)
            info.strategy.admit(obj, old, self.stored)
            self._validate_meta(info, obj)
            if old_meta.get("deletionTimestamp"):
                added = set(meta.get("finalizers") or []) - set(old_meta.get("finalizers") or [])
                if added:
                    cause = errors.field_forbidden("metadata.finalizers", "no new finalizers can be added if the "
                                                   f"object is being deleted, found new finalizers "
                                                   f"{string_slice(sorted(added))}")
                    # upstream checks the metadata of an update twice (its common fields, then the kind's
                    # validation) and reports the cause of each
                    raise errors.invalid(info.kind, name, [cause, cause], info.group)
        obj = _go_shaped(info, obj)
        meta = _meta(obj)
        # a status write never bumps the generation, even where it may change annotations (the Deployment
        # controller records its revision so): upstream's status strategies keep it
        if subresource != "status" and info.strategy.tracks_generation and info.strategy.spec_changed(obj, old):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if not opts.fields_recorded:
            managed_fields.update(info.strategy.field_types(info.api_version, info.kind), old, obj,
                                  opts.manager, subresource)
        causes = (rules or info.strategy).validate_update(obj, old) + managed_fields.validate(
            meta.get("managedFields"))
        if causes:
            raise errors.invalid(info.kind, name, causes, info.group)
        if rules is None:
            info.strategy.validate_admission(obj, old, self.stored)
            warnings += tuple(info.strategy.warnings(obj, old))
        warnings += await self.admission.validate(Attributes(info, "UPDATE", namespace, name, obj, old,
                                                             subresource, opts.user, opts.dry_run,
                                                             _write_options(opts)))
        self._check_unchanged(info, namespace, name, old)
        if _same(obj, old):
            return Written(old, warnings)
        if opts.dry_run:
            meta["resourceVersion"] = old_meta.get("resourceVersion", "")
            return Written(obj, warnings)
        event = DELETED if meta.get("deletionTimestamp") and self._may_go(info, obj) else MODIFIED
        return Written(await self._write(info, namespace, name, event, obj), warnings)

    def _may_go(self, info: ResourceInfo, obj: Obj) -> bool:
        meta = obj["metadata"]
        return (not meta.get("finalizers") and not meta.get("deletionGracePeriodSeconds")
                and not info.strategy.blocks_deletion(obj))

    async def update_with(self, info: ResourceInfo, namespace: str, name: str, mutate: Any,
                          opts: WriteOptions | None = None, *, subresource: str = "",
                          rules: UpdateRules | None = None) -> Written:
        """Read-modify-write in one step (patches): `mutate(current) -> new`; `rules` as for update."""
        opts = opts or WriteOptions()
        namespace = namespace if info.namespaced else ""
        entry = self.store.get(info.storage, namespace, name)
        if entry is None:
            raise errors.not_found(info.plural, name, info.group)
        old = self.decode(info, entry)
        new = mutate(copy.deepcopy(old))
        if not isinstance(new, dict):
            raise errors.bad_request("the patch must result in an object")
        warnings = self._check_type(info, new, opts)
        new_meta = _meta(new)
        new_rv = new_meta.get("resourceVersion")
        if new_rv and str(new_rv) != old["metadata"].get("resourceVersion"):
            parse_rv(str(new_rv))
            raise errors.stale(info.plural, name, info.group)
        if new_meta.get("name") not in (None, name):
            raise errors.bad_request(f"the name of the object ({new_meta.get('name')}) does not match the name "
                                     f"on the URL ({name})")
        if info.namespaced and new_meta.get("namespace") not in (None, "", namespace):
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        if new_meta.get("uid") not in (None, old["metadata"].get("uid")):
            raise errors.invalid(info.kind, name, [errors.field_invalid("metadata.uid", new_meta.get("uid"),
                                                                        "field is immutable")], info.group)
        return await self._apply_update(info, namespace, name, old, new, opts, subresource, rules, warnings)

    def deletable(self, info: ResourceInfo, namespace: str, name: str, opts: DeleteOptions) -> Obj:
        """The object, once the checks a delete makes before changing anything passed: it exists, its kind
        lets it go, the options are valid and the preconditions hold."""
        entry = self.store.get(info.storage, namespace if info.namespaced else "", name)
        if entry is None:
            raise errors.not_found(info.plural, name, info.group)
        obj = self.decode(info, entry)
        info.strategy.admit_delete(obj)
        meta = obj["metadata"]
        for what, asked, actual, after in (("UID", opts.uid, meta.get("uid"), "deleted and then recreated"),
                                            ("ResourceVersion", opts.resource_version, meta.get("resourceVersion"),
                                             "modified")):
            if asked is None or asked == actual:
                continue
            if info.strategy.checks_own_delete_preconditions:
                raise errors.conflict(info.plural, name, f"Precondition failed: {what} in precondition: {asked}, "
                                      f"{what} in object meta: {actual}", info.group)
            raise errors.conflict(info.kind, name, f"the {what} in the precondition ({asked}) does not match the "
                                  f"{what} in record ({actual}). The object might have been {after}", info.group)
        return obj

    async def delete(self, info: ResourceInfo, namespace: str, name: str,
                     opts: DeleteOptions | None = None) -> Deleted:
        """Delete or start deleting; the object is not gone while finalizers or grace hold it."""
        opts = opts or DeleteOptions()
        namespace = namespace if info.namespaced else ""
        obj = self.deletable(info, namespace, name, opts)
        meta = obj["metadata"]
        policy = opts.propagation
        # admission of a delete sees the object going as its old object
        _, warnings = await self.admission.mutate(Attributes(info, "DELETE", namespace, name, None, obj,
                                                             user=opts.user, dry_run=opts.dry_run,
                                                             options=_delete_options(opts)))
        warnings += await self.admission.validate(Attributes(info, "DELETE", namespace, name, None, obj,
                                                             user=opts.user, dry_run=opts.dry_run,
                                                             options=_delete_options(opts)))
        self._check_unchanged(info, namespace, name, obj)
        requested = opts.grace_period_seconds
        if requested is not None and requested < 0:
            requested = 1
        finalizers = list(meta.get("finalizers") or [])
        if policy == "Orphan" and ORPHAN not in finalizers:
            finalizers.append(ORPHAN)
        elif policy == "Foreground" and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        if policy in ("Foreground", "Background"):
            finalizers = [f for f in finalizers if f != ORPHAN]
        if policy in ("Orphan", "Background"):
            finalizers = [f for f in finalizers if f != FOREGROUND]
        grace = info.strategy.grace_period(obj, requested)
        already = bool(meta.get("deletionTimestamp"))
        current_grace = meta.get("deletionGracePeriodSeconds")
        blocked = info.strategy.blocks_deletion(obj)
        if not finalizers and grace == 0 and not blocked:
            if info.strategy.graceful and not already:
                meta["deletionTimestamp"] = timeutil.format_time(timeutil.now())
                meta["deletionGracePeriodSeconds"] = 0
                if info.strategy.tracks_generation:
                    meta["generation"] = int(meta.get("generation", 1)) + 1
            if opts.dry_run:
                return Deleted(obj, True, warnings)
            await self._write(info, namespace, name, DELETED, obj)
            return Deleted(obj, True, warnings)
        changed = False
        if finalizers != list(meta.get("finalizers") or []):
            meta["finalizers"] = finalizers
            changed = True
        if not already:
            now = timeutil.now()
            meta["deletionTimestamp"] = timeutil.format_time(now + dt.timedelta(seconds=grace))
            meta["deletionGracePeriodSeconds"] = grace
            info.strategy.prepare_for_delete(obj)
            changed = True
        elif current_grace is not None and grace < int(current_grace):
            now = timeutil.now()
            meta["deletionTimestamp"] = timeutil.format_time(now + dt.timedelta(seconds=grace))
            meta["deletionGracePeriodSeconds"] = grace
            changed = True
        if not changed or opts.dry_run:
            return Deleted(obj, False, warnings)
        if self._may_go(info, obj):
            await self._write(info, namespace, name, DELETED, obj)
            return Deleted(obj, True, warnings)
        if info.strategy.tracks_generation:
            meta["generation"] = int(meta.get("generation", 1)) + 1
        return Deleted(await self._write(info, namespace, name, MODIFIED, obj), False, warnings)


def _write_options(opts: WriteOptions) -> Obj:
    """What admission sees of a write's CreateOptions/UpdateOptions."""
    out: Obj = {"dryRun": ["All"]} if opts.dry_run else {}
    if opts.field_manager:
        out["fieldManager"] = opts.field_manager
    return out


def _delete_options(opts: DeleteOptions) -> Obj:
    out: Obj = {"dryRun": ["All"]} if opts.dry_run else {}
    if opts.grace_period_seconds is not None:
        out["gracePeriodSeconds"] = opts.grace_period_seconds
    if opts.propagation_policy is not None:
        out["propagationPolicy"] = opts.propagation_policy
    return out


def _go_shaped(info: ResourceInfo, obj: Obj) -> Obj:
    """A built-in kind's object as its Go type holds and marshals it, which is what kube-apiserver validates,
    stores and serves: empty maps dropped (`labels: {}`), fields without omitempty present (a condition's
    `lastTransitionTime: null`). Other objects keep their JSON but their metadata is Go's ObjectMeta, as
    apiextensions-apiserver coerces a custom resource's."""
    if info.strategy.go_typed:
        return protobuf.go_view(obj, info.api_version, info.kind)
    return {**obj, "metadata": protobuf.go_object_meta(obj["metadata"])}


def _check_key_values(meta: Obj, field: str, check_value: Any, causes: list[dict[str, str]]) -> dict[str, str]:
    """metadata.labels / metadata.annotations: a map of valid keys to strings (labels: valid values too)."""
    values = meta.get(field) or {}
    if not isinstance(values, dict):
        raise errors.bad_request(f"metadata.{field} must be an object")
    for key, value in values.items():
        for problem in names.label_key(key):
            causes.append(errors.field_invalid(f"metadata.{field}", key, problem))
        if not isinstance(value, str):
            raise errors.bad_request(f"metadata.{field}[{key}] must be a string")
        for problem in check_value(value) if check_value else ():
            causes.append(errors.field_invalid(f"metadata.{field}", value, problem))
    return values


def _same(new: Obj, old: Obj) -> bool:
    """A write that changes nothing but managedFields timestamps is a no-op (no new revision)."""
    a = dict(new)
    b = dict(old)
    am, bm = dict(a.get("metadata", {})), dict(b.get("metadata", {}))
    for m in (am, bm):
        m.pop("resourceVersion", None)
        if "managedFields" in m:
            m["managedFields"] = managed_fields.comparable(m["managedFields"])
    a["metadata"], b["metadata"] = am, bm
    return a == b


async def iterate(watch: Watch) -> AsyncIterator[tuple[str, Entry]]:
    """Initial events, then live ones until the store closes the watch."""
    for item in watch.initial:
        yield item
    while True:
        event = await watch.next()
        if event is None:
            return
        yield event
