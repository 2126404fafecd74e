"""LQAS (Lot Quality Assurance Sampling): decision rules, supervision areas, catchment coverage.

A supervision area (SA) is a lot: a simple random sample of respondents (19 by
default) is asked each indicator's questions, and the SA *reaches* the
indicator's coverage target when at least ``d`` respondents answer correctly.
``d`` comes from the binomial distribution (``../shared/programmes.md``
section 3.2), recomputed here rather than copied from a printed table:

- alpha (provider risk): the chance that an SA whose true coverage is exactly
  the target shows fewer than ``d`` correct, ``P(X < d | n, target)``;
- beta (consumer risk): the chance that an SA whose coverage is 30 points
  below the target shows ``d`` or more, ``P(X >= d | n, target - 30)``;
- the rule is the ``d`` with both at most 10% and the smallest alpha + beta;
  for targets of 30% or less the lower threshold is 0% or below, beta is
  undefined, and ``d`` is the largest with alpha at most 10%. Where no ``d``
  keeps both under 10% (small samples), the one with the smallest larger
  error is given and marked ``meets_bounds = False``.

The default table (``lqas_rules.json``, n = 12..30, targets 10..95%) is data:
``DecisionRules`` takes an admin's overrides (a printed national table, say)
cell by cell, and computes any other (n, target) on demand, since the number
of eligible respondents varies by indicator.

SA results pool into a catchment-area coverage: the population-weighted mean
of SA coverages with the standard stratified standard error,
``SE = sqrt(sum w_i^2 p_i (1 - p_i) / n_i)`` and a 95% interval ``p +/- 1.96 SE``
(section 3.3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

DEFAULT_N = 19
GAP = 30  # percentage points from the upper (target) to the lower threshold
MAX_ERROR = 0.10  # alpha and beta at most 10%
Z_95 = 1.96
RULES_FILE = "lqas_rules.json"


def binomial_below(n: int, d: int, p: float) -> float:
    """P(X < d) for X ~ Binomial(n, p), summed exactly term by term (``math.comb``)."""
    if d <= 0:
        return 0.0
    if d > n:
        return 1.0
    return math.fsum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(d))


def alpha(n: int, d: int, target: int) -> float:
    """Provider risk: an SA at the target shows fewer than ``d`` correct."""
    return binomial_below(n, d, target / 100)


def beta(n: int, d: int, target: int, gap: int = GAP) -> float | None:
    """Consumer risk: an SA ``gap`` points below the target shows ``d`` or more correct.
    None when the lower threshold is 0% or less (every SA at 0% shows 0 correct)."""
    lower = target - gap
    if lower <= 0:
        return None
    return 1.0 - binomial_below(n, d, lower / 100)


@dataclass(frozen=True)
class DecisionRule:
    n: int
    target: int  # percent
    d: int  # reached when at least d of n are correct
    alpha: float
    beta: float | None
    meets_bounds: bool  # alpha (and beta, when defined) at most MAX_ERROR
    source: str  # "computed", "table" or "override"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _check_cell(n: Any, target: Any) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 1000:
        raise ValueError(f"the sample size n must be a whole number from 1 to 1000, not {n!r}")
    if isinstance(target, bool) or not isinstance(target, int) or not 1 <= target <= 100:
        raise ValueError(f"a coverage target is a whole percent from 1 to 100, not {target!r}")


def _rule_for(n: int, target: int, d: int, source: str, gap: int, max_error: float) -> DecisionRule:
    a, b = alpha(n, d, target), beta(n, d, target, gap)
    meets = a <= max_error and (b is None or b <= max_error)
    return DecisionRule(n, target, d, a, b, meets, source)


def compute_rule(n: int, target: int, *, gap: int = GAP, max_error: float = MAX_ERROR) -> DecisionRule:
    """The decision rule for ``n`` respondents and a target of ``target`` percent (see module)."""
    _check_cell(n, target)
    rules = [_rule_for(n, target, d, "computed", gap, max_error) for d in range(n + 1)]
    if target - gap <= 0:
        return max((r for r in rules if r.alpha <= max_error), key=lambda r: r.d)
    good = [r for r in rules if r.meets_bounds]
    if good:
        return min(good, key=lambda r: (r.alpha + r.beta, r.d))
    return min(rules, key=lambda r: (max(r.alpha, r.beta), r.alpha + r.beta, r.d))


def default_table(ns: Iterable[int] = range(12, 31), targets: Iterable[int] = range(10, 100, 5)
                  ) -> dict[str, Any]:
    """The default table as stored in ``lqas_rules.json`` (regenerate with this)."""
    rules: dict[str, dict[str, dict[str, Any]]] = {}
    for n in ns:
        rules[str(n)] = {}
        for target in targets:
            rule = compute_rule(n, target)
            rules[str(n)][str(target)] = {"d": rule.d, "alpha": round(rule.alpha, 4),
                                          "beta": None if rule.beta is None else round(rule.beta, 4)}
    return {"gap": GAP, "max_error": MAX_ERROR, "rules": rules}


def _load_default() -> dict[str, Any]:
    # Beside this module (not importlib.resources.files("programmes"): with tests/ on sys.path the
    # name can resolve to the tests' programmes/ folder, a namespace package without the file).
    return orjson.loads((Path(__file__).parent / RULES_FILE).read_bytes())


class DecisionRules:
    """Decision rules by (n, target): an admin's overrides, else the stored table, else computed.

    ``overrides`` map ``(n, target) -> d``. A rule taken from the table or an
    override carries alpha and beta recomputed for its ``d``, so a printed
    table's choice shows its own errors.
    """

    def __init__(self, overrides: Mapping[tuple[int, int], int] | None = None,
                 table: dict[str, Any] | None = None):
        self.table = table if table is not None else _load_default()
        self.gap = self.table.get("gap", GAP)
        self.max_error = self.table.get("max_error", MAX_ERROR)
        self.overrides: dict[tuple[int, int], int] = {}
        for (n, target), d in (overrides or {}).items():
            _check_cell(n, target)
            if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= n:
                raise ValueError(f"the decision rule for n={n}, target {target}% must be a whole "
                                 f"number from 0 to {n}, not {d!r}")
            self.overrides[(n, target)] = d

    @classmethod
    def from_config(cls, config: Any) -> DecisionRules:
        """From an admin's settings: ``{"overrides": [{"n": 19, "target": 80, "d": 13}, ...]}``."""
        if not isinstance(config, dict) or not isinstance(config.get("overrides", []), list):
            raise ValueError('LQAS settings are {"overrides": [{"n", "target", "d"}, ...]}')
        overrides = {}
        for i, item in enumerate(config.get("overrides", [])):
            if not isinstance(item, dict) or set(item) != {"n", "target", "d"}:
                raise ValueError(f"override {i} must have exactly n, target and d")
            key = (item["n"], item["target"])
            if key in overrides:
                raise ValueError(f"override {i} repeats n={key[0]}, target {key[1]}%")
            overrides[key] = item["d"]
        return cls(overrides)

    def to_config(self) -> dict[str, Any]:
        return {"overrides": [{"n": n, "target": t, "d": d} for (n, t), d in sorted(self.overrides.items())]}

    def rule(self, n: int, target: int) -> DecisionRule:
        _check_cell(n, target)
        if (n, target) in self.overrides:
            return _rule_for(n, target, self.overrides[(n, target)], "override", self.gap,
                             self.max_error)
        stored = self.table.get("rules", {}).get(str(n), {}).get(str(target))
        if stored is not None:
            return _rule_for(n, target, stored["d"], "table", self.gap, self.max_error)
        return compute_rule(n, target, gap=self.gap, max_error=self.max_error)


