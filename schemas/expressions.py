"""Tokenizer and parser of the form expression language.

Form authors write skip logic (`relevant`) and rules (`constraint`) in a small
subset of the XPath dialect that XLSForm uses, so that XLSForm expressions import
unchanged.  Expressions come from admins and from uploaded spreadsheets, so the
parser treats them as hostile: it is a hand-written recursive-descent parser with
hard limits on length, nesting and literal size, and every failure is an
`ExpressionError` that says what is wrong and where.  The author's text is never
`eval`ed: `schemas.evaluation` and `schemas.expression_source` compile the
tree this module builds, with literals as values, not as source.

Grammar, loosest binding first::

    expr     := and ("or" and)*
    and      := equality ("and" equality)*
    equality := relation (("=" | "!=") relation)*
    relation := sum (("<" | "<=" | ">" | ">=") sum)*
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "div" | "mod") unary)*
    unary    := "-" unary | primary
    primary  := NUMBER | STRING | "${" NAME "}" | "." | "true" | "false"
              | FUNCTION "(" [expr ("," expr)*] ")" | "(" expr ")"

Chains of one operator level become one n-ary node rather than a left-leaning
tree, so `1+1+1+...` of any length is evaluated by a loop, not by recursion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_NUMBER_LENGTH = 32

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_-]*"
_NAME = re.compile(NAME_PATTERN)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_SPACE = re.compile(r"\s+")
_WORD_OPERATORS = frozenset({"and", "or", "div", "mod"})
_SYMBOLS = ("!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "(", ")", ",")
_HINTS = {
    "==": "use = to compare",
    "&&": "use and",
    "||": "use or",
    "!": "use != or not(...)",
    "/": "use div to divide; paths such as /data/x are not supported, write ${x}",
    "[": "predicates and paths are not supported",
    "@": "attributes are not supported",
    "|": "node-set unions are not supported",
    "..": "parent paths are not supported, write ${name}",
}


class ExpressionError(ValueError):
    """An expression that cannot be parsed or compiled, with where it went wrong.

    `position` is the 0-based character offset in the expression text; the
    message shows it 1-based ("col 7") for people reading it in a spreadsheet.
    """

    def __init__(self, message: str, position: int = 0) -> None:
        self.reason = message
        self.position = position
        super().__init__(f"{message} (col {position + 1})")


# --- syntax tree -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    pos: int


@dataclass(frozen=True, slots=True)
class String:
    value: str
    pos: int


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool
    pos: int


@dataclass(frozen=True, slots=True)
class Ref:
    """`${name}`: the value of another question."""

    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class Current:
    """`.`: the value of the question whose constraint is being checked."""

    pos: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple
    pos: int


@dataclass(frozen=True, slots=True)
class Negate:
    operand: object
    pos: int


@dataclass(frozen=True, slots=True)
class Chain:
    """`first op1 x1 op2 x2 ...` for one level of binary operators."""

    first: object
    rest: tuple  # ((operator, node), ...)
    pos: int


@dataclass(frozen=True, slots=True)
class And:
    items: tuple
    pos: int


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple
    pos: int


# --- tokens -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "str", "ref", "dot", "name", "op", "end"
    value: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens, refusing anything the grammar lacks."""
    if not isinstance(text, str):
        raise ExpressionError("an expression must be a string", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}", MAX_LENGTH
        )
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i = _SPACE.match(text, i).end()
            continue
        if c in "'\"":
            end = text.find(c, i + 1)
            if end < 0:
                raise ExpressionError(f"unterminated string: no closing {c}", i)
            tokens.append(Token("str", text[i + 1 : end], i))
            i = end + 1
            continue
        if c == "$":
            i = _reference(text, i, tokens)
            continue
        number = _NUMBER.match(text, i)
        if number:
            literal = number.group()
            if len(literal) > MAX_NUMBER_LENGTH:
                raise ExpressionError(
                    f"number literal is {len(literal)} characters long; "
                    f"the limit is {MAX_NUMBER_LENGTH}",
                    i,
                )
            tokens.append(Token("num", literal, i))
            i = number.end()
            continue
        if c == ".":
            if text.startswith("..", i):
                raise ExpressionError("'..': " + _HINTS[".."], i)
            tokens.append(Token("dot", ".", i))
            i += 1
            continue
        name = _NAME.match(text, i)
        if name:
            word = name.group()
            tokens.append(Token("op" if word in _WORD_OPERATORS else "name", word, i))
            i = name.end()
            continue
        for hint in ("==", "&&", "||", ".."):
            if text.startswith(hint, i):
                raise ExpressionError(f"'{hint}' is not allowed: {_HINTS[hint]}", i)
        symbol = next((s for s in _SYMBOLS if text.startswith(s, i)), None)
        if symbol is None:
            hint = _HINTS.get(c)
            reason = f"unexpected character {c!r}" + (f": {hint}" if hint else "")
            raise ExpressionError(reason, i)
        tokens.append(Token("op", symbol, i))
        i += len(symbol)
    tokens.append(Token("end", "", n))
    return tokens


