"""Community scorecard computations, worked by hand from programmes.md section 6.

Normalisation (s - min) / (max - min) * 100; community score = mean of the
focus groups' means; gap = community - provider; overall = mean of the
indicators; trend = this cycle - the previous; completion = done / agreed with
each action at its latest follow-up status; overdue = deadline passed, not done
or dropped.
"""

from __future__ import annotations

from datetime import date

import pytest

from programmes import scorecards as csc


@pytest.mark.parametrize(("score", "low", "high", "expected"), [
    (3, 1, 5, 50.0), (1, 1, 5, 0.0), (5, 1, 5, 100.0), (7, 1, 10, 66.66666666666667),
    (50, 0, 100, 50.0), (4, 0, 10, 40.0),
])
def test_normalise(score, low, high, expected):
    assert csc.normalise(score, low, high) == pytest.approx(expected)


def test_normalise_refuses_a_score_outside_or_a_flat_scale():
    with pytest.raises(ValueError):
        csc.normalise(6, 1, 5)
    with pytest.raises(ValueError):
        csc.normalise(3, 5, 5)


CYCLE_1 = {  # on a 1-5 scale
    "facility_type": "health_centre", "facility_name": " Тэс  сумын ЭМТ ", "cycle_no": 1,
    "meeting_date": "2025-11-20", "scale_min": 1, "scale_max": 5,
    "participants_women": 12, "participants_men": 8,
    "community_scores": [
        # Waiting time: women 2 and 3 (rows of one group averaged first: 25, 50 -> 37.5), men 4 (75)
        {"indicator": "Waiting time", "group_type": "women", "score": 2},
        {"indicator": "waiting  TIME", "group_type": "women", "score": 3},
        {"indicator": "Waiting time", "group_type": "men", "score": 4},
        # Medicines: women 1 (0), youth 5 (100)
        {"indicator": "Medicines", "group_type": "women", "score": 1},
        {"indicator": "Medicines", "group_type": "youth", "score": 5},
    ],
    "provider_scores": [{"p_indicator": "Waiting time", "p_score": 5}],
    "actions": [
        {"action_no": 1, "action": "Queue board", "responsible": "Head", "deadline": "2026-01-31", "status": "planned"},
        {"action_no": 2, "action": "Medicine list", "responsible": "Head", "deadline": "2026-03-31", "status": "planned"},
        {"action_no": 3, "action": "Repair toilet", "responsible": "Soum", "deadline": "2026-12-31", "status": "planned"},
    ],
}


def test_a_cycle_is_summarised_on_the_0_100_scale():
    got = csc.summarise_cycle(CYCLE_1)
    assert got["facility_key"] == "health_centre~тэс сумын эмт"
    ind = {i["key"]: i for i in got["indicators"]}
    wait, med = ind["waiting time"], ind["medicines"]
    # Waiting: women mean (25 + 50) / 2 = 37.5, men 75 -> (37.5 + 75) / 2 = 56.25 -> 56.2 (rounded half even)
    assert wait["groups"] == {"men": 75.0, "women": 37.5}
    assert wait["community"] == 56.2 and wait["provider"] == 100.0 and wait["gap"] == -43.8
    assert med["community"] == 50.0 and med["provider"] is None and med["gap"] is None
    # overall = mean(56.25, 50) = 53.125
    assert got["overall"] == 53.1 and got["overall_provider"] == 100.0
    assert (got["actions_agreed"], got["actions_done"]) == (3, 0)


def test_follow_ups_set_the_latest_status_and_overdue_counts_open_actions_past_their_deadline():
    cycle = csc.summarise_cycle(CYCLE_1)
    key = cycle["facility_key"]
    followups = [
        {"facility_key": key, "cycle_no": 1, "followup_date": "2026-04-01",
         "updates": [{"action_no": 1, "status": "done"}, {"action_no": 2, "status": "in_progress"}]},
        {"facility_key": key, "cycle_no": 1, "followup_date": "2026-02-01",  # older: applied first
         "updates": [{"action_no": 1, "status": "in_progress"}, {"action_no": 3, "status": "dropped"}]},
        {"facility_key": key, "cycle_no": 2, "followup_date": "2026-05-01",  # another cycle: ignored
         "updates": [{"action_no": 2, "status": "done"}]},
        {"facility_key": "school~x", "cycle_no": 1, "followup_date": "2026-05-01",  # another facility
         "updates": [{"action_no": 2, "status": "done"}]},
    ]
    actions = csc.action_statuses(cycle, followups, today=date(2026, 6, 1))
    assert [(a["action_no"], a["status"], a["status_date"], a["overdue"]) for a in actions] == [
        (1, "done", "2026-04-01", False), (2, "in_progress", "2026-04-01", True), (3, "dropped", "2026-02-01", False)]
    assert csc.completion(actions) == {"agreed": 3, "done": 1, "overdue": 1, "pct": 33.3}
    assert csc.completion([]) == {"agreed": 0, "done": 0, "overdue": 0, "pct": None}


