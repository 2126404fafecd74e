"""Meaning of the expression language: values, operators, functions.

A parsed expression is compiled once, by walking its tree, into nested Python
closures; validating a submission then calls the closures, which is several times
faster than re-walking the tree for every document and never runs the author's
text. `schemas.expression_source` goes one step further for the hot path: the
same tree as the source of one function, with the closures kept as the
reference it is tested against and as the fallback.

Values follow XPath 1.0 as ODK Collect and Enketo apply it, so that an XLSForm
behaves the same here as on a device:

- a value is a string, a number (float) or a boolean; an unanswered question is
  the empty string `''`; a select_multiple answer is its choice names joined by
  spaces; a geopoint is "lat lon alt accuracy";
- `=`/`!=` compare as booleans if either side is one, else as numbers if either
  side is one, else as strings; `<`, `<=`, `>`, `>=` always compare numbers;
- a string that is not a number is NaN, and NaN compares false (so
  `${age} > 5` is false while age is unanswered), except with `!=`;
- a date string (YYYY-MM-DD, optionally with a time) used as a number is its
  count of days since 1970-01-01, so `${visit} - ${birth}` is an age in days and
  `${birth} <= today()` compares dates;
- `1 div 0` is Infinity and `0 div 0` is NaN: evaluation never raises.
"""

from __future__ import annotations

import functools
import math
import operator
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from schemas.expressions import (
    And,
    Boolean,
    Call,
    Chain,
    Current,
    ExpressionError,
    Negate,
    Number,
    Or,
    Ref,
    String,
    parse,
)

Evaluator = Callable[[Any], Any]
NAN = float("nan")

_NUMERIC = re.compile(r"\s*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*")
_DATE_LIKE = re.compile(r"\s*([0-9]{4}-[0-9]{2}-[0-9]{2})(T[0-9:.]+(?:Z|[+-][0-9:]+)?)?\s*")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_GEO_KEYS = ("lat", "lon", "alt", "accuracy")


# --- conversions ----------------------------------------------------------------


def to_value(raw: Any) -> Any:
    """The expression value of a JSON answer, whatever its shape."""
    kind = type(raw)
    if kind is str or kind is bool:
        return raw
    if raw is None:
        return ""
    if kind is int or kind is float:
        try:
            return float(raw)
        except OverflowError:
            return math.inf if raw > 0 else -math.inf
    if kind is list:
        return " ".join(item for item in raw if type(item) is str)
    if kind is dict:
        parts = [raw.get(key) for key in _GEO_KEYS]
        return " ".join(to_string(to_value(p)) for p in parts if _is_number(p))
    return ""


def _is_number(raw: Any) -> bool:
    return type(raw) is int or type(raw) is float


def to_number(value: Any) -> float:
    """XPath number(): numbers as they are, dates as days since 1970, else NaN."""
    kind = type(value)
    if kind is float:
        return value
    if kind is bool:
        return 1.0 if value else 0.0
    if kind is str:
        return _short_text_number(value) if len(value) <= 32 else _text_number(value)
    return to_number(to_value(value))


def _text_number(text: str) -> float:
    if _NUMERIC.fullmatch(text):
        return float(text)
    return date_number(text)


# Constraints such as `. <= today()` read the same few dates (today, this week's
# visit dates) in every submission; parsing one costs 1 µs, remembering it 60 ns.
# Only short texts are kept, so the cache stays small whatever answers arrive.
_short_text_number = functools.lru_cache(maxsize=2048)(_text_number)


def date_number(text: str) -> float:
    """Days since 1970-01-01 of an ISO date or date-time string, NaN otherwise.

    Times without an offset count as UTC, so that two device times compare the
    same way wherever the server runs.
    """
    match = _DATE_LIKE.fullmatch(text) if len(text) < 64 else None
    if not match:
        return NAN
    try:
        if match.group(2) is None:
            return float(date.fromisoformat(match.group(1)).toordinal() - _EPOCH_ORDINAL)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return NAN
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() / 86400.0


