"""Reports as of a past day (sync.reports): the figures of several days, recomputed here from the
seeded documents themselves, equal the report index's, after edits and deletions too.

On each store (SQLite, Apache CouchDB, a CouchDB cluster). For a day D and a window of W days the
expected figures are counted straight from the area's submissions and derived documents: per child,
its newest live visit dated on or before D (ties by key, as the index breaks them); the child is known
in that visit's bag, measured when the visit is within the W days up to D, and then counted with that
visit's classes and flags. LQAS: the interviews made on or before D, per supervision area.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from test_report_aggregates import AREA, TODAY, svc, visit, write  # noqa: F401  (svc: the store fixture)

from programmes import lqas_survey
from sync import records
from sync.demo import submission
from sync.demo_programmes import lqas_interview
from sync.lqas_setup import LqasSetup
from sync.reports import INDICATORS, ReportIndex, growth_rows, lqas_as_of, window_days


def expected(world, day: date, days: int) -> dict[str, tuple]:
    """Per bag: (children, measured, {count name: n}) from the documents, as of ``day``."""
    db = world.store.open(AREA)
    docs = {r["id"]: r["doc"] for r in db.all_docs(include_docs=True) if r.get("doc")}
    newest: dict[str, tuple[str, str]] = {}
    for sid, doc in docs.items():
        if doc.get("type") != "submission" or doc.get("form") != "growth_visit":
            continue
        when = doc["data"]["visit_date"]
        if when <= day.isoformat():
            mark = (when, sid.rsplit(":", 1)[1])
            child = doc["data"]["child_id"]
            if child not in newest or mark > newest[child][0:2]:
                newest[child] = (*mark, sid)
    since = (day - timedelta(days=days - 1)).isoformat()
    out: dict[str, list] = {}
    for when, _key, sid in newest.values():
        bag = docs[sid]["data"]["bag"]
        row = out.setdefault(bag, [0, 0, {}])
        row[0] += 1
        if when < since:
            continue
        row[1] += 1
        derived = docs.get(sid.replace(":sub:", ":derived:"), {}).get("derived") or {}
        for name, flag in INDICATORS.items():
            klass = derived.get(name)
            bumps = [f"{name}.flagged"] if derived.get(flag) == 1 else []
            if klass is not None:
                bumps.append(f"{name}.n")
                if klass in ("moderate", "severe"):
                    bumps.append(f"{name}.{klass}")
            for b in bumps:
                row[2][b] = row[2].get(b, 0) + 1
    return {bag: (r[0], r[1], r[2]) for bag, r in out.items()}


def indexed(world, day: date, days: int) -> dict[str, tuple]:
    index = ReportIndex(world.store)
    index.refresh_all(AREA)
    metas = index.metas([AREA])
    rows = growth_rows(metas[AREA], day, days, index.superseded(metas, day)[AREA])
    return {r.bag: (r.children, r.measured, r.counts) for r in rows}


def expected_lqas(world, day: date) -> dict[str, dict]:
    db = world.store.open(AREA)
    indicators = LqasSetup(world.store).get().indicators
    out: dict[str, dict] = {}
    for r in db.all_docs(include_docs=True):
        doc = r.get("doc") or {}
        if doc.get("form") != "lqas_interview" or doc["data"]["interview_date"] > day.isoformat():
            continue
        per = out.setdefault(doc["data"]["sa"], {"interviews": 0, "x": {}, "n": {}})
        per["interviews"] += 1
        for key, value in lqas_survey.indicator_values(doc["data"], indicators).items():
            if value is not None:
                per["n"][key] = per["n"].get(key, 0) + 1
                per["x"][key] = per["x"].get(key, 0) + value
    return out


def indexed_lqas(world, day: date) -> dict[str, dict]:
    index = ReportIndex(world.store)
    index.refresh_all(AREA)
    got = lqas_as_of(index.metas([AREA])[AREA], day)
    return {sa: {"interviews": p["interviews"], "x": p["x"], "n": p["n"]} for sa, p in got.items()}


def interview(i: int, sa: str, ago: int) -> dict:
    data = lqas_interview(random.Random(i), sa, 140, i, TODAY - timedelta(days=ago), {
        "fully_vaccinated": .8, "weighed_3_months": .8, "knows_ors": .5, "handwashing": .6}, (50.4, 93.6))
    return submission(f"{AREA}:sub:01KLQASASOF{i:015d}", "lqas_interview", "bolormaa", data,
                      f"{data['interview_date']}T10:00:00+08:00")


def check(world, days_ago: list[int], windows: tuple[int, ...] = (91, 30)) -> int:
    checked = 0
    for ago in days_ago:
        day = TODAY - timedelta(days=ago)
        for days in windows:
            want = expected(world, day, days)
            assert indexed(world, day, days) == want, (day, days)
            checked += sum(w[1] for w in want.values())
        assert indexed_lqas(world, day) == expected_lqas(world, day), day
    return checked


def test_figures_as_of_past_days_follow_edits_and_deletions(svc):  # noqa: F811 (the store fixture)
    # Children measured before and after the days asked; p's two visits share a day (the later key
    # wins); q is measured only after every day asked but the last.
    plan = [(1, "a", "1-р баг", 300), (2, "a", "1-р баг", 120), (3, "a", "2-р баг", 10),
            (4, "b", "1-р баг", 200), (5, "b", "1-р баг", 95), (6, "b", "1-р баг", 40),
            (7, "c", "2-р баг", 60), (8, "p", "3-р баг", 50), (9, "p", "3-р баг", 50),
            (10, "p", "3-р баг", 5), (11, "q", "3-р баг", 1)]
    plan += [(20 + i, f"k{i}", f"{i % 3 + 1}-р баг", ago) for i, ago in enumerate((400, 250, 180, 130, 90, 70,
                                                                                    45, 35, 20, 12, 3, 0))]
    visits = write(svc, [visit(n, child, bag, ago) for n, child, bag, ago in plan])
    interviews = write(svc, [interview(i, sa, ago) for i, (sa, ago) in enumerate(
        [("1-р баг", 100), ("1-р баг", 60), ("2-р баг", 60), ("2-р баг", 30), ("1-р баг", 2)], start=1)])
    # The window's edge: as of 40 days ago with 91 days, a visit 130 days ago is the first day in
    # (40 + 91 - 1), one 131 days ago would be out; as of 39 days ago, the 130-day-old one is out.
    assert check(svc, [0, 5, 39, 40, 50, 60, 96, 121, 200, 260]) > 20

    by_n = {int(v["_id"][-19:]): v for v in visits}
    # Edits: a's newest visit moves back before the others, b's middle visit becomes another child's,
    # k3's visit moves to another bag and forward in time, p's winning same-day visit is deleted,
    # an interview is re-dated and another deleted.
    edits = [dict(by_n[3], data={**by_n[3]["data"], "visit_date": (TODAY - timedelta(days=250)).isoformat()}),
             dict(by_n[5], data={**by_n[5]["data"], "child_id": "c"}),
             dict(by_n[23], data={**by_n[23]["data"], "bag": "1-р баг",
                                  "visit_date": (TODAY - timedelta(days=25)).isoformat()}),
             {"_id": by_n[9]["_id"], "_rev": by_n[9]["_rev"], "_deleted": True},
             dict(interviews[1], data={**interviews[1]["data"],
                                       "interview_date": (TODAY - timedelta(days=20)).isoformat()}),
             {"_id": interviews[2]["_id"], "_rev": interviews[2]["_rev"], "_deleted": True}]
    write(svc, edits)
    assert check(svc, [0, 5, 24, 25, 40, 60, 94, 95, 121, 200, 251, 260]) > 20
    # The incremental rows equal those counted from nothing (a new generation).
    index = ReportIndex(svc.store)
    metas = index.metas([AREA])
    before = {d["_id"]: d["growth"] for d in index.superseded(metas, TODAY - timedelta(days=window_days(24)))[AREA]}
    index.rebuild(AREA)
    metas = index.metas([AREA])
    after = {d["_id"]: d["growth"] for d in index.superseded(metas, TODAY - timedelta(days=window_days(24)))[AREA]}
    assert before == after and before
    assert check(svc, [0, 40, 121])


def test_rows_of_days_no_report_may_ask_are_dropped_once_a_day(svc, monkeypatch):  # noqa: F811
    """The replaced-visit rows of days up to the oldest day a report may ask are swept away (and not
    written again), as the aggregate merges its old buckets; the days still asked keep their figures."""
    import sync.reports as reports

    write(svc, [visit(n, child, "1-р баг", ago) for n, child, ago in
                ((41, "m", 300), (42, "m", 200), (43, "m", 100), (44, "n", 250), (45, "n", 20))])
    index = ReportIndex(svc.store)
    index.refresh_all(AREA)
    horizon = TODAY - timedelta(days=150)
    days = sorted(d["_id"].rsplit(":", 1)[1] for d in index.superseded(index.metas([AREA]), horizon
                                                                      - timedelta(days=400))[AREA])
    assert days == [(TODAY - timedelta(days=n)).isoformat() for n in (200, 100, 20)]
    want = {ago: expected(svc, TODAY - timedelta(days=ago), 91) for ago in (0, 60, 120, 150)}
    monkeypatch.setattr(reports, "earliest_as_of", lambda today=None: horizon)
    meta = records.read(index.db(), f"{AREA}:meta")
    records.write(index.db(), {**meta, "swept": None})  # as on the next day
    index.refresh_all(AREA)
    metas = index.metas([AREA])
    left = [d["_id"].rsplit(":", 1)[1] for d in index.superseded(metas, horizon - timedelta(days=400))[AREA]]
    assert left == [(TODAY - timedelta(days=n)).isoformat() for n in (100, 20)]
    assert metas[AREA]["swept"] == date.today().isoformat()
    for ago, figures in want.items():
        assert indexed(svc, TODAY - timedelta(days=ago), 91) == figures, ago
    # m's 300-day-old visit is deleted: the change of the 200-day-old row is not written back
    gone = svc.store.open(AREA).get(f"{AREA}:sub:01KTEST{41:019d}")
    write(svc, [{"_id": gone["_id"], "_rev": gone["_rev"], "_deleted": True}])
    index.refresh_all(AREA)
    left = [d["_id"].rsplit(":", 1)[1] for d in index.superseded(index.metas([AREA]), horizon
                                                                 - timedelta(days=400))[AREA]]
    assert left == [(TODAY - timedelta(days=n)).isoformat() for n in (100, 20)]
    for ago in want:
        assert indexed(svc, TODAY - timedelta(days=ago), 91) == expected(svc, TODAY - timedelta(days=ago), 91)
