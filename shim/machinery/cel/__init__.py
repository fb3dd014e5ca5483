"""CEL, the Common Expression Language, as Kubernetes compiles and evaluates it: parsed and evaluated by
cel-python (`celpy`), type-checked by shim.machinery.cel.checker so that a bad expression is refused in cel-go's
words (`ERROR: <input>:1:22: found no matching overload for '_>_' applied to '(int, string)'` plus the source
line and a caret).

Simplified from cel-go, beyond what the checker's docstring says: no cost estimation or budget; no optional
types; of Kubernetes' libraries only the strings, lists and regex functions of shim.machinery.cel.declarations,
the authorizer and quantities (shim.machinery.cel.authorizer, .quantity), no IP, CIDR, URL, semver, format or
sets functions; the `min()` of lists is cel-python's macro of that name, so it is left undeclared; runtime
errors are cel-python's, with the common ones reworded as cel-go words them (`no such key: x`, `division by
zero`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy import celtypes as ct
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from shim.machinery.cel import types
from shim.machinery.cel.checker import Env, check
from shim.machinery.cel.functions import FUNCTIONS
from shim.machinery.cel.syntax import Issue, SyntaxProblem, Tree, parse

__all__ = ["CompileError", "Env", "EvalError", "Program", "compile", "to_cel", "from_cel", "types"]

_ENVIRONMENT = celpy.Environment()


class CompileError(Exception):
    """An expression that does not compile; `message` is cel-go's Issues.String()."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EvalError(Exception):
    """An evaluation that failed; `message` in cel-go's words where they are known."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Program:
    source: str
    tree: Tree
    #: the type the checker gave the expression
    output: types.Type
    runner: celpy.Runner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.runner = _ENVIRONMENT.program(self.tree, functions=FUNCTIONS)

    def evaluate(self, activation: dict[str, Any]) -> Any:
        """The value of the expression for `activation` (variables as cel-python values, see to_cel); raises
        EvalError."""
        try:
            result = self.runner.evaluate(activation)
        except CELEvalError as exc:
            raise EvalError(_reworded(exc)) from None
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError, RecursionError) as exc:
            raise EvalError(str(exc) or type(exc).__name__) from None
        if isinstance(result, CELEvalError):
            raise EvalError(_reworded(result))
        return result


def compile(source: str, env: Env) -> Program:
    """Parse and type-check `source` against `env`; CompileError when either fails."""
    try:
        tree, expr = parse(source)
    except SyntaxProblem as problem:
        raise CompileError(format_issues(source, problem.issues)) from None
    output, issues = check(expr, env)
    if issues:
        raise CompileError(format_issues(source, issues))
    return Program(source, tree, output)


def format_issues(source: str, issues: list[Issue]) -> str:
    """cel-go's common.Errors.ToDisplayString: each issue with its line and column, the source line and a caret."""
    out = []
    lines = source.split("\n")
    for issue in sorted(issues, key=lambda i: i.pos):
        line = source.count("\n", 0, issue.pos)
        column = issue.pos - (source.rfind("\n", 0, issue.pos) + 1)
        text = f"ERROR: <input>:{line + 1}:{column + 1}: {issue.message}"
        snippet = lines[line] if line < len(lines) else ""
        text += "\n | " + snippet.replace("\t", " ") + "\n | " + "." * min(column, len(snippet)) + "^"
        out.append(text)
    return "\n".join(out)


def _reworded(exc: CELEvalError) -> str:
    message = str(exc.args[0]) if exc.args else "error"
    kind = exc.args[1] if len(exc.args) > 1 else None
    if message.startswith("no such member in mapping: "):
        return "no such key: " + message.removeprefix("no such member in mapping: ").strip("'")
    if kind is ZeroDivisionError:
        return "division by zero"
    if message.startswith("found no matching overload") or message.startswith("no such overload"):
        return "no such overload"
    return message


def to_cel(value: Any) -> Any:
    """A JSON value (an object as the API serves it) as cel-python's values."""
    return json_to_cel(value)


def from_cel(value: Any) -> Any:
    """A cel-python value as plain Python (for messages and audit annotations)."""
    if isinstance(value, ct.BoolType):
        return bool(value)
    if isinstance(value, (ct.IntType, ct.UintType)):
        return int(value)
    if isinstance(value, ct.DoubleType):
        return float(value)
    if isinstance(value, ct.StringType):
        return str(value)
    if isinstance(value, ct.ListType):
        return [from_cel(v) for v in value]
    if isinstance(value, ct.MapType):
        return {from_cel(k): from_cel(v) for k, v in value.items()}
    return value
