"""The facility index follows an area's derived documents of the WASH and scorecard forms only.

On each store (SQLite, Apache CouchDB, a CouchDB cluster): derived documents
are written as the server writes them (growth visits' among them), then
changed and deleted; the index's rows in ``_facilities`` follow, hold no growth
value, and a second app server holding the lease leaves the rows as they were
read last.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from sync import records
from sync.facility_index import SCOPE, FacilityIndex

AREA = "uvs-tes"
WASH = {"kindergarten_wash_visit"}


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path: Path):
    app = make_backend_app(request, request.param, tmp_path / "data")
    yield app.extensions["fieldsync"].store
    close_app(app)


def derived(key: str, form: str, values: dict | None) -> dict:
    return {"_id": f"{AREA}:derived:{key}", "type": "derived", "about": f"{AREA}:sub:{key}", "form": form,
            "derived": values}


def test_rows_follow_the_wash_and_scorecard_derived_documents_and_nothing_else(store):
    db = store.ensure(AREA)
    db.bulk_docs([derived(f"G{i}", "growth_visit", {"zlen": -1.0}) for i in range(50)]
                 + [derived("W1", "kindergarten_wash_visit", {"water_service": "basic"}),
                    derived("W2", "kindergarten_wash_visit", {"water_service": "none"}),
                    derived("W3", "kindergarten_wash_visit", None),  # could not be derived: left out
                    derived("C1", "scorecard_cycle", {"overall": 50.0})])
    index = FacilityIndex(store)
    got = sorted((v["about"], v["water_service"]) for v in index.values(AREA, WASH))
    assert got == [(f"{AREA}:sub:W1", "basic"), (f"{AREA}:sub:W2", "none")]
    assert [v["overall"] for v in index.values(AREA, {"scorecard_cycle"})] == [50.0]
    rows = [d["_id"] for d in records.iter_docs(store.open(SCOPE), f"{AREA}:f:")]
    assert sorted(rows) == [f"{AREA}:f:C1", f"{AREA}:f:W1", f"{AREA}:f:W2"]  # no growth row

    w1 = records.read(db, f"{AREA}:derived:W1")
    records.write(db, {**w1, "derived": {"water_service": "advanced"}})  # an edit of the visit
    w2 = records.read(db, f"{AREA}:derived:W2")
    db.bulk_docs([{"_id": w2["_id"], "_rev": w2["_rev"], "_deleted": True}])  # the visit deleted
    w3 = records.read(db, f"{AREA}:derived:W3")
    records.write(db, {**w3, "derived": {"water_service": "limited"}, "error": None})  # derived at last
    got = sorted((v["about"], v["water_service"]) for v in index.values(AREA, WASH))
    assert got == [(f"{AREA}:sub:W1", "advanced"), (f"{AREA}:sub:W3", "limited")]
    assert index.refresh(AREA).changes == 0  # nothing new: nothing read again


def test_a_refresh_is_bounded_and_another_servers_lease_is_respected(store):
    db = store.ensure(AREA)
    db.bulk_docs([derived(f"W{i}", "kindergarten_wash_visit", {"water_service": "basic"}) for i in range(30)])
    index = FacilityIndex(store)
    first = index.refresh(AREA, max_changes=10, batch=10)
    assert (first.changes, first.done) == (10, False)
    meta = records.read(index.db(), f"{AREA}:meta")
    records.write(index.db(), {**meta, "lease_by": "another server", "lease_until": time.time() + 30})
    busy = index.refresh(AREA)
    assert busy.busy and not busy.done
    assert len(index.values(AREA, WASH)) == 10  # what was copied so far, read while the other works
    meta = records.read(index.db(), f"{AREA}:meta")
    records.write(index.db(), {**meta, "lease_by": None, "lease_until": 0})
    assert len(index.values(AREA, WASH)) == 30
    assert index.values("uvs-nowhere", WASH) == []
