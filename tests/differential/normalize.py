"""The one normalisation applied to both servers' answers before they are compared.

It rewrites only what two correct API servers must answer differently; everything else is compared as it came:

1. UIDs: any UUID inside any string -> `<uid>`.
2. Times: RFC 3339 timestamps inside any string -> `<time>` (protobuf Time/MicroTime messages likewise, in
   `protowire`).
3. resourceVersion values (the value of any `resourceVersion` key, and the revisions messages quote:
   `current: N`, `in record (N)`, `object meta: N`) -> `<rv>`; `continue` tokens -> `<continue>` (both opaque
   to clients).
4. Generated names: a generateName prefix (from the requests and answers of the scenario) followed by the five
   characters upstream's name generator appends -> the prefix + `<gen>`, everywhere in the scenario.
5. The ClusterIP range: IPv4 addresses inside 10.96.0.0/12 -> `<clusterIP>` (both allocate from it at random).
6. Token bytes: a JWT -> its header and claims, with times, ids and the key id normalised and the signature
   dropped; any other token where a token is expected (TokenRequest status, service-account token Secrets,
   `kubectl create token`) -> `<opaque token>`; the `ca.crt` of a token Secret and of the `kube-root-ca.crt`
   ConfigMap every namespace gets -> `<ca.crt>` (each server its CA).
7. Ages: kubectl's AGE cells, and the cells of meta.k8s.io Tables that read as an age (`0s`, `3m12s`; a Table
   event after the first of a watch carries no column definitions to find the Age column by) -> `<age>`.
8. Where the server listens: `serverAddress` values (discovery's serverAddressByClientCIDRs) -> `<address>`;
   the port of a loopback URL (`https://127.0.0.1:PORT`: each server's issuer, jwks_uri) -> `<port>`.
9. Names admission generates without generateName: the service-account volume `kube-api-access-XXXXX` ->
   `kube-api-access-<gen>`.
10. The order of managedFields entries: upstream sorts them by operation, time and manager, and times are
   normalised away (rule 2), so entries are put in one order (operation, manager, subresource) on both sides.

Empty values (`""`, `{}`) are kept: an empty resourceVersion is not a resourceVersion value.
"""
from __future__ import annotations

import base64
import ipaddress
import json
import re
from typing import Any

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?( [A-Z]{3,4})?")
IPV4 = re.compile(r"(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+")
AGE = re.compile(r"^(\d+[smhdy])+$|^<unknown>$")
RV_IN_TEXT = re.compile(r"(current: |in record \(|object meta: )\d+")
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
OPAQUE_KEYS = {"resourceVersion": "<rv>", "continue": "<continue>", "serverAddress": "<address>"}
LOOPBACK_URL = re.compile(r"(https?://127\.0\.0\.1:)\d+")
API_ACCESS_VOLUME = re.compile(r"kube-api-access-[a-z0-9]{5}")
TOKEN_SECRET = "kubernetes.io/service-account-token"
JWT_TIMES = ("exp", "iat", "nbf")


def _unpadded_b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def token(value: str) -> Any:
    """A bearer token as it may be compared: a JWT's header and claims (normalised), or `<opaque token>`."""
    if not JWT.fullmatch(value):
        return "<opaque token>"
    head, claims, _ = value.split(".")
    header = json.loads(_unpadded_b64(head))
    if "kid" in header:
        header["kid"] = "<kid>"
    body = json.loads(_unpadded_b64(claims))
    if "exp" in body and "iat" in body:
        body["lifetime"] = body["exp"] - body["iat"]
    for key in JWT_TIMES:
        if key in body:
            body[key] = "<time>"
    if "jti" in body:
        body["jti"] = "<uid>"
    return {"jwt": {"header": header, "claims": _normalize(body, None)}}


GENERATED_SUFFIX = "[bcdfghjklmnpqrstvwxz2456789]{5}"  # apiserver's names.SimpleNameGenerator alphabet
MAX_PREFIX = 58


def generate_prefixes(value: Any, found: set[str] | None = None) -> set[str]:
    """Every `metadata.generateName` in `value` (requests and answers of a scenario)."""
    found = set() if found is None else found
    if isinstance(value, dict):
        meta = value.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("generateName"), str) and meta["generateName"]:
            found.add(meta["generateName"])
        for item in value.values():
            generate_prefixes(item, found)
    elif isinstance(value, list):
        for item in value:
            generate_prefixes(item, found)
    return found


