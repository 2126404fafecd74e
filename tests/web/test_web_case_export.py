"""The de-identified case export (``sync/case_export.py``): the page and ``/api/case-exports``.

The demo's cases and one planted case whose referral and case carry a name, a
narrative, a phone number, a date of birth and notes that must never leave:
the CSV and the XLSX hold none of them (their bytes are searched, the XLSX
unzipped), the case's row says what its documents say (columns recomputed here
from the stored case, the pseudonym from the server's secret by the HMAC the
module documents), a coordinator gets the rows of every case of her soums
(on the case or not) and no other soum, an admin every soum; workers 403,
another aimag 404, a parameter that does not apply or a bad format 400 in
English and Mongolian on the page and the API. Cases are sealed at rest here.
On every store (SQLite, one CouchDB node, the 3-node cluster).
"""

from __future__ import annotations

import base64
import csv
import datetime
import hashlib
import hmac
import html
import io
import random
import zipfile

import pytest
from eventual import wait_until
from gate_helpers import basic
from openpyxl import load_workbook
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS
from webworld import CSRF_RE

from sync import case_export, cases, records
from sync.accounts.throttle import LoginThrottle
from sync.case_export import COLUMNS
from sync.demo import DEMO_PASSWORD, protection_referral, seed_demo, submission
from sync.demo_cases import seed_cases
from sync.stores.encrypted import new_key_entry

AREA = "ovr-kharkhorin"
KEY = "01KEXPORTPLANTED0000000001"
CASE = f"{AREA}:case:{KEY}"
SECRETS = ["Батбаяр Должин", "MARKER-NARRATIVE", "99112233", "2015-03-04", "MARKER-SAFETY", "MARKER-NOTE",
           "MARKER-PROVIDER", "MARKER-CLOSE", "CP-2026-777", KEY, "tsetseg", "enkhjargal"]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("case-export") / "data",
                           encryption_keys=new_key_entry("cases"), secret_key="case-export-test-secret")
    svc = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, lock_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=8)
    seed_cases(svc.store, svc.areas.tree(), list(svc.users.list()))
    svc.users.update("admin", password=DEMO_PASSWORD)
    answers = {**protection_referral(random.Random(5)), "case_code": "CP-2026-777", "bag": "3-р баг",
               "child_sex": "girl", "child_age": 11, "summary": "MARKER-NARRATIVE Батбаяр Должин",
               "safety_action": "MARKER-SAFETY", "urgency": "immediate", "reported_by": "neighbour",
               "concerns": ["physical", "neglect"], "referred_to": ["police", "health"],
               "contacts": [{"contact_agency": "police", "contact_time": "2026-11-20T10:00:00+08:00",
                             "contact_outcome": "Утас 99112233"}]}
    referral = submission(f"{AREA}:sub:{KEY}", "child_protection_referral", "tsetseg", answers,
                          "2026-11-20T09:00:00+08:00")
    db = svc.store.open(AREA)
    assert "error" not in svc.gate.write(svc.users.get("tsetseg"), db, [referral], new_edits=True)[0]
    case = wait_until(lambda: records.read(db, CASE), what="the case opened by the gate")  # as every referral's is
    case["data"]["dob"] = "2015-03-04"  # what a device might add: never exported
    changed = cases.changed(case, "enkhjargal", "services", at="2026-11-21T09:00:00.000Z", services=[
        {"type": "police", "provider": "MARKER-PROVIDER", "referred_at": "2026-11-20", "response": "pending",
         "due_by": "2026-11-25"},
        {"type": "health", "provider": "", "referred_at": "2026-11-20", "response": "accepted"}],
        follow_ups=[{"due": "2026-11-22", "done_on": "2026-11-22", "mode": "visit", "notes": "MARKER-NOTE 99112233"},
                    {"due": "2026-11-28", "done_on": "2026-11-27", "mode": "phone", "notes": ""},
                    {"due": "2026-12-01", "done_on": None, "mode": "visit", "notes": ""}])
    changed = cases.changed(changed, "enkhjargal", "status", at="2026-11-30T09:00:00.000Z", status="closed",
                            closure={"reason": "moved", "note": "MARKER-CLOSE", "closed_on": "2026-11-30"})
    assert "error" not in svc.gate.write(svc.users.get("enkhjargal"), db, [changed], new_edits=True)[0]
    wait_until(lambda: records.read(db, CASE), lambda c: c["status"] == "closed", what="the case closed")
    yield app, svc
    close_app(app)


def get(app, path: str, user: str = "admin", lang: str = "en"):
    return app.test_client().get(path, headers={**basic(user, DEMO_PASSWORD), "Accept-Language": lang})


