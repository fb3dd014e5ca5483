"""flowcontrol.apiserver.k8s.io/v1 FlowSchemas and PriorityLevelConfigurations: served, defaulted and validated
as upstream does (pkg/apis/flowcontrol/validation), with the bootstrap objects every server has. kubeshim's
request handling does not read them: they are configuration kept for the clients that manage it."""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import yaml

from shim.machinery import errors, names, schemas, tables, validation
from shim.machinery.validation import Ptr, Slice
from shim.registry.strategy import Causes, Obj, Strategy, semantic

BOOTSTRAP = Path(__file__).with_name("flowcontrol_bootstrap.yaml")
MANDATORY = ("exempt", "catch-all")
_DISTINGUISHERS = ["ByNamespace", "ByUser"]
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"]
_SUBJECT_KINDS = ["Group", "ServiceAccount", "User"]
_ENABLEMENTS = ["Exempt", "Limited"]
_LIMIT_RESPONSES = ["Queue", "Reject"]
_MAX_QUEUES = 10_000_000
_MAX_HASH_BITS = 60
_PRESERVE_ZERO = "flowcontrol.k8s.io/v1beta3-preserve-zero-concurrency-shares"
_NAMESPACE_INTRO = "each member of this list must be '*' or a DNS-1123 label; "

# upstream's internal structs, for the values its messages print (validation.go_struct)
_NAME = [("Name", "name", "")]
_DISTINGUISHER = [("Type", "type", "")]
_SUBJECT = [("Kind", "kind", ""), ("User", "user", Ptr(_NAME)), ("Group", "group", Ptr(_NAME)),
            ("ServiceAccount", "serviceAccount", Ptr([("Namespace", "namespace", ""), ("Name", "name", "")]))]
_RESOURCE_RULE = [("Verbs", "verbs", Slice("")), ("APIGroups", "apiGroups", Slice("")),
                  ("Resources", "resources", Slice("")), ("ClusterScope", "clusterScope", False),
                  ("Namespaces", "namespaces", Slice(""))]
_NON_RESOURCE_RULE = [("Verbs", "verbs", Slice("")), ("NonResourceURLs", "nonResourceURLs", Slice(""))]
_FLOW_SCHEMA_SPEC = [
    ("PriorityLevelConfiguration", "priorityLevelConfiguration", _NAME),
    ("MatchingPrecedence", "matchingPrecedence", 0),
    ("DistinguisherMethod", "distinguisherMethod", Ptr(_DISTINGUISHER)),
    ("Rules", "rules", Slice([("Subjects", "subjects", Slice(_SUBJECT)),
                              ("ResourceRules", "resourceRules", Slice(_RESOURCE_RULE)),
                              ("NonResourceRules", "nonResourceRules", Slice(_NON_RESOURCE_RULE))]))]
_PRIORITY_LEVEL_SPEC = [
    ("Type", "type", ""),
    ("Limited", "limited", Ptr([
        ("NominalConcurrencyShares", "nominalConcurrencyShares", 0),
        ("LimitResponse", "limitResponse", [("Type", "type", ""), ("Queuing", "queuing", Ptr([
            ("Queues", "queues", 0), ("HandSize", "handSize", 0), ("QueueLengthLimit", "queueLengthLimit", 0)]))]),
        ("LendablePercent", "lendablePercent", None), ("BorrowingLimitPercent", "borrowingLimitPercent", None)])),
    ("Exempt", "exempt", Ptr([("NominalConcurrencyShares", "nominalConcurrencyShares", None),
                              ("LendablePercent", "lendablePercent", None)]))]


@functools.cache
def bootstrap_objects() -> tuple[Obj, ...]:
    """The mandatory and suggested objects (kind, metadata, spec), as a fresh v1.34 apiserver creates them."""
    return tuple(doc for doc in yaml.safe_load_all(BOOTSTRAP.read_text()) if doc)


def _mandatory_spec(kind: str, name: str) -> Obj | None:
    if name not in MANDATORY:
        return None
    return next((o["spec"] for o in bootstrap_objects() if o["kind"] == kind and o["metadata"]["name"] == name), None)


def _described(definition: str, field: str) -> str:
    found = schemas.definition(f"io.k8s.api.flowcontrol.v1.{definition}") or {}
    return str(((found.get("properties") or {}).get(field) or {}).get("description", ""))


