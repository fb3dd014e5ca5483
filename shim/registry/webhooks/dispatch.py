"""The mutating and validating webhook dispatchers (upstream's mutating/dispatcher.go and
validating/dispatcher.go).

Mutating webhooks are called one after the other, each seeing the object as the ones before it left it; a JSONPatch
answer is applied and the object defaulted again. When one changes the object, the webhooks with
reinvocationPolicy IfNeeded called before it are called once more after the first round, as upstream's
reinvocation does. Validating webhooks are called all at once. A webhook that cannot be called (or answers
nonsense) is skipped under failurePolicy Ignore and fails the request with a 500 InternalError under Fail; a
rejection is the webhook's own Status, worded `admission webhook "x" denied the request: ...`. A dry run is refused
by a webhook whose sideEffects are not None/NoneOnDryRun. Warnings become the response's Warning headers; audit
annotations go to the `kubeshim.audit` log, kubeshim having no audit log of its own.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import jsonpatch

from shim.machinery import errors, protobuf
from shim.machinery.users import User
from shim.registry.admission import Attributes, convert
from shim.registry.catalog import Catalog
from shim.registry.resource import ResourceInfo
from shim.registry.webhooks import review as reviews
from shim.registry.webhooks.client import CallError, post
from shim.registry.webhooks.hooks import MUTATING, VALIDATING, Hook, HookSource
from shim.registry.webhooks.matching import Invocation, Matcher, exempt
from shim.storage.store import Store

Obj = dict[str, Any]
log = logging.getLogger("kubeshim.webhooks")
audit = logging.getLogger("kubeshim.audit")


@dataclass
class Mutation:
    """The object the mutating webhooks leave (the one given when none changed it) and their warnings."""

    object: Obj | None
    warnings: tuple[str, ...] = ()


@dataclass
class _Reinvocation:
    """upstream's webhookReinvokeContext: which IfNeeded webhooks a later change makes call again."""

    previously_invoked: set[str] = field(default_factory=set)
    reinvoke: set[str] = field(default_factory=set)

    def changed(self) -> None:
        self.reinvoke |= self.previously_invoked
        self.previously_invoked = set()


def versioned(info: ResourceInfo, obj: Obj | None) -> Obj | None:
    """An object as its Go type marshals it, which is what upstream puts in an AdmissionReview."""
    if obj is None:
        return None
    if info.strategy.go_typed:
        shaped = protobuf.go_view(obj, info.api_version, info.kind)
    else:
        shaped = {**obj, "metadata": protobuf.go_object_meta(obj.get("metadata") or {})}
    meta = shaped.get("metadata")
    if isinstance(meta, dict) and meta.get("creationTimestamp") is None:  # a zero time is omitted (omitzero)
        meta.pop("creationTimestamp", None)
    return shaped


def _internal(message: str) -> errors.StatusError:
    """NewInternalError: the message, also as the one cause."""
    failure = errors.internal(message)
    failure.causes = [{"message": message}]
    return failure


def _failed(hook: Hook, err: CallError) -> errors.StatusError:
    """A webhook that could not be called under failurePolicy Fail: NewInternalError(ErrCallingWebhook)."""
    return _internal(f'failed calling webhook "{hook.name}": {err.reason}')


