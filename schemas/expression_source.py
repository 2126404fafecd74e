"""Expression trees compiled to one Python function each, for the hot path.

Every submission runs its form's skip rules and constraints, so their cost is
paid tens of thousands of times a second on a busy server. The closures of
`schemas.evaluation` call one Python function per node and per conversion;
here the same tree becomes the source of one function, where a reference is a
dict lookup written out, a comparison with a literal is one `==` when the
answer is text, and the conversions are called only where a value's type
needs them. On a household visit that halves the time spent in expressions.

The meaning is exactly that of the closures (same conversions, same operator
functions, same short-circuits; tests compare the two on random expressions
and answers). Nothing the form author wrote becomes source text: every literal,
pattern and reader enters the function as a bound name, and the source is made
only of names chosen here and Python operators. A tree too deep for Python's
own compiler (a chain of hundreds of `div`) gets `None`, and the caller keeps
the closures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas import evaluation as ev
from schemas.expressions import And, Boolean, Call, Chain, Current, Negate, Number, Or, Ref, String

_INFIX = {"+": "+", "-": "-", "*": "*", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_DIVISION = {"div": ev._divide, "mod": ev._modulo}
_BASE = {
    "to_value": ev.to_value,
    "to_number": ev.to_number,
    "to_string": ev.to_string,
    "to_bool": ev.to_bool,
    "equals": ev.equals,
    "_str": str,
    "_float": float,
    "_list": list,
}


def to_function(tree: object, resolver: ev.Resolver, *, boolean: bool) -> ev.Evaluator | None:
    """The tree as one compiled function of the environment, or None if Python can't compile it.

    Raises ExpressionError (unknown names, wrong arity) exactly as the closure
    compiler does, since both ask the same resolver.
    """
    writer = _Writer(resolver)
    body = writer.boolean(tree) if boolean else writer.value(tree)
    source = f"def evaluate(env):\n    return {body}\n"
    namespace = dict(_BASE, **writer.bound)
    try:
        code = compile(source, "<expression>", "exec")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return None  # nested deeper than Python's parser allows
    exec(code, namespace)
    return namespace["evaluate"]


class _Writer:
    def __init__(self, resolver: ev.Resolver) -> None:
        self.resolver = resolver
        self.bound: dict[str, Any] = {}
        self.temps = 0

    def bind(self, value: Any) -> str:
        name = f"k{len(self.bound)}"
        self.bound[name] = value
        return name

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def read(self, reader: Callable[[Any], Any]) -> str:
        """Source that reads a raw answer: written out when the reader says how."""
        frame_key = getattr(reader, "frame_key", None)
        if frame_key is not None:
            depth, key = frame_key
            return f"env.frames[{depth}].get({self.bind(key)})"
        if getattr(reader, "reads_current", False):
            return "env.current"
        return f"{self.bind(reader)}(env)"

    def answer(self, reader: Callable[[Any], Any]) -> str:
        # to_value(), with its commonest case (a text answer: itself) written out.
        t = self.temp()
        return f"({t} if type({t} := {self.read(reader)}) is _str else to_value({t}))"

    def number(self, node: object) -> str:
        if isinstance(node, Number):
            return self.bind(node.value)  # already a float
        t = self.temp()
        return f"({t} if type({t} := {self.value(node)}) is _float else to_number({t}))"

    def boolean(self, node: object) -> str:
        if ev._always_boolean(node):
            return self.value(node)
        return f"to_bool({self.value(node)})"

    def value(self, node: object) -> str:
        if isinstance(node, Number | String | Boolean):
            return self.bind(node.value)
        if isinstance(node, Ref):
            return self.answer(self.resolver.value(node.name, node.pos))
        if isinstance(node, Current):
            return self.answer(self.resolver.current(node.pos))
        if isinstance(node, Negate):
            return f"(-{self.number(node.operand)})"
        if isinstance(node, And | Or):
            joiner = " and " if isinstance(node, And) else " or "
            return "(" + joiner.join(self.boolean(item) for item in node.items) + ")"
        if isinstance(node, Chain):
            return self.chain(node)
        if isinstance(node, Call):
            return self.call(node)
        raise ev.ExpressionError(f"cannot compile {type(node).__name__}", getattr(node, "pos", 0))

    def chain(self, node: Chain) -> str:
        kind = node.rest[0][0]
        if kind in ev._ARITHMETIC:
            out = self.number(node.first)
            for op, operand in node.rest:
                right = self.number(operand)
                if op in _DIVISION:
                    out = f"{self.bind(_DIVISION[op])}({out}, {right})"
                else:
                    out = f"({out} {_INFIX[op]} {right})"
            return out
        if kind in ev._RELATIONS:
            # A relation's result (a bool) is itself read as a number by the next one.
            out = self.number(node.first)
            for i, (op, operand) in enumerate(node.rest):
                left = out if i == 0 else f"to_number({out})"
                out = f"({left} {_INFIX[op]} {self.number(operand)})"
            return out
        out = self.value(node.first)
        for op, operand in node.rest:
            if isinstance(operand, String) and len(node.rest) == 1:
                # `${x} = 'yes'`, the usual skip rule: plain == when the answer is text.
                t, literal = self.temp(), self.bind(operand.value)
                same = f"({t} == {literal} if type({t} := {out}) is _str else equals({t}, {literal}))"
            else:
                same = f"equals({out}, {self.value(operand)})"
            out = same if op == "=" else f"(not {same})"
        return out

    def call(self, node: Call) -> str:
        implementation = ev.function_of(node)  # refuses what the closures refuse, in their words
        if implementation is not None:
            args = ", ".join(self.value(arg) for arg in node.args)
            return f"{self.bind(implementation)}({args})"
        if node.name == "if":
            condition, then, otherwise = (self.value(arg) for arg in node.args)
            return f"({then} if to_bool({condition}) else {otherwise})"
        if node.name == "regex":
            compiled = self.bind(ev.regex_pattern(node))
            return f"({compiled}.search(to_string({self.value(node.args[0])})) is not None)"
        target = ev.count_target(node)
        t = self.temp()
        entries = self.read(self.resolver.repeat(target.name, target.pos))
        return f"(_float(len({t})) if type({t} := {entries}) is _list else 0.0)"
