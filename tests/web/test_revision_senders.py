"""Who sent each revision of a submission, shown in its history, on every store.

Two tablets of the same worker send the same user agent; each pushes through
``/sync/bolormaa`` as PouchDB does (its checkpoint read, ``_bulk_docs`` with
``new_edits=false``, its checkpoint written), so only their replication
checkpoint ids tell them apart. The submission page names, per revision, the
user, the way it came, the time and the replication; the server's merge of
the two tablets' disjoint edits is named as such, and the revision of the
coordinator's choice between their overlapping edits, made in the conflict
page, carries her browser's user agent. A
revision the device sends back after pulling it keeps its first sender.
"""

from __future__ import annotations

import base64
import html
import re

import pytest
from conflict_helpers import edited, revision
from gate_helpers import TES, visit
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS
from webworld import CSRF_RE

from sync.accounts.throttle import LoginThrottle
from sync.demo import DEMO_PASSWORD, seed_demo

TABLET = "Mozilla/5.0 (Linux; Android 12; SM-T220) PouchDB/9.0.0"  # both tablets send it


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("senders") / "data")
    svc = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, lock_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app
    close_app(app)


def basic(user: str, agent: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{DEMO_PASSWORD}".encode()).decode()
    return {"Authorization": f"Basic {token}", "User-Agent": agent}


class Tablet:
    """A replicator's push: its checkpoint on the server is ``_local/<replication id>``."""

    def __init__(self, app, replication: str):
        self.client = app.test_client(use_cookies=False)
        self.replication = replication
        self.pushed = 0

    def push(self, doc: dict) -> None:
        headers = basic("bolormaa", TABLET)
        base = "/sync/bolormaa"
        with self.client.get(f"{base}/_local/{self.replication}", headers=headers) as got:
            checkpoint = got.json if got.status_code == 200 else {}
        with self.client.post(f"{base}/_bulk_docs", json={"docs": [doc], "new_edits": False},
                              headers=headers) as done:
            assert done.status_code == 201 and done.json == [], done.json
        self.pushed += 1
        body = {"last_seq": self.pushed, "session_id": "s", "history": []}
        if checkpoint.get("_rev"):
            body["_rev"] = checkpoint["_rev"]
        with self.client.put(f"{base}/_local/{self.replication}", json=body, headers=headers) as put:
            assert put.status_code == 201, put.json


def login(app, lang: str = "en"):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    token = CSRF_RE.search(client.get("/web/login").text).group(1)
    client.post("/web/login", data={"name": "oyunaa", "password": DEMO_PASSWORD, "csrf_token": token})
    return client


def history(app, docid: str, lang: str = "en") -> list[str]:
    """The submission page's revision history, one text per revision (newest first)."""
    page = login(app, lang).get(f"/web/submissions/{docid}")
    assert page.status_code == 200, page.text
    listed = re.search(r'<ol reversed class="revisions">(.*?)</ol>', page.text, re.S).group(1)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", li)).split())
            for li in re.findall(r"<li>(.*?)</li>", listed, re.S)]


def test_each_revision_names_its_user_device_replication_and_time(app):
    svc = app.extensions["fieldsync"]
    one, two = Tablet(app, "rep-tablet-one-0001"), Tablet(app, "rep-tablet-two-0002")
    first = revision(visit(remarks="Эхний хувилбар."))
    one.push(first)
    second = edited(first, data__remarks="Хоёр дахь таблетаас засав.")
    two.push(second)
    # Disjoint edits of the second revision on the two tablets: the server merges them.
    one.push(edited(second, data__bag="5-р баг"))
    two.push(edited(second, data__remarks="Гуравдахь: усны зай 2.5 км."))
    merged = svc.store.open(TES).get(first["_id"], conflicts=True, revs=True)
    assert "_conflicts" not in merged and merged["_rev"].startswith("4-")
    assert (merged["data"]["bag"], merged["data"]["remarks"]) == ("5-р баг", "Гуравдахь: усны зай 2.5 км.")
    # A tablet sends back a revision it pulled: its sender stays the first one.
    one.push(second)

    # Both tablets change the remarks of the merge: the coordinator picks one in the page.
    one.push(edited(merged, data__remarks="Нэгдүгээр таблет: 5 ам бүл."))
    two.push(edited(merged, data__remarks="Хоёрдугаар таблет: 6 ам бүл."))
    coordinator = login(app)
    page = coordinator.get(f"/web/conflicts/{first['_id']}")
    revs = re.findall(r'name="revs" value="([^"]+)"', page.text)
    assert page.status_code == 200 and len(revs) == 2
    resolved = coordinator.post(f"/web/conflicts/{first['_id']}", data={
        "csrf_token": CSRF_RE.search(page.text).group(1), "revs": revs, "pick:/data/remarks": revs[1]},
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chromium/120 (coordinator laptop)"})
    assert resolved.status_code == 302, resolved.text

    shown = history(app, first["_id"])
    assert len(shown) == 6
    newest, _fifth, merge, _third, edit, made = shown
    assert newest.startswith("6-") and "sent by oyunaa" in newest and "in these pages" in newest
    assert "coordinator laptop" in newest and "replication" not in newest
    assert "merged by the server" in merge and "Device" not in merge
    for text, rep in ((edit, "rep-tablet-two-0"), (made, "rep-tablet-one-0")):
        assert "sent by bolormaa" in text and "synced from a device" in text, text
        assert "SM-T220" in text and f"replication {rep}" in text, text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", made)
    receipts = svc.synclog.receipts(first["_id"])
    assert receipts[second["_rev"]]["replication"] == "rep-tablet-two-0002"
    assert receipts[first["_rev"]]["at"] <= receipts[second["_rev"]]["at"]
    assert [r["via"] for r in receipts.values()].count("merge") == 1
    # Every revision received has its receipt, those that lost a merge or a choice too.
    assert len(receipts) == 8 and sum(r["via"] == "sync" for r in receipts.values()) == 6

    mongolian = history(app, first["_id"], "mn")
    assert "bolormaa илгээсэн" in mongolian[-1] and "төхөөрөмжөөс синк хийсэн" in mongolian[-1]
    assert "хуулбарлалт rep-tablet-one-0" in mongolian[-1]