class WebhookAdmission:
    """Both dispatchers over the store's webhook configurations."""

    def __init__(self, store: Store, catalog: Catalog, decide: Callable[[User, Obj], Obj]) -> None:
        self.store = store
        self.mutating = HookSource(store, MUTATING)
        self.validating = HookSource(store, VALIDATING)
        self.matcher = Matcher(store, catalog, decide)

    async def mutate(self, attrs: Attributes) -> Mutation:
        if exempt(attrs):
            return Mutation(attrs.object)
        hooks = self.mutating.hooks()
        if not hooks:
            return Mutation(attrs.object)
        state = _Reinvocation()
        warnings: list[str] = []
        current = attrs
        for round_ in (0, 1):
            if round_ == 1 and not state.reinvoke:
                break
            for index, hook in enumerate(hooks):
                invocation = self.matcher.should_call(hook, current)
                if invocation is None or (round_ == 1 and hook.uid not in state.reinvoke):
                    continue
                try:
                    mutated = await self._call_mutating(invocation, current, warnings, round_, index)
                except CallError as err:
                    if not hook.ignores_failures:
                        raise _failed(hook, err) from None
                    log.warning("failed calling webhook, failing open %s: %s", hook.name, err.reason)
                    mutated = None
                if mutated is not None:
                    current = dataclasses.replace(current, object=mutated)
                    state.changed()
                if hook.reinvoked_if_needed:
                    state.previously_invoked.add(hook.uid)
        return Mutation(current.object, tuple(warnings))

    async def _call_mutating(self, invocation: Invocation, attrs: Attributes, warnings: list[str], round_: int,
                             index: int) -> Obj | None:
        """One call; the object it made (None: unchanged)."""
        hook = invocation.hook
        sent_object = versioned(invocation.info, invocation.object)
        verdict = await self._call(invocation, attrs, sent_object, warnings)
        if not verdict.allowed:
            raise reviews.denied(hook.name, verdict.result)
        if not verdict.patch:
            return None
        try:
            operations = json.loads(verdict.patch)
        except ValueError as err:
            raise CallError(f"received undecodable patch in webhook response: {err}") from None
        if not isinstance(operations, list):
            raise CallError("received undecodable patch in webhook response: json: cannot unmarshal "
                            "object into Go value of type jsonpatch.Patch")
        if not operations:
            return None
        if sent_object is None:
            raise _internal(f'admission webhook "{hook.name}" attempted to modify the object, which is not '
                                  f"supported for this operation")
        if verdict.patch_type != "JSONPatch":
            raise CallError(f'unsupported patch type "{verdict.patch_type}"')
        try:
            patched = jsonpatch.apply_patch(sent_object, operations)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as err:
            raise _internal(str(err)) from None
        if not isinstance(patched, dict):
            raise _internal("the patched object is not an object")
        audit.debug("%s", {f"patch.webhook.admission.k8s.io/round_{round_}_index_{index}": {
            "configuration": hook.configuration, "webhook": hook.name, "patch": operations,
            "patchType": "JSONPatch"}})
        if patched == sent_object:
            return None
        result = convert(invocation.info, attrs.info, patched) if invocation.info is not attrs.info else patched
        assert result is not None
        attrs.info.strategy.default(result)
        return result

    async def validate(self, attrs: Attributes) -> tuple[str, ...]:
        if exempt(attrs):
            return ()
        invocations = [i for i in (self.matcher.should_call(h, attrs) for h in self.validating.hooks()) if i]
        if not invocations:
            return ()
        warnings: list[str] = []
        outcomes = await asyncio.gather(*(self._call_validating(i, attrs, warnings) for i in invocations))
        for failure in outcomes:
            if failure is not None:
                raise failure
        return tuple(warnings)

    async def _call_validating(self, invocation: Invocation, attrs: Attributes,
                               warnings: list[str]) -> errors.StatusError | None:
        hook = invocation.hook
        try:
            verdict = await self._call(invocation, attrs, versioned(invocation.info, invocation.object), warnings)
        except CallError as err:
            if hook.ignores_failures:
                log.warning("failed calling webhook, failing open %s: %s", hook.name, err.reason)
                return None
            return _failed(hook, err)
        except errors.StatusError as err:
            return err
        return None if verdict.allowed else reviews.denied(hook.name, verdict.result)

    async def _call(self, invocation: Invocation, attrs: Attributes, sent_object: Obj | None,
                    warnings: list[str]) -> reviews.Verdict:
        """Send the AdmissionReview and verify the answer; its warnings and audit annotations are kept."""
        hook = invocation.hook
        if attrs.dry_run and hook.side_effects not in ("None", "NoneOnDryRun"):
            if hook.side_effects is None:
                raise CallError("Webhook SideEffects is nil")
            raise errors.bad_request(f'admission webhook "{hook.name}" does not support dry run')
        version = reviews.review_version(hook.review_versions)
        sent = reviews.build(attrs, invocation.info, sent_object, versioned(invocation.info, invocation.old_object),
                             version)
        answer = await post(hook.spec.get("clientConfig") or {}, sent, hook.timeout, self.store)
        verdict = reviews.verify(answer, sent, hook.mutating)
        for key, value in verdict.audit_annotations.items():
            audit.info("%s/%s=%s", hook.name, key, value)
        warnings.extend(verdict.warnings)
        return verdict