def test_cycles_on_different_scales_compare_with_the_trend_of_the_latest_two():
    c1 = csc.summarise_cycle(CYCLE_1)
    c2 = csc.summarise_cycle({**CYCLE_1, "cycle_no": 2, "meeting_date": "2026-05-14", "scale_min": 0, "scale_max": 100,
                              "community_scores": [
                                  {"indicator": "Waiting time", "group_type": "women", "score": 70},
                                  {"indicator": "Waiting time", "group_type": "men", "score": 80},
                                  {"indicator": "Cleanliness", "group_type": "men", "score": 40}],
                              "provider_scores": []})
    c3 = csc.summarise_cycle({**CYCLE_1, "cycle_no": 3, "meeting_date": "2026-11-12", "scale_min": 1, "scale_max": 10,
                              "community_scores": [
                                  {"indicator": "Waiting time", "group_type": "women", "score": 10},
                                  {"indicator": "Cleanliness", "group_type": "women", "score": 4}],
                              "provider_scores": []})
    got = csc.compare([c3, c1, c2])
    assert got["cycles"] == [1, 2, 3]
    rows = {r["indicator"]: r for r in got["rows"]}
    assert rows["Waiting time"]["scores"] == {1: 56.2, 2: 75.0, 3: 100.0}
    assert rows["Waiting time"]["trend"] == 25.0
    # Cleanliness: 40 on 0-100, then 4 on 1-10 = 3/9 = 33.3 -> trend -6.7
    assert rows["Cleanliness"]["scores"] == {2: 40.0, 3: 33.3} and rows["Cleanliness"]["trend"] == -6.7
    assert rows["Medicines"]["trend"] is None  # not scored in the latest cycles
    # overall: c2 = mean(75, 40) = 57.5, c3 = mean(100, 33.33) = 66.67 -> 66.7; trend 9.2
    assert got["overall"] == {1: 53.1, 2: 57.5, 3: 66.7} and got["overall_trend"] == 9.2
    assert csc.compare([c1])["overall_trend"] is None


def test_a_soums_trend_is_the_mean_over_facilities_with_a_cycle_before():
    a = {"cycles": [1, 2], "overall": {1: 40.0, 2: 60.0}, "overall_trend": 20.0}
    b = {"cycles": [1, 2, 3], "overall": {1: 50.0, 2: 70.0, 3: 65.0}, "overall_trend": -5.0}
    c = {"cycles": [1], "overall": {1: 90.0}, "overall_trend": None}  # scored once: no trend
    # latest: (60 + 65 + 90) / 3 = 71.67; trend: (20 - 5) / 2 = 7.5
    assert csc.soum_trend([a, b, c]) == {"facilities": 3, "latest_mean": 71.7, "compared": 2, "trend_mean": 7.5}
    assert csc.soum_trend([]) == {"facilities": 0, "latest_mean": None, "compared": 0, "trend_mean": None}


def test_the_scale_labels_travel_with_the_cycle():
    assert csc.summarise_cycle({**CYCLE_1, "scale_labels": "1 = very poor, 5 = very good"})["scale_labels"] == (
        "1 = very poor, 5 = very good")


