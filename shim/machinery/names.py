"""Object name rules (apimachinery pkg/util/validation and pkg/api/validation/path) and generateName."""
from __future__ import annotations

import re
import secrets

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def dns1123_label(name: str) -> list[str]:
    """Problems with `name` as an RFC 1123 label (namespaces, services)."""
    errs = []
    if len(name) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.fullmatch(name):
        errs.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
                    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    return errs


def dns1123_subdomain(name: str) -> list[str]:
    """Problems with `name` as an RFC 1123 subdomain (most kinds)."""
    errs = []
    if len(name) > 253:
        errs.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        errs.append("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
                    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                    "regex used for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return errs


def path_segment(name: str) -> list[str]:
    """Problems with `name` as a path segment (RBAC objects and other kinds with loose names)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    for bad in ("/", "%"):
        if bad in name:
            return [f"may not contain '{bad}'"]
    return []


_QUALIFIED_NAME_RULE = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                        "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
                        "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


def label_key(key: str) -> list[str]:
    """Problems with a label or annotation key: an optional DNS subdomain prefix and '/', then a qualified name
    (upstream's IsQualifiedName, message for message)."""
    parts = key.split("/")
    if len(parts) > 2:
        return [f"a qualified name {_QUALIFIED_NAME_RULE} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    errs = []
    if len(parts) == 2:
        prefix = parts[0]
        errs += ["prefix part " + p for p in dns1123_subdomain(prefix)] if prefix else ["prefix part must be non-empty"]
    name = parts[-1]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME.fullmatch(name):
        errs.append("name part " + _QUALIFIED_NAME_RULE)
    return errs


def label_value(value: str) -> list[str]:
    if value == "":
        return []
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _QUALIFIED_NAME.fullmatch(value):
        errs.append("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
                    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                    "'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
    return errs


def generate_name(prefix: str) -> str:
    """generateName as upstream: the prefix cut to 58 characters plus 5 random characters."""
    return prefix[:58] + "".join(secrets.choice(_GENERATE_ALPHABET) for _ in range(5))
