"""The judge itself, without servers: normalisation rules, the field diff, and the allow-list's strictness.

These run wherever the tier is collected (no Go needed): a judge that normalised too much, diffed wrongly or let
an allow-list entry rot would make every scenario pass for the wrong reason.
"""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

import known_differences
from differ import MISSING, Difference, diff
from known_differences import Known, check, covers
from normalize import kubectl_table, normalize, token

pytestmark = pytest.mark.differential
HERE = Path(__file__).resolve().parent


def b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_normalize_rewrites_only_values_two_correct_servers_differ_in() -> None:
    answer = {"metadata": {"uid": "0b5c4b1e-6a51-4d3b-9c1e-2f0e1d2c3b4a", "resourceVersion": "812",
                           "creationTimestamp": "2026-01-02T03:04:05Z", "name": "web", "generation": 3},
              "spec": {"clusterIP": "10.96.12.7", "externalIPs": ["192.168.1.5"]},
              "message": "Too large resource version: 9, current: 812"}
    assert normalize(answer) == {
        "metadata": {"uid": "<uid>", "resourceVersion": "<rv>", "creationTimestamp": "<time>", "name": "web",
                     "generation": 3},
        "spec": {"clusterIP": "<clusterIP>", "externalIPs": ["192.168.1.5"]},
        "message": "Too large resource version: 9, current: <rv>"}


def test_normalize_keeps_empty_resource_version() -> None:
    assert normalize({"resourceVersion": ""}) == {"resourceVersion": ""}


def test_generated_names_need_their_prefix() -> None:
    prefix = "x" * 70
    text = {"a": "gen-b7k2x", "b": "x" * 58 + "zz9qd", "c": "other-b7k2x"}
    assert normalize(text, {"gen-", prefix}) == {"a": "gen-<gen>", "b": "x" * 58 + "<gen>", "c": "other-b7k2x"}


def test_jwt_compared_by_claims_and_opaque_tokens_by_kind() -> None:
    jwt = f"{b64({'alg': 'RS256', 'kid': 'abc'})}.{b64({'iss': 'i', 'iat': 100, 'exp': 3700, 'aud': ['a']})}.sig"
    assert token(jwt) == {"jwt": {"header": {"alg": "RS256", "kid": "<kid>"},
                                  "claims": {"iss": "i", "iat": "<time>", "exp": "<time>", "aud": ["a"],
                                             "lifetime": 3600}}}
    assert token("kubeshim.payload.signature") == "<opaque token>"
    assert normalize({"kind": "TokenRequest", "status": {"token": "opaque"}})["status"]["token"] == "<opaque token>"


def test_managed_fields_compared_in_one_order() -> None:
    entries = [{"manager": "b", "operation": "Update"}, {"manager": "a", "operation": "Update"},
               {"manager": "z", "operation": "Apply"}]
    assert [e["manager"] for e in normalize({"managedFields": entries})["managedFields"]] == ["z", "a", "b"]


def test_kubectl_ages_normalised_other_cells_kept() -> None:
    out = "NAME   DATA   AGE\nc1     2      5s\nc2     1      3m12s\n"
    assert kubectl_table(out) == [{"NAME": "c1", "DATA": "2", "AGE": "<age>"},
                                  {"NAME": "c2", "DATA": "1", "AGE": "<age>"}]


def test_diff_matches_named_items_by_name_and_reports_order() -> None:
    ref = {"items": [{"metadata": {"name": "a"}, "v": 1}, {"metadata": {"name": "b"}, "v": 2}]}
    shim = {"items": [{"metadata": {"name": "b"}, "v": 2}, {"metadata": {"name": "a"}, "v": 9}]}
    assert diff(ref, shim) == [Difference(("items", "<order>"), ["a", "b"], ["b", "a"]),
                               Difference(("items", "a", "v"), 1, 9)]


def test_diff_reports_absent_keys_and_scalar_lists_whole() -> None:
    assert diff({"a": 1, "verbs": ["get", "list"]}, {"verbs": ["get"], "b": 2}) == [
        Difference(("a",), 1, MISSING), Difference(("verbs",), ["get", "list"], ["get"]),
        Difference(("b",), MISSING, 2)]


def test_allow_list_paths_cover_subtrees_and_wildcards() -> None:
    assert covers("error/body", "error/body/message")
    assert not covers("error/body", "error/bodyguard")
    assert covers("*/body/metadata/managedFields/**/.", "post/body/metadata/managedFields/m:Update/fieldsV1/f:data/.")
    assert not covers("*/body/message", "error/body/details/name")


def test_allow_list_entry_that_no_longer_differs_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = Known("a gap", "issue 0", {"test_x": ("step/body/message", "step/code")})
    for name, value in (("KNOWN", (entry,)), ("SEEN", {}), ("RAN", set())):
        monkeypatch.setattr(known_differences, name, value)
    unexpected, stale = check("test_x", [Difference(("step", "body", "message"), "a", "b"),
                                         Difference(("step", "body", "reason"), "A", "B")])
    assert [d.where for d in unexpected] == ["step/body/reason"]
    assert stale == [(entry, "step/code")]


def test_allow_list_names_only_scenarios_that_exist() -> None:
    """A renamed or deleted scenario would leave its entries behind, never checked again."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           str(HERE)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    collected = {line.split("::")[-1] for line in proc.stdout.splitlines() if "::" in line}
    named = {scenario for entry in known_differences.KNOWN for scenario in entry.where}
    assert named - collected == set()
