"""ValidatingAdmissionPolicies through a real server: a bound policy judges the writes it matches (deny, warn,
params, matchConditions, namespace selection, deletes), a policy whose CEL does not compile is refused, and the
status controller type-checks a policy against the kinds it matches."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import httpx

from apihelpers import expect_http, unique
from harness import wait_for

Obj = dict[str, Any]
POLICIES = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
BINDINGS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"


def configmaps(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/configmaps"


def configmap(name: str, **data: str) -> Obj:
    return {"metadata": {"name": name}, "data": data}


def rules(*operations: str) -> Obj:
    return {"resourceRules": [{"operations": list(operations or ("CREATE", "UPDATE")), "apiGroups": [""],
                               "apiVersions": ["v1"], "resources": ["configmaps"]}]}


@contextmanager
def bound(http: httpx.Client, ns: str, spec: Obj, actions: tuple[str, ...] = ("Deny",),
          **binding: Any) -> Iterator[tuple[str, str]]:
    """A policy on the configmaps of namespace `ns`, bound with `actions`: its name and its binding's."""
    policy, name = unique("policy"), unique("binding")
    resp = http.post(POLICIES, json={"metadata": {"name": policy}, "spec": {"matchConstraints": rules(), **spec}})
    assert resp.status_code == 201, resp.text
    selector = {"matchLabels": {"kubernetes.io/metadata.name": ns}}
    resp = http.post(BINDINGS, json={"metadata": {"name": name}, "spec": {
        "policyName": policy, "validationActions": list(actions), "matchResources": {"namespaceSelector": selector},
        **binding}})
    assert resp.status_code == 201, resp.text
    try:
        yield policy, name
    finally:
        http.delete(f"{BINDINGS}/{name}")
        http.delete(f"{POLICIES}/{policy}")


SMALL = {"validations": [{"expression": "size(object.data) <= 1", "message": "at most one key"}]}


def test_a_denying_policy_refuses_the_write_in_upstreams_words(http, ns) -> None:
    with bound(http, ns, SMALL) as (policy, binding):
        status = expect_http(http.post(configmaps(ns), json=configmap("big", a="1", b="2")), 422, "Invalid")
    assert status["message"] == (f'configmaps "big" is forbidden: ValidatingAdmissionPolicy \'{policy}\' with '
                                 f"binding '{binding}' denied request: at most one key")
    assert http.get(f"{configmaps(ns)}/big").status_code == 404


def test_a_write_the_policy_accepts_is_stored(http, ns) -> None:
    with bound(http, ns, SMALL):
        assert http.post(configmaps(ns), json=configmap("small", a="1")).status_code == 201


def test_a_warning_policy_admits_the_write_with_a_warning_header(http, ns) -> None:
    with bound(http, ns, SMALL, ("Warn",)) as (policy, binding):
        resp = http.post(configmaps(ns), json=configmap("big", a="1", b="2"))
    assert resp.status_code == 201, resp.text
    assert resp.headers.get_list("warning") == [
        f"299 - \"Validation failed for ValidatingAdmissionPolicy '{policy}' with binding '{binding}': at most "
        f'one key"']


def test_the_message_expression_words_the_denial(http, ns) -> None:
    spec = {"validations": [{"expression": "size(object.data) <= 1",
                             "messageExpression": "'got ' + string(size(object.data)) + ' keys'"}]}
    with bound(http, ns, spec):
        status = expect_http(http.post(configmaps(ns), json=configmap("big", a="1", b="2")), 422, "Invalid")
    assert status["message"].endswith("denied request: got 2 keys")


def test_the_reason_of_a_validation_sets_the_status_code(http, ns) -> None:
    spec = {"validations": [{"expression": "!('secret' in object.data)", "reason": "Forbidden"}]}
    with bound(http, ns, spec):
        status = expect_http(http.post(configmaps(ns), json=configmap("c", secret="x")), 403, "Forbidden")
    assert status["message"].endswith("denied request: failed expression: !('secret' in object.data)")


def test_params_come_from_the_object_the_binding_names(http, ns) -> None:
    assert http.post(configmaps(ns), json=configmap("limits", max="2")).status_code == 201
    spec = {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConditions": [{"name": "not-the-limits", "expression": "object.metadata.name != 'limits'"}],
            "validations": [{"expression": "size(object.data) <= int(params.data.max)",
                             "messageExpression": "'more than ' + params.data.max + ' keys'"}]}
    with bound(http, ns, spec, paramRef={"name": "limits", "parameterNotFoundAction": "Deny"}):
        assert http.post(configmaps(ns), json=configmap("two", a="1", b="2")).status_code == 201
        status = expect_http(http.post(configmaps(ns), json=configmap("three", a="1", b="2", c="3")), 422,
                             "Invalid")
    assert status["message"].endswith("denied request: more than 2 keys")


