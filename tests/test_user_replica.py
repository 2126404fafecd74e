"""``/sync/<user>``: one replica per user, the union of ``global`` and the user's data areas.

What a worker's device relies on, checked against the demo data set (two
aimags, five soums, workers, coordinators, a few hundred submissions):

* the replica holds exactly what the rules allow: ``global``, the user's areas
  (a coordinator of an aimag gets its soums), and of sensitive forms only the
  worker's own cases (a review is as sensitive as the case it reviews);
* sequences are opaque composites of the member scopes' sequences: resuming
  from any ``seq`` the feed returned loses nothing, ``limit`` pages across
  scopes, a long-poll wakes on a write in any member scope, and a scope the
  user gains later is read from its beginning;
* writes are routed to their scope by the id prefix and refused document by
  document (``forbidden``, kept in the quarantine) when the user may not write
  them: a submission's ``author`` must be the user;
* ``_local`` checkpoints belong to the user; every request is in the sync log,
  which ``fieldsync sync-status`` reports.

The expected documents are computed here from the store itself, with the
rules written out again, not through the code under test.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from flask import Flask

from server import create_app
from server.cli import main
from server.config import Settings
from server.services import Services
from sync.demo import DEMO_PASSWORD, household_visit, protection_referral, seed_demo, submission
from sync.errors import NotFound
from sync.replica.revocation import tombstone_rev
from sync.replica.union import CHECKPOINT_SCOPE
from sync.scopes import GLOBAL

ADMIN = ("root", "root-password-1")
FORMS_DIR = Path(__file__).resolve().parent.parent / "schemas" / "forms"
SENSITIVE = {d["form"] for d in (json.loads(p.read_text()) for p in FORMS_DIR.glob("*.json")) if d.get("sensitive")}


def basic(name: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Flask, Services, Path]:
    data = tmp_path_factory.mktemp("replica") / "data"
    app = create_app(Settings(data_dir=data, admin=ADMIN))
    app.testing = True
    svc: Services = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=24)
    svc.users.add("sukh", "worker", ["uvs-zavkhan"], DEMO_PASSWORD)  # gains an area in a test
    svc.users.add("naraa", "worker", ["uvs-zavkhan"], DEMO_PASSWORD)  # never syncs
    return app, svc, data


@pytest.fixture(scope="module")
def app(world) -> Flask:
    return world[0]


@pytest.fixture(scope="module")
def svc(world) -> Services:
    return world[1]


class Device:
    """A user's replicator: Basic credentials on every request, responses read and closed."""

    def __init__(self, app: Flask, name: str, password: str = DEMO_PASSWORD, *, replica: str | None = None,
                 **headers: str):
        self.client = app.test_client(use_cookies=False)
        self.replica = replica or name  # whose /sync/<user> it opens
        self.headers = {**basic(name, password), **headers}

    def request(self, method: str, path: str, **kw: Any):
        headers = {**self.headers, **kw.pop("headers", {})}
        response = self.client.open(f"/sync/{self.replica}{path}", method=method, headers=headers, **kw)
        response.get_data()
        response.close()  # the sync log is written when the response is closed
        return response

    def changes(self, **params: Any) -> dict:
        response = self.request("GET", "/_changes", query_string=params)
        assert response.status_code == 200, response.json
        return response.json

    def ids(self, **params: Any) -> set[str]:
        return {row["id"] for row in self.changes(**params)["results"]}

    def put(self, doc: dict):
        return self.request("PUT", "/" + quote(doc["_id"], safe=""), json=doc)


# -- the rules, written out again ---------------------------------------------------------------


def data_areas(svc: Services, assigned: list[str]) -> set[str]:
    """The areas holding data at or below the assigned ones, from the area documents."""
    docs = [r["doc"] for r in svc.store.open(GLOBAL).all_docs(include_docs=True)
            if r["id"].startswith("global:area:")]
    children: dict[str, list[str]] = {}
    for d in docs:
        children.setdefault(d["parent"], []).append(d["code"])
    found, stack = set(), list(assigned)
    while stack:
        code = stack.pop()
        found.add(code)
        stack.extend(children.get(code, []))
    return {d["code"] for d in docs if d["code"] in found and d["holds_data"]}


