"""The LQAS set-up and decision-rule table on each store (SQLite, Apache CouchDB, a CouchDB cluster).

An admin's set-up with several eligibility conditions and a catchment area
over two soums is saved and read back; the report index counts each interview
with the conditions (tallied again here from the answers), pools the
catchment's coverage over both soums (the stratified estimator worked out
again in exact fractions), and counts the soums again when a condition
changes. A set-up stored before conditions were lists still reads. The
decision-rule table is saved, refused when stale or not monotone (nothing
written), reset, and audited.
"""

from __future__ import annotations

import math
import random
from datetime import date
from fractions import Fraction
from pathlib import Path

import orjson
import pytest
from eventual import wait_until
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from programmes.lqas import compute_rule
from programmes.lqas_survey import FORM, INDICATORS, form_questions, rules_fingerprint
from sync.demo import submission
from sync.demo_programmes import lqas_interview
from sync.errors import Conflict
from sync.lqas_decision_rules import DecisionRuleTable
from sync.lqas_setup import DEFAULT, DOC_ID, LqasSetup
from sync.reports import ReportIndex, lqas_catchment, lqas_rows

TES, NARAN = "uvs-tes", "uvs-naranbulag"
DAY = date(2026, 11, 20)
QUESTIONS = form_questions([orjson.loads((Path(__file__).parents[1] / "schemas" / "forms" / f"{FORM}.json").read_bytes())])
POPULATION = {(TES, "1-р баг"): 140, (TES, "2-р баг"): 95, (NARAN, "1-р баг"): 260}


@pytest.fixture(params=BACKENDS)
def svc(request, tmp_path: Path):
    app = make_backend_app(request, request.param, tmp_path / "data")
    services = app.extensions["fieldsync"]
    for area in (TES, NARAN, "global"):
        services.store.ensure(area)
    yield services
    close_app(app)


def setup_raw(min_age: int) -> dict:
    """The bundled survey with knows_ors asked of mothers of 6..11-month-olds (two conditions, two questions),
    and a catchment area "north" of Tes's 2nd bag and Naranbulag's 1st."""
    indicators = [i.to_json() for i in DEFAULT.indicators]
    ors = next(i for i in indicators if i["key"] == "knows_ors")
    ors["eligible"] = [["child_age_months", ">=", str(min_age)], ["respondent_type", "=", "mother_0_11"]]
    return {"sample_size": 19, "indicators": indicators,
            "areas": [{"area": a, "sa": sa, "population": p, "catchments": "north" if (a, sa) != (TES, "1-р баг") else ""}
                      for (a, sa), p in POPULATION.items()],
            "catchments": [{"code": "north", "name": {"mn": "Хойд бүс", "en": "North"}}]}


def save(svc, raw: dict) -> str:
    setup = LqasSetup(svc.store, svc.audit)
    before = (setup.doc() or {}).get("_rev")
    rev = setup.save(raw, actor="admin", rev=before, questions=QUESTIONS, area_codes={TES, NARAN})
    wait_until(lambda: LqasSetup(svc.store).get().rev, lambda r: r == rev, what="the set-up saved")
    return rev


def write_interviews(svc) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = {}
    chances = {"fully_vaccinated": .8, "weighed_3_months": .8, "knows_ors": .55, "handwashing": .6}
    for k, (area, sa) in enumerate(POPULATION):
        rng = random.Random(f"lqas-store-{k}")
        docs = [submission(f"{area}:sub:01KLQST{k}{i:018d}", "lqas_interview", "bolormaa",
                           lqas_interview(rng, sa, 100, i, DAY, chances, (50.4, 93.6)), "2026-11-20T10:00:00+08:00")
                for i in range(1, 20)]
        db = svc.store.open(area)
        assert all("rev" in result for result in db.bulk_docs(docs, new_edits=True))
        out[(area, sa)] = [d["data"] for d in docs]
    for area in (TES, NARAN):  # on a cluster a write shows in the feed a moment later
        written = sum(len(v) for (a, _), v in out.items() if a == area)
        wait_until(lambda a=area: sum(1 for _ in svc.store.open(a).changes(0)), lambda n, w=written: n >= w,
                   what="the interviews in the feed")
    return out


