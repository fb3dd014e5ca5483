"""Validating admission: the ValidatingAdmissionPolicies bound to a write decide whether it happens (upstream's
ValidatingAdmissionPolicy plugin, k8s.io/apiserver pkg/admission/plugin/policy/validating).

The generic store asks `Admission.validate` (shim.registry.admission_chain: these policies, then the validating
webhooks of shim.registry.webhooks) once per create, update (main endpoint or subresource) and delete,
after the kind's own validation and before the write; a denial is the Status upstream answers (`... is forbidden:
ValidatingAdmissionPolicy 'p' with binding 'b' denied request: ...`), a Warn action a Warning text.

Simplified from upstream: no audit log, so the Audit action and auditAnnotations are evaluated (their errors
deny under failurePolicy Fail) but published nowhere; `authorizer` checks ask the server's RBAC through its
access reviewer (field and label selectors not passed on); creates through a subresource handler (bindings,
evictions, token requests) are not admitted themselves (an eviction's delete is).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from celpy import celtypes as ct
from celpy.evaluation import CELEvalError

from shim.machinery import cel, errors
from shim.machinery.cel import admission as expressions
from shim.machinery.cel import authorizer as authz
from shim.machinery.labels import EVERYTHING, LabelSelector, selector_from_match
from shim.machinery.users import User
from shim.registry.catalog import Catalog
from shim.registry.resource import ResourceInfo
from shim.registry.services import Services
from shim.storage.store import Store

Obj = dict[str, Any]

POLICIES = "admissionregistration.k8s.io/validatingadmissionpolicies"
BINDINGS = "admissionregistration.k8s.io/validatingadmissionpolicybindings"
NAMESPACES = "/namespaces"
#: resources no policy intercepts (kube-apiserver's exclusion list: reviews that are never persisted)
EXCLUDED = {("authentication.k8s.io", "selfsubjectreviews"), ("authentication.k8s.io", "tokenreviews"),
            ("authorization.k8s.io", "localsubjectaccessreviews"),
            ("authorization.k8s.io", "selfsubjectaccessreviews"),
            ("authorization.k8s.io", "selfsubjectrulesreviews"), ("authorization.k8s.io", "subjectaccessreviews")}
_CODES = {"Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413, "Invalid": 422}
_OPTIONS = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions", "DELETE": "DeleteOptions"}
ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))


@dataclass(frozen=True)
class Attributes:
    """One write as admission sees it (upstream's admission.Attributes)."""

    info: ResourceInfo
    operation: str
    namespace: str
    name: str
    object: Obj | None
    old_object: Obj | None
    subresource: str = ""
    user: User | None = None
    dry_run: bool = False
    #: the write's options as their kind (CreateOptions...) serializes them
    options: Obj = field(default_factory=dict)


class Admission(Protocol):
    """What the generic store asks of admission: mutation after defaulting, validation before the write."""

    async def mutate(self, attrs: Attributes) -> tuple[Obj | None, tuple[str, ...]]:
        """The object as the mutating plugins leave it, and their Warning texts; raises a StatusError to refuse
        the write."""
        ...

    async def validate(self, attrs: Attributes) -> tuple[str, ...]:
        """The Warning texts for an admitted write; raises a StatusError to refuse it."""
        ...


class NoAdmission:
    """The store alone (unit tests of the registry): every write is admitted."""

    async def mutate(self, attrs: Attributes) -> tuple[Obj | None, tuple[str, ...]]:
        return attrs.object, ()

    async def validate(self, attrs: Attributes) -> tuple[str, ...]:
        return ()


@dataclass
class CompiledPolicy:
    """A policy's expressions, compiled once per stored version of it."""

    variables: list[tuple[str, cel.Program | str]]
    conditions: list[cel.Program | str]
    validations: list[tuple[Obj, cel.Program | str, cel.Program | str | None]]
    annotations: list[tuple[str, str, cel.Program | str]]


def _compile(source: str, env: cel.Env, returns: tuple[cel.types.Type, ...] | None) -> cel.Program | str:
    """The program, or upstream's compilation error detail (what evaluating it then reports)."""
    try:
        return expressions.compile_expression(source, env, returns)
    except cel.CompileError as err:
        return err.message


def compile_policy(spec: Obj) -> CompiledPolicy:
    """Every expression of a policy as upstream's compilePolicy compiles them (variables composed in order)."""
    params = spec.get("paramKind") is not None
    declared: dict[str, cel.types.Type] = {}
    variables = []
    for variable in spec.get("variables") or []:
        env = expressions.environment(params=params, authorizer=True, variables=declared)
        program = _compile(str(variable.get("expression") or ""), env, None)
        declared[variable.get("name", "")] = expressions.variable_type(
            program if isinstance(program, cel.Program) else None)
        variables.append((variable.get("name", ""), program))
    env = expressions.environment(params=params, authorizer=True, variables=declared)
    messages_env = expressions.environment(params=params, authorizer=False, variables=declared)
    conditions = [_compile(str(c.get("expression") or "").strip(), env, expressions.BOOL_RESULT)
                  for c in spec.get("matchConditions") or []]
    validations = [(v, _compile(str(v.get("expression") or ""), env, expressions.BOOL_RESULT),
                    _compile(v["messageExpression"], messages_env, expressions.STRING_RESULT)
                    if v.get("messageExpression") else None)
                   for v in spec.get("validations") or []]
    annotations = [(a.get("key", ""), str(a.get("valueExpression") or ""),
                    _compile(str(a.get("valueExpression") or ""), env, expressions.AUDIT_RESULT))
                   for a in spec.get("auditAnnotations") or []]
    return CompiledPolicy(variables, conditions, validations, annotations)


class _Misconfigured(Exception):
    """A policy or binding that cannot be applied to the request (upstream's configuration errors): under
    failurePolicy Fail it denies, with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Match:
    """What a request looks like to a policy that matched it (through an equivalent resource maybe)."""

    info: ResourceInfo
    object: Obj | None
    old_object: Obj | None


class PolicyAdmission:
    """The ValidatingAdmissionPolicy plugin over the store's policies and bindings."""

    def __init__(self, store: Store, catalog: Catalog, services: Services | None = None) -> None:
        self.store = store
        self.catalog = catalog
        #: the authorizer's checks ask the access reviewer of the server's services (RBAC)
        self.services = services or Services()
        self._compiled: dict[tuple[str, int], CompiledPolicy] = {}
        #: policies and bindings decoded: storage key -> name -> (revision, object)
        self._decoded: dict[str, dict[str, tuple[int, Obj]]] = {}

    def decide(self, user: User, attributes: Obj) -> Obj:
        """A SubjectAccessReview's status for `user` and `attributes`, as the `authorizer` of CEL asks it."""
        if self.services.reviews is None:
            return {"allowed": False, "evaluationError": "no authorizer serves this process"}
        try:
            review = self.services.reviews.review(user, "selfsubjectaccessreviews", {"spec": attributes})
        except errors.StatusError as err:
            return {"allowed": False, "evaluationError": err.message}
        return dict(review.get("status") or {})

    def _objects(self, storage: str) -> list[tuple[int, Obj]]:
        """The current policies or bindings, decoded once per revision of each (every write reads them)."""
        known = self._decoded.get(storage, {})
        current = {}
        for _, name, entry in self.store.items(storage):
            cached = known.get(name)
            current[name] = cached if cached is not None and cached[0] == entry.rv else (
                entry.rv, orjson.loads(entry.raw))
        self._decoded[storage] = current
        return list(current.values())

    def validate(self, attrs: Attributes) -> tuple[str, ...]:
        if (attrs.info.group, attrs.info.plural) in EXCLUDED:
            return ()
        bindings = self._objects(BINDINGS)
        if not bindings:
            return ()
        policies = {obj["metadata"]["name"]: (rv, obj) for rv, obj in self._objects(POLICIES)}
        by_policy: dict[str, list[Obj]] = {}
        for _, binding in sorted(bindings, key=lambda b: b[1]["metadata"]["name"]):
            by_policy.setdefault((binding.get("spec") or {}).get("policyName", ""), []).append(binding)
        current = {(name, rv) for name, (rv, _) in policies.items()}
        self._compiled = {key: value for key, value in self._compiled.items() if key in current}
        warnings: list[str] = []
        denials: list[tuple[str, str]] = []
        for policy_name in sorted(by_policy):
            if policy_name not in policies:
                continue
            rv, policy = policies[policy_name]
            self._dispatch(attrs, rv, policy, by_policy[policy_name], warnings, denials)
        if denials:
            message, reason = denials[0]
            err = errors.forbidden(attrs.info.plural, attrs.name, message, attrs.info.group,
                                   causes=[{"message": message}])
            err.code, err.reason = _CODES.get(reason, 422), reason
            raise err
        return tuple(warnings)

    def _dispatch(self, attrs: Attributes, rv: int, policy: Obj, bindings: list[Obj], warnings: list[str],
                  denials: list[tuple[str, str]]) -> None:
        spec = policy.get("spec") or {}
        name = policy["metadata"]["name"]
        fail = spec.get("failurePolicy", "Fail") != "Ignore"
        try:
            matched = self._matches(attrs, spec.get("matchConstraints") or {})
        except _Misconfigured as problem:
            if fail:
                denials.append((f"ValidatingAdmissionPolicy '{name}' denied request: failed to configure policy: "
                                f"{problem.message}", "Invalid"))
            return
        if matched is None:
            return
        kind = spec.get("paramKind")
        param_info = self._param_info(kind) if kind else None
        if kind and param_info is None:
            if fail:
                denials.append((f"ValidatingAdmissionPolicy '{name}' denied request: failed to configure policy: "
                                f"failed to find resource referenced by paramKind: '{_gvk(kind)}'", "Invalid"))
            return
        compiled = self._compiled.get((name, rv))
        if compiled is None:
            compiled = self._compiled[(name, rv)] = compile_policy(spec)
        for binding in bindings:
            binding_name = binding["metadata"]["name"]
            prefix = f"ValidatingAdmissionPolicy '{name}' with binding '{binding_name}' denied request: "
            bspec = binding.get("spec") or {}
            try:
                if bspec.get("matchResources") is not None and self._matches(attrs, bspec["matchResources"]) is None:
                    continue
                params = self._params(attrs, param_info, bspec.get("paramRef"))
            except _Misconfigured as problem:
                if fail:
                    denials.append((prefix + "failed to configure binding: " + problem.message, "Invalid"))
                continue
            actions = bspec.get("validationActions") or []
            for param in params:
                failed, annotation_errors = self._evaluate(attrs, matched, compiled, param, fail)
                for message, reason in failed:
                    if "Deny" in actions:
                        denials.append((prefix + message, reason))
                    if "Warn" in actions:
                        warnings.append(f"Validation failed for ValidatingAdmissionPolicy '{name}' with binding "
                                        f"'{binding_name}': {message}")
                denials += [(prefix + message, "Invalid") for message in annotation_errors]

    # -- matching -------------------------------------------------------------------------------------------

    def _matches(self, attrs: Attributes, match: Obj) -> _Match | None:
        """Upstream's matching.Matcher: namespace and object selectors, excluded and matched rules; the request
        as the matched (maybe equivalent) resource sees it, or None. A namespace that cannot be read is an
        error only for a request the rules match, as upstream decides."""
        try:
            in_namespace: bool | _Misconfigured = self._namespace_matches(attrs, match.get("namespaceSelector"))
        except _Misconfigured as problem:
            in_namespace = problem
        if in_namespace is False:
            return None
        objects = label_selector(match.get("objectSelector"))
        if objects is not None and not any(
                o is not None and objects.matches((o.get("metadata") or {}).get("labels") or {})
                for o in (attrs.object, attrs.old_object)):
            return None
        exact = match.get("matchPolicy") == "Exact"
        if self._rules_match(attrs, match.get("excludeResourceRules") or [], exact) is not None:
            return None
        matched = (self._rules_match(attrs, match["resourceRules"], exact) if match.get("resourceRules")
                   else _Match(attrs.info, attrs.object, attrs.old_object))
        if matched is not None and isinstance(in_namespace, _Misconfigured):
            raise in_namespace
        return matched

    def _namespace_matches(self, attrs: Attributes, selector: Any) -> bool:
        is_namespace = attrs.info.group == "" and attrs.info.plural == "namespaces"
        if not attrs.namespace and not is_namespace:
            return True
        parsed = label_selector(selector)
        if parsed is None:
            return True
        if is_namespace and not attrs.subresource and attrs.operation in ("CREATE", "UPDATE"):
            labels = ((attrs.object or {}).get("metadata") or {}).get("labels") or {}
        else:
            namespace = self._namespace(attrs.namespace or attrs.name)
            if namespace is None:
                raise _Misconfigured(f'namespaces "{attrs.namespace or attrs.name}" not found')
            labels = namespace["metadata"].get("labels") or {}
        return parsed.matches(labels)

    def _namespace(self, name: str) -> Obj | None:
        entry = self.store.get(NAMESPACES, "", name)
        return None if entry is None else orjson.loads(entry.raw)

    def _rules_match(self, attrs: Attributes, rules: list[Obj], exact: bool) -> _Match | None:
        for rule in rules:
            if rule_matches(rule, attrs, attrs.info):
                return _Match(attrs.info, attrs.object, attrs.old_object)
        if exact:
            return None
        for rule in rules:
            for other in self._equivalents(attrs.info):
                if rule_matches(rule, attrs, other):
                    return _Match(other, convert(attrs.info, other, attrs.object),
                                  convert(attrs.info, other, attrs.old_object))
        return None

    def _equivalents(self, info: ResourceInfo) -> list[ResourceInfo]:
        """The other served resources of the same stored objects (a CRD's versions, both kinds of events)."""
        return [r for r in self.catalog.all() if r.storage == info.storage and r is not info and r.handler is None]

    # -- params ---------------------------------------------------------------------------------------------

    def _param_info(self, kind: Obj) -> ResourceInfo | None:
        """The served resource of a paramKind (None: upstream's RESTMapper knows no such kind)."""
        group, _, version = str(kind.get("apiVersion", "")).rpartition("/")
        return self.catalog.by_kind(group, version, str(kind.get("kind", "")))

    def _params(self, attrs: Attributes, info: ResourceInfo | None, ref: Any) -> list[Obj | None]:
        """generic.CollectParams: the param objects a binding names (one None without paramKind or paramRef)."""
        if info is None or not ref:
            return [None]
        namespace = ""
        if info.namespaced:
            namespace = ref.get("namespace") or attrs.namespace
            if not namespace:
                raise _Misconfigured("cannot use namespaced paramRef in policy binding that matches "
                                     "cluster-scoped resources")
        elif ref.get("namespace"):
            raise _Misconfigured("paramRef.namespace must not be provided for a cluster-scoped `paramKind`")
        if ref.get("name"):
            entry = self.store.get(info.storage, namespace, ref["name"])
            found = [] if entry is None else [_present(info, orjson.loads(entry.raw))]
        else:
            selector = label_selector(ref.get("selector")) or EVERYTHING
            found = [_present(info, orjson.loads(entry.raw)) for ns, _, entry in self.store.items(info.storage)
                     if (not info.namespaced or ns == namespace)]
            found = [o for o in found if selector.matches((o.get("metadata") or {}).get("labels") or {})]
        if not found and ref.get("parameterNotFoundAction") == "Deny":
            raise _Misconfigured("no params found for policy binding with `Deny` parameterNotFoundAction")
        return list(found)

    # -- evaluation -----------------------------------------------------------------------------------------

    def _evaluate(self, attrs: Attributes, matched: _Match, compiled: CompiledPolicy, param: Obj | None,
                  fail: bool) -> tuple[list[tuple[str, str]], list[str]]:
        """One policy, binding and param (validator.Validate): the failed validations, (message, reason) each,
        and under failurePolicy Fail the auditAnnotations that fail to evaluate to a string or null (these deny
        whatever the binding's actions; the values themselves go to an audit log, which kubeshim has not)."""
        activation = self._activation(attrs, matched, param, compiled)
        failures = []
        for condition in compiled.conditions:
            try:
                if run_expression(condition, activation) is False:
                    return [], []
            except cel.EvalError as err:
                failures.append(err.message)
        if failures:  # no condition was false, some failed: the failure policy decides
            return ([(failures[0] if len(failures) == 1 else f"[{', '.join(failures)}]", "Invalid")]
                    if fail else []), []
        out = []
        for validation, program, message_program in compiled.validations:
            try:
                if run_expression(program, activation) is True:
                    continue
            except cel.EvalError as err:
                if fail:
                    out.append((err.message, "Invalid"))
                continue
            out.append((_message(validation, message_program, activation), validation.get("reason") or "Invalid"))
        annotation_errors = []
        for _, source, annotation in compiled.annotations if fail else ():
            try:
                value = run_expression(annotation, activation)
            except cel.EvalError as err:
                annotation_errors.append(err.message)
                continue
            if value is not None and not isinstance(value, str):
                annotation_errors.append(f"valueExpression '{source}' resulted in unsupported return type: "
                                         f"{_cel_type_name(value)}. Return type must be either string or null.")
        return out, annotation_errors

    def _activation(self, attrs: Attributes, matched: _Match, param: Obj | None, compiled: CompiledPolicy) -> Obj:
        namespace = None
        is_namespace = attrs.info.group == "" and attrs.info.plural == "namespaces"
        if attrs.namespace and not is_namespace:
            namespace = self._namespace(attrs.namespace)
        authorizer = authz.Authorizer(self.decide, attrs.user or ANONYMOUS)
        request_resource = authz.ResourceCheck(authorizer, attrs.info.group, attrs.info.plural, attrs.subresource,
                                               attrs.namespace, attrs.name)
        base: Obj = {
            "object": cel.to_cel(matched.object), "oldObject": cel.to_cel(matched.old_object),
            "params": cel.to_cel(param), "request": cel.to_cel(admission_request(attrs, matched.info)),
            "namespaceObject": cel.to_cel(_namespace_object(namespace)),
            "authorizer": authz.Variable(authorizer, request_resource),
        }
        base["variables"] = _Variables(compiled.variables, base)
        return base


def run_expression(program: cel.Program | str, activation: Obj) -> Any:
    """The value of a compiled expression, as plain Python; a compilation error or failed evaluation is an
    EvalError worded as upstream reports it."""
    if isinstance(program, str):
        raise cel.EvalError(f"compilation error: {program}")
    try:
        return cel.from_cel(program.evaluate(activation))
    except cel.EvalError as err:
        raise cel.EvalError(f"expression '{program.source}' resulted in error: {err.message}") from None


def _gvk(kind: Obj) -> str:
    """A paramKind as schema.GroupVersionKind prints itself: `group/version, Kind=K`."""
    group, _, version = str(kind.get("apiVersion", "")).rpartition("/")
    return f"{group}/{version}, Kind={kind.get('kind', '')}"


def _cel_type_name(value: Any) -> str:
    return {bool: "bool", int: "int", float: "double", list: "list", dict: "map"}.get(type(value), "dyn")


def _message(validation: Obj, program: cel.Program | str | None, activation: Obj) -> str:
    """A failed validation's message: its messageExpression's (one line, not blank), else its message, else
    `failed expression: ...` (validator.go)."""
    message = ""
    if program is not None:
        try:
            value = run_expression(program, activation)
        except cel.EvalError:
            value = None
        if isinstance(value, str):
            message = value.strip()
            if len(message) > 5 * 1024 or "\n" in message:
                message = ""
    if not message and validation.get("message"):
        message = str(validation["message"]).strip()
    return message or f"failed expression: {str(validation.get('expression') or '').strip()}"


class _Variables(ct.MapType):
    """`variables`: each evaluated when first read, as upstream's lazy map (a variable that fails is an error
    only for the expressions that read it)."""

    def __init__(self, programs: list[tuple[str, cel.Program | str]], activation: Obj) -> None:
        super().__init__()
        self._programs = dict(programs)
        self._activation = activation

    def __contains__(self, key: object) -> bool:
        return key in self._programs

    def __getitem__(self, key: Any) -> Any:
        if not dict.__contains__(self, key):
            program = self._programs[key]
            if isinstance(program, str):
                return CELEvalError(f'composited variable "{key}" fails to compile: {program}', ValueError, None)
            try:
                dict.__setitem__(self, key, program.evaluate(self._activation))
            except cel.EvalError as err:
                return CELEvalError(f'composited variable "{key}" fails to evaluate: {err.message}', ValueError,
                                    None)
        return dict.__getitem__(self, key)


def label_selector(selector: Any) -> LabelSelector | None:
    """A LabelSelector object parsed; None when it selects everything (absent or empty)."""
    if not isinstance(selector, dict) or (not selector.get("matchLabels") and not selector.get("matchExpressions")):
        return None
    return selector_from_match(selector.get("matchLabels"), selector.get("matchExpressions"))


def rule_matches(rule: Obj, attrs: Attributes, info: ResourceInfo) -> bool:
    """rules.Matcher: scope, operation, group, version, resource/subresource, then resourceNames."""
    scope = rule.get("scope") or "*"
    is_namespace = info.group == "" and info.plural == "namespaces"
    if scope == "Namespaced" and (is_namespace or not attrs.namespace):
        return False
    if scope == "Cluster" and not (is_namespace or not attrs.namespace):
        return False
    operations = rule.get("operations") or []
    if "*" not in operations and attrs.operation not in operations:
        return False
    if not _any(rule.get("apiGroups"), info.group) or not _any(rule.get("apiVersions"), info.version):
        return False
    if not any(_resource_matches(r, info.plural, attrs.subresource) for r in rule.get("resources") or []):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _any(items: Any, value: str) -> bool:
    return any(item in ("*", value) for item in items or [])


def _resource_matches(pattern: str, resource: str, subresource: str) -> bool:
    res, _, sub = pattern.partition("/")
    return res in ("*", resource) and sub in ("*", subresource)


def convert(source: ResourceInfo, target: ResourceInfo, obj: Obj | None) -> Obj | None:
    """An object of `source` as the equivalent resource `target` serves it."""
    if obj is None:
        return None
    stored = source.to_storage(obj) if source.to_storage is not None else obj
    if target.from_storage is not None:
        return target.from_storage(json.loads(json.dumps(stored)))
    return {**stored, "apiVersion": target.api_version}


def _present(info: ResourceInfo, obj: Obj) -> Obj:
    return info.from_storage(obj) if info.from_storage is not None else obj


def admission_request(attrs: Attributes, info: ResourceInfo) -> Obj:
    """The AdmissionRequest of a write, as the matched resource `info` sees it: what CEL sees as `request` and a
    webhook's AdmissionReview carries (fields upstream omits when empty left out)."""
    asked = attrs.info
    user = attrs.user
    user_info: Obj = {}
    if user is not None:
        user_info = {k: v for k, v in {"username": user.name, "uid": user.uid, "groups": list(user.groups),
                                       "extra": {k: list(v) for k, v in user.extra.items()}}.items() if v}
    request: Obj = {
        "kind": {"group": info.group, "version": info.version, "kind": info.kind},
        "resource": {"group": info.group, "version": info.version, "resource": info.plural},
        "requestKind": {"group": asked.group, "version": asked.version, "kind": asked.kind},
        "requestResource": {"group": asked.group, "version": asked.version, "resource": asked.plural},
        "operation": attrs.operation, "userInfo": user_info, "dryRun": attrs.dry_run,
        "options": {"kind": _OPTIONS.get(attrs.operation, ""), "apiVersion": "meta.k8s.io/v1", **attrs.options},
    }
    for key, value in (("subResource", attrs.subresource), ("requestSubResource", attrs.subresource),
                       ("name", attrs.name), ("namespace", attrs.namespace)):
        if value:
            request[key] = value
    return request


def _namespace_object(namespace: Obj | None) -> Obj | None:
    """CreateNamespaceObject: the namespace's spec, status and identifying metadata only."""
    if namespace is None:
        return None
    meta = namespace.get("metadata") or {}
    keep = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
            "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "finalizers")
    return {"metadata": {k: meta[k] for k in keep if k in meta}, "spec": namespace.get("spec") or {},
            "status": namespace.get("status") or {}}
