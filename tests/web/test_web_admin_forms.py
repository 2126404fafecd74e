"""The admins' forms pages and ``POST /api/forms`` refusals, through Flask's test client on a real store.

Checked: an upload with mistakes lists each with sheet, row and column (JSON
path for JSON) in the admin's language and stores nothing; a good one is
previewed in either language with its skip conditions; draft, publish,
refused republish, publish as the next version, retire with a grace period,
a diff; the audit trail names the admin; coordinators and workers get 404.
The same form life cycle runs on each CouchDB target.
"""

from __future__ import annotations

import base64
import html
import io
import re
import secrets
import zipfile

import orjson
import pytest
from servers import COUCH_TARGETS, couch_url_for
from webworld import Web, csrf
from xlsforms import BAD_RELEVANT, SETTINGS, survey, xlsform

from server import create_app
from server.config import Settings
from sync.demo import DEMO_PASSWORD

CARRIED = re.compile(r'name="definition" value="([^"]*)"')


def upload(client, data: bytes, filename: str):
    token = csrf(client, "/web/admin/forms")
    return client.post("/web/admin/forms/upload", content_type="multipart/form-data",
                       data={"csrf_token": token, "definition": (io.BytesIO(data), filename)})


def cells(page: str) -> list[list[str]]:
    """The problems table's rows, as text cells."""
    body = page[page.index('class="problems"'):]
    body = body[:body.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    found = [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
             for r in rows]
    return [r for r in found if r]  # the head row has no <td>


def save(client, page: str, action: str):
    carried = html.unescape(CARRIED.search(page).group(1))
    return client.post("/web/admin/forms/save", data={"csrf_token": csrf(client, "/web/admin/forms"),
                                                      "definition": carried, "action": action})


def named(settings: dict, form: str) -> dict:
    return {**settings, "form_id": form}


def test_an_xlsform_with_mistakes_lists_each_with_row_and_column_and_nothing_is_stored(web: Web):
    rows = survey(BAD_RELEVANT)
    rows[0]["type"] = "select_one yn or_other"
    data = xlsform(rows, settings=named(SETTINGS, "wells_bad"))
    before = len(list(web.svc.forms.all()))
    for lang, words in (("mn", "утга байх ёстой газар илэрхийллийн төгсгөл байна"),
                        ("en", "expected a value but found end of expression")):
        resp = upload(web.logged_in("admin", lang), data, "wells.xlsx")
        assert resp.status_code == 400
        found = cells(resp.text)
        assert ["survey", "3", "relevant"] == found[1][:3] and words in found[1][3], found
        assert found[0][:3] == ["survey", "2", "type"] and "or_other" in found[0][3], found
        assert len(found) == 2
    assert len(list(web.svc.forms.all())) == before
    assert web.svc.forms.versions("wells_bad") == []


def test_a_json_definition_with_mistakes_names_each_path(web: Web):
    client = web.logged_in("admin", "mn")
    definition = {"form": "wells_json", "version": 1, "title": {"en": "Wells"},
                  "fields": [{"name": "n", "type": "integr", "label": {"en": "N"}}]}
    resp = upload(client, orjson.dumps(definition), "wells.json")
    assert resp.status_code == 400
    found = cells(resp.text)
    assert found == [["fields[0].type", "'integr' гэсэн төрөл байхгүй; дараахын нэгийг хэрэглэнэ үү: text, integer, "
                      "decimal, date, datetime, select_one, select_multiple, geopoint, image, note, group, repeat."]]
    resp = upload(client, b'{"form": "wells_json",\n', "wells.json")
    assert resp.status_code == 400 and "Файл зөв JSON биш (2-р мөр, 1-р багана)." in resp.text
    assert "unexpected" not in resp.text  # the parser's English stays out of a Mongolian page
    broken = io.BytesIO()  # a zip whose workbook XML is cut off
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("[Content_Types].xml", "<Types")
        z.writestr("xl/workbook.xml", "<workbook")
    for data in (b"", broken.getvalue()):
        resp = upload(client, data, "wells.xlsx")
        assert resp.status_code == 400 and "XLSForm-ыг уншиж чадсангүй" in resp.text
    resp = upload(client, b"PK", "wells.ods")
    assert resp.status_code == 400 and "Зөвхөн XLSForm (.xlsx)" in resp.text
    assert web.svc.forms.versions("wells_json") == []


def test_preview_publish_refused_republish_next_version_diff_and_retire(web: Web):
    client = web.logged_in("admin", "mn")
    settings = named(SETTINGS, "wells")
    resp = upload(client, xlsform(survey(), settings=settings), "wells.xlsx")
    assert resp.status_code == 200, resp.text
    page = resp.text
    assert web.svc.forms.versions("wells") == []  # a preview stores nothing
    assert "Худаг байна уу?" in page and "Бүтэн метрээр" in page and "Татсан хувин" in page
    assert "Зөвхөн дараах үед асууна: «Худаг байна уу?» = &#39;yes&#39;" in page
    english = client.post("/web/admin/forms/preview", data={
        "csrf_token": csrf(client, "/web/admin/forms"), "form_lang": "en",
        "definition": html.unescape(CARRIED.search(page).group(1))})
    assert "Asked only when" not in english.text  # the page stays Mongolian, the form is shown in English
    assert "«Is there a well?» = &#39;yes&#39;" in english.text and "In whole metres" in english.text

    resp = save(client, page, "draft")
    assert resp.status_code == 302
    assert [d["status"] for d in web.svc.forms.versions("wells")] == ["draft"]
    resp = client.post("/web/admin/forms/wells/1/publish", data={"csrf_token": csrf(client, "/web/admin/forms")})
    assert resp.status_code == 302
    assert [d["status"] for d in web.svc.forms.versions("wells")] == ["published"]

    # The same version with a changed label: refused with the reason, and the next number offered.
    rows = survey()
    rows[1]["label::English (en)"] = "Depth of the well (m)"
    rows.insert(2, {"type": "text", "name": "owner", "label::English (en)": "Owner", "label::Mongolian (mn)": "Эзэн"})
    changed = upload(client, xlsform(rows, settings=settings), "wells.xlsx").text
    assert "аль хэдийн «Нийтэлсэн» төлөвтэй" in changed
    resp = save(client, changed, "publish")
    assert resp.status_code == 409
    assert "нийтэлсэн хувилбар хэзээ ч өөрчлөгддөггүй. Үүнийг 2-р хувилбараар нийтэлнэ үү" in resp.text
    assert [d["version"] for d in web.svc.forms.versions("wells")] == [1]
    resp = save(client, resp.text, "publish_next")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/web/admin/forms/wells/2")
    assert web.svc.forms.get("wells", 2)["status"] == "published"

    diff = client.get("/web/admin/forms/wells/diff?a=1&b=2").text
    added = diff[diff.index('id="diff-added"'):diff.index('id="diff-changed"')]
    assert "owner" in added and "Эзэн" in added
    changed_part = diff[diff.index('id="diff-changed"'):]
    assert "depth_m" in changed_part and "Depth of the well (m)" in changed_part
    assert 'id="diff-removed"' not in diff
    assert client.get("/web/admin/forms/wells/diff?a=1&b=9").status_code == 404
    assert client.get("/web/admin/forms/wells/diff?a=x&b=2").status_code == 400

    token = csrf(client, "/web/admin/forms")
    assert client.post("/web/admin/forms/wells/1/retire", data={"csrf_token": token, "grace_days": "-1"}).status_code == 400
    assert client.post("/web/admin/forms/wells/1/retire", data={"csrf_token": token, "grace_days": "14"}).status_code == 302
    retired = web.svc.forms.get("wells", 1)
    assert retired["status"] == "retired" and retired["grace_days"] == 14
    again = client.post("/web/admin/forms/wells/1/retire", data={"csrf_token": token, "grace_days": "14"})
    assert again.status_code == 409 and "Зөвхөн нийтэлсэн хувилбарыг зогсоож болно" in again.text

    listing = client.get("/web/admin/forms").text
    assert "14 өдрийн хөнгөлөлт" in listing and "Зогсоосон" in listing
    actions = [(e["action"], e["actor"], e["version"]) for e in web.svc.audit.entries("global", limit=200)
               if e.get("form") == "wells"]
    assert actions == [("form.retired", "admin", 1), ("form.published", "admin", 2),
                       ("form.published", "admin", 1), ("form.drafted", "admin", 1)]


def test_submission_counts_per_version(web: Web):
    from sync.subindex import SubmissionIndex

    index = SubmissionIndex(web.svc.store, web.svc.forms)
    expected = 0
    for area in web.svc.areas.tree().data_scopes():
        index.refresh_all(area)
    for area in web.svc.areas.tree().data_scopes():
        expected += sum(1 for d in web.svc.store.open(area).all_docs(include_docs=True)
                        if (d.get("doc") or {}).get("type") == "submission"
                        and d["doc"].get("form") == "household_visit" and d["doc"].get("form_version") == 1)
    assert expected > 0
    page = web.logged_in("admin", "en").get("/web/admin/forms").text
    row = page[page.index("/web/admin/forms/household_visit/1"):]
    assert re.search(r'<td class="num">(\d+)</td>', row).group(1) == str(expected)


@pytest.mark.parametrize("who", ["oyunaa", "bolormaa"])
def test_only_admins_reach_the_forms_pages(web: Web, who: str):
    client = web.logged_in(who, "en")
    token = csrf(client, "/web/")
    for path in ("/web/admin/forms", "/web/admin/forms/household_visit/1",
                 "/web/admin/forms/household_visit/diff?a=1&b=1"):
        assert client.get(path).status_code == 404, path
    for path in ("/web/admin/forms/upload", "/web/admin/forms/save", "/web/admin/forms/household_visit/1/retire"):
        assert client.post(path, data={"csrf_token": token, "grace_days": "1"}).status_code == 404, path
    assert web.svc.forms.get("household_visit", 1)["status"] == "published"
    anonymous = web.browser().get("/web/admin/forms")
    assert anonymous.status_code == 302 and "/web/login" in anonymous.headers["Location"]


def test_api_forms_refusals_name_what_is_wrong(web: Web):
    client = web.app.test_client(use_cookies=False)
    auth = {"Authorization": "Basic " + base64.b64encode(f"admin:{DEMO_PASSWORD}".encode()).decode()}
    cases = [
        ({}, "", {"form", "version", "title", "fields"}),
        ({"form": "x", "version": 1}, "", {"title", "fields"}),
        ({}, "?draft=true", {"form", "version", "title", "fields"}),
        ({"form": "x", "version": 1, "title": {"en": "X"},
          "fields": [{"name": "a", "type": "integer", "label": {"en": "A"}, "relevant": "${b} > 1"}]},
         "", {"fields[0].relevant"}),
    ]
    for body, query, wrong in cases:
        resp = client.post(f"/api/forms{query}", json=body, headers=auth)
        assert resp.status_code == 400, resp.json
        assert resp.json["error"] == "bad_request" and set(resp.json["fields"]) == wrong, resp.json
        for name in wrong:
            assert name in resp.json["reason"]
        assert all(p["messages"]["mn"] and p["messages"]["mn"] != p["messages"]["en"] for p in resp.json["problems"])
    assert "${b} is not a question of this form" in resp.json["reason"]
    assert "This is required and missing" in client.post("/api/forms", json={}, headers=auth).json["reason"]
    good = {"form": "api_made", "version": 1, "title": {"en": "API"},
            "fields": [{"name": "a", "type": "integer", "label": {"en": "A"}}]}
    assert client.post("/api/forms?draft=true", json=good, headers=auth).status_code == 201
    assert client.post("/api/forms", json=good, headers=auth).status_code == 201
    changed = {**good, "fields": [{"name": "b", "type": "integer", "label": {"en": "B"}}]}
    resp = client.post("/api/forms", json=changed, headers=auth)
    assert resp.status_code == 409 and "publish it as version 2" in resp.json["reason"]
    assert client.post("/api/forms/api_made/retire", json={"grace_days": 3}, headers=auth).status_code == 200
    actions = [e["action"] for e in web.svc.audit.entries("global", limit=200) if e.get("form") == "api_made"]
    assert actions == ["form.retired", "form.published", "form.drafted"]


# -- the same life cycle on each CouchDB target ---------------------------------------------------
@pytest.fixture(params=COUCH_TARGETS)
def couch_web(request, tmp_path):
    settings = Settings(data_dir=tmp_path, store="couchdb", couchdb_url=couch_url_for(request, request.param),
                        couchdb_prefix=f"adminforms{secrets.token_hex(4)}-")
    app = create_app(settings)
    app.testing = True
    svc = app.extensions["fieldsync"]
    svc.users.add("admin", "admin", [], DEMO_PASSWORD)  # forms are global: no areas needed
    try:
        yield Web(app, svc, tmp_path)
    finally:
        for name in svc.store.names():
            try:
                svc.store.delete(name)
            except Exception:  # noqa: BLE001 - cleanup must not hide the test's own failure
                pass
        svc.store.close()


def test_the_form_life_cycle_on_couchdb(couch_web: Web):
    web = couch_web
    client = web.logged_in("admin", "en")
    page = upload(client, xlsform(survey(), settings=SETTINGS), "water.xlsx").text
    assert save(client, page, "publish").status_code == 302
    rows = survey()
    del rows[1]["hint::English (en)"], rows[1]["hint::Mongolian (mn)"]
    changed = upload(client, xlsform(rows, settings=SETTINGS), "water.xlsx").text
    refused = save(client, changed, "publish")
    assert refused.status_code == 409 and "already published; publish it as version 2" in refused.text
    assert save(client, refused.text, "publish_next").status_code == 302
    diff = client.get("/web/admin/forms/water_point/diff?a=1&b=2").text
    assert "depth_m" in diff and "hint" in diff
    token = csrf(client, "/web/admin/forms")
    assert client.post("/web/admin/forms/water_point/1/retire", data={"csrf_token": token, "grace_days": "0"}).status_code == 302
    assert [(d["version"], d["status"]) for d in web.svc.forms.versions("water_point")] == [(1, "retired"), (2, "published")]
    assert [e["action"] for e in web.svc.audit.entries("global") if e.get("form") == "water_point"] == [
        "form.retired", "form.published", "form.published"]
