"""A pod's spec.securityContext.sysctls as upstream validates them (pkg/apis/core/validation validateSysctls):
well-formed names, no duplicates, and no network or IPC sysctl in a pod that shares that namespace with the
host (component-helpers/node/util/sysctl tells which namespace a sysctl belongs to)."""
from __future__ import annotations

import re

from shim.machinery import errors
from shim.registry.strategy import Causes, Obj

MAX_LENGTH = 253
_SEGMENT = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
PATTERN = "^(" + _SEGMENT + r"[\./])*" + _SEGMENT + "$"
_NAME = re.compile(PATTERN)

_IPC_NAMES = frozenset({"kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
                        "kernel.shm", "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.msg"})
_PREFIXES = {"net": "Net", "fs.mqueue": "IPC"}


def valid_name(name: str) -> bool:
    return len(name) <= MAX_LENGTH and _NAME.fullmatch(name) is not None


def normalize(name: str) -> str:
    """`net/ipv4/ip_forward` written with slashes as `net.ipv4.ip_forward` (the first separator decides)."""
    first = re.search(r"[./]", name)
    if first is None or first.group() == ".":
        return name
    return name.translate(str.maketrans("./", "/."))


def namespace_of(name: str) -> str:
    """"Net", "IPC" or "" (no namespace known), as upstream's GetNamespace (a `*` ends a prefix)."""
    name = normalize(name).split("*", 1)[0]
    if name in _IPC_NAMES:
        return "IPC"
    return next((ns for prefix, ns in _PREFIXES.items() if name.startswith(prefix + ".")), "")


def validate_sysctls(spec: Obj) -> Causes:
    context = spec.get("securityContext")
    sysctls = context.get("sysctls") if isinstance(context, dict) else None
    causes: Causes = []
    seen: set[str] = set()
    for i, sysctl in enumerate(sysctls if isinstance(sysctls, list) else []):
        path = f"spec.securityContext.sysctls[{i}].name"
        name = str((sysctl or {}).get("name") or "") if isinstance(sysctl, dict) else ""
        if not name:
            causes.append(errors.field_required(path))
        elif not valid_name(name):
            causes.append(errors.field_invalid(path, name, f"must have at most {MAX_LENGTH} characters and match "
                                                           f"regex {PATTERN}"))
        elif name in seen:
            causes.append({"reason": "FieldValueDuplicate", "message": f'Duplicate value: "{name}"', "field": path})
        namespace = namespace_of(name)
        if spec.get("hostNetwork") and namespace == "Net":
            causes.append(errors.field_invalid(path, name, "may not be specified when 'hostNetwork' is true"))
        elif spec.get("hostIPC") and namespace == "IPC":
            causes.append(errors.field_invalid(path, name, "may not be specified when 'hostIPC' is true"))
        seen.add(name)
    return causes
