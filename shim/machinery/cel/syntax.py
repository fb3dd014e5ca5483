"""CEL source to a small AST, through cel-python's parser (its Lark grammar), with each node at the offset cel-go
reports it at: an operator's token, a call's `(`, a selection's `.`, an index's `[`. Macros (has, all, exists,
exists_one, map, filter) are recognized here, as cel-go's parser expands them."""
from __future__ import annotations

from dataclasses import dataclass, field

import lark
from celpy.celparser import CELParser
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from shim.machinery.cel import types as t

Tree = lark.Tree[lark.Token]


@dataclass
class Expr:
    #: 0-based offset in the source where cel-go locates this node
    pos: int


@dataclass
class Const(Expr):
    type: t.Type


@dataclass
class Ident(Expr):
    name: str


@dataclass
class Select(Expr):
    operand: Expr
    field: str
    #: has(operand.field)
    test_only: bool = False


@dataclass
class Call(Expr):
    function: str
    args: list[Expr]
    target: Expr | None = None


@dataclass
class ListLit(Expr):
    items: list[Expr]


@dataclass
class MapLit(Expr):
    entries: list[tuple[Expr, Expr]]


@dataclass
class Struct(Expr):
    type_name: str
    fields: list[tuple[str, Expr]]


@dataclass
class Comprehension(Expr):
    """A macro over a list or map: all, exists, exists_one, map (with an optional filter), filter."""

    macro: str
    range: Expr
    var: str
    body: list[Expr] = field(default_factory=list)


@dataclass
class Issue:
    pos: int
    message: str


class SyntaxProblem(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues[0].message)
        self.issues = issues


_OPERATORS = {
    "relation_lt": ("_<_", "<"), "relation_le": ("_<=_", "<="), "relation_gt": ("_>_", ">"),
    "relation_ge": ("_>=_", ">="), "relation_eq": ("_==_", "=="), "relation_ne": ("_!=_", "!="),
    "relation_in": ("@in", "in"), "addition_add": ("_+_", "+"), "addition_sub": ("_-_", "-"),
    "multiplication_mul": ("_*_", "*"), "multiplication_div": ("_/_", "/"), "multiplication_mod": ("_%_", "%"),
}
_LITERALS = {"INT_LIT": t.INT, "UINT_LIT": t.UINT, "FLOAT_LIT": t.DOUBLE, "STRING_LIT": t.STRING,
             "MLSTRING_LIT": t.STRING, "BYTES_LIT": t.BYTES, "BOOL_LIT": t.BOOL, "NULL_LIT": t.NULL}
_COMPREHENSIONS = {"all": 2, "exists": 2, "exists_one": 2, "filter": 2}
#: what cel-go's grammar expects where an operand is missing
_OPERAND = ("{'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, "
            "IDENTIFIER}")


def parser() -> lark.Lark:
    """cel-python's CEL grammar, loaded once."""
    if CELParser.CEL_PARSER is None:
        CELParser()
    assert CELParser.CEL_PARSER is not None
    return CELParser.CEL_PARSER


def parse(source: str) -> tuple[Tree, Expr]:
    """The Lark tree (what cel-python evaluates) and the AST (what the checker reads); SyntaxProblem when the
    source is not CEL."""
    try:
        tree = parser().parse(source)
    except UnexpectedInput as exc:
        raise SyntaxProblem([_syntax_issue(source, exc)]) from None
    return tree, _Builder(source).build(tree)


