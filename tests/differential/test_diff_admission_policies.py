"""ValidatingAdmissionPolicies on both servers: what a bad policy or binding is refused with (CEL compilation
errors included), and what a bound policy answers to the writes it judges (denial Status, Warning headers).

Policies and bindings are cluster-scoped: each scenario names them after its namespace, selects only that
namespace, and deletes them at the end. kube-apiserver applies a new policy asynchronously (its informers), so a
scenario first waits, unrecorded, until its policy acts.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest

from differ import Pair, Side
from harness import wait_for

pytestmark = pytest.mark.differential

POLICIES = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
BINDINGS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
CONFIGMAP_RULES = {"resourceRules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                      "resources": ["configmaps"]}]}


def policy(s: Side, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": f"{s.ns}.example.com"}, "spec": {"matchConstraints": CONFIGMAP_RULES, **spec}}


def binding(s: Side, actions: list[str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": f"{s.ns}-binding"},
            "spec": {"policyName": f"{s.ns}.example.com", "validationActions": actions,
                     "matchResources": {"namespaceSelector": {"matchLabels": {
                         "kubernetes.io/metadata.name": s.ns}}}, **spec}}


CREATE_ERRORS: dict[str, dict[str, Any]] = {
    "no-matching-overload": {"validations": [{"expression": "object.data.size() > '1'"}]},
    "undeclared-reference": {"validations": [{"expression": "objekt.data.x == 'a'"}]},
    "missing-operand": {"validations": [{"expression": "object.data.x == "}]},
    "not-a-bool": {"validations": [{"expression": "size(object.data)"}]},
    "message-expression-not-a-string": {"validations": [{"expression": "true", "messageExpression": "1 + 1"}]},
    "unknown-variable": {"variables": [{"name": "n", "expression": "size(object.data)"}],
                         "validations": [{"expression": "variables.m > 1"}]},
    "params-without-param-kind": {"validations": [{"expression": "params.x == 'a'"}]},
    "heterogeneous-list": {"validations": [{"expression": "[1, 'a'].size() == 2"}]},
    "empty-spec": {"matchConstraints": None},
    "bad-rules-and-actions": {"failurePolicy": "Sometimes", "matchConstraints": {"resourceRules": [
        {"operations": ["PATCH"], "apiGroups": ["*", "apps"], "apiVersions": [], "resources": ["*/*", "pods"]}]},
        "validations": [{"expression": "true", "reason": "Teapot", "message": " "}]},
}


@pytest.mark.parametrize("case", list(CREATE_ERRORS))
def test_policy_refused(pair: Pair, case: str) -> None:
    def scenario(s: Side) -> None:
        body = policy(s, CREATE_ERRORS[case])
        if body["spec"].get("matchConstraints") is None:
            body["spec"] = {}
        s.request("create", "POST", POLICIES, body=body)
    pair.run(scenario)


def test_binding_refused(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.request("create", "POST", BINDINGS, body=binding(s, ["Deny", "Warn", "Deny", "Shout"], paramRef={
            "name": "x", "selector": {"matchLabels": {"a": "b"}}, "parameterNotFoundAction": "Maybe"}))
    pair.run(scenario)


@contextmanager
def _bound(s: Side, spec: dict[str, Any], actions: list[str], **binding_spec: Any) -> Iterator[None]:
    s.json("POST", POLICIES, policy(s, spec))
    s.json("POST", BINDINGS, binding(s, actions, **binding_spec))
    try:
        yield
    finally:
        s.request(None, "DELETE", f"{BINDINGS}/{s.ns}-binding")
        s.request(None, "DELETE", f"{POLICIES}/{s.ns}.example.com")


def _judged(s: Side, spec: dict[str, Any], actions: list[str], probe: dict[str, Any],
            until: Callable[[Any], bool], then: Callable[[], None], **binding_spec: Any) -> None:
    """Bind `spec` to this namespace's configmaps, wait until creating `probe` shows the policy acts, then run
    the recorded steps of `then`."""
    cms = f"/api/v1/namespaces/{s.ns}/configmaps"
    with _bound(s, spec, actions, **binding_spec):
        def acts() -> bool:
            resp = s.request(None, "POST", cms, body=probe)
            if resp.status_code < 300:
                s.request(None, "DELETE", f"{cms}/{probe['metadata']['name']}")
            return until(resp)
        wait_for(acts, 30, "the policy to act", interval=0.2)
        then()


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_denied(pair: Pair) -> None:
    spec = {"validations": [
        {"expression": "size(object.data) <= 1",
         "messageExpression": "'at most 1 key, got ' + string(size(object.data))"},
        {"expression": "!('forbidden' in object.data)", "message": "no forbidden key", "reason": "Forbidden"},
        {"expression": "object.data.mode == 'on'"}]}

    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"

        def steps() -> None:
            s.request("too-many", "POST", cms, body=configmap("a", mode="on", b="2"))
            s.request("forbidden", "POST", cms, body=configmap("b", forbidden="x"))
            s.request("no-mode", "POST", cms, body=configmap("c", other="x"))
            s.request("admitted", "POST", cms, body=configmap("d", mode="on"))
            s.request("update-denied", "PUT", f"{cms}/d", body=configmap("d", mode="off"))
        _judged(s, spec, ["Deny"], configmap("probe", a="1", b="2"), lambda r: r.status_code == 422, steps)
    pair.run(scenario)


def test_warned(pair: Pair) -> None:
    spec = {"validations": [{"expression": "size(object.data) <= 1", "message": "keep it small"}]}

    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"
        _judged(s, spec, ["Warn", "Audit"], configmap("probe", a="1", b="2"),
                lambda r: bool(r.headers.get_list("warning")),
                lambda: s.request("warned", "POST", cms, body=configmap("a", a="1", b="2")))
    pair.run(scenario)


def test_runtime_error(pair: Pair) -> None:
    spec = {"validations": [{"expression": "object.data.mode == 'on'"}]}

    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"
        _judged(s, spec, ["Deny"], configmap("probe", other="x"), lambda r: r.status_code == 422,
                lambda: s.request("no-such-key", "POST", cms, body=configmap("a", other="x")))
    pair.run(scenario)


def test_params_and_match_conditions(pair: Pair) -> None:
    spec = {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConditions": [{"name": "not-the-limits", "expression": "object.metadata.name != 'limits'"}],
            "validations": [{"expression": "size(object.data) <= int(params.data.max)",
                             "messageExpression": "'more than ' + params.data.max + ' keys'"}]}

    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"
        s.json("POST", cms, configmap("limits", max="1"))

        def steps() -> None:
            s.request("too-many", "POST", cms, body=configmap("a", a="1", b="2"))
            s.request("condition-false", "PUT", f"{cms}/limits", body=configmap("limits", max="1", other="x"))
            s.request("admitted", "POST", cms, body=configmap("b", a="1"))
        _judged(s, spec, ["Deny"], configmap("probe", a="1", b="2"), lambda r: r.status_code == 422, steps,
                paramRef={"name": "limits", "parameterNotFoundAction": "Deny"})
    pair.run(scenario)


def test_param_not_found(pair: Pair) -> None:
    spec = {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "validations": [{"expression": "object.data.size() <= int(params.data.max)"}]}

    def scenario(s: Side) -> None:
        cms = f"/api/v1/namespaces/{s.ns}/configmaps"
        _judged(s, spec, ["Deny"], configmap("probe", a="1"), lambda r: r.status_code == 422,
                lambda: s.request("denied", "POST", cms, body=configmap("a", a="1")),
                paramRef={"name": "absent", "parameterNotFoundAction": "Deny"})
    pair.run(scenario)


TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def _columns_and_cells(table: Any) -> Any:
    return {"columns": table["columnDefinitions"], "cells": [row["cells"] for row in table["rows"]]}


def test_tables(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.json("POST", POLICIES, policy(s, {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                                            "validations": [{"expression": "true"}, {"expression": "1 == 1"}]}))
        s.json("POST", BINDINGS, binding(s, ["Audit"], paramRef={
            "selector": {"matchLabels": {"b": "2", "a": "1"},
                         "matchExpressions": [{"key": "c", "operator": "In", "values": ["x", "y"]}]},
            "parameterNotFoundAction": "Allow"}))
        try:
            # columns and cells only: the reference runs no policy status controller that would change the objects
            s.request("policy", "GET", f"{POLICIES}/{s.ns}.example.com", accept=TABLE, view=_columns_and_cells)
            s.request("binding", "GET", f"{BINDINGS}/{s.ns}-binding", accept=TABLE, view=_columns_and_cells)
        finally:
            s.request(None, "DELETE", f"{BINDINGS}/{s.ns}-binding")
            s.request(None, "DELETE", f"{POLICIES}/{s.ns}.example.com")
    pair.run(scenario)


def test_status_refused(pair: Pair) -> None:
    def scenario(s: Side) -> None:
        s.json("POST", POLICIES, policy(s, {"validations": [{"expression": "true"}]}))
        try:
            s.request("bad-status", "PATCH", f"{POLICIES}/{s.ns}.example.com/status", body={"status": {
                "conditions": [{"type": "Ready", "status": "Maybe", "reason": "not a reason!"},
                               {"type": "Ready", "status": "True", "reason": "Fine",
                                "lastTransitionTime": "2024-01-01T00:00:00Z"}],
                "typeChecking": {"expressionWarnings": [{"fieldRef": "", "warning": ""}]}}},
                content_type="application/merge-patch+json")
        finally:
            s.request(None, "DELETE", f"{POLICIES}/{s.ns}.example.com")
    pair.run(scenario)
