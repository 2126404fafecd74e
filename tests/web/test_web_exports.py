"""Exports over HTTP: ``/api/exports/<form>`` and the export page, on every store.

The files are read back as a coordinator's Excel would get them (csv with the
byte-order mark, openpyxl), compared with the submissions read straight from
the store; filters, photos, roles, bad parameters and the audit trail are
checked against what was written.
"""

from __future__ import annotations

import csv
import html
import io
import zipfile

import pytest
from conflict_helpers import push
from gate_helpers import PHOTO, TES, as_sent, basic, key_of, visit, with_photo
from openpyxl import load_workbook
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS
from webworld import CSRF_RE

from sync.accounts.throttle import LoginThrottle
from sync.audit import Audit
from sync.demo import DEMO_PASSWORD, seed_demo
from sync.reviews import Reviews

FORMULA = "=1+1 Баруун талын хашаа"


def _world(request, backend: str, tmp_path_factory):
    app = make_backend_app(request, backend, tmp_path_factory.mktemp("exports") / "data")
    svc = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, lock_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=4)
    svc.users.update("admin", password=DEMO_PASSWORD)  # the app's bootstrap admin, with the demo's password
    pictured = with_photo(visit(seed=1, remarks=FORMULA, created_at="2026-11-20T09:30:00+08:00"))
    approved = visit(seed=2, created_at="2026-11-21T15:00:00+08:00")
    assert not push(svc, "bolormaa", [as_sent(pictured, False), as_sent(approved, False)])
    Reviews(svc.store, svc.gate, svc.access, svc.audit).record(svc.users.get("oyunaa"), approved["_id"],
                                                                status="approved")
    return app, svc, pictured, approved


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    """The demo with two submissions of our own in Tes, one with a photo, one approved, on each store."""
    made = _world(request, request.param, tmp_path_factory)
    yield made
    close_app(made[0])


@pytest.fixture(scope="module")
def sqlite_world(request, tmp_path_factory):
    """The same on SQLite only, for what reads no store (parameters) or reads it as ``world`` showed."""
    made = _world(request, "sqlite", tmp_path_factory)
    yield made
    close_app(made[0])


def stored(svc, form: str, areas: list[str] | None = None) -> dict[str, dict]:
    """The live submissions of ``form``, read straight from the store."""
    out = {}
    for scope in svc.areas.tree().data_scopes(areas):
        for row in svc.store.open(scope).all_docs(include_docs=True):
            if row["doc"].get("type") == "submission" and row["doc"].get("form") == form:
                out[row["id"]] = row["doc"]
    return out


def get(app, path: str, user: str = "admin"):
    return app.test_client().get(path, headers=basic(user, DEMO_PASSWORD))


def csv_rows(archive: zipfile.ZipFile, name: str) -> list[dict]:
    raw = archive.read(name)
    assert raw.startswith(b"\xef\xbb\xbf"), f"{name} lacks the byte-order mark Excel needs for Cyrillic"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_csv_zip_has_every_submission_a_file_per_repeat_the_photos_and_mongolian_headers(world):
    app, svc, pictured, _ = world
    resp = get(app, "/api/exports/household_visit?format=csv&labels=mn&photos=1")
    assert resp.status_code == 200, resp.text
    assert resp.mimetype == "application/zip" and resp.is_streamed
    assert 'filename="household_visit-' in resp.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(resp.get_data()))
    assert archive.testzip() is None
    photo_path = f"photos/{TES}/{key_of(pictured['_id'])}/dwelling.jpg"
    assert archive.namelist() == ["household_visit.csv", "household_visit-members.csv", photo_path]
    assert archive.read(photo_path) == PHOTO
    rows = csv_rows(archive, "household_visit.csv")
    expected = stored(svc, "household_visit")
    by_id = {r["Илгээлтийн дугаар"]: r for r in rows}
    assert set(by_id) == set(expected)
    row = by_id[pictured["_id"]]
    assert row["Өрхийн тэргүүн / Овог нэр"] == pictured["data"]["head"]["head_name"]  # Cyrillic intact
    assert row["Тэмдэглэл"] == "'" + FORMULA  # no formula runs when Excel opens it
    assert row["Орон байрны зураг (зөвшөөрөлтэй)"] == photo_path
    assert row["Нутаг дэвсгэр"] == TES and row["Хяналтын төлөв"] == "received"
    members = csv_rows(archive, "household_visit-members.csv")
    for docid, doc in expected.items():
        mine = [m for m in members if m["Илгээлтийн дугаар"] == docid]
        assert len(mine) == len(doc["data"]["members"])
        assert [m["Мөрийн дугаар"] for m in mine] == [str(i) for i in range(len(mine))]
    # The export is in the area's audit trail, with who asked and what.
    entry = next(Audit(svc.store).entries(TES))
    assert entry["action"] == "export.downloaded" and entry["actor"] == "admin"
    assert (entry["form"], entry["format"], entry["version"]) == ("household_visit", "csv", None)
    assert entry["filters"]["labels"] == "mn" and entry["filters"]["photos"] is True
    assert TES in entry["areas"] and "ovr-kharkhorin" in entry["areas"]