def may_see(name: str, role: str, doc: dict, scope_docs: dict[str, dict]) -> bool:
    if role == "admin":
        return True
    area, kind, key = doc["_id"].split(":", 2)
    if kind == "case":  # a child protection case: its author, coordinator and team
        return name in {doc.get("author"), doc.get("coordinator"), *(doc.get("team") or [])}
    opened = scope_docs.get(f"{area}:case:{key}") if kind == "sub" else None
    if opened is not None and doc.get("form") in SENSITIVE and doc.get("author") != name:
        return may_see(name, role, opened, scope_docs)  # a referral whose case is open: as its case
    if role != "worker":
        return True
    if kind == "sub":
        return doc.get("author") == name or doc.get("form") not in SENSITIVE
    if kind == "review":
        sub = scope_docs.get(f"{area}:sub:{key}")
        return sub is not None and may_see(name, role, sub, scope_docs)
    if kind == "feedback":
        return doc.get("author") == name
    return True


def expected_ids(svc: Services, name: str) -> set[str]:
    doc = svc.store.open("_users").get(f"user:{name}")
    role, areas = doc["role"], doc["areas"]
    ids = {r["id"] for r in svc.store.open(GLOBAL).all_docs()}
    scopes = data_areas(svc, [d["code"] for d in (
        r["doc"] for r in svc.store.open(GLOBAL).all_docs(include_docs=True) if r["id"].startswith("global:area:")
    )] if role == "admin" else areas)
    for scope in scopes:
        docs = {r["id"]: r["doc"] for r in svc.store.open(scope).all_docs(include_docs=True)}
        ids |= {i for i, d in docs.items() if may_see(name, role, d, docs)}
    return ids


def new_submission(area: str, author: str, *, sensitive: bool = False, n: int = 0) -> dict:
    rng = random.Random(n)
    key = "01K" + "".join(rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(23))
    if sensitive:
        return submission(f"{area}:sub:{key}", "child_protection_referral", author,
                          protection_referral(rng), "2026-10-12T14:30:00+08:00")
    return submission(f"{area}:sub:{key}", "household_visit", author, household_visit(rng),
                      "2026-10-02T10:00:00+08:00")


# -- membership and what each user sees ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "members"), [
    ("bolormaa", ["global", "uvs-tes"]),
    ("batbold", ["global", "ovr-bat-ulzii", "ovr-kharkhorin"]),
    ("oyunaa", ["global", "uvs-naranbulag", "uvs-tes", "uvs-zavkhan"]),  # coordinator of the aimag
    ("enkhjargal", ["global", "ovr-bat-ulzii", "ovr-kharkhorin"]),
])
def test_the_replica_is_global_and_the_users_data_areas(app: Flask, name: str, members: list[str]) -> None:
    info = Device(app, name).request("GET", "").json
    assert info["db_name"] == f"sync/{name}"
    assert info["members"] == members


@pytest.mark.parametrize("name", ["bolormaa", "ganzorig", "tsetseg", "batbold", "oyunaa", "enkhjargal", "root"])
def test_the_feed_holds_exactly_what_the_rules_allow(app: Flask, svc: Services, name: str) -> None:
    password = ADMIN[1] if name == "root" else DEMO_PASSWORD
    assert Device(app, name, password).ids() == expected_ids(svc, name)


def test_a_worker_sees_her_own_sensitive_cases_and_not_a_colleagues(app: Flask, svc: Services) -> None:
    kharkhorin = {r["id"]: r["doc"] for r in svc.store.open("ovr-kharkhorin").all_docs(include_docs=True)}
    cases = {i for i, d in kharkhorin.items() if d.get("form") == "child_protection_referral"}
    visits = {i for i, d in kharkhorin.items() if d.get("form") == "household_visit"}
    assert cases and visits and {kharkhorin[i]["author"] for i in cases | visits} == {"tsetseg"}

    batbold = Device(app, "batbold").ids()  # works in the same soum
    assert visits <= batbold and not cases & batbold
    assert cases | visits <= Device(app, "tsetseg").ids()  # the author
    assert cases | visits <= Device(app, "enkhjargal").ids()  # the soum's coordinator
    for case in cases:
        assert Device(app, "batbold").request("GET", "/" + quote(case, safe="")).status_code == 404
        assert Device(app, "tsetseg").request("GET", "/" + quote(case, safe="")).status_code == 200


