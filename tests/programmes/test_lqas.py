"""LQAS (programmes/lqas.py): decision rules from the binomial distribution, SAs, catchment coverage.

The binomial probabilities are checked against a second method (exact
fractions, summed by convolution of Bernoulli trials), the n = 19 row against
the table in programmes.md section 3.2 and the published cross-check (80% vs
50%: d = 13, alpha .068, beta .084; PMC3013262, Table 1, after Grant &
Leavenworth), and the catchment estimate against a worked example done by
hand in exact fractions.
"""

from __future__ import annotations

import math
from fractions import Fraction

import orjson
import pytest

from programmes.lqas import (
    DEFAULT_N,
    DecisionRules,
    alpha,
    beta,
    binomial_below,
    catchment_coverage,
    classify_area,
    compute_rule,
    default_table,
    tabulate,
)

TARGETS = range(10, 100, 5)

# programmes.md section 3.2 (n = 19): target -> (d, alpha, beta), 3 decimals.
TABLE_19 = {
    10: (0, 0.000, None), 15: (1, 0.046, None), 20: (2, 0.083, None), 25: (2, 0.031, None),
    30: (3, 0.046, None), 35: (4, 0.059, 0.013), 40: (5, 0.070, 0.035), 45: (6, 0.078, 0.054),
    50: (7, 0.084, 0.068), 55: (8, 0.087, 0.077), 60: (9, 0.088, 0.084), 65: (10, 0.087, 0.087),
    70: (11, 0.084, 0.088), 75: (12, 0.077, 0.087), 80: (13, 0.068, 0.084), 85: (14, 0.054, 0.078),
    90: (15, 0.035, 0.070), 95: (16, 0.013, 0.059),
}


def distribution(n: int, p: Fraction) -> list[Fraction]:
    """P(X = k), k = 0..n, by adding one Bernoulli(p) trial at a time (no binomial coefficients)."""
    probs = [Fraction(1)]
    for _ in range(n):
        probs = [(probs[k] if k < len(probs) else 0) * (1 - p) + (probs[k - 1] * p if k else 0)
                 for k in range(len(probs) + 1)]
    return probs


@pytest.mark.parametrize("n", [1, 5, 12, 19, 30])
@pytest.mark.parametrize("percent", [5, 35, 50, 80, 95])
def test_binomial_tail_matches_an_exact_second_method(n, percent):
    exact = distribution(n, Fraction(percent, 100))
    for d in range(-1, n + 2):
        expected = float(sum(exact[: max(d, 0)]))
        assert binomial_below(n, d, percent / 100) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("target", sorted(TABLE_19))
def test_the_n_19_row_is_the_table_of_programmes_md(target):
    d, a, b = TABLE_19[target]
    rule = compute_rule(19, target)
    assert rule.d == d
    assert round(rule.alpha, 3) == a
    assert (None if rule.beta is None else round(rule.beta, 3)) == b
    assert rule.meets_bounds


def test_the_published_cross_check_80_against_50_percent():
    rule = compute_rule(19, 80)
    assert (rule.d, round(rule.alpha, 3), round(rule.beta, 3)) == (13, 0.068, 0.084)
    # "<= 6 unimmunised" is ">= 13 immunised"; provider risk 0.07, consumer risk 0.08.
    assert (round(rule.alpha, 2), round(rule.beta, 2)) == (0.07, 0.08)
    assert alpha(19, 13, 80) == pytest.approx(float(sum(distribution(19, Fraction(4, 5))[:13])))
    assert beta(19, 13, 80) == pytest.approx(float(sum(distribution(19, Fraction(1, 2))[13:])))


@pytest.mark.parametrize("n", range(12, 31))
def test_each_rule_is_the_best_the_binomial_allows(n):
    for target in TARGETS:
        rule = compute_rule(n, target)
        others = [(d, alpha(n, d, target), beta(n, d, target)) for d in range(n + 1)]
        if target <= 30:  # beta undefined: the largest d with alpha <= 10%
            assert rule.beta is None
            assert rule.d == max(d for d, a, _ in others if a <= 0.10)
            continue
        good = [(d, a + b) for d, a, b in others if a <= 0.10 and b <= 0.10]
        if good:
            assert rule.meets_bounds and rule.alpha <= 0.10 and rule.beta <= 0.10
            assert rule.alpha + rule.beta == min(total for _, total in good)
        else:
            assert not rule.meets_bounds
            assert max(rule.alpha, rule.beta) == min(max(a, b) for _, a, b in others)


def test_19_is_the_smallest_sample_with_a_rule_for_every_target_from_35_to_95():
    def has_all(n):
        return all(compute_rule(n, t).meets_bounds for t in range(35, 100, 5))

    assert DEFAULT_N == 19 and has_all(19)
    assert [n for n in range(12, 23) if not has_all(n)] == [12, 13, 14, 15, 16, 17, 18, 20, 22]


