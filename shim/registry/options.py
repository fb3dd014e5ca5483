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


@dataclass(frozen=True)
class ListOptions:
    label_selector: LabelSelector = ALL_LABELS
    field_selector: FieldSelector = ALL_FIELDS
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


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

    @classmethod
    def from_body(cls, body: Obj, query: Mapping[str, Any] | None = None) -> "DeleteOptions":
        """DeleteOptions from a JSON body (a DELETE's, an Eviction's deleteOptions), decoded as upstream decodes
        it into its Go struct (a field of the wrong type is a 400; upstream's plain error is a 500), with the
        query's parameters, as strings, over it."""
        problem, _ = typecheck.decode("v1", "DeleteOptions", body)
        if problem:
            raise errors.bad_request(f"json: {problem}")
        data = {**body, **(query or {})}
        grace = data.get("gracePeriodSeconds")
        if grace is not None:
            try:
                grace = int(grace)
            except (TypeError, ValueError):
                raise errors.bad_request(f"invalid gracePeriodSeconds: {grace!r}") from None
        policy = data.get("propagationPolicy")
        orphan = data.get("orphanDependents")
        if orphan is not None and policy is None:
            policy = "Orphan" if str(orphan).lower() == "true" else "Background"
        pre = data.get("preconditions") or {}
        if not isinstance(pre, dict):
            raise errors.bad_request("preconditions must be an object")
        dry = data.get("dryRun") or []
        for value in dry:
            if value != "All":
                raise errors.bad_request(f'Invalid dry run value: "{value}"; supported values: "All"')
        return cls(grace, policy, pre.get("uid"), pre.get("resourceVersion"), bool(dry))


@dataclass(frozen=True)
class Patch:
    """A PATCH body by its media type: JSON patch, merge patch, strategic merge patch or apply configuration."""

    type: str
    body: Any
    #: server-side apply takes over fields other managers own instead of answering 409
    force: bool = False


@dataclass(frozen=True)
class Written:
    """What a write answers: the object as served, and the Warning texts for the client."""

    object: Obj
    warnings: tuple[str, ...] = ()
    #: the write created the object (a server-side apply of one that did not exist: 201)
    created: bool = False
