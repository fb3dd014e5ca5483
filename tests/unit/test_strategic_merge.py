"""Strategic merge patch, checked against upstream's expectations.

The table cases are transcribed from apimachinery pkg/util/strategicpatch/patch_test.go (their `MergeItem`
test type, described here by an equivalent schema): each applies upstream's expected two-way patch to
`original` (expecting `modified`, or `twoWayResult`) and its expected three-way patch to `current` (expecting
`result`). The Pod tests restate the same upstream cases on real fields (containers, env, volumes, ports,
finalizers, args) with the built-in schemas.
"""
from __future__ import annotations

import pytest
import yaml

from shim.machinery import schemas
from shim.machinery.errors import StatusError
from shim.machinery.strategic_merge import strategic_merge_patch

STRATEGY = "x-kubernetes-patch-strategy"
MERGE_KEY = "x-kubernetes-patch-merge-key"


def merge_item_schema() -> dict:
    """The schema of upstream's MergeItem test struct (its struct tags as extensions); recursive by reference."""
    text = {"type": "string"}
    ints = {"type": "array", "items": {"type": "integer"}}
    item: dict = {"type": "object", "properties": {}}
    merging_list = {"type": "array", "items": item, STRATEGY: "merge", MERGE_KEY: "name"}
    retain_keys_map = {"type": "object", STRATEGY: "retainKeys", "properties": {
        "name": text, "value": text, "other": text,
        "simpleMap": {"type": "object", "additionalProperties": text},
        "mergingIntList": {**ints, STRATEGY: "merge"},
        "mergingList": merging_list,
        "nonMergingList": {"type": "array", "items": item},
    }}
    item["properties"].update({
        "name": text, "value": text, "other": text,
        "mergingList": merging_list,
        "nonMergingList": {"type": "array", "items": item},
        "mergingIntList": {**ints, STRATEGY: "merge"},
        "nonMergingIntList": ints,
        "mergeItemPtr": {"type": "array", "items": item, STRATEGY: "merge", MERGE_KEY: "name"},
        "simpleMap": {"type": "object", "additionalProperties": text},
        "replacingItem": {"type": "object", STRATEGY: "replace"},
        "retainKeysMap": retain_keys_map,
        "retainKeysMergingList": {"type": "array", "items": item, STRATEGY: "merge,retainKeys", MERGE_KEY: "name"},
    })
    return item


MERGE_ITEM = merge_item_schema()

