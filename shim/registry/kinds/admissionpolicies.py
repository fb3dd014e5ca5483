"""admissionregistration.k8s.io/v1 ValidatingAdmissionPolicies (+status) and their bindings: defaulted and
validated as upstream does (pkg/apis/admissionregistration/v1/defaults.go and validation/validation.go, CEL
expressions compiled by shim.machinery.cel); shim.registry.admission enforces them on every write."""
from __future__ import annotations

import re
from typing import Any

from shim.machinery import cel, errors, names, tables, validation
from shim.machinery.cel import admission as expressions
from shim.machinery.cel import types as cel_types
from shim.registry.strategy import USER_METADATA, Causes, Obj, Strategy

_FAILURE_POLICIES = ["Fail", "Ignore"]
_MATCH_POLICIES = ["Equivalent", "Exact"]
_SCOPES = ["*", "Cluster", "Namespaced"]
_OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]
_ACTIONS = ["Audit", "Deny", "Warn"]
_REASONS = ["Forbidden", "Invalid", "RequestEntityTooLarge"]
_NOT_FOUND_ACTIONS = ["Deny", "Allow"]
_MAX_AUDIT_ANNOTATIONS = 20
_MAX_VALUE_EXPRESSION = 5 * 1024
_CEL_IDENT = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
_CEL_RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function", "if",
                 "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
_NEWLINES = re.compile(r"[\n\r]+")


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def default_match_resources(match: Any) -> None:
    """SetDefaults_MatchResources and SetDefaults_Rule of every rule in it."""
    if not isinstance(match, dict):
        return
    match.setdefault("matchPolicy", "Equivalent")
    match.setdefault("namespaceSelector", {})
    match.setdefault("objectSelector", {})
    for key in ("resourceRules", "excludeResourceRules"):
        for rule in _list(match.get(key)):
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")


# -- match resources ------------------------------------------------------------------------------------------

def _wildcard_with_others(path: str, values: list[Any], what: str) -> Causes:
    if len(values) > 1 and "*" in values:
        return [validation.invalid_rendered(path, validation.go_json(values),
                                            f"if '*' is present, must not specify other {what}")]
    return []


def _validate_resources(path: str, resources: list[Any]) -> Causes:
    """validateResources: resource/subresource patterns with their wildcard rules."""
    causes: Causes = [] if resources else [errors.field_required(path)]
    wildcard_sub: set[str] = set()
    wildcard_res: set[str] = set()
    double = single = plain = False
    for i, item in enumerate(resources):
        if item == "":
            causes.append(errors.field_required(f"{path}[{i}]"))
            continue
        double = double or item == "*/*"
        single = single or item == "*"
        if "/" not in item:
            plain = item != "*"
            continue
        res, sub = item.split("/", 1)
        if res in wildcard_sub:
            causes.append(errors.field_invalid(f"{path}[{i}]", item, f"if '{res}/*' is present, must not specify "
                                                                      f"{item}"))
        if sub in wildcard_res:
            causes.append(errors.field_invalid(f"{path}[{i}]", item, f"if '*/{sub}' is present, must not specify "
                                                                      f"{item}"))
        if sub == "*":
            wildcard_sub.add(res)
        if res == "*":
            wildcard_res.add(sub)
    if len(resources) > 1 and double:
        causes.append(validation.invalid_rendered(path, validation.go_json(resources),
                                                  "if '*/*' is present, must not specify other resources"))
    if single and plain:
        causes.append(validation.invalid_rendered(path, validation.go_json(resources),
                                                  "if '*' is present, must not specify other resources without "
                                                  "subresources"))
    return causes


