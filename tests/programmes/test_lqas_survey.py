"""The LQAS survey's indicators as data (programmes/lqas_survey.py), and the checks of an admin's list.

The bundled indicators, once hand-written functions, are now rules over one
question each: over thousands of random interviews (the demo's, and ones with
answers missing, of the wrong type, or without consent) they must give what
the hand-written rules, written out again here, gave. The check of an admin's
list refuses each kind of mistake with its own code (the page words it).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date
from pathlib import Path

import orjson
import pytest

from programmes.lqas_survey import (
    INDICATORS,
    Indicator,
    SetupProblem,
    check_indicators,
    form_questions,
    indicator_values,
    rules_fingerprint,
)
from sync.demo_programmes import lqas_interview

FORM = orjson.loads((Path(__file__).parents[2] / "schemas" / "forms" / "lqas_interview.json").read_bytes())
QUESTIONS = form_questions([FORM])
CRITICAL = {"after_toilet", "before_cooking", "before_feeding", "after_cleaning_child"}


def by_hand(data: dict) -> dict:
    """The hand-written rules the bundled survey had before its rules became data."""
    def yes(field: str, eligible: bool = True):
        if data.get("consent") != "yes" or not eligible or data.get(field) not in ("yes", "no"):
            return None
        return int(data[field] == "yes")

    age = data.get("child_age_months")
    handwash = None if data.get("consent") != "yes" else int(len(CRITICAL & set(data.get("handwash_times") or [])) >= 2)
    return {"fully_vaccinated": yes("fully_vaccinated", isinstance(age, int) and age >= 12),
            "weighed_3_months": yes("weighed_3_months"), "knows_ors": yes("knows_ors"), "handwashing": handwash}


def test_the_bundled_indicators_give_what_the_hand_written_rules_gave():
    rng = random.Random(19)
    seen = set()
    for i in range(3000):
        chances = {k: rng.random() for k in ("fully_vaccinated", "weighed_3_months", "knows_ors", "handwashing")}
        data = lqas_interview(rng, "1-р баг", 100, 1 + i % 19, date(2026, 11, 1), chances, (47.9, 106.9))
        if i % 7 == 3:
            data.pop(rng.choice(["knows_ors", "weighed_3_months", "handwash_times", "child_age_months"]), None)
        if i % 11 == 5:
            data["child_age_months"] = rng.choice(["14", None, True])
        if i % 13 == 6:
            data["knows_ors"] = rng.choice(["", "maybe", None])
        got = indicator_values(data)
        assert got == by_hand(data), data
        seen.update((k, v) for k, v in got.items())
    assert {(k, v) for k in ("fully_vaccinated", "weighed_3_months", "knows_ors", "handwashing")
            for v in (0, 1, None)} <= seen
    # One difference on purpose: a number with a fraction is a number (a decimal question may be tested).
    vaccinated = {"consent": "yes", "child_age_months": 12.0, "fully_vaccinated": "yes"}
    assert indicator_values(vaccinated)["fully_vaccinated"] == 1 and by_hand(vaccinated)["fully_vaccinated"] is None


def test_a_single_choice_eligibility_and_a_round_trip_through_json():
    ind = check_indicators([{"key": "ors_older", "label": {"mn": "ШНУ", "en": "ORS"}, "target": "70",
                             "question": "knows_ors", "correct": "yes",
                             "eligible": ["respondent_type", "=", "mother_12_23"]}], QUESTIONS)[0]
    assert ind.value({"consent": "yes", "respondent_type": "mother_12_23", "knows_ors": "yes"}) == 1
    assert ind.value({"consent": "yes", "respondent_type": "mother_12_23", "knows_ors": "no"}) == 0
    assert ind.value({"consent": "yes", "respondent_type": "mother_0_11", "knows_ors": "yes"}) is None
    assert ind.value({"consent": "no", "respondent_type": "mother_12_23", "knows_ors": "yes"}) is None
    assert Indicator.from_json(orjson.loads(orjson.dumps(ind.to_json()))) == ind
    assert rules_fingerprint((ind,)) != rules_fingerprint(INDICATORS)
    # A target or a name is not a rule: the counts stay good when only they change.
    renamed = dataclasses.replace(ind, label={"mn": "x", "en": "y"}, target=90)
    assert rules_fingerprint((renamed,)) == rules_fingerprint((ind,))


GOOD = {"key": "k", "label": {"mn": "нэр", "en": "name"}, "target": "60", "question": "handwash_times",
        "correct": "after_toilet, before_cooking", "at_least": "2", "eligible": ["child_age_months", ">=", "6"]}


@pytest.mark.parametrize("change,code", [
    ({"key": "Bad Key"}, "bad_key"),
    ({"label": {"mn": "нэр", "en": " "}}, "missing_label"),
    ({"target": "100"}, "bad_target"),
    ({"target": "6o"}, "bad_target"),
    ({"question": "interviewer"}, "bad_question"),
    ({"question": "nowhere"}, "bad_question"),
    ({"correct": " , "}, "no_correct"),
    ({"correct": "after_toilet, at_school"}, "unknown_answer"),
    ({"at_least": "3"}, "bad_at_least"),
    ({"question": "knows_ors", "correct": "yes", "at_least": "2"}, "bad_at_least"),
    ({"eligible": ["interview_date", ">=", "6"]}, "bad_eligible_field"),
    ({"eligible": ["child_age_months", "~", "6"]}, "bad_operator"),
    ({"eligible": ["child_age_months", ">=", "six"]}, "bad_eligible_number"),
    ({"eligible": ["respondent_type", ">=", "mother_0_11"]}, "bad_eligible_choice"),
    ({"eligible": ["respondent_type", "=", "father"]}, "bad_eligible_choice"),
])
def test_each_mistake_in_an_admins_list_is_refused_with_its_code(change: dict, code: str):
    assert check_indicators([GOOD], QUESTIONS)[0].at_least == 2
    with pytest.raises(SetupProblem) as caught:
        check_indicators([{**GOOD, **change}], QUESTIONS)
    assert caught.value.code == code and caught.value.row == 1


def test_the_list_as_a_whole():
    with pytest.raises(SetupProblem) as caught:
        check_indicators([], QUESTIONS)
    assert caught.value.code == "no_indicators"
    with pytest.raises(SetupProblem) as caught:
        check_indicators([GOOD, {**GOOD, "target": "70"}], QUESTIONS)
    assert (caught.value.code, caught.value.row) == ("duplicate_key", 2)
    assert [i.key for i in check_indicators([i.to_json() for i in INDICATORS], QUESTIONS)] == [
        i.key for i in INDICATORS]
    assert check_indicators([i.to_json() for i in INDICATORS], QUESTIONS) == INDICATORS