# (description, original, patch, expected) -- patch_test.go cases; "2w" applies the two-way patch to the
# original, "3w" the three-way patch to the current object.
UPSTREAM_CASES = yaml.safe_load(r"""
- [unique scalars when merging lists,
   {mergingIntList: [1, 2]}, {mergingIntList: [2, 3]}, {mergingIntList: [1, 2, 3]}]
- [delete map from nested map,
   {simpleMap: {key1: 1, key2: 1}}, {simpleMap: {$patch: delete}}, {simpleMap: {}}]
- [delete all items from merging list,
   {mergingList: [{name: 1}, {name: 2}]}, {mergingList: [{$patch: replace}]}, {mergingList: []}]
- [merge empty merging lists, {mergingList: []}, {mergingList: []}, {mergingList: []}]
- [delete all keys from map, {name: 1, value: 1}, {$patch: replace}, {}]
- [add key and delete all keys from map, {name: 1, value: 1}, {other: a, $patch: replace}, {other: a}]
- [delete all duplicate entries in a merging list,
   {mergingList: [{name: 1}, {name: 1}, {name: 2, value: a}, {name: 3}, {name: 3}]},
   {mergingList: [{name: 1, $patch: delete}, {name: 3, $patch: delete}]},
   {mergingList: [{name: 2, value: a}]}]
- [retainKeys map can delete a field when no retainKeys directive present,
   {retainKeysMap: {name: foo, value: a}}, {retainKeysMap: {value: null}}, {retainKeysMap: {name: foo}}]
- [retainKeys map merge an empty map,
   {retainKeysMap: {name: foo, value: a}}, {retainKeysMap: {}}, {retainKeysMap: {name: foo, value: a}}]
- [preserve the order from the patch in a merging list,
   {mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]},
   {mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, other: x}]},
   {mergingList: [{name: 3, value: c}, {name: 1, value: a}, {name: 2, value: b, other: x}]}]
- [preserve the order from the patch in a merging list 2,
   {mergingList: [{name: 1}, {name: 2, value: b}, {name: 3}]},
   {mergingList: [{name: 3, value: c}, {name: 1, value: a}]},
   {mergingList: [{name: 2, value: b}, {name: 3, value: c}, {name: 1, value: a}]}]
- [preserve the order from the patch in a merging int list,
   {mergingIntList: [1, 2, 3]}, {mergingIntList: [3, 1]}, {mergingIntList: [2, 3, 1]}]
- [$setElementOrder contains item that is not present in the list to be merged,
   {mergingList: [{name: 1}, {name: 3}]},
   {$setElementOrder/mergingList: [{name: 3}, {name: 2}, {name: 1}],
    mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]},
   {mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]}]
- [$setElementOrder contains item that is not present in the int list to be merged,
   {mergingIntList: [1, 3]}, {$setElementOrder/mergingIntList: [3, 2, 1]}, {mergingIntList: [3, 1]}]
- [$deleteFromPrimitiveList of nonexistent item should not add the item,
   {mergingIntList: [1, 2]}, {$deleteFromPrimitiveList/mergingIntList: [3]}, {mergingIntList: [1, 2]}]
- [$deleteFromPrimitiveList on empty primitive list should not add the item,
   {mergingIntList: null}, {$deleteFromPrimitiveList/mergingIntList: [3]}, {mergingIntList: null}]
- [$deleteFromPrimitiveList on nonexistent primitive list should not add the list,
   {foo: [bar]}, {$deleteFromPrimitiveList/mergingIntList: [3]}, {foo: [bar]}]
- [$deleteFromPrimitiveList should delete item from a list with merge patch strategy,
   {mergingIntList: [1, 2, 3]}, {$deleteFromPrimitiveList/mergingIntList: [2]}, {mergingIntList: [1, 3]}]
- [$deleteFromPrimitiveList should delete item from a list without merge patch strategy,
   {nonMergingIntList: [1, 2, 3]}, {$deleteFromPrimitiveList/nonMergingIntList: [2]},
   {nonMergingIntList: [1, 3]}]
- [3w add field and delete field from map, {name: 1, other: a}, {name: null, value: 1}, {value: 1, other: a}]
- [3w delete field from nested map,
   {simpleMap: {key1: 1, key2: 1, other: a}}, {simpleMap: {key2: null}}, {simpleMap: {key1: 1, other: a}}]
- [2w defined null values should propagate overwrite current fields,
   {name: 2}, {name: 1, value: 1, other: null}, {name: 1, value: 1}]
- [3w replace list of scalars, {nonMergingIntList: [1, 2]}, {nonMergingIntList: [2, 3]},
   {nonMergingIntList: [2, 3]}]
- [3w delete all maps from merging list with conflict,
   {mergingList: [{name: 1, other: a}, {name: 2, other: b}]},
   {mergingList: [{name: 1, $patch: delete}, {name: 2, $patch: delete}]}, {mergingList: []}]
- [2w nested patch merge with empty list, {name: hi},
   {mergingList: [{name: hello}, {$patch: delete, name: doesntexist}]}, {name: hi, mergingList: [{name: hello}]}]
- [3w nested patch merge with empty list, {name: hi, mergingList: [{name: hello2}]},
   {$setElementOrder/mergingList: [{name: hello}, {name: doesntexist}],
    mergingList: [{name: hello}, {$patch: delete, name: doesntexist}]},
   {name: hi, mergingList: [{name: hello}, {name: hello2}]}]
- [3w delete items in lists of scalars, {mergingIntList: [1, 2, 3, 4]},
   {$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]},
   {mergingIntList: [1, 2, 4]}]
- [3w delete all duplicate items in lists of scalars, {mergingIntList: [1, 2, 3, 3, 4]},
   {$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]},
   {mergingIntList: [1, 2, 4]}]
- [3w merge lists of maps,
   {mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}]},
   {$setElementOrder/mergingList: [{name: 4}, {name: 1}, {name: 2}, {name: 3}],
    mergingList: [{name: 4, value: 4}, {name: 3, value: 3}]},
   {mergingList: [{name: 4, value: 4}, {name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]}]
- [3w add field to map in merging list with conflict,
   {mergingList: [{name: 1, other: a}, {name: 3, value: 2, other: b}]},
   {$setElementOrder/mergingList: [{name: 1}, {name: 2}],
    mergingList: [{name: 1, value: 1}, {name: 2, value: 2}]},
   {mergingList: [{name: 1, value: 1, other: a}, {name: 2, value: 2}, {name: 3, value: 2, other: b}]}]
- [3w delete missing map from merging list with conflict,
   {mergingList: [{name: 3, other: a}]},
   {$setElementOrder/mergingList: [{name: 2}], mergingList: [{name: 2}, {name: 1, $patch: delete}]},
   {mergingList: [{name: 2}, {name: 3, other: a}]}]
- [3w add map and delete map from merging list,
   {mergingList: [{name: 1}, {name: 2, other: b}, {name: 4, other: c}]},
   {$setElementOrder/mergingList: [{name: 2}, {name: 3}], mergingList: [{name: 3}, {name: 1, $patch: delete}]},
   {mergingList: [{name: 2, other: b}, {name: 4, other: c}, {name: 3}]}]
- [3w add map and delete map from merging list with conflict,
   {mergingList: [{name: 1, other: a}, {name: 4, other: c}]},
   {$setElementOrder/mergingList: [{name: 2}, {name: 3}],
    mergingList: [{name: 2}, {name: 3}, {name: 1, $patch: delete}]},
   {mergingList: [{name: 4, other: c}, {name: 2}, {name: 3}]}]
- [3w replace non merging list nested in merging list,
   {mergingList: [{name: 1, other: a, nonMergingList: [{name: 1}, {name: 2, value: 2}]}, {name: 2, other: b}]},
   {$setElementOrder/mergingList: [{name: 1}, {name: 2}],
    mergingList: [{name: 1, nonMergingList: [{name: 1, value: 1}]}]},
   {mergingList: [{name: 1, other: a, nonMergingList: [{name: 1, value: 1}]}, {name: 2, other: b}]}]
- [3w add field to map in merging list nested in merging list with deletion conflict,
   {mergingList: [{name: 1, other: a, mergingList: [{name: 2, value: 2, other: d}]}, {name: 2, other: b}]},
   {$setElementOrder/mergingList: [{name: 1}, {name: 2}],
    mergingList: [{$setElementOrder/mergingList: [{name: 2}, {name: 1}], name: 1,
                   mergingList: [{name: 1, value: 1}]}]},
   {mergingList: [{name: 1, other: a, mergingList: [{name: 2, value: 2, other: d}, {name: 1, value: 1}]},
                  {name: 2, other: b}]}]
- [3w add map to merging list by pointer,
   {mergeItemPtr: [{name: 1, other: a}, {name: 3}]},
   {$setElementOrder/mergeItemPtr: [{name: 1}, {name: 2}], mergeItemPtr: [{name: 2}]},
   {mergeItemPtr: [{name: 1, other: a}, {name: 2}, {name: 3}]}]
- [3w merge lists of scalars, {mergingIntList: [1, 2, 4]},
   {$setElementOrder/mergingIntList: [1, 2, 3], mergingIntList: [3]}, {mergingIntList: [1, 2, 3, 4]}]
- [3w add an item in a list of primitives and preserve order, {mergingIntList: [1, 4, 2]},
   {$setElementOrder/mergingIntList: [3, 1, 2], mergingIntList: [3]}, {mergingIntList: [3, 1, 4, 2]}]
- [3w delete an item in a list and preserve order,
   {mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]},
   {$setElementOrder/mergingList: [{name: 2}, {name: 1}], mergingList: [{name: 3, $patch: delete}]},
   {mergingList: [{name: 2, value: 2, other: b}, {name: 1, other: a}]}]
- [3w add and delete an item in a list and preserve order,
   {mergingList: [{name: 1, other: a}, {name: 2, value: 2, other: b}, {name: 3, value: 3}]},
   {$setElementOrder/mergingList: [{name: 4}, {name: 2}, {name: 1}],
    mergingList: [{name: 4, value: 4}, {name: 3, $patch: delete}]},
   {mergingList: [{name: 4, value: 4}, {name: 2, value: 2, other: b}, {name: 1, other: a}]}]
- [3w set elements order in a list with server-only items 3,
   {mergingList: [{name: 1, other: a}, {name: 2, value: 2}, {name: 7}, {name: 9}, {name: 8}, {name: 3, value: 3},
                  {name: 4, value: 4}]},
   {$setElementOrder/mergingList: [{name: 2}, {name: 1}, {name: 4}, {name: 3}]},
   {mergingList: [{name: 2, value: 2}, {name: 1, other: a}, {name: 7}, {name: 9}, {name: 8}, {name: 4, value: 4},
                  {name: 3, value: 3}]}]
- [3w add and delete an item in a int list and preserve order, {mergingIntList: [1, 2, 3]},
   {$setElementOrder/mergingIntList: [4, 2, 1], mergingIntList: [4], $deleteFromPrimitiveList/mergingIntList: [3]},
   {mergingIntList: [4, 2, 1]}]
- [3w set elements order in a int list with server-only items 2, {mergingIntList: [1, 2, 9, 3, 4]},
   {$setElementOrder/mergingIntList: [2, 1, 4, 3]}, {mergingIntList: [2, 1, 9, 4, 3]}]
- [3w behavior of set element order for a merging list with duplicate,
   {mergingList: [{name: 1}, {name: 2, value: dup1}, {name: 3}, {name: 2, value: dup2}, {name: 4}]},
   {$setElementOrder/mergingList: [{name: 2}, {name: 1}, {name: 4}, {name: 3}, {name: 2}]},
   {mergingList: [{name: 2, value: dup1}, {name: 2, value: dup2}, {name: 1}, {name: 4}, {name: 3}]}]
- [3w behavior of set element order for a merging int list with duplicate, {mergingIntList: [1, 2, 3, 2, 4]},
   {$setElementOrder/mergingIntList: [2, 1, 4, 3, 2]}, {mergingIntList: [2, 2, 1, 4, 3]}]
- [3w retainKeys map should clear defaulted field with conflict (discriminated union),
   {retainKeysMap: {name: type1, value: foo}},
   {retainKeysMap: {$retainKeys: [name, other], name: type2, other: bar}},
   {retainKeysMap: {name: type2, other: bar}}]
- [3w retainKeys map deletes a field and clears a field,
   {retainKeysMap: {name: foo, value: bar, other: a}},
   {retainKeysMap: {$retainKeys: [name], value: null}}, {retainKeysMap: {name: foo}}]
- [3w retainKeys map adds an item and deletes an item in nested merging int list,
   {retainKeysMap: {name: foo, mergingIntList: [1, 2, 3, 4]}},
   {retainKeysMap: {$retainKeys: [mergingIntList, name], mergingIntList: [5],
                    $deleteFromPrimitiveList/mergingIntList: [2], $setElementOrder/mergingIntList: [1, 3, 5]}},
   {retainKeysMap: {name: foo, mergingIntList: [1, 3, 5, 4]}}]
- [3w retainKeys map deletes an item in nested merging list,
   {retainKeysMap: {name: foo, mergingList: [{name: a}, {name: b}, {name: x}]}},
   {retainKeysMap: {$retainKeys: [mergingList, name], $setElementOrder/mergingList: [{name: a}],
                    mergingList: [{name: b, $patch: delete}]}},
   {retainKeysMap: {name: foo, mergingList: [{name: a}, {name: x}]}}]
- [3w retainKeys list of maps clears a field,
   {retainKeysMergingList: [{name: bar}, {name: foo, value: a, other: x}]},
   {$setElementOrder/retainKeysMergingList: [{name: bar}, {name: foo}],
    retainKeysMergingList: [{$retainKeys: [name, value], name: foo}]},
   {retainKeysMergingList: [{name: bar}, {name: foo, value: a}]}]
- [3w delete and reorder in one list reorder in another,
   {mergingList: [{name: a, value: a}, {name: b, value: b}], mergeItemPtr: [{name: c, value: c}, {name: d, value: d}]},
   {$setElementOrder/mergingList: [{name: b}], $setElementOrder/mergeItemPtr: [{name: d}, {name: c}],
    mergingList: [{$patch: delete, name: a}]},
   {mergingList: [{name: b, value: b}], mergeItemPtr: [{name: d, value: d}, {name: c, value: c}]}]
- [3w replace RawExtension field and merge list,
   {name: my-object, mergingList: [{name: 1}, {name: 3}], replacingItem: {Some: Generic, Yaml: Inside}},
   {$setElementOrder/mergingList: [{name: 1}, {name: 2}], mergingList: [{name: 2}],
    replacingItem: {Newly: Modified, Yaml: Inside}},
   {name: my-object, mergingList: [{name: 1}, {name: 2}, {name: 3}], replacingItem: {Newly: Modified, Yaml: Inside}}]
- [2w filter nulls from nested slices, {}, {complex_nullable: [{inner_one: {key_one: foo, key_two: null}}]},
   {complex_nullable: [{inner_one: {key_one: foo}}]}]
- [2w not filter nulls from non-associative slice, {}, {complex_nullable: [key1, null, key2]},
   {complex_nullable: [key1, null, key2]}]
- [2w discard nulls in nested and adds not nulls, {name: foo},
   {complex_nullable: {key: {keynotnull: value, keynull: null}}},
   {name: foo, complex_nullable: {key: {keynotnull: value}}}]
- [2w null values in original are preserved, {thing: null}, {nested: {value: 5}}, {thing: null, nested: {value: 5}}]
""")