def test_a_review_is_as_sensitive_as_the_case_it_reviews(app: Flask, svc: Services) -> None:
    docs = {r["id"]: r["doc"] for r in svc.store.open("ovr-kharkhorin").all_docs(include_docs=True)}
    case = next(i for i, d in docs.items() if d.get("form") == "child_protection_referral")
    visit = next(i for i, d in docs.items() if d.get("form") == "household_visit")
    coordinator = Device(app, "enkhjargal")
    reviews = {}
    for sub_id in (case, visit):
        review_id = sub_id.replace(":sub:", ":review:")
        # a review as the write gate accepts it: a known state, its submission's author and form
        response = coordinator.put({"_id": review_id, "type": "review", "status": "has_issues",
                                    "submission_author": docs[sub_id]["author"], "form": docs[sub_id]["form"],
                                    "comments": [{"by": "enkhjargal", "at": "2026-10-12T09:00:00Z",
                                                  "text": "Called the family twice."}]})
        assert response.status_code == 201, response.json
        reviews[sub_id] = review_id
    batbold, tsetseg = Device(app, "batbold").ids(), Device(app, "tsetseg").ids()
    assert reviews[visit] in batbold and reviews[case] not in batbold
    assert {reviews[visit], reviews[case]} <= tsetseg
    hidden = Device(app, "batbold").request("GET", "/" + quote(reviews[case], safe=""))
    assert hidden.status_code == 404 and b"Called the family" not in hidden.data


# -- composite sequences ------------------------------------------------------------------------


def test_resuming_from_every_returned_seq_loses_nothing(app: Flask) -> None:
    device = Device(app, "batbold")  # three member scopes, with hidden cases among the rows
    feed = device.changes()
    rows = feed["results"]
    assert {r["id"].split(":", 1)[0] for r in rows} == {"global", "ovr-bat-ulzii", "ovr-kharkhorin"}
    assert len({r["seq"] for r in rows}) == len(rows)
    for i, row in enumerate(rows):
        after = device.changes(since=row["seq"])
        assert [r["id"] for r in after["results"]] == [r["id"] for r in rows[i + 1:]], f"resumed from row {i}"
    assert device.changes(since=feed["last_seq"])["results"] == []


def test_limit_pages_across_scopes_and_the_pages_add_up_to_the_feed(app: Flask) -> None:
    device = Device(app, "oyunaa")
    full = [r["id"] for r in device.changes()["results"]]
    pages, since = [], 0
    while True:
        page = device.changes(since=since, limit=7)
        if not page["results"]:
            break
        assert len(page["results"]) <= 7
        assert page["last_seq"] == page["results"][-1]["seq"]
        pages.append([r["id"] for r in page["results"]])
        since = page["last_seq"]
    assert [i for page in pages for i in page] == full
    assert any(len({i.split(":", 1)[0] for i in page}) > 1 for page in pages), "no page crossed a scope"


def test_sequences_are_opaque_strings_and_a_foreign_one_is_a_400(app: Flask) -> None:
    device = Device(app, "bolormaa")
    seq = device.changes(limit=1)["results"][0]["seq"]
    assert isinstance(seq, str) and seq.split("-", 1)[0].isdigit()
    for bad in ("42", "1-not-base64!", "1-" + base64.urlsafe_b64encode(b"[1,2]").decode()):
        response = device.request("GET", "/_changes", query_string={"since": bad})
        assert response.status_code == 400, bad
        assert response.json["error"] == "bad_request"


def longpoll_in_background(app: Flask, name: str, since: str, timeout_ms: int) -> dict:
    out: dict = {}

    def run() -> None:
        started = time.monotonic()
        out["feed"] = Device(app, name).changes(feed="longpoll", since=since, timeout=timeout_ms)
        out["seconds"] = time.monotonic() - started

    out["thread"] = threading.Thread(target=run)
    out["thread"].start()
    time.sleep(0.3)  # the request is waiting by now
    return out


@pytest.mark.parametrize("scope", ["global", "ovr-bat-ulzii", "ovr-kharkhorin"])
def test_a_longpoll_wakes_on_a_write_in_any_member_scope(app: Flask, svc: Services, scope: str) -> None:
    since = Device(app, "batbold").request("GET", "").json["update_seq"]
    poll = longpoll_in_background(app, "batbold", since, timeout_ms=20_000)
    if scope == GLOBAL:
        svc.areas.add("ovr-new-bag", name_en="A new bag", parent="ovr-bat-ulzii", level="bag")
        new_id = "global:area:ovr-new-bag"
    else:
        author = "batbold" if scope == "ovr-bat-ulzii" else "tsetseg"
        doc = new_submission(scope, author, n={"ovr-bat-ulzii": 11, "ovr-kharkhorin": 12}[scope])
        assert Device(app, author).put(doc).status_code == 201
        new_id = doc["_id"]
    poll["thread"].join(25)
    assert [r["id"] for r in poll["feed"]["results"]] == [new_id]
    assert poll["seconds"] < 10


