"""ConfigMaps and Secrets: key names, base64 data, stringData, and the immutable flag."""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from shim.machinery import errors, tables
from shim.registry.strategy import Causes, NoStatusStrategy, Obj

_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_SIZE = 1024 * 1024


def _check_keys(obj: Obj, fields: tuple[str, ...], causes: Causes) -> None:
    for field in fields:
        data = obj.get(field)
        if data is None:
            continue
        if not isinstance(data, dict):
            causes.append(errors.field_invalid(field, data, "must be a map of strings"))
            continue
        for key, value in data.items():
            if not _KEY.match(key) or len(key) > 253:
                causes.append(errors.field_invalid(f"{field}", key, "a valid config key must consist of "
                                                   "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
                                                   "'KEY_NAME',  or 'key-name', regex used for validation is "
                                                   "'[-._a-zA-Z0-9]+')"))
            if not isinstance(value, str):
                causes.append(errors.field_invalid(f"{field}[{key}]", value, "must be a string"))


def _check_immutable(new: Obj, old: Obj, fields: tuple[str, ...], causes: Causes) -> None:
    if old.get("immutable"):
        if not new.get("immutable"):
            causes.append(errors.field_forbidden("immutable", "field is immutable when `immutable` is set"))
        for field in fields:
            if new.get(field) != old.get(field):
                causes.append(errors.field_forbidden(field, "field is immutable when `immutable` is set"))


class ConfigMapStrategy(NoStatusStrategy):
    FIELDS = ("data", "binaryData")

    def validate(self, obj: Obj) -> Causes:
        causes: Causes = []
        _check_keys(obj, ("data",), causes)
        binary = obj.get("binaryData") or {}
        for key, value in binary.items() if isinstance(binary, dict) else []:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, TypeError, ValueError):
                causes.append(errors.field_invalid(f"binaryData[{key}]", "<binary>", "must be base64"))
        size = sum(len(k) + len(str(v)) for f in self.FIELDS for k, v in (obj.get(f) or {}).items())
        if size > MAX_SIZE:
            causes.append(errors.field_too_long("", "", MAX_SIZE))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        causes = self.validate(new)
        _check_immutable(new, old, self.FIELDS, causes)
        return causes

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Data", description="Data contains the configuration data.")]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [len(obj.get("data") or {}) + len(obj.get("binaryData") or {})]


class SecretStrategy(NoStatusStrategy):
    field_labels = frozenset({"metadata.name", "metadata.namespace", "type"})

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Type", description="Used to facilitate programmatic handling of secret data."),
                tables.column("Data", description="Data contains the secret data.")]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [obj.get("type", ""), len(obj.get("data") or {})]

    def _fold_string_data(self, obj: Obj) -> None:
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = obj.setdefault("data", {}) or {}
            obj["data"] = data
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def prepare_for_create(self, obj: Obj) -> None:
        obj.setdefault("type", "Opaque")
        self._fold_string_data(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        new.setdefault("type", old.get("type", "Opaque"))
        self._fold_string_data(new)

    def validate(self, obj: Obj) -> Causes:
        causes: Causes = []
        _check_keys(obj, ("data",), causes)
        for key, value in (obj.get("data") or {}).items() if isinstance(obj.get("data"), dict) else []:
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, TypeError, ValueError):
                causes.append(errors.field_invalid(f"data[{key}]", "<secret contents redacted>",
                                                   "illegal base64 data"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        causes = self.validate(new)
        if new.get("type") != old.get("type"):
            causes.append(errors.field_invalid("type", new.get("type"), "field is immutable"))
        _check_immutable(new, old, ("data",), causes)
        return causes

    def fields(self, obj: Obj) -> dict[str, str]:
        out = super().fields(obj)
        out["type"] = obj.get("type", "")
        return out