def to_string(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        if value != value:
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return to_string(to_value(value))


def to_bool(value: Any) -> bool:
    kind = type(value)
    if kind is bool:
        return value
    if kind is float:
        return value != 0 and value == value
    if kind is str:
        return value != ""
    return to_bool(to_value(value))


# --- operators --------------------------------------------------------------------


def equals(a: Any, b: Any) -> bool:
    if type(a) is str and type(b) is str:
        return a == b
    if type(a) is bool or type(b) is bool:
        return to_bool(a) == to_bool(b)
    if type(a) is float or type(b) is float:
        return to_number(a) == to_number(b)
    return to_string(a) == to_string(b)


def _divide(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or a != a:
            return NAN
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _modulo(a: float, b: float) -> float:
    try:
        return math.fmod(a, b)
    except ValueError:
        return NAN


_ARITHMETIC = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "div": _divide,
    "mod": _modulo,
}
_RELATIONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


# --- functions ------------------------------------------------------------------


def _fn_selected(values: Any, choice: Any) -> bool:
    return to_string(choice).strip() in to_string(values).split()


def _fn_count_selected(values: Any) -> float:
    return float(len(to_string(values).split()))


def _fn_int(value: Any) -> float:
    number = to_number(value)
    return float(math.trunc(number)) if math.isfinite(number) else number


def _fn_round(value: Any, digits: Any = 0.0) -> float:
    number, places = to_number(value), to_number(digits)
    if not math.isfinite(number) or not math.isfinite(places):
        return NAN if places != places else number
    places = int(max(-15, min(15, places)))
    scale = 10.0**places
    scaled = number * scale + 0.5
    if not math.isfinite(scaled):
        return number
    # XPath rounds halves up (towards +infinity), unlike Python's round().
    return math.floor(scaled) / scale


_today: list = [0.0, ""]  # [monotonic second it was read, the date], shared by every form


def _fn_today() -> str:
    """Today's date, read from the clock at most once a second (constraints ask per answer)."""
    now = time.monotonic()
    if now - _today[0] >= 1.0:
        _today[:] = [now, date.today().isoformat()]
    return _today[1]


def _fn_coalesce(a: Any, b: Any) -> Any:
    return a if to_string(a) != "" else b


# name -> (fewest arguments, most arguments or None for any, implementation)
_FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "selected": (2, 2, _fn_selected),
    "count-selected": (1, 1, _fn_count_selected),
    "string-length": (1, 1, lambda v: float(len(to_string(v)))),
    "contains": (2, 2, lambda a, b: to_string(b) in to_string(a)),
    "starts-with": (2, 2, lambda a, b: to_string(a).startswith(to_string(b))),
    "concat": (1, None, lambda *parts: "".join(to_string(p) for p in parts)),
    "string": (1, 1, to_string),
    "number": (1, 1, to_number),
    "boolean": (1, 1, to_bool),
    "int": (1, 1, _fn_int),
    "round": (1, 2, _fn_round),
    "not": (1, 1, lambda v: not to_bool(v)),
    "true": (0, 0, lambda: True),
    "false": (0, 0, lambda: False),
    "today": (0, 0, _fn_today),
    "coalesce": (2, 2, _fn_coalesce),
}
# Compiled specially: lazy branches, literal-only or repeat-only arguments.
_SPECIAL = {"if": 3, "regex": 2, "count": 1}
KNOWN_FUNCTIONS = frozenset(_FUNCTIONS) | frozenset(_SPECIAL)


# --- compilation ----------------------------------------------------------------


class Resolver:
    """Tells the compiler how to read questions; subclasses decide scoping.

    Each method returns a closure taking the evaluation environment, or raises
    ExpressionError when the name cannot be used from where the expression is.
    """

    def value(self, name: str, pos: int) -> Evaluator:
        raise ExpressionError(f"unknown question ${{{name}}}", pos)

    def repeat(self, name: str, pos: int) -> Evaluator:
        raise ExpressionError(f"unknown repeat ${{{name}}}", pos)

    def current(self, pos: int) -> Evaluator:
        raise ExpressionError("'.' (this answer) can only be used in a constraint", pos)


def compile_expression(text: str, resolver: Resolver) -> Evaluator:
    """Parse and compile `text`; the result maps an environment to a value."""
    return _guarded(_fastest(compile_tree, boolean=False), parse(text), resolver)


def compile_condition(text: str, resolver: Resolver) -> Callable[[Any], bool]:
    """Like compile_expression, for relevant/constraint: the result is a bool."""
    return _guarded(_fastest(_boolean, boolean=True), parse(text), resolver)


def compile_closures(text: str, resolver: Resolver, *, boolean: bool = False) -> Evaluator:
    """The closures alone, never generated source: the reference the source is tested against."""
    return _guarded(_boolean if boolean else compile_tree, parse(text), resolver)


