"""Real PouchDB devices pull their users' replicas from ``fieldsync serve`` on the demo data.

Two workers in different soums of Uvs (bolormaa in Tes, ganzorig in
Naranbulag), a colleague of bolormaa in Tes (tuya, added here) and the aimag's
coordinator (oyunaa). After a pull, each device holds exactly the documents its
user may see, with the server's revisions: the expected set is computed here
from the store (SQLite files, or the CouchDB store: every test runs on both)
with the rules written out again (global; the user's
soums, an aimag covering its soums; of sensitive forms only the worker's own
cases). A worker moved to another soum with ``fieldsync user assign`` gets
that soum's documents on his next pull, keeps everything he had, and what he
still sends for his old soum is refused into the quarantine, not lost.

(Named ``..._pouchdb`` because tests/test_user_replica.py exists: test
modules outside packages need distinct names.)
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eventual import wait_until
from pouch import PouchReplica
from servers import BACKENDS, FieldsyncPeer, couch_url_for, fieldsync_demo_on

from sync.demo import DEMO_PASSWORD, household_visit, protection_referral, submission
from sync.docs import check_doc
from sync.gate.quarantine import Quarantine
from sync.replica.union import decode_seq
from sync.scopes import GLOBAL

pytestmark = pytest.mark.interop

FORMS_DIR = Path(__file__).resolve().parents[2] / "schemas" / "forms"
SENSITIVE = {d["form"] for d in (json.loads(p.read_text()) for p in FORMS_DIR.glob("*.json")) if d.get("sensitive")}


@pytest.fixture(scope="module", params=BACKENDS)
def server(request) -> Iterator[FieldsyncPeer]:
    url = couch_url_for(request, request.param) if request.param != "sqlite" else None
    with fieldsync_demo_on(request.param, url) as peer:
        fieldsync(peer, "user", "add", "tuya", "--role", "worker", "--area", "uvs-tes", "--password-stdin",
                  stdin=DEMO_PASSWORD + "\n")
        yield peer


def fieldsync(peer: FieldsyncPeer, *args: str, stdin: str | None = None) -> str:
    """A command run beside the server, on its store, as an operator would."""
    proc = peer.cli(*args, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def url(peer: FieldsyncPeer, user: str) -> str:
    return f"http://{user}:{DEMO_PASSWORD}@127.0.0.1:{peer.port}/sync/{user}"


def finished(report: dict[str, Any], *, denied: int = 0) -> dict[str, Any]:
    assert report["errors"] == [], report["errors"]
    assert len(report["denied"]) == denied, [d.get("reason") for d in report["denied"]]
    result = report["result"]
    for part in ([result["push"], result["pull"]] if "push" in result else [result]):
        assert part["status"] == "complete", part
    return result


# -- the rules, written out again, applied to the store's files ------------------------------------


def visible_revs(peer: FieldsyncPeer, user: str) -> dict[str, str]:
    """id -> winning rev of every live document ``user`` may see, read from the store."""
    store = peer.open_store()
    try:
        account = store.open("_users").get(f"user:{user}")
        areas = {r["doc"]["code"]: r["doc"] for r in store.open(GLOBAL).all_docs(include_docs=True)
                 if r["id"].startswith("global:area:")}
        covered, stack = set(), list(account["areas"])
        while stack:
            code = stack.pop()
            covered.add(code)
            stack.extend(c for c, a in areas.items() if a["parent"] == code)
        revs = {r["id"]: r["value"]["rev"] for r in store.open(GLOBAL).all_docs()}
        for scope in sorted(c for c in covered if areas[c]["holds_data"]):
            docs = {r["id"]: r["doc"] for r in store.open(scope).all_docs(include_docs=True)}
            revs |= {i: d["_rev"] for i, d in docs.items() if user_sees(user, account["role"], d, docs)}
        return revs
    finally:
        store.close()


def case_people(doc: dict) -> set:
    team = doc.get("team") if isinstance(doc.get("team"), list) else []
    return {doc.get("author"), doc.get("coordinator"), *team}


def user_sees(user: str, role: str, doc: dict, docs: dict[str, dict]) -> bool:
    area, kind, key = doc["_id"].split(":", 2)
    if kind == "case":  # a child protection case: its people only, any role
        return user in case_people(doc)
    case = docs.get(f"{area}:case:{key}")
    if kind in ("sub", "review", "derived") and doc.get("form") == "child_protection_referral" \
            and case is not None and not case.get("_deleted"):
        # a referral (its review, its derived document) once its case is open: its author and the case's people
        author = doc.get("author") if kind == "sub" else doc.get("submission_author")
        return user == author or user in case_people(case)
    return role != "worker" or worker_sees(user, doc, docs)


def worker_sees(user: str, doc: dict, docs: dict[str, dict]) -> bool:
    area, kind, key = doc["_id"].split(":", 2)
    if kind == "sub":
        return doc.get("author") == user or doc.get("form") not in SENSITIVE
    if kind == "review":  # as sensitive as the submission it reviews
        sub = docs.get(f"{area}:sub:{key}")
        return sub is not None and worker_sees(user, sub, docs)
    if kind == "feedback":
        return doc.get("author") == user
    return True


def sensitive_cases(peer: FieldsyncPeer, scope: str) -> dict[str, str]:
    """id -> author of the sensitive cases of one soum."""
    store = peer.open_store()
    try:
        return {r["id"]: r["doc"]["author"] for r in store.open(scope).all_docs(include_docs=True)
                if r["doc"].get("form") in SENSITIVE}
    finally:
        store.close()


# -- the field ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tuyas_case(server: FieldsyncPeer, node_driver, tmp_path_factory) -> dict[str, str]:
    """tuya's phone sends a child protection referral and a household visit from Tes."""
    rng = random.Random(5)
    case = submission("uvs-tes:sub:01KTUYACASE000000000000001", "child_protection_referral", "tuya",
                      protection_referral(rng), "2026-10-12T14:30:00+08:00")
    visit = submission("uvs-tes:sub:01KTUYAVISIT00000000000001", "household_visit", "tuya",
                       household_visit(rng), "2026-10-03T10:00:00+08:00")
    phone = node_driver.open_replica(tmp_path_factory.mktemp("tuya") / "phone")
    try:
        assert all(r.get("ok") for r in phone.bulk_docs([case, visit]))
        finished(phone.push(url(server, "tuya")))
    finally:
        phone.close()
    return {"case": case["_id"], "visit": visit["_id"]}


