"""admissionregistration.k8s.io/v1 Mutating- and ValidatingWebhookConfigurations: defaulted and validated as
upstream does (pkg/apis/admissionregistration/v1/defaults.go, validation/validation.go and apiserver's
util/webhook/validation.go); shim.registry.webhooks calls the webhooks."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from shim.machinery import errors, names, tables, validation
from shim.registry.kinds.admissionpolicies import validate_match_conditions, validate_rule
from shim.registry.strategy import Causes, NoStatusStrategy, Obj

_FAILURE_POLICIES = ["Fail", "Ignore"]
_MATCH_POLICIES = ["Equivalent", "Exact"]
_SIDE_EFFECTS = ["None", "NoneOnDryRun"]
_REINVOCATION = ["IfNeeded", "Never"]
_REVIEW_VERSIONS = ["v1", "v1beta1"]
_URL_FORM = "; desired format: https://host[/path]"


def _dicts(value: Any) -> list[Obj]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def default_webhook(hook: Obj, mutating: bool) -> None:
    """SetDefaults_ValidatingWebhook / SetDefaults_MutatingWebhook, with their rules and service reference."""
    hook.setdefault("failurePolicy", "Fail")
    hook.setdefault("matchPolicy", "Equivalent")
    hook.setdefault("namespaceSelector", {})
    hook.setdefault("objectSelector", {})
    hook.setdefault("timeoutSeconds", 10)
    if mutating:
        hook.setdefault("reinvocationPolicy", "Never")
    for rule in _dicts(hook.get("rules")):
        rule.setdefault("scope", "*")
    service = (hook.get("clientConfig") or {}).get("service") if isinstance(hook.get("clientConfig"), dict) else None
    if isinstance(service, dict):
        service.setdefault("port", 443)


def _fully_qualified(path: str, name: Any) -> Causes:
    """IsFullyQualifiedName."""
    if not name:
        return [errors.field_required(path)]
    problems = names.dns1123_subdomain(str(name))
    if problems:
        return [errors.field_invalid(path, name, ",".join(problems))]
    if len(str(name).split(".")) < 3:
        return [errors.field_invalid(path, name, "should be a domain with at least three segments separated by dots")]
    return []


def _review_versions(path: str, versions: Any) -> Causes:
    """validateAdmissionReviewVersions: at least one, no duplicates, DNS labels, one that upstream speaks."""
    versions = versions if isinstance(versions, list) else []
    if not versions:
        return [errors.field_required(path, "must specify one of v1, v1beta1")]
    causes: Causes = []
    seen: set[str] = set()
    for i, version in enumerate(versions):
        if version in seen:
            causes.append(errors.field_invalid(f"{path}[{i}]", version, "duplicate version"))
            continue
        seen.add(version)
        causes += [errors.field_invalid(f"{path}[{i}]", version, p) for p in validation.dns1035_label(str(version))]
    if not seen & set(_REVIEW_VERSIONS):
        causes.append(validation.invalid_rendered(path, validation.go_json(versions),
                                                  "must include at least one of v1, v1beta1"))
    return causes


def _url(path: str, url: str) -> Causes:
    """ValidateWebhookURL (https only)."""
    try:
        parts = urlsplit(url)
    except ValueError as err:
        return [errors.field_required(path, f"url must be a valid URL: {err}{_URL_FORM}")]
    causes: Causes = []
    if parts.scheme != "https":
        causes.append(errors.field_invalid(path, parts.scheme, "'https' is the only allowed URL scheme" + _URL_FORM))
    host = parts.netloc.rpartition("@")[2]
    if not host:
        causes.append(errors.field_invalid(path, host, "host must be specified" + _URL_FORM))
    if "@" in parts.netloc:
        causes.append(errors.field_invalid(path, parts.netloc.rpartition("@")[0],
                                           "user information is not permitted in the URL"))
    if parts.fragment:
        causes.append(errors.field_invalid(path, parts.fragment, "fragments are not permitted in the URL"))
    if parts.query:
        causes.append(errors.field_invalid(path, parts.query, "query parameters are not permitted in the URL"))
    return causes


def _service(path: str, service: Obj) -> Causes:
    """ValidateWebhookService."""
    causes: Causes = []
    if not service.get("name"):
        causes.append(errors.field_required(f"{path}.name"))
    if not service.get("namespace"):
        causes.append(errors.field_required(f"{path}.namespace"))
    port = service.get("port", 443)
    problems = validation.port_number(port)
    if problems:
        causes.append(errors.field_invalid(f"{path}.port", port, "port is not valid: " + ", ".join(problems)))
    url_path = service.get("path")
    if url_path in (None, "", "/"):
        return causes
    if url_path == "//":
        return causes + [errors.field_invalid(f"{path}.path", url_path, "segment[0] may not be empty")]
    if not url_path.startswith("/"):
        causes.append(errors.field_invalid(f"{path}.path", url_path, "must start with a '/'"))
    check = url_path[1:]
    check = check[:-1] if check.endswith("/") else check
    for i, step in enumerate(check.split("/")):
        if not step:
            causes.append(errors.field_invalid(f"{path}.path", url_path, f"segment[{i}] may not be empty"))
            continue
        causes += [errors.field_invalid(f"{path}.path", url_path, f"segment[{i}]: {p}")
                   for p in names.dns1123_subdomain(step)]
    return causes


def validate_webhook(path: str, hook: Obj, mutating: bool) -> Causes:
    """validateMutatingWebhook / validateValidatingWebhook."""
    causes = _fully_qualified(f"{path}.name", hook.get("name"))
    for i, rule in enumerate(_dicts(hook.get("rules"))):
        causes += validate_rule(f"{path}.rules[{i}]", rule)
    for key, supported in (("failurePolicy", _FAILURE_POLICIES), ("matchPolicy", _MATCH_POLICIES)):
        if hook.get(key) is not None and hook[key] not in supported:
            causes.append(errors.field_not_supported(f"{path}.{key}", hook[key], supported))
    if hook.get("sideEffects") is None:
        causes.append(errors.field_required(f"{path}.sideEffects", "must specify one of None, NoneOnDryRun"))
    elif hook["sideEffects"] not in _SIDE_EFFECTS:
        causes.append(errors.field_not_supported(f"{path}.sideEffects", hook["sideEffects"], _SIDE_EFFECTS))
    timeout = hook.get("timeoutSeconds")
    if isinstance(timeout, int) and not 1 <= timeout <= 30:
        causes.append(errors.field_invalid(f"{path}.timeoutSeconds", timeout,
                                           "the timeout value must be between 1 and 30 seconds"))
    for key in ("namespaceSelector", "objectSelector"):
        if hook.get(key) is not None:
            causes += validation.label_selector(f"{path}.{key}", hook[key])
    if mutating and hook.get("reinvocationPolicy") is not None and hook["reinvocationPolicy"] not in _REINVOCATION:
        causes.append(errors.field_not_supported(f"{path}.reinvocationPolicy", hook["reinvocationPolicy"],
                                                 _REINVOCATION))
    config: Obj = hook["clientConfig"] if isinstance(hook.get("clientConfig"), dict) else {}
    if (config.get("url") is None) == (config.get("service") is None):
        causes.append(errors.field_required(f"{path}.clientConfig", "exactly one of url or service is required"))
    elif config.get("url") is not None:
        causes += _url(f"{path}.clientConfig.url", str(config["url"]))
    else:
        causes += _service(f"{path}.clientConfig.service", config["service"] if isinstance(
            config["service"], dict) else {})
    causes += validate_match_conditions(f"{path}.matchConditions", hook.get("matchConditions") or [], False)
    return causes


class WebhookConfigurationStrategy(NoStatusStrategy):
    """Either kind of configuration: a list of webhooks, each defaulted and validated."""

    tracks_generation = True

    def __init__(self, mutating: bool) -> None:
        self.mutating = mutating

    def default(self, obj: Obj) -> None:
        for hook in _dicts(obj.get("webhooks")):
            default_webhook(hook, self.mutating)

    def validate(self, obj: Obj) -> Causes:
        causes: Causes = []
        seen: set[str] = set()
        for i, hook in enumerate(_dicts(obj.get("webhooks"))):
            path = f"webhooks[{i}]"
            causes += validate_webhook(path, hook, self.mutating)
            causes += _review_versions(f"{path}.admissionReviewVersions", hook.get("admissionReviewVersions"))
            name = hook.get("name")
            if name:
                if name in seen:
                    causes.append(validation.duplicate(f"{path}.name", name))
                seen.add(name)
        return causes

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        return self.validate(new)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("webhooks") != old.get("webhooks")

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Webhooks", "integer", description="Webhooks indicates the number of webhooks "
                              "registered in this configuration")]

    def table_cells(self, obj: Obj) -> list[Any]:
        return [len(_dicts(obj.get("webhooks")))]
