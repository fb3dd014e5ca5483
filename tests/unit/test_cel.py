"""CEL as Kubernetes compiles and evaluates it (shim.machinery.cel): the checker's errors in cel-go's words and
places, evaluation with Kubernetes' semantics, and the types of OpenAPI schemas."""
from __future__ import annotations

from typing import Any

import pytest

from shim.machinery import cel, schemas
from shim.machinery.cel import types as t
from shim.machinery.cel.schema import schema_type

DYN_OBJECT = cel.Env({"object": t.DYN})


def compile_error(source: str, env: cel.Env = DYN_OBJECT) -> str:
    with pytest.raises(cel.CompileError) as err:
        cel.compile(source, env)
    return err.value.message


def evaluate(source: str, obj: Any) -> Any:
    return cel.from_cel(cel.compile(source, DYN_OBJECT).evaluate({"object": cel.to_cel(obj)}))


def test_an_overload_mismatch_is_reported_at_the_operator_with_a_caret() -> None:
    assert compile_error("size(object) > '1'") == ("ERROR: <input>:1:14: found no matching overload for '_>_' "
                                                   "applied to '(int, string)'\n | size(object) > '1'\n"
                                                   " | .............^")


def test_an_unknown_name_is_an_undeclared_reference() -> None:
    assert compile_error("objekt.x").startswith("ERROR: <input>:1:1: undeclared reference to 'objekt' (in "
                                                "container '')")


def test_a_missing_operand_is_antlrs_syntax_error_at_the_end() -> None:
    assert compile_error("object.x == ").startswith("ERROR: <input>:1:13: Syntax error: mismatched input '<EOF>' "
                                                    "expecting {'[', '{', '(', '.', '-', '!', 'true', 'false',")


def test_selecting_a_field_an_object_type_lacks_is_an_undefined_field() -> None:
    env = cel.Env({"request": t.object_type("kubernetes.AdmissionRequest", {"name": t.STRING})})
    assert compile_error("request.nmae", env).startswith("ERROR: <input>:1:8: undefined field 'nmae'")


def test_a_non_boolean_predicate_of_all_fails_its_loop_step() -> None:
    assert "found no matching overload for '_&&_' applied to '(bool, int)'" in compile_error("[1].all(x, x + 1)")


def test_literal_lists_must_be_homogeneous() -> None:
    assert compile_error("[1, 'a']").startswith("ERROR: <input>:1:5: expected type 'int' but found 'string'")


def test_a_missing_key_is_no_such_key() -> None:
    with pytest.raises(cel.EvalError) as err:
        evaluate("object.spec.replicas > 1", {"spec": {}})
    assert err.value.message == "no such key: replicas"


def test_numbers_of_different_types_compare_by_value() -> None:
    assert evaluate("object.replicas > 1.5 && object.replicas == 2.0", {"replicas": 2}) is True


def test_values_of_different_types_are_unequal_not_an_error() -> None:
    assert evaluate("'x' in object.list || object.list[0] == 'a'", {"list": [1]}) is False


def test_kubernetes_string_functions() -> None:
    assert evaluate("object.s.split(',').join('-').upperAscii()", {"s": "a,b"}) == "A-B"


def test_a_schema_types_what_it_describes() -> None:
    config_map = schema_type(schemas.definition_for("v1", "ConfigMap") or {}, "ConfigMap", schemas.resolve)
    assert config_map is not None
    env = cel.Env({"object": config_map})
    assert cel.compile("object.data['a'].startsWith('x')", env).output == t.BOOL
    assert "found no matching overload for '_>_' applied to '(string, int)'" in compile_error("object.data.a > 1",
                                                                                              env)


def test_an_operand_that_fails_fails_the_comparison() -> None:
    with pytest.raises(cel.EvalError) as err:
        evaluate("object.mode == 'on'", {})
    assert err.value.message == "no such key: mode"


def test_quantities_compare_by_exact_value() -> None:
    assert evaluate("quantity(object.memory).isLessThan(quantity('1Gi')) && quantity('1k') == quantity('1000')",
                    {"memory": "1000Mi"}) is True


def test_a_malformed_quantity_fails_with_upstreams_message() -> None:
    with pytest.raises(cel.EvalError) as err:
        evaluate("quantity(object.memory).isInteger()", {"memory": "lots"})
    assert err.value.message == ("quantities must match the regular expression "
                                 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