@pytest.fixture(scope="module")
def pulled(server: FieldsyncPeer, node_driver, tuyas_case, tmp_path_factory) -> dict[str, PouchReplica]:
    """Each user's fresh device after one pull."""
    devices = {}
    for user in ("bolormaa", "ganzorig", "oyunaa"):
        device = node_driver.open_replica(tmp_path_factory.mktemp(user) / "device")
        device.replicate_timeout = 60.0
        finished(device.pull(url(server, user), batch_size=50))
        devices[user] = device
    yield devices
    for device in devices.values():
        device.close()


@pytest.mark.parametrize("user", ["bolormaa", "ganzorig", "oyunaa"])
def test_each_device_holds_exactly_what_its_user_may_see(server: FieldsyncPeer, pulled, user: str) -> None:
    expected = visible_revs(server, user)
    held = pulled[user].revs()
    assert set(held) == set(expected), (sorted(set(held) - set(expected))[:5], sorted(set(expected) - set(held))[:5])
    assert held == expected


def test_the_coordinator_gets_both_soums_and_every_case_file(server: FieldsyncPeer, pulled, tuyas_case) -> None:
    held = set(pulled["oyunaa"].revs())
    for soum in ("uvs-tes", "uvs-naranbulag"):
        cases = sensitive_cases(server, soum)
        assert cases and set(cases) <= held
        assert any(i.startswith(f"{soum}:") for i in held)
    assert tuyas_case["case"] in held
    assert not any(i.startswith("ovr-") for i in held)  # the other aimag is not hers


