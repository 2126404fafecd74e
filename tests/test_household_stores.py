"""A family's household members and what the growth records say, on every store (``sync.household``).

SQLite, Apache CouchDB and the cluster: a family with three register children (one turning
60 months, one of 22 months, a newborn) and a child of another family, growth visits written
with their derived documents as the gate leaves them, the report index brought up to date.
The members are the family's children with their visits' dates and the newest visit's classes;
the records' answer to "growth monitored in the last 3 months" is checked on the days around
the 91-day window's edge and the 60-month edge.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from eventual import wait_until
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from sync import household
from sync.demo import growth_visit, submission
from sync.derived import DerivedValues
from sync.reports import ReportIndex

AREA = "uvs-tes"
FAMILY = f"{AREA}:fam:01KFAMILY00000000000000001"
OTHER = f"{AREA}:fam:01KFAMILY00000000000000002"
FIVE_ON = date(2026, 10, 15)  # the day before "five"'s fifth birthday: 59 months, the last day it counts
CHILDREN = {  # key -> (dob, family, visit dates)
    "five": (date(2021, 10, 16), FAMILY, ["2026-05-01"]),
    "young": (date(2025, 1, 10), FAMILY, ["2026-06-01", "2026-09-01"]),
    "newborn": (date(2026, 11, 1), FAMILY, ["2026-11-10"]),
    "cousin": (date(2024, 3, 3), OTHER, ["2026-08-01"]),
}


@pytest.fixture(scope="module", params=BACKENDS)
def svc(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("household") / "data")
    services = app.extensions["fieldsync"]
    db = services.store.ensure(AREA)
    docs = [{"_id": fam, "type": "family", "name": name, "bag": "1-р баг"}
            for fam, name in ((FAMILY, "Доржийн гэр бүл"), (OTHER, "Батын гэр бүл"))]
    subs = []
    for n, (key, (dob, fam, days)) in enumerate(CHILDREN.items()):
        docs.append({"_id": f"{AREA}:child:{key}", "type": "child", "name": f"Хүүхэд {key}", "sex": "f",
                     "dob": dob.isoformat(), "family": fam})
        for m, day in enumerate(days):
            data = {**growth_visit(random.Random(10 * n + m), day=date.fromisoformat(day), child_id=key),
                    "dob": dob.isoformat(), "sex": "f"}
            subs.append(submission(f"{AREA}:sub:01KHOUSE{10 * n + m:018d}", "growth_visit", "bolormaa", data,
                                   f"{day}T10:00:00+08:00"))
    docs += subs
    assert all("rev" in r for r in db.bulk_docs(docs, new_edits=True))
    DerivedValues().refresh(db, [s["_id"] for s in subs])
    wanted = {d["_id"] for d in docs} | {s["_id"].replace(":sub:", ":derived:") for s in subs}
    wait_until(lambda: {r["id"] for r in db.changes(0)}, lambda seen: wanted <= seen,
               what="the writes in the area's feed")
    ReportIndex(services.store).refresh_all(AREA)
    yield services
    close_app(app)


def members(svc) -> list[household.Member]:
    return household.members(svc.store, AREA, FAMILY)


def test_the_members_are_the_familys_register_children_with_their_visits(svc):
    found = members(svc)
    assert [m.key for m in found] == ["five", "young", "newborn"]  # oldest first; the cousin is not one
    for m in found:
        assert m.visits == CHILDREN[m.key][2]
        assert m.newest == CHILDREN[m.key][2][-1]
        assert m.doc["name"] == f"Хүүхэд {m.key}"
    db = svc.store.open(AREA)
    young = found[1]
    newest = db.get(f"{AREA}:derived:01KHOUSE{11:018d}")["derived"]
    assert young.classes == {n: newest[n] for n in household.CLASSES if newest.get(n) is not None}
    assert young.age_months(date(2026, 11, 30)) == 22 and young.age_months(date(2026, 11, 9)) == 21
    assert found[0].age_months(FIVE_ON) == 59 and found[0].age_months(FIVE_ON + timedelta(days=1)) == 60
    assert found[2].age_months(date(2026, 10, 31)) is None  # not born yet
    assert household.members(svc.store, AREA, f"{AREA}:fam:nobody") == []


@pytest.mark.parametrize("on, answer, measured", [
    # "young" last measured 2026-09-01: the window of 2026-11-30 is 09-01..11-30, of 12-01 is 09-02..12-01
    (date(2026, 11, 30), "yes", {"young": True, "newborn": True}),
    (date(2026, 12, 1), "no", {"young": False, "newborn": True}),
    # "five" is 59 months on 10-15 (counts, not measured since May), 60 on its birthday 10-16 (no longer)
    (FIVE_ON, "no", {"five": False, "young": True}),
    (FIVE_ON + timedelta(days=1), "yes", {"young": True}),
    # a visit after the day does not count: "young" is first measured on 06-01
    (date(2026, 5, 31), "no", {"five": True, "young": False}),
    (date(2026, 6, 1), "yes", {"five": True, "young": True}),
])
def test_the_records_answer_around_the_91_day_and_60_month_edges(svc, on, answer, measured):
    found = household.records_answer(members(svc), on)
    assert found.answer == answer
    assert {m.key: ok for m, ok, _ in found.children} == measured


def test_no_child_under_five_is_not_applicable_and_the_worker_is_compared(svc):
    only_five = [m for m in members(svc) if m.key == "five"]
    assert household.records_answer(only_five, FIVE_ON + timedelta(days=1)).answer == "na"
    assert household.records_answer(only_five, FIVE_ON).children[0][2] == "2026-05-01"
    assert household.agreement("yes", "yes") == "agree"
    assert household.agreement("na", "no") == "disagree"
    assert household.agreement(None, "yes") == "unanswered"
