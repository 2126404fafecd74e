"""The report aggregates (sync.reports) follow edits and deletions as a rebuild from scratch would.

On each store (SQLite, Apache CouchDB, a CouchDB cluster), growth visits and
LQAS interviews are written as the gate would leave them (with their derived documents); the aggregate is
refreshed, then visits are edited (another child, another bag, a new date),
deleted, and an interview is deleted. After each step the incremental
aggregate must equal one built from nothing over the same area, and the
counts asked for below.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from eventual import wait_until
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from sync.demo import growth_visit, submission
from sync.demo_programmes import lqas_interview
from sync.derived import DerivedValues
from sync.reports import REPORTS_SCOPE, ReportIndex, growth_rows

AREA = "uvs-tes"
TODAY = date(2026, 11, 30)


@pytest.fixture(params=BACKENDS)
def svc(request, tmp_path: Path):
    app = make_backend_app(request, request.param, tmp_path / "data")
    services = app.extensions["fieldsync"]
    services.store.ensure(AREA)
    yield services
    close_app(app)


def write(svc, docs: list[dict]) -> list[dict]:
    """Write ``docs`` and their derived documents; wait until the area's feed shows all of them
    (on a cluster a write shows a moment later)."""
    db = svc.store.open(AREA)
    results = db.bulk_docs(docs, new_edits=True)
    for doc, result in zip(docs, results, strict=True):
        assert "rev" in result, result
        doc["_rev"] = result["rev"]
    DerivedValues().refresh(db, [d["_id"] for d in docs])
    derived = [d.replace(":sub:", ":derived:") for d in (doc["_id"] for doc in docs)]
    want = {d["_id"]: d["_rev"] for d in docs}
    want.update({r["id"]: r["value"]["rev"] for r in db.all_docs(keys=derived) if "value" in r})
    wait_until(lambda: {r["id"]: r["changes"][0]["rev"] for r in db.changes(0)},
               lambda seen: all(seen.get(i) == rev for i, rev in want.items()), what="the writes in the feed")
    return docs


def visit(n: int, child: str, bag: str, ago: int) -> dict:
    data = growth_visit(random.Random(n), day=TODAY - timedelta(days=ago), child_id=child)
    data["bag"] = bag
    return submission(f"{AREA}:sub:01KTEST{n:019d}", "growth_visit", "bolormaa", data, "2026-11-01T10:00:00+08:00")


def rebuilt(svc) -> dict:
    """The aggregate made from nothing: a new generation of the area's rows, read through."""
    index = ReportIndex(svc.store)
    index.rebuild(AREA)
    return index.metas([AREA])[AREA]


def lists(svc) -> dict[str, list[tuple[str, str]]]:
    """Each bag's children list as (child, date of newest visit), read page by page (2 a page)."""
    index = ReportIndex(svc.store)
    out = {}
    for bag in ("1-р баг", "2-р баг", "3-р баг"):
        got, after = [], None
        while True:
            page, after = index.children(AREA, bag, after=after, limit=2)
            got += [(r["child"], r["d"]) for r in page]
            if after is None:
                break
        out[bag] = got
    return out


def current(svc) -> dict:
    index = ReportIndex(svc.store)
    index.refresh_all(AREA)
    return index.metas([AREA])[AREA]