def test_xlsx_filtered_by_date_and_by_review_state(world):
    app, svc, pictured, approved = world
    resp = get(app, "/api/exports/household_visit?format=xlsx&from=2026-11-20&to=2026-11-20&labels=en")
    assert resp.status_code == 200, resp.text
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(resp.get_data()))
    assert wb.sheetnames == ["household_visit", "household_visit-members"]
    sheet = wb["household_visit"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Submission ID", "Revision", "Author"]
    assert "Head of household / Name" in header or any(h.startswith("Head of household / ") for h in header)
    assert sheet.max_row == 2  # the header and the one submission of that day
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Submission ID"].value == pictured["_id"]
    assert row["Remarks"].value == FORMULA and row["Remarks"].data_type == "s"  # text, not a formula
    assert row["Photo of the dwelling (with permission)"].value == "dwelling.jpg"  # no photos asked: the name
    members = list(wb["household_visit-members"].values)
    assert len(members) - 1 == len(pictured["data"]["members"])
    assert {m[0] for m in members[1:]} == {pictured["_id"]}

    resp = get(app, "/api/exports/household_visit?state=approved")
    rows = csv_rows(zipfile.ZipFile(io.BytesIO(resp.get_data())), "household_visit.csv")
    assert [(r["_id"], r["review_state"]) for r in rows] == [(approved["_id"], "approved")]


def test_a_coordinator_exports_her_areas_only(world):
    app, svc, *_ = world
    resp = get(app, "/api/exports/household_visit", user="oyunaa")
    assert resp.status_code == 200, resp.text
    rows = csv_rows(zipfile.ZipFile(io.BytesIO(resp.get_data())), "household_visit.csv")
    assert {r["_id"] for r in rows} == set(stored(svc, "household_visit", ["uvs"]))
    assert {r["area"] for r in rows} <= {"uvs-tes", "uvs-naranbulag", "uvs-zavkhan"}
    one = get(app, "/api/exports/household_visit?area=uvs-zavkhan", user="oyunaa")
    assert {r["area"] for r in csv_rows(zipfile.ZipFile(io.BytesIO(one.get_data())), "household_visit.csv")} \
        == {"uvs-zavkhan"}
    # Another aimag's area, an area that does not exist, and an aimag she has no soum of: all alike missing.
    for area in ("ovr-kharkhorin", "ovr", "no-such-area"):
        refused = get(app, f"/api/exports/household_visit?area={area}", user="oyunaa")
        assert (refused.status_code, refused.json["error"]) == (404, "not_found"), area
    # enkhjargal coordinates both soums of Övörkhangai that hold data: naming the aimag covers them.
    both = get(app, "/api/exports/child_growth?area=ovr", user="enkhjargal")
    assert {r["area"] for r in csv_rows(zipfile.ZipFile(io.BytesIO(both.get_data())), "child_growth.csv")} \
        == {"ovr-kharkhorin", "ovr-bat-ulzii"}
    worker = get(app, "/api/exports/household_visit", user="bolormaa")
    assert worker.status_code == 403
    assert app.test_client().get("/api/exports/household_visit").status_code == 401


@pytest.mark.parametrize(("query", "parameter"), [
    ("format=pdf", "format"), ("version=two", "version"), ("version=0", "version"),
    ("from=2026-13-01", "from"), ("to=2026-9-1", "to"), ("from=2026-10-02&to=2026-10-01", "to"),
    ("state=done", "state"), ("labels=fr", "labels"), ("photos=maybe", "photos"), ("area=Uvs!", "area"),
])
def test_a_bad_parameter_is_a_400_that_names_it(sqlite_world, query, parameter):
    app, *_ = sqlite_world
    resp = get(app, f"/api/exports/household_visit?{query}")
    assert resp.status_code == 400, resp.text
    assert resp.json["error"] == "bad_request" and resp.json["parameter"] == parameter
    assert list(resp.json["fields"]) == [parameter]
    assert resp.json["reason"].startswith(f"{parameter}: ")


def test_a_form_or_version_that_does_not_exist_is_404(sqlite_world):
    app, *_ = sqlite_world
    for path in ("/api/exports/no_such_form", "/api/exports/household_visit?version=9"):
        resp = get(app, path)
        assert resp.status_code == 404, path


def login(app, name: str, lang: str):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    token = CSRF_RE.search(client.get("/web/login").text).group(1)
    resp = client.post("/web/login", data={"name": name, "password": DEMO_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.text
    return client


def test_the_export_page_in_both_languages(sqlite_world):
    app, svc, pictured, _ = sqlite_world
    client = login(app, "oyunaa", "mn")
    page = client.get("/web/exports")
    text = html.unescape(page.text)
    assert page.status_code == 200 and "Илгээлт экспортлох" in text
    assert 'value="uvs-tes"' in text and 'value="ovr-kharkhorin"' not in text  # only her areas offered
    token = CSRF_RE.search(page.text).group(1)
    wrong = client.post("/web/exports", data={"csrf_token": token, "form": "household_visit", "from": "20/11/2026"})
    assert wrong.status_code == 400 and "ОООО-СС-ӨӨ" in html.unescape(wrong.text)
    assert 'value="household_visit" selected' in wrong.text  # what was chosen is kept
    nothing = client.post("/web/exports", data={"csrf_token": token, "form": ""})
    assert nothing.status_code == 400 and "маягтаа сонгоно уу" in html.unescape(nothing.text)
    forged = client.post("/web/exports", data={"form": "household_visit"})
    assert forged.status_code == 400
    other = client.post("/web/exports", data={"csrf_token": token, "form": "household_visit",
                                              "area": "ovr-kharkhorin"})
    assert other.status_code == 404
    got = client.post("/web/exports", data={"csrf_token": token, "form": "household_visit", "format": "xlsx",
                                            "area": TES, "from": "2026-11-20", "to": "2026-11-20",
                                            "labels": "mn"})
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(got.get_data()))["household_visit"]
    assert [c.value for c in sheet[2]][0] == pictured["_id"] and sheet[1][0].value == "Илгээлтийн дугаар"
    english = login(app, "oyunaa", "en").get("/web/exports")
    assert "Export submissions" in english.text and "Илгээлт экспортлох" not in english.text
    assert login(app, "bolormaa", "en").get("/web/exports").status_code == 404  # a worker: no such page
