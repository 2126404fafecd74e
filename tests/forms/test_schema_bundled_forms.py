"""The example forms shipped in schemas/forms/: valid, bilingual, and they catch bad data.

Each is realistic for outreach in rural Mongolia; a sample submission as a
device would send it passes, and broken copies fail at the right answer.
"""

from __future__ import annotations

import re

import pytest
from form_samples import SAMPLES, sample

from schemas import bundled_forms, compile_form, load_definition

FORMS = {f["form"]: f for f in bundled_forms()}
CYRILLIC = re.compile(r"[А-Яа-яЁёӨөҮү]")


def test_the_example_and_programme_forms_are_bundled():
    assert sorted(FORMS) == [
        "awareness_session",
        "child_growth",
        "child_protection_referral",
        "community_project",
        "family_assessment",
        "ger_kindergarten_visit",
        "growth_visit",
        "health_scorecard",
        "household_visit",
        "kindergarten_wash_visit",
        "lqas_interview",
        "scorecard_cycle",
        "scorecard_followup",
        "scorecard_input_tracking",
    ]
    assert set(SAMPLES) == set(FORMS)


def walk(fields):
    for field in fields:
        yield field
        yield from walk(field.get("fields", []))


@pytest.mark.parametrize("name", sorted(FORMS))
def test_each_form_is_a_valid_definition_in_english_and_mongolian(name):
    definition = FORMS[name]
    assert load_definition(definition) == definition
    assert set(definition["title"]) == {"en", "mn"}
    labelled = [f for f in walk(definition["fields"]) if "label" in f]
    assert all(CYRILLIC.search(f["label"]["mn"]) for f in labelled)
    for items in definition["choices"].values():
        assert all(set(c["label"]) == {"en", "mn"} for c in items)


@pytest.mark.parametrize("name", sorted(FORMS))
def test_each_form_uses_the_variety_of_the_language(name):
    fields = list(walk(FORMS[name]["fields"]))
    types = {f["type"] for f in fields}
    assert {"repeat", "select_multiple", "image", "geopoint"} <= types
    assert any("relevant" in f for f in fields)
    assert any("constraint" in f for f in fields)


def test_only_the_child_protection_referral_is_sensitive():
    assert {n for n, f in FORMS.items() if f["sensitive"]} == {"child_protection_referral"}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_a_realistic_submission_passes(name):
    data, attachments = sample(name)
    assert compile_form(FORMS[name]).validate(data, attachments) == []
    assert compile_form(FORMS[name]).validate(data, attachments, lang="mn") == []


def broken(name, change):
    data, attachments = sample(name)
    change(data, attachments)
    return {p["field"]: p["message"] for p in compile_form(FORMS[name]).validate(data, attachments)}


def test_household_visit_catches_bad_answers():
    def change(data, attachments):
        data["head"]["phone"] = "9911"
        data["members"][2]["member_age"] = 140
        data["members"][3]["in_school"] = None
        data["livestock"]["sheep"] = -3
        data["household_size"] = 3
        data["needs"] = ["food", "fuel", "health", "other"]
        attachments.clear()

    assert broken("household_visit", change) == {
        "head.phone": "A Mongolian mobile number has 8 digits.",
        "household_size": "Fewer people than members listed below.",
        "members[2].member_age": "Must be at most 110.",
        # Skip logic reads the answers as sent: at 140 the school question is not asked.
        "members[2].in_school": "This question does not apply to this case (its skip condition is not met), so it must be left empty.",
        "members[3].in_school": "This question is required.",
        "livestock.sheep": "Must be at least 0.",
        "needs": "Choose at most three needs.",
        "dwelling_photo": "The photo 'ger.jpg' did not arrive with the submission; attach it again and sync.",
    }


def test_household_visit_without_consent_asks_nothing_more():
    def change(data, attachments):
        kept = {"consent": "no", "visit_date": data["visit_date"]}
        data.clear()
        data.update(kept)

    assert broken("household_visit", change) == {}