def test_edits_and_deletions_move_the_counts_as_a_rebuild_would(svc):
    visits = write(svc, [visit(1, "a", "1-р баг", 200), visit(2, "a", "1-р баг", 10),
                         visit(3, "b", "2-р баг", 20), visit(4, "c", "2-р баг", 150)])
    interviews = write(svc, [submission(f"{AREA}:sub:01KLQAS{i:019d}", "lqas_interview", "bolormaa",
                                        lqas_interview(random.Random(i), "1-р баг", 140, i, TODAY, {
                                            "fully_vaccinated": .8, "weighed_3_months": .8, "knows_ors": .5,
                                            "handwashing": .6}, (50.4, 93.6)), "2026-11-20T10:00:00+08:00")
                             for i in range(1, 6)])
    meta = current(svc)
    rows = {r.bag: r for r in growth_rows(meta, TODAY)}
    assert {b: (r.children, r.measured) for b, r in rows.items()} == {"1-р баг": (1, 1), "2-р баг": (2, 1)}
    assert meta["lqas"]["1-р баг"]["interviews"] == 5
    snapshot = {k: meta[k] for k in ("growth", "lqas")}
    assert snapshot == {k: rebuilt(svc)[k] for k in ("growth", "lqas")}

    # Child a's newest visit is re-typed as child b's in another bag; c's old visit moves to today.
    moved = dict(visits[1], data={**visits[1]["data"], "child_id": "b", "bag": "3-р баг"})
    later = dict(visits[3], data={**visits[3]["data"], "visit_date": TODAY.isoformat()})
    write(svc, [moved, later])
    meta = current(svc)
    rows = {r.bag: r for r in growth_rows(meta, TODAY)}
    # a: only its 200-day-old visit (not measured); b: the moved visit is newer than its own (3-р баг);
    # c: measured today.
    assert {b: (r.children, r.measured) for b, r in rows.items()} == {
        "1-р баг": (1, 0), "2-р баг": (1, 1), "3-р баг": (1, 1)}
    date_of = {d["_id"]: d["data"]["visit_date"] for d in (visits[0], moved, later)}
    assert lists(svc) == {"1-р баг": [("a", date_of[visits[0]["_id"]])], "2-р баг": [("c", date_of[later["_id"]])],
                          "3-р баг": [("b", date_of[moved["_id"]])]}
    incremental = lists(svc)
    assert {k: meta[k] for k in ("growth", "lqas")} == {k: rebuilt(svc)[k] for k in ("growth", "lqas")}
    # The rebuilt generation's rows, read by range right after they were written: on a cluster
    # the copy that answers may not have them all yet (a clean-clone run once read '1-р баг' empty).
    wait_until(lambda: lists(svc), lambda got: got == incremental, what="the rebuilt generation's lists")

    # Deleting visits and an interview takes them away.
    gone = [{"_id": d["_id"], "_rev": d["_rev"], "_deleted": True} for d in (visits[0], moved, interviews[0])]
    write(svc, gone)
    meta = current(svc)
    rows = {r.bag: r for r in growth_rows(meta, TODAY)}
    assert {b: (r.children, r.measured) for b, r in rows.items()} == {"2-р баг": (2, 2)}
    assert [c for c, _ in lists(svc)["2-р баг"]] == ["b", "c"] and lists(svc)["1-р баг"] == []
    assert meta["lqas"]["1-р баг"]["interviews"] == 4
    assert {k: meta[k] for k in ("growth", "lqas")} == {k: rebuilt(svc)[k] for k in ("growth", "lqas")}
    assert svc.store.exists(REPORTS_SCOPE)


def test_visits_older_than_the_longest_window_keep_only_their_children(svc, monkeypatch):
    """Buckets older than 24 months are merged into one (children only), also when time moves on."""
    import sync.reports as reports

    visits = write(svc, [visit(11, "d", "1-р баг", 900), visit(12, "e", "1-р баг", 800),
                         visit(13, "f", "1-р баг", 100), visit(14, "g", "2-р баг", 30)])
    monkeypatch.setattr(reports, "floor_day", lambda today=None: (TODAY - timedelta(days=731)).isoformat())
    meta = current(svc)
    assert set(meta["growth"]["1-р баг"]) == {reports.OLD, visits[2]["data"]["visit_date"]}
    assert meta["growth"]["1-р баг"][reports.OLD] == {"children": 2}
    rows = {r.bag: r for r in growth_rows(meta, TODAY, reports.window_days(24))}
    assert (rows["1-р баг"].children, rows["1-р баг"].measured) == (3, 1)

    # Time moves on until f's visit (100 days old) is older than every window too (the floor 50 days
    # before TODAY); then e is measured again and d deleted.
    monkeypatch.setattr(reports, "floor_day", lambda today=None: (TODAY - timedelta(days=50)).isoformat())
    again = dict(visits[1], data={**visits[1]["data"], "visit_date": (TODAY - timedelta(days=5)).isoformat()})
    write(svc, [again, {"_id": visits[0]["_id"], "_rev": visits[0]["_rev"], "_deleted": True}])
    meta = current(svc)
    assert meta["growth"]["1-р баг"][reports.OLD] == {"children": 1}  # f only
    rows = {r.bag: r for r in growth_rows(meta, TODAY, 91)}
    assert (rows["1-р баг"].children, rows["1-р баг"].measured) == (2, 1)
    assert {k: meta[k] for k in ("growth", "lqas")} == {k: rebuilt(svc)[k] for k in ("growth", "lqas")}