def _fastest(
    closures: Callable[[object, Resolver], Evaluator], *, boolean: bool
) -> Callable[[object, Resolver], Evaluator]:
    """One generated function (schemas.expression_source), or the closures when
    Python cannot compile that source."""

    def compile_(tree: object, resolver: Resolver) -> Evaluator:
        from schemas.expression_source import to_function  # it builds on this module

        return to_function(tree, resolver, boolean=boolean) or closures(tree, resolver)

    return compile_


def _guarded(
    compile_: Callable[[object, Resolver], Evaluator], tree: object, resolver: Resolver
) -> Evaluator:
    try:
        return compile_(tree, resolver)
    except RecursionError:
        # Only reachable when the caller's own stack is nearly full.
        raise ExpressionError("nested too deeply to compile here", 0) from None


def _boolean(tree: object, resolver: Resolver) -> Callable[[Any], bool]:
    inner = compile_tree(tree, resolver)
    if _always_boolean(tree):
        return inner
    return lambda env: to_bool(inner(env))


_BOOLEAN_FUNCTIONS = frozenset(
    {"selected", "contains", "starts-with", "boolean", "not", "true", "false", "regex"}
)


def _always_boolean(tree: object) -> bool:
    if isinstance(tree, Boolean | And | Or):
        return True
    if isinstance(tree, Chain):
        return tree.rest[0][0] not in _ARITHMETIC
    return isinstance(tree, Call) and tree.name in _BOOLEAN_FUNCTIONS


def compile_tree(node: object, resolver: Resolver) -> Evaluator:
    if isinstance(node, Number | String | Boolean):
        constant = node.value
        return lambda env: constant
    if isinstance(node, Ref):
        read = resolver.value(node.name, node.pos)
        return lambda env: to_value(read(env))
    if isinstance(node, Current):
        read = resolver.current(node.pos)
        return lambda env: to_value(read(env))
    if isinstance(node, Negate):
        operand = compile_tree(node.operand, resolver)
        return lambda env: -to_number(operand(env))
    if isinstance(node, And):
        items = tuple(_boolean(item, resolver) for item in node.items)
        if len(items) == 2:
            left, right = items
            return lambda env: left(env) and right(env)
        return lambda env: all(item(env) for item in items)
    if isinstance(node, Or):
        items = tuple(_boolean(item, resolver) for item in node.items)
        if len(items) == 2:
            left, right = items
            return lambda env: left(env) or right(env)
        return lambda env: any(item(env) for item in items)
    if isinstance(node, Chain):
        return _compile_chain(node, resolver)
    if isinstance(node, Call):
        return _compile_call(node, resolver)
    raise ExpressionError(f"cannot compile {type(node).__name__}", getattr(node, "pos", 0))


def _compile_chain(node: Chain, resolver: Resolver) -> Evaluator:
    first = compile_tree(node.first, resolver)
    steps = tuple((op, compile_tree(operand, resolver)) for op, operand in node.rest)
    kind = steps[0][0]
    if kind in _ARITHMETIC:
        arithmetic = tuple((_ARITHMETIC[op], operand) for op, operand in steps)

        def calculate(env: Any) -> float:
            result = to_number(first(env))
            for apply, operand in arithmetic:
                result = apply(result, to_number(operand(env)))
            return result

        return calculate
    if kind in _RELATIONS:
        if len(steps) == 1:
            return _compile_relation(kind, first, node.rest[0][1], steps[0][1])
        relations = tuple((_RELATIONS[op], operand) for op, operand in steps)

        def compare(env: Any) -> bool:
            result: Any = first(env)
            for relation, operand in relations:
                result = relation(to_number(result), to_number(operand(env)))
            return result

        return compare

    if len(steps) == 1:
        ((op, operand),) = steps
        if isinstance(node.rest[0][1], String | Number | Boolean):
            constant = node.rest[0][1].value
            if op == "=":
                return lambda env: equals(first(env), constant)
            return lambda env: not equals(first(env), constant)

    def equality(env: Any) -> bool:
        result: Any = first(env)
        for op, operand in steps:
            same = equals(result, operand(env))
            result = same if op == "=" else not same
        return result

    return equality


def _compile_relation(
    kind: str, first: Evaluator, second_node: object, second: Evaluator
) -> Evaluator:
    """One comparison, the usual shape of skip logic; a literal side is converted once."""
    relation = _RELATIONS[kind]
    if isinstance(second_node, Number):
        bound = second_node.value
        return lambda env: relation(to_number(first(env)), bound)
    return lambda env: relation(to_number(first(env)), to_number(second(env)))


