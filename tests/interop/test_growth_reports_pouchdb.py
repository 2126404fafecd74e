"""A real PouchDB 9 replica pushes a child's growth visits; the coordinator's pages and the export show them.

``fieldsync demo`` then ``fieldsync serve`` (SQLite): bolormaa's device
pushes three visits of a new child over three months, the last one with a
weight typed wrong. Logged in to the web pages as oyunaa, the Uvs coordinator,
the child's page shows each visit's z-scores as the server derived them (WHO
rules, ``programmes.growth_visit.derive``, run here on the pushed answers) with
the wrong value flagged, and the growth charts; the soum's report counts the
child once, by its newest visit, measured, with one more flagged value; the
form's CSV export carries the same z-scores in its derived columns.
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from datetime import date, timedelta

import pytest
import requests
from gate_helpers import PASSWORD, TES, new_key
from servers import fieldsync_demo_server

from programmes.growth_visit import derive
from sync.demo import growth_visit, submission

pytestmark = pytest.mark.interop
CHILD = "tes-pouch-child-0001"


def visits() -> list[dict]:
    today = date.today()
    base = growth_visit(random.Random(11), child_id=CHILD)
    born = today - timedelta(days=500)
    out = []
    for i, weeks_ago in enumerate((12, 6, 1)):
        data = {**base, "dob": born.isoformat(), "sex": "f", "position": "l", "bag": "2-р баг",
                "visit_date": (today - timedelta(weeks=weeks_ago)).isoformat(),
                "weight_kg": [8.4, 8.9, 19.3][i], "lenhei_cm": [73.5, 75.1, 76.4][i], "oedema": "no"}
        data.pop("muac_mm", None)
        out.append(submission(f"{TES}:sub:{new_key()}", "growth_visit", "bolormaa", data,
                              f"{data['visit_date']}T10:00:00+08:00"))
    return out


def web_login(root: str, name: str) -> requests.Session:
    web = requests.Session()
    web.headers["Accept-Language"] = "en"
    token = re.search(r'name="csrf_token" value="([^"]+)"', web.get(f"{root}/web/login", timeout=30).text).group(1)
    resp = web.post(f"{root}/web/login", data={"name": name, "password": PASSWORD, "csrf_token": token},
                    timeout=30, allow_redirects=False)
    assert resp.status_code == 302, resp.text[:300]
    return web


def growth_total(web: requests.Session, root: str) -> dict[str, str]:
    resp = web.get(f"{root}/web/reports/growth.csv?area={TES}", timeout=60)
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
    return dict(zip(rows[0], rows[1], strict=True))


def test_pushed_growth_visits_show_in_the_reports_the_child_page_and_the_export(new_replica):
    with fieldsync_demo_server() as peer:
        web = web_login(peer.root, "oyunaa")
        before = growth_total(web, peer.root)

        device = new_replica()
        docs = visits()
        device.bulk_docs(docs)
        pushed = device.push(f"http://bolormaa:{PASSWORD}@127.0.0.1:{peer.port}/sync/bolormaa", batch_size=50)
        assert pushed["errors"] == [] and pushed["denied"] == []
        assert pushed["result"]["docs_written"] == 3

        expected = [derive(d["data"]) for d in docs]
        assert expected[2]["fwei"] == 1 and expected[2]["flen"] == 0  # 19.3 kg at 16 months
        assert expected[2]["fwfl"] == 1 and expected[2]["fbmi"] == 1  # and at 76.4 cm
        page = web.get(f"{peer.root}/web/areas/{TES}/child", params={"id": CHILD}, timeout=60)
        assert page.status_code == 200
        for doc, z in zip(docs, expected, strict=True):
            assert doc["data"]["visit_date"] in page.text
            for name in ("zlen", "zwei", "zwfl"):
                assert f"{z[name]:+.2f}" in page.text, (name, z[name])
        # the 19.3 kg, hollow on the weight-for-age, weight-for-length and BMI-for-age charts
        assert page.text.count('class="point flagged"') == 3
        # length/height-, weight-, BMI-for-age and weight-for-length (all under 24 months); no MUAC, no MUAC chart
        assert re.findall(r'class="growth-chart"[^>]*data-indicator="(\w+)"', page.text) == ["lhfa", "wfa", "wfl", "bmi"]

        after = growth_total(web, peer.root)
        assert int(after["Children"]) == int(before["Children"]) + 1
        assert int(after["Measured in the last 3 months"]) == int(before["Measured in the last 3 months"]) + 1
        assert int(after["Underweight: flagged"]) == int(before["Underweight: flagged"]) + 1
        assert int(after["Underweight: classified"]) == int(before["Underweight: classified"])

        export = requests.get(f"{peer.root}/api/exports/growth_visit", params={"format": "csv", "area": TES},
                              auth=("oyunaa", PASSWORD), timeout=120)
        assert export.status_code == 200
        with zipfile.ZipFile(io.BytesIO(export.content)) as zf:
            table = zf.read("growth_visit.csv").decode("utf-8-sig")
        rows = {r["_id"]: r for r in csv.DictReader(io.StringIO(table))}
        for doc, z in zip(docs, expected, strict=True):
            row = rows[doc["_id"]]
            assert float(row["derived/zwei"]) == z["zwei"] and float(row["derived/zlen"]) == z["zlen"]
            assert row["derived/fwei"] == str(z["fwei"])