def test_household_visit_hides_livestock_of_non_herders():
    def change(data, attachments):
        data["herder"] = "no"

    assert broken("household_visit", change) == {
        "livestock": "This question does not apply to this case (its skip condition is not met), so it must be left empty."
    }


def test_child_growth_catches_implausible_measurements():
    def change(data, attachments):
        data["weight_kg"] = 52.0
        data["height_position"] = "standing"
        data["height_cm"] = 55.0
        data["age_months"] = 30
        data["vaccinations"][0]["vaccine_date"] = "2023-01-01"

    assert broken("child_growth", change) == {
        "age_months": "Age in months does not match the birth date.",
        "weight_kg": "Must be at most 35.",
        "height_cm": "Children under 60 cm are measured lying down.",
        "foods_yesterday": "This question does not apply to this case (its skip condition is not met), so it must be left empty.",
        "vaccinations[0].vaccine_date": "Must be between birth and the measurement date.",
    }


def test_child_growth_asks_muac_only_from_six_months():
    def change(data, attachments):
        data["birth_date"] = "2025-08-01"
        data["age_months"] = 2
        data["vaccinations"] = []

    assert broken("child_growth", change) == {
        "muac_mm": "This question does not apply to this case (its skip condition is not met), so it must be left empty."
    }


def test_ger_kindergarten_needs_the_photo_of_the_handwashing_station():
    def change(data, attachments):
        del data["wash"]["station_photo"]
        data["attendance"][1]["present"] = "no"
        data["children_enrolled"] = 2

    assert broken("ger_kindergarten_visit", change) == {
        "children_enrolled": "More children in the attendance list than enrolled.",
        "attendance[1].absence_reason": "This question is required.",
        "wash.station_photo": "This question is required.",
    }


def test_child_protection_referral_enforces_the_case_code_and_urgent_referrals():
    def change(data, attachments):
        data["case_code"] = "Энхжин"
        data["urgency"] = "immediate"
        data["contacts"][0]["contact_time"] = "tonight"

    assert broken("child_protection_referral", change) == {
        "case_code": "Write the code like TES-2026-014.",
        "safety_action": "This question is required.",
        "referred_to": "Immediate danger must be referred to the police or the multidisciplinary team.",
        "contacts[0].contact_time": "Enter a date and time, such as 2026-11-01T14:30:00+08:00.",
    }


def test_health_scorecard_needs_reasons_for_low_scores_and_enough_people():
    def change(data, attachments):
        data["participants"] = {"women": 2, "men": 1}
        del data["scores"][0]["reason"]
        data["scores"] = data["scores"][:2]
        data["action_deadline"] = "2025-09-01"

    assert broken("health_scorecard", change) == {
        "participants.men": "A scorecard needs at least 5 participants.",
        "scores": "Add more entries: at least 3 are needed.",
        "scores[0].reason": "This question is required.",
        "action_deadline": "The deadline is before the meeting.",
    }


def test_growth_visit_enforces_who_input_rules():
    def change(data, attachments):
        data["lenhei_cm"] = 79.55  # WHO interpolates two decimals; the form keeps one
        data["weight_kg"] = 0.5
        data["dob"] = "2020-09-01"  # 61 months at the visit: no z-scores past 59 months
        data["position"] = "sitting"

    assert broken("growth_visit", change) == {
        "lenhei_cm": "Length or height in cm with one decimal (e.g. 82.4).",
        "weight_kg": "Must be at least 0.9.",
        "dob": "The birth date must be before the visit, and the child under 5 years (60 months) old.",
        "position": "'sitting' is not one of the choices; choose one of: l, h.",
    }


def test_growth_visit_asks_muac_only_from_six_months():
    def change(data, attachments):
        data["dob"] = "2025-05-01"

    assert broken("growth_visit", change) == {
        "muac_mm": "This question does not apply to this case (its skip condition is not met), so it must be left empty."
    }
