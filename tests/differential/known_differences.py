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
NESTING = "issue 10: deep nesting"
KINDS = "issue 10: missing kinds"
FOUND = "issue 10, item 1: found by the differential tier"
WORKLOADS = "issue 12, item 1: the workload kinds' API"

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
    Known("a server-side apply configuration kubeshim cannot type (here a 5,000-level nested value where a string "
          "belongs) is a 400 BadRequest; upstream's is the same message as a 500 without a reason, a plain error "
          "reaching the handler (kubernetes#139253; kubeshim answers as the fix proposed upstream does)",
          NESTING, {"test_deeply_nested_body[apply]": ("error/code", "error/body/code", "error/body/reason")}),
    Known("objects nest at most 200 levels in kubeshim (orjson, its JSON encoder, stops at 254, and its walks over "
          "objects recurse): a 5,000-level custom resource is a 400 here; upstream decodes to 10,000 levels and "
          "stores it (its answer nests too deep for this test's JSON reader, hence the exception)",
          NESTING, {"test_deeply_nested_custom_resource": ("error", "<exception>")}),
    Known("kinds and subresources not built yet (each path one group version or resource kube-apiserver serves)",
          KINDS, {"test_discovery_served_resources": tuple(f"served/{gv}" for gv in (
              "storage.k8s.io v1",
              "certificates.k8s.io v1", "resource.k8s.io v1", "networking.k8s.io v1/ipaddresses",
              "networking.k8s.io v1/servicecidrs", "networking.k8s.io v1/servicecidrs~1status",
              "core v1/componentstatuses", "core v1/pods~1resize", "authorization.k8s.io v1/localsubjectaccessreviews",
              "authorization.k8s.io v1/selfsubjectrulesreviews"))}),

    Known("kubeshim serves metrics.k8s.io itself (metrics-server's API, from its kubelet's figures); the reference "
          "cluster runs no metrics-server", "issue 11, item 5: kubectl top",
          {"test_discovery_served_resources": ("served/metrics.k8s.io v1beta1",)}),

    # --- behaviour this tier found ---
    Known("validation stops at the first invalid field; upstream reports every one (container name, image, "
          "containerPort)", FOUND, {"test_error[invalid-pod-with-many-causes]": ("error/body",)}),
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
    Known("watch parameters: sendInitialEvents without allowWatchBookmarks, and sendInitialEvents=false with "
          "resourceVersionMatch, are refused (upstream serves them); a non-numeric resourceVersion is 400 "
          "(upstream: 500); a resourceVersion ahead of the store is 504 at once (upstream waits, then ends the "
          "stream without events)", FOUND, {
              "test_watch_send_initial_events_invalid[no-bookmarks]": ("watch",),
              "test_watch_send_initial_events_invalid[false-with-match]": ("watch",),
              "test_watch_bad_resource_version[abc]": ("watch",),
              "test_watch_bad_resource_version[-1]": ("watch",),
              "test_watch_bad_resource_version[900000000]": ("watch",)}),
    Known("a Job's pod template changed where it may not: upstream renders the template in its `field is "
          "immutable` cause as its internal Go struct (every field, Go names); kubeshim renders the template's JSON",
          WORKLOADS, {"test_job_updates": ("template/body/message", "template/body/details/causes/*/message")}),
    Known("a subresource answering another kind (a Deployment's autoscaling/v1 Scale) is always JSON; upstream "
          "encodes it as the client asked (protobuf)", WORKLOADS,
          {"test_protobuf_scale": ("scale/type", "scale/body")}),
    Known("OpenAPI v3 schemas lack the defaults and enums upstream publishes (ConfigMap data's default \"\", "
          "metadata's {}; `kubectl explain` shows no enum values)",
          FOUND, {"test_openapi_v3_configmap": ("configmap-schema/properties/data/additionalProperties/default",
                                                "configmap-schema/properties/metadata/default"),
                  "test_kubectl_explain": ("field/stdout",),
                  "test_kubectl_explain_workloads[deployment.spec.strategy]": ("explain/stdout",),
                  "test_kubectl_explain_workloads[statefulset.spec.updateStrategy]": ("explain/stdout",)}),
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