def tally(answers: list[dict], min_age: int) -> dict[str, tuple[int, int]]:
    """(correct, eligible) per indicator, from the answers, written out again."""
    out = {"fully_vaccinated": [0, 0], "weighed_3_months": [0, 0], "knows_ors": [0, 0], "handwashing": [0, 0]}
    critical = {"after_toilet", "before_cooking", "before_feeding", "after_cleaning_child"}
    for data in answers:
        if data.get("consent") != "yes":
            continue
        values = {"weighed_3_months": data["weighed_3_months"] == "yes",
                  "handwashing": len(critical & set(data["handwash_times"])) >= 2}
        if data["child_age_months"] >= 12:
            values["fully_vaccinated"] = data["fully_vaccinated"] == "yes"
        if min_age <= data["child_age_months"] and data["respondent_type"] == "mother_0_11":
            values["knows_ors"] = data["knows_ors"] == "yes"
        for key, good in values.items():
            out[key][0] += good
            out[key][1] += 1
    return {k: (x, n) for k, (x, n) in out.items()}


def counted(svc) -> dict[str, dict]:
    index = ReportIndex(svc.store)
    for area in (TES, NARAN):
        index.refresh_all(area)
    return index.metas([TES, NARAN])


def test_conditions_and_a_catchment_over_two_soums(svc):
    save(svc, setup_raw(6))
    survey = LqasSetup(svc.store).get()
    ors = next(i for i in survey.indicators if i.key == "knows_ors")
    assert ors.eligible == (("child_age_months", ">=", 6), ("respondent_type", "=", "mother_0_11"))
    (north,) = survey.catchments
    assert (north.code, north.members) == ("north", ((TES, "2-р баг"), (NARAN, "1-р баг")))
    answers = write_interviews(svc)

    for min_age in (6, 9):  # a changed condition: the index counts both soums again
        if min_age == 9:
            save(svc, setup_raw(9))
            survey = LqasSetup(svc.store).get()
        metas = counted(svc)
        want = {key: tally(data, min_age) for key, data in answers.items()}
        assert 0 < want[(TES, "1-р баг")]["knows_ors"][1] < want[(TES, "1-р баг")]["weighed_3_months"][1]
        for (area, sa), per in want.items():
            got = metas[area]["lqas"][sa]
            assert {k: (got["x"].get(k, 0), got["n"].get(k, 0)) for k in per} == per, (min_age, area, sa)
        assert metas[TES]["rules"] == survey.fingerprint
        # The catchment: Tes 2nd bag (95 households) and Naranbulag 1st (260), pooled in exact fractions.
        found = lqas_catchment(metas, survey, survey.catchments[0])
        assert (found.with_data, found.areas) == (2, 2)
        for key in per:
            parts = [(POPULATION[m], *want[m][key]) for m in north.members]
            total = sum(p for p, _, n in parts if n)
            p = sum(Fraction(pop, total) * Fraction(x, n) for pop, x, n in parts if n)
            var = sum(Fraction(pop, total) ** 2 * Fraction(x, n) * (1 - Fraction(x, n)) / n for pop, x, n in parts if n)
            cov = found.coverage[key]
            assert cov.estimate == pytest.approx(float(p), abs=1e-12)
            assert cov.se == pytest.approx(math.sqrt(var), abs=1e-12)
            assert (cov.population, cov.areas) == (total, 2)
    # With min age 9 knows_ors has fewer eligible than with 6.
    assert tally(answers[(TES, "1-р баг")], 9)["knows_ors"][1] < tally(answers[(TES, "1-р баг")], 6)["knows_ors"][1]