def test_35_and_95_percent_have_two_qualifying_rules_and_the_default_minimises_the_sum():
    for target, chosen, other in ((35, 4, 3), (95, 16, 17)):
        a, b = alpha(19, other, target), beta(19, other, target)
        assert a <= 0.10 and b <= 0.10
        rule = compute_rule(19, target)
        assert rule.d == chosen and rule.alpha + rule.beta < a + b


def test_the_stored_table_is_the_recomputed_one():
    from pathlib import Path

    import programmes.lqas

    # Beside the module: under pytest "programmes" can also name tests/programmes (no such file there).
    stored = orjson.loads((Path(programmes.lqas.__file__).parent / "lqas_rules.json").read_bytes())
    assert stored == default_table()
    assert set(stored["rules"]) == {str(n) for n in range(12, 31)}
    assert stored["rules"]["19"]["80"] == {"d": 13, "alpha": 0.0676, "beta": 0.0835}


def test_admin_overrides_win_and_show_their_own_errors():
    rules = DecisionRules.from_config({"overrides": [{"n": 19, "target": 80, "d": 12}]})
    rule = rules.rule(19, 80)
    assert (rule.d, rule.source) == (12, "override")
    assert rule.alpha == pytest.approx(alpha(19, 12, 80)) and rule.beta == pytest.approx(beta(19, 12, 80))
    assert not rule.meets_bounds  # beta is 18%: the override is kept, and says so
    assert rules.rule(19, 75).source == "table"
    assert rules.rule(17, 83).source == "computed"  # not in the table: computed on demand
    assert rules.rule(17, 83) == compute_rule(17, 83)
    assert rules.to_config() == {"overrides": [{"n": 19, "target": 80, "d": 12}]}


@pytest.mark.parametrize(("config", "message"), [
    ([], "overrides"),
    ({"overrides": [{"n": 19, "target": 80}]}, "exactly n, target and d"),
    ({"overrides": [{"n": 19, "target": 80, "d": 20}]}, "from 0 to 19"),
    ({"overrides": [{"n": 19, "target": 80, "d": "13"}]}, "whole number"),
    ({"overrides": [{"n": 0, "target": 80, "d": 0}]}, "sample size"),
    ({"overrides": [{"n": 19, "target": 80.5, "d": 13}]}, "whole percent"),
    ({"overrides": [{"n": 19, "target": 80, "d": 13}, {"n": 19, "target": 80, "d": 12}]}, "repeats"),
])
def test_bad_overrides_are_refused_clearly(config, message):
    with pytest.raises(ValueError, match=message):
        DecisionRules.from_config(config)


def test_tabulating_respondents():
    assert tabulate([1, 0, None, True, False, 1, None]) == (3, 5)
    with pytest.raises(ValueError, match="1, 0 or None"):
        tabulate([1, 2])


def test_a_supervision_area_reaches_its_target_from_d_correct():
    assert classify_area(13, 19, 80).reached is True
    assert classify_area(12, 19, 80).reached is False
    # Fewer eligible respondents: the rule for that n.
    fifteen = classify_area(11, 15, 80)
    assert fifteen.rule.n == 15 and fifteen.rule.d == compute_rule(15, 80).d
    assert fifteen.reached is (11 >= fifteen.rule.d)
    none = classify_area(0, 0, 80)
    assert none.reached is None and none.coverage is None
    for bad in ((20, 19), (-1, 19), (3, 2.5)):
        with pytest.raises(ValueError):
            classify_area(*bad, 80)


def test_worked_example_of_a_catchment_area():
    """Five SAs of one soum, 19 mothers each, target 80% (d = 13).

    SA   population  correct  p_i     w_i   reached
    A    1200        15       .7895   .24   yes
    B     800        12       .6316   .16   no
    C    1500        17       .8947   .30   yes
    D     500         9       .4737   .10   no
    E    1000        14       .7368   .20   yes

    p  = (.24*15 + .16*12 + .30*17 + .10*9 + .20*14) / 19 = 14.32 / 19 = 358/475 = 75.37%
    SE = sqrt(sum w_i^2 p_i (1 - p_i) / 19) = sqrt(7729/4286875) = 4.25 points
    95% CI 67.05% .. 83.69%: below the 80% target; B and D need supervision.
    """
    areas = {"A": (1200, 15), "B": (800, 12), "C": (1500, 17), "D": (500, 9), "E": (1000, 14)}
    reached = {name: classify_area(x, 19, 80).reached for name, (_, x) in areas.items()}
    assert reached == {"A": True, "B": False, "C": True, "D": False, "E": True}

    coverage = catchment_coverage((population, x, 19) for population, x in areas.values())
    total = sum(p for p, _ in areas.values())
    exact_p = sum(Fraction(p, total) * Fraction(x, 19) for p, x in areas.values())
    exact_var = sum(Fraction(p, total) ** 2 * Fraction(x, 19) * (1 - Fraction(x, 19)) / 19
                    for p, x in areas.values())
    assert (exact_p, exact_var) == (Fraction(358, 475), Fraction(7729, 4286875))
    assert coverage.estimate == pytest.approx(float(exact_p), abs=1e-15)
    assert coverage.se == pytest.approx(math.sqrt(exact_var), abs=1e-15)
    assert (round(coverage.estimate * 100, 2), round(coverage.low * 100, 2),
            round(coverage.high * 100, 2)) == (75.37, 67.05, 83.69)
    assert (coverage.population, coverage.areas, coverage.left_out) == (5000, 5, 0)