# -- supervision areas ----------------------------------------------------------------------------

def tabulate(answers: Iterable[Any]) -> tuple[int, int]:
    """``(x, n)`` from respondents' indicator values: 1/True correct, 0/False not, None not eligible."""
    x = n = 0
    for value in answers:
        if value is None:
            continue
        if value not in (0, 1):  # True and False are 1 and 0
            raise ValueError(f"an indicator value is 1, 0 or None (not eligible), not {value!r}")
        n += 1
        x += int(value)
    return x, n


@dataclass(frozen=True)
class AreaResult:
    x: int
    n: int
    target: int
    rule: DecisionRule | None
    reached: bool | None  # None: no eligible respondent

    @property
    def coverage(self) -> float | None:
        return self.x / self.n if self.n else None


def classify_area(x: int, n: int, target: int, rules: DecisionRules | None = None) -> AreaResult:
    """Whether one SA reached ``target``: at least ``d(n, target)`` of its ``n`` eligible correct."""
    for name, value in (("x", x), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number from 0, not {value!r}")
    if x > n:
        raise ValueError(f"{x} correct of {n} eligible respondents is impossible")
    if n == 0:
        _check_cell(1, target)
        return AreaResult(x, n, target, None, None)
    rule = (rules or DecisionRules()).rule(n, target)
    return AreaResult(x, n, target, rule, x >= rule.d)


# -- the catchment area ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Coverage:
    estimate: float  # population-weighted coverage, 0..1
    se: float
    low: float  # 95% interval, clipped to 0..1
    high: float
    population: float  # of the SAs that have data
    areas: int  # SAs with eligible respondents and a population
    left_out: int  # SAs without eligible respondents or without a population


def catchment_coverage(areas: Iterable[tuple[float, int, int]], z: float = Z_95) -> Coverage | None:
    """Coverage of the catchment area from ``(population, x, n)`` per SA.

    ``p = sum w_i p_i`` with ``w_i = N_i / sum N``, ``SE = sqrt(sum w_i^2 p_i (1 - p_i) / n_i)``,
    interval ``p +/- z SE``. SAs without eligible respondents (or population) are left
    out and the weights are taken over the rest; None when none is left.
    """
    used: list[tuple[float, int, int]] = []
    left_out = 0
    for population, x, n in areas:
        if isinstance(population, bool) or not isinstance(population, int | float) or population < 0 \
                or not math.isfinite(population):
            raise ValueError(f"an SA's population must be a number from 0, not {population!r}")
        if x < 0 or n < 0 or x > n:
            raise ValueError(f"{x} correct of {n} eligible respondents is impossible")
        if n == 0 or population == 0:
            left_out += 1
            continue
        used.append((float(population), x, n))
    if not used:
        return None
    total = math.fsum(p for p, _, _ in used)
    estimate = math.fsum(p / total * x / n for p, x, n in used)
    variance = math.fsum((p / total) ** 2 * (x / n) * (1 - x / n) / n for p, x, n in used)
    se = math.sqrt(variance)
    return Coverage(estimate, se, max(0.0, estimate - z * se), min(1.0, estimate + z * se), total,
                    len(used), left_out)


# -- an admin's table -----------------------------------------------------------------------------

TARGET_GRID = tuple(range(10, 100, 5))  # the printed tables' columns (programmes.md 3.2)
TABLE_NS = range(12, 31)  # the rows of the stored table, and of the page by default


@dataclass
class RulesProblem(ValueError):
    """Why a decision-rule table cannot be saved: ``code`` names the rule (pages translate it) and
    ``n``/``target`` the cell; ``other`` the neighbouring cell it disagrees with, if any."""

    code: str
    n: int
    target: int
    d: Any = None
    other: tuple[int, int, int] | None = None  # (n, target, d) of the neighbour

    def __str__(self) -> str:
        return f"{self.code} at n={self.n}, target {self.target}%: d={self.d!r} (against {self.other})"


def check_overrides(overrides: Mapping[tuple[int, int], Any], base: DecisionRules | None = None
                    ) -> dict[tuple[int, int], int]:
    """An admin's cells ``(n, target) -> d`` checked against the table they change, or the first
    ``RulesProblem`` (cells in order of n, then target).

    Each d is a whole number from 0 to n. A table's d does not go down as the target rises (a higher
    target asks for more correct answers) nor as n rises (more respondents, more correct ones
    needed): each overridden cell is compared with its neighbours in the table as it would be after
    the change, the next and previous target of the printed columns (and of the other cells set
    for that n) and n - 1, n + 1. Only pairs with an overridden cell are judged: the binomial
    defaults themselves step down once (n = 29 and 30, from 30% to 35%, where beta starts to count)
    and an admin cannot be asked to fix that.
    """
    base = base or DecisionRules()
    cells: dict[tuple[int, int], int] = {}
    for (n, target) in sorted(overrides):
        d = overrides[(n, target)]
        _check_cell(n, target)
        if isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= n:
            raise RulesProblem("bad_d", n, target, d)
        cells[(n, target)] = d
    merged = DecisionRules(cells, base.table)

    def d_at(n: int, target: int) -> int:
        return merged.rule(n, target).d

    for (n, target), d in sorted(cells.items()):
        targets = sorted({*TARGET_GRID, *(t for (m, t) in cells if m == n), target})
        i = targets.index(target)
        if i > 0 and d_at(n, targets[i - 1]) > d:
            raise RulesProblem("down_with_target", n, target, d, (n, targets[i - 1], d_at(n, targets[i - 1])))
        if i + 1 < len(targets) and d_at(n, targets[i + 1]) < d:
            raise RulesProblem("down_with_target", n, target, d, (n, targets[i + 1], d_at(n, targets[i + 1])))
        if n > 1 and d_at(n - 1, target) > d:
            raise RulesProblem("down_with_n", n, target, d, (n - 1, target, d_at(n - 1, target)))
        if n < 1000 and d_at(n + 1, target) < d:
            raise RulesProblem("down_with_n", n, target, d, (n + 1, target, d_at(n + 1, target)))
    return cells