def test_a_batch_that_meets_a_conflict_is_counted_again_from_the_start(svc, monkeypatch):
    """Fault injected: the first batch's row write conflicts (another server, or a cluster read behind
    a write). The view says it is catching up, and the next one counts the area again, exactly."""
    import sync.reports as reports
    from sync.errors import Conflict

    write(svc, [visit(21, "h", "1-р баг", 10), visit(22, "i", "2-р баг", 20)])
    real = reports.ReportIndex._apply
    calls = []

    def conflicting(self, *args):
        calls.append(1)
        if len(calls) == 1:
            real(self, *args)  # rows written, then the conflict
            raise Conflict("a child row changed meanwhile")
        return real(self, *args)

    monkeypatch.setattr(reports.ReportIndex, "_apply", conflicting)
    index = ReportIndex(svc.store)
    first = index.refresh(AREA)
    assert (first.done, first.busy) == (False, True)
    assert not index.metas([AREA])[AREA]["growth"]
    index.refresh_all(AREA)
    meta = index.metas([AREA])[AREA]
    assert {r.bag: (r.children, r.measured) for r in growth_rows(meta, TODAY)} == {"1-р баг": (1, 1),
                                                                                 "2-р баг": (1, 1)}
    monkeypatch.setattr(reports.ReportIndex, "_apply", real)
    assert {k: meta[k] for k in ("growth", "lqas")} == {k: rebuilt(svc)[k] for k in ("growth", "lqas")}


def test_a_read_older_than_the_feed_is_not_counted_and_read_again(svc, monkeypatch):
    """Fault injected: the documents' read answers an older copy than the changes feed announced (a
    cluster's lagging node). Nothing is counted from it, the feed is not moved on, and the next
    refresh counts the change, exactly."""
    first = write(svc, [visit(31, "j", "1-р баг", 300)])
    index = ReportIndex(svc.store)
    index.refresh_all(AREA)
    moved = dict(first[0], data={**first[0]["data"], "visit_date": (TODAY - timedelta(days=3)).isoformat()})
    old_copy = {r["id"]: r for r in svc.store.open(AREA).all_docs(keys=[moved["_id"]], include_docs=True)}
    write(svc, [moved])
    db_class = type(svc.store.open(AREA))
    real = db_class.all_docs
    lagging = [True]

    def stale(self, *args, **kwargs):
        rows = list(real(self, *args, **kwargs))
        if lagging[0] and self.name == AREA and kwargs.get("keys"):
            rows = [old_copy.get(r["id"], r) for r in rows]
        return rows

    monkeypatch.setattr(db_class, "all_docs", stale)
    step = index.refresh(AREA)
    assert (step.done, step.busy) == (False, True)
    meta = index.metas([AREA])[AREA]
    assert {r.bag: (r.children, r.measured) for r in growth_rows(meta, TODAY)} == {"1-р баг": (1, 0)}
    lagging[0] = False
    index.refresh_all(AREA)
    meta = index.metas([AREA])[AREA]
    assert {r.bag: (r.children, r.measured) for r in growth_rows(meta, TODAY)} == {"1-р баг": (1, 1)}
    monkeypatch.setattr(db_class, "all_docs", real)
    assert {k: meta[k] for k in ("growth", "lqas")} == {k: rebuilt(svc)[k] for k in ("growth", "lqas")}