def _validate_conditions(status: Any) -> Causes:
    """Condition types: present and unique."""
    causes: Causes = []
    seen: set[str] = set()
    for i, condition in enumerate((status or {}).get("conditions") or [] if isinstance(status, dict) else []):
        kind = (condition or {}).get("type") or ""
        if kind in seen:
            causes.append(validation.duplicate(f"status.conditions[{i}].type", kind))
        seen.add(kind)
        if not kind:
            causes.append(errors.field_required(f"status.conditions[{i}].type"))
    return causes


def _only_wildcard(path: str, values: list[str], what: str) -> Causes:
    return [validation.invalid_rendered(path, validation.go_json(values),
                                        f"if '*' is present, must not specify other {what}")]


def _validate_verbs(path: str, verbs: list[str]) -> Causes:
    if not verbs:
        return [errors.field_required(path, "verbs must contain at least one value")]
    if "*" in verbs:
        return _only_wildcard(path, verbs, "verbs") if len(verbs) > 1 else []
    if not set(verbs) <= set(_VERBS):
        return [{"reason": "FieldValueNotSupported", "field": path, "message": f"Unsupported value: "
                 f"{validation.go_json(verbs)}: supported values: " + ", ".join(f'"{v}"' for v in _VERBS)}]
    return []


def _validate_url(path: str, url: str) -> Causes:
    """ValidateNonResourceURLPath."""
    problem = None
    if not url:
        problem = "must not be empty"
    elif url == "/":
        return []
    elif not url.startswith("/"):
        problem = "must start with slash"
    elif " " in url:
        problem = "must not contain white-space"
    elif "//" in url:
        problem = "must not contain double slash"
    elif url.count("*") > 1 or (url.count("*") == 1 and url[-2:] != "/*"):
        problem = "wildcard can only do suffix matching"
    return [errors.field_invalid(path, url, problem)] if problem else []


def _validate_subject(path: str, subject: Obj) -> Causes:
    kind = subject.get("kind", "")
    others = {"ServiceAccount": ("user", "group"), "User": ("serviceAccount", "group"),
              "Group": ("serviceAccount", "user")}
    if kind not in others:
        return [errors.field_not_supported(f"{path}.kind", kind, _SUBJECT_KINDS)]
    causes: Causes = []
    own = {"ServiceAccount": "serviceAccount", "User": "user", "Group": "group"}[kind]
    body = subject.get(own)
    if body is None:
        causes.append(errors.field_required(f"{path}.{own}", f"{own} is required when subject kind is '{kind}'"))
    elif not body.get("name"):
        causes.append(errors.field_required(f"{path}.{own}.name"))
    elif kind == "ServiceAccount" and body["name"] != "*":
        causes += [errors.field_invalid(f"{path}.{own}.name", body["name"], p)
                   for p in names.dns1123_subdomain(body["name"])]
    if kind == "ServiceAccount" and body is not None:
        namespace = body.get("namespace") or ""
        if namespace:
            causes += [errors.field_invalid(f"{path}.{own}.namespace", namespace, p)
                       for p in validation.dns1123_label(namespace)]
        else:
            causes.append(errors.field_required(f"{path}.{own}.namespace", "must specify namespace for service "
                                                                             "account"))
    for other in others[kind]:
        if subject.get(other) is not None:
            wanted = {"user": "User", "group": "Group", "serviceAccount": "ServiceAccount"}[other]
            causes.append(errors.field_forbidden(f"{path}.{other}",
                                                 f"{other} is forbidden when subject kind is not '{wanted}'"))
    return causes


def _validate_resource_rule(path: str, rule: Obj) -> Causes:
    causes = _validate_verbs(f"{path}.verbs", rule.get("verbs") or [])
    for key, what in (("apiGroups", "api groups"), ("resources", "resources")):
        values = rule.get(key) or []
        if not values:
            noun = "api group" if key == "apiGroups" else "resource"
            causes.append(errors.field_required(f"{path}.{key}", f"resource rules must supply at least one {noun}"))
        elif len(values) > 1 and "*" in values:
            causes += _only_wildcard(f"{path}.{key}", values, what)
    namespaces = rule.get("namespaces") or []
    if not namespaces and not rule.get("clusterScope"):
        causes.append(errors.field_required(f"{path}.namespaces", "resource rules that are not cluster scoped must "
                                                                  "supply at least one namespace"))
    elif "*" in namespaces:
        if len(namespaces) > 1:
            causes += _only_wildcard(f"{path}.namespaces", namespaces, "namespaces")
    else:
        for i, namespace in enumerate(namespaces):
            causes += [errors.field_invalid(f"{path}.namespaces[{i}]", namespace, _NAMESPACE_INTRO + p)
                       for p in validation.dns1123_label(namespace)]
    return causes


