"""The expression language of `relevant` and `constraint`: what it means, what it refuses.

Expressions follow XPath as ODK applies it, so an XLSForm behaves the same on
a device and on the server; they come from spreadsheets and admins, so hostile
input must end in a clear ExpressionError, quickly, and never in a crash.
"""

from __future__ import annotations

import inspect
import math
import sys
import time
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.evaluation import evaluate
from schemas.expression_source import to_function
from schemas.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Call,
    Chain,
    ExpressionError,
    Ref,
    parse,
    references,
)

# -- reading expressions ------------------------------------------------------------------


def test_a_comparison_parses_into_a_tree_of_references_and_literals():
    tree = parse("${age} >= 18 and selected(${needs}, 'fuel')")
    assert isinstance(tree, And)
    comparison, call = tree.items
    assert isinstance(comparison, Chain) and comparison.rest[0][0] == ">="
    assert isinstance(call, Call) and call.name == "selected"
    assert references(tree) == {"age", "needs"}


def test_chains_of_one_operator_are_one_node_not_a_deep_tree():
    tree = parse(" + ".join(["1"] * 500))
    assert isinstance(tree, Chain) and len(tree.rest) == 499
    assert evaluate(" + ".join(["1"] * 500)) == 500


def test_whitespace_and_both_quote_styles_are_accepted():
    assert evaluate("  ${a}=\"x\" and ${b} = 'y'  ", {"a": "x", "b": "y"}) is True


@pytest.mark.parametrize(
    ("text", "reason", "position"),
    [
        ("${age} > 'adult", "unterminated string", 9),
        ("${age", "unterminated reference", 0),
        ("${} = 1", "is not a question name", 0),
        ("$age > 1", "must start a reference", 0),
        ("${age} == 3", "use = to compare", 7),
        ("${a} && ${b}", "use and", 5),
        ("/data/age > 3", "use div to divide", 0),
        ("../age > 3", "parent paths are not supported", 0),
        ("${age} > ", "expected a value but found end of expression", 9),
        ("(${age} > 3", "expected ')' but found end of expression", 11),
        ("${age} > 3)", "unexpected ')'", 10),
        ("age > 3", "refer to a question as ${age}", 0),
        ("${a} # 2", "unexpected character '#'", 5),
        ("", "the expression is empty", 0),
    ],
)
def test_syntax_errors_say_what_is_wrong_and_where(text, reason, position):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert reason in caught.value.reason
    assert caught.value.position == position
    assert f"(col {position + 1})" in str(caught.value)


