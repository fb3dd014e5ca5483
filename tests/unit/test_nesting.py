"""Deep documents read and walked without recursion, and Go's way of printing the values they hold."""
from __future__ import annotations

from typing import Any

import orjson
import pytest
import yaml

from shim.machinery import errors, gofmt, nesting


def nested_maps(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("text", ['{"a": [1, 2.5, -0, 1e5, "\\u00e9\\n", true, false, null, {}], "b": {"c": []}}',
                                  ' [ ] ', '"x"', '123456789012345678901234567890', '{"a":1,"a":2}'])
def test_the_deep_json_reader_reads_what_orjson_reads(text: str) -> None:
    assert nesting.loads_json(text.encode()) == orjson.loads(text)


@pytest.mark.parametrize("text", ["[1,]", '{"a" 1}', "[1 2]", '{"a":1,}', "[}", '{"a":1}x', "", "[", '"\\ud800"',
                                  '["\x01"]', "nul"])
def test_the_deep_json_reader_refuses_what_orjson_refuses(text: str) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    with pytest.raises(ValueError):
        nesting.loads_json(text.encode())


def test_json_is_read_to_upstreams_depth_and_no_deeper() -> None:
    assert nesting.depth(nesting.loads_json(("[" * 10_000 + "]" * 10_000).encode())) == 10_000
    with pytest.raises(nesting.TooDeep):
        nesting.loads_json(("[" * 10_001 + "]" * 10_001).encode())


def test_yaml_is_read_to_upstreams_depth_and_no_deeper() -> None:
    assert nesting.depth(nesting.load_yaml(("[" * 10_000 + "]" * 10_000).encode())[0]) == 10_000
    block = "".join(" " * i + "a:\n" for i in range(3000)) + " " * 3000 + "b: 1\n"
    assert nesting.depth(nesting.load_yaml(block.encode())[0]) == 3001
    with pytest.raises(yaml.YAMLError, match="exceeded max depth of 10000"):
        nesting.load_yaml(("[" * 10_001 + "]" * 10_001).encode())


def test_yaml_values_are_converted_as_kubernetes_converts_them() -> None:
    text = b"a: &x [1, 2]\nb: *x\n1: 2001-12-14\nbin: !!binary aGk=\nset: !!set {q, p}\n---\n"
    assert nesting.load_yaml(text) == [{"a": [1, 2], "b": [1, 2], "1": "2001-12-14", "bin": "hi",
                                        "set": {"p": None, "q": None}}]


def test_yaml_numbers_are_what_json_can_carry() -> None:
    assert nesting.load_yaml(b"a: 100000000000000000000\nb: 18446744073709551615\nc: 1" + b"0" * 400 + b"\n") == [
        {"a": 1e20, "b": 18446744073709551615, "c": "1" + "0" * 400}]
    with pytest.raises(yaml.YAMLError, match=r"unsupported value: \+Inf"):
        nesting.load_yaml(b"a: .inf\n")


def test_the_depth_check_allows_managed_fields_one_level_deeper_than_the_fields_they_record() -> None:
    deepest = {"metadata": {"managedFields": [{"fieldsV1": nested_maps(nesting.MAX_DEPTH, {})}]},
               "spec": nested_maps(nesting.MAX_DEPTH - 1)}
    nesting.check(deepest)
    deeper_fields = {"managedFields": [{"fieldsV1": nested_maps(nesting.MAX_DEPTH + 1, {})}]}
    for too_deep in ({**deepest, "spec": nested_maps(nesting.MAX_DEPTH)}, {**deepest, "metadata": deeper_fields}):
        with pytest.raises(errors.StatusError) as refused:
            nesting.check(too_deep)
        assert refused.value.code == 400


@pytest.mark.parametrize(("number", "printed"), [  # what Go 1.24's fmt prints for these float64s
    (1e6, "1e+06"), (1234567.0, "1.234567e+06"), (100000.0, "100000"), (1e-4, "0.0001"), (1e-5, "1e-05"),
    (1.5, "1.5"), (2.0, "2"), (1e21, "1e+21"), (123456.7, "123456.7"), (0.0, "0"), (-0.5, "-0.5"),
    (1.2345678901234569e+23, "1.2345678901234569e+23"), (5e-324, "5e-324"), (12345678.9, "1.23456789e+07"),
    (12345678, "12345678"), (2 ** 64, "1.8446744073709552e+19")])
def test_numbers_print_as_gos_fmt_prints_them(number: float, printed: str) -> None:
    assert gofmt.number(number) == printed


def test_values_print_as_gos_fmt_prints_them() -> None:
    value = [1.0, 5, "x", None, {"b": 1, "a": [1e-7, True]}, "a\n\u00e9\x01\x7f\u200b\U0001F600"]
    assert gofmt.syntax(value) == ('[]interface {}{1, 5, "x", interface {}(nil), map[string]interface {}{"a":'
                                   '[]interface {}{1e-07, true}, "b":1}, "a\\né\\x01\\x7f\\u200b\U0001F600"}')
    assert gofmt.value({"a": [1, "x y", None], "b": {}}) == "map[a:[1 x y <nil>] b:map[]]"
    assert gofmt.syntax(nested_maps(5000)).count("map[string]interface {}") == 5000