def validate_rule(path: str, rule: Obj) -> Causes:
    """validateNamedRuleWithOperations: resource names, operations, then the rule itself (validateRule)."""
    causes: Causes = []
    seen: set[str] = set()
    for i, name in enumerate(_list(rule.get("resourceNames"))):
        causes += [errors.field_invalid(f"{path}.resourceNames[{i}]", name, p) for p in names.path_segment(name)]
        if name in seen:
            causes.append(validation.duplicate(f"{path}.resourceNames[{i}]", name))
        seen.add(name)
    operations = _list(rule.get("operations"))
    if not operations:
        causes.append(errors.field_required(f"{path}.operations"))
    causes += _wildcard_with_others(f"{path}.operations", operations, "operations")
    for i, operation in enumerate(operations):
        if operation not in _OPERATIONS:
            causes.append(errors.field_not_supported(f"{path}.operations[{i}]", operation, _OPERATIONS))
    groups, versions = _list(rule.get("apiGroups")), _list(rule.get("apiVersions"))
    if not groups:
        causes.append(errors.field_required(f"{path}.apiGroups"))
    causes += _wildcard_with_others(f"{path}.apiGroups", groups, "API groups")
    if not versions:
        causes.append(errors.field_required(f"{path}.apiVersions"))
    causes += _wildcard_with_others(f"{path}.apiVersions", versions, "API versions")
    causes += [errors.field_required(f"{path}.apiVersions[{i}]") for i, v in enumerate(versions) if v == ""]
    causes += _validate_resources(f"{path}.resources", _list(rule.get("resources")))
    scope = rule.get("scope")
    if scope is not None and scope not in _SCOPES:
        causes.append(errors.field_not_supported(f"{path}.scope", scope, _SCOPES))
    return causes


def validate_match_resources(path: str, match: Obj) -> Causes:
    """validateMatchResources (after defaulting, so the policies and selectors are there)."""
    causes: Causes = []
    policy = match.get("matchPolicy")
    if policy is None:
        causes.append(errors.field_required(f"{path}.matchPolicy"))
    elif policy not in _MATCH_POLICIES:
        causes.append(errors.field_not_supported(f"{path}.matchPolicy", policy, _MATCH_POLICIES))
    for key in ("namespaceSelector", "objectSelector"):
        if match.get(key) is None:
            causes.append(errors.field_required(f"{path}.{key}"))
        else:
            causes += validation.label_selector(f"{path}.{key}", match[key])
    for key in ("resourceRules", "excludeResourceRules"):
        for i, rule in enumerate(_list(match.get(key))):
            causes += validate_rule(f"{path}.{key}[{i}]", _dict(rule))
    return causes


# -- the policy -----------------------------------------------------------------------------------------------

def _compiled(path: str, source: str, env: cel.Env, returns: tuple[cel_types.Type, ...] | None,
              shown: str | None = None) -> tuple[cel.Program | None, Causes]:
    """Compile one expression; its error is an Invalid cause of `path` showing the expression (or `shown`)."""
    try:
        return expressions.compile_expression(source, env, returns), []
    except cel.CompileError as err:
        return None, [errors.field_invalid(path, source if shown is None else shown, err.message)]


def is_cel_identifier(name: str) -> bool:
    return bool(_CEL_IDENT.match(name)) and name not in _CEL_RESERVED


def _validate_param_kind(path: str, kind: Obj) -> Causes:
    causes: Causes = []
    api_version = kind.get("apiVersion") or ""
    if not api_version:
        causes.append(errors.field_required(f"{path}.apiVersion"))
    elif api_version.count("/") > 1:
        causes.append(errors.field_invalid(f"{path}.apiVersion", api_version,
                                           f"unexpected GroupVersion string: {api_version}"))
    elif api_version != "/":
        group, _, version = api_version.rpartition("/")
        if group and names.dns1123_subdomain(group):
            causes.append(errors.field_invalid(f"{path}.apiVersion", group, ",".join(names.dns1123_subdomain(group))))
        if not version:
            causes.append(errors.field_invalid(f"{path}.apiVersion", api_version, "version must be specified"))
        elif validation.dns1035_label(version):
            causes.append(errors.field_invalid(f"{path}.apiVersion", version,
                                               ",".join(validation.dns1035_label(version))))
    else:
        causes.append(errors.field_invalid(f"{path}.apiVersion", api_version, "version must be specified"))
    kind_name = kind.get("kind") or ""
    if not kind_name:
        causes.append(errors.field_required(f"{path}.kind"))
    elif validation.dns1035_label(kind_name.lower()):
        causes.append(errors.field_invalid(f"{path}.kind", kind_name, "may have mixed case, but should otherwise "
                                           "match: " + ",".join(validation.dns1035_label(kind_name.lower()))))
    return causes


def _qualified_name(path: str, value: str) -> Causes:
    """ValidateQualifiedName."""
    return [errors.field_invalid(path, value, problem) for problem in names.label_key(value)]