def _syntax_issue(source: str, exc: UnexpectedInput) -> Issue:
    """cel-go's ANTLR wording for the common cases: an operand missing at the end, a character no token starts
    with, a token where another was expected."""
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        return Issue(len(source), f"Syntax error: mismatched input '<EOF>' expecting {_OPERAND}")
    pos = getattr(exc, "pos_in_stream", None) or 0
    if isinstance(exc, UnexpectedCharacters):
        return Issue(pos, f"Syntax error: token recognition error at: '{source[pos:pos + 1]}'")
    token = exc.token if isinstance(exc, UnexpectedToken) else None
    text = str(token) if token is not None else source[pos:pos + 1]
    if token is not None and token.start_pos is not None:
        pos = token.start_pos
    return Issue(pos, f"Syntax error: mismatched input '{text}' expecting {_OPERAND}")


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source

    def find(self, text: str, start: int) -> int:
        """Where `text` occurs at or after `start`: an operator token between two operands."""
        found = self.source.find(text, start)
        return found if found >= 0 else start

    def build(self, node: Tree) -> Expr:
        method = getattr(self, "_" + str(node.data))
        result: Expr = method(node)
        return result

    def _single(self, node: Tree) -> Expr:
        child = node.children[0]
        assert isinstance(child, lark.Tree)
        return self.build(child)

    def _expr(self, node: Tree) -> Expr:
        if len(node.children) == 1:
            return self._single(node)
        children = [c for c in node.children if isinstance(c, lark.Tree)]
        cond, then, other = (self.build(c) for c in children)
        return Call(self.find("?", children[0].meta.end_pos), "_?_:_", [cond, then, other])

    def _logical(self, node: Tree, function: str, text: str) -> Expr:
        if len(node.children) == 1:
            return self._single(node)
        left, right = node.children
        assert isinstance(left, lark.Tree) and isinstance(right, lark.Tree)
        return Call(self.find(text, left.meta.end_pos), function, [self.build(left), self.build(right)])

    def _conditionalor(self, node: Tree) -> Expr:
        return self._logical(node, "_||_", "||")

    def _conditionaland(self, node: Tree) -> Expr:
        return self._logical(node, "_&&_", "&&")

    def _binary(self, node: Tree) -> Expr:
        if len(node.children) == 1:
            return self._single(node)
        op_node, right = node.children
        assert isinstance(op_node, lark.Tree) and isinstance(right, lark.Tree)
        function, text = _OPERATORS[str(op_node.data)]
        left = op_node.children[0]
        assert isinstance(left, lark.Tree)
        return Call(op_node.meta.end_pos - len(text), function, [self.build(left), self.build(right)])

    _relation = _addition = _multiplication = _binary

    def _unary(self, node: Tree) -> Expr:
        if len(node.children) == 1:
            return self._single(node)
        op, operand = node.children
        assert isinstance(op, lark.Tree) and isinstance(operand, lark.Tree)
        return Call(node.meta.start_pos, "!_" if op.data == "unary_not" else "-_", [self.build(operand)])

    _member = _primary = _single

    def _paren_expr(self, node: Tree) -> Expr:
        return self._single(node)

    def _member_dot(self, node: Tree) -> Expr:
        operand, name = node.children
        assert isinstance(operand, lark.Tree) and isinstance(name, lark.Token)
        return Select(self.find(".", operand.meta.end_pos), self.build(operand), str(name))

    def _args(self, node: Tree, first: int) -> list[Expr]:
        if len(node.children) <= first:
            return []
        exprlist = node.children[first]
        assert isinstance(exprlist, lark.Tree)
        return [self.build(c) for c in exprlist.children if isinstance(c, lark.Tree)]

    def _member_dot_arg(self, node: Tree) -> Expr:
        operand, name = node.children[:2]
        assert isinstance(operand, lark.Tree) and isinstance(name, lark.Token)
        args = self._args(node, 2)
        target = self.build(operand)
        pos = self.find("(", name.end_pos or 0)
        if str(name) in _COMPREHENSIONS and len(args) == 2 or str(name) == "map" and len(args) in (2, 3):
            return self._comprehension(pos, str(name), target, args)
        return Call(pos, str(name), args, target)

    def _comprehension(self, pos: int, macro: str, target: Expr, args: list[Expr]) -> Expr:
        var = args[0]
        if not isinstance(var, Ident):
            raise SyntaxProblem([Issue(var.pos, "argument must be a simple name")])
        return Comprehension(pos, macro, target, var.name, args[1:])

    def _member_index(self, node: Tree) -> Expr:
        operand, index = node.children
        assert isinstance(operand, lark.Tree) and isinstance(index, lark.Tree)
        return Call(self.find("[", operand.meta.end_pos), "_[_]", [self.build(operand), self.build(index)])

    def _member_object(self, node: Tree) -> Expr:
        operand = node.children[0]
        assert isinstance(operand, lark.Tree)
        name = qualified_name(self.build(operand))
        fields: list[tuple[str, Expr]] = []
        if len(node.children) > 1:
            inits = node.children[1]
            assert isinstance(inits, lark.Tree)
            items = inits.children
            for key, value in zip(items[::2], items[1::2], strict=True):
                assert isinstance(value, lark.Tree)
                fields.append((str(key), self.build(value)))
        return Struct(self.find("{", operand.meta.end_pos), name or "", fields)

    def _ident(self, node: Tree) -> Expr:
        token = node.children[0]
        assert isinstance(token, lark.Token)
        return Ident(token.start_pos or 0, str(token))

    def _dot_ident(self, node: Tree) -> Expr:
        return self._ident(node)

    def _ident_arg(self, node: Tree) -> Expr:
        name = node.children[0]
        assert isinstance(name, lark.Token)
        args = self._args(node, 1)
        pos = self.find("(", name.end_pos or 0)
        if str(name) == "has" and len(args) == 1:
            arg = args[0]
            if not isinstance(arg, Select):
                raise SyntaxProblem([Issue(arg.pos, "invalid argument to has() macro")])
            return Select(arg.pos, arg.operand, arg.field, test_only=True)
        return Call(pos, str(name), args)

    _dot_ident_arg = _ident_arg

    def _list_lit(self, node: Tree) -> Expr:
        return ListLit(node.meta.start_pos, self._args(node, 0))

    def _map_lit(self, node: Tree) -> Expr:
        entries: list[tuple[Expr, Expr]] = []
        if node.children:
            inits = node.children[0]
            assert isinstance(inits, lark.Tree)
            items = [self.build(c) for c in inits.children if isinstance(c, lark.Tree)]
            entries = list(zip(items[::2], items[1::2], strict=True))
        return MapLit(node.meta.start_pos, entries)

    def _literal(self, node: Tree) -> Expr:
        token = node.children[0]
        assert isinstance(token, lark.Token)
        return Const(token.start_pos or 0, _LITERALS[token.type])


def qualified_name(expr: Expr) -> str | None:
    """`a.b.c` as a dotted name when it is only identifiers and selections (a qualified identifier)."""
    if isinstance(expr, Ident):
        return expr.name
    if isinstance(expr, Select) and not expr.test_only:
        base = qualified_name(expr.operand)
        return None if base is None else f"{base}.{expr.field}"
    return None

