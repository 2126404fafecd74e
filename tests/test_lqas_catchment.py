"""A catchment area's coverage from the soums' report aggregates (sync.reports.lqas_catchment), worked by hand.

No store: the aggregates are written out as the report index keeps them
(per soum, per supervision area, correct ``x`` and eligible ``n`` per
indicator), so the arithmetic can be followed line by line.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from programmes.lqas_survey import INDICATORS
from sync.lqas_setup import Catchment, SupervisionArea, Survey
from sync.reports import lqas_catchment

TES, NARAN = "uvs-tes", "uvs-naranbulag"


def per(x: int, n: int) -> dict:
    return {"interviews": 19, "hh": {}, "x": {"knows_ors": x}, "n": {"knows_ors": n}}


def test_worked_example_of_a_catchment_over_two_soums():
    """Catchment "north": Tes 1st bag (100 households, 15 of 19 know ORS), Tes 2nd bag (300 households,
    10 of 18: one mother did not consent), Naranbulag 1st bag (100 households, no interview in yet).
    Tes 3rd bag has interviews but is not in the catchment.

    Naranbulag's bag has no eligible respondent: left out, the weights are over 400 households.
    w = 1/4, 3/4;  p = 1/4 * 15/19 + 3/4 * 10/18 = 15/76 + 5/12 = 35/57 = 61.40%
    SE^2 = (1/4)^2 * (15/19)(4/19)/19 + (3/4)^2 * (10/18)(8/18)/18 = 15/27436 + 5/648 = 36725/4444632
    SE = 9.09 points; 95% CI 61.40 -+ 1.96 * 9.09 = 43.59% .. 79.22%
    """
    areas = (SupervisionArea(TES, "1-р баг", 100), SupervisionArea(TES, "2-р баг", 300),
             SupervisionArea(TES, "3-р баг", 999), SupervisionArea(NARAN, "1-р баг", 100))
    north = Catchment("north", {"mn": "Хойд", "en": "North"}, ((TES, "1-р баг"), (TES, "2-р баг"), (NARAN, "1-р баг")))
    survey = Survey(19, INDICATORS, areas, None, (north,))
    metas = {TES: {"lqas": {"1-р баг": per(15, 19), "2-р баг": per(10, 18), "3-р баг": per(2, 19)}},
             NARAN: {"lqas": {}}}
    found = lqas_catchment(metas, survey, north)
    assert (found.with_data, found.areas) == (2, 3)
    cov = found.coverage["knows_ors"]
    assert Fraction(15, 76) + Fraction(5, 12) == Fraction(35, 57)
    assert Fraction(15, 27436) + Fraction(5, 648) == Fraction(36725, 4444632)
    assert cov.estimate == pytest.approx(35 / 57, abs=1e-15)
    assert cov.se ** 2 == pytest.approx(36725 / 4444632, abs=1e-15)
    assert (round(cov.estimate * 100, 2), round(cov.low * 100, 2), round(cov.high * 100, 2)) == (61.4, 43.59, 79.22)
    assert (cov.population, cov.areas) == (400, 2)
    # An indicator nobody was asked in these areas: no figure rather than 0%.
    assert found.coverage["handwashing"] is None
    # A soum whose aggregate was not read counts as no interview in (the report reads every soum it needs).
    assert lqas_catchment({TES: metas[TES]}, survey, north).coverage["knows_ors"].estimate == cov.estimate