@pytest.mark.parametrize("description,original,patch,expected", UPSTREAM_CASES, ids=[c[0] for c in UPSTREAM_CASES])
def test_upstream_case(description, original, patch, expected):
    assert strategic_merge_patch(original, patch, MERGE_ITEM) == expected


UPSTREAM_ERRORS = yaml.safe_load(r"""
- [should check if order in $setElementOrder and patch list match,
   {mergingList: [{name: 1}, {name: 3}, {name: 2}]},
   {$setElementOrder/mergingList: [{name: 1}, {name: 2}, {name: 3}],
    mergingList: [{name: 3, value: 3}, {name: 1, value: 1}]}, "doesn't match"]
- [should check if order in $setElementOrder and patch int list match,
   {mergingIntList: [1, 3, 2]}, {$setElementOrder/mergingIntList: [1, 2, 3], mergingIntList: [3, 1]},
   "doesn't match"]
- [missing merge key should error out,
   {mergingList: [{name: 1, value: a}]}, {mergingList: [{value: b}]}, "does not contain declared merge key"]
""")


@pytest.mark.parametrize("description,original,patch,message", UPSTREAM_ERRORS, ids=[c[0] for c in UPSTREAM_ERRORS])
def test_upstream_error(description, original, patch, message):
    with pytest.raises(StatusError) as caught:
        strategic_merge_patch(original, patch, MERGE_ITEM)
    assert message in caught.value.message