def test_a_worker_gets_her_own_cases_and_not_a_colleagues(server: FieldsyncPeer, pulled, tuyas_case) -> None:
    held = set(pulled["bolormaa"].revs())
    cases = sensitive_cases(server, "uvs-tes")
    assert {i for i, author in cases.items() if author == "bolormaa"} <= held
    assert tuyas_case["case"] not in held
    assert tuyas_case["visit"] in held  # her colleague's ordinary visits she does see
    assert pulled["bolormaa"].get_or_none(tuyas_case["case"]) is None
    assert not any(i.startswith("uvs-naranbulag:") for i in held)


def server_docs(peer: FieldsyncPeer, scope: str) -> dict[str, dict]:
    """id -> every leaf of every document of a scope (deleted ones too), read from the store."""
    store = peer.open_store()
    try:
        db = store.open(scope)
        return {r["id"]: sorted((f["ok"]["_rev"], bool(f["ok"].get("_deleted"))) for f in db.open_revs(r["id"], None)
                                if "ok" in f)
                for r in db.changes(0, style="all_docs")}
    finally:
        store.close()


def test_a_worker_moved_to_another_soum_gets_it_and_the_old_soum_leaves_the_device(
    server: FieldsyncPeer, pulled
) -> None:
    """Revocation (issue 17.8): the device had kept the old soum's documents forever."""
    device = pulled["ganzorig"]
    # One document in conflict on the device: each of its leaves must get a tombstone, or the
    # other leaf would become its winner and keep it there.
    store = server.open_store()
    try:
        db = store.open("uvs-naranbulag")
        doc = next(r["doc"] for r in db.all_docs(include_docs=True) if r["doc"].get("form") == "household_visit")
        parent = doc["_rev"].split("-", 1)[1]
        twins = [{**doc, "_rev": f"2-{h * 32}", "_revisions": {"start": 2, "ids": [h * 32, parent]},
                  "data": {**doc["data"], "bag": bag}} for h, bag in (("a", "3-р баг"), ("b", "4-р баг"))]
        assert db.bulk_docs([check_doc(t, new_edits=False) for t in twins], new_edits=False) == []
    finally:
        store.close()
    finished(device.pull(url(server, "ganzorig"), batch_size=50))
    assert device.get(doc["_id"], conflicts=True).get("_conflicts")
    before = device.revs()
    old = {i for i in before if i.startswith("uvs-naranbulag:")}
    assert len(old) > 20
    on_server = server_docs(server, "uvs-naranbulag")
    # Written in Naranbulag on the way out, not yet synced when the move happens.
    late = submission("uvs-naranbulag:sub:01KGANZLATE000000000000001", "household_visit", "ganzorig",
                      household_visit(random.Random(6)), "2026-10-04T10:00:00+08:00")
    assert device.put(late)["ok"]

    assert fieldsync(server, "user", "assign", "ganzorig", "--area", "uvs-zavkhan") == \
        "ganzorig now covers uvs-zavkhan\n"
    zavkhan = {i: r for i, r in visible_revs(server, "ganzorig").items() if i.startswith("uvs-zavkhan:")}
    assert zavkhan and any(sensitive_cases(server, "uvs-zavkhan"))

    report = device.sync(url(server, "ganzorig"), batch_size=50)
    result = finished(report, denied=1)
    assert report["denied"][0]["id"] == late["_id"]
    # The new soum from its beginning, and one deleted revision per document of the old one.
    assert result["pull"]["docs_written"] == len(zavkhan) + len(old) + 1  # the conflict: two leaves

    after = device.revs()
    assert {i: r for i, r in after.items() if i.startswith("uvs-zavkhan:")} == zavkhan
    assert not set(sensitive_cases(server, "uvs-zavkhan")) & set(after)  # oyunaa's cases stay hers
    assert not old & set(after)  # none of the old soum's documents is left on the device
    assert {i: after.get(i) for i in before if i not in old} == {i: r for i, r in before.items() if i not in old}
    assert late["_id"] in after  # his own unsent work is not taken: it is in the quarantine
    assert server_docs(server, "uvs-naranbulag") == on_server  # nothing changed on the server

    store = server.open_store()
    try:
        held = [e for e in Quarantine(store).list() if e["doc_id"] == late["_id"]]
    finally:
        store.close()
    assert len(held) == 1 and held[0]["user"] == "ganzorig"
    assert "not assigned to area 'uvs-naranbulag'" in held[0]["reasons"][0]["message"]

    # The sweep happens once: the next sync moves nothing.
    again = finished(device.sync(url(server, "ganzorig"), batch_size=50))
    assert again["pull"]["docs_written"] == 0 and again["push"]["docs_written"] == 0


