"""The shared expression corpus: cases both evaluators must answer alike.

The server (schemas.evaluation, Python) and the worker's field app
(fieldapp/src/expr, JavaScript) evaluate the same skip rules and constraints; a
difference means a form that looks fine on the phone is refused weeks later.
This module lists the cases (expressions with answers, dates, blanks, NaN,
repeats, and expressions that must be refused) and writes
``schemas/expression_corpus.json`` with the answers Python gives:

    .venv/bin/python tests/forms/expression_corpus_cases.py

tests/forms/test_expression_corpus.py checks the file is what Python says;
``fieldapp/test/corpus.test.js`` checks the JavaScript evaluator gives the same.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from schemas import evaluation as ev  # noqa: E402
from schemas.expressions import ExpressionError  # noqa: E402

CORPUS = REPO / "schemas" / "expression_corpus.json"
TODAY = "2026-05-10"  # today() in every case, so the answers do not move with the clock

# Answers as they appear in a submission's data.
ANSWERS: dict[str, Any] = {
    "age": 7, "age_text": "7", "weight": 12.5, "zero": 0, "neg": -3, "big": 1e300,
    "blank": "", "null": None, "name": "Батбаяр", "name_en": "Bold", "spaced": "  42  ",
    "yes": "yes", "no": "no", "flag_true": True, "flag_false": False,
    "birth": "2020-02-29", "visit": "2026-05-10", "future": "2027-01-01",
    "bad_date": "2026-02-30", "stamp": "2026-05-10T08:30:00+08:00", "stamp_z": "2026-05-10T00:30:00Z",
    "stamp_naive": "2026-05-10T12:00:00", "stamp_frac": "2026-05-10T12:00:00.123456789Z",
    "heating": ["dung", "wood"], "none_selected": [], "one_selected": ["coal"],
    "geo": {"lat": 47.91, "lon": 106.92, "accuracy": 12}, "geo_text": "47.91 106.92",
    "children": [{"c_age": 3}, {"c_age": 9}, {"c_age": 15}], "no_children": [],
    "phone": "99112233", "phone_bad": "9911-2233", "code": "CP-2026-007", "mixed": "ab12",
    "cyr": "Өвөрхангай", "emoji": "ger 🏠", "decimal_text": "3.50", "dot_text": ".5",
    "minus_text": "-12", "plus_text": "+12", "exp_text": "1e3", "nbsp_text": "\u00a042\u00a0",
    "tiny": 1e-7, "huge_int": 12345678901234567890, "fraction": 0.1, "third": 1 / 3,
    "nan_text": "NaN", "inf_text": "Infinity", "space_list": ["a b", "c"],
}

# Expressions evaluated against ANSWERS (and `current` where they read `.`).
EXPRESSIONS = [
    # references and conversions
    "${age}", "${age_text}", "${weight}", "${blank}", "${null}", "${missing}", "${name}",
    "${flag_true}", "${flag_false}", "${heating}", "${none_selected}", "${geo}", "${geo_text}",
    "${big}", "${tiny}", "${huge_int}", "${fraction}", "${third}", "${neg}",
    "number(${age_text})", "number(${spaced})", "number(${decimal_text})", "number(${dot_text})",
    "number(${minus_text})", "number(${plus_text})", "number(${exp_text})", "number(${nbsp_text})",
    "number(${nan_text})", "number(${inf_text})", "number(${name})", "number(${blank})",
    "number(${flag_true})", "number(${birth})", "number(${visit})", "number(${bad_date})",
    "number(${stamp})", "number(${stamp_z})", "number(${stamp_naive})", "number(${stamp_frac})",
    "number(${geo_text})", "number(${heating})",
    "string(${age})", "string(${weight})", "string(${big})", "string(${tiny})", "string(${huge_int})",
    "string(${third})", "string(${fraction})", "string(${flag_true})", "string(${geo})",
    "string(1 div 0)", "string(-1 div 0)", "string(0 div 0)", "string(1e15)", "string(1000000000000000)",
    "string(999999999999999)", "string(10000000000000000)", "string(0.0001)", "string(0.00001)",
    "string(123456789.125)", "string(1000000 * 1000000000)", "string(123456789 * 1000000000)",
    "string(1 div 3 * 1000000000000000000)", "string(0.1 * 0.001)", "string(-1 div 70000)",
    "string(2 div 3 * 1000000000000000)", "string(${huge_int} * ${huge_int})", "string(-0.5)", "string(- 0)", "string(2 div 3)", "string(1 div 3 * 3)",
    "boolean(${age})", "boolean(${zero})", "boolean(${blank})", "boolean(${name})",
    "boolean(0 div 0)", "boolean('false')", "boolean(${none_selected})", "boolean(${heating})",
    # comparisons: numbers, text, booleans, blanks, NaN
    "${age} > 5", "${age} >= 7", "${age} < 7", "${age} <= 6", "${age} = 7", "${age} != 7",
    "${age_text} = 7", "${age_text} = '7'", "${age} = '7'", "${age} = '7.0'", "${age_text} = '7.0'",
    "${blank} > 5", "${blank} < 5", "${blank} = 0", "${blank} != 0", "${blank} = ''",
    "${missing} = ''", "${null} = ''", "${name} > 5", "${name} = 'Батбаяр'", "${name} != 'Bold'",
    "${flag_true} = true()", "${flag_true} = 'yes'", "${flag_false} = ''", "${flag_false} = 0",
    "${yes} = true()", "${blank} = false()", "${zero} = false()", "1 < 2 < 3", "3 > 2 > 1",
    "1 = 1 = 1", "2 = 2 = 2", "1 != 2 != true()", "0 div 0 = 0 div 0", "0 div 0 != 0 div 0",
    "1 div 0 = 2 div 0", "${weight} > 12.4", "${weight} < 12.5", "${fraction} * 3 = 0.3",
    "'abc' < 'abd'", "'10' < '9'", "'10' = 10", "'abc' = 'ABC'", "true() = 'false'",
    "${spaced} = 42", "${spaced} = '42'", "${nbsp_text} = 42", "${geo_text} = '47.91 106.92'",
    # arithmetic
    "1 + 2 * 3", "(1 + 2) * 3", "10 div 4", "10 mod 4", "-10 mod 3", "10 mod -3", "5.5 mod 2",
    "1 div 0", "-1 div 0", "0 div 0", "1 mod 0", "0 mod 0", "${age} + 1", "${age_text} + 1",
    "${blank} + 1", "${name} + 1", "${flag_true} + 1", "${age} - ${weight}", "${big} * ${big}",
    "-${big} * ${big}", "${big} * ${big} - ${big} * ${big}", "${tiny} * ${tiny}", "- - 3",
    "- ${age}", "-${blank}", "0.1 + 0.2", "0.1 + 0.2 = 0.3", "1 - 0.9", "3 * 1.1", "2 div 3",
    "1 div 3 * 3", "100 div 7", "7 mod 2.5", "1 div -0", "${zero} * -1", "1 div (${zero} * -1)",
    "${visit} - ${birth}", "${future} - ${visit}", "${stamp} - ${stamp_z}", "${stamp_naive} - ${visit}",
    "${visit} - ${bad_date}", "${birth} + 1", "${heating} + 1", "1 + 2 + 3 + 4 - 5 - 6",
    "2 * 3 div 4 mod 5", "-2 * -3", "1 - -1", "${huge_int} + 1", "${huge_int} div 1000",
    # functions
    "selected(${heating}, 'wood')", "selected(${heating}, 'coal')", "selected(${heating}, ' wood ')",
    "selected(${none_selected}, 'wood')", "selected(${space_list}, 'b')", "selected(${blank}, '')",
    "count-selected(${heating})", "count-selected(${none_selected})", "count-selected(${space_list})",
    "count-selected(${blank})", "count-selected('a  b\tc')", "count-selected(${name})",
    "count(${children})", "count(${no_children})", "count(${missing})", "count(${age})",
    "count(${children}) > 2", "count(${name})",
    "string-length(${name})", "string-length(${emoji})", "string-length(${blank})",
    "string-length(${age})", "string-length(${weight})", "string-length(${third})",
    "string-length(${cyr}) > 5", "string-length(1 div 0)",
    "contains(${name}, 'бая')", "contains(${code}, '2026')", "contains(${blank}, '')",
    "contains(${age}, 7)", "starts-with(${code}, 'CP-')", "starts-with(${cyr}, 'Өв')",
    "starts-with(${blank}, 'x')", "starts-with(${age}, '')",
    "concat(${name}, ' ', ${age})", "concat(${weight})", "concat(1 div 0, '/', 0 div 0)",
    "concat(${flag_true}, ${heating}, ${geo})", "concat('a', 'b', 'c', 'd', 'e')",
    "coalesce(${blank}, 'none')", "coalesce(${age}, 'none')", "coalesce(${missing}, ${null})",
    "coalesce(${none_selected}, 3)", "coalesce(0 div 0, 1)",
    "if(${age} > 5, 'older', 'younger')", "if(${blank}, 1, 2)", "if('false', 1, 2)",
    "if(0 div 0, 'nan is true', 'nan is false')", "if(${yes} = 'yes', ${age}, ${name})",
    "not(${age} > 5)", "not(${blank})", "not('')", "not(0)", "not(0 div 0)",
    "true()", "false()", "true", "false", "true and false", "true or false",
    "int(3.7)", "int(-3.7)", "int(-0.5)", "1 div int(-0.5)", "int(${spaced})", "int(1 div 0)",
    "int(0 div 0)", "int(${name})", "int(1e20)",
    "round(2.5)", "round(-2.5)", "round(3.14159, 2)", "round(1234.5678, -2)", "round(0.5)",
    "round(-0.5)", "1 div round(-0.4)", "round(2.675, 2)", "round(1.005, 2)", "round(${third}, 3)",
    "round(${name})", "round(2.5, 0 div 0)", "round(1 div 0)", "round(123.456, 20)",
    "round(123.456, -20)", "round(1e300, 15)", "round(5, 2.9)", "round(5.555, -1.5)",
    "round(${weight}, ${blank})", "round(-1e-7, 3)",
    "today()", "today() = '2026-05-10'", "${visit} = today()", "${visit} <= today()",
    "${future} <= today()", "${birth} < today()", "today() - ${birth}", "today() > 20000",
    "number(today())", "string-length(today())",
    "regex(${phone}, '^[0-9]{8}$')", "regex(${phone_bad}, '^[0-9]{8}$')",
    "regex(${code}, 'CP-[0-9]{4}-[0-9]{3}')", "regex(${mixed}, '[a-z]+[0-9]+')",
    "regex(${cyr}, '^\\w+$')", "regex(${name}, '^[А-ЯЁӨҮа-яёөү]+$')", "regex(${name}, '\\d')",
    "regex(${emoji}, '\\s')", "regex(${age}, '^7$')", "regex('line\n', 'line$')",
    "regex('ab', 'a.b')", "regex('a\nb', 'a.b')", "regex('x{2}', 'x{2}')", "regex('x{', 'x{')",
    "regex('xx', '^x{,2}$')", "regex('Bold', '(?i)^bold$')", "regex(${cyr}, '\\bхан')",
    "regex(${cyr}, 'хан\\b')", "regex('٣', '^\\d$')", "regex('٣', '(?a)^\\d$')",
    "regex('a-b', '[a\\-]+-b')", "regex(']', '[]]')", "regex('tab\there', '\\t')",
    "regex(${blank}, '^$')", "regex('2026-05-10', '(?P<y>[0-9]{4})-(?P=y)')",
    "regex('abab', '^(ab)\\1$')", "regex('a.b', 'a\\.b')", "regex('a b', 'a\\ b')",
    "regex('\u00a0', '\\s')", "regex('\u001c', '\\s')", "regex('Ωmega', '^\\W')",
    "regex('_x', '^\\w\\w$')", "regex('é', '^[\\w]$')", "regex('5', '[^\\D]')",
    # constraints on `.`
    ". > 0", ". <= today()", ". = ''", "string-length(.) <= 10", "regex(., '^[0-9]+$')",
    ". >= 0 and . <= 120", "selected(., 'wood')", ". != ${age}", "count-selected(.) <= 2",
    # logic with blanks and NaN
    "${age} > 5 and ${yes} = 'yes'", "${age} > 50 or ${blank} = ''", "${blank} > 5 or ${blank} <= 5",
    "not(${blank} > 5) and not(${blank} <= 5)", "(${age} > 5) + (${age} > 6)", "true() + true()",
    "(1 = 1) = 1", "(1 = 1) * 5", "${flag_true} and ${flag_false}", "${heating} and ${blank}",
    "1 and 0 div 0", "'' or 'x'", "${age} > 5 and (${weight} > 20 or ${name} != '')",
    "1 = 1 and 2 = 2 and 3 = 3 and 4 != 4", "0 or 0 or 0 or 1",
]

# Values `.` takes in the constraint cases (each constraint is run with each).
CURRENTS: list[Any] = [None, "", 0, 5, -1, 121, "12", "abc", "2026-05-09", "2026-05-11",
                       ["wood"], ["wood", "coal", "dung"], 1.5, True, "99112233"]

# Expressions the server refuses, and so must the device.
REFUSED = [
    "", "   ", "1 +", "(1", "1)", "${age", "${}", "${1abc}", "${ a b }", "$age", "'unterminated",
    "\"unterminated", "1 == 1", "a && b", "a || b", "!x", "/data/x", "x[1]", "@x", "a | b",
    "../x", "..", "age", "foo()", "count-selected()", "selected(${x})", "if(1, 2)", "today(1)",
    "round()", "round(1, 2, 3)", "concat()", "regex(${x}, ${y})", "regex(${x})", "count(1)",
    "count(${a}, ${b})", "not(1, 2)", "1 2", "1 + + ", "* 2", "div 2", "1 mod", "(", ")",
    "1 , 2", "#", "1 ; 2", "x = 1", "${x} = 1 = ", "1" * 33, "-" * 60 + "1", "(" * 60 + "1" + ")" * 60,
    "if(" * 60 + "1" + ", 1, 1)" * 60, "1 + " * 1000 + "1", "'é' = é", "${x} ≤ 3", "\u200b1",
    "${x}\u00a0= 1 and", "true(", "false)", "string-length(${x}, 1)", "coalesce(1)",
    "1 < < 2", "1 =< 2", "1 => 2", "--", "- ", "concat(1,)", "concat(,1)", "${x}.", ".5.5",
    "1.2.3", "1..2", "${x} div", "mod 1", "(1 + 2", "${x} in 'a'", "contains(${x} 'a')",
]


def encode(value: Any) -> Any:
    """A result as JSON: numbers that JSON cannot hold become {"number": "NaN"} and such."""
    if type(value) is float:
        if math.isnan(value):
            return {"number": "NaN"}
        if math.isinf(value):
            return {"number": "Infinity" if value > 0 else "-Infinity"}
        if value == 0 and math.copysign(1.0, value) < 0:
            return {"number": "-0"}
        return value
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"number"}:
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}[value["number"]]
    if type(value) is int:
        return float(value)
    return value


def evaluate_case(expr: str, values: dict, current: Any) -> dict:
    """What the server answers: {"result", "condition"} or {"error": {"message", "position"}}."""
    saved = list(ev._today)
    ev._today[:] = [math.inf, TODAY]  # the clock is never read again while this holds
    try:
        try:
            result = ev.evaluate(expr, values, current)
        except ExpressionError as err:
            return {"error": {"message": err.reason, "position": err.position}}
        closures = ev.evaluate(expr, values, current, closures=True)
        condition = ev.compile_condition(expr, ev._FlatResolver())(ev._Values(values, current))
    finally:
        ev._today[:] = saved
    if encode(result) != encode(closures) and not (result != result and closures != closures):
        raise AssertionError(f"generated source and closures disagree on {expr!r}")
    return {"result": encode(result), "condition": condition}


# --- random expressions, for what the hand-written list does not think of -----------------

_LEAVES = ["${age}", "${age_text}", "${weight}", "${blank}", "${name}", "${heating}", "${birth}",
           "${visit}", "${stamp}", "${flag_true}", "${geo}", "${spaced}", "${decimal_text}", "0",
           "1", "2.5", "-3", "0.1", "'7'", "''", "'abc'", "'2026-05-01'", "true()", "false()",
           "today()", "1 div 0", "0 div 0", "${children}"]
_UNARY = ["number", "string", "boolean", "not", "int", "round", "string-length", "count-selected"]
_BINARY = ["selected", "contains", "starts-with", "coalesce", "round", "concat"]
_OPS = ["+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or"]


def random_expression(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth >= 3 or roll < 0.3:
        leaf = rng.choice(_LEAVES)
        return "count(${children})" if leaf == "${children}" else leaf
    if roll < 0.5:
        return f"{rng.choice(_UNARY)}({random_expression(rng, depth + 1)})"
    if roll < 0.65:
        a, b = random_expression(rng, depth + 1), random_expression(rng, depth + 1)
        return f"{rng.choice(_BINARY)}({a}, {b})"
    if roll < 0.72:
        parts = [random_expression(rng, depth + 1) for _ in range(3)]
        return f"if({parts[0]}, {parts[1]}, {parts[2]})"
    if roll < 0.77:
        return f"-{random_expression(rng, depth + 1)}"
    a, b = random_expression(rng, depth + 1), random_expression(rng, depth + 1)
    op = rng.choice(_OPS)
    return f"({a} {op} {b})" if rng.random() < 0.5 else f"{a} {op} {b}"


def build() -> dict:
    cases = []
    for expr in EXPRESSIONS:
        if "." in expr.replace("...", "") and _reads_current(expr):
            for current in CURRENTS:
                cases.append({"expr": expr, "current": current, **evaluate_case(expr, ANSWERS, current)})
        else:
            cases.append({"expr": expr, **evaluate_case(expr, ANSWERS, None)})
    rng = random.Random(18)
    for _ in range(300):
        expr = random_expression(rng)
        cases.append({"expr": expr, **evaluate_case(expr, ANSWERS, None)})
    for expr in REFUSED:
        case = {"expr": expr, **evaluate_case(expr, ANSWERS, None)}
        if "error" not in case:
            raise AssertionError(f"{expr!r} was expected to be refused")
        cases.append(case)
    return {
        "about": "Expression cases the server (schemas.evaluation) and the field app "
                 "(fieldapp/src/expr) must answer alike; written by "
                 "tests/forms/expression_corpus_cases.py. Numbers JSON cannot hold are "
                 '{"number": "NaN" | "Infinity" | "-Infinity" | "-0"}.',
        "today": TODAY,
        "answers": ANSWERS,
        "cases": cases,
    }


def _reads_current(expr: str) -> bool:
    from schemas.expressions import Current, parse

    stack = [parse(expr)]
    while stack:
        node = stack.pop()
        if isinstance(node, Current):
            return True
        for attr in ("args", "items"):
            stack.extend(getattr(node, attr, ()))
        if hasattr(node, "operand"):
            stack.append(node.operand)
        if hasattr(node, "first"):
            stack.append(node.first)
            stack.extend(operand for _, operand in node.rest)
    return False


def render(corpus: dict) -> str:
    return json.dumps(corpus, ensure_ascii=False, indent=1, allow_nan=False) + "\n"


if __name__ == "__main__":
    corpus = build()
    CORPUS.write_text(render(corpus), encoding="utf-8")
    print(f"{len(corpus['cases'])} cases written to {CORPUS.relative_to(REPO)}")