def test_a_set_up_stored_with_one_condition_still_reads(svc):
    old = {"_id": DOC_ID, "type": "checklist", "name": "lqas_survey", "sample_size": 19,
           "indicators": [{**i.to_json(), "eligible": list(i.eligible[0]) if i.eligible else None} for i in INDICATORS],
           "areas": [{"area": TES, "sa": "1-р баг", "population": 140, "sample_size": None}]}
    assert old["indicators"][0]["eligible"] == ["child_age_months", ">=", 12]
    assert "rev" in svc.store.ensure("global").bulk_docs([old], new_edits=True)[0]
    survey = wait_until(lambda: LqasSetup(svc.store).get(), lambda s: s.rev is not None, what="the old set-up")
    assert survey.indicators == INDICATORS and survey.catchments == ()
    assert survey.fingerprint == rules_fingerprint(INDICATORS)


def audit_rules(svc) -> list[dict]:
    db = svc.store.ensure("_audit")
    return [r["doc"] for r in db.all_docs(include_docs=True)
            if r["doc"].get("action") == "checklist.lqas_rules_changed" and r["doc"].get("entry") is None]


def test_the_decision_rule_table_saves_refuses_and_resets(svc):
    table = DecisionRuleTable(svc.store, svc.audit)
    rules, rev = table.get()
    assert rev is None and rules.overrides == {}
    # The page posts every cell it shows: the binomial table as it is saves no override (its own step
    # down at n = 29, 30 from 30% to 35% is not refused).
    rev0 = table.save({(n, t): compute_rule(n, t).d for n in range(12, 31) for t in range(10, 100, 5)},
                      actor="admin", rev=None)
    rules, _ = wait_until(table.get, lambda got: got[1] == rev0, what="the table saved")
    assert rules.overrides == {}
    # 12 at n = 19, 80% (a national table's); 12 at 75% is the binomial value itself: not an override.
    rev1 = table.save({(19, 80): 12, (19, 75): 12}, actor="admin", rev=rev0)
    rules, rev = wait_until(table.get, lambda got: got[1] == rev1, what="the table saved")
    assert rules.overrides == {(19, 80): 12}
    assert rules.rule(19, 80).source == "override" and rules.rule(19, 85).source == "table"
    # The report classifies with it: 12 of 19 correct reaches 80% now.
    meta = {"lqas": {"1-р баг": {"interviews": 19, "hh": {}, "x": {"fully_vaccinated": 12}, "n": {"fully_vaccinated": 19}}}}
    (row, *_) = lqas_rows(meta, rules, DEFAULT)
    assert (row.d, row.reached, row.source) == (12, True, "override")
    assert lqas_rows(meta, None, DEFAULT)[0].reached is False  # binomial: 13

    with pytest.raises(Conflict):
        table.save({(19, 85): 13}, actor="admin", rev=rev0)  # edited before the last save
    from programmes.lqas import RulesProblem

    with pytest.raises(RulesProblem):
        table.save({(19, 85): 11}, actor="admin", rev=rev1)  # below the 12 at 80%
    assert table.doc()["_rev"] == rev1 and table.get()[0].overrides == {(19, 80): 12}
    # Cells not given are kept; None clears one.
    rev2 = table.save({(20, 80): 13}, actor="admin", rev=rev1)
    wait_until(table.get, lambda got: got[1] == rev2, what="the second save")
    assert table.get()[0].overrides == {(19, 80): 12, (20, 80): 13}
    rev3 = table.reset(actor="admin", rev=rev2)
    rules, _ = wait_until(table.get, lambda got: got[1] == rev3, what="the reset")
    assert rules.overrides == {}
    entries = wait_until(lambda: audit_rules(svc), lambda e: len(e) == 4, what="four audit entries")
    # (before, after) of each save: the chain of the four, whatever order the trail reads them in
    chain = sorted((len(e["before"]["overrides"]), len(e["after"]["overrides"])) for e in entries)
    assert chain == [(0, 0), (0, 1), (1, 2), (2, 0)]
    reset = next(e for e in entries if len(e["before"]["overrides"]) == 2)
    assert reset["before"]["overrides"] == [{"n": 19, "target": 80, "d": 12}, {"n": 20, "target": 80, "d": 13}]
    assert all(e["actor"] == "admin" for e in entries)
