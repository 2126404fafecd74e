"""The submission index (``sync.subindex``) on both stores: it follows an area's changes
(new submissions, edits, reviews, deletions), pages newest first without repeating or
skipping a row, filters, stops a filtered page at its budget and goes on from there, and
keeps the counts per form and state equal to what the area holds."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from eventual import wait_until
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from sync import records
from sync.demo import child_growth, household_visit, submission
from sync.docs import check_doc
from sync.reviews import Reviews
from sync.subindex import Filters, SubmissionIndex

AREA = "uvs-tes"


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    from sync.demo import seed_demo

    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("subindex") / "data")
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    rng = random.Random(5)
    docs = []
    for i in range(120):
        day = f"2026-{9 + i // 40:02d}-{1 + i % 28:02d}"
        form, data = ("child_growth", child_growth(rng)) if i % 4 == 0 else ("household_visit", household_visit(rng))
        if i == 77:
            data = {**data, "remarks": "Цасан шуурганы дараа"} if form == "household_visit" else data
        docs.append(check_doc(submission(f"{AREA}:sub:01K{i:023d}", form, "bolormaa", data, f"{day}T09:{i % 60:02d}:00+08:00"),
                              new_edits=True))
    db = svc.store.open(AREA)
    db.bulk_docs(docs)
    visible(db, 120)
    yield svc
    close_app(app)


def visible(db, n: int) -> None:
    """On a cluster a write shows a moment later: wait until every read shows the area's n submissions."""
    wait_until(lambda: sum(1 for _ in db.changes(0)), lambda seen: seen >= n, what=f"{n} changes", steady=3)


def truth(svc) -> Counter:
    """(form, state) of every live submission, read from the area itself."""
    db = svc.store.open(AREA)
    out = Counter()
    for row in db.all_docs(startkey=f"{AREA}:sub:", endkey=f"{AREA}:sub:\uffff", include_docs=True):
        review = records.read(db, row["id"].replace(":sub:", ":review:"))
        out[(row["doc"]["form"], (review or {}).get("status", "received"))] += 1
    return out


def counted(index: SubmissionIndex) -> Counter:
    return Counter({(form, state): n for form, per in index.counts(AREA).items() for state, n in per.items()})


def all_pages(index: SubmissionIndex, filters: Filters, limit: int = 7, budget: int = 2000) -> list[dict]:
    rows, after = [], None
    for _ in range(200):
        page = index.page(AREA, filters, after=after, limit=limit, budget=budget)
        rows += page.rows
        if page.after is None:
            return rows
        after = page.after
    raise AssertionError("paging did not end")


def test_pages_cover_every_submission_once_newest_first(world):
    index = SubmissionIndex(world.store, world.forms)
    index.refresh_all(AREA)
    rows = all_pages(index, Filters())
    keys = [r["k"] for r in rows]
    assert len(keys) == len(set(keys)) == 120
    assert [r["c"] for r in rows] == sorted((r["c"] for r in rows), reverse=True)
    assert counted(index) == truth(world)


def test_filters_and_the_budget(world):
    index = SubmissionIndex(world.store, world.forms)
    index.refresh_all(AREA)
    growth = all_pages(index, Filters(form="child_growth"))
    assert len(growth) == 30 and all(r["f"] == "child_growth" for r in growth)
    october = all_pages(index, Filters(date_from="2026-10-01", date_to="2026-10-31"))
    assert len(october) == 40 and all(r["c"].startswith("2026-10") for r in october)
    found = all_pages(index, Filters(text="цасан шуурга"))
    assert [r["k"] for r in found] == ["01K" + "77".zfill(23)]
    # A rare match with a small budget: each page stops where it ran out and says so,
    # and following the pages still finds it, once.
    page = index.page(AREA, Filters(text="цасан шуурга"), limit=5, budget=10)
    assert page.stopped_at and page.after and page.scanned == 10
    assert [r["k"] for r in all_pages(index, Filters(text="цасан шуурга"), budget=10)] == ["01K" + "77".zfill(23)]


def test_reviews_edits_and_deletions_move_the_rows_and_the_counts(world):
    index = SubmissionIndex(world.store, world.forms)
    index.refresh_all(AREA)
    reviews = Reviews(world.store, world.gate, world.access, world.audit)
    oyunaa = world.users.get("oyunaa")
    db = world.store.open(AREA)
    subs = [r["doc"] for r in db.all_docs(startkey=f"{AREA}:sub:", endkey=f"{AREA}:sub:\uffff",
                                          include_docs=True, limit=6)]
    for sub in subs[:3]:
        reviews.record(oyunaa, sub["_id"], status="has_issues", comment="Шалгана уу")
    reviews.record(oyunaa, subs[3]["_id"], status="approved")
    # The author edits one flagged submission (the gate marks its review edited) ...
    bolormaa = world.users.get("bolormaa")
    edited = {**subs[0], "data": {**subs[0]["data"]}}
    world.gate.write(bolormaa, db, [edited], new_edits=True)
    # ... and deletes another.
    world.gate.write(bolormaa, db, [{"_id": subs[4]["_id"], "_rev": subs[4]["_rev"], "_deleted": True}],
                     new_edits=True)
    # (on a cluster the area's changes show these writes a moment later; the index follows when they do)
    wait_until(lambda: (index.refresh_all(AREA), all_pages(index, Filters(state="edited")))[1],
               lambda rows: [r["k"] for r in rows] == [subs[0]["_id"].split(":")[2]]
               and sum(counted(index).values()) == 119, what="the index caught up", steady=3)
    assert {r["k"] for r in all_pages(index, Filters(state="has_issues"))} == {s["_id"].split(":")[2] for s in subs[1:3]}
    assert [r["k"] for r in all_pages(index, Filters(state="edited"))] == [subs[0]["_id"].split(":")[2]]
    assert [r["n"] for r in all_pages(index, Filters(state="edited"))] == [1]
    assert subs[4]["_id"].split(":")[2] not in {r["k"] for r in all_pages(index, Filters())}
    assert counted(index) == truth(world)
    assert sum(counted(index).values()) == 119
    unreviewed = sum(n for (form, state), n in truth(world).items() if state == "received")
    assert len(all_pages(index, Filters(state="received"))) == unreviewed


def test_two_indexers_do_not_count_twice(world):
    first, second = SubmissionIndex(world.store, world.forms), SubmissionIndex(world.store, world.forms)
    extra = [check_doc(submission(f"{AREA}:sub:01KX{i:022d}", "household_visit", "bolormaa",
                                  household_visit(random.Random(i)), "2026-12-01T10:00:00+08:00"), new_edits=True)
             for i in range(5)]
    world.store.open(AREA).bulk_docs(extra)
    visible(world.store.open(AREA), 125)
    first.refresh(AREA)
    second.refresh(AREA)
    first.refresh(AREA)
    assert counted(first) == counted(second) == truth(world)
