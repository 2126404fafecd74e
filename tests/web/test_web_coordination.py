"""The conflicts, quarantine and sync monitor pages over HTTP, on both stores.

A coordinator logs in (the cookie session, as a browser), reads each page in
Mongolian and English, and acts through forms with the CSRF token: resolves
an overlapping conflict per field, releases and discards quarantined
documents. Bad input gets the page again with a message and a 4xx, and
nothing is written; a coordinator of another aimag, or a worker, gets 404
for every page and action here.
"""

from __future__ import annotations

import copy
import html
import re

import pytest
from conflict_helpers import edited, family, push, revision
from eventual import wait_until
from gate_helpers import TES, visit
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS
from webworld import CSRF_RE

from sync import ids
from sync.accounts.throttle import LoginThrottle
from sync.demo import DEMO_PASSWORD, seed_demo
from sync.errors import NotFound


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("webco") / "data")
    svc = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, lock_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app
    close_app(app)


@pytest.fixture
def svc(app):
    return app.extensions["fieldsync"]


def login(app, name: str, lang: str = "en"):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    token = CSRF_RE.search(client.get("/web/login").text).group(1)
    resp = client.post("/web/login", data={"name": name, "password": DEMO_PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.text
    return client


def token_of(page: str) -> str:
    return CSRF_RE.search(page).group(1)


def text(resp) -> str:
    return html.unescape(resp.text)


def overlapping(svc) -> tuple[dict, dict, dict]:
    first = revision(family())
    push(svc, "bolormaa", [first])
    a = edited(first, remarks="Утаснаас: 5 ам бүл.", members=5)
    b = edited(first, remarks="Таблетаас: 6 ам бүл.")
    push(svc, "bolormaa", [a])
    push(svc, "bolormaa", [b])
    return first, a, b


def server_doc(svc, docid: str) -> dict:
    return svc.store.open(TES).get(docid, conflicts=True)


# -- conflicts ------------------------------------------------------------------------------------


def test_a_coordinator_resolves_an_overlapping_conflict_per_field(app, svc):
    first, a, b = overlapping(svc)
    client = login(app, "oyunaa", "mn")
    listing = client.get(f"/web/conflicts?area={TES}")
    assert listing.status_code == 200 and "Зөрчил" in listing.text
    assert f"/web/conflicts/{first['_id']}" in listing.text

    page = client.get(f"/web/conflicts/{first['_id']}")
    shown = text(page)
    assert page.status_code == 200
    assert "Утаснаас: 5 ам бүл." in shown and "Таблетаас: 6 ам бүл." in shown
    assert "Өвөлжөөндөө бэлтгэлтэй." in shown  # the base both started from
    assert "хоёр талд өөрчлөгдсөн" in shown
    # /members changed on one side only: its value is chosen already.
    assert re.search(rf'name="pick:/members" value="{a["_rev"]}"[^>]*checked', page.text)

    revs = re.findall(r'name="revs" value="([^"]+)"', page.text)
    resp = client.post(f"/web/conflicts/{first['_id']}", data={
        "csrf_token": token_of(page.text), "revs": revs, "pick:/remarks": b["_rev"],
        "pick:/members": a["_rev"], "note": "Таблет сүүлд бичсэн"})
    assert resp.status_code == 302, resp.text
    doc = server_doc(svc, first["_id"])
    assert "_conflicts" not in doc and (doc["remarks"], doc["members"]) == ("Таблетаас: 6 ам бүл.", 5)
    assert "Хадгаллаа" in client.get(resp.headers["Location"]).text
    [entry] = wait_until(lambda: [e for e in svc.audit.entries(TES, limit=1000) if e["doc_id"] == first["_id"]],
                         what="the resolution's audit entry")  # a cluster's range read may lag the write
    assert (entry["actor"], entry["action"], entry["note"]) == ("oyunaa", "conflict.resolved",
                                                                "Таблет сүүлд бичсэн")


@pytest.mark.parametrize("case", ["no-csrf", "stale", "undecided", "unknown-field", "not-a-rev", "long-note"])
def test_a_bad_resolution_shows_the_page_again_with_a_4xx_and_writes_nothing(app, svc, case):
    first, a, b = overlapping(svc)
    client = login(app, "oyunaa")
    page = client.get(f"/web/conflicts/{first['_id']}")
    revs = re.findall(r'name="revs" value="([^"]+)"', page.text)
    form = {"csrf_token": token_of(page.text), "revs": revs, "pick:/remarks": a["_rev"]}
    expected = 400
    if case == "no-csrf":
        del form["csrf_token"]
    elif case == "stale":
        form["revs"] = [revs[0], "2-" + "0" * 32]
        expected = 409
    elif case == "undecided":
        del form["pick:/remarks"]
    elif case == "unknown-field":
        form["pick:/nope"] = a["_rev"]
    elif case == "not-a-rev":
        form["pick:/remarks"] = "9-zzz"
    elif case == "long-note":
        form["note"] = "ж" * 100_000
    before = server_doc(svc, first["_id"])
    resp = client.post(f"/web/conflicts/{first['_id']}", data=form)
    assert resp.status_code == expected, resp.text[:400]
    assert 'class="error"' in resp.text and "text/html" in resp.content_type
    assert server_doc(svc, first["_id"]) == before


# -- quarantine -----------------------------------------------------------------------------------


def refused(svc, doc: dict) -> str:
    [answer] = push(svc, "bolormaa", [revision(doc)])
    return answer["quarantine"]


def test_a_refused_document_is_shown_in_mongolian_and_released_against_a_chosen_version(app, svc):
    eid = refused(svc, visit(household_size="many"))
    client = login(app, "oyunaa", "mn")
    listing = text(client.get(f"/web/quarantine?area={TES}"))
    assert "Бүхэл тоо оруулна уу, жишээ нь 12." in listing
    page = client.get(f"/web/quarantine/{eid}")
    shown = text(page)
    # The answers under the form version's Mongolian labels (groups and repeats laid out, choices
    # by their labels); the reason names its question; the document as sent is still there.
    assert page.status_code == 200 and "<dt>Өрхөд хэдэн хүн амьдардаг вэ?</dt><dd>many</dd>" in shown
    assert "<legend>Өрхийн тэргүүн</legend>" in shown and "<legend>Өрхийн гишүүд</legend>" in shown
    assert "<dt>Гэр бүл айлчлалыг зөвшөөрч байна уу?</dt><dd>Тийм</dd>" in shown
    assert "<li>Өрхөд хэдэн хүн амьдардаг вэ? <span class=\"code\">household_size</span>:" in shown
    assert '"household_size": "many"' in shown and "<details>" in shown
    english = text(login(app, "oyunaa", "en").get(f"/web/quarantine/{eid}"))
    assert "<dt>How many people live in the household?</dt><dd>many</dd>" in english
    # Still invalid against version 1: the page says why, in Mongolian, and nothing is stored.
    resp = client.post(f"/web/quarantine/{eid}/release", data={"csrf_token": token_of(page.text),
                                                              "form_version": "1"})
    assert resp.status_code == 400 and "Одоо ч буруу байна" in text(resp)
    assert svc.quarantine.get(eid)["status"] == "held"
    for bad in ("abc", "-1", "99999999"):
        resp = client.post(f"/web/quarantine/{eid}/release",
                           data={"csrf_token": token_of(page.text), "form_version": bad})
        assert resp.status_code == 400, bad
    assert svc.quarantine.get(eid)["status"] == "held"


def test_a_discard_needs_a_note_and_the_worker_is_told(app, svc):
    doc = visit(household_size="many")
    eid = refused(svc, doc)
    client = login(app, "oyunaa")
    page = client.get(f"/web/quarantine/{eid}")
    for note in ("", "   ", "x" * 100_000):
        resp = client.post(f"/web/quarantine/{eid}/discard", data={"csrf_token": token_of(page.text),
                                                                  "note": note})
        assert resp.status_code == 400 and 'class="error"' in resp.text
        assert svc.quarantine.get(eid)["status"] == "held"
    resp = client.post(f"/web/quarantine/{eid}/discard", data={"csrf_token": token_of(page.text),
                                                              "note": "Давхар илгээсэн"})
    assert resp.status_code == 302
    assert svc.quarantine.get(eid)["status"] == "discarded"
    feedback = svc.store.open(TES).get(ids.feedback_id(doc["_id"]))
    assert (feedback["status"], feedback["note"]) == ("discarded", "Давхар илгээсэн")
    resp = client.post(f"/web/quarantine/{eid}/discard", data={"csrf_token": token_of(page.text),
                                                              "note": "again"})
    assert resp.status_code == 409 and 'class="error"' in resp.text
    # A page left open: releasing what was discarded meanwhile is refused, and nothing is stored.
    resp = client.post(f"/web/quarantine/{eid}/release", data={"csrf_token": token_of(page.text),
                                                              "form_version": "1"})
    assert resp.status_code == 409 and 'class="error"' in resp.text
    assert svc.quarantine.get(eid)["status"] == "discarded"
    with pytest.raises(NotFound):
        svc.store.open(TES).get(doc["_id"])


def test_released_against_a_version_it_fits_it_is_stored_and_each_version_keeps_its_labels(app, svc):
    """Version 2 asks the household's size in words: a visit refused by version 1 fits it. Released
    from the page it is stored as a version 2 submission, the worker is told, and the submission
    page labels it with version 2's question while a version 1 visit keeps version 1's."""
    stored_v1 = svc.forms.get("household_visit", 1)
    v2 = copy.deepcopy({k: v for k, v in stored_v1.items()
                        if not k.startswith("_") and k not in ("type", "status", "updated_at", "published_at")})
    v2["version"] = svc.forms.next_version("household_visit")
    size = next(f for f in _fields(v2["fields"]) if f["name"] == "household_size")
    for key in ("min", "max", "constraint", "constraint_message"):
        size.pop(key, None)
    size.update(type="text", label={"en": "The household's size, in words", "mn": "Өрхийн хэмжээ, үгээр"})
    svc.forms.publish(v2)
    kept = visit()
    push(svc, "bolormaa", [revision(kept)])
    doc = visit(household_size="many")
    eid = refused(svc, doc)
    client = login(app, "oyunaa", "mn")
    page = client.get(f"/web/quarantine/{eid}")
    resp = client.post(f"/web/quarantine/{eid}/release", data={"csrf_token": token_of(page.text),
                                                              "form_version": str(v2["version"])})
    assert resp.status_code == 302, text(resp)
    assert svc.quarantine.get(eid)["status"] == "released"
    stored = svc.store.open(TES).get(doc["_id"])
    assert (stored["form_version"], stored["data"]["household_size"]) == (v2["version"], "many")
    feedback = svc.store.open(TES).get(ids.feedback_id(doc["_id"]))
    assert feedback["status"] == "released", feedback
    released = text(client.get(f"/web/submissions/{doc['_id']}"))
    assert "<dt>Өрхийн хэмжээ, үгээр</dt><dd>many</dd>" in released
    older = text(client.get(f"/web/submissions/{kept['_id']}"))
    answer = f"<dt>Өрхөд хэдэн хүн амьдардаг вэ?</dt><dd>{kept['data']['household_size']}</dd>"
    assert answer in older and "Өрхийн хэмжээ, үгээр" not in older


def _fields(fields: list) -> list:
    out = []
    for f in fields:
        out.append(f)
        out.extend(_fields(f.get("fields") or []))
    return out


# -- the sync monitor -----------------------------------------------------------------------------


def test_the_monitor_shows_who_has_gone_quiet(app, svc):
    svc.synclog.record("bolormaa", user_agent="PouchDB/9 (phone)", device_id=None, read=3, written=2,
                       pushed=True, pulled=True, checkpoint=("rep-1", "push"))
    client = login(app, "oyunaa", "mn")
    # On a cluster the sync log's range read can come from a copy the record has not reached yet.
    page = wait_until(lambda: text(client.get("/web/sync")), lambda p: "PouchDB/9 (phone)" in p,
                      what="the phone's sync on the monitor page")
    assert "PouchDB/9 (phone)" in page and "bolormaa" in page
    assert "ganzorig" in page and "Огт синк хийгээгүй" in page
    assert "tsetseg" not in page  # another aimag's worker
    assert client.get("/web/sync?days=0").status_code == 200
    for bad in ("abc", "-1", "1e9", "nan"):
        assert client.get(f"/web/sync?days={bad}").status_code == 400, bad
    assert client.get("/web/sync?role=boss").status_code == 400


# -- who may see it -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["enkhjargal", "bolormaa"])
def test_another_aimags_coordinator_and_a_worker_get_404_for_every_page_and_action(app, svc, who):
    first, a, b = overlapping(svc)
    eid = refused(svc, visit(household_size="many"))
    client = login(app, who)
    token = token_of(client.get("/web/").text)
    pages = [f"/web/conflicts/{first['_id']}", f"/web/quarantine/{eid}", f"/web/conflicts?area={TES}",
             f"/web/quarantine?area={TES}", f"/web/sync?area={TES}"]
    if who == "bolormaa":
        pages += ["/web/conflicts", "/web/quarantine", "/web/sync"]
    for path in pages:
        assert client.get(path).status_code == 404, path
    actions = [(f"/web/conflicts/{first['_id']}", {"revs": [a["_rev"], b["_rev"]], "pick:/remarks": a["_rev"]}),
               (f"/web/quarantine/{eid}/release", {}), (f"/web/quarantine/{eid}/discard", {"note": "x"})]
    for path, form in actions:
        assert client.post(path, data={**form, "csrf_token": token}).status_code == 404, path
    assert "_conflicts" in server_doc(svc, first["_id"])
    assert svc.quarantine.get(eid)["status"] == "held"
    if who == "enkhjargal":  # their own lists do not show Tes
        assert first["_id"] not in client.get("/web/conflicts").text
        assert eid not in client.get("/web/quarantine").text
        assert "bolormaa" not in client.get("/web/sync").text
