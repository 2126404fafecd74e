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


# -- several eligibility conditions ---------------------------------------------------------------

SEVERAL = {"key": "ors_6_11_weighed", "label": {"mn": "ШНУ 6-11 сар", "en": "ORS, 6-11 months, weighed"},
           "target": "50", "question": "knows_ors", "correct": "yes",
           "eligible": [["child_age_months", ">=", "6"], ["child_age_months", "<", "12"],
                        ["weighed_3_months", "=", "yes"]]}


def test_several_conditions_must_all_hold_each_on_its_own_question():
    ind = check_indicators([SEVERAL], QUESTIONS)[0]
    assert ind.eligible == (("child_age_months", ">=", 6), ("child_age_months", "<", 12),
                            ("weighed_3_months", "=", "yes"))
    base = {"consent": "yes", "weighed_3_months": "yes", "knows_ors": "yes"}
    # (age, weighed, knows ORS) -> worked out by hand: eligible only at 6..11 months and weighed.
    cases = [(5, "yes", "yes", None), (6, "yes", "yes", 1), (11, "yes", "no", 0), (12, "yes", "yes", None),
             (8, "no", "yes", None), (8, None, "yes", None), ("8", "yes", "yes", None), (9, "yes", "maybe", None)]
    for age, weighed, ors, want in cases:
        data = {**base, "child_age_months": age, "weighed_3_months": weighed, "knows_ors": ors}
        assert ind.value(data) == want, (age, weighed, ors)
    assert ind.value({**base, "consent": "no", "child_age_months": 8}) is None
    # Ten mothers tallied: eligible 6..11 and weighed -> ages 6, 7, 9, 11 (4), of whom 3 know ORS.
    mothers = [(3, "yes", "yes"), (6, "yes", "yes"), (7, "yes", "no"), (8, "no", "yes"), (9, "yes", "yes"),
               (11, "yes", "yes"), (12, "yes", "yes"), (15, "no", "no"), (20, "yes", "yes"), (10, "no", "yes")]
    values = [ind.value({**base, "child_age_months": a, "weighed_3_months": w, "knows_ors": o}) for a, w, o in mothers]
    assert (sum(v for v in values if v is not None), sum(v is not None for v in values)) == (3, 4)
    assert Indicator.from_json(orjson.loads(orjson.dumps(ind.to_json()))) == ind


def test_a_set_up_saved_with_one_condition_reads_as_before_and_keeps_its_fingerprint():
    import hashlib

    old = {**INDICATORS[0].to_json(), "eligible": ["child_age_months", ">=", 12]}  # as stored before
    none = {**INDICATORS[1].to_json(), "eligible": None}
    assert Indicator.from_json(old) == INDICATORS[0] and Indicator.from_json(none) == INDICATORS[1]
    assert check_indicators([old, none], QUESTIONS) == INDICATORS[:2]
    # The fingerprint as it was computed when one condition was the most (written out again here):
    # an unchanged set-up is not counted again after the upgrade.
    rules = [[i.key, i.question, list(i.correct), i.at_least,
              list(i.eligible[0]) if i.eligible else None, i.multiple, list(i.choices)] for i in INDICATORS]
    assert rules_fingerprint(INDICATORS) == hashlib.sha1(orjson.dumps(rules)).hexdigest()[:16]
    # A second condition, or another value in one, is another rule.
    vaccinated = INDICATORS[0]
    two = dataclasses.replace(vaccinated, eligible=(*vaccinated.eligible, ("respondent_type", "=", "mother_12_23")))
    other = dataclasses.replace(two, eligible=(two.eligible[0], ("respondent_type", "=", "mother_0_11")))
    prints = {rules_fingerprint((i, *INDICATORS[1:])) for i in (vaccinated, two, other)}
    assert len(prints) == 3


def test_a_bad_condition_is_named_by_its_row_and_number_and_empty_condition_rows_are_left_out():
    kept = check_indicators([{**SEVERAL, "eligible": [["", "", ""], *SEVERAL["eligible"], ["", "", ""]]}],
                            QUESTIONS)[0]
    assert len(kept.eligible) == 3
    for k, bad, code in ((2, ["child_age_months", "<", "twelve"], "bad_eligible_number"),
                         (3, ["weighed_3_months", ">", "yes"], "bad_eligible_choice"),
                         (1, ["handwash_times", "=", "other"], "bad_eligible_field"),
                         (2, ["child_age_months", "", "12"], "bad_operator")):
        conditions = list(SEVERAL["eligible"])
        conditions[k - 1] = bad
        with pytest.raises(SetupProblem) as caught:
            check_indicators([GOOD, {**SEVERAL, "eligible": conditions}], QUESTIONS)
        assert (caught.value.code, caught.value.row, caught.value.params["condition"]) == (code, 2, k)
    with pytest.raises(SetupProblem) as caught:
        check_indicators([{**SEVERAL, "eligible": [["child_age_months", ">=", str(k)] for k in range(9)]}], QUESTIONS)
    assert (caught.value.code, caught.value.params["max"]) == ("too_many_conditions", 8)