def test_what_a_moved_worker_sends_back_deletes_nothing_on_the_server(server: FieldsyncPeer, pulled) -> None:
    """The tombstones the device received, sent back as a replicator would (with their history), and
    plain deletions of the old soum's documents: the server keeps every document as it was."""
    device = pulled["ganzorig"]
    on_server = server_docs(server, "uvs-naranbulag")
    store = server.open_store()
    try:
        winners = {r["id"]: r["doc"] for r in store.open("uvs-naranbulag").all_docs(include_docs=True)}
        with_history = {i: store.open("uvs-naranbulag").get(i, revs=True) for i in list(winners)[:10]}
    finally:
        store.close()
    # What the device holds now: the server's tombstone children, read back from the device.
    sent_back = []
    for docid in with_history:
        rows = device.changes(doc_ids=[docid], filter="_doc_ids", style="all_docs")["results"]
        assert len(rows) == 1 and rows[0]["deleted"] is True
        for change in rows[0]["changes"]:
            tomb = device.get(docid, rev=change["rev"], revs=True)
            assert tomb["_deleted"]
            parent = f"{tomb['_revisions']['start'] - 1}-{tomb['_revisions']['ids'][1]}"
            assert (parent, False) in on_server[docid]  # a child of a live leaf of the server's
            sent_back.append(tomb)
    sync_url = f"{server.root}/sync/ganzorig"
    auth = ("ganzorig", DEMO_PASSWORD)
    diff = requests.post(f"{sync_url}/_revs_diff", json={d["_id"]: [d["_rev"]] for d in sent_back}, auth=auth)
    assert diff.status_code == 200 and diff.json() == {}  # present: a replicator never sends them
    pushed = requests.post(f"{sync_url}/_bulk_docs", json={"docs": sent_back, "new_edits": False}, auth=auth)
    assert pushed.status_code == 201 and pushed.json() == []
    deletions = [{"_id": i, "_rev": d["_rev"], "_deleted": True} for i, d in with_history.items()]
    refused = requests.post(f"{sync_url}/_bulk_docs", json={"docs": deletions}, auth=auth).json()
    assert [r.get("error") for r in refused] == ["forbidden"] * len(deletions)
    forged = [{**t, "_revisions": {**t["_revisions"], "ids": ["0" * 32, *t["_revisions"]["ids"][1:]]},
               "_rev": f"{t['_revisions']['start']}-{'0' * 32}"} for t in sent_back[:3]]
    refused = requests.post(f"{sync_url}/_bulk_docs", json={"docs": forged, "new_edits": False}, auth=auth).json()
    assert [r.get("error") for r in refused] == ["forbidden"] * len(forged)
    # And the device's own push, after all that.
    finished(device.push(url(server, "ganzorig"), batch_size=50))
    assert server_docs(server, "uvs-naranbulag") == on_server


def test_a_worker_given_the_soum_back_gets_a_document_back_once_it_is_edited(server: FieldsyncPeer, pulled) -> None:
    """The documented limit: the device holds the server's revision as its tombstone's parent, so an
    unchanged document stays off it; the next edit on the server brings it back."""
    device = pulled["ganzorig"]
    assert fieldsync(server, "user", "assign", "ganzorig", "--area", "uvs-zavkhan", "--area", "uvs-naranbulag")
    store = server.open_store()
    try:
        visit = next(r["id"] for r in store.open("uvs-naranbulag").all_docs(include_docs=True)
                     if r["doc"].get("form") == "household_visit" and r["value"]["rev"].startswith("1-"))
    finally:
        store.close()
    finished(device.sync(url(server, "ganzorig"), batch_size=50))
    assert device.get_or_none(visit) is None
    admin = ("admin", DEMO_PASSWORD)
    doc = requests.get(f"{server.root}/db/uvs-naranbulag/{visit}", auth=admin).json()
    doc["data"]["bag"] = "2-р баг"
    edited = requests.put(f"{server.root}/db/uvs-naranbulag/{visit}", json=doc, auth=admin)
    assert edited.status_code == 201
    finished(device.sync(url(server, "ganzorig"), batch_size=50))
    back = device.get(visit)
    assert back["data"]["bag"] == "2-р баг" and back["_rev"] == edited.json()["rev"]
    assert not device.get(visit, conflicts=True).get("_conflicts")


