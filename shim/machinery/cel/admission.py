"""The CEL environment of admission policies (k8s.io/apiserver pkg/admission/plugin/cel): the variables `object`,
`oldObject`, `request`, `namespaceObject`, `params`, `authorizer` and `variables`, and the compilation of one
expression with what it must evaluate to, worded as upstream's compiler words its errors."""
from __future__ import annotations

from typing import Any

from shim.machinery import cel
from shim.machinery.cel import authorizer as authz
from shim.machinery.cel import types as t


def _object(name: str, fields: dict[str, t.Type]) -> t.Type:
    return t.object_type(name, fields)


_STRINGS = t.list_of(t.STRING)
_GVK = _object("kubernetes.GroupVersionKind", {"group": t.STRING, "version": t.STRING, "kind": t.STRING})
_GVR = _object("kubernetes.GroupVersionResource", {"group": t.STRING, "version": t.STRING, "resource": t.STRING})
_USER = _object("kubernetes.UserInfo", {"username": t.STRING, "uid": t.STRING, "groups": _STRINGS,
                                        "extra": t.map_of(t.STRING, _STRINGS)})
REQUEST = _object("kubernetes.AdmissionRequest", {
    "kind": _GVK, "resource": _GVR, "subResource": t.STRING, "requestKind": _GVK, "requestResource": _GVR,
    "requestSubResource": t.STRING, "name": t.STRING, "namespace": t.STRING, "operation": t.STRING,
    "userInfo": _USER, "dryRun": t.BOOL, "options": t.DYN})
_CONDITION = _object("kubernetes.NamespaceCondition", {
    "status": t.STRING, "type": t.STRING, "lastTransitionTime": t.TIMESTAMP, "message": t.STRING,
    "reason": t.STRING})
NAMESPACE = _object("kubernetes.Namespace", {
    "metadata": _object("kubernetes.NamespaceMetadata", {
        "name": t.STRING, "generateName": t.STRING, "namespace": t.STRING,
        "labels": t.map_of(t.STRING, t.STRING), "annotations": t.map_of(t.STRING, t.STRING), "UID": t.STRING,
        "creationTimestamp": t.TIMESTAMP, "deletionGracePeriodSeconds": t.INT, "deletionTimestamp": t.TIMESTAMP,
        "generation": t.INT, "resourceVersion": t.STRING, "finalizers": _STRINGS}),
    "spec": _object("kubernetes.NamespaceSpec", {"finalizers": _STRINGS}),
    "status": _object("kubernetes.NamespaceStatus", {"conditions": t.list_of(_CONDITION), "phase": t.STRING})})
VARIABLES = "kubernetes.variables"

#: what each kind of expression must evaluate to (None: anything)
BOOL_RESULT = (t.BOOL,)
STRING_RESULT = (t.STRING,)
AUDIT_RESULT = (t.STRING, t.NULL)


def environment(*, params: bool, authorizer: bool, variables: dict[str, t.Type] | None = None,
                object_type: t.Type = t.DYN, params_type: t.Type = t.DYN) -> cel.Env:
    """An admission expression's declarations: with `params` when the policy has a paramKind, the authorizer
    where upstream offers it, `variables` when the policy composes them (typed as each compiled)."""
    declared = {"object": object_type, "oldObject": object_type, "namespaceObject": NAMESPACE, "request": REQUEST}
    if params:
        declared["params"] = params_type
    if authorizer:
        declared["authorizer"] = authz.AUTHORIZER
        declared["authorizer.requestResource"] = authz.RESOURCE_CHECK
    if variables is not None:
        fields = dict(variables)
        declared["variables"] = t.object_type(VARIABLES, lambda: fields)
    return cel.Env(declared)


def compile_expression(source: str, env: cel.Env, returns: tuple[t.Type, ...] | None) -> cel.Program:
    """Compile one expression as upstream's CompileCELExpression: CompileError's message is its error detail
    (`compilation failed: ERROR: ...`, `must evaluate to bool but got int`)."""
    try:
        program = cel.compile(source, env)
    except cel.CompileError as err:
        raise cel.CompileError("compilation failed: " + err.message) from None
    if returns is not None and program.output not in returns:
        got = t.type_string(program.output)
        if len(returns) == 1:
            raise cel.CompileError(f"must evaluate to {t.type_string(returns[0])} but got {got}")
        wanted = " ".join(t.type_string(r) for r in returns)
        raise cel.CompileError(f"must evaluate to one of [{wanted}] but got {got}")
    return program


def variable_type(program: cel.Program | None) -> t.Type:
    """How a compiled variable is declared to the expressions after it (upstream's convertCelTypeToDeclType:
    scalars, lists and maps as they are, anything else dyn; dyn too when it does not compile)."""
    return t.DYN if program is None else _declared(program.output)


def _declared(x: t.Type) -> t.Type:
    if x.kind in ("list", "map"):
        return t.Type(x.kind, tuple(_declared(p) for p in x.params))
    return t.DYN if x.kind in ("object", "error", "type", "optional_type", t.PARAM) else x


def type_check(spec: dict[str, Any], targets: list[tuple[str, t.Type]], params: t.Type | None) -> list[dict[str, str]]:
    """A policy's status.typeChecking.expressionWarnings (upstream's TypeChecker.Check): each validation's
    expression and messageExpression checked with `object` typed as each matched kind (`targets`: the kind as
    `group/version, Kind=K`, and its type) and `params` as its paramKind's (undeclared when unknown). A warning
    names the kinds it fails for, each with cel-go's issues."""
    warnings = []
    for i, validation in enumerate(spec.get("validations") or []):
        for field in ("expression", "messageExpression"):
            source = validation.get(field)
            if not source:
                continue
            problems = [f"{kind}: {problem}\n" for kind, target in targets
                        if (problem := _type_problem(str(source), spec, target, params)) is not None]
            if problems:
                warnings.append({"fieldRef": f"spec.validations[{i}].{field}", "warning": "\n".join(problems)})
    return warnings


def _type_problem(source: str, spec: dict[str, Any], target: t.Type, params: t.Type | None) -> str | None:
    declared: dict[str, t.Type] = {}
    for variable in spec.get("variables") or []:
        env = environment(params=params is not None, authorizer=True, variables=declared, object_type=target,
                          params_type=params or t.DYN)
        try:
            program: cel.Program | None = cel.compile(str(variable.get("expression") or ""), env)
        except cel.CompileError:
            program = None
        declared[str(variable.get("name") or "")] = variable_type(program)
    env = environment(params=params is not None, authorizer=True, variables=declared, object_type=target,
                      params_type=params or t.DYN)
    try:
        cel.compile(source, env)
    except cel.CompileError as err:
        return err.message
    return None
