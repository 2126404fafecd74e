"""A real PouchDB 9 replica registers a ger-kindergarten and pushes its WASH visit, registers a
facility and pushes its scorecard cycles; the pages show them.

On each store (SQLite, Apache CouchDB, a CouchDB cluster): ``fieldsync demo``
then ``fieldsync serve``; bolormaa's device registers a new ger-kindergarten
in Tes and pushes a WASH visit of it. Logged in as oyunaa, the Uvs
coordinator, the kindergarten's page shows the visit with the service levels
the server derived, and the soum's WASH table (CSV) counts one kindergarten
more, at the derived overall level. The levels expected are worked out here
from the answers as JMP's ladder reads (programmes.md 4.1), not by calling
the server's code. The facility's two cycles name it from the register, each
with its name typed otherwise: the scorecard table has them as one facility,
under the register's name. One demo server per store serves both tests.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import requests
from eventual import wait_until
from gate_helpers import PASSWORD, TES, new_key
from servers import BACKENDS, FieldsyncPeer, couch_url_for, fieldsync_demo_on
from test_growth_reports_pouchdb import web_login

from sync.demo import submission
from sync.demo_facilities import scorecard_cycle, wash_visit

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=BACKENDS)
def demo_server(request) -> Iterator[FieldsyncPeer]:
    url = couch_url_for(request, request.param) if request.param != "sqlite" else None
    with fieldsync_demo_on(request.param, url) as peer:
        yield peer


def wash_table(web: requests.Session, root: str) -> dict[str, dict[str, str]]:
    """The soum's WASH table by service: kindergartens and the count at each level."""
    resp = web.get(f"{root}/web/wash", params={"area": TES, "format": "csv"}, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    return {row["service"]: row for row in csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig")))}


def test_a_pushed_wash_visit_shows_on_the_kindergartens_page_and_in_the_soums_table(demo_server, new_replica):
    root = demo_server.root
    web = web_login(root, "oyunaa")
    before = wash_table(web, root)

    kg_id = f"{TES}:kg:{new_key()}"
    day = (date.today() - timedelta(days=3)).isoformat()
    data = wash_visit(random.Random(3), kg_id, day, quality=1.0, n=0)
    # A kindergarten with the best of everything on the day: piped water there and treated,
    # a container toilet in use, soap and water at the basin.
    data["water"] = {"source": "piped", "available_now": "yes", "water_treated": "yes", "storage_clean": "yes",
                     "individual_cups": "yes"}
    data["sanitation"] = {"toilet_type": "container_unit", "single_sex": "yes", "toilet_count": 2,
                          "usable_count": 2, "child_safe": "yes", "usable_in_winter": "yes"}
    data["hygiene"] = {"facility": "yes", "soap_water": "water_and_soap", "near_toilet": "yes", "near_eating": "yes",
                       "warm_water": "yes"}
    data["location"] = {"lat": 49.63, "lon": 95.81, "accuracy": 8}  # Tes soum centre
    device = new_replica()
    device.bulk_docs([
        {"_id": kg_id, "type": "kindergarten", "name": "Шинэ гэр цэцэрлэг", "bag": "1-р баг", "children": 18},
        submission(f"{TES}:sub:{new_key()}", "kindergarten_wash_visit", "bolormaa", data, f"{day}T10:00:00+08:00"),
    ])
    pushed = device.push(f"http://bolormaa:{PASSWORD}@127.0.0.1:{demo_server.port}/sync/bolormaa")
    assert (pushed["errors"], pushed["denied"]) == ([], [])
    assert pushed["result"]["docs_written"] == 2

    # Water at the premises, available, treated: at least basic; sanitation improved, usable, single-sex:
    # basic; hygiene with water and soap: basic. The overall is the lowest of the three: not below basic.
    page = wait_until(lambda: web.get(f"{root}/web/wash/kindergartens/{kg_id}", timeout=60),
                      lambda r: r.status_code == 200 and day in r.text,
                      what="the kindergarten's page with the pushed visit")
    assert "Шинэ гэр цэцэрлэг" in page.text

    after = wait_until(lambda: wash_table(web, root),
                       lambda t: int(t["overall"]["kindergartens"]) == int(before["overall"]["kindergartens"]) + 1,
                       what="the soum's WASH table counting the new kindergarten")
    grew = {level for level in ("advanced", "basic", "limited", "none")
            if int(after["overall"][level]) == int(before["overall"][level]) + 1}
    assert len(grew) == 1 and grew <= {"advanced", "basic"}, (before["overall"], after["overall"])
    for service in ("water", "sanitation", "hygiene"):
        assert any(int(after[service][lv]) == int(before[service][lv]) + 1 for lv in ("advanced", "basic")), service


def scorecard_rows(web: requests.Session, root: str) -> list[dict[str, str]]:
    resp = web.get(f"{root}/web/scorecards", params={"area": TES, "format": "csv"}, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


def test_pushed_cycles_naming_a_registered_facility_are_one_facility_under_its_register_name(demo_server,
                                                                                           new_replica):
    root = demo_server.root
    web = web_login(root, "oyunaa")
    fac_id = f"{TES}:fac:{new_key()}"
    name = "Тэс сумын 2-р сургууль"
    docs = [{"_id": fac_id, "type": "facility", "name": name, "facility_type": "school", "bag": "2-р баг",
             "author": "bolormaa", "created_at": "2026-11-01T09:00:00+08:00"}]
    for cycle_no, typed, day, scale in ((1, "2-р сургууль", "2026-05-14", (1, 5)),
                                        (2, "  ТЭС 2 СУРГУУЛЬ", "2026-11-12", (0, 100))):
        data = scorecard_cycle(random.Random(cycle_no), "school", typed, cycle_no, day, scale, 0.5)
        data.update(facility=fac_id, location={"lat": 49.63, "lon": 95.81, "accuracy": 8})
        docs.append(submission(f"{TES}:sub:{new_key()}", "scorecard_cycle", "bolormaa", data, f"{day}T10:00:00+08:00"))
    device = new_replica()
    device.bulk_docs(docs)
    pushed = device.push(f"http://bolormaa:{PASSWORD}@127.0.0.1:{demo_server.port}/sync/bolormaa")
    assert (pushed["errors"], pushed["denied"]) == ([], [])
    assert pushed["result"]["docs_written"] == 3

    rows = wait_until(lambda: scorecard_rows(web, root),
                      lambda rows: len([r for r in rows if r["facility"] == name]) == 2,
                      what="the scorecard table with the facility's two cycles")
    mine = sorted((int(r["cycle_no"]), r["facility_type"], r["scale"]) for r in rows if r["facility"] == name)
    assert mine == [(1, "school", "1-5"), (2, "school", "0-100")]
    assert not [r for r in rows if r["facility"] in ("2-р сургууль", "ТЭС 2 СУРГУУЛЬ")]
    page = web.get(f"{root}/web/scorecards/{TES}/facilities/{fac_id}", timeout=60)
    assert page.status_code == 200 and f"<h1>{name}</h1>" in page.text and "in the facility register" in page.text
    # one row of the soum's table links it, by its register id
    assert web.get(f"{root}/web/scorecards", params={"area": TES}, timeout=60).text.count(fac_id) == 1