def test_a_missing_param_denies_when_the_binding_says_so(http, ns) -> None:
    spec = {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "validations": [{"expression": "size(object.data) <= int(params.data.max)"}]}
    with bound(http, ns, spec, paramRef={"name": "absent", "parameterNotFoundAction": "Deny"}):
        status = expect_http(http.post(configmaps(ns), json=configmap("c", a="1")), 422, "Invalid")
    assert status["message"].endswith("denied request: failed to configure binding: no params found for policy "
                                      "binding with `Deny` parameterNotFoundAction")


def test_a_false_match_condition_leaves_the_write_alone(http, ns) -> None:
    spec = {**SMALL, "matchConditions": [{"name": "only-labelled", "expression":
                                          "has(object.metadata.labels) && 'checked' in object.metadata.labels"}]}
    with bound(http, ns, spec):
        assert http.post(configmaps(ns), json=configmap("free", a="1", b="2")).status_code == 201
        checked = {"metadata": {"name": "checked", "labels": {"checked": "yes"}}, "data": {"a": "1", "b": "2"}}
        expect_http(http.post(configmaps(ns), json=checked), 422, "Invalid")


def test_the_namespace_selector_spares_other_namespaces(http, ns, core) -> None:
    other = unique("ns")
    core.create_namespace({"metadata": {"name": other}})
    try:
        with bound(http, ns, SMALL):
            assert http.post(configmaps(other), json=configmap("big", a="1", b="2")).status_code == 201
    finally:
        core.delete_namespace(other)


def test_the_object_selector_judges_only_labelled_objects(http, ns) -> None:
    spec = {**SMALL, "matchConstraints": {**rules(), "objectSelector": {"matchLabels": {"checked": "yes"}}}}
    with bound(http, ns, spec):
        assert http.post(configmaps(ns), json=configmap("free", a="1", b="2")).status_code == 201
        checked = {"metadata": {"name": "checked", "labels": {"checked": "yes"}}, "data": {"a": "1", "b": "2"}}
        expect_http(http.post(configmaps(ns), json=checked), 422, "Invalid")


def test_excluded_resource_names_are_not_judged(http, ns) -> None:
    excluded = [{"operations": ["*"], "apiGroups": [""], "apiVersions": ["*"], "resources": ["configmaps"],
                 "resourceNames": ["exempt"]}]
    spec = {**SMALL, "matchConstraints": {**rules(), "excludeResourceRules": excluded}}
    with bound(http, ns, spec):
        assert http.post(configmaps(ns), json=configmap("exempt", a="1", b="2")).status_code == 201
        expect_http(http.post(configmaps(ns), json=configmap("judged", a="1", b="2")), 422, "Invalid")


def test_a_delete_is_judged_by_the_old_object(http, ns) -> None:
    assert http.post(configmaps(ns), json=configmap("kept", keep="yes")).status_code == 201
    spec = {"matchConstraints": rules("DELETE"),
            "validations": [{"expression": "oldObject.data.keep != 'yes'", "message": "this one stays"}]}
    with bound(http, ns, spec):
        status = expect_http(http.delete(f"{configmaps(ns)}/kept"), 422, "Invalid")
    assert status["message"].endswith("denied request: this one stays")


def test_a_warning_policy_warns_on_delete_too(http, ns) -> None:
    assert http.post(configmaps(ns), json=configmap("kept", keep="yes")).status_code == 201
    spec = {"matchConstraints": rules("DELETE"),
            "validations": [{"expression": "oldObject.data.keep != 'yes'", "message": "this one was to stay"}]}
    with bound(http, ns, spec, ("Warn",)):
        resp = http.delete(f"{configmaps(ns)}/kept")
    assert resp.status_code == 200, resp.text
    assert [w.endswith(': this one was to stay"') for w in resp.headers.get_list("warning")] == [True]


def test_a_runtime_error_denies_under_failure_policy_fail(http, ns) -> None:
    spec = {"validations": [{"expression": "object.data.mode == 'on'"}]}
    with bound(http, ns, spec):
        status = expect_http(http.post(configmaps(ns), json=configmap("c", other="x")), 422, "Invalid")
    assert status["message"].endswith("denied request: expression 'object.data.mode == 'on'' resulted in error: "
                                      "no such key: mode")


def test_a_runtime_error_is_ignored_under_failure_policy_ignore(http, ns) -> None:
    spec = {"failurePolicy": "Ignore", "validations": [{"expression": "object.data.mode == 'on'"}]}
    with bound(http, ns, spec):
        assert http.post(configmaps(ns), json=configmap("c", other="x")).status_code == 201