# ------------------------------------------------------------------------------------------ real Pod schema

POD = schemas.definition_for("v1", "Pod")
DEPLOYMENT = schemas.definition_for("apps/v1", "Deployment")


def pod(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def test_merge_containers_by_name():
    # upstream "add field to map in merging list" + "add map to merging list" on spec.containers (merge key name)
    original = pod(containers=[{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}])
    patch = {"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}}
    result = strategic_merge_patch(original, patch, POD)
    assert result["spec"]["containers"] == [
        {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]
    assert original["spec"]["containers"][1]["image"] == "b:1"  # inputs are not modified


def test_ports_merge_by_patch_merge_key_only():
    # upstream strategic merge keys container ports by containerPort alone (kubernetes/kubernetes#39188):
    # a UDP port 53 in the patch merges into the live TCP port 53.
    original = pod(containers=[{"name": "dns", "ports": [{"containerPort": 53, "protocol": "TCP"}]}])
    patch = {"spec": {"containers": [{"name": "dns", "ports": [{"containerPort": 53, "protocol": "UDP"}]}]}}
    result = strategic_merge_patch(original, patch, POD)
    assert result["spec"]["containers"][0]["ports"] == [{"containerPort": 53, "protocol": "UDP"}]


def test_list_map_without_merge_key_is_replaced():
    # ResourceRequirements.claims: list-type map keyed by name, no patch strategy -> upstream replaces it.
    original = pod(containers=[{"name": "a", "resources": {"claims": [{"name": "gpu"}]}}])
    patch = {"spec": {"containers": [{"name": "a", "resources": {"claims": [{"name": "fpga"}]}}]}}
    assert strategic_merge_patch(original, patch, POD)["spec"]["containers"][0]["resources"] == {
        "claims": [{"name": "fpga"}]}


def test_patch_delete_list_element():
    # upstream "delete map from merging list"
    original = pod(containers=[{"name": "a"}, {"name": "b", "image": "b"}])
    patch = {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}
    assert strategic_merge_patch(original, patch, POD)["spec"]["containers"] == [{"name": "b", "image": "b"}]


def test_patch_replace_map():
    # upstream "add key and delete all keys from map", on metadata.labels
    original = {"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}}}
    patch = {"metadata": {"labels": {"$patch": "replace", "c": "3"}}}
    assert strategic_merge_patch(original, patch, POD) == {"metadata": {"name": "p", "labels": {"c": "3"}}}


def test_patch_replace_list():
    # upstream "delete all items from merging list" with a replacement element
    original = pod(containers=[{"name": "a", "image": "a"}, {"name": "b"}])
    patch = {"spec": {"containers": [{"$patch": "replace"}, {"name": "c", "image": "c"}]}}
    assert strategic_merge_patch(original, patch, POD)["spec"]["containers"] == [{"name": "c", "image": "c"}]


def test_patch_delete_map():
    # upstream "delete map from nested map"
    original = pod(containers=[{"name": "a"}], securityContext={"runAsUser": 1})
    patch = {"spec": {"securityContext": {"$patch": "delete"}}}
    assert strategic_merge_patch(original, patch, POD)["spec"]["securityContext"] == {}


def test_retain_keys_on_deployment_strategy():
    # upstream "retainKeys map should clear defaulted field with conflict (discriminated union)":
    # kubectl apply switching RollingUpdate -> Recreate sends $retainKeys for spec.strategy.
    original = {"spec": {"strategy": {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert strategic_merge_patch(original, patch, DEPLOYMENT) == {"spec": {"strategy": {"type": "Recreate"}}}


def test_retain_keys_in_volumes_list():
    # upstream "retainKeys list of maps clears a field": volumes are merge,retainKeys keyed by name
    original = pod(volumes=[{"name": "data", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}])
    patch = {"spec": {"volumes": [{"$retainKeys": ["name", "hostPath"], "name": "data",
                                   "hostPath": {"path": "/tmp"}}]}}
    assert strategic_merge_patch(original, patch, POD)["spec"]["volumes"] == [
        {"name": "data", "hostPath": {"path": "/tmp"}}, {"name": "cfg", "configMap": {"name": "c"}}]


def test_retain_keys_rejects_unlisted_patch_keys():
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}}
    with pytest.raises(StatusError) as caught:
        strategic_merge_patch({"spec": {}}, patch, DEPLOYMENT)
    assert caught.value.code == 400
    assert caught.value.message == "invalid patch format of retainKeys"


def test_set_element_order_reorders_containers():
    # upstream "set elements order in a list with server-only items 2", on containers
    original = pod(containers=[{"name": "1"}, {"name": "2"}, {"name": "9"}, {"name": "3"}, {"name": "4"}])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "2"}, {"name": "1"}, {"name": "4"}, {"name": "3"}]}}
    result = strategic_merge_patch(original, patch, POD)
    assert [c["name"] for c in result["spec"]["containers"]] == ["2", "1", "9", "4", "3"]


def test_set_element_order_with_additions_and_deletion():
    # upstream "add map and delete map from merging list", on containers: the server-only container "4"
    # stays ahead of the added "3" because Go's slice aliasing makes "3" count as live.
    original = pod(containers=[{"name": "1"}, {"name": "2", "image": "b"}, {"name": "4", "image": "c"}])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "2"}, {"name": "3"}],
                      "containers": [{"name": "3"}, {"name": "1", "$patch": "delete"}]}}
    result = strategic_merge_patch(original, patch, POD)
    assert result["spec"]["containers"] == [{"name": "2", "image": "b"}, {"name": "4", "image": "c"}, {"name": "3"}]