def test_inputs_are_compared_with_their_entitlements():
    got = csc.summarise_inputs({
        "facility_type": "school", "facility_name": "Тэс  сургууль", "cycle_no": 2, "tracking_date": "2026-05-01",
        "inputs": [{"input": "Teachers", "entitlement": 18, "actual": 15, "remark": "Two posts vacant"},
                   {"input": "Textbooks", "entitlement": 300, "actual": 300},
                   {"input": "Toilets", "entitlement": 0, "actual": 2}]})
    assert got["facility_key"] == "school~тэс сургууль" and got["cycle_no"] == 2
    # 15 / 18 = 83.3%; 300 / 300 = 100%; an entitlement of 0 has no share but is met
    assert [(i["pct"], i["met"]) for i in got["inputs"]] == [(83.3, False), (100.0, True), (None, True)]
    assert (got["inputs_met"], got["inputs_tracked"]) == (2, 3)
    with pytest.raises(ValueError):
        csc.summarise_inputs({"inputs": []})


# -- the facility register: matching by key, old name-only cycles by name ---------------------------

FAC = "uvs-tes:fac:01JFACILITY000000000000000"
REGISTER = {FAC: {"name": "Тэс сумын ЭМТ", "facility_type": "health_centre"},
            "uvs-tes:fac:01JSCHOOL0000000000000000A": {"name": "Тэс сургууль", "facility_type": "school"},
            "uvs-tes:fac:01JSCHOOL0000000000000000B": {"name": "тэс  СУРГУУЛЬ", "facility_type": "school"}}


def _groups(values: list[dict]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for v in values:
        out.setdefault(v["facility_key"], []).append(v["cycle_no"])
    return {k: sorted(v) for k, v in out.items()}


def test_two_cycles_typed_differently_but_naming_one_facility_are_one_facility():
    c2 = csc.summarise_cycle({**CYCLE_1, "cycle_no": 2, "facility": FAC, "facility_name": "Эрүүл мэндийн төв"})
    c3 = csc.summarise_cycle({**CYCLE_1, "cycle_no": 3, "facility": FAC, "facility_name": "ЭМТ, Тэс",
                              "facility_type": "family_health_centre"})  # even the type typed otherwise
    assert c2["facility_key"] == c3["facility_key"] == FAC and c2["facility"] == FAC
    # without the register entry they still group by the key they name
    assert _groups(csc.assign([c2, c3], {})) == {FAC: [2, 3]}
    follow = csc.summarise_followup({"facility": FAC, "facility_type": "school", "facility_name": "x",
                                     "cycle_no": 2, "followup_date": "2026-06-01",
                                     "updates": [{"action_no": 1, "status": "done"}]})
    inputs = csc.summarise_inputs({"facility": FAC, "facility_type": "school", "facility_name": "y", "cycle_no": 2,
                                   "tracking_date": "2026-05-01", "inputs": []})
    assert follow["facility_key"] == inputs["facility_key"] == FAC
    actions = csc.action_statuses(c2, [follow], today=date(2026, 1, 1))
    assert actions[0]["status"] == "done"  # the follow-up typed another name and still applies


def test_old_name_only_cycles_group_by_name_and_join_the_registered_facility_of_that_name():
    old1 = csc.summarise_cycle(CYCLE_1)  # " Тэс  сумын ЭМТ " typed, no register link
    old2 = csc.summarise_cycle({**CYCLE_1, "cycle_no": 2, "facility_name": "тэс сумын эмт"})
    linked = csc.summarise_cycle({**CYCLE_1, "cycle_no": 3, "facility": FAC, "facility_name": "ЭМТ"})
    assert old1["facility"] is None and old1["facility_key"] == old2["facility_key"] == "health_centre~тэс сумын эмт"
    # no register (as before it existed): the two old cycles are one facility by name, the linked one its own
    assert _groups(csc.assign([old1, old2, linked], {})) == {"health_centre~тэс сумын эмт": [1, 2], FAC: [3]}
    # the register holds a health centre of that name: all three are one facility
    assert _groups(csc.assign([old1, old2, linked], REGISTER)) == {FAC: [1, 2, 3]}
    # a name typed for another type is another facility; a name two register entries share stays by name
    school = csc.summarise_cycle({**CYCLE_1, "facility_type": "school", "facility_name": "Тэс сургууль"})
    other = csc.summarise_cycle({**CYCLE_1, "facility_type": "school", "facility_name": "Тэс сумын ЭМТ"})
    got = _groups(csc.assign([school, other], REGISTER))
    assert got == {"school~тэс сургууль": [1], "school~тэс сумын эмт": [1]}
    assert csc.assign([old1], REGISTER)[0]["facility_key"] == FAC and old1["facility_key"] != FAC  # not changed in place