def test_unknown_functions_are_refused_with_the_list_of_known_ones():
    with pytest.raises(ExpressionError) as caught:
        evaluate("pulldata('households', 'name', 'id', ${id})", {"id": "1"})
    assert "unknown function pulldata()" in str(caught.value)
    assert "count-selected" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("selected(${a})", "selected() takes 2 arguments, not 1"),
        ("today(1)", "today() takes 0 arguments, not 1"),
        ("if(${a}, 1)", "if() takes 3 arguments, not 2"),
        ("round()", "round() takes 1 to 2 arguments, not 0"),
        ("regex(${a}, ${b})", "needs its pattern as a 'quoted string'"),
        ("regex(${a}, '(')", "regex() pattern is not valid"),
        ("count('x')", "count() takes a repeat"),
    ],
)
def test_function_calls_are_checked_before_anything_runs(text, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(text, {"a": "x", "b": "y"})


# -- hostile input ---------------------------------------------------------------------


def test_a_100k_character_expression_is_refused_at_once():
    text = "1 + " * 25000 + "1"
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert time.perf_counter() - start < 0.05
    assert f"the limit is {MAX_LENGTH}" in str(caught.value)


@pytest.mark.parametrize("opening", ["(", "not(", "-", "if(1, 2, "])
def test_deep_nesting_is_refused_without_exhausting_the_stack(opening):
    depth = 150
    text = opening * depth + "1" + ")" * (depth if opening != "-" else 0)
    assert len(text) <= MAX_LENGTH
    with pytest.raises(ExpressionError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse(text)


@pytest.mark.parametrize(
    ("opening", "closing", "expected"), [("(", ")", 1), ("not(", ")", True), ("-", "", 1)]
)
def test_nesting_up_to_the_limit_is_fine(opening, closing, expected):
    text = opening * MAX_DEPTH + "1" + closing * MAX_DEPTH
    assert evaluate(text) == expected


def test_a_caller_with_a_nearly_full_stack_still_gets_an_expression_error():
    """The limits keep the parser far below Python's stack limit, but a caller
    deep in its own stack (a web request, a test runner) must not see RecursionError."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 40)
    try:
        with pytest.raises(ExpressionError, match="nested too deeply"):
            parse("(" * 40 + "1" + ")" * 40)
    finally:
        sys.setrecursionlimit(limit)


def test_huge_number_literals_are_refused():
    with pytest.raises(ExpressionError, match="number literal is 1500 characters long"):
        parse("9" * 1500)


def test_huge_numbers_from_answers_do_not_crash_arithmetic():
    assert evaluate("${a} * ${a}", {"a": 10**400}) == math.inf
    assert evaluate("int(${a})", {"a": 10**400}) == math.inf
    assert math.isnan(evaluate("${a} - ${a}", {"a": 10**400}))


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_any_text_either_parses_or_raises_expression_error(text):
    try:
        parse(text)
    except ExpressionError as err:
        assert 0 <= err.position <= max(len(text), MAX_LENGTH)


_ATOMS = st.sampled_from(
    ["${a}", "${b}", "${c}", ".", "1", "0", "-2.5", "'x'", "''", "true()", "today()"]
)
_OPS = st.sampled_from(["+", "-", "*", "div", "mod", "=", "!=", "<", ">=", "and", "or"])
_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.lists(st.sampled_from(["x", "y"]), max_size=3),
    st.dictionaries(st.sampled_from(["lat", "lon"]), st.floats()),
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(_ATOMS, _OPS), min_size=1, max_size=12), _ATOMS, _VALUES, _VALUES, _VALUES
)
def test_evaluation_never_raises_whatever_the_answers(pairs, last, a, b, current):
    text = " ".join(f"{atom} {op}" for atom, op in pairs) + " " + last
    wrapped = f"if(not({text}), string-length(concat({text})), round({text}, 1))"
    for expression in (text, wrapped):
        evaluate(expression, {"a": a, "b": b, "c": [a, b]}, current)



_MORE_ATOMS = st.sampled_from(
    ["${a}", "${b}", "${c}", ".", "1", "-2.5", "'x'", "''", "'2025-10-14'", "true()", "today()",
     "selected(${c}, 'x')", "count-selected(.)", "regex(${a}, '^[0-9]')", "coalesce(${a}, 'z')",
     "int(${b})", "-${a}", "not(${b})", "if(${a}, ${b}, .)", "string-length(${a})"]
)
_ALL_OPS = st.sampled_from(
    ["+", "-", "*", "div", "mod", "=", "!=", "<", "<=", ">", ">=", "and", "or"]
)


def _same(x, y):
    return type(x) is type(y) and (x == y or (x != x and y != y))


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(_MORE_ATOMS, _ALL_OPS), max_size=8), _MORE_ATOMS, _VALUES, _VALUES, _VALUES
)
def test_the_generated_function_means_exactly_what_the_closures_mean(pairs, last, a, b, current):
    """The hot path runs each expression as one generated function; the closures are
    the reference. Same value and same type, for any expression and any answers."""
    text = " ".join(f"{atom} {op}" for atom, op in pairs) + " " + last
    values = {"a": a, "b": b, "c": [a, b] if type(a) is str else ["x", "y"]}
    for expression in (text, f"({text}) = 'x'", f"({text}) < 3"):
        generated = evaluate(expression, values, current)
        reference = evaluate(expression, values, current, closures=True)
        assert _same(generated, reference), (expression, generated, reference)


def test_an_expression_too_deep_for_python_still_runs_on_the_closures():
    text = "8 div " * 300 + "1"  # a chain of 300 divisions: one node here, 300 calls deep as source
    assert len(text) <= MAX_LENGTH
    assert to_function(parse(text), None, boolean=False) is None
    assert evaluate(text) == 8.0 / 8.0**299

# -- meaning ---------------------------------------------------------------------------------


def test_an_unanswered_question_is_the_empty_string():
    assert evaluate("${a} = ''", {}) is True
    assert evaluate("${a} = ''", {"a": None}) is True
    assert evaluate("string-length(${a})", {}) == 0


def test_comparing_an_unanswered_number_is_false_except_with_not_equal():
    """NaN compares false, as in ODK: skip logic on a blank answer stays hidden."""
    assert evaluate("${age} > 5", {}) is False
    assert evaluate("${age} <= 5", {}) is False
    assert evaluate("${age} = 5", {}) is False
    assert evaluate("${age} != 5", {}) is True


def test_equality_compares_numbers_as_numbers_and_text_as_text():
    assert evaluate("${n} = '5'", {"n": 5}) is True
    assert evaluate("${n} = 5.0", {"n": 5}) is True
    assert evaluate("${s} = 'yes'", {"s": "yes"}) is True
    assert evaluate("${s} = 'Yes'", {"s": "yes"}) is False
    assert evaluate("${flag} = 'anything'", {"flag": True}) is True


def test_arithmetic_follows_xpath():
    assert evaluate("7 div 2") == 3.5
    assert evaluate("7 mod 3") == 1
    assert evaluate("-7 mod 3") == -1
    assert evaluate("1 div 0") == math.inf
    assert evaluate("-1 div 0") == -math.inf
    assert math.isnan(evaluate("0 div 0"))
    assert evaluate("2 + 3 * 4") == 14
    assert evaluate("(2 + 3) * 4") == 20
    assert evaluate("10 - 2 - 3") == 5
    assert evaluate("- - 3") == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3 - 4", 3),
        ("2 * 3 + 4 * 5", 26),
        ("20 div 2 div 5", 2),
        ("1 + 2 = 3", True),
        ("1 < 2 = true()", True),
        ("3 > 2 > 1", False),
        ("1 + 1 = 2 and 2 * 2 = 4 or 1 div 0 = 0", True),
        ("false() and true() or true() and false()", False),
    ],
)
def test_operators_bind_as_in_xpath(text, expected):
    assert evaluate(text) == expected


def test_and_binds_tighter_than_or():
    assert evaluate("true() or false() and false()") is True
    assert evaluate("(true() or false()) and false()") is False


def test_select_multiple_answers_work_with_selected_and_count_selected():
    values = {"needs": ["food", "fuel"]}
    assert evaluate("selected(${needs}, 'fuel')", values) is True
    assert evaluate("selected(${needs}, 'fu')", values) is False
    assert evaluate("count-selected(${needs})", values) == 2
    assert evaluate("count-selected(${none})", values) == 0


def test_dates_compare_and_subtract_as_days():
    values = {"birth": "2024-03-02", "visit": "2025-10-14"}
    assert evaluate("${visit} - ${birth}", values) == (date(2025, 10, 14) - date(2024, 3, 2)).days
    assert evaluate("${birth} < ${visit}", values) is True
    assert evaluate("${birth} <= today()", values) is True
    assert evaluate("'2025-10-14T12:00:00Z' - '2025-10-14'") == 0.5


def test_constraints_read_the_current_answer_as_dot():
    assert evaluate(". >= 0 and . <= 120", current=35) is True
    assert evaluate("string-length(.) = 8", current="99112233") is True
    assert evaluate("regex(., '^[0-9]{8}$')", current="9911223") is False


def test_count_reads_the_entries_of_a_repeat():
    assert evaluate("count(${members}) <= ${size}", {"members": [{}, {}, {}], "size": 4}) is True
    assert evaluate("count(${members})", {}) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("if(${a} > 1, 'big', 'small')", "big"),
        ("concat('a', 1, true())", "a1true"),
        ("string(2.50)", "2.5"),
        ("number('3.5') + 1", 4.5),
        ("number('abc') = number('abc')", False),
        ("int(-3.7)", -3),
        ("round(2.5)", 3),
        ("round(1.2345, 2)", 1.23),
        ("coalesce(${missing}, 'fallback')", "fallback"),
        ("contains('ger-kindergarten', 'ger')", True),
        ("starts-with('TES-2025', 'TES')", True),
        ("boolean('false')", True),
        ("not(${a} = 2)", False),
    ],
)
def test_functions(text, expected):
    assert evaluate(text, {"a": 2}) == expected


def test_geopoints_read_as_odk_strings():
    point = {"lat": 49.98, "lon": 92.07, "alt": 939, "accuracy": 6.5}
    assert evaluate("${p}", {"p": point}) == "49.98 92.07 939 6.5"


def test_today_is_the_server_date():
    assert evaluate("today()") == date.today().isoformat()


def test_reference_nodes_remember_their_position():
    tree = parse("1 + ${weight}")
    ((_, ref),) = tree.rest
    assert ref == Ref("weight", 4)