def test_delete_from_primitive_list_finalizers():
    # upstream "delete items in lists of scalars", on metadata.finalizers (merge strategy, no key)
    original = {"metadata": {"finalizers": ["a", "b", "c", "d"]}}
    patch = {"metadata": {"$setElementOrder/finalizers": ["a", "b"], "$deleteFromPrimitiveList/finalizers": ["c"]}}
    assert strategic_merge_patch(original, patch, POD) == {"metadata": {"finalizers": ["a", "b", "d"]}}


def test_primitive_merge_list_union():
    # upstream "unique scalars when merging lists", on metadata.finalizers
    original = {"metadata": {"finalizers": ["x/a", "x/b"]}}
    patch = {"metadata": {"finalizers": ["x/b", "x/c"]}}
    assert strategic_merge_patch(original, patch, POD) == {"metadata": {"finalizers": ["x/a", "x/b", "x/c"]}}


def test_list_without_strategy_is_replaced():
    # upstream "replace list of scalars": container args carry no patch strategy
    original = pod(containers=[{"name": "a", "args": ["1", "2"]}])
    patch = {"spec": {"containers": [{"name": "a", "args": ["2", "3"]}]}}
    assert strategic_merge_patch(original, patch, POD)["spec"]["containers"] == [{"name": "a", "args": ["2", "3"]}]


