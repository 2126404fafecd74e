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

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pouch import PouchReplica
from servers import BACKENDS, FieldsyncPeer, couch_url_for, fieldsync_demo_on

from sync.demo import DEMO_PASSWORD, household_visit, protection_referral, submission
from sync.gate.quarantine import Quarantine
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
            revs |= {i: d["_rev"] for i, d in docs.items() if account["role"] != "worker" or worker_sees(user, d, docs)}
        return revs
    finally:
        store.close()


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


def test_a_worker_moved_to_another_soum_gets_it_on_the_next_pull_and_loses_nothing(
    server: FieldsyncPeer, pulled
) -> None:
    device = pulled["ganzorig"]
    before = device.revs()
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
    assert result["pull"]["docs_written"] == len(zavkhan)  # the new soum from its beginning, nothing again

    after = device.revs()
    assert {i: r for i, r in after.items() if i.startswith("uvs-zavkhan:")} == zavkhan
    assert not set(sensitive_cases(server, "uvs-zavkhan")) & set(after)  # oyunaa's cases stay hers
    assert {i: after.get(i) for i in before} == before  # everything he had is still there
    assert late["_id"] in after

    store = server.open_store()
    try:
        held = [e for e in Quarantine(store).list() if e["doc_id"] == late["_id"]]
    finally:
        store.close()
    assert len(held) == 1 and held[0]["user"] == "ganzorig"
    assert "not assigned to area 'uvs-naranbulag'" in held[0]["reasons"][0]["message"]
