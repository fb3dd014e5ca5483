"""Error answers worded as kube-apiserver v1.34 words them: the machinery that raises each one, no sockets."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest

from registryhelpers import WRITE, Api, configmap

from shim.machinery import decoding, errors, gojson, golang, patch, typecheck
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
from shim.registry.options import DeleteOptions, ListOptions
from shim.registry.strategy import Strategy
from shim.server import negotiation


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


# -- decoding: Go's words for every way a body fails (each text checked against kube-apiserver) ----------------

@pytest.mark.parametrize("body,message", [
    (b'{"apiVersion": "v1", "kind": "ConfigMap", nope', "invalid character 'n' looking for beginning of object key "
                                                        "string"),
    (b"", "unexpected end of JSON input"),
    (b'{"a":1}x', "invalid character 'x' after top-level value"),
    (b"tru", "invalid character ' ' in literal true (expecting 'e')"),
    (b"1.", "invalid character ' ' after decimal point in numeric literal"),
    (b'"a\x01"', "invalid character '\\x01' in string literal"),
    (b"\xef\xbb\xbf{}", "invalid character 'ï' looking for beginning of value"),
    (b"\x9e", "invalid character '\\u009e' looking for beginning of value"),
    (b"01", "invalid character '1' after top-level value"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b"[1 2]", "invalid character '2' after array element"),
])
def test_malformed_json_is_worded_as_gos_scanner_words_it(body: bytes, message: str) -> None:
    with pytest.raises(gojson.JSONError) as err:
        gojson.loads(body)
    assert str(err.value) == message


def test_objects_that_repeat_a_key_keep_the_last_value_and_name_the_key() -> None:
    value = gojson.loads(b'{"data": {"k": "1", "k": "2", "j": "3"}}', duplicates=True)
    assert value == {"data": {"k": "2", "j": "3"}}
    assert value["data"].duplicates == ("k",)


C = {"name": "c", "image": "i"}


def pod(spec: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec or {"containers": [C]},
            **extra}


@pytest.mark.parametrize("kind,obj,message", [
    ("ConfigMap", {"metadata": "x"}, "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type "
                                     "v1.ObjectMeta"),
    ("ConfigMap", {"metadata": {"name": 5}}, "json: cannot unmarshal number into Go struct field "
                                             "ObjectMeta.metadata.name of type string"),
    ("ConfigMap", {"data": {"a": True}}, "json: cannot unmarshal bool into Go struct field ConfigMap.data of type "
                                         "string"),
    ("ConfigMap", {"binaryData": {"a": 5}}, "json: cannot unmarshal number into Go struct field ConfigMap.binaryData "
                                            "of type []uint8"),
    ("Secret", {"data": {"a": "YQ"}}, "illegal base64 data at input byte 0"),
    ("Pod", pod({"containers": "nope"}), "json: cannot unmarshal string into Go struct field PodSpec.spec.containers "
                                         "of type []v1.Container"),
    ("Pod", pod({"containers": [5]}), "json: cannot unmarshal number into Go struct field PodSpec.spec.containers of "
                                      "type v1.Container"),
    ("Pod", pod({"containers": [{**C, "ports": [{"containerPort": 1.5}]}]}),
     "json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of "
     "type int32"),
    ("Pod", pod({"containers": [{**C, "ports": [{"containerPort": 99999999999}]}]}),
     "json: cannot unmarshal number 99999999999 into Go struct field ContainerPort.spec.containers.ports."
     "containerPort of type int32"),
    ("Pod", pod({"restartPolicy": 5, "containers": [C]}), "json: cannot unmarshal number into Go struct field "
                                                          "PodSpec.spec.restartPolicy of type v1.RestartPolicy"),
    ("Pod", pod({"containers": [{**C, "resources": {"limits": "x"}}]}),
     "json: cannot unmarshal string into Go struct field ResourceRequirements.spec.containers.resources.limits of "
     "type v1.ResourceList"),
    ("Pod", pod({"containers": [{**C, "livenessProbe": {"httpGet": {"port": True}}}]}),
     "json: cannot unmarshal bool into Go struct field HTTPGetAction.spec.containers.livenessProbe.httpGet.port of "
     "type int32"),
    ("Pod", pod(metadata={"name": "p", "creationTimestamp": 5}),
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string"),
    ("Pod", pod(metadata={"name": "p", "creationTimestamp": "yesterday"}),
     'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'),
    # a decoder of a type's own that fails ends the decoding, over the type error met before it
    ("Pod", pod({"restartPolicy": 5, "containers": [{**C, "resources": {"limits": {"memory": "lots"}}}]}),
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
])
def test_a_body_of_the_wrong_types_fails_as_encoding_json_fails(kind: str, obj: dict[str, Any],
                                                                 message: str) -> None:
    decoded = typecheck.decode("v1", kind, {"apiVersion": "v1", "kind": kind, **obj})
    assert decoded is not None and decoded.problem == message


def test_unknown_and_repeated_fields_are_strict_errors_in_the_order_met() -> None:
    body = gojson.loads(b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","name":"b"},"spec":1,'
                        b'"data":{"k":"1","k":"2"},"zz":{"a":1}}', duplicates=True)
    decoded = typecheck.decode("v1", "ConfigMap", body)
    assert decoded is not None and decoded.problem is None
    assert decoded.strict == ['duplicate field "metadata.name"', 'unknown field "spec"', 'duplicate field "data.k"',
                              'unknown field "zz"']
    assert "spec" not in body and "zz" not in body


@pytest.mark.parametrize("value,message", [
    ("2024-13-01T00:00:00Z", 'parsing time "2024-13-01T00:00:00Z": month out of range'),
    ("2024-02-30T00:00:00Z", 'parsing time "2024-02-30T00:00:00Z": day out of range'),
    ("2024/01/01", 'parsing time "2024/01/01" as "2006-01-02T15:04:05Z07:00": cannot parse "/01/01" as "-"'),
    ("2024-01-01T00:00:00", 'parsing time "2024-01-01T00:00:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as '
                            '"Z07:00"'),
    ("2024-01-01T00:00:00Zx", 'parsing time "2024-01-01T00:00:00Zx": extra text: "x"'),
    ("2024-01-01T25:00:00Z", 'parsing time "2024-01-01T25:00:00Z": hour out of range'),
    ("2024-01-01T1:00:00Z", None),
])
def test_times_fail_as_time_parse_fails(value: str, message: str | None) -> None:
    assert golang.time_error(value, "2006-01-02T15:04:05Z07:00") == message


@pytest.mark.parametrize("body,summary", [
    (b"", "<empty>"), (b'{not json', "{not json"),
    (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}', '{"apiVersion":"v1","kind":"Con ...'),
    (b"- a\n- b\n", "2d20610a2d20620a"), (b"k8s\x00\xff\xff", "6b387300ffff"),
])
def test_an_unrecognized_body_is_quoted_by_its_first_bytes(body: bytes, summary: str) -> None:
    message = decoding.unrecognized("ConfigMap", "problem", body).message
    assert message == f"the object provided is unrecognized (must be of type ConfigMap): problem ({summary})"


@pytest.mark.parametrize("value,message", [
    ("x", 'couldn\'t get version/kind; json parse error: json: cannot unmarshal string into Go value of type struct '
          '{ APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'),
    ({"apiVersion": "v1", "kind": 5}, "couldn't get version/kind; json parse error: json: cannot unmarshal number "
                                      "into Go struct field .kind of type string"),
    (None, None), ({"kind": "ConfigMap"}, None),
])
def test_a_body_that_names_no_kind_fails_as_upstream_reads_apiversion_and_kind(value: Any,
                                                                               message: str | None) -> None:
    assert decoding.interpret(value) == message


@pytest.mark.parametrize("body,message", [
    (b"apiVersion: v1\nkind: [ConfigMap\n", "yaml: line 2: did not find expected ',' or ']'"),
    (b"a: b: c\n", "yaml: mapping values are not allowed in this context"),
    (b"a:\n\t- b\n", "yaml: line 2: found character that cannot start any token"),
    (b"a: {b\n", "yaml: line 1: did not find expected ',' or '}'"),
    (b"a:\n  b: 1\n c: 2\n", "yaml: line 2: did not find expected key"),
])
def test_malformed_yaml_is_worded_as_go_yaml_words_it(body: bytes, message: str) -> None:
    with pytest.raises(decoding.DecodeError) as err:
        decoding.yaml_to_json(body)
    assert str(err.value) == message


def test_yaml_reads_the_first_document() -> None:
    assert decoding.yaml_to_json(b"a: 1\n---\nb: 2\n") == {"a": 1}


@pytest.mark.parametrize("token,message", [
    ("not-a-token", "continue key is not valid: invalid character '\\u009e' looking for beginning of value"),
    ("eyJ2IjoxfQ", "continue key is not valid: json: cannot unmarshal number into Go struct field continueToken.v "
                   "of type string"),
    ("eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MCwic3RhcnQiOiJ4In0",
     "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
    ("abc=", "continue key is not valid: illegal base64 data at input byte 3"),
    ("a", "continue key is not valid: illegal base64 data at input byte 0"),
])
def test_a_bad_continue_token_is_refused_as_storage_decodes_it(token: str, message: str) -> None:
    assert decoding.continue_error(token) == message


@pytest.mark.parametrize("value,message", [
    ("abc", 'strconv.ParseUint: parsing "abc": invalid syntax'), ("-5", 'strconv.ParseUint: parsing "-5": invalid '
                                                                        'syntax'),
    ("99999999999999999999999", 'strconv.ParseUint: parsing "99999999999999999999999": value out of range'),
    ("18446744073709551615", None),
])
def test_resource_versions_parse_as_strconv_parses_them(value: str, message: str | None) -> None:
    assert golang.parse_uint_error(value) == message


@pytest.mark.parametrize("content_type,body,validation,message", [
    (patch.MERGE_PATCH, b"{nope", "Warn", "error decoding patch: invalid character 'n' looking for beginning of "
                                          "object key string"),
    (patch.MERGE_PATCH, b"{nope", "Ignore", "Invalid JSON Patch"),
    (patch.STRATEGIC_PATCH, b"{nope", "Warn", "invalid character 'n' looking for beginning of object key string"),
    (patch.JSON_PATCH, b"{nope", "Ignore", "invalid character 'n' looking for beginning of object key string"),
    (patch.JSON_PATCH, b'{"op":"remove"}', "Warn", "error decoding patch: json: cannot unmarshal object into Go "
                                                   "value of type []handlers.jsonPatchOp"),
    (patch.JSON_PATCH, b'{"op":"remove"}', "Ignore", "json: cannot unmarshal object into Go value of type "
                                                     "jsonpatch.Patch"),
    (patch.JSON_PATCH, b"[1]", "Ignore", "json: cannot unmarshal number into Go value of type jsonpatch.Operation"),
    (patch.MERGE_PATCH, b"[1]", "Strict", "error decoding patch: json: cannot unmarshal array into Go value of type "
                                          "map[string]interface {}"),
    (patch.STRATEGIC_PATCH, b'"x"', "Warn", "json: cannot unmarshal string into Go value of type map[string]"
                                            "interface {}"),
    (patch.APPLY_PATCH, b"apiVersion: v1\nkind: [ConfigMap\n", "Warn",
     "error decoding YAML: error converting YAML to JSON: yaml: line 2: did not find expected ',' or ']'"),
    (patch.APPLY_PATCH, b"- a", "Warn", "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: "
                                        "cannot unmarshal array into Go value of type map[string]interface {}"),
])
def test_a_malformed_patch_is_refused_in_the_words_of_its_type(content_type: str, body: bytes, validation: str,
                                                               message: str) -> None:
    answer = status(lambda: negotiation.decode_patch(body, content_type, validating=validation != "Ignore"))
    assert (answer["code"], answer["message"]) == (400, message)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    api = await Api(tmp_path).start()
    yield api
    api.store.close()


async def refusal(write: Awaitable[Any]) -> dict[str, Any]:
    with pytest.raises(StatusError) as err:
        await write
    return err.value.status()


@pytest.mark.parametrize("api_version,kind,problem", [
    ("v1", "Secret", "converting (v1.Secret) to (core.ConfigMap): unknown conversion"),
    ("v1", "Gizmo", 'no kind "Gizmo" is registered for version "v1" in scheme "pkg/runtime/scheme.go:110"'),
    ("apps/v1", "ConfigMap", 'no kind "ConfigMap" is registered for version "apps/v1" in scheme '
                             '"pkg/runtime/scheme.go:110"'),
])
async def test_a_body_of_another_kind_cannot_be_handled(api: Api, api_version: str, kind: str, problem: str) -> None:
    body = {**configmap("a"), "apiVersion": api_version, "kind": kind}
    answer = await refusal(api.create("configmaps", body, "default"))
    assert answer["message"] == f'{kind} in version "v1" cannot be handled as a ConfigMap: {problem}'


async def test_strict_field_validation_refuses_repeated_fields(api: Api) -> None:
    body = gojson.loads(b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"1","k":"2"}}',
                        duplicates=True)
    answer = await refusal(api.create("configmaps", body, "default", dataclasses.replace(WRITE,
                                                                                        field_validation="Strict")))
    assert answer["message"] == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding '
                                 'error: duplicate field "data.k"')


async def test_warn_field_validation_warns_of_repeated_fields(api: Api) -> None:
    body = gojson.loads(b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"k":"1","k":"2"}}',
                        duplicates=True)
    written = await api.verbs.create(api.info("configmaps"), "default", body,
                                     dataclasses.replace(WRITE, field_validation="Warn"))
    assert written.warnings == ('duplicate field "data.k"',)
    assert written.object["data"] == {"k": "2"}


# -- the Status of upstream's router, options and storage -------------------------------------------------------

@pytest.mark.parametrize("err,code,message", [
    (errors.method_not_allowed(), 405, "the server does not allow this method on the requested resource"),
    (errors.not_served(), 404, "the server could not find the requested resource"),
    (errors.route_unsupported_media_type(), 415, "415: Unsupported Media Type"),
    (errors.route_not_acceptable(["application/json", "application/yaml"]), 406,
     "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml"),
])
def test_the_routers_answers_carry_empty_details(err: StatusError, code: int, message: str) -> None:
    answer = err.status()
    assert (answer["code"], answer["message"], answer["details"]) == (code, message, {})


def test_details_omit_an_empty_name_as_go_omits_it() -> None:
    answer = errors.invalid("ConfigMap", "", [errors.field_required("metadata.name", "name or generateName is "
                                                                                      "required")]).status()
    assert answer["details"] == {"kind": "ConfigMap", "causes": [
        {"reason": "FieldValueRequired", "message": "Required value: name or generateName is required",
         "field": "metadata.name"}]}


def test_a_forbidden_path_names_no_resource() -> None:
    answer = errors.forbidden("", "", 'User "system:anonymous" cannot get path "/openid/v1/jwks"').status()
    assert answer["message"] == 'forbidden: User "system:anonymous" cannot get path "/openid/v1/jwks"'
    assert answer["details"] == {}


def test_entity_too_large_and_timeout_are_worded_as_their_go_constructors() -> None:
    assert errors.too_large(3145728).message == "Request entity too large: limit is 3145728"
    assert errors.timeout("Too large resource version: 9, current: 5").message == \
        "Timeout: Too large resource version: 9, current: 5"


def forbidden(detail: str) -> dict[str, str]:
    return {"reason": "FieldValueForbidden", "message": f"Forbidden: {detail}", "field": "resourceVersionMatch"}


def not_supported(value: str, supported: str) -> dict[str, str]:
    return {"reason": "FieldValueNotSupported", "message": f'Unsupported value: "{value}": supported values: '
                                                          f'{supported}', "field": "resourceVersionMatch"}


@pytest.mark.parametrize("opts,watch,initial,causes", [
    (ListOptions(resource_version_match="NotOlderThan"), False, None,
     [forbidden("resourceVersionMatch is forbidden unless resourceVersion is provided")]),
    (ListOptions(resource_version="0", resource_version_match="Exact"), False, None,
     [forbidden('resourceVersionMatch "exact" is forbidden for resourceVersion "0"')]),
    (ListOptions(resource_version="5", resource_version_match="Soon"), False, None,
     [not_supported("Soon", '"Exact", "NotOlderThan", ""')]),
    (ListOptions(), True, True, [forbidden("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")]),
    (ListOptions(resource_version_match="Exact"), True, True,
     [forbidden("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
      not_supported("Exact", '"NotOlderThan"')]),
])
def test_list_options_are_validated_as_upstream_validates_them(opts: ListOptions, watch: bool,
                                                              initial: bool | None,
                                                              causes: list[dict[str, str]]) -> None:
    answer = status(lambda: opts.validate(watch=watch, send_initial_events=initial))
    assert (answer["code"], answer["details"]) == (422, {"group": "meta.k8s.io", "kind": "ListOptions",
                                                         "causes": causes})


def test_an_unknown_propagation_policy_is_not_supported_delete_options() -> None:
    answer = status(lambda: DeleteOptions(propagation_policy="Sometimes").validate())
    assert answer["message"] == ('DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
                                 '"Sometimes": supported values: "Foreground", "Background", "Orphan", "nil"')
    assert answer["details"]["kind"] == "DeleteOptions"


def test_orphan_dependents_and_a_propagation_policy_may_not_both_be_set() -> None:
    answer = status(lambda: DeleteOptions.from_body({"orphanDependents": True,
                                                     "propagationPolicy": "Orphan"}).validate())
    assert answer["message"] == ('DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: '
                                 '"Orphan": orphanDependents and deletionPropagation cannot be both set')


@pytest.mark.parametrize("precondition,message", [
    (DeleteOptions(uid="other"), 'Operation cannot be fulfilled on ConfigMap "a": the UID in the precondition (other) '
                                 "does not match the UID in record ({uid}). The object might have been deleted and "
                                 "then recreated"),
    (DeleteOptions(resource_version="1"), 'Operation cannot be fulfilled on ConfigMap "a": the ResourceVersion in the '
                                          "precondition (1) does not match the ResourceVersion in record ({rv}). The "
                                          "object might have been modified"),
])
async def test_a_failed_delete_precondition_names_the_kind(api: Api, precondition: DeleteOptions,
                                                           message: str) -> None:
    created = await api.create("configmaps", configmap("a"), "default")
    answer = await refusal(api.verbs.delete(api.info("configmaps"), "default", "a", precondition))
    meta = created["metadata"]
    assert answer["message"] == message.format(uid=meta["uid"], rv=meta["resourceVersion"])
    assert answer["details"] == {"name": "a", "kind": "ConfigMap"}


async def test_a_namespace_checks_its_delete_preconditions_in_older_words(api: Api) -> None:
    created = await api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}})
    answer = await refusal(api.verbs.delete(api.info("namespaces"), "", "n", DeleteOptions(uid="other")))
    assert answer["message"] == ('Operation cannot be fulfilled on namespaces "n": Precondition failed: UID in '
                                 f'precondition: other, UID in object meta: {created["metadata"]["uid"]}')


async def test_a_finalizer_added_while_deleting_is_forbidden_as_go_prints_it(api: Api) -> None:
    await api.create("configmaps", configmap("held", finalizers=["example.com/hold"]), "default")
    info = api.info("configmaps")
    await api.verbs.delete(info, "default", "held", DeleteOptions())
    current = api.get("configmaps", "held", "default")
    current["metadata"]["finalizers"] = ["example.com/hold", "example.com/more"]
    answer = await refusal(api.verbs.update(info, "default", "held", current, WRITE))
    cause = {"reason": "FieldValueForbidden", "field": "metadata.finalizers",
             "message": 'Forbidden: no new finalizers can be added if the object is being deleted, found new '
                        'finalizers []string{"example.com/more"}'}
    assert answer["details"]["causes"] == [cause, cause]  # upstream checks an update's metadata twice
    assert answer["message"] == f'ConfigMap "held" is invalid: metadata.finalizers: {cause["message"]}'


async def test_an_invalid_generate_name_is_reported_before_the_name_it_made(api: Api) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "Bad_"}}
    answer = await refusal(api.create("configmaps", body, "default"))
    assert [c["field"] for c in answer["details"]["causes"]] == ["metadata.generateName", "metadata.name"]


@pytest.mark.parametrize("accept,found", [
    ("", True), ("*/*", True), ("application/json;as=Table;g=meta.k8s.io;v=v1", True), ("text/html", False),
    ("application/*", False), ("text/html, application/yaml;q=0.5", True),
])
def test_the_router_finds_a_route_by_the_media_types_it_produces(accept: str, found: bool) -> None:
    assert negotiation.route_accepts(accept, negotiation.ROUTE_TYPES) is found


def test_delete_options_report_every_problem_at_once() -> None:
    answer = status(lambda: DeleteOptions.from_body({"propagationPolicy": "Some", "dryRun": ["x"]}).validate())
    assert [(c["field"], c["reason"]) for c in answer["details"]["causes"]] == [
        ("propagationPolicy", "FieldValueNotSupported"), ("dryRun", "FieldValueNotSupported")]
    assert answer["details"]["causes"][1]["message"] == 'Unsupported value: ["x"]: supported values: "All"'