def validate_match_conditions(path: str, conditions: list[Any], params: bool) -> Causes:
    causes: Causes = []
    env = expressions.environment(params=params, authorizer=True)
    if len(conditions) > 64:
        causes.append({"reason": "FieldValueTooMany", "field": path,
                       "message": f"Too many: {len(conditions)}: must have at most 64 items"})
    seen: set[str] = set()
    for i, condition in enumerate(conditions):
        condition = _dict(condition)
        expression = str(condition.get("expression") or "").strip()
        if not expression:
            causes.append(errors.field_required(f"{path}[{i}].expression"))
        else:
            causes += _compiled(f"{path}[{i}].expression", expression, env, expressions.BOOL_RESULT)[1]
        name = condition.get("name") or ""
        if not name:
            causes.append(errors.field_required(f"{path}[{i}].name"))
        else:
            causes += _qualified_name(f"{path}[{i}].name", name)
            if name in seen:
                causes.append(validation.duplicate(f"{path}[{i}].name", name))
            seen.add(name)
    return causes


def _validate_variable(path: str, variable: Obj, params: bool, declared: dict[str, cel_types.Type]) -> Causes:
    """A variable's name and expression; the variable joins `declared` for the expressions after it (as
    upstream's composition adds it: dyn when its expression does not compile)."""
    causes: Causes = []
    name = variable.get("name") or ""
    if not name.strip():
        causes.append(errors.field_required(f"{path}.name", "name is not specified"))
    elif not is_cel_identifier(name):
        causes.append(errors.field_invalid(f"{path}.name", name, "must be a valid CEL identifier"))
    expression = str(variable.get("expression") or "")
    if not expression.strip():
        causes.append(errors.field_required(f"{path}.expression", "expression is not specified"))
        return causes
    env = expressions.environment(params=params, authorizer=True, variables=declared)
    program, problems = _compiled(f"{path}.expression", expression, env, None)
    declared[name] = expressions.variable_type(program)
    return causes + problems


def _validate_validation(path: str, rule: Obj, params: bool, variables: dict[str, cel_types.Type] | None) -> Causes:
    causes: Causes = []
    expression = str(rule.get("expression") or "")
    message = str(rule.get("message") or "")
    message_expression = str(rule.get("messageExpression") or "")
    if not expression.strip():
        causes.append(errors.field_required(f"{path}.expression", "expression is not specified"))
    else:
        env = expressions.environment(params=params, authorizer=True, variables=variables)
        causes += _compiled(f"{path}.expression", expression, env, expressions.BOOL_RESULT)[1]
    if message_expression and not message_expression.strip():
        causes.append(errors.field_invalid(f"{path}.messageExpression", message_expression,
                                           "must be non-empty if specified"))
    elif message_expression:
        env = expressions.environment(params=params, authorizer=False, variables=variables)
        causes += _compiled(f"{path}.messageExpression", message_expression, env, expressions.STRING_RESULT)[1]
    if message and not message.strip():
        causes.append(errors.field_invalid(f"{path}.message", message, "must be non-empty if specified"))
    elif _NEWLINES.search(message.strip()):
        causes.append(errors.field_invalid(f"{path}.message", message, "must not contain line breaks"))
    reason = rule.get("reason")
    if reason is not None and reason not in _REASONS:
        causes.append(errors.field_not_supported(f"{path}.reason", reason, _REASONS))
    return causes


def _validate_audit_annotation(path: str, policy_name: str, annotation: Obj, params: bool,
                               variables: dict[str, cel_types.Type] | None) -> Causes:
    key = annotation.get("key") or ""
    if policy_name:
        causes = _qualified_name(f"{path}.key", f"{policy_name}/{key}")
    else:
        causes = [errors.field_invalid(f"{path}.key", key, "requires metadata.name be non-empty")]
    value = str(annotation.get("valueExpression") or "").strip()
    if not value:
        causes.append(errors.field_required(f"{path}.valueExpression", "valueExpression is not specified"))
    elif len(value) > _MAX_VALUE_EXPRESSION:
        causes.append(errors.field_required(f"{path}.valueExpression",
                                            f"must not exceed {_MAX_VALUE_EXPRESSION} bytes in length"))
    else:
        env = expressions.environment(params=params, authorizer=True, variables=variables)
        causes += _compiled(f"{path}.valueExpression", value, env, expressions.AUDIT_RESULT,
                            shown=str(annotation.get("valueExpression")))[1]
    return causes


