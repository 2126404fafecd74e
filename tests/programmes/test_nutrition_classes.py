"""Nutrition classes (programmes/nutrition.py): WHO's cut-offs, strict, flagged values left out.

The classes are what prevalence counts, so each boundary is pinned on both
sides, flagged z-scores give no class, and oedema counts as below -3 SD for
the weight indicators, as WHO R anthro's prevalence does.
"""

from __future__ import annotations

import re

import pytest

from programmes.growth import zscores
from programmes.nutrition import CUTOFFS, LABELS, VALUE_LABELS, classify, label, muac_class

CYRILLIC = re.compile(r"[А-Яа-яЁёӨөҮү]")


def z(**values) -> dict:
    """A z-score result with the given values, flags 0, 24 months old, no oedema."""
    out = {"age_months": 24.0, "oedema": False}
    for name in ("zlen", "zwei", "zwfl", "zbmi", "zac"):
        out[name] = values.pop(name, None)
        out["f" + name[1:]] = None if out[name] is None else 0
    out.update(values)
    return out


@pytest.mark.parametrize(("name", "zname"), [
    ("stunting", "zlen"), ("wasting", "zwfl"), ("underweight", "zwei")])
@pytest.mark.parametrize(("value", "expected"), [
    (0.0, "none"), (-2.0, "none"), (-2.01, "moderate"), (-3.0, "moderate"), (-3.01, "severe"),
    (-5.9, "severe"), (None, None)])
def test_low_classes_use_strict_cutoffs(name, zname, value, expected):
    assert classify(z(**{zname: value}))[name] == expected


@pytest.mark.parametrize(("value", "expected"), [
    (2.0, "none"), (2.01, "overweight"), (3.0, "overweight"), (3.01, "obese"), (-1.0, "none"),
    (None, None)])
def test_overweight_and_obese(value, expected):
    assert classify(z(zwfl=value))["weight_for_length"] == expected


def test_flagged_zscores_give_no_class():
    flagged = z(zlen=-6.5, zwei=-6.2, zwfl=5.5)
    flagged.update(flen=1, fwei=1, fwfl=1)
    classes = classify(flagged)
    assert classes["stunting"] is classes["underweight"] is classes["wasting"] is None
    assert classes["weight_for_length"] is None
    assert classes["acute_malnutrition"] is None  # no usable WHZ and no MUAC


def test_oedema_counts_as_severe_for_weight_indicators():
    result = zscores(1, age_days=400, weight_kg=8, lenhei_cm=72, position="l", oedema=True)
    classes = classify(result, muac_mm=135)
    assert (classes["wasting"], classes["underweight"], classes["weight_for_length"]) == (
        "severe", "severe", "none")
    # Length-for-age is not touched by oedema.
    well = classify(zscores(1, age_days=400, weight_kg=8, lenhei_cm=72, position="l"), muac_mm=135)
    assert classes["stunting"] == well["stunting"] == "moderate"
    assert well["wasting"] == "none" and well["acute_malnutrition"] == "none"
    assert (classes["acute_malnutrition"], classes["referral_needed"]) == ("sam", True)


@pytest.mark.parametrize(("mm", "expected"), [
    (100, "sam"), (114, "sam"), (115, "mam"), (124, "mam"), (124.9, "mam"), (125, "normal"),
    (160, "normal")])
def test_muac_cutoffs_115_and_125_mm(mm, expected):
    assert muac_class(mm, 24.0) == expected


@pytest.mark.parametrize(("months", "classified"), [
    (5.99, False), (6.0, True), (59.99, True), (60.0, False), (None, False)])
def test_muac_is_classified_from_6_to_59_months(months, classified):
    assert (muac_class(110, months) is not None) == classified


@pytest.mark.parametrize(("zwfl", "muac", "expected"), [
    (-3.01, 150, "sam"), (-1.0, 114, "sam"), (-2.5, 150, "mam"), (-1.0, 120, "mam"),
    (-3.0, None, "mam"), (-2.0, 125, "none"), (None, 130, "none"), (-1.0, None, "none"),
    (None, 110, "sam"), (None, None, None)])
def test_acute_malnutrition_sam_before_mam(zwfl, muac, expected):
    classes = classify(z(zwfl=zwfl), muac_mm=muac)
    assert classes["acute_malnutrition"] == expected
    assert classes["referral_needed"] is (expected in ("sam", "mam"))


def test_infants_under_6_months_are_classified_by_whz_and_oedema_only():
    infant = z(zwfl=-1.0, age_months=4.0)
    assert classify(infant, muac_mm=100)["acute_malnutrition"] == "none"  # MUAC does not count
    assert classify(infant, muac_mm=100)["muac_class"] is None
    assert classify(z(zwfl=-3.2, age_months=4.0))["acute_malnutrition"] == "sam"


def test_children_of_60_months_or_more_are_not_classified():
    old = zscores(1, age_months=61, weight_kg=10, lenhei_cm=90, position="h", oedema=True)
    classes = classify(old, muac_mm=100)
    assert all(value in (None, False) for value in classes.values())


def test_cutoffs_are_one_table_and_labels_are_bilingual():
    assert CUTOFFS["stunting"] == {"z": "zlen", "moderate": -2.0, "severe": -3.0}
    assert CUTOFFS["muac"]["sam_below_mm"] == 115 and CUTOFFS["muac"]["mam_below_mm"] == 125
    for table in (LABELS, VALUE_LABELS):
        for texts in table.values():
            assert set(texts) == {"en", "mn"} and CYRILLIC.search(texts["mn"])
    assert label("wasting") == "Wasting" and label("wasting", lang="mn") == "Туранхай"
    assert label("muac_class", "sam", "mn").startswith("Хүнд хэлбэрийн")
    classes = classify(z(zwfl=-2.5, zlen=-3.5, zwei=2.5), muac_mm=130)
    for name, value in classes.items():
        assert label(name)
        if isinstance(value, str):
            assert label(name, value, "mn") and label(name, value, "en")