def _reference(text: str, i: int, tokens: list[Token]) -> int:
    if not text.startswith("${", i):
        raise ExpressionError("'$' must start a reference such as ${age}", i)
    close = text.find("}", i + 2)
    if close < 0:
        raise ExpressionError("unterminated reference: no closing '}'", i)
    name = text[i + 2 : close].strip()
    if not _NAME.fullmatch(name):
        raise ExpressionError(f"'{name}' is not a question name", i)
    tokens.append(Token("ref", name, i))
    return close + 1


# --- parser -----------------------------------------------------------------------

# Binding strength of binary operators, loosest first.
_LEVEL = {
    "or": 0,
    "and": 1,
    "=": 2,
    "!=": 2,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "div": 5,
    "mod": 5,
}


def _combine(level: int, first: object, rest: list) -> object:
    pos = first.pos
    if level == 0:
        return Or((first, *(operand for _, operand in rest)), pos)
    if level == 1:
        return And((first, *(operand for _, operand in rest)), pos)
    return Chain(first, tuple(rest), pos)


def parse(text: str) -> object:
    """Parse `text` into a syntax tree; raise ExpressionError if it is not one."""
    parser = _Parser(tokenize(text))
    if parser.peek().kind == "end":
        raise ExpressionError("the expression is empty", 0)
    try:
        tree = parser.expression(0)
    except RecursionError:
        # Only reachable when the caller's own stack is nearly full.
        raise ExpressionError("nested too deeply to read here", parser.peek().pos) from None
    token = parser.peek()
    if token.kind != "end":
        raise ExpressionError(f"unexpected {_describe(token)}", token.pos)
    return tree


def references(tree: object) -> set[str]:
    """Names of the questions an expression reads, for dependency checks."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Ref):
            found.add(node.name)
        elif isinstance(node, Call):
            stack.extend(node.args)
        elif isinstance(node, Negate):
            stack.append(node.operand)
        elif isinstance(node, Chain):
            stack.append(node.first)
            stack.extend(operand for _, operand in node.rest)
        elif isinstance(node, And | Or):
            stack.extend(node.items)
    return found


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "end of expression"
    if token.kind == "str":
        return f"string '{token.value}'"
    if token.kind == "ref":
        return "${" + token.value + "}"
    return f"'{token.value}'"


class _Parser:
    __slots__ = ("tokens", "index")

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, symbol: str) -> Token:
        token = self.take()
        if token.kind != "op" or token.value != symbol:
            raise ExpressionError(f"expected '{symbol}' but found {_describe(token)}", token.pos)
        return token

    def expression(self, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} levels deep", self.peek().pos)
        return self.binary(self.unary(depth), depth, 0)

    def level(self) -> int | None:
        token = self.tokens[self.index]
        return _LEVEL.get(token.value) if token.kind == "op" else None

    def binary(self, left: object, depth: int, lowest: int) -> object:
        """Precedence climbing: one loop per operator level present, not per level.

        Recursion here is bounded by the number of levels, so each nesting
        level of the input costs a few stack frames, not one per grammar rule.
        """
        while True:
            level = self.level()
            if level is None or level < lowest:
                return left
            rest = []
            while self.level() == level:
                operator = self.take().value
                right = self.unary(depth)
                following = self.level()
                if following is not None and following > level:
                    right = self.binary(right, depth, level + 1)
                rest.append((operator, right))
            left = _combine(level, left, rest)

    def unary(self, depth: int) -> object:
        token = self.peek()
        if token.kind == "op" and token.value == "-":
            self.take()
            if depth + 1 > MAX_DEPTH:
                raise ExpressionError(f"nested more than {MAX_DEPTH} levels deep", token.pos)
            return Negate(self.unary(depth + 1), token.pos)
        return self.primary(depth)

    def primary(self, depth: int) -> object:
        token = self.take()
        if token.kind == "num":
            return Number(float(token.value), token.pos)
        if token.kind == "str":
            return String(token.value, token.pos)
        if token.kind == "ref":
            return Ref(token.value, token.pos)
        if token.kind == "dot":
            return Current(token.pos)
        if token.kind == "op" and token.value == "(":
            inner = self.expression(depth + 1)
            self.expect(")")
            return inner
        if token.kind == "name":
            if self.peek().kind == "op" and self.peek().value == "(":
                return self.call(token, depth)
            if token.value in ("true", "false"):
                return Boolean(token.value == "true", token.pos)
            raise ExpressionError(
                f"unknown name '{token.value}': refer to a question as ${{{token.value}}}",
                token.pos,
            )
        raise ExpressionError(f"expected a value but found {_describe(token)}", token.pos)

    def call(self, name: Token, depth: int) -> Call:
        self.expect("(")
        args = []
        if not (self.peek().kind == "op" and self.peek().value == ")"):
            args.append(self.expression(depth + 1))
            while self.peek().kind == "op" and self.peek().value == ",":
                self.take()
                args.append(self.expression(depth + 1))
        self.expect(")")
        return Call(name.value, tuple(args), name.pos)
