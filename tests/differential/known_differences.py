"""The allow-list: every difference between kube-apiserver and kubeshim the differential tier accepts today.

One place, on purpose. Each entry says why the difference exists and which issue item removes it, and where it
shows: per scenario (the test's name), the difference paths it covers, as the failure report prints them
(`step/field/...`; `*` matches within one component, `**` across any number, and a path covers everything
under it). The list is strict: a path that no longer differs in its scenario fails that test as a stale entry,
so fixing a gap means deleting its entry (or the scenarios it no longer shows in).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from differ import Difference


@dataclass(frozen=True)
class Known:
    reason: str
    item: str
    where: dict[str, tuple[str, ...]]  # scenario -> difference paths


# The gaps issue 10 names, and the ones this tier found beyond them.
TOKENS = "issue 10: service-account tokens"
DISCOVERY = "issue 10: discovery storageVersionHash"
NESTING = "issue 10: deep nesting"
WATCH_VERBS = "issue 10: write verbs on /watch paths"
KINDS = "issue 10: missing kinds"
FOUND = "issue 10, item 1: found by the differential tier"

TABLES = ("test_table_list[configmaps]", "test_table_list[pods]", "test_table_list[services]",
          "test_table_list[serviceaccounts]", "test_table_list[events]", "test_table_include_object[None]",
          "test_table_include_object[Object]", "test_table_include_object[Metadata]",
          "test_table_single_object_and_pages", "test_table_watch")
MESSAGE = ("error/body/message",)

KNOWN: tuple[Known, ...] = (
    # --- the gaps issue 10 names ---
    Known("an update whose managedFields fail validation: upstream repeats the cause four times (its update "
          "validation checks the object's metadata at several layers); kubeshim reports it once",
          FOUND, {"test_managed_fields_a_write_sets": ("too-long/body/details/causes/*",)}),
    Known("discovery's APIResources have no storageVersionHash (clients use it to notice storage migrations)",
          DISCOVERY, {"test_discovery_resource_lists": ("*/resources/*/storageVersionHash",)}),
    Known("a 5,000-level nested YAML or apply body is a 500 RecursionError (upstream: 400, or the apply's typed "
          "error); a nested JSON body is refused at a lower depth, with another message",
          NESTING, {"test_deeply_nested_body[yaml]": ("error/code", "error/body"),
                    "test_deeply_nested_body[apply]": ("error/body/message", "error/body/reason"),
                    "test_deeply_nested_body[json]": MESSAGE}),
    Known("a 5,000-level nested custom resource is refused by kubeshim (400 depth limit) where upstream stores it "
          "(the JSON reader of this test gives up first on the answer)",
          NESTING, {"test_deeply_nested_custom_resource": ("error", "<exception>")}),
    Known("POST, PUT, PATCH and DELETE on /api/v1/watch/... are served as an endless watch, not 405",
          WATCH_VERBS, {f"test_write_verbs_on_watch_path[{m}]": ("error", "<exception>")
                        for m in ("POST", "PUT", "PATCH", "DELETE")}),
    Known("kinds and subresources not built yet (each path one group version or resource kube-apiserver serves)",
          KINDS, {"test_discovery_served_resources": tuple(f"served/{gv}" for gv in (
              "apps v1", "batch v1", "autoscaling v1", "autoscaling v2", "storage.k8s.io v1",
              "certificates.k8s.io v1", "resource.k8s.io v1", "networking.k8s.io v1/ipaddresses",
              "networking.k8s.io v1/servicecidrs", "networking.k8s.io v1/servicecidrs~1status",
              "core v1/componentstatuses", "core v1/replicationcontrollers",
              "core v1/replicationcontrollers~1scale", "core v1/replicationcontrollers~1status",
              "core v1/pods~1attach", "core v1/pods~1exec", "core v1/pods~1portforward", "core v1/pods~1proxy",
              "core v1/pods~1resize", "core v1/services~1proxy",
              "core v1/nodes~1proxy",
              "authorization.k8s.io v1/localsubjectaccessreviews", "authorization.k8s.io v1/selfsubjectrulesreviews",
              "admissionregistration.k8s.io v1/validatingadmissionpolicies",
              "admissionregistration.k8s.io v1/validatingadmissionpolicies~1status",
              "admissionregistration.k8s.io v1/validatingadmissionpolicybindings"))}),

    # --- behaviour this tier found ---
    Known("validation stops at the first invalid field; upstream reports every one (container name, image, "
          "containerPort)", FOUND, {"test_error[invalid-pod-with-many-causes]": ("error/body",)}),
    Known("a list with resourceVersion=0 and a limit is paginated; upstream serves it whole from the watch cache",
          FOUND, {"test_list_resource_version_semantics": ("rv-0-limit",)}),
    Known("errors are always JSON; upstream encodes the Status in the negotiated format (YAML, protobuf)",
          FOUND, {"test_yaml_both_ways": ("error/type",),
                  "test_protobuf_get_and_list": ("not-found",),
                  "test_protobuf_for_custom_resources_falls_back_to_json": ("only",)}),
    Known("YAML bodies are read as YAML 1.2: an unquoted `y` is a string (upstream's YAML 1.1 reads a boolean)",
          FOUND, {"test_yaml_1_1_booleans": ("name-y",)}),
    Known("PartialObjectMetadata asked for a list is served as a list; upstream answers 406",
          FOUND, {"test_partial_object_metadata": ("list-asked-as-single",)}),
    Known("Table column descriptions are cut to their first sentence (upstream: the field's whole doc)",
          FOUND, {scenario: ("**/columnDefinitions/*/description",) for scenario in TABLES}),
    Known("Table details: a CRD's Age column is type string (upstream: date); includeObject=None rows have no "
          "object key (upstream: null); watch events after the first repeat the column definitions (upstream: "
          "null)", FOUND, {"test_table_custom_resource": ("table/body/columnDefinitions/Age/type",),
                           "test_table_include_object[None]": ("table/body/rows/*/object",),
                           "test_table_watch": ("events/events/1/object/columnDefinitions",)}),
    Known("empty maps are stored and returned as {} (labels, annotations, data; also the labels a merge patch "
          "emptied); Go drops them", FOUND, {
              "test_empty_maps_are_not_stored": ("*/body/metadata/labels", "*/body/metadata/annotations",
                                                 "*/body/data"),
              "test_kubectl_patch[merge]": ("stored/stdout/metadata/labels",)}),
    Known("no ServiceAccount admission volume: pods get no kube-api-access projected volume and mount (token, "
          "kube-root-ca.crt, namespace)", FOUND, {
              "test_kubectl_run_pod_and_get_yaml": ("get-yaml/stdout/p/spec/volumes",
                                                    "get-yaml/stdout/p/spec/containers/p/volumeMounts"),
              "test_pod_defaults_and_admission": ("create/body/spec/volumes",
                                                  "create/body/spec/containers/c/volumeMounts"),
              "test_managed_fields_of_pod_containers": ("*/body/spec/volumes", "*/body/spec/containers/c/volumeMounts"),
              "test_delete_answers": ("unscheduled-pod/body/spec/volumes",
                                      "unscheduled-pod/body/spec/containers/c/volumeMounts")}),
    Known("a namespace condition written without lastTransitionTime is served without it (upstream: null, Go's "
          "time field without omitempty)", FOUND,
          {"test_status_patch_may_change_metadata_of_built_in_kinds": ("namespace/body",)}),
    Known("service defaults: a headless service without selector gets no clusterIPs [None] and single-stack "
          "families (upstream: RequireDualStack, IPv4+IPv6); NodePort services lack externalTrafficPolicy Cluster",
          FOUND, {"test_service_defaults": ("headless/body/spec", "node-port/body/spec/externalTrafficPolicy")}),
    Known("deleting an unscheduled pod answers it without deletionTimestamp, deletionGracePeriodSeconds 0 and "
          "the generation bump upstream's graceful delete records", FOUND,
          {"test_delete_answers": ("unscheduled-pod/body/metadata",)}),
    Known("deletecollection answers items with apiVersion and kind (upstream's list items have neither)",
          FOUND, {"test_delete_answers": ("collection/body/items/*/apiVersion", "collection/body/items/*/kind")}),
    Known("a deleted namespace is answered with deletionGracePeriodSeconds 0 (upstream: absent)",
          FOUND, {"test_namespace_delete": ("delete/body/metadata/deletionGracePeriodSeconds",)}),
    Known("watch parameters: sendInitialEvents without allowWatchBookmarks, and sendInitialEvents=false with "
          "resourceVersionMatch, are refused (upstream serves them); a non-numeric resourceVersion is 400 "
          "(upstream: 500); a resourceVersion ahead of the store is 504 at once (upstream waits, then ends the "
          "stream without events)", FOUND, {
              "test_watch_send_initial_events_invalid[no-bookmarks]": ("watch",),
              "test_watch_send_initial_events_invalid[false-with-match]": ("watch",),
              "test_watch_bad_resource_version[abc]": ("watch",),
              "test_watch_bad_resource_version[-1]": ("watch",),
              "test_watch_bad_resource_version[900000000]": ("watch",)}),
    Known("discovery order: resources are listed in registration order (upstream: sorted by name), API groups "
          "in another order than upstream's priority order (kubectl resolves names like `events` by it), a CRD's "
          "verbs and a resource's subresources in another order", FOUND, {
              "test_discovery_resource_lists": ("core v1/resources/<order>",
                                                "rbac.authorization.k8s.io v1/resources/<order>",
                                                "flyte.lyft.com v1alpha1/resources/flyteworkflows/verbs/<order>"),
              "test_discovery_group_list": ("apis/body/groups/<order>",),
              "test_discovery_aggregated": ("apis/body/items/<order>", "**/resources/<order>",
                                            "**/subresources/<order>", "**/verbs/<order>")}),
    Known("namespaces list deletecollection among their verbs (upstream does not serve it)",
          FOUND, {"test_discovery_resource_lists": ("core v1/resources/namespaces/verbs",),
                  "test_discovery_aggregated": ("api/body/items/0/versions/v1/resources/namespaces/verbs",)}),
    Known("/api/v1's APIResourceList carries apiVersion v1 (upstream's has none)",
          FOUND, {"test_discovery_resource_lists": ("core v1/apiVersion",)}),
    Known("aggregated discovery fills responseKind group and version that upstream leaves empty (meaning the "
          "resource's own), and writes metadata name \"\" and creationTimestamp null (upstream: absent)",
          FOUND, {"test_discovery_aggregated": (
              "api/body/items/0/metadata", "api/body/items/0/versions/v1/resources/*/responseKind/version",
              "api/body/items/0/versions/v1/resources/*/subresources/*/responseKind/version",
              "apis/body/items/*/metadata/creationTimestamp", "apis/body/items/*/versions/*/resources/*/responseKind",
              "apis/body/items/*/versions/*/resources/*/subresources/*/responseKind")}),
    Known("/version lacks emulationMajor/Minor and minCompatibilityMajor/Minor (v1.31+)",
          FOUND, {"test_discovery_version": ("version/body/emulationMajor", "version/body/emulationMinor",
                                             "version/body/minCompatibilityMajor",
                                             "version/body/minCompatibilityMinor")}),
    Known("OpenAPI v3 schemas lack the defaults and enums upstream publishes (ConfigMap data's default \"\", "
          "metadata's {}; `kubectl explain` shows no enum values)",
          FOUND, {"test_openapi_v3_configmap": ("configmap-schema/properties/data/additionalProperties/default",
                                                "configmap-schema/properties/metadata/default"),
                  "test_kubectl_explain": ("field/stdout",)}),
)


def _pattern(path: str) -> re.Pattern[str]:
    parts = [".*" if part == "**" else re.escape(part).replace(r"\*", "[^/]*") for part in path.split("/")]
    return re.compile("/".join(parts) + "(/.*)?")


def covers(pattern: str, where: str) -> bool:
    return _pattern(pattern).fullmatch(where) is not None


SEEN: dict[tuple[int, str, str], bool] = {}  # (entry, scenario, pattern) -> matched a difference in this run
RAN: set[str] = set()  # scenarios compared in this run


def check(scenario: str, differences: list[Difference]) -> tuple[list[Difference], list[tuple[Known, str]]]:
    """The differences no entry covers, and the entries' paths that covered none (stale)."""
    RAN.add(scenario)
    patterns = [(entry, pattern) for entry in KNOWN for pattern in entry.where.get(scenario, ())]
    unexpected = [d for d in differences if not any(covers(p, d.where) for _, p in patterns)]
    stale = []
    for entry, pattern in patterns:
        hit = any(covers(pattern, d.where) for d in differences)
        SEEN[(id(entry), scenario, pattern)] = hit
        if not hit:
            stale.append((entry, pattern))
    return unexpected, stale