def validate_policy_spec(name: str, spec: Obj, check_match_conditions: bool = True) -> Causes:
    """validateValidatingAdmissionPolicySpec, in upstream's order of fields."""
    path = "spec"
    causes: Causes = []
    failure = spec.get("failurePolicy")
    if failure is None:
        causes.append(errors.field_required(f"{path}.failurePolicy"))
    elif failure not in _FAILURE_POLICIES:
        causes.append(errors.field_not_supported(f"{path}.failurePolicy", failure, _FAILURE_POLICIES))
    params = spec.get("paramKind") is not None
    if params:
        causes += _validate_param_kind(f"{path}.paramKind", _dict(spec["paramKind"]))
    constraints = spec.get("matchConstraints")
    if constraints is None:
        causes.append(errors.field_required(f"{path}.matchConstraints"))
    else:
        causes += validate_match_resources(f"{path}.matchConstraints", _dict(constraints))
        if not _list(_dict(constraints).get("resourceRules")):
            causes.append(errors.field_required(f"{path}.matchConstraints.resourceRules"))
    if check_match_conditions:
        causes += validate_match_conditions(f"{path}.matchConditions", _list(spec.get("matchConditions")), params)
    # variables compose only when there are some: without, `variables` is no declared name
    composed: dict[str, cel_types.Type] = {}
    for i, variable in enumerate(_list(spec.get("variables"))):
        causes += _validate_variable(f"{path}.variables[{i}]", _dict(variable), params, composed)
    variables = composed if _list(spec.get("variables")) else None
    rules, annotations = _list(spec.get("validations")), _list(spec.get("auditAnnotations"))
    if not rules and not annotations:
        detail = "validations or auditAnnotations must contain at least one item"
        return causes + [errors.field_required(f"{path}.validations", detail),
                         errors.field_required(f"{path}.auditAnnotations", detail)]
    for i, rule in enumerate(rules):
        causes += _validate_validation(f"{path}.validations[{i}]", _dict(rule), params, variables)
    if len(annotations) > _MAX_AUDIT_ANNOTATIONS:
        causes.append(validation.invalid_rendered(f"{path}.auditAnnotations", validation.go_json(annotations),
                                                  f"must not have more than {_MAX_AUDIT_ANNOTATIONS} "
                                                  f"auditAnnotations"))
    keys: set[str] = set()
    for i, annotation in enumerate(annotations):
        annotation = _dict(annotation)
        causes += _validate_audit_annotation(f"{path}.auditAnnotations[{i}]", name, annotation, params, variables)
        key = annotation.get("key") or ""
        if key in keys:
            causes.append(validation.duplicate(f"{path}.auditAnnotations[{i}].key", key))
        keys.add(key)
    return causes


def validate_policy_status(status: Obj) -> Causes:
    """validateValidatingAdmissionPolicyStatus: type-checking warnings and conditions."""
    causes: Causes = []
    type_checking = status.get("typeChecking")
    for i, warning in enumerate(_list(_dict(type_checking).get("expressionWarnings"))):
        warning = _dict(warning)
        path = f"status.typeChecking.expressionWarnings[{i}]"
        if not warning.get("warning"):
            causes.append(errors.field_required(f"{path}.warning"))
        if not str(warning.get("fieldRef") or "").strip():
            causes.append(errors.field_required(f"{path}.fieldRef"))
    return causes + validation.conditions("status.conditions", status.get("conditions"))


class ValidatingAdmissionPolicyStrategy(Strategy):
    """Cluster-scoped, spec and status; /status writes keep the spec and the user's metadata
    (ResetObjectMetaForStatus)."""

    has_status_subresource = True
    status_keeps_metadata = USER_METADATA

    def default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("failurePolicy", "Fail")
            default_match_resources(spec.get("matchConstraints"))

    def validate(self, obj: Obj) -> Causes:
        return validate_policy_spec(obj["metadata"].get("name", ""), _dict(obj.get("spec")))

    def validate_update(self, new: Obj, old: Obj) -> Causes:
        spec, old_spec = _dict(new.get("spec")), _dict(old.get("spec"))
        unchanged = (spec.get("paramKind") == old_spec.get("paramKind")
                     and spec.get("matchConditions") == old_spec.get("matchConditions"))
        return validate_policy_spec(new["metadata"].get("name", ""), spec, check_match_conditions=not unchanged)

    def validate_status_update(self, new: Obj, old: Obj) -> Causes:
        return validate_policy_status(_dict(new.get("status")))

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("Validations", "integer", description="Validations indicates the number of "
                              "validation rules defined in this configuration"),
                tables.column("ParamKind", description="ParamKind specifies the kind of resources used to "
                              "parameterize this policy")]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec = _dict(obj.get("spec"))
        kind = spec.get("paramKind")
        param_kind = f"{_dict(kind).get('apiVersion', '')}/{_dict(kind).get('kind', '')}" if kind else "<unset>"
        return [len(_list(spec.get("validations"))), param_kind]