def _validate_non_resource_rule(path: str, rule: Obj) -> Causes:
    causes = _validate_verbs(f"{path}.verbs", rule.get("verbs") or [])
    urls = rule.get("nonResourceURLs") or []
    if not urls:
        causes.append(errors.field_required(f"{path}.nonResourceURLs", "nonResourceURLs must contain at least one "
                                                                      "value"))
    elif "*" in urls:
        if len(urls) > 1:
            causes += _only_wildcard(f"{path}.nonResourceURLs", urls, "non-resource URLs")
    else:
        for i, url in enumerate(urls):
            causes += _validate_url(f"{path}.nonResourceURLs[{i}]", url)
    return causes


def validate_flow_schema_spec(name: str, spec: Obj) -> Causes:
    causes: Causes = []
    precedence = spec.get("matchingPrecedence", 0)
    if precedence <= 0:
        causes.append(errors.field_invalid("spec.matchingPrecedence", precedence, "must be a positive value"))
    if precedence > 10000:
        causes.append(errors.field_invalid("spec.matchingPrecedence", precedence, "must not be greater than 10000"))
    if precedence == 1 and name != "exempt":
        causes.append(errors.field_invalid("spec.matchingPrecedence", precedence,
                                           "only the schema named 'exempt' may have matchingPrecedence 1"))
    method = spec.get("distinguisherMethod")
    if isinstance(method, dict) and method.get("type") not in _DISTINGUISHERS:
        rendered = validation.go_struct(method, _DISTINGUISHER)
        causes.append({"reason": "FieldValueNotSupported", "field": "spec.distinguisherMethod.type",
                       "message": f"Unsupported value: {rendered}: supported values: "
                                  + ", ".join(f'"{v}"' for v in _DISTINGUISHERS)})
    level = (spec.get("priorityLevelConfiguration") or {}).get("name") or ""
    if level:
        causes += [errors.field_invalid("spec.priorityLevelConfiguration.name", level, p)
                   for p in names.dns1123_subdomain(level)]
    else:
        causes.append(errors.field_required("spec.priorityLevelConfiguration.name", "must reference a priority "
                                                                                   "level"))
    for i, rule in enumerate(spec.get("rules") or []):
        path = f"spec.rules[{i}]"
        rule = rule if isinstance(rule, dict) else {}
        subjects = rule.get("subjects") or []
        if not subjects:
            causes.append(errors.field_required(f"{path}.subjects", "subjects must contain at least one value"))
        for j, subject in enumerate(subjects):
            causes += _validate_subject(f"{path}.subjects[{j}]", subject if isinstance(subject, dict) else {})
        if not rule.get("resourceRules") and not rule.get("nonResourceRules"):
            causes.append(errors.field_required(path, "at least one of resourceRules and nonResourceRules has to be "
                                                      "non-empty"))
        for j, resource_rule in enumerate(rule.get("resourceRules") or []):
            causes += _validate_resource_rule(f"{path}.resourceRules[{j}]", resource_rule or {})
        for j, url_rule in enumerate(rule.get("nonResourceRules") or []):
            causes += _validate_non_resource_rule(f"{path}.nonResourceRules[{j}]", url_rule or {})
    return causes