def test_variables_are_visible_to_the_validations(http, ns) -> None:
    spec = {"variables": [{"name": "keys", "expression": "size(object.data)"}],
            "validations": [{"expression": "variables.keys <= 1", "messageExpression":
                             "string(variables.keys) + ' keys'"}]}
    with bound(http, ns, spec):
        status = expect_http(http.post(configmaps(ns), json=configmap("big", a="1", b="2")), 422, "Invalid")
    assert status["message"].endswith("denied request: 2 keys")


def test_a_policy_whose_expression_does_not_type_check_is_refused(http) -> None:
    name = unique("policy")
    status = expect_http(http.post(POLICIES, json={"metadata": {"name": name}, "spec": {
        "matchConstraints": rules(), "validations": [{"expression": "size(object.data) > '1'"}]}}), 422, "Invalid")
    assert status["details"]["causes"] == [{
        "reason": "FieldValueInvalid", "field": "spec.validations[0].expression",
        "message": "Invalid value: \"size(object.data) > '1'\": compilation failed: ERROR: <input>:1:19: found no "
                   "matching overload for '_>_' applied to '(int, string)'\n | size(object.data) > '1'\n"
                   " | ..................^"}]
    assert http.get(f"{POLICIES}/{name}").status_code == 404


def test_a_policy_whose_expression_is_not_boolean_is_refused(http) -> None:
    status = expect_http(http.post(POLICIES, json={"metadata": {"name": unique("policy")}, "spec": {
        "matchConstraints": rules(), "validations": [{"expression": "size(object.data)"}]}}), 422, "Invalid")
    assert status["details"]["causes"][0]["message"] == ('Invalid value: "size(object.data)": must evaluate to '
                                                         'bool but got int')


def test_a_binding_with_both_deny_and_warn_is_refused(http) -> None:
    status = expect_http(http.post(BINDINGS, json={"metadata": {"name": unique("binding")}, "spec": {
        "policyName": "p", "validationActions": ["Deny", "Warn"]}}), 422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "spec.validationActions"


def _type_checked(http: httpx.Client, validations: list[Obj]) -> Obj:
    name = unique("policy")
    resp = http.post(POLICIES, json={"metadata": {"name": name}, "spec": {"matchConstraints": rules(),
                                                                          "validations": validations}})
    assert resp.status_code == 201, resp.text
    try:
        return wait_for(lambda: (http.get(f"{POLICIES}/{name}").json().get("status") or {}).get("typeChecking")
                        is not None and http.get(f"{POLICIES}/{name}").json()["status"], 10, "type checking")
    finally:
        http.delete(f"{POLICIES}/{name}")


def test_type_checking_of_a_well_typed_policy_finds_nothing(http) -> None:
    status = _type_checked(http, [{"expression": "size(object.data) <= 1"}])
    assert status == {"observedGeneration": 1, "typeChecking": {}}


def test_type_checking_reports_expressions_wrong_for_the_matched_kind(http) -> None:
    status = _type_checked(http, [{"expression": "object.data.x > 1",
                                   "messageExpression": "string(object.data.x * 2)"}])
    assert status["typeChecking"]["expressionWarnings"] == [
        {"fieldRef": "spec.validations[0].expression",
         "warning": "/v1, Kind=ConfigMap: ERROR: <input>:1:15: found no matching overload for '_>_' applied to "
                    "'(string, int)'\n | object.data.x > 1\n | ..............^\n"},
        {"fieldRef": "spec.validations[0].messageExpression",
         "warning": "/v1, Kind=ConfigMap: ERROR: <input>:1:22: found no matching overload for '_*_' applied to "
                    "'(string, int)'\n | string(object.data.x * 2)\n | .....................^\n"}]


def test_the_authorizer_asks_rbac_about_the_requesting_user(http, ns) -> None:
    spec = {"validations": [{
        "expression": "authorizer.group('').resource('secrets').namespace(request.namespace).check('get').allowed()",
        "message": "only who may read secrets"}]}
    account = f"system:serviceaccount:{ns}:default"
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"
    assert http.post(f"{rbac}/roles", json={"metadata": {"name": "writer"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]}]}).status_code == 201
    assert http.post(f"{rbac}/rolebindings", json={
        "metadata": {"name": "writer"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                    "name": "writer"},
        "subjects": [{"kind": "User", "name": account}]}).status_code == 201
    with bound(http, ns, spec):
        assert http.post(configmaps(ns), json=configmap("by-admin", a="1")).status_code == 201
        status = expect_http(http.post(configmaps(ns), json=configmap("by-account", a="1"),
                                       headers={"Impersonate-User": account}), 422, "Invalid")
    assert status["message"].endswith("denied request: only who may read secrets")
