"""The audit trail over HTTP, on SQLite and CouchDB.

Logins (success and failure) are recorded with the address they came from;
the page filters by who, what, area and time and pages by key (never the
whole trail); its CSV opens in Excel (UTF-8 with BOM); coordinators see their
areas only (another area is 404); and no endpoint writes the trail, admins
included, while a disabled user's entries stay.
"""

from __future__ import annotations

import csv
import gzip
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from protocol_helpers import basic
from test_web_admin_users import STORES, login, trail
from webworld import CSRF_RE

from sync import audit_query
from sync.accounts.throttle import LoginThrottle
from sync.audit import ALL, AUDIT_SCOPE
from sync.demo import DEMO_PASSWORD, seed_demo

NOTE = "Давхар илгээсэн: өмнөх айлчлалтай ижил"


@pytest.fixture(scope="module", params=STORES)
def app(request, tmp_path_factory):
    from protocol_helpers import close_app, make_backend_app

    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("webaudit") / "data")
    svc = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, address_slow_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    svc.users.add("chief", "admin", [], DEMO_PASSWORD)
    svc.audit.record(actor="oyunaa", action="quarantine.discarded", scope="uvs-tes", doc_id="uvs-tes:sub:1",
                     reason=NOTE)
    svc.audit.record(actor="enkhjargal", action="review.recorded", scope="ovr-kharkhorin",
                     doc_id="ovr-kharkhorin:sub:2", status="approved")
    yield app
    close_app(app)


@pytest.fixture
def svc(app):
    return app.extensions["fieldsync"]


def text(resp) -> str:
    return html.unescape(resp.text)