def test_a_longpoll_sleeps_through_writes_it_may_not_see(app: Flask) -> None:
    since = Device(app, "batbold").request("GET", "").json["update_seq"]
    poll = longpoll_in_background(app, "batbold", since, timeout_ms=1500)
    assert Device(app, "tsetseg").put(new_submission("ovr-kharkhorin", "tsetseg", sensitive=True, n=7)).status_code == 201
    assert Device(app, "bolormaa").put(new_submission("uvs-tes", "bolormaa", n=8)).status_code == 201
    poll["thread"].join(10)
    assert poll["feed"]["results"] == []
    assert poll["seconds"] >= 1.4


def test_a_continuous_feed_streams_every_scope_then_waits_quietly(app: Flask) -> None:
    device = Device(app, "batbold")
    normal = device.changes()
    # the newest row of the kharkhorin scope is a case batbold may not see (previous test)
    started, cpu = time.monotonic(), time.process_time()
    response = device.request("GET", "/_changes", query_string={"feed": "continuous", "timeout": 1500})
    wall, cpu = time.monotonic() - started, time.process_time() - cpu
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines() if line]
    assert [r["id"] for r in lines[:-1]] == [r["id"] for r in normal["results"]]
    assert "last_seq" in lines[-1]
    assert wall >= 1.4 and cpu < wall / 2, f"busy while idle: {cpu:.2f}s of CPU in {wall:.2f}s"


