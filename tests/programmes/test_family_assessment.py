"""The family score and the soum's tallies (programmes/family_assessment.py), rule by rule."""

from __future__ import annotations

import pytest

from programmes import family_assessment as fa
from sync import families


def data(answers: dict[str, str], **extra) -> dict:
    return {"family_id": "uvs-tes:fam:A", "round": "baseline", "date": "2026-10-01",
            "indicators": [{"indicator": c, "answer": a} for c, a in answers.items()], **extra}


def test_the_score_is_met_over_applicable_without_na_and_without_the_concern():
    out = fa.derive(data({"improved_water": "yes", "improved_latrine": "no", "home_garden": "no",
                          "ecd_attendance": "na", "protection_concern": "yes"}))
    assert (out["met"], out["not_met"], out["na"], out["applicable"]) == (1, 2, 1, 3)
    assert out["family_score"] == 0.3333 and out["concerns"] == ["protection_concern"]
    assert out["answers"]["protection_concern"] == "yes"
    # The concern answered "no" changes nothing in the score either.
    same = fa.derive(data({"improved_water": "yes", "improved_latrine": "no", "home_garden": "no",
                           "protection_concern": "no"}))
    assert same["family_score"] == out["family_score"] and same["concerns"] == []


def test_nothing_applicable_gives_no_score_and_bad_submissions_raise():
    assert fa.derive(data({"ecd_attendance": "na", "protection_concern": "yes"}))["family_score"] is None
    with pytest.raises(ValueError, match="answered twice"):
        fa.derive({**data({"improved_water": "yes"}), "indicators": [
            {"indicator": "improved_water", "answer": "yes"}, {"indicator": "improved_water", "answer": "no"}]})
    for missing in ("family_id", "date"):
        with pytest.raises(ValueError, match="names its family"):
            fa.derive({k: v for k, v in data({"improved_water": "yes"}).items() if k != missing})
    with pytest.raises(ValueError):
        fa.derive(data({"improved_water": "yes"}, round="midline"))


def row(fam: str, rnd: str, day: str, score: float | None, about: str = "x", **answers: str) -> dict:
    return {"family_id": fam, "round": rnd, "date": day, "family_score": score, "about": about, "answers": answers}


def test_rounds_keep_each_familys_baseline_and_newest_follow_up():
    rows = [row("A", "follow_up", "2026-10-01", 0.5), row("A", "baseline", "2026-03-01", 0.2),
            row("A", "follow_up", "2026-11-01", 0.7), row("B", "baseline", "2026-03-02", 0.4, about="1"),
            row("B", "baseline", "2026-03-02", 0.1, about="2")]
    out = fa.by_round(rows)
    assert {f: r["family_score"] for f, r in out["baseline"].items()} == {"A": 0.2, "B": 0.1}
    assert {f: r["family_score"] for f, r in out["latest"].items()} == {"A": 0.7}


def test_coverage_counts_yes_over_yes_and_no_per_bag():
    rows = [row("A", "baseline", "d", 1, improved_water="yes", ecd_attendance="na"),
            row("B", "baseline", "d", 0, improved_water="no", ecd_attendance="no"),
            row("C", "baseline", "d", 1, improved_water="yes")]
    out = fa.coverage(rows, {"A": "1-р баг", "B": "1-р баг"}, ["improved_water", "ecd_attendance"])
    assert out == {"improved_water": {"1-р баг": {"met": 1, "applicable": 2}, "": {"met": 1, "applicable": 1}},
                   "ecd_attendance": {"1-р баг": {"met": 0, "applicable": 1}}}


def test_lowest_ranks_the_newest_assessment_and_leaves_out_the_unscored():
    rows = [row("A", "baseline", "2026-03-01", 0.1), row("A", "follow_up", "2026-10-01", 0.9),
            row("B", "baseline", "2026-03-01", 0.5), row("C", "baseline", "2026-03-01", 0.5),
            row("D", "baseline", "2026-03-01", 0.0), row("D", "follow_up", "2026-10-01", None)]
    assert [r["family_id"] for r in fa.lowest(rows, 10)] == ["B", "C", "A"]
    assert [r["family_id"] for r in fa.lowest(rows, 1)] == ["B"]


def test_the_default_indicators_are_valid_and_the_checklist_refuses_bad_rows():
    defaults = fa.default_indicators()
    assert families.check_indicators(defaults) == defaults
    assert {i["applies_to"] for i in defaults} <= set(fa.APPLIES_TO) and fa.FLAGS <= {i["id"] for i in defaults}
    for change, rule in ((lambda i: i.update(applies_to="cattle"), "bad_applies_to"),
                         (lambda i: i.update(id="Not A Code"), "bad_code"),
                         (lambda i: i.update(label_mn=" "), "missing_text")):
        items = [dict(i) for i in defaults]
        change(items[2])
        with pytest.raises(families.AreaProblem) as caught:
            families.check_indicators(items)
        assert (caught.value.code, caught.value.row) == (rule, 3)
    with pytest.raises(families.AreaProblem):
        families.check_indicators([])


def test_sessions_and_projects_summarise_what_the_soums_lists_show():
    session = fa.summarise_session({"date": "2026-09-01", "area": "wash", "bag": " 1-р  баг", "topic": "Гар угаах",
                                    "attendees_women": 7, "attendees_men": 2,
                                    "families": [{"family_id": "a:fam:1"}, {"family_id": "a:fam:1"},
                                                 {"family_id": "a:fam:2"}]})
    assert (session["attendees"], session["families_reached"], session["bag"]) == (9, 2, "1-р баг")
    project = fa.summarise_project({"project_name": "Гар угаах цэг", "area": "wash", "status": "done",
                                    "targets": [{"indicator": "handwashing_soap"}, {"indicator": "handwashing_soap"},
                                                {"indicator": "improved_water"}]})
    assert project["targets"] == ["handwashing_soap", "improved_water"]
    with pytest.raises(ValueError):
        fa.summarise_project({"project_name": "x", "area": "wash", "status": "finished"})
    with pytest.raises(ValueError):
        fa.summarise_session({"date": "2026-09-01"})
    sessions = [session, {**session, "families": ["a:fam:2", "a:fam:3"], "attendees": 4},
                {**session, "area": "astrology", "families": [], "attendees": 1}]
    projects = [{**project, "about": "p1"}, {**project, "status": "planned", "start_date": "2026-01-01", "about": "p2"},
                {**project, "status": "in_progress", "area": "growth", "about": "p3"}]
    tally = fa.triple_a(sessions, projects, ["growth", "wash"])
    assert list(tally) == ["growth", "wash", "astrology"]
    assert tally["wash"] == {"sessions": 2, "attendees": 13, "families": 3,
                             "projects": {"in_progress": 0, "planned": 1, "done": 1, "dropped": 0}}
    assert tally["growth"]["projects"]["in_progress"] == 1 and tally["astrology"]["sessions"] == 1
    assert [p["about"] for p in fa.project_list(projects)] == ["p3", "p2", "p1"]
