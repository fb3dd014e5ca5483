"""Kubernetes Status errors with upstream's codes, reasons and message shapes.

Mirrors apimachinery pkg/api/errors: every failure a client sees is one of these, never a bare 500.
"""
from __future__ import annotations

from typing import Any

import orjson

from shim.machinery.golang import quote


class StatusError(Exception):
    """A failure that is answered as a metav1 Status."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
        causes: list[dict[str, str]] | None = None,
        retry_after: int | None = None,
        continue_token: str = "",
        empty_details: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes
        self.retry_after = retry_after
        #: a Status is a list's answer too: an expired continue token is answered with one to go on from
        self.continue_token = continue_token
        #: upstream's Status carries a StatusDetails even when none of its fields is set (`"details": {}`), as
        #: NewGenericServerResponse's answers do
        self.empty_details = empty_details

    def status(self) -> dict[str, Any]:
        """The metav1 Status object for this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {"continue": self.continue_token} if self.continue_token else {},
            "status": "Failure",
            "message": self.message,
            "code": self.code,
        }
        if self.reason:
            body["reason"] = self.reason
        details: dict[str, Any] = {}  # Go's StatusDetails omits every empty field
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = self.causes
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        if details or self.empty_details:
            body["details"] = details
        return body


def _qualified(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(404, "NotFound", f'{_qualified(resource, group)} "{name}" not found',
                       name=name, group=group, kind=resource)


def already_exists(resource: str, name: str, group: str = "") -> StatusError:
    return StatusError(409, "AlreadyExists", f'{_qualified(resource, group)} "{name}" already exists',
                       name=name, group=group, kind=resource)


def conflict(resource: str, name: str, detail: str, group: str = "") -> StatusError:
    return StatusError(409, "Conflict",
                       f'Operation cannot be fulfilled on {_qualified(resource, group)} "{name}": {detail}',
                       name=name, group=group, kind=resource)


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def stale(resource: str, name: str, group: str = "") -> StatusError:
    return conflict(resource, name, STALE_OBJECT, group)


def invalid(kind: str, name: str, causes: list[dict[str, str]], group: str = "") -> StatusError:
    """422 Invalid; causes are {reason, message, field} as in field.ErrorList. The message names each distinct
    error once (ErrorList.ToAggregate); the causes keep them all."""
    parts = list(dict.fromkeys(f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes))
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    group_kind = f"{kind}.{group}" if group else kind
    return StatusError(422, "Invalid", f'{group_kind} "{name}" is invalid: {joined}',
                       name=name, group=group, kind=kind, causes=causes)


def field_invalid(field: str, value: Any, detail: str) -> dict[str, str]:
    """A FieldValueInvalid cause."""
    return {"reason": "FieldValueInvalid", "message": f"Invalid value: {_render(value)}: {detail}", "field": field}


def field_required(field: str, detail: str = "") -> dict[str, str]:
    return {"reason": "FieldValueRequired", "message": "Required value" + (f": {detail}" if detail else ""),
            "field": field}


def field_forbidden(field: str, detail: str) -> dict[str, str]:
    return {"reason": "FieldValueForbidden", "message": f"Forbidden: {detail}", "field": field}


def field_not_supported(field: str, value: Any, supported: list[str]) -> dict[str, str]:
    values = ", ".join(f'"{v}"' for v in supported)
    return {"reason": "FieldValueNotSupported",
            "message": f"Unsupported value: {_render(value)}: supported values: {values}", "field": field}


def field_too_long(field: str, value: Any, limit: int) -> dict[str, str]:
    return {"reason": "FieldValueTooLong", "message": f"Too long: may not be more than {limit} bytes",
            "field": field}


def _render(value: Any) -> str:
    """A bad value as field.Error prints it: strings quoted, numbers and booleans plain, the rest as JSON."""
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value).decode()


#: the reason and message NewGenericServerResponse gives a code; None: the message is the server's own
_GENERIC: dict[int, tuple[str, str | None]] = {
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    406: ("NotAcceptable", None),
    415: ("UnsupportedMediaType", None),
    422: ("Invalid", "the server rejected our request due to an error in our request"),
}


def generic_server_response(code: int, server_message: str = "") -> StatusError:
    """Upstream's NewGenericServerResponse, which answers for its HTTP mux and a few handlers: a fixed message per
    code (406 and 415 keep the server's), and details that are there but empty."""
    reason, message = _GENERIC[code]
    return StatusError(code, reason, message if message is not None else server_message, empty_details=True)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(resource: str, name: str, message: str, group: str = "",
              causes: list[dict[str, str]] | None = None) -> StatusError:
    """NewForbidden: of a resource (maybe a named object), or of no resource at all (a path)."""
    qualified = _qualified(resource, group)
    if not qualified:
        return StatusError(403, "Forbidden", f"forbidden: {message}", causes=causes, empty_details=True)
    target = f'{qualified} "{name}"' if name else qualified
    return StatusError(403, "Forbidden", f"{target} is forbidden: {message}",
                       name=name, group=group, kind=resource, causes=causes, empty_details=True)


def unauthorized(message: str = "Unauthorized") -> StatusError:
    return StatusError(401, "Unauthorized", message)


def method_not_allowed() -> StatusError:
    return generic_server_response(405)


def method_not_supported(resource: str, group: str, action: str) -> StatusError:
    """A verb the resource's storage does not implement (a watch of metrics.k8s.io), as NewMethodNotSupported."""
    return StatusError(405, "MethodNotAllowed", f'{action} is not supported on resources of kind '
                       f'"{_qualified(resource, group)}"', group=group, kind=resource)


def not_served() -> StatusError:
    """The 404 of a path no resource serves (an unknown resource or subresource)."""
    return generic_server_response(404)


def unsupported_media_type(accepted: list[str]) -> StatusError:
    return StatusError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                       "accepted media types include: " + ", ".join(accepted))


def not_acceptable(accepted: str) -> StatusError:
    """The handler's own 406: the media type is served, not with these parameters (a view, a version)."""
    return StatusError(406, "NotAcceptable", f"only the following media types are accepted: {accepted}")


def route_unsupported_media_type() -> StatusError:
    """The 415 of upstream's router, for a Content-Type no route of the path consumes."""
    return generic_server_response(415, "415: Unsupported Media Type")


def route_not_acceptable(produced: list[str]) -> StatusError:
    """The 406 of upstream's router, for an Accept header naming no media type the route produces."""
    return generic_server_response(406, "406: Not Acceptable\n\nAvailable representations: " + ", ".join(produced))


def too_large(limit: int) -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {limit}")


def expired(message: str, continue_token: str = "") -> StatusError:
    return StatusError(410, "Expired", message, continue_token=continue_token)


def gone(message: str) -> StatusError:
    return StatusError(410, "Gone", message)


def timeout(message: str, causes: list[dict[str, str]] | None = None, retry_after: int | None = None) -> StatusError:
    return StatusError(504, "Timeout", f"Timeout: {message}", causes=causes, retry_after=retry_after)


def unavailable(message: str) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message)


def internal(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}")


def invalid_options(kind: str, causes: list[dict[str, str]]) -> StatusError:
    """422 for a request's bad options (ListOptions, CreateOptions, DeleteOptions...), all at once."""
    return invalid(kind, "", causes, "meta.k8s.io")