def shown(page: str) -> list[tuple[str, str]]:
    """(who, action) of each row of the audit table."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r"<tr>\s*<td>[^<]*</td>\s*<td>([^<]*)(?:<br>.*?)?</td>\s*<td>.*?<span class=\"muted code\">"
                      r"([^<]+)</span>", body, re.S)


def test_logins_are_recorded_with_their_address_success_and_failure(app, svc):
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="10.20.30.40", HTTP_ACCEPT_LANGUAGE="en")
    t = CSRF_RE.search(client.get("/web/login").text).group(1)
    assert client.post("/web/login", data={"name": "oyunaa", "password": "wrong-one", "csrf_token": t}).status_code == 401
    assert client.post("/web/login", data={"name": "oyunaa", "password": DEMO_PASSWORD,
                                           "csrf_token": t}).status_code == 302
    other = app.test_client()
    other.environ_base.update(REMOTE_ADDR="10.9.9.9")
    assert other.get("/sync/bolormaa", headers=basic("bolormaa", "not-the-password")).status_code == 401
    assert other.post("/_session", json={"name": "ganzorig", "password": DEMO_PASSWORD}).status_code == 200
    logins = [(e["actor"], e["action"], e["address"]) for e in trail(svc) if e["action"].startswith("login.")]
    assert logins[:4] == [("ganzorig", "login.succeeded", "10.9.9.9"), ("bolormaa", "login.failed", "10.9.9.9"),
                          ("oyunaa", "login.succeeded", "10.20.30.40"), ("oyunaa", "login.failed", "10.20.30.40")]
    page = text(login(app, "chief").get("/web/audit?what=login&who=oyunaa"))
    assert shown(page) == [("oyunaa", "login.succeeded"), ("oyunaa", "login.failed")]
    assert "10.20.30.40" in page


def test_an_admin_filters_by_who_what_area_and_time(app, svc):
    client = login(app, "chief", "mn")
    page = text(client.get("/web/audit?area=uvs-tes"))
    assert shown(page) == [("oyunaa", "quarantine.discarded")] and NOTE in page
    assert "Татгалзсан баримтыг хассан" in page  # the action in Mongolian
    assert shown(text(client.get("/web/audit?what=review"))) == [("enkhjargal", "review.recorded")]
    assert shown(text(client.get("/web/audit?who=enkhjargal&area=uvs-tes"))) == []
    today = datetime.now(UTC).date()
    assert ("oyunaa", "quarantine.discarded") in shown(text(client.get(f"/web/audit?from={today}&to={today}")))
    assert shown(text(client.get(f"/web/audit?from={today + timedelta(days=1)}"))) == []
    assert shown(text(client.get(f"/web/audit?to={today - timedelta(days=1)}"))) == []
    assert ("chief", "login.succeeded") in shown(text(client.get("/web/audit?area=~")))


@pytest.mark.parametrize("query, words", [
    ("from=2026-13-01", "ОООО-СС-ӨӨ"),
    ("from=2026-12-02&to=2026-12-01", "Эхний огноо сүүлийнхээс хойно"),
    ("what=everything-else", "жагсаалтаас сонгоно"),
    ("before=not-a-position", "Хуудасны байрлал буруу"),
    ("who=" + "x" * 65, "64 тэмдэгтээс урт"),
])
def test_bad_filters_get_400_in_the_users_language(app, query, words):
    resp = login(app, "chief", "mn").get("/web/audit?" + query)
    assert resp.status_code == 400 and words in text(resp)


def test_pages_follow_the_key_and_never_repeat_an_entry(app, svc):
    for n in range(57):
        svc.audit.record(actor="pager", action="review.recorded", scope="uvs-naranbulag", doc_id=f"d{n}")
    client = login(app, "chief")
    first = text(client.get("/web/audit?who=pager"))
    rows = re.findall(r"uvs-naranbulag<br><span class=\"muted code\">(d\d+)</span>", first)
    assert len(rows) == 50 and rows[0] == "d56"
    before = re.search(r'href="/web/audit\?before=([0-9A-Z]{26})[^"]*" rel="next"', first).group(1)
    second = text(client.get(f"/web/audit?who=pager&before={before}"))
    more = re.findall(r"uvs-naranbulag<br><span class=\"muted code\">(d\d+)</span>", second)
    assert more == [f"d{n}" for n in range(6, -1, -1)] and 'rel="next"' not in second
    # A coordinator's several areas are merged by time, a page at a time too.
    mine = text(login(app, "oyunaa").get("/web/audit?who=pager"))
    assert len(re.findall(r"<span class=\"muted code\">d\d+</span>", mine)) == 50


def test_a_page_stops_at_its_budget_and_says_how_far_it_searched(app, svc):
    filt = audit_query.AuditFilter(actor="nobody-at-all")
    page = audit_query.page(svc.audit, None, filt, budget=20)
    assert page.entries == [] and page.scanned == 20 and page.searched_to and page.before
    nxt = audit_query.page(svc.audit, None, filt, before=page.before, budget=20)
    assert nxt.scanned >= 1 and (nxt.before is None or nxt.before < page.before)


def test_coordinators_see_their_areas_only(app, svc):
    client = login(app, "oyunaa", "en")
    assert shown(text(client.get("/web/audit?what=quarantine"))) == [("oyunaa", "quarantine.discarded")]
    assert shown(text(client.get("/web/audit?who=enkhjargal"))) == []  # Kharkhorin is not hers
    assert shown(text(client.get("/web/audit?what=login"))) == []  # entries of no area: the admins'
    assert shown(text(client.get("/web/audit?what=user"))) == []
    assert ("oyunaa", "login.succeeded") in shown(text(login(app, "chief").get("/web/audit?what=login")))
    for area in ("ovr-kharkhorin", "~", "global", "nowhere"):
        assert client.get(f"/web/audit?area={area}").status_code == 404, area
        assert client.get(f"/web/audit.csv?area={area}").status_code == 404, area
    assert login(app, "bolormaa").get("/web/audit").status_code == 404  # workers see no trail


def test_the_csv_opens_in_excel_with_cyrillic_intact(app, svc):
    resp = login(app, "oyunaa").get("/web/audit.csv?area=uvs-tes")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert 'filename="audit-uvs-tes.csv"' in resp.headers["Content-Disposition"]
    assert resp.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert {r["action"] for r in rows} == {"quarantine.discarded"}
    assert NOTE in rows[0]["details"] and rows[0]["actor"] == "oyunaa" and rows[0]["scope"] == "uvs-tes"
    # As a browser asks for it (every browser accepts gzip): the same file, compressed.
    zipped = login(app, "oyunaa").get("/web/audit.csv?area=uvs-tes", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == resp.data


def test_no_endpoint_writes_the_audit_trail_admins_included(app, svc):
    [entry] = [e for e in trail(svc, "quarantine.discarded")]
    eid, copy = entry["entry"], entry["_id"]
    stored = svc.store.open(AUDIT_SCOPE).get(eid)
    forged = {"_id": eid, "_rev": stored["_rev"], "type": "audit", "actor": "mallory", "action": "nothing"}
    client = app.test_client()
    for who in (("admin", "secret"), ("chief", DEMO_PASSWORD), ("oyunaa", DEMO_PASSWORD)):
        auth = basic(*who)
        attempts = [
            client.put(f"/db/_audit/{eid}", json=forged, headers=auth),
            client.delete(f"/db/_audit/{eid}?rev={stored['_rev']}", headers=auth),
            client.post("/db/_audit/_bulk_docs", json={"docs": [forged]}, headers=auth),
            client.post("/db/_audit/_bulk_docs", json={"docs": [{**forged, "_deleted": True}], "new_edits": False},
                        headers=auth),
            client.post("/db/_audit", json={"type": "audit", "actor": "mallory"}, headers=auth),
            client.put("/db/_audit/_local/x", json={"a": 1}, headers=auth),
            client.put(f"/db/_audit/{copy}/note.txt", data=b"x", content_type="text/plain", headers=auth),
            client.delete("/db/_audit", headers=auth),
            client.put("/db/_audit", headers=auth),
            client.post("/db/_audit/_revs_diff", json={eid: ["9-abc"]}, headers=auth),
        ]
        assert [r.status_code for r in attempts] == [403] * len(attempts), who
        assert all(r.get_json()["error"] == "forbidden" for r in attempts)
    assert svc.store.open(AUDIT_SCOPE).get(eid) == stored
    # Reading stays open to admins (a backup replicates it), and to them only.
    assert client.get("/db/_audit/_all_docs?limit=1", headers=basic("chief", DEMO_PASSWORD)).status_code == 200
    resp = client.post("/db/_audit/_all_docs", json={"keys": [eid]}, headers=basic("chief", DEMO_PASSWORD))
    assert resp.status_code == 200 and resp.get_json()["rows"][0]["id"] == eid
    assert client.get("/db/_audit/_all_docs", headers=basic("oyunaa", DEMO_PASSWORD)).status_code == 403


def test_a_disabled_users_entries_stay(app, svc):
    assert app.test_client().post("/_session", json={"name": "tsetseg", "password": DEMO_PASSWORD}).status_code == 200
    resp = app.test_client().patch("/api/users/tsetseg", json={"disabled": True},
                                   headers=basic("chief", DEMO_PASSWORD))
    assert resp.status_code == 200
    page = text(login(app, "chief").get("/web/audit?who=tsetseg"))
    assert shown(page) == [("tsetseg", "login.succeeded")]
    assert [e["user"] for e in trail(svc, "user.changed")][0] == "tsetseg"
    ids = [r["id"] for r in svc.store.open(AUDIT_SCOPE).all_docs(startkey=f"{ALL}:", endkey=f"{ALL}:\uffff")]
    assert ids == sorted(ids)  # the time-ordered copy sorts by time


def test_reviews_from_a_device_from_the_pages_and_their_reopening_are_each_recorded_once(app, svc):
    from gate_helpers import visit

    client = app.test_client()
    sub = visit(author="bolormaa", remarks="Аудит")
    resp = client.post("/sync/bolormaa/_bulk_docs", json={"docs": [sub]}, headers=basic("bolormaa", DEMO_PASSWORD))
    sub["_rev"] = resp.get_json()[0]["rev"]
    rid = sub["_id"].replace(":sub:", ":review:")
    review = {"_id": rid, "type": "review", "submission": sub["_id"], "submission_author": "bolormaa",
              "form": sub["form"], "status": "has_issues", "submission_rev": sub["_rev"],
              "comments": [{"by": "oyunaa", "at": "2026-10-20T09:00:00Z", "text": "Насыг шалгана уу."}]}
    # oyunaa's own device pushes the review through her replica, as a replicator does
    resp = client.post("/sync/oyunaa/_bulk_docs", json={"docs": [review]}, headers=basic("oyunaa", DEMO_PASSWORD))
    assert "rev" in resp.get_json()[0], resp.get_json()
    # then decides again on the API (Reviews.record: recorded there, with what she read)
    resp = client.post(f"/api/reviews/{sub['_id']}", json={"status": "approved", "review_rev": resp.get_json()[0]["rev"],
                                                          "submission_rev": sub["_rev"]},
                       headers=basic("oyunaa", DEMO_PASSWORD))
    assert resp.status_code == 201, resp.get_json()
    # bolormaa edits the approved visit on her device: the server reopens the review for her
    edit = {**sub, "data": {**sub["data"], "remarks": "Засварласан"}}
    resp = client.post("/sync/bolormaa/_bulk_docs", json={"docs": [edit]}, headers=basic("bolormaa", DEMO_PASSWORD))
    assert "rev" in resp.get_json()[0]
    mine = [e for e in trail(svc) if e.get("doc_id") == rid]
    assert [(e["actor"], e["action"], e.get("on_behalf_of"), e.get("via")) for e in mine] == [
        ("server", "review.reopened", "bolormaa", None),
        ("oyunaa", "review.recorded", None, None),
        ("oyunaa", "review.recorded", None, "replication"),
    ]
    assert mine[2]["status"] == "has_issues" and mine[1]["status"] == "approved"
    page = text(login(app, "oyunaa", "mn").get("/web/audit?what=review&area=uvs-tes"))
    assert ("server", "review.reopened") in shown(page) and "bolormaa-ийн өмнөөс" in page
