"""What an app server on the CouchDB store reads of CouchDB for a device's push and pull.

A worker's pull asks ``_bulk_get`` for the revisions its ``_changes`` just
listed; on CouchDB each was read from CouchDB again. An app server now keeps
the bodies it has seen (``sync.replica.bodies``: pushed with their whole path,
or read) and answers a listed winner from them. What a device gets must not
change:

* the answer is the one CouchDB itself gives, ``_revisions`` included, and
  CouchDB is not asked for it;
* a revision replaced by a write through this server, a colleague's case, a
  body with attachments and a path the device stemmed are answered as before.

A push has the write gate read the winners of what it sends (who owns what);
CouchDB is first asked which of them exist at all (``Database.leaves``, one
``_revs_diff``), and only those are read: a colleague's submission is still
refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask

from server import create_app
from server.config import Settings
from sync.demo import household_visit, protection_referral, submission
from sync.ids import new_ulid
from sync.replica.bodies import BODIES, LISTED, RevisionBodies, pushed_body
from sync.stores.couchdb_http import CouchClient

AREA = "qb-tes"
PASSWORD = "walker-password-1"
FORMS = Path(__file__).resolve().parents[1] / "schemas" / "forms"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, couchdb_node_url: str) -> Iterator[Flask]:
    prefix = f"bodies{uuid.uuid4().hex[:8]}-"
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("bodies") / "data", admin=("admin", "admin-password-1"),
                              store="couchdb", couchdb_url=couchdb_node_url, couchdb_prefix=prefix))
    svc = app.extensions["fieldsync"]
    for form in ("household_visit", "child_protection_referral"):
        svc.forms.publish(json.loads((FORMS / f"{form}.json").read_text("utf-8")))
    svc.areas.add(AREA, name_en="Tes", level="soum", holds_data=True)
    for name, role in (("walker", "worker"), ("runner", "worker"), ("boss", "coordinator")):
        svc.users.add(name, role, [AREA], PASSWORD)
    yield app
    try:
        for name in svc.store.names():
            svc.store.delete(name)
    finally:
        svc.store.close()


@pytest.fixture
def couch_asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """The requests fieldsync sends CouchDB (path and body), listed on the way through."""
    seen: list[tuple[str, dict]] = []
    send = CouchClient.request

    def listing(self, method: str, path: str, *args: Any, **kwargs: Any):
        seen.append((path, kwargs.get("body") or {}))
        return send(self, method, path, *args, **kwargs)

    monkeypatch.setattr(CouchClient, "request", listing)
    return seen


@pytest.fixture
def couch_bulk_gets(couch_asked: list[tuple[str, dict]]) -> Any:
    """The ``_bulk_get`` bodies fieldsync sends CouchDB."""

    class BulkGets:
        def clear(self) -> None:
            couch_asked.clear()

        def bodies(self) -> list[dict]:
            return [body for path, body in couch_asked if path.endswith("/_bulk_get")]

    return BulkGets()


def device(app: Flask, name: str):
    client = app.test_client(use_cookies=False)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}

    def call(method: str, path: str, **kw: Any) -> Any:
        response = client.open(f"/sync/{name}{path}", method=method, headers=auth, **kw)
        body = response.get_json()
        response.close()
        assert response.status_code in (200, 201), body
        return body

    return call


def rev_id(seed: str) -> str:
    return hashlib.md5(seed.encode()).hexdigest()


def pushed(author: str, *, generations: int = 1, sent: int | None = None, sensitive: bool = False) -> dict:
    """A submission as a replicator pushes it: ``_rev`` and a path of ``sent`` of its revisions."""
    rng = random.Random(new_ulid())
    docid = f"{AREA}:sub:{new_ulid()}"
    doc = (submission(docid, "child_protection_referral", author, protection_referral(rng), "2026-10-12T14:30:00+08:00")
           if sensitive else
           submission(docid, "household_visit", author, household_visit(rng), "2026-10-02T10:00:00+08:00"))
    ids = [rev_id(f"{docid}-{g}") for g in range(generations, 0, -1)][:sent or generations]
    return {**doc, "_rev": f"{generations}-{ids[0]}", "_revisions": {"start": generations, "ids": ids}}


def listed(call, since: str) -> tuple[list[dict], str]:
    feed = call("GET", "/_changes", query_string={"since": since, "style": "all_docs"})
    return feed["results"], feed["last_seq"]


def test_a_pushed_revision_listed_by_the_feed_is_answered_as_couchdb_answers_it_without_asking_it(
        app: Flask, couch_bulk_gets: Any) -> None:
    walker = device(app, "walker")
    _, since = listed(walker, "0")
    docs = [pushed("walker"), pushed("walker", generations=3)]
    assert walker("POST", "/_bulk_docs", json={"docs": docs, "new_edits": False}) == []
    rows, _ = listed(walker, since)
    asked = [{"id": r["id"], "rev": r["changes"][0]["rev"]} for r in rows if r["id"].startswith(AREA)]
    assert sorted(a["id"] for a in asked) == sorted(d["_id"] for d in docs)
    couch_bulk_gets.clear()

    results = walker("POST", "/_bulk_get", query_string={"revs": "true", "latest": "true"},
                     json={"docs": asked})["results"]

    assert couch_bulk_gets.bodies() == []  # answered from what this server kept of the push
    store = app.extensions["fieldsync"].store.open(AREA)
    from_couch = list(store.bulk_get(asked, revisions=True, latest=True))
    assert [r["docs"] for r in results] == [r["docs"] for r in from_couch]
    assert {r["docs"][0]["ok"]["_revisions"]["start"] for r in results} == {1, 3}


def test_what_is_not_kept_or_no_longer_the_winner_is_read_from_couchdb(app: Flask, couch_bulk_gets: Any) -> None:
    svc = app.extensions["fieldsync"]
    walker = device(app, "walker")
    _, since = listed(walker, "0")
    plain, stemmed, edited = pushed("walker"), pushed("walker", generations=4, sent=2), pushed("walker")
    photo = {**pushed("walker"), "_attachments": {"photo.jpg": {
        "content_type": "image/jpeg", "data": base64.b64encode(b"\xff\xd8 not much of a photo").decode()}}}
    assert walker("POST", "/_bulk_docs", json={"docs": [plain, stemmed, edited, photo], "new_edits": False}) == []
    rows, _ = listed(walker, since)
    asked = [{"id": r["id"], "rev": r["changes"][0]["rev"]} for r in rows if r["id"].startswith(AREA)]
    store = svc.store.open(AREA)
    # Edited through this server after the feed listed it: the listed revision is no longer the winner.
    newer = walker("PUT", f"/{edited['_id']}", json={**{k: v for k, v in edited.items() if k != "_revisions"},
                                                     "data": {**edited["data"], "remarks": "second visit"}})["rev"]
    couch_bulk_gets.clear()

    results = walker("POST", "/_bulk_get", query_string={"revs": "true", "latest": "true"},
                     json={"docs": asked})["results"]

    asked_of_couch = {d["id"] for body in couch_bulk_gets.bodies() for d in body["docs"]}
    assert asked_of_couch == {stemmed["_id"], edited["_id"], photo["_id"]}  # the plain one came from the kept body
    by_id = {r["id"]: r["docs"] for r in results}
    assert by_id[edited["_id"]][0]["ok"]["_rev"] == newer  # latest, as CouchDB answers it
    assert by_id[stemmed["_id"]][0]["ok"]["_revisions"]["ids"] == stemmed["_revisions"]["ids"]
    assert by_id[photo["_id"]][0]["ok"]["_attachments"]["photo.jpg"]["stub"] is True
    expected = {r["id"]: r["docs"] for r in store.bulk_get(asked, revisions=True, latest=True)}
    assert by_id == expected


def test_a_feed_read_through_another_process_costs_one_look_at_the_leaves(app: Flask, couch_asked) -> None:
    """gunicorn's other worker served the feed, so this one has not seen the winners listed: a
    kept revision that is its document's only leaf is answered from the kept body after one
    ``_revs_diff``; one with a conflicting branch is read from CouchDB as before."""
    walker = device(app, "walker")
    _, since = listed(walker, "0")
    single, forked = pushed("walker"), pushed("walker", generations=2)
    branch = {**forked, "_rev": f"2-{rev_id('other branch')}", "data": {**forked["data"], "remarks": "other"},
              "_revisions": {"start": 2, "ids": [rev_id("other branch"), forked["_revisions"]["ids"][1]]}}
    assert walker("POST", "/_bulk_docs", json={"docs": [single, forked, branch], "new_edits": False}) == []
    rows, _ = listed(walker, since)
    asked = [{"id": r["id"], "rev": rev} for r in rows if r["id"].startswith(AREA) for rev in
             [c["rev"] for c in r["changes"]] if rev in (single["_rev"], forked["_rev"])]
    assert len(asked) == 2
    LISTED.drop_where(lambda _key: True)  # as if the feed had been read through the other worker
    couch_asked.clear()

    results = walker("POST", "/_bulk_get", query_string={"revs": "true", "latest": "true"},
                     json={"docs": asked})["results"]

    paths = [path.rsplit("/", 1)[1] for path, _ in couch_asked]
    assert paths.count("_revs_diff") == 1
    read = [d["id"] for path, body in couch_asked if path.endswith("/_bulk_get") for d in body["docs"]]
    assert set(read) == {forked["_id"]}  # two leaves: read as before, the kept body not trusted
    store = app.extensions["fieldsync"].store.open(AREA)
    assert [r["docs"] for r in results] == [r["docs"] for r in store.bulk_get(asked, revisions=True, latest=True)]


def test_a_body_kept_from_a_coordinators_pull_is_not_given_to_a_worker_who_may_not_see_it(app: Flask) -> None:
    """The kept bodies and the listed winners are the server's, not a user's: each request still
    decides visibility for its own user (a colleague's child protection referral)."""
    runner, boss, walker = device(app, "runner"), device(app, "boss"), device(app, "walker")
    case = pushed("runner", sensitive=True)
    _, since = listed(boss, "0")
    assert runner("POST", "/_bulk_docs", json={"docs": [case], "new_edits": False}) == []
    rows, _ = listed(boss, since)
    assert case["_id"] in {r["id"] for r in rows}
    item = {"id": case["_id"], "rev": case["_rev"]}
    assert boss("POST", "/_bulk_get", query_string={"revs": "true"}, json={"docs": [item]}
                )["results"][0]["docs"][0]["ok"]["_rev"] == case["_rev"]

    answer = walker("POST", "/_bulk_get", query_string={"revs": "true"}, json={"docs": [item]})["results"][0]

    assert "ok" not in answer["docs"][0] and answer["docs"][0]["error"]["error"] == "not_found"


def test_a_push_reads_only_the_documents_couchdb_has_and_a_colleagues_stays_hers(
        app: Flask, couch_asked: list[tuple[str, dict]]) -> None:
    runner, walker = device(app, "runner"), device(app, "walker")
    hers = pushed("runner")
    assert runner("POST", "/_bulk_docs", json={"docs": [hers], "new_edits": False}) == []
    mine = [pushed("walker") for _ in range(3)]
    # A second branch on her submission, named as his: it could win, and so take it over.
    branch = {**hers, "author": "walker", "_rev": f"2-{rev_id('walker-branch')}",
              "_revisions": {"start": 2, "ids": [rev_id("walker-branch"), hers["_revisions"]["ids"][0]]}}
    couch_asked.clear()

    refused = walker("POST", "/_bulk_docs", json={"docs": [*mine, branch], "new_edits": False})

    assert [(r["id"], r["error"]) for r in refused] == [(hers["_id"], "forbidden")]
    read = [body["keys"] for path, body in couch_asked if path.endswith("/_all_docs")]
    assert read == [[hers["_id"]]]  # his three new ones were not looked up one by one
    store = app.extensions["fieldsync"].store.open(AREA)
    assert store.get(hers["_id"])["author"] == "runner"
    assert [d["_id"] for d in mine if store.get(d["_id"])["author"] == "walker"] == [d["_id"] for d in mine]


def test_what_a_pushed_body_is_kept_as() -> None:
    doc = {"_id": "a:sub:1", "_rev": "2-bb", "_revisions": ["2-bb", "1-aa"], "form": "f", "data": {"x": 1.5}}
    assert pushed_body(doc) == {**doc, "_revisions": {"start": 2, "ids": ["bb", "aa"]}}
    assert pushed_body({**doc, "_revisions": ["2-bb"]}) is None  # stemmed: CouchDB may know more
    assert pushed_body({**doc, "_deleted": True}) is None
    assert pushed_body({**doc, "_attachments": {"a": {"stub": True}}}) is None
    assert pushed_body({**doc, "_rev": "3-cc"}) is None


def test_kept_bodies_stay_within_their_budget_oldest_out_first() -> None:
    bodies = RevisionBodies(budget=64 * 300)
    for n in range(200):
        bodies.put(("e", f"d{n}", "1-a"), {"_id": f"d{n}", "pad": "x" * 200})
    assert bodies.get(("e", "d0", "1-a")) is None
    newest = bodies.get(("e", "d199", "1-a"))
    assert newest == {"_id": "d199", "pad": "x" * 200}
    newest["pad"] = "changed by a caller"
    assert bodies.get(("e", "d199", "1-a"))["pad"] == "x" * 200  # each caller gets its own copy
    size = len(orjson.dumps({"_id": "d100", "pad": "x" * 200}))
    kept = [n for n in range(200) if bodies.raw(("e", f"d{n}", "1-a")) is not None]
    assert kept == list(range(200 - 64 * 300 // size, 200))  # as many of the newest as fit


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    BODIES.clear()
    LISTED.drop_where(lambda _key: True)
