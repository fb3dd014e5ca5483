"""Error answers worded as kube-apiserver v1.34 words them: the machinery that raises each one, no sockets."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from shim.machinery import patch
from shim.machinery.errors import StatusError
from shim.machinery.fields import check_supported, parse_field_selector
from shim.machinery.labels import parse_label_selector
from shim.registry.kinds.configdata import ConfigMapStrategy, SecretStrategy
from shim.registry.kinds.custom import CustomResourceStrategy
from shim.registry.kinds.events import EventStrategy, EventsV1Strategy
from shim.registry.kinds.namespaces import NamespaceStrategy
from shim.registry.kinds.nodes import NodeStrategy
from shim.registry.kinds.pods import PodStrategy
from shim.registry.kinds.services import ServiceStrategy
from shim.registry.strategy import Strategy


def status(fn: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(StatusError) as err:
        fn()
    return err.value.status()


@pytest.mark.parametrize("operations", [
    [{"op": "test", "path": "/data/k", "value": "other"}],
    [{"op": "remove", "path": "/data/nothing"}],
    [{"op": "frobnicate", "path": "/data/k"}],
])
def test_a_failed_json_patch_operation_is_the_bare_422(operations: list[dict[str, str]]) -> None:
    answer = status(lambda: patch.json_patch({"data": {"k": "v"}}, operations))
    assert (answer["code"], answer["reason"]) == (422, "Invalid")
    assert answer["message"] == "the server rejected our request due to an error in our request"
    assert answer["details"] == {}


# -- field selectors: each kind refuses a field in the words of its own field label conversion, or upstream's default

@pytest.mark.parametrize("strategy,field", [(ConfigMapStrategy, "data.mode"), (ConfigMapStrategy, "status.phase")])
def test_a_kind_without_field_labels_of_its_own_knows_only_name_and_namespace(strategy: type[Strategy],
                                                                              field: str) -> None:
    answer = status(lambda: check_supported(parse_field_selector(f"{field}=x"), strategy.field_labels))
    assert (answer["code"], answer["reason"]) == (400, "BadRequest")
    assert answer["message"] == f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'


@pytest.mark.parametrize("strategy,field", [
    (PodStrategy, "spec.containers"), (NodeStrategy, "metadata.namespace"), (NamespaceStrategy, "metadata.namespace"),
    (SecretStrategy, "data.k"), (EventStrategy, "regarding.name"), (EventsV1Strategy, "involvedObject.name"),
    (ServiceStrategy, "spec.ports"),
])
def test_a_kind_with_field_labels_of_its_own_refuses_others_as_not_supported(strategy: type[Strategy],
                                                                            field: str) -> None:
    answer = status(lambda: check_supported(parse_field_selector(f"{field}=x"), strategy.field_labels))
    assert answer["message"] == f"field label not supported: {field}"


@pytest.mark.parametrize("strategy,field", [
    (ServiceStrategy, "spec.type"), (ServiceStrategy, "spec.clusterIP"), (EventsV1Strategy, "regarding.name"),
    (EventStrategy, "involvedObject.name"), (NodeStrategy, "spec.unschedulable"),
])
def test_a_kind_selects_by_the_fields_its_conversion_lists(strategy: type[Strategy], field: str) -> None:
    check_supported(parse_field_selector(f"{field}=x"), strategy.field_labels)


def test_services_are_selected_by_type_and_cluster_ip() -> None:
    service = {"metadata": {"name": "s", "namespace": "d"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.9"}}
    fields = ServiceStrategy().fields(service)
    assert parse_field_selector("spec.type=NodePort,spec.clusterIP=10.96.0.9").matches(fields)
    assert not parse_field_selector("spec.type=ClusterIP").matches(fields)


def test_a_cluster_scoped_custom_resource_is_not_selected_by_namespace() -> None:
    version = {"name": "v1", "served": True, "storage": True}
    cluster = CustomResourceStrategy(version, "example.com/v1", namespaced=False)
    answer = status(lambda: check_supported(parse_field_selector("metadata.namespace=x"), cluster.field_labels))
    assert answer["message"] == "field label not supported: metadata.namespace"
    namespaced = CustomResourceStrategy(version, "example.com/v1")
    check_supported(parse_field_selector("metadata.namespace=x"), namespaced.field_labels)


# -- label selectors: upstream's lexer and parser, errors word for word (each checked against kube-apiserver)

KEY_RULE = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
VALUE_RULE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
              "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
              "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


@pytest.mark.parametrize("selector,message", [
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("Bad Key=1", "unable to parse requirement: found 'Key', expected: in, notin, =, ==, !=, gt, lt"),
    ("!a=b", "found '=', expected: ',' or 'end of string'"),
    ("a=b,,c", "found ',', expected: identifier after ','"),
    ("a in (b),", "found '', expected: identifier after ','"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
    ("a in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("a!b", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"),
    ("a=>1", "unable to parse requirement: found '>', expected: identifier"),
    ("a>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value "
            "must be an integer"),
    ("Bad_=x", f'unable to parse requirement: <nil>: Invalid value: "Bad_": name part {KEY_RULE}'),
    ("/a", 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'),
    ("x/y/z", f'unable to parse requirement: <nil>: Invalid value: "x/y/z": a qualified name {KEY_RULE} with an '
              "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
    ("a=-bad-", f'unable to parse requirement: values[0][a]: Invalid value: "-bad-": {VALUE_RULE}'),
    ("a in (-y,-x)", f'unable to parse requirement: [values[0][a]: Invalid value: "-x": {VALUE_RULE}, '
                     f'values[1][a]: Invalid value: "-y": {VALUE_RULE}]'),
])
def test_a_malformed_label_selector_is_refused_in_upstreams_words(selector: str, message: str) -> None:
    answer = status(lambda: parse_label_selector(selector))
    assert (answer["code"], answer["reason"], answer["message"]) == (400, "BadRequest", message)


@pytest.mark.parametrize("selector,matched", [
    ("i>2", ["3", "10"]), ("i<3", ["-1", "2"]), ("i in (3,x)", ["3", "x"]), ("i notin ()", ["-1", "2", "3", "10", "x"]),
])
def test_label_selectors_select_as_upstreams(selector: str, matched: list[str]) -> None:
    """`gt` and `lt` compare integers (a value that is none never matches); `()` is the empty value."""
    select = parse_label_selector(selector).matches
    assert [v for v in ("-1", "2", "3", "10", "x") if select({"i": v})] == matched