class FlowSchemaStrategy(Strategy):
    has_status_subresource = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}
        self._default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._default(new)

    @staticmethod
    def _default(obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict) and not spec.get("matchingPrecedence"):
            spec["matchingPrecedence"] = 1000

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return bool(semantic(new.get("spec")) != semantic(old.get("spec")))

    def validate(self, obj: Obj) -> Causes:
        name = obj["metadata"].get("name", "")
        spec = obj.get("spec") or {}
        causes = validate_flow_schema_spec(name, spec)
        mandatory = _mandatory_spec("FlowSchema", name)
        if mandatory is not None and semantic(spec) != semantic(mandatory):
            causes.append(validation.invalid_rendered("spec", validation.go_struct(spec, _FLOW_SCHEMA_SPEC),
                                                      f"spec of '{name}' must equal the fixed value"))
        return causes + _validate_conditions(obj.get("status"))

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        return _validate_conditions(new.get("status"))

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("PriorityLevel", description=_described("PriorityLevelConfigurationReference",
                                                                      "name")),
                tables.column("MatchingPrecedence", description=_described("FlowSchemaSpec", "matchingPrecedence")),
                tables.column("DistinguisherMethod", description=_described("FlowSchemaSpec",
                                                                            "distinguisherMethod")),
                tables.AGE_COLUMN,
                tables.column("MissingPL", description="references a broken or non-existent "
                                                       "PriorityLevelConfiguration")]

    def table_order(self, objs: list[Obj]) -> list[Obj]:
        """By matching precedence, then name (the order schemas are matched in)."""
        return sorted(objs, key=lambda o: ((o.get("spec") or {}).get("matchingPrecedence", 0), o["metadata"]["name"]))

    def table_cells(self, obj: Obj) -> list[Any]:
        spec = obj.get("spec") or {}
        method = (spec.get("distinguisherMethod") or {}).get("type") or "<none>"
        dangling = next((c.get("status", "") for c in (obj.get("status") or {}).get("conditions") or []
                         if c.get("type") == "Dangling"), "?")
        return [(spec.get("priorityLevelConfiguration") or {}).get("name", ""), spec.get("matchingPrecedence", 0),
                method, tables.age(obj), dangling]


def _validate_queuing(path: str, queuing: Obj) -> Causes:
    causes: Causes = []
    limit, queues, hand = (queuing.get(k, 0) for k in ("queueLengthLimit", "queues", "handSize"))
    if limit <= 0:
        causes.append(errors.field_invalid(f"{path}.queueLengthLimit", limit, "must be positive"))
    if queues <= 0:
        causes.append(errors.field_invalid(f"{path}.queues", queues, "must be positive"))
    elif queues > _MAX_QUEUES:
        causes.append(errors.field_invalid(f"{path}.queues", queues, f"must not be greater than {_MAX_QUEUES}"))
    if hand <= 0:
        causes.append(errors.field_invalid(f"{path}.handSize", hand, "must be positive"))
    elif hand > queues:
        causes.append(errors.field_invalid(f"{path}.handSize", hand, f"should not be greater than queues ({queues})"))
    elif math.ceil(math.log2(queues) * hand) > _MAX_HASH_BITS:
        causes.append(errors.field_invalid(f"{path}.handSize", hand, f"required entropy bits of deckSize {queues} "
                                           f"and handSize {hand} should not be greater than {_MAX_HASH_BITS}"))
    return causes


def _validate_limited(limited: Obj) -> Causes:
    path = "spec.limited"
    causes: Causes = []
    shares = limited.get("nominalConcurrencyShares") or 0
    if shares < 0:
        causes.append(errors.field_invalid(f"{path}.nominalConcurrencyShares", shares, "must be a non-negative "
                                                                                       "integer"))
    response = limited.get("limitResponse") or {}
    kind, queuing = response.get("type", ""), response.get("queuing")
    if kind == "Reject":
        if queuing is not None:
            causes.append(errors.field_forbidden(f"{path}.limitResponse.queuing",
                                                 "must be nil if limited.limitResponse.type is not Limited"))
    elif kind == "Queue":
        if queuing is None:
            causes.append(errors.field_required(f"{path}.limitResponse.queuing",
                                                "must not be empty if limited.limitResponse.type is Limited"))
        else:
            causes += _validate_queuing(f"{path}.limitResponse.queuing", queuing)
    else:
        causes.append(errors.field_not_supported(f"{path}.limitResponse.type", kind, _LIMIT_RESPONSES))
    lendable = limited.get("lendablePercent")
    if lendable is not None and not 0 <= lendable <= 100:
        causes.append(errors.field_invalid(f"{path}.lendablePercent", lendable, "must be between 0 and 100, "
                                                                                "inclusive"))
    borrowing = limited.get("borrowingLimitPercent")
    if borrowing is not None and borrowing < 0:
        causes.append(errors.field_invalid(f"{path}.borrowingLimitPercent", borrowing,
                                           "if specified, must be a non-negative integer"))
    return causes