def test_a_coordinator_made_a_worker_keeps_only_what_a_worker_sees(server: FieldsyncPeer, pulled) -> None:
    """Revocation on a role change: the cases of other workers (and their reviews) leave the device.

    The referrals whose cases she still coordinates stay (seen as their cases are); one stored
    before referrals opened their cases, without one, is a colleague's sensitive submission."""
    device = pulled["oyunaa"]
    alone = submission("uvs-tes:sub:01KNOCASEREFERRAL000000001", "child_protection_referral", "bolormaa",
                       protection_referral(random.Random(3)), "2026-10-14T10:00:00+08:00")
    store = server.open_store()
    try:
        assert "rev" in store.open("uvs-tes").bulk_docs([check_doc(alone, new_edits=True)])[0]
    finally:
        store.close()
    wait_until(lambda: finished(device.pull(url(server, "oyunaa"), batch_size=50)) and alone["_id"] in device.revs(),
               what="the referral without a case on her device")
    before = device.revs()
    tes = server_docs(server, "uvs-tes")
    admin = ("admin", DEMO_PASSWORD)
    demoted = requests.patch(f"{server.root}/api/users/oyunaa", json={"role": "worker"}, auth=admin)
    assert demoted.status_code == 200, demoted.text
    as_worker = visible_revs(server, "oyunaa")
    taken = set(before) - set(as_worker)
    assert taken and all(i.startswith(("uvs-tes:", "uvs-naranbulag:", "uvs-zavkhan:")) for i in taken)
    assert set(sensitive_cases(server, "uvs-tes")) & taken  # a colleague's referrals among them
    # The other gunicorn worker may still hold her account as it was for FIELDSYNC_CACHE_SECONDS
    # (1 s on CouchDB, docs/deploy.md), and a page it serves reads the area as her old role: her
    # device syncs again, as it would on its next trip, until it holds what a worker sees.
    def difference() -> dict[str, dict[str, str | None]]:
        finished(device.sync(url(server, "oyunaa"), batch_size=50))
        held = device.revs()
        return {i: {"device": held.get(i), "worker sees": as_worker.get(i)}
                for i in set(held) | set(as_worker) if held.get(i) != as_worker.get(i)}

    wait_until(difference, lambda diff: not diff, what="her device as a worker's (where it differs)",
               interval=1.0)
    assert device.revs() == as_worker
    assert server_docs(server, "uvs-tes") == tes


def test_a_forged_sequence_does_not_make_the_replica_offer_what_its_owner_never_had(server: FieldsyncPeer) -> None:
    """The sweep trusts only sequence entries the server signed for this owner: a worker who
    writes another soum, or another role, into her ``since`` learns no id and no revision."""
    auth = ("bolormaa", DEMO_PASSWORD)
    replica = f"{server.root}/sync/bolormaa"
    mine = decode_seq(requests.get(replica, auth=auth).json()["update_seq"])
    epoch, seq = mine["uvs-tes"]
    base, role, _mac = epoch.split("/")
    forgeries = [
        {**mine, "uvs-naranbulag": [epoch, 0]},  # her signature, another soum
        {**mine, "uvs-naranbulag": [f"{base}/worker", 0]},  # unsigned
        {**mine, "uvs-naranbulag": [f"{base}/sweep/{'0' * 16}", '[0, 0]']},
        {**mine, "uvs-tes": [f"{base}/coordinator/{'0' * 16}", seq]},  # a role she never had
    ]
    visible = set(visible_revs(server, "bolormaa"))
    for vector in forgeries:
        blob = base64.urlsafe_b64encode(json.dumps({s: list(e) for s, e in vector.items()}).encode())
        since = "0-" + blob.decode().rstrip("=")
        rows = requests.get(f"{replica}/_changes", params={"since": since, "style": "all_docs"}, auth=auth)
        assert rows.status_code == 200, rows.text
        assert {r["id"] for r in rows.json()["results"]} <= visible
        assert not any(r.get("deleted") for r in rows.json()["results"])



