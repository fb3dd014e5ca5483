"""The options the API's verbs take and what a write answers, as immutable values.

Options are frozen so that one request's options are never shared state: a write answers its warnings with
its result instead of appending them to the options it was given, and a verb never changes its caller's.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shim.machinery import errors, typecheck
from shim.machinery.fields import EVERYTHING as ALL_FIELDS
from shim.machinery.fields import FieldSelector
from shim.machinery.labels import EVERYTHING as ALL_LABELS
from shim.machinery.labels import LabelSelector
from shim.machinery.users import User

Obj = dict[str, Any]

#: propagationPolicy's values, in upstream's order
PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


@dataclass(frozen=True)
class ListOptions:
    label_selector: LabelSelector = ALL_LABELS
    field_selector: FieldSelector = ALL_FIELDS
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""

    def validate(self, *, watch: bool = False, send_initial_events: bool | None = None) -> None:
        """Upstream's ValidateListOptions (a list's, or a watch's): every problem at once, as one Invalid
        ListOptions."""
        match, causes = self.resource_version_match, []
        if watch:
            if send_initial_events is not None and match != "NotOlderThan":
                causes.append(errors.field_forbidden("resourceVersionMatch", "sendInitialEvents requires setting "
                                                     "resourceVersionMatch to NotOlderThan"))
            if match:
                if send_initial_events is None:
                    causes.append(errors.field_forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden "
                                                         "for watch unless sendInitialEvents is provided"))
                if match != "NotOlderThan":
                    causes.append(errors.field_not_supported("resourceVersionMatch", match, ["NotOlderThan"]))
                if self.continue_token:
                    causes.append(errors.field_forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden "
                                                         "when continue is provided"))
        elif match:
            if not self.resource_version:
                causes.append(errors.field_forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden "
                                                     "unless resourceVersion is provided"))
            if self.continue_token:
                causes.append(errors.field_forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden "
                                                     "when continue is provided"))
            if match not in ("Exact", "NotOlderThan"):
                causes.append(errors.field_not_supported("resourceVersionMatch", match,
                                                         ["Exact", "NotOlderThan", ""]))
            if match == "Exact" and self.resource_version == "0":
                causes.append(errors.field_forbidden("resourceVersionMatch", 'resourceVersionMatch "exact" is '
                                                     'forbidden for resourceVersion "0"'))
        if causes:
            raise errors.invalid_options("ListOptions", causes)


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_manager: str = ""
    user_agent: str = ""
    #: managedFields were already set by the caller (server-side apply)
    fields_recorded: bool = False
    #: what to do with unknown fields of built-in kinds: Strict, Warn or Ignore
    field_validation: str = "Warn"
    #: who writes: the review kinds answer about them
    user: User | None = None

    @property
    def manager(self) -> str:
        """The field manager of the write: the one asked for, else upstream's default, the user agent up to
        the first '/'."""
        return self.field_manager or (self.user_agent or "unknown").split("/")[0][:128]


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    dry_run: bool = False
    #: who deletes: admission policies see them
    user: User | None = None
    #: the deprecated orphanDependents was given (with no propagationPolicy it decides one)
    orphan_dependents: bool | None = None
    #: the dryRun values asked for, which validate() checks
    dry_run_values: tuple[str, ...] = ()

    def validate(self) -> None:
        """Upstream's ValidateDeleteOptions: every problem at once, as one Invalid DeleteOptions."""
        causes = []
        policy = self.propagation_policy
        if self.orphan_dependents is not None and policy is not None:
            causes.append(errors.field_invalid("propagationPolicy", policy,
                                               "orphanDependents and deletionPropagation cannot be both set"))
        if policy is not None and policy not in PROPAGATION_POLICIES:
            causes.append(errors.field_not_supported("propagationPolicy", policy, [*PROPAGATION_POLICIES, "nil"]))
        if any(value != "All" for value in self.dry_run_values):
            causes.append(errors.field_not_supported("dryRun", list(self.dry_run_values), ["All"]))
        if causes:
            raise errors.invalid_options("DeleteOptions", causes)

    @classmethod
    def from_body(cls, body: Obj, query: Mapping[str, Any] | None = None,
                  user: User | None = None) -> "DeleteOptions":
        """DeleteOptions from a JSON body (a DELETE's, an Eviction's deleteOptions), decoded as upstream decodes
        it into its Go struct (a field of the wrong type is a 400; upstream's plain error is a 500), with the
        query's parameters, as strings, over it."""
        decoded = typecheck.decode("v1", "DeleteOptions", body)
        if decoded is not None and decoded.problem:
            raise errors.bad_request(f"json: {decoded.problem}")
        data = {**body, **(query or {})}
        grace = data.get("gracePeriodSeconds")
        if grace is not None:
            try:
                grace = int(grace)
            except (TypeError, ValueError):
                raise errors.bad_request(f"invalid gracePeriodSeconds: {grace!r}") from None
        policy = data.get("propagationPolicy")
        orphan = None if data.get("orphanDependents") is None else str(data["orphanDependents"]).lower() == "true"
        pre = data.get("preconditions") or {}
        if not isinstance(pre, dict):
            raise errors.bad_request("preconditions must be an object")
        dry = tuple(data.get("dryRun") or ())
        return cls(grace, policy, pre.get("uid"), pre.get("resourceVersion"), bool(dry), user, orphan, dry)

    @property
    def propagation(self) -> str | None:
        """The policy of the delete: propagationPolicy, else what orphanDependents means."""
        if self.propagation_policy is None and self.orphan_dependents is not None:
            return "Orphan" if self.orphan_dependents else "Background"
        return self.propagation_policy


@dataclass(frozen=True)
class Patch:
    """A PATCH body by its media type: JSON patch, merge patch, strategic merge patch or apply configuration."""

    type: str
    body: Any
    #: server-side apply takes over fields other managers own instead of answering 409
    force: bool = False
    #: an apply configuration's keys repeated within a mapping (`line 9: key "foo" already set in map`), which
    #: its decoded body cannot show; fieldValidation Strict refuses them, Warn warns
    repeated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deleted:
    """What a delete answers: the object (as deleted, or as it now waits), whether it is gone, and the Warning
    texts for the client."""

    object: Obj
    #: False while finalizers or a grace period hold the object
    gone: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Written:
    """What a write answers: the object as served, and the Warning texts for the client."""

    object: Obj
    warnings: tuple[str, ...] = ()
    #: the write created the object (a server-side apply of one that did not exist: 201)
    created: bool = False