def csv_table(body: bytes) -> tuple[list[str], list[dict]]:
    assert body.startswith(b"\xef\xbb\xbf")
    reader = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    head = next(reader)
    return head, [dict(zip(head, r, strict=True)) for r in reader]


def xlsx_table(body: bytes) -> tuple[list[str], list[dict]]:
    sheet = load_workbook(io.BytesIO(body)).active
    rows = [[("" if c.value is None else str(c.value)) for c in r] for r in sheet.iter_rows()]
    return rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def unzipped(body: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return b"".join(z.read(n) for n in z.namelist())


def expected_pseudonym(docid: str) -> str:
    key = hmac.new(b"case-export-test-secret", b"fieldsync-case-export-pseudonym", hashlib.sha256).digest()
    return "CP-" + base64.b32encode(hmac.new(key, docid.encode(), hashlib.sha256).digest()[:10]).decode()


def soums_cases(svc, soums: list[str]) -> dict[str, dict]:
    return {expected_pseudonym(c["_id"]): c for s in soums for c in cases.area_cases(svc.store.open(s))}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_columns_the_planted_case_and_no_identifying_byte(world, fmt):
    app, svc = world
    resp = get(app, f"/api/case-exports?format={fmt}&area={AREA}", user="enkhjargal")
    assert resp.status_code == 200, resp.text
    body = resp.get_data()
    head, rows = csv_table(body) if fmt == "csv" else xlsx_table(body)
    assert head == COLUMNS
    assert {r["case"] for r in rows} == set(soums_cases(svc, [AREA]))
    raw = body if fmt == "csv" else unzipped(body)
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
    row = next(r for r in rows if r["case"] == expected_pseudonym(CASE))
    opened = datetime.date.fromisoformat(svc.store.open(AREA).get(CASE)["opened_at"][:10])
    days_open = (datetime.date(2026, 11, 30) - opened).days
    assert {k: v for k, v in row.items() if k != "case"} == {
        "soum": AREA, "bag": "3-р баг", "child_sex": "girl", "age_band": "10-14", "risk": "high", "status": "closed",
        "concerns": "physical;neglect", "source": "neighbour",
        "services": "police:pending:due 2026-11-25; health:accepted",
        "services_pending_overdue": "0", "follow_ups_done": "2", "follow_ups_open": "1", "follow_ups_overdue": "0",
        "last_follow_up": "2026-11-27", "days_open": str(days_open),
        "closure_reason": "moved"}
    assert resp.headers["Cache-Control"] == "private, no-store"


def test_an_open_case_counts_its_overdue_services_and_visits(world):
    app, svc = world
    _, rows = csv_table(get(app, "/api/case-exports?area=ovr", user="enkhjargal").get_data())
    stored = soums_cases(svc, ["ovr-kharkhorin", "ovr-bat-ulzii"])
    assert {r["case"] for r in rows} == set(stored)
    today = datetime.date.today()
    for row in rows:
        case = stored[row["case"]]
        assert row["risk"] == case["risk"] and row["status"] == case["status"]
        assert int(row["follow_ups_overdue"]) == len(cases.overdue(case, today))
        assert int(row["services_pending_overdue"]) == len(cases.pending_past_due(case, today))
        assert row["closure_reason"] == (case["data"]["closure"]["reason"] if case["status"] == "closed" else "")
    assert any(int(r["follow_ups_overdue"]) for r in rows)  # the demo's overdue visits (due November 2026)


def test_a_coordinator_gets_every_case_of_her_soums_not_only_hers_and_an_admin_every_soum(world):
    app, svc = world
    svc.users.add("dolgor", "coordinator", [AREA], DEMO_PASSWORD)  # on no case
    try:
        got = wait_until(lambda: get(app, "/api/case-exports", user="dolgor"), lambda r: r.status_code == 200,
                         what="dolgor's export")
        _, dolgor_rows = csv_table(got.get_data())
    finally:
        svc.users.update("dolgor", disabled=True)
    assert {r["case"] for r in dolgor_rows} == set(soums_cases(svc, [AREA]))
    _, mine = csv_table(get(app, "/api/case-exports", user="oyunaa").get_data())
    assert {r["soum"] for r in mine} <= {"uvs-tes", "uvs-naranbulag", "uvs-zavkhan"} and mine
    _, every = csv_table(get(app, "/api/case-exports", user="admin").get_data())
    assert {r["case"] for r in every} == set(soums_cases(svc, svc.areas.tree().data_scopes()))
    # Each download is in the trail of each area it covers, with who took it.
    entry = wait_until(lambda: next((e for e in svc.audit.entries(AREA, limit=20)
                                     if e["action"] == "export.downloaded"), {}),
                       lambda e: e.get("actor") == "admin", what="the admin's export in the trail")
    assert (entry["actor"], entry["export"], entry["format"]) == ("admin", "cases_deidentified", "csv")
    dolgors = wait_until(lambda: [e for e in svc.audit.entries(AREA, limit=50) if e["actor"] == "dolgor"],
                         what="dolgor's export in the trail")
    assert [(e["action"], e["export"], e["areas"], e["rows"]) for e in dolgors] == \
        [("export.downloaded", "cases_deidentified", [AREA], len(dolgor_rows))]


@pytest.mark.parametrize(("query", "parameter", "words", "mn"), [
    ("format=pdf", "format", "'pdf' is not a format", "'pdf' гэсэн хэлбэр байхгүй"),
    ("state=approved", "state", "does not apply to the case export", "тохиолдлын экспортод хамаарахгүй"),
    ("from=2026-11-01", "from", "does not apply to the case export", "тохиолдлын экспортод хамаарахгүй"),
    ("area=Uvs!", "area", "'Uvs!' is not an area code", "'Uvs!' нь нутгийн код биш"),
])
def test_a_bad_parameter_is_a_400_that_names_it_in_both_languages(world, query, parameter, words, mn):
    """``reason`` is English, as everywhere in /api; ``messages`` has it in English and Mongolian."""
    app, _ = world
    resp = get(app, f"/api/case-exports?{query}", user="oyunaa")
    assert resp.status_code == 400, resp.text
    assert (resp.json["error"], resp.json["parameter"], list(resp.json["fields"])) == ("bad_request", parameter,
                                                                                       [parameter])
    assert resp.json["reason"].startswith(f"{parameter}: ") and words in resp.json["reason"]
    assert resp.json["messages"]["en"] == resp.json["reason"]
    assert resp.json["messages"]["mn"].startswith(f"{parameter}: ") and mn in resp.json["messages"]["mn"]


def test_another_aimag_is_404_and_a_worker_403(world):
    app, _ = world
    for area in ("ovr-kharkhorin", "ovr", "no-such-area"):
        assert get(app, f"/api/case-exports?area={area}", user="oyunaa").status_code == 404, area
    assert get(app, "/api/case-exports", user="tsetseg").status_code == 403
    assert app.test_client().get("/api/case-exports").status_code == 401


def login(app, name: str, lang: str):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    token = CSRF_RE.search(client.get("/web/login").text).group(1)
    resp = client.post("/web/login", data={"name": name, "password": DEMO_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.text
    return client


@pytest.mark.parametrize(("lang", "title", "wrong", "no_format"), [
    ("en", "Child protection cases, de-identified", "does not apply to the case export", "is not a format"),
    ("mn", "Хүүхэд хамгааллын тохиолдол, нэргүйжүүлсэн", "тохиолдлын экспортод хамаарахгүй",
     "гэсэн хэлбэр байхгүй"),
])
def test_the_export_page_downloads_the_table_in_both_languages(world, lang, title, wrong, no_format):
    app, svc = world
    client = login(app, "enkhjargal", lang)
    page = client.get("/web/exports")
    assert page.status_code == 200 and title in html.unescape(page.text)
    token = CSRF_RE.search(page.text).group(1)
    got = client.post("/web/exports/cases", data={"csrf_token": token, "format": "xlsx", "area": AREA})
    assert got.status_code == 200 and got.mimetype.endswith("spreadsheetml.sheet")
    head, rows = xlsx_table(got.get_data())
    assert head == COLUMNS and {r["case"] for r in rows} == set(soums_cases(svc, [AREA]))
    for secret in SECRETS:
        assert secret.encode() not in unzipped(got.get_data()), secret
    refused = client.post("/web/exports/cases", data={"csrf_token": token, "format": "csv", "labels": "mn"})
    assert refused.status_code == 400 and wrong in html.unescape(refused.text)
    bad_format = client.post("/web/exports/cases", data={"csrf_token": token, "format": "pdf"})
    assert bad_format.status_code == 400 and no_format in html.unescape(bad_format.text)
    assert 'id="case-export-error"' in bad_format.text
    assert client.post("/web/exports/cases", data={"csrf_token": token, "area": "uvs-tes"}).status_code == 404
    assert client.post("/web/exports/cases", data={"format": "csv"}).status_code == 400  # no CSRF token


@pytest.mark.parametrize(("typed", "exported"), [
    ("3-р баг", "3-р баг"), (" 12-р  баг ", "12-р баг"), ("bag 4", "bag 4"), ("", ""), (None, ""),
    ("Батбаяр Должин, хашаа 12 утас 99112233", "other"), ("99112233 баг", "other"), ("Хөх нуур баг", "other")])
def test_the_bag_column_is_a_numbered_bag_or_other_never_typed_text(typed, exported):
    """The referral's `bag` is a free text answer: a name or phone typed there must not reach the table."""
    assert case_export.bag(typed) == exported