def _check_arity(node: Call, fewest: int, most: int | None) -> None:
    count = len(node.args)
    if count < fewest or (most is not None and count > most):
        wanted = (
            str(fewest)
            if fewest == most
            else f"{fewest} or more"
            if most is None
            else f"{fewest} to {most}"
        )
        raise ExpressionError(
            f"{node.name}() takes {wanted} argument{'s' if wanted != '1' else ''}, not {count}",
            node.pos,
        )


def function_of(node: Call) -> Callable[..., Any] | None:
    """The implementation a call runs, its arguments counted; None for the special
    forms (``if``, ``regex``, ``count``), whose arguments are not plain values.

    Both compilers (these closures and ``schemas.expression_source``) ask here,
    so a form is refused for the same reasons, with the same words, by either.
    """
    if node.name in _SPECIAL:
        _check_arity(node, _SPECIAL[node.name], _SPECIAL[node.name])
        return None
    if node.name not in _FUNCTIONS:
        known = ", ".join(sorted(KNOWN_FUNCTIONS))
        raise ExpressionError(f"unknown function {node.name}(); known functions: {known}", node.pos)
    fewest, most, implementation = _FUNCTIONS[node.name]
    _check_arity(node, fewest, most)
    return implementation


def regex_pattern(node: Call) -> re.Pattern:
    """``regex(subject, 'pattern')``'s pattern, compiled once: it must be a quoted string."""
    pattern = node.args[1]
    if not isinstance(pattern, String):
        raise ExpressionError("regex() needs its pattern as a 'quoted string'", node.pos)
    try:
        return re.compile(pattern.value)
    except re.error as err:
        raise ExpressionError(f"regex() pattern is not valid: {err}", pattern.pos) from None


def count_target(node: Call) -> Ref:
    """``count(${repeat})``'s repeat: it must be a reference."""
    (target,) = node.args
    if not isinstance(target, Ref):
        raise ExpressionError("count() takes a repeat, as in count(${children})", node.pos)
    return target


def _compile_call(node: Call, resolver: Resolver) -> Evaluator:
    implementation = function_of(node)
    if implementation is None:
        return _SPECIAL_COMPILERS[node.name](node, resolver)
    args = tuple(compile_tree(arg, resolver) for arg in node.args)
    if len(args) == 0:
        return lambda env: implementation()
    if len(args) == 1:
        (only,) = args
        return lambda env: implementation(only(env))
    if len(args) == 2:
        left, right = args
        return lambda env: implementation(left(env), right(env))
    return lambda env: implementation(*(arg(env) for arg in args))


def _compile_if(node: Call, resolver: Resolver) -> Evaluator:
    condition, then, otherwise = (compile_tree(arg, resolver) for arg in node.args)
    return lambda env: then(env) if to_bool(condition(env)) else otherwise(env)


def _compile_regex(node: Call, resolver: Resolver) -> Evaluator:
    compiled = regex_pattern(node)
    read = compile_tree(node.args[0], resolver)
    return lambda env: compiled.search(to_string(read(env))) is not None


def _compile_count(node: Call, resolver: Resolver) -> Evaluator:
    target = count_target(node)
    entries = resolver.repeat(target.name, target.pos)

    def count(env: Any) -> float:
        value = entries(env)
        return float(len(value)) if type(value) is list else 0.0

    return count


_SPECIAL_COMPILERS = {"if": _compile_if, "regex": _compile_regex, "count": _compile_count}


# --- standalone evaluation ------------------------------------------------------------


class _Values:
    __slots__ = ("values", "current")

    def __init__(self, values: dict[str, Any], current: Any) -> None:
        self.values = values
        self.current = current


class _FlatResolver(Resolver):
    """Resolves every name in one flat mapping; for tests, previews and tools."""

    def value(self, name: str, pos: int) -> Evaluator:
        return lambda env: env.values.get(name)

    def repeat(self, name: str, pos: int) -> Evaluator:
        return lambda env: env.values.get(name)

    def current(self, pos: int) -> Evaluator:
        return lambda env: env.current


def evaluate(
    text: str, values: dict[str, Any] | None = None, current: Any = None, *, closures: bool = False
) -> Any:
    """Evaluate `text` with `${name}` read from `values` and `.` bound to `current`.

    Answers are given as they appear in submission JSON (numbers, strings, lists
    of choice names, geopoint objects, lists of repeat entries for count()).
    `closures=True` evaluates with the reference closures instead of the
    generated function, so that tests can compare the two.
    """
    env = _Values(values or {}, current)
    if closures:
        return compile_closures(text, _FlatResolver())(env)
    return compile_expression(text, _FlatResolver())(env)