def test_an_area_added_to_a_worker_later_is_read_from_its_beginning(app: Flask, svc: Services) -> None:
    device = Device(app, "sukh")
    first = device.changes()
    middle = first["results"][len(first["results"]) // 2]["seq"]
    zavkhan = {r["id"] for r in first["results"] if r["id"].startswith("uvs-zavkhan:")}
    assert zavkhan and not any(r["id"].startswith("uvs-naranbulag:") for r in first["results"])

    svc.users.update("sukh", areas=["uvs-zavkhan", "uvs-naranbulag"])
    naranbulag = expected_ids(svc, "sukh") - expected_ids(svc, "naraa")  # what the new area brings
    assert naranbulag and all(i.startswith("uvs-naranbulag:") for i in naranbulag)
    assert device.ids(since=first["last_seq"]) == naranbulag
    rest_of_first = {r["id"] for r in first["results"][len(first["results"]) // 2 + 1:]}
    assert device.ids(since=middle) == rest_of_first | naranbulag


def test_a_worker_made_coordinator_gets_the_cases_hidden_from_her_before(app: Flask, svc: Services) -> None:
    svc.users.add("altai", "worker", ["ovr-kharkhorin"], DEMO_PASSWORD)
    device = Device(app, "altai")
    before = device.changes()
    kharkhorin = {r["id"]: r["doc"] for r in svc.store.open("ovr-kharkhorin").all_docs(include_docs=True)}
    cases = {i for i, d in kharkhorin.items() if d.get("form") == "child_protection_referral"
             and d.get("type") == "submission" and d["author"] != "altai"}
    assert cases and not cases & {r["id"] for r in before["results"]}
    assert device.ids(since=before["last_seq"]) == set()

    svc.users.update("altai", role="coordinator")
    assert device.ids(since=before["last_seq"]) == expected_ids(svc, "altai")  # everything, read again
    # Referrals whose case is open stay with the case's people (sync.referral_cases); the others she now gets.
    opened = {i for i in cases if i.replace(":sub:", ":case:") in kharkhorin}
    assert opened and cases - opened and cases - opened <= expected_ids(svc, "altai")
    assert not opened & expected_ids(svc, "altai")


def test_a_soum_added_under_a_coordinators_aimag_is_read_from_its_beginning(app: Flask, svc: Services) -> None:
    device = Device(app, "oyunaa")
    before = device.changes()["last_seq"]
    svc.areas.add("uvs-new-soum", name_en="A new soum", parent="uvs", level="soum", holds_data=True)
    admin = Device(app, "root", ADMIN[1])
    docs = [new_submission("uvs-new-soum", "oyunaa", n=100 + i) for i in range(3)]
    for doc in docs:
        response = admin.client.put(f"/db/uvs-new-soum/{quote(doc['_id'], safe='')}", json=doc,
                                    headers=basic(*ADMIN))
        assert response.status_code == 201, response.json
    assert device.ids(since=before) == {"global:area:uvs-new-soum"} | {d["_id"] for d in docs}


# -- writes -------------------------------------------------------------------------------------------


def test_bulk_get_answers_every_revision_asked_for_as_the_store_does(app: Flask, svc: Services) -> None:
    """A replicator asks for what ``_changes`` listed, nearly always the winners; whatever else
    it asks for must come back as the store itself answers it (the union decides visibility
    on each document's winner, so any shortcut for winners must keep this): a revision
    since replaced (``latest``), both sides of a conflict, a deleted document, an id asked
    for twice. A colleague's case stays missing whatever is asked."""
    db = svc.store.open("ovr-kharkhorin")
    edited, conflicted, deleted = (new_submission("ovr-kharkhorin", "tsetseg", n=900 + i) for i in range(3))
    first = {d["_id"]: r["rev"] for d, r in zip((edited, conflicted, deleted),
                                               db.bulk_docs([edited, conflicted, deleted]), strict=True)}
    edited_rev = db.bulk_docs([{**edited, "_rev": first[edited["_id"]], "data": {**edited["data"],
                                                                                 "remarks": "second visit"}}])[0]["rev"]
    db.bulk_docs([{**deleted, "_rev": first[deleted["_id"]], "_deleted": True}])
    gen1 = first[conflicted["_id"]].split("-")[1]
    leaves = [f"2-{c * 32}" for c in "ab"]
    db.bulk_docs([{**conflicted, "_rev": rev, "_revisions": [rev, f"1-{gen1}"],
                   "data": {**conflicted["data"], "remarks": rev}} for rev in leaves], new_edits=False)
    tombstone = db.open_revs(deleted["_id"], None)[0]["ok"]["_rev"]
    case = next(r["doc"] for r in db.all_docs(include_docs=True) if r["doc"].get("form") == "child_protection_referral")
    asked = [
        {"id": edited["_id"], "rev": first[edited["_id"]]},  # replaced since: latest gives the edit
        {"id": edited["_id"]},  # the same id again, without a revision: the winner
        {"id": conflicted["_id"], "rev": leaves[0]},  # the loser
        {"id": conflicted["_id"], "rev": leaves[1]},  # the winner, asked beside its loser
        {"id": deleted["_id"], "rev": tombstone},
        {"id": case["_id"], "rev": case["_rev"]},
    ]

    response = Device(app, "batbold").request("POST", "/_bulk_get", query_string={"revs": "true", "latest": "true"},
                                              json={"docs": asked})

    assert response.status_code == 200
    results = response.json["results"]
    expected = list(db.bulk_get(asked[:5], revisions=True, latest=True))
    assert [r["docs"] for r in results[:5]] == [r["docs"] for r in expected]
    assert results[0]["docs"][0]["ok"]["_rev"] == edited_rev
    assert [r["docs"][0]["ok"]["_rev"] for r in results[2:4]] == leaves
    assert results[4]["docs"][0]["ok"].get("_deleted") is True
    assert "ok" not in results[5]["docs"][0] and "ok" in next(db.bulk_get(asked[5:]))["docs"][0]
    alone = Device(app, "batbold").request("POST", "/_bulk_get", query_string={"revs": "true"},
                                           json={"docs": [{"id": conflicted["_id"], "rev": leaves[0]}]})
    assert alone.json["results"][0]["docs"] == next(db.bulk_get(asked[2:3], revisions=True))["docs"]


def test_a_revocation_tombstone_asked_of_a_process_that_still_shows_the_document_is_given(
    app: Flask, svc: Services
) -> None:
    """Two gunicorn workers may judge one pull differently for a moment: one, its account memo
    fresh, sweeps a soum the worker just lost and lists its documents as revocation
    tombstones; the other, still giving her the soum (a second on CouchDB), is asked for
    those tombstones. It answers them as the feed promised: a ``missing`` there made PouchDB
    abort the whole pull ("There was a problem getting docs", seen once in CI). A revision
    that is no such tombstone is still missing."""
    db = svc.store.open("ovr-kharkhorin")
    visit = next(r["doc"] for r in db.all_docs(include_docs=True) if r["doc"].get("form") == "household_visit")
    swept = tombstone_rev(visit["_id"], visit["_rev"])
    asked = [{"id": visit["_id"], "rev": swept}, {"id": visit["_id"], "rev": "9-" + "0" * 32}]

    response = Device(app, "batbold").request("POST", "/_bulk_get", query_string={"revs": "true", "latest": "true"},
                                              json={"docs": asked})

    assert response.status_code == 200
    given, made_up = (r["docs"][0] for r in response.json["results"])
    assert given["ok"]["_rev"] == swept and given["ok"]["_deleted"] is True
    assert given["ok"]["_revisions"]["ids"][1] == visit["_rev"].split("-", 1)[1]  # a child of the winner
    assert made_up["error"]["error"] == "not_found"

    # The same through open_revs, which the CouchDB replicator of a laptop may use instead.
    response = Device(app, "batbold").request(
        "GET", f"/{visit['_id']}", query_string={"open_revs": json.dumps([a["rev"] for a in asked]), "revs": "true"},
        headers={"Accept": "application/json"})
    assert response.status_code == 200
    given, made_up = response.json
    assert given["ok"]["_rev"] == swept and given["ok"]["_deleted"] is True
    assert given["ok"]["_revisions"]["ids"][1] == visit["_rev"].split("-", 1)[1]
    assert made_up == {"missing": "9-" + "0" * 32}


def test_writes_are_routed_by_their_id_prefix(app: Flask, svc: Services) -> None:
    docs = [new_submission("ovr-bat-ulzii", "batbold", n=200), new_submission("ovr-kharkhorin", "batbold", n=201)]
    response = Device(app, "batbold").request("POST", "/_bulk_docs", json={"docs": docs})
    assert response.status_code == 201
    assert [r.get("ok") for r in response.json] == [True, True]
    assert svc.store.open("ovr-bat-ulzii").get(docs[0]["_id"])["author"] == "batbold"
    assert svc.store.open("ovr-kharkhorin").get(docs[1]["_id"])["author"] == "batbold"


def test_a_submission_must_name_the_user_as_its_author(app: Flask, svc: Services) -> None:
    device = Device(app, "bolormaa")
    forged = new_submission("uvs-tes", "ganzorig", n=300)
    response = device.put(forged)
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert "author must be you ('bolormaa')" in response.json["reason"]
    assert forged["_id"] not in {r["id"] for r in svc.store.open("uvs-tes").all_docs()}
    held = [e for e in svc.quarantine.list() if e["doc_id"] == forged["_id"]]
    assert len(held) == 1 and held[0]["user"] == "bolormaa" and held[0]["doc"]["author"] == "ganzorig"

    own = new_submission("uvs-tes", "bolormaa", n=301)
    assert device.put(own).status_code == 201
    assert svc.store.open("uvs-tes").get(own["_id"])["author"] == "bolormaa"


def test_a_replicated_batch_is_judged_document_by_document(app: Flask, svc: Services) -> None:
    """What PouchDB sends (new_edits=false): the good ones are stored, each bad one refused."""
    good = {**new_submission("uvs-tes", "bolormaa", n=310), "_rev": "1-" + "a" * 32}
    forged = {**new_submission("uvs-tes", "ganzorig", n=311), "_rev": "1-" + "b" * 32}
    elsewhere = {**new_submission("uvs-naranbulag", "bolormaa", n=312), "_rev": "1-" + "c" * 32}
    response = Device(app, "bolormaa").request(
        "POST", "/_bulk_docs", json={"docs": [good, forged, elsewhere], "new_edits": False})
    assert response.status_code == 201
    assert {(r["id"], r["error"]) for r in response.json} == {
        (forged["_id"], "forbidden"), (elsewhere["_id"], "forbidden")}
    assert svc.store.open("uvs-tes").get(good["_id"])["_rev"] == good["_rev"]
    assert forged["_id"] not in {r["id"] for r in svc.store.open("uvs-tes").all_docs()}
    assert elsewhere["_id"] not in {r["id"] for r in svc.store.open("uvs-naranbulag").all_docs()}


def test_revisions_the_server_holds_are_not_refused_when_a_device_sends_them_back(
    app: Flask, svc: Services
) -> None:
    """A worker moved away from a soum still holds its documents; ``_revs_diff`` calls them
    missing (they are outside her replica now), so her device sends them back. What the
    server already has is a no-op, as in CouchDB, and must not flood the quarantine."""
    db = svc.store.open("uvs-naranbulag")
    held = [db.get(r["id"], revs=True) for r in list(db.all_docs())[:3]]
    forged_body = {**held[2], "data": {"remarks": "replaced?"}}  # an existing revision id, other content
    new_revision = {**held[0], "_rev": "2-" + "9" * 32,
                    "_revisions": {"start": 2, "ids": ["9" * 32, held[0]["_rev"].split("-")[1]]}}
    quarantined = sum(1 for _ in svc.quarantine.list())
    before = db.update_seq()

    response = Device(app, "bolormaa").request(
        "POST", "/_bulk_docs", json={"docs": [*held[:2], forged_body, new_revision], "new_edits": False})

    assert response.status_code == 201
    assert [(r["id"], r["error"]) for r in response.json] == [(held[0]["_id"], "forbidden")]
    assert db.update_seq() == before and db.get(held[2]["_id"]) == {
        k: v for k, v in held[2].items() if k != "_revisions"}
    assert sum(1 for _ in svc.quarantine.list()) == quarantined + 1


def test_each_refused_document_gets_its_own_reason(app: Flask) -> None:
    docs = [{"_id": "_design/mine", "views": {}}, new_submission("uvs-naranbulag", "bolormaa", n=320),
            {"_id": "a-plain-id", "note": "no area"}, new_submission("uvs-tes", "bolormaa", n=321)]
    response = Device(app, "bolormaa").request("POST", "/_bulk_docs", json={"docs": docs})
    assert response.status_code == 201
    answers = response.json
    assert [a["id"] for a in answers] == [d["_id"] for d in docs]
    assert answers[0]["reason"].startswith("Only admins write design documents")
    assert answers[1]["reason"] == "You are not assigned to area 'uvs-naranbulag'."
    assert answers[2]["reason"].startswith("Document id 'a-plain-id' must look like <area>:<kind>:<id>")
    assert answers[3]["ok"] is True


@pytest.mark.parametrize(("doc", "reason"), [
    ({"_id": "global:area:uvs-fake", "type": "area", "code": "uvs-fake"}, "admins only"),
    ({"_id": "global:form:household_visit:99", "type": "form"}, "admins only"),
    ({"_id": "uvs-tes:review:01K00000000000000000000001", "type": "review", "status": "approved"},
     "Only coordinators review"),
    ({"_id": "_design/steal", "views": {}}, "Only admins write design documents"),
    ({"_id": "uvs-tes:feedback:01K00000000000000000000002", "author": "bolormaa"}, "server only"),
])
def test_workers_never_write_global_reviews_design_or_feedback(app: Flask, svc: Services, doc: dict,
                                                                reason: str) -> None:
    scope = GLOBAL if doc["_id"].startswith("global:") else "uvs-tes"
    before = svc.store.open(scope).update_seq()
    response = Device(app, "bolormaa").request("POST", "/_bulk_docs", json={"docs": [doc]})
    assert response.status_code == 201
    assert response.json[0]["error"] == "forbidden" and reason in response.json[0]["reason"]
    assert svc.store.open(scope).update_seq() == before


def test_a_worker_cannot_change_a_colleagues_submission(app: Flask, svc: Services) -> None:
    db = svc.store.open("ovr-kharkhorin")
    visit = next(r["doc"] for r in db.all_docs(include_docs=True) if r["doc"].get("form") == "household_visit"
                 and r["doc"].get("author") == "tsetseg")
    edited = {**visit, "author": "batbold", "data": {**visit["data"], "remarks": "changed by batbold"}}
    response = Device(app, "batbold").put(edited)
    assert response.status_code == 403
    assert "belongs to another user" in response.json["reason"] and "tsetseg" not in response.json["reason"]
    deleted = Device(app, "batbold").request(
        "DELETE", "/" + quote(visit["_id"], safe=""), query_string={"rev": visit["_rev"]})
    assert deleted.status_code == 403
    assert db.get(visit["_id"]) == visit


def test_a_coordinator_writes_reviews_in_her_areas_only(app: Flask, svc: Services) -> None:
    device = Device(app, "oyunaa")

    def review_of(scope: str) -> dict:
        docs = {r["id"]: r["doc"] for r in svc.store.open(scope).all_docs(include_docs=True)}
        sub = next(d for i, d in docs.items() if d.get("type") == "submission"
                   and d.get("form") == "household_visit" and i.replace(":sub:", ":review:") not in docs)
        return {"_id": sub["_id"].replace(":sub:", ":review:"), "type": "review", "status": "approved",
                "submission_author": sub["author"], "form": sub["form"]}

    mine, other = review_of("uvs-tes"), review_of("ovr-kharkhorin")
    assert device.put(mine).status_code == 201
    assert device.put(other).status_code == 403
    assert other["_id"] not in {r["id"] for r in svc.store.open("ovr-kharkhorin").all_docs()}


# -- checkpoints ------------------------------------------------------------------------------------


def test_local_checkpoints_belong_to_their_user(app: Flask, svc: Services) -> None:
    bolormaa, ganzorig = Device(app, "bolormaa"), Device(app, "ganzorig")
    assert bolormaa.request("PUT", "/_local/ckpt", json={"last_seq": "bolormaa's"}).status_code == 201
    assert ganzorig.request("PUT", "/_local/ckpt", json={"last_seq": "ganzorig's"}).status_code == 201
    assert bolormaa.request("GET", "/_local/ckpt").json["last_seq"] == "bolormaa's"
    assert ganzorig.request("GET", "/_local/ckpt").json["last_seq"] == "ganzorig's"
    assert bolormaa.request("GET", "/_local/ckpt").json["_id"] == "_local/ckpt"

    admin = Device(app, "root", ADMIN[1], replica="bolormaa")  # an admin may open anyone's replica
    assert admin.request("GET", "/_local/ckpt").json["last_seq"] == "bolormaa's"
    intruder = Device(app, "ganzorig", replica="bolormaa")  # a worker only her own
    assert intruder.request("GET", "/_local/ckpt").status_code == 403

    kept = {d["_id"]: d["last_seq"] for d in svc.store.open(CHECKPOINT_SCOPE).local_docs()}
    assert kept["_local/bolormaa/ckpt"] == "bolormaa's" and kept["_local/ganzorig/ckpt"] == "ganzorig's"
    for scope in ("uvs-tes", "uvs-naranbulag", GLOBAL):
        with pytest.raises(NotFound):
            svc.store.open(scope).get_local("ckpt")


# -- the sync log ---------------------------------------------------------------------------------


def test_every_request_is_in_the_sync_log_and_sync_status_reports_it(
    app: Flask, svc: Services, world, monkeypatch: pytest.MonkeyPatch
) -> None:
    device = Device(app, "sukh", **{"User-Agent": "PouchDB/9.0 (tablet 7)", "X-Device-Id": "tablet-7"})
    rows = device.changes()["results"]
    wanted = [{"id": r["id"]} for r in rows if r["id"].startswith("uvs-zavkhan:")][:5]
    assert device.request("POST", "/_bulk_get", json={"docs": wanted}).status_code == 200
    docs = [new_submission("uvs-zavkhan", "sukh", n=400), new_submission("uvs-zavkhan", "sukh", n=401),
            new_submission("uvs-zavkhan", "naraa", n=402)]
    assert device.request("POST", "/_bulk_docs", json={"docs": docs}).status_code == 201

    sessions = list(svc.synclog.sessions("sukh"))
    tablet = [s for s in sessions if s["device"] == "tablet-7"]
    assert len(tablet) == 1
    assert (tablet[0]["requests"], tablet[0]["read"], tablet[0]["written"], tablet[0]["refused"]) == (3, 5, 2, 1)
    assert tablet[0]["user_agent"] == "PouchDB/9.0 (tablet 7)"
    assert not list(svc.synclog.sessions("naraa"))

    monkeypatch.setenv("FIELDSYNC_DATA_DIR", "unused")
    result = CliRunner().invoke(main, ["sync-status", "--data", str(world[2])])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert result.output.splitlines()[0].split() == ["user", "role", "last", "sync", "sessions", "read",
                                                    "written", "refused"]
    totals = [sum(s[k] for s in sessions) for k in ("read", "written", "refused")]
    assert lines["sukh"][1] == "worker" and lines["sukh"][2] == max(s["last_at"] for s in sessions)
    assert [int(x) for x in lines["sukh"][3:7]] == [len(sessions), *totals]
    assert "<-" not in lines["sukh"]
    assert lines["naraa"][:3] == ["naraa", "worker", "never"]
    assert " ".join(lines["naraa"][7:]) == "<- not synced yet"


# -- what the rules read of a revision --------------------------------------------------------


def test_the_rules_answer_alike_on_a_document_and_on_its_remembered_fields(svc: Services) -> None:
    # /sync/<user> remembers per revision only the fields the rules read (sync.replica.facts);
    # a rule reading another field would silently decide on less than the document.
    from sync.replica.facts import facts_of

    users = list(svc.users.list())
    assert {u.role for u in users} == {"worker", "coordinator", "admin"}
    checked = 0
    for scope in [GLOBAL, *svc.access.data_scopes(next(u for u in users if u.is_admin))]:
        db = svc.store.open(scope)
        docs = [r["doc"] for r in db.all_docs(include_docs=True)]
        tomb = {**docs[-1], "_deleted": True}  # a tombstone that kept its fields, and a bare one
        for doc in [*docs, tomb, {"_id": docs[-1]["_id"], "_rev": "9-x", "_deleted": True}]:
            for user in users:
                full = svc.access.visible(user, scope, doc, doc["_id"])
                assert svc.access.visible(user, scope, facts_of(doc), doc["_id"]) == full, (user, doc)
                checked += 1
    assert checked > 1000