def test_null_deletes_keys():
    # upstream "add field and delete field from map" and "delete field from nested map"
    original = {"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "annotations": {"x": "y"}}}
    patch = {"metadata": {"labels": {"b": None}, "annotations": None, "generateName": None}}
    assert strategic_merge_patch(original, patch, POD) == {"metadata": {"name": "p", "labels": {"a": "1"}}}


def test_nested_merge_of_env_in_containers():
    # upstream "add field to map in merging list nested in merging list": env is merged by name inside a
    # container that is itself merged by name.
    original = pod(containers=[
        {"name": "a", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
        {"name": "b", "env": [{"name": "Z", "value": "3"}]}])
    patch = {"spec": {"containers": [{"name": "a", "env": [
        {"name": "Y", "value": "20"}, {"name": "W", "value": "4"}, {"name": "X", "$patch": "delete"}]}]}}
    result = strategic_merge_patch(original, patch, POD)
    assert result["spec"]["containers"] == [
        {"name": "a", "env": [{"name": "Y", "value": "20"}, {"name": "W", "value": "4"}]},
        {"name": "b", "env": [{"name": "Z", "value": "3"}]}]


def test_nested_merge_of_volume_sources():
    # volumes merge by name; a volume's source map merges field by field; null removes a field
    original = pod(volumes=[{"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}}])
    patch = {"spec": {"volumes": [{"name": "cfg", "configMap": {"defaultMode": None, "optional": True}}]}}
    assert strategic_merge_patch(original, patch, POD)["spec"]["volumes"] == [
        {"name": "cfg", "configMap": {"name": "c", "optional": True}}]


def test_result_has_no_directives_for_new_fields():
    # values added where the original had nothing are cleaned of directives (newer upstream removeDirectives)
    original = pod()
    patch = {"metadata": {"labels": {"$patch": "replace", "a": "1"}, "annotations": {"$patch": "delete"}},
             "spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                      "containers": [{"name": "b"}, {"name": "a", "$retainKeys": ["name"]},
                                     {"name": "gone", "$patch": "delete"}]}}
    result = strategic_merge_patch(original, patch, POD)
    assert result == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}},
                      "spec": {"containers": [{"name": "b"}, {"name": "a"}]}}


def test_unknown_patch_directive_is_an_error():
    with pytest.raises(StatusError) as caught:
        strategic_merge_patch(pod(), {"metadata": {"labels": {"$patch": "frobnicate"}}}, POD)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert "unknown patch type: frobnicate" in caught.value.message


def test_patch_merge_directive_is_accepted():
    original = {"metadata": {"labels": {"a": "1"}}}
    patch = {"metadata": {"labels": {"$patch": "merge", "b": "2"}}}
    assert strategic_merge_patch(original, patch, POD) == {"metadata": {"labels": {"a": "1", "b": "2"}}}


def test_bad_directive_formats():
    with pytest.raises(StatusError) as caught:
        strategic_merge_patch({}, {"$setElementOrder": []}, POD)
    assert caught.value.code == 400
    with pytest.raises(StatusError) as caught:
        strategic_merge_patch({}, {"$retainKeys": "name"}, POD)
    assert caught.value.code == 400
    with pytest.raises(StatusError):
        strategic_merge_patch({}, ["not", "a", "map"], POD)  # type: ignore[arg-type]