def validate_priority_level_spec(name: str, spec: Obj) -> Causes:
    causes: Causes = []
    kind = spec.get("type", "")
    if (name == "exempt") != (kind == "Exempt"):
        causes.append(errors.field_invalid("spec.type", kind, "must be 'Exempt' if and only if `name` is 'exempt'"))
    if kind == "Exempt":
        if spec.get("limited") is not None:
            causes.append(errors.field_forbidden("spec.limited", "must be nil if the type is not Limited"))
        exempt = spec.get("exempt")
        if isinstance(exempt, dict):
            shares = exempt.get("nominalConcurrencyShares")
            if shares is not None and shares < 0:
                causes.append(errors.field_invalid("spec.exempt.nominalConcurrencyShares", shares,
                                                   "must be a non-negative integer"))
            lendable = exempt.get("lendablePercent")
            if lendable is not None and not 0 <= lendable <= 100:
                causes.append(errors.field_invalid("spec.exempt.lendablePercent", lendable,
                                                   "must be between 0 and 100, inclusive"))
    elif kind == "Limited":
        if spec.get("exempt") is not None:
            causes.append(errors.field_forbidden("spec.exempt", "must be nil if the type is Limited"))
        if spec.get("limited") is None:
            causes.append(errors.field_required("spec.limited", "must not be empty when type is Limited"))
        else:
            causes += _validate_limited(spec["limited"])
    else:
        causes.append(errors.field_not_supported("spec.type", kind, _ENABLEMENTS))
    return causes


class PriorityLevelConfigurationStrategy(Strategy):
    has_status_subresource = True

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}
        self._default(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._default(new)

    @staticmethod
    def _default(obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        if isinstance(spec.get("exempt"), dict):
            spec["exempt"].setdefault("nominalConcurrencyShares", 0)
            spec["exempt"].setdefault("lendablePercent", 0)
        limited = spec.get("limited")
        if isinstance(limited, dict):
            limited.setdefault("nominalConcurrencyShares", 30)
            limited.setdefault("lendablePercent", 0)
            queuing = (limited.get("limitResponse") or {}).get("queuing")
            if isinstance(queuing, dict):
                for key, default in (("handSize", 8), ("queues", 64), ("queueLengthLimit", 50)):
                    if not queuing.get(key):
                        queuing[key] = default

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return bool(semantic(new.get("spec")) != semantic(old.get("spec")))

    def validate(self, obj: Obj) -> Causes:
        name = obj["metadata"].get("name", "")
        spec = obj.get("spec") or {}
        causes: Causes = []
        if _PRESERVE_ZERO in (obj["metadata"].get("annotations") or {}):
            causes.append(errors.field_forbidden("metadata.annotations", f"annotation '{_PRESERVE_ZERO}' is "
                                                                         "forbidden"))
        causes += validate_priority_level_spec(name, spec)
        mandatory = _mandatory_spec("PriorityLevelConfiguration", name)
        if mandatory is not None:
            have = dict(spec)
            if name == "exempt":
                have["exempt"] = mandatory.get("exempt")
            if semantic(have) != semantic(mandatory):
                detail = ("except the 'spec.exempt' field must equal the fixed value" if name == "exempt"
                          else "must equal the fixed value")
                causes.append(validation.invalid_rendered("spec", validation.go_struct(spec, _PRIORITY_LEVEL_SPEC),
                                                          f"spec of '{name}' {detail}"))
        return causes + _validate_conditions(obj.get("status"))

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        return _validate_conditions(new.get("status"))

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Type", description=_described("PriorityLevelConfigurationSpec", "type")),
                tables.column("NominalConcurrencyShares",
                              description=_described("LimitedPriorityLevelConfiguration", "nominalConcurrencyShares")),
                tables.column("Queues", description=_described("QueuingConfiguration", "queues")),
                tables.column("HandSize", description=_described("QueuingConfiguration", "handSize")),
                tables.column("QueueLengthLimit", description=_described("QueuingConfiguration", "queueLengthLimit"))]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec = obj.get("spec") or {}
        limited = spec.get("limited")
        shares: Any = "<none>"
        queuing_cells: list[Any] = ["<none>"] * 3
        if isinstance(limited, dict):
            shares = limited.get("nominalConcurrencyShares", 0)
            queuing = (limited.get("limitResponse") or {}).get("queuing")
            if isinstance(queuing, dict):
                queuing_cells = [queuing.get(k, 0) for k in ("queues", "handSize", "queueLengthLimit")]
        return [spec.get("type", ""), shares, *queuing_cells]