def test_areas_without_eligible_respondents_are_left_out_of_the_weights():
    with_empty = catchment_coverage([(1000, 10, 19), (3000, 0, 0), (0, 5, 19)])
    alone = catchment_coverage([(1000, 10, 19)])
    assert with_empty.estimate == alone.estimate and with_empty.se == alone.se
    assert (with_empty.areas, with_empty.left_out) == (1, 2)
    assert catchment_coverage([(1000, 0, 0)]) is None
    # All correct: no spread, the interval is the point, clipped to 100%.
    full = catchment_coverage([(500, 19, 19), (700, 19, 19)])
    assert (full.estimate, full.se, full.low, full.high) == (1.0, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="population"):
        catchment_coverage([(-5, 1, 19)])
    with pytest.raises(ValueError, match="impossible"):
        catchment_coverage([(5, 20, 19)])


# -- an admin's table -----------------------------------------------------------------------------

def test_an_admins_table_is_checked_cell_by_cell_against_the_table_it_changes():
    from programmes.lqas import RulesProblem, check_overrides

    # n = 19 row of programmes.md: 75% -> 12, 80% -> 13, 85% -> 14; n = 18 and 20 at 80%: 12 and 14
    # (recomputed here from the binomial, not read from the module's table).
    def best(n: int, target: int) -> int:
        hi, lo = distribution(n, Fraction(target, 100)), distribution(n, Fraction(target - 30, 100))
        errors = [(sum(hi[:d]), sum(lo[d:]), d) for d in range(n + 1)]
        fits = [(a + b, d) for a, b, d in errors if a <= Fraction(1, 10) and b <= Fraction(1, 10)]
        return min(fits)[1] if fits else min((max(a, b), a + b, d) for a, b, d in errors)[2]

    assert (best(19, 75), best(19, 80), best(19, 85), best(18, 80), best(20, 80)) == (12, 13, 14, 12, 14)
    # A national table's 12 at 80% (as the 75% cell): fits.
    assert check_overrides({(19, 80): 12}) == {(19, 80): 12}
    # 15 at 80% is more than the 14 at 85%: the rule would go down as the target rises.
    with pytest.raises(RulesProblem) as caught:
        check_overrides({(19, 80): 15})
    assert (caught.value.code, caught.value.other) == ("down_with_target", (19, 85, 14))
    # 14 (as 85%, and as n = 20 at 80%) fits; 15 with 85% raised to 15 still exceeds n = 20's 14.
    assert check_overrides({(19, 80): 14}) == {(19, 80): 14}
    with pytest.raises(RulesProblem) as caught:
        check_overrides({(19, 80): 15, (19, 85): 15})
    assert (caught.value.code, caught.value.other) == ("down_with_n", (20, 80, 14))
    # 11 at 80% is less than the 12 at 75%.
    with pytest.raises(RulesProblem) as caught:
        check_overrides({(19, 80): 11})
    assert (caught.value.code, caught.value.other) == ("down_with_target", (19, 75, 12))
    # 12 at n = 20 (with 75% lowered to 12 beside it) is less than the 13 at n = 19: more respondents
    # may not need fewer correct.
    with pytest.raises(RulesProblem) as caught:
        check_overrides({(20, 75): 12, (20, 80): 12})
    assert (caught.value.code, caught.value.other) == ("down_with_n", (19, 80, 13))
    # A target off the printed columns is compared with its neighbours among them: 82% sits between 80 and 85.
    assert check_overrides({(19, 82): 14}) == {(19, 82): 14}
    with pytest.raises(RulesProblem) as caught:
        check_overrides({(19, 82): 12})
    assert (caught.value.code, caught.value.other) == ("down_with_target", (19, 80, 13))
    for bad in (20, -1, 13.0, True, "13"):
        with pytest.raises(RulesProblem) as caught:
            check_overrides({(19, 80): bad})
        assert caught.value.code == "bad_d"


def test_the_binomial_defaults_own_step_down_is_not_laid_on_an_admin():
    from programmes.lqas import RulesProblem, check_overrides

    # n = 29: 6 at 30% (alpha only, beta undefined) and 5 at 35% (both errors): the defaults step down.
    assert (compute_rule(29, 30).d, compute_rule(29, 35).d) == (6, 5)
    # An admin's cell elsewhere in that row is judged only against its own neighbours.
    assert check_overrides({(29, 60): compute_rule(29, 60).d + 1}) == {(29, 60): compute_rule(29, 60).d + 1}
    # But a cell set beside the step is judged with it.
    with pytest.raises(RulesProblem) as caught:
        check_overrides({(29, 35): 4})
    assert caught.value.code == "down_with_target" and caught.value.other[:2] == (29, 30)