def _generated(prefixes: set[str]) -> re.Pattern[str] | None:
    if not prefixes:
        return None
    cut = {p[:MAX_PREFIX] for p in prefixes}  # a longer prefix is cut so that the name fits 63 characters
    alternatives = "|".join(re.escape(p) for p in sorted(cut, key=len, reverse=True))
    return re.compile(f"({alternatives}){GENERATED_SUFFIX}")


def _string(value: str, generated: re.Pattern[str] | None) -> Any:
    if JWT.fullmatch(value):
        return token(value)
    value = JWT.sub("<jwt>", value)
    if generated is not None:
        value = generated.sub(lambda m: m.group(1) + "<gen>", value)
    value = API_ACCESS_VOLUME.sub("kube-api-access-<gen>", value)
    value = LOOPBACK_URL.sub(lambda m: m.group(1) + "<port>", value)
    value = UUID.sub("<uid>", value)
    value = RV_IN_TEXT.sub(lambda m: m.group(1) + "<rv>", value)
    value = TIME.sub("<time>", value)
    return IPV4.sub(lambda m: "<clusterIP>" if _in_service_cidr(m.group(0)) else m.group(0), value)


def _in_service_cidr(text: str) -> bool:
    try:
        return ipaddress.ip_address(text) in SERVICE_CIDR
    except ValueError:
        return False


def normalize(value: Any, prefixes: set[str] | None = None) -> Any:
    """`value` with rules 1-6 and 8-10 and Tables' ages applied (`prefixes`: the scenario's generateName
    prefixes, see `generate_prefixes`)."""
    return _normalize(value, _generated(prefixes or set()))


def _normalize(value: Any, generated: re.Pattern[str] | None) -> Any:
    if isinstance(value, dict):
        value = _table_ages(_tokens(value))
        out = {}
        for key, item in value.items():
            if key in OPAQUE_KEYS and isinstance(item, str) and item:
                out[key] = OPAQUE_KEYS[key]
            elif key == "managedFields" and isinstance(item, list):
                out[key] = sorted((_normalize(e, generated) for e in item), key=_entry_order)
            else:
                out[_string(key, generated) if isinstance(key, str) else key] = _normalize(item, generated)
        return out
    if isinstance(value, list):
        return [_normalize(item, generated) for item in value]
    if isinstance(value, str):
        return _string(value, generated)
    return value


def _entry_order(entry: Any) -> tuple[str, ...]:
    if not isinstance(entry, dict):
        return ("", "", "")
    return tuple(str(entry.get(k, "")) for k in ("operation", "manager", "subresource"))


PEM = "-----BEGIN CERTIFICATE-----"


def _tokens(obj: dict[str, Any]) -> dict[str, Any]:
    """Rule 6 where a token or a CA is expected: a TokenRequest's status, a token Secret's data, the root CA
    ConfigMap."""
    if obj.get("kind") == "TokenRequest" and isinstance(obj.get("status"), dict) and "token" in obj["status"]:
        return {**obj, "status": {**obj["status"], "token": token(obj["status"]["token"])}}
    data = obj.get("data")
    if isinstance(data, dict) and str(data.get("ca.crt", "")).startswith(PEM):  # kinds and names may be cut away
        return {**obj, "data": {**data, "ca.crt": "<ca.crt>"}}
    if obj.get("kind") != "Secret" or obj.get("type") != TOKEN_SECRET or not isinstance(obj.get("data"), dict):
        return obj
    data = dict(obj["data"])
    if "token" in data:
        data["token"] = token(base64.b64decode(data["token"]).decode())
    if "ca.crt" in data:
        data["ca.crt"] = "<ca.crt>"
    return {**obj, "data": data}


def _table_ages(obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("kind") != "Table" or not isinstance(obj.get("rows"), list):
        return obj
    rows = [{**row, "cells": ["<age>" if isinstance(c, str) and AGE.match(c) else c for c in row.get("cells") or []]}
            for row in obj["rows"]]
    return {**obj, "rows": rows}


def kubectl_table(text: str) -> list[dict[str, str]] | list[list[str]]:
    """kubectl's column output as rows keyed by header (rule 7 applied to AGE); ragged output as split lines."""
    lines = [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return []
    head = lines[0]
    if any(len(cells) != len(head) for cells in lines[1:]):
        return lines
    rows = [dict(zip(head, cells, strict=True)) for cells in lines[1:]]
    for row in rows:
        for column in ("AGE", "LAST SEEN"):
            if column in row and AGE.match(row[column]):
                row[column] = "<age>"
    return rows
