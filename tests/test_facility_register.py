"""The scorecards' facility register through the write gate, on every store.

SQLite, Apache CouchDB (and the cluster when the session has one): a worker's device and a
coordinator push facilities (``<area>:fac:<key>``) through ``/sync/<user>/_bulk_docs``; the gate
refuses a missing name, a type outside the scorecard forms' list, unknown fields and another
area's facility, in English and Mongolian, and stores nothing of what it refuses.
"""

from __future__ import annotations

import pytest
from eventual import wait_until
from gate_helpers import TES, new_key, push_as
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from sync import facility_register, records
from sync.demo import seed_demo


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("facilities") / "data")
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app
    close_app(app)




def facility(area: str = TES, **fields) -> dict:
    return {"_id": f"{area}:fac:{new_key()}", "type": "facility", "name": "Тэс сумын эрүүл мэндийн төв",
            "facility_type": "health_centre", **fields}


def test_workers_and_coordinators_register_facilities_and_the_gate_refuses_bad_ones(app):
    db = app.extensions["fieldsync"].store.open(TES)
    by_worker = facility(bag="2-р баг", author="bolormaa", created_at="2026-11-02T10:00:00+08:00")
    by_coordinator = facility(name="Тэс сургууль", facility_type="school", author="oyunaa")
    assert all("rev" in r for r in push_as(app, "bolormaa", [by_worker])), by_worker
    assert all("rev" in r for r in push_as(app, "oyunaa", [by_coordinator]))
    wait_until(lambda: set(facility_register.facilities(app.extensions["fieldsync"].store, TES)),
               lambda ids: ids >= {by_worker["_id"], by_coordinator["_id"]},
               what="both facilities in the register's key range")  # a range read: a cluster's copy may lag

    nameless = facility(name="   ")
    hospital = facility(facility_type="hospital")
    extra = facility(children=30)
    long_bag = facility(bag="б" * 101)
    out = push_as(app, "bolormaa", [nameless, hospital, extra, long_bag])
    assert [r.get("error") for r in out] == ["forbidden"] * 4, out
    assert "name: The facility's name is required (at most 150 characters)." in out[0]["reason"]
    assert "Байгууллагын нэрийг бичнэ үү" in out[0]["messages"]["mn"]
    assert ("facility_type: The type of facility must be one of health_centre, family_health_centre, school, "
            "kindergarten.") in out[1]["reason"]
    assert "'children' is not a field of a facility." in out[2]["reason"]
    assert "bag: The bag must be text of at most 100 characters." in out[3]["reason"]
    for doc in (nameless, hospital, extra, long_bag):
        assert records.read(db, doc["_id"]) is None  # nothing of a refused facility is stored

    # an edit is checked as a new one is: renaming to nothing is refused, a real rename stored
    stored = records.read(db, by_worker["_id"])
    assert push_as(app, "bolormaa", [{**stored, "name": ""}])[0]["error"] == "forbidden"
    assert "rev" in push_as(app, "bolormaa", [{**stored, "name": "Тэс сумын ЭМТ"}])[0]
    assert records.read(db, by_worker["_id"])["name"] == "Тэс сумын ЭМТ"

    # another soum's facility: not this worker's area, whatever its fields
    out = push_as(app, "bolormaa", [facility(area="ovr-kharkhorin")])
    assert out[0]["error"] == "forbidden"
    assert records.read(app.extensions["fieldsync"].store.open("ovr-kharkhorin"), out[0]["id"]) is None