def _validate_param_ref(path: str, ref: Obj) -> Causes:
    causes: Causes = []
    name, selector = ref.get("name") or "", ref.get("selector")
    if name:
        causes += [errors.field_invalid(f"{path}.name", name, p) for p in names.path_segment(name)]
        if selector is not None:
            causes.append(errors.field_forbidden(f"{path}.name", "name and selector are mutually exclusive"))
    if selector is not None:
        causes += validation.label_selector(f"{path}.selector", selector)
        if name:
            causes.append(errors.field_forbidden(f"{path}.selector", "name and selector are mutually exclusive"))
    if not name and selector is None:
        causes.append(errors.field_required(path, "one of name or selector must be specified"))
    action = ref.get("parameterNotFoundAction")
    if not action:
        causes.append(errors.field_required(f"{path}.parameterNotFoundAction"))
    elif action not in _NOT_FOUND_ACTIONS:
        causes.append(errors.field_not_supported(f"{path}.parameterNotFoundAction", action, _NOT_FOUND_ACTIONS))
    return causes


def _validate_actions(path: str, actions: list[Any]) -> Causes:
    causes: Causes = []
    seen: set[str] = set()
    for i, action in enumerate(actions):
        if action not in _ACTIONS:
            causes.append(errors.field_not_supported(f"{path}[{i}]", action, _ACTIONS))
        if action in seen:
            causes.append(validation.duplicate(f"{path}[{i}]", action))
        seen.add(action)
    if {"Deny", "Warn"} <= seen:
        causes.append(validation.invalid_rendered(path, validation.go_json(actions), "must not contain both Deny "
                                                  "and Warn (repeating the same validation failure information in "
                                                  "the API response and headers serves no purpose)"))
    if not seen:
        causes.append(errors.field_required(path, "at least one validation action is required"))
    return causes


def selector_string(selector: Obj) -> str:
    """metav1.LabelSelector's String() (its generated, gogo-protobuf form), as `kubectl get` shows a paramRef."""
    labels = _dict(selector.get("matchLabels"))
    match_labels = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    requirements = "".join(
        f"LabelSelectorRequirement{{Key:{_dict(r).get('key', '')},Operator:{_dict(r).get('operator', '')},"
        f"Values:[{' '.join(_list(_dict(r).get('values')))}],}},"
        for r in _list(selector.get("matchExpressions")))
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{match_labels}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{requirements}}},}}")


class ValidatingAdmissionPolicyBindingStrategy(Strategy):
    """Cluster-scoped, spec only (generation follows it)."""

    def default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if isinstance(spec, dict):
            default_match_resources(spec.get("matchResources"))

    def validate(self, obj: Obj) -> Causes:
        spec = _dict(obj.get("spec"))
        causes: Causes = []
        policy = spec.get("policyName") or ""
        if not policy:
            causes.append(errors.field_required("spec.policyName"))
        else:
            causes += [errors.field_invalid("spec.policyName", policy, p) for p in names.dns1123_subdomain(policy)]
        if spec.get("paramRef") is not None:
            causes += _validate_param_ref("spec.paramRef", _dict(spec["paramRef"]))
        if spec.get("matchResources") is not None:
            causes += validate_match_resources("spec.matchResources", _dict(spec["matchResources"]))
        return causes + _validate_actions("spec.validationActions", _list(spec.get("validationActions")))

    def table_columns(self) -> list[dict[str, Any]]:
        return [tables.column("PolicyName", description="PolicyName indicates the policy definition which the "
                              "policy binding binded to"),
                tables.column("ParamRef", description="ParamRef indicates the param resource which sets the "
                              "configration param")]

    def table_cells(self, obj: Obj) -> list[Any]:
        spec = _dict(obj.get("spec"))
        ref = spec.get("paramRef")
        param = "<unset>"
        if isinstance(ref, dict):
            if ref.get("name"):
                param = f"{ref.get('namespace') or '*'}/{ref['name']}"
            elif ref.get("selector") is not None:
                param = selector_string(_dict(ref["selector"]))
        return [spec.get("policyName") or "", param]
