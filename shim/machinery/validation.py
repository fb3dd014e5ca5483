"""Field validators several kinds share, worded as upstream's (apimachinery pkg/util/validation, metav1's label
selector validation, apps' int-or-percent checks): each returns the causes of a 422, with the field path given.
"""
from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

from shim.machinery import errors, names

Causes = list[dict[str, str]]

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_SUBDOMAIN = re.compile("^" + _DNS1123_SUBDOMAIN + "$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_WILDCARD_SUBDOMAIN = re.compile(r"^\*\." + _DNS1123_SUBDOMAIN + "$")
_PERCENT = re.compile(r"^[0-9]+%$")
_PORT_NAME_CHARSET = re.compile(r"^[-a-z0-9]+$")
_HTTP_PATH = re.compile(r"^[A-Za-z0-9/\-._~%!$&'()*+,;=:]+$")
NEGATIVE = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"


def go_json(value: Any) -> str:
    """`value` as Go's json.Marshal writes it: how upstream renders a struct or list in `Invalid value: ...`."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Ptr:
    """A pointer to a struct in a go_struct shape: absent is null."""

    def __init__(self, fields: list[tuple[str, str, Any]]) -> None:
        self.fields = fields


class Slice:
    """A slice in a go_struct shape (absent is null); `item` is a scalar's zero value or a struct's fields."""

    def __init__(self, item: Any) -> None:
        self.item = item


def _go_value(value: Any, shape: Any) -> Any:
    if isinstance(shape, Ptr):
        return None if value is None else _go_value(value, shape.fields)
    if isinstance(shape, Slice):
        return None if value is None else [_go_value(v, shape.item) for v in value]
    if isinstance(shape, list):
        fields = value if isinstance(value, dict) else {}
        out = {}
        for go, key, sub in shape:
            field = fields.get(key)
            nested = isinstance(sub, (Ptr, Slice, list))
            out[go] = _go_value(field, sub) if nested else (sub if field is None else field)
        return out
    return value


def go_struct(value: Any, shape: list[tuple[str, str, Any]]) -> str:
    """`value` as upstream renders one of its internal Go structs in `Invalid value: ...`: json.Marshal of a
    struct without json tags, so Go's field names in declaration order, every field present (zero values,
    null for absent pointers and slices). `shape` lists (GoName, jsonName, zero value, Ptr, Slice or fields)."""
    return go_json(_go_value(value, shape))


def invalid_rendered(field: str, rendered: str, detail: str) -> dict[str, str]:
    """A FieldValueInvalid cause whose value is already rendered (go_json of a struct or list)."""
    return {"reason": "FieldValueInvalid", "message": f"Invalid value: {rendered}: {detail}", "field": field}


def duplicate(field: str, value: Any) -> dict[str, str]:
    rendered = f'"{value}"' if isinstance(value, str) else go_json(value)
    return {"reason": "FieldValueDuplicate", "message": f"Duplicate value: {rendered}", "field": field}


def immutable(field: str, new: Any, old: Any) -> Causes:
    """ValidateImmutableField: the new value, when it differs from the old one."""
    if new == old:
        return []
    if isinstance(new, (dict, list)):
        return [invalid_rendered(field, go_json(new), IMMUTABLE)]
    return [errors.field_invalid(field, new, IMMUTABLE)]


def dns1035_label(value: str) -> list[str]:
    """IsDNS1035Label (service names, versions)."""
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1035_LABEL.match(value):
        errs.append("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
    return errs


def dns1123_label(value: str) -> list[str]:
    """IsDNS1123Label (namespace names, RuntimeClass handlers): a valid subdomain is told it has dots."""
    errs = ["must be no more than 63 characters"] if len(value) > 63 else []
    if not _DNS1123_LABEL.match(value):
        errs.append("must not contain dots" if _SUBDOMAIN.match(value) else
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
                    "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    return errs


def wildcard_dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _WILDCARD_SUBDOMAIN.match(value):
        errs.append("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which "
                    "must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric "
                    "character (e.g. '*.example.com', regex used for validation is '\\*\\." + _DNS1123_SUBDOMAIN
                    + "')")
    return errs


def port_number(port: Any) -> list[str]:
    """IsValidPortNum."""
    return [] if isinstance(port, int) and 1 <= port <= 65535 else ["must be between 1 and 65535, inclusive"]


def port_name(port: str) -> list[str]:
    """IsValidPortName (IANA_SVC_NAME)."""
    errs = []
    if len(port) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARSET.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def cidr(field: str, value: str) -> Causes:
    """IsValidCIDRForLegacyField as v1.34 runs it (StrictIPCIDRValidation off: bits past the prefix are fine)."""
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return [errors.field_invalid(field, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")]
    return []


def ip(field: str, value: str) -> Causes:
    """IsValidIPForLegacyField (sloppy, as in v1.34)."""
    if is_ip(value):
        return []
    return [errors.field_invalid(field, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]


def domain_prefixed_path(field: str, value: str) -> Causes:
    """IsDomainPrefixedPath (an IngressClass's controller)."""
    if not value:
        return [errors.field_required(field)]
    host, slash, path = value.partition("/")
    if not slash or not host or not path:
        return [errors.field_invalid(field, value, 'must be a domain-prefixed path (such as "acme.io/foo")')]
    causes = [errors.field_invalid(field, host, problem) for problem in names.dns1123_subdomain(host)]
    if not _HTTP_PATH.match(path):
        causes.append(errors.field_invalid(field, path, "Invalid path (regex used for validation is "
                                                        "'[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+')"))
    return causes


def nonnegative(field: str, value: Any) -> Causes:
    return [errors.field_invalid(field, value, NEGATIVE)] if isinstance(value, int) and value < 0 else []


def int_or_percent(field: str, value: Any) -> Causes:
    """apps' ValidatePositiveIntOrPercent and IsNotMoreThan100Percent (PDB minAvailable/maxUnavailable)."""
    if isinstance(value, str):
        if not _PERCENT.match(value):
            return [errors.field_invalid(field, value, "a valid percent string must be a numeric string followed "
                                                       "by an ending '%' (e.g. '1%',  or '93%', regex used for "
                                                       "validation is '[0-9]+%')")]
        if int(value[:-1]) > 100:
            return [errors.field_invalid(field, value, "must not be greater than 100%")]
        return []
    return nonnegative(field, value)


def labels(field: str, values: Any) -> Causes:
    """metav1 ValidateLabels: keys as qualified names, values as label values, all reported at `field`."""
    causes: Causes = []
    for key, value in (values or {}).items() if isinstance(values, dict) else ():
        causes += [errors.field_invalid(field, key, problem) for problem in names.label_key(key)]
        causes += [errors.field_invalid(field, value, problem) for problem in names.label_value(str(value))]
    return causes


def label_selector(field: str, selector: Any) -> Causes:
    """metav1 ValidateLabelSelector (a nil selector is valid)."""
    if not isinstance(selector, dict):
        return []
    causes = labels(f"{field}.matchLabels", selector.get("matchLabels"))
    for i, requirement in enumerate(selector.get("matchExpressions") or []):
        path = f"{field}.matchExpressions[{i}]"
        requirement = requirement if isinstance(requirement, dict) else {}
        operator, values = requirement.get("operator", ""), requirement.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                causes.append(errors.field_required(f"{path}.values",
                                                    "must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                causes.append(errors.field_forbidden(f"{path}.values", "may not be specified when `operator` is "
                                                                       "'Exists' or 'DoesNotExist'"))
        else:
            causes.append(errors.field_invalid(f"{path}.operator", operator, "not a valid selector operator"))
        key = requirement.get("key", "")
        causes += [errors.field_invalid(f"{path}.key", key, problem) for problem in names.label_key(key)]
        for j, value in enumerate(values):
            causes += [errors.field_invalid(f"{path}.values[{j}]", value, problem)
                       for problem in names.label_value(str(value))]
    return causes


def format_label_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: how `kubectl get` shows a selector, requirements sorted by key (`<none>` when
    it selects everything or nothing)."""
    if not isinstance(selector, dict):
        return "<none>"
    parts = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement.get("key", ""), requirement.get("operator", "")
        values = ",".join(sorted(requirement.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key,
                "DoesNotExist": f"!{key}"}.get(operator)
        if text is None:
            return "<error>"
        parts.append((key, text))
    return ",".join(text for _, text in sorted(parts, key=lambda p: p[0])) or "<none>"


_CONDITION_REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
_CONDITION_STATUSES = ["False", "True", "Unknown"]


def conditions(field: str, items: Any) -> Causes:
    """metav1 ValidateConditions: unique types, each a valid condition (a status's `conditions`)."""
    causes: Causes = []
    seen: set[str] = set()
    for i, condition in enumerate(items if isinstance(items, list) else []):
        condition = condition if isinstance(condition, dict) else {}
        path = f"{field}[{i}]"
        kind = str(condition.get("type") or "")
        if kind in seen:
            causes.append(duplicate(f"{path}.type", kind))
        seen.add(kind)
        causes += [errors.field_invalid(f"{path}.type", kind, p) for p in names.label_key(kind)]
        status = condition.get("status") or ""
        if status not in _CONDITION_STATUSES:
            causes.append(errors.field_not_supported(f"{path}.status", status, _CONDITION_STATUSES))
        observed = condition.get("observedGeneration")
        if isinstance(observed, int) and observed < 0:
            causes.append(errors.field_invalid(f"{path}.observedGeneration", observed,
                                               "must be greater than or equal to zero"))
        if not condition.get("lastTransitionTime"):
            causes.append(errors.field_required(f"{path}.lastTransitionTime"))
        reason = str(condition.get("reason") or "")
        if not reason:
            causes.append(errors.field_required(f"{path}.reason"))
        else:
            if not _CONDITION_REASON.match(reason):
                causes.append(errors.field_invalid(
                    f"{path}.reason", reason, "a condition reason must start with alphabetic character, optionally "
                    "followed by a string of alphanumeric characters or '_,:', and must end with an alphanumeric "
                    "character or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName',  or 'ReasonA,ReasonB',  or "
                    "'ReasonA:ReasonB', regex used for validation is '[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?')"))
            if len(reason) > 1024:
                causes.append(errors.field_too_long(f"{path}.reason", "", 1024))
        if len(str(condition.get("message") or "")) > 32 * 1024:
            causes.append(errors.field_too_long(f"{path}.message", "", 32 * 1024))
    return causes