def test_a_disabled_workers_device_loses_her_areas_on_its_next_sync(server: FieldsyncPeer, pulled) -> None:
    """Revocation on disable (issue 17.8): her own replica, and nothing else, still opens to her right
    password or a session signed for her, as the replica of an account with no areas: the next sync
    takes every area off the device, her unsent work goes to the quarantine, the server is unchanged."""
    device = pulled["bolormaa"]
    finished(device.pull(url(server, "bolormaa"), batch_size=50))
    before = device.revs()
    tes = {i for i in before if i.startswith("uvs-tes:")}
    assert len(tes) > 20
    on_server = server_docs(server, "uvs-tes")
    late = submission("uvs-tes:sub:01KBOLORLATE00000000000001", "household_visit", "bolormaa",
                      household_visit(random.Random(8)), "2026-10-05T10:00:00+08:00")
    assert device.put(late)["ok"]
    app_session = requests.Session()  # the field app's device session, opened before she is disabled
    assert app_session.post(f"{server.root}/_session", json={"name": "bolormaa", "password": DEMO_PASSWORD,
                                                            "device": True}).status_code == 200
    admin = ("admin", DEMO_PASSWORD)
    disabled = requests.patch(f"{server.root}/api/users/bolormaa", json={"disabled": True}, auth=admin)
    assert disabled.status_code == 200, disabled.text
    try:
        mine = ("bolormaa", DEMO_PASSWORD)
        # Nowhere else: not a login, not an area's database, not the API, not another replica.
        assert requests.post(f"{server.root}/_session", json={"name": "bolormaa", "password": DEMO_PASSWORD}
                             ).status_code == 401
        for path in ("/db/uvs-tes", "/api/forms", "/sync/ganzorig", "/sync/bolormaa/../ganzorig"):
            assert requests.get(f"{server.root}{path}", auth=mine).status_code in (401, 403, 404), path
        assert requests.get(f"{server.root}/sync/bolormaa", auth=("bolormaa", "wrong-password")).status_code == 401
        fresh = app_session.get(f"{server.root}/sync/bolormaa/_changes")
        assert fresh.status_code == 200 and all(r["id"].startswith("global:") for r in fresh.json()["results"])

        report = device.sync(url(server, "bolormaa"), batch_size=50)
        result = finished(report, denied=1)
        assert report["denied"][0]["id"] == late["_id"]
        assert result["pull"]["docs_written"] == len(tes)  # one tombstone per document of Tes
        after = device.revs()
        assert not tes & set(after)
        assert {i: r for i, r in after.items() if i.startswith("global:")} == \
            {i: r for i, r in before.items() if i.startswith("global:")}
        assert late["_id"] in after  # her unsent visit stays on the device, and is kept on the server:
        store = server.open_store()
        try:
            held = [e for e in Quarantine(store).list() if e["doc_id"] == late["_id"]]
        finally:
            store.close()
        assert len(held) == 1 and held[0]["user"] == "bolormaa"
        assert server_docs(server, "uvs-tes") == on_server
        again = finished(device.sync(url(server, "bolormaa"), batch_size=50))  # the sweep happens once
        assert again["pull"]["docs_written"] == 0 and again["push"]["docs_written"] == 0
    finally:
        enabled = requests.patch(f"{server.root}/api/users/bolormaa", json={"disabled": False}, auth=admin)
        assert enabled.status_code == 200, enabled.text
    assert requests.get(f"{server.root}/sync/bolormaa", auth=("bolormaa", DEMO_PASSWORD)).json()["members"] != \
        [GLOBAL]
