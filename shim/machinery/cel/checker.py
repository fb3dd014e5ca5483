"""CEL's type checker, after cel-go's (checker/checker.go): every node gets a type from the declared variables
and function overloads; what cannot be typed is an issue in cel-go's words (`undeclared reference to 'x' (in
container '')`, `found no matching overload for '_>_' applied to '(int, string)'`, `undefined field 'x'`).

Simplified from cel-go: no protobuf message types or struct construction, no optional types (`?.`, `[?`), no
abstract types beyond those of shim.machinery.cel.declarations; type parameters are resolved per call, as
cel-go does, but not carried across calls.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from shim.machinery.cel import authorizer, quantity
from shim.machinery.cel import types as t
from shim.machinery.cel.declarations import FUNCTIONS, TYPE_NAMES, Overload
from shim.machinery.cel.syntax import (Call, Comprehension, Const, Expr, Ident, Issue, ListLit, MapLit, Select,
                                       Struct, qualified_name)


#: every function kubeshim declares: the standard library, Kubernetes' libraries, the authorizer's, quantities'
ALL_FUNCTIONS = {**FUNCTIONS, **authorizer.DECLARATIONS, **quantity.DECLARATIONS}


@dataclass
class Env:
    """The declarations an expression is checked against: variables (their types) and functions."""

    variables: dict[str, t.Type] = field(default_factory=dict)
    functions: dict[str, list[Overload]] = field(default_factory=lambda: ALL_FUNCTIONS)


def check(expr: Expr, env: Env) -> tuple[t.Type, list[Issue]]:
    """The type of `expr` and the issues found typing it (none: it is well typed)."""
    checker = _Checker(env)
    result = checker.visit(expr, {})
    return result, checker.issues


Subs = dict[str, t.Type]


def _resolve(subs: Subs, x: t.Type) -> t.Type:
    while x.kind == t.PARAM and x.name in subs:
        x = subs[x.name]
    return x


def substitute(subs: Subs, x: t.Type) -> t.Type:
    """`x` with its bound type parameters replaced (unbound ones become dyn)."""
    x = _resolve(subs, x)
    if x.kind == t.PARAM:
        return t.DYN
    if x.params:
        return t.Type(x.kind, tuple(substitute(subs, p) for p in x.params), x.name, x.fields_of)
    return x


_NULLABLE = ("null_type", "object", "google.protobuf.Duration", "google.protobuf.Timestamp", "optional_type")


def assignable(subs: Subs, want: t.Type, have: t.Type) -> bool:
    """Whether a value of type `have` fits where `want` is expected, binding type parameters in `subs`."""
    want, have = _resolve(subs, want), _resolve(subs, have)
    if want.kind == t.PARAM:
        if not (have.kind == t.PARAM and have.name == want.name):
            subs[want.name] = have
        return True
    if have.kind == t.PARAM:
        subs[have.name] = want
        return True
    if t.is_dyn(want) or t.is_dyn(have):
        return True
    if have.kind == "null_type":
        return want.kind in _NULLABLE
    if want.kind != have.kind:
        return False
    if want.kind == "object":
        return want.name == have.name
    return len(want.params) == len(have.params) and all(
        assignable(subs, w, h) for w, h in zip(want.params, have.params, strict=True))


class _Checker:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.issues: list[Issue] = []

    def error(self, pos: int, message: str) -> t.Type:
        self.issues.append(Issue(pos, message))
        return t.ERROR

    def visit(self, e: Expr, scope: dict[str, t.Type]) -> t.Type:
        if isinstance(e, Const):
            return e.type
        if isinstance(e, Ident):
            return self.ident(e, scope)
        if isinstance(e, Select):
            return self.select(e, scope)
        if isinstance(e, Call):
            return self.call(e, scope)
        if isinstance(e, ListLit):
            return t.list_of(self.join([(i.pos, self.visit(i, scope)) for i in e.items]))
        if isinstance(e, MapLit):
            keys = self.join([(k.pos, self.visit(k, scope)) for k, _ in e.entries])
            values = self.join([(v.pos, self.visit(v, scope)) for _, v in e.entries])
            return t.map_of(keys, values)
        if isinstance(e, Comprehension):
            return self.comprehension(e, scope)
        if isinstance(e, Struct):
            return self.error(e.pos, f"undeclared reference to '{e.type_name}' (in container '')")
        raise AssertionError(f"unknown node {e!r}")

    def join(self, items: list[tuple[int, t.Type]]) -> t.Type:
        """The element type of a literal list or map: all alike (cel-go's homogeneous aggregate literals)."""
        joined: t.Type | None = None
        for pos, item in items:
            if joined is None or t.is_dyn(joined):
                joined = item
            elif not t.is_dyn(item) and not assignable({}, joined, item):
                self.error(pos, f"expected type '{t.format_type(joined)}' but found '{t.format_type(item)}'")
        return t.DYN if joined is None else joined

    def lookup(self, name: str, scope: dict[str, t.Type]) -> t.Type | None:
        if name in scope:
            return scope[name]
        if name in self.env.variables:
            return self.env.variables[name]
        return TYPE_NAMES.get(name)

    def ident(self, e: Ident, scope: dict[str, t.Type]) -> t.Type:
        found = self.lookup(e.name.lstrip("."), scope)
        if found is None:
            return self.error(e.pos, f"undeclared reference to '{e.name}' (in container '')")
        return found

    def select(self, e: Select, scope: dict[str, t.Type]) -> t.Type:
        name = None if e.test_only else qualified_name(e)
        if name is not None and name.split(".")[0] not in scope:
            found = self.env.variables.get(name) or TYPE_NAMES.get(name)
            if found is not None:
                return found
        operand = self.visit(e.operand, scope)
        result = self.field_type(e, operand)
        return t.BOOL if e.test_only and result.kind != "error" else result

    def field_type(self, e: Select, operand: t.Type) -> t.Type:
        if operand.kind == "error":
            return t.ERROR
        if t.is_dyn(operand):
            return t.DYN
        if operand.kind == "object":
            found = operand.field(e.field)
            return found if found is not None else self.error(e.pos, f"undefined field '{e.field}'")
        if operand.kind == "map":
            return operand.params[1]
        return self.error(e.pos, f"type '{t.format_type(operand)}' does not support field selection")

    def call(self, e: Call, scope: dict[str, t.Type]) -> t.Type:
        if e.target is not None:
            name = qualified_name(e.target)
            if name is not None and f"{name}.{e.function}" in self.env.functions and self.lookup(
                    name.split(".")[0], scope) is None:
                return self.resolve(e, f"{name}.{e.function}", [self.visit(a, scope) for a in e.args], False)
        args = ([self.visit(e.target, scope)] if e.target is not None else []) + [self.visit(a, scope)
                                                                                   for a in e.args]
        return self.resolve(e, e.function, args, e.target is not None)

    def resolve(self, e: Call, function: str, args: list[t.Type], member: bool) -> t.Type:
        overloads = self.env.functions.get(function)
        if overloads is None:
            return self.error(e.pos, f"undeclared reference to '{function}' (in container '')")
        if any(a.kind == "error" for a in args):
            return t.ERROR
        result: t.Type | None = None
        for overload in overloads:
            if overload.member != member or len(overload.args) != len(args):
                continue
            subs: Subs = {}
            if all(assignable(subs, want, have) for want, have in zip(overload.args, args, strict=True)):
                found = substitute(subs, overload.result)
                if result is None:
                    result = found
                elif not t.is_dyn(result) and result != found:
                    result = t.DYN
        if result is None:
            rendered = ", ".join(t.format_type(a) for a in (args[1:] if member else args))
            signature = f"{t.format_type(args[0])}.({rendered})" if member else f"({rendered})"
            return self.error(e.pos, f"found no matching overload for '{function}' applied to '{signature}'")
        return result

    def comprehension(self, e: Comprehension, scope: dict[str, t.Type]) -> t.Type:
        range_type = self.visit(e.range, scope)
        if range_type.kind == "list":
            var = range_type.params[0]
        elif range_type.kind == "map":
            var = range_type.params[0]
        elif t.is_dyn(range_type):
            var = t.DYN
        else:
            return self.error(e.pos, f"expression of type '{t.format_type(range_type)}' cannot be range of a "
                                     f"comprehension (must be list, map, or dynamic)")
        inner = {**scope, e.var: var}
        body = [self.visit(b, inner) for b in e.body]
        if any(b.kind == "error" for b in body):
            return t.ERROR
        step = Call(e.pos, "", [])
        if e.macro in ("all", "exists"):
            return self.resolve(step, "_&&_" if e.macro == "all" else "_||_", [t.BOOL, body[0]], False)
        if e.macro == "exists_one":
            self.resolve(step, "_?_:_", [body[0], t.INT, t.INT], False)
            return t.BOOL
        if e.macro == "filter":
            self.resolve(step, "_?_:_", [body[0], t.list_of(var), t.list_of(var)], False)
            return t.list_of(var)
        if len(body) == 2:  # map(x, filter, transform)
            self.resolve(step, "_?_:_", [body[0], t.list_of(body[1]), t.list_of(body[1])], False)
        return t.list_of(body[-1])
