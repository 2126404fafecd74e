"""Writing what you may not: every write endpoint against every way of being refused.

A refused write is answered ``401``, ``403`` or ``404`` (or, inside a
``_bulk_docs`` batch, CouchDB's per-document ``forbidden``), tells nothing of
the document it aimed at, and leaves the store exactly as it was: the target
scope's update sequence, the document's revision, body and photo, checked by
reading the scope straight from the store after each attempt.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from conftest import Caller as Writer
from conftest import Secret, World, basic, session_cookie

# refusal: 401/403 for every attempt; 0: the replica answers per attempt (see WRITES)
WRITERS = {
    "no credentials": Writer(lambda w: {}, "bolormaa", "case", 401),
    "a wrong password": Writer(lambda w: basic("bolormaa", "not-her-password"), "bolormaa", "case", 401),
    # A disabled account's own replica has no areas (server/auth.py, retired_owner): the gate refuses.
    "a disabled user": Writer(lambda w: basic("dorj"), "dorj", "case", 0),
    "a disabled user's open session": Writer(lambda w: session_cookie(w.disabled_cookie), "dorj", "case", 0),
    "another user's replica": Writer(lambda w: basic("bolormaa"), "tuya", "case", 403),
    "a document of another area": Writer(lambda w: basic("bolormaa"), "bolormaa", "other_area", 0),
    "another author's sensitive case": Writer(lambda w: basic("bolormaa"), "bolormaa", "case", 0),
    "the review of that case": Writer(lambda w: basic("bolormaa"), "bolormaa", "review", 0),
    "a coordinator of another aimag": Writer(lambda w: basic("oyunaa"), "oyunaa", "other_aimag", 0,
                                             ("other_aimag", "checkpoint")),
}


def q(docid: str) -> str:
    return quote(docid, safe="")


def forged(secret: Secret) -> dict:
    """What an intruder would put in place of the document: their own words, their name."""
    return {"_id": secret.id, "_rev": secret.rev, "type": "submission", "form": "household_visit",
            "form_version": 1, "author": "bolormaa", "data": {"remarks": "overwritten"}}


def replicated(secret: Secret) -> dict:
    """A revision as a replicator pushes it (new_edits=false), on top of the real one."""
    gen, rev_id = secret.rev.split("-", 1)
    return {**forged(secret), "_rev": f"{int(gen) + 1}-{'e' * 32}",
            "_revisions": {"start": int(gen) + 1, "ids": ["e" * 32, rev_id]}}


@dataclass(frozen=True)
class Write:
    build: Callable[[str, Secret], tuple[str, str, dict]]
    # The status inside one's own replica: 403 where the write gate decides; an attachment
    # edit first reads the document, which is not there for this user: 409, as for any
    # document that does not exist.
    inside: int
    per_document: bool = False  # a _bulk_docs answer: 201 with a forbidden entry


PHOTO = {"data": b"\xff\xd8 a different photo", "content_type": "image/jpeg"}
WRITES = {
    "PUT doc": Write(lambda p, s: ("PUT", f"{p}/{q(s.id)}", {"json": forged(s)}), 403),
    "PUT doc?new_edits=false": Write(lambda p, s: ("PUT", f"{p}/{q(s.id)}", {
        "json": replicated(s), "query_string": {"new_edits": "false"}}), 403),
    "PUT doc, no rev": Write(lambda p, s: ("PUT", f"{p}/{q(s.id)}", {
        "json": {k: v for k, v in forged(s).items() if k != "_rev"}}), 403),
    "POST doc": Write(lambda p, s: ("POST", f"{p}/", {"json": forged(s)}), 403),
    "DELETE doc": Write(lambda p, s: ("DELETE", f"{p}/{q(s.id)}", {"query_string": {"rev": s.rev}}), 403),
    "PUT attachment": Write(lambda p, s: ("PUT", f"{p}/{q(s.id)}/photo.jpg", {
        "query_string": {"rev": s.rev}, **PHOTO}), 409),
    "PUT new attachment": Write(lambda p, s: ("PUT", f"{p}/{q(s.id)}/evidence.jpg", {
        "query_string": {"rev": s.rev}, **PHOTO}), 409),
    "DELETE attachment": Write(lambda p, s: ("DELETE", f"{p}/{q(s.id)}/photo.jpg", {
        "query_string": {"rev": s.rev}}), 409),
    "_bulk_docs": Write(lambda p, s: ("POST", f"{p}/_bulk_docs", {"json": {"docs": [forged(s)]}}), 201, True),
    "_bulk_docs deleting": Write(lambda p, s: ("POST", f"{p}/_bulk_docs", {
        "json": {"docs": [{"_id": s.id, "_rev": s.rev, "_deleted": True}]}}), 201, True),
    "_bulk_docs new_edits=false": Write(lambda p, s: ("POST", f"{p}/_bulk_docs", {
        "json": {"docs": [replicated(s)], "new_edits": False}}), 201, True),
    "_bulk_docs new_edits=false, a conflicting branch": Write(lambda p, s: ("POST", f"{p}/_bulk_docs", {
        "json": {"docs": [{**replicated(s), "_rev": "1-" + "d" * 32, "_revisions": {"start": 1, "ids": ["d" * 32]}}],
                 "new_edits": False}}), 201, True),
    "_bulk_docs with a photo": Write(lambda p, s: ("POST", f"{p}/_bulk_docs", {"json": {"docs": [{
        **forged(s), "_attachments": {"photo.jpg": {"content_type": "image/jpeg",
                                                    "data": base64.b64encode(b"other").decode()}}}]}}), 201, True),
}


def snapshot(world: World, secret: Secret) -> tuple:
    """The target scope as the store holds it: its sequence, the document, its photo bytes."""
    db = world.svc.store.open(secret.scope)
    doc = db.get(secret.id, attachments=True, revs=True, conflicts=True, deleted_conflicts=True)
    leaves = db.open_revs(secret.id, None)
    return db.update_seq(), db.info()["doc_count"], doc, leaves


def attempt(world: World, writer: Writer, method: str, path: str, options: dict):
    options = dict(options)
    headers = {**writer.headers(world), **options.pop("headers", {})}
    response = world.client().open(path, method=method, headers=headers, **options)
    body = response.get_data()
    response.close()
    return response.status_code, body


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
@pytest.mark.parametrize("writer", WRITERS.values(), ids=WRITERS.keys())
def test_a_refused_write_changes_nothing_and_tells_nothing(world: World, writer: Writer, write: Write) -> None:
    secret = world.secrets[writer.secret]
    before = snapshot(world, secret)

    status, body = attempt(world, writer, *write.build(f"/sync/{writer.replica}", secret))

    assert snapshot(world, secret) == before
    assert status == (writer.refusal or write.inside)
    if status == 409:
        ghost = Secret(secret.scope, secret.ghost, secret.rev)
        ghost_status, ghost_body = attempt(world, writer, *write.build(f"/sync/{writer.replica}", ghost))
        assert (status, body) == (ghost_status, ghost_body)
    if status == 201:
        answer = json.loads(body)
        assert [(r["id"], r["error"]) for r in answer] == [(secret.id, "forbidden")]
    text = body.decode("utf-8", errors="replace")
    for leak in world.must_not_leak(writer.hidden):
        assert leak not in text, f"{leak!r} leaked in {text[:300]!r}"


@pytest.mark.parametrize("who", [
    ({}, 401), (basic("bolormaa"), 403), (basic("oyunaa"), 403), (basic("dorj"), 401),
], ids=["no credentials", "a worker", "a coordinator", "a disabled user"])
@pytest.mark.parametrize("build", [
    lambda s: ("PUT", f"/db/{s.scope}/{q(s.id)}", {"json": forged(s)}),
    lambda s: ("DELETE", f"/db/{s.scope}/{q(s.id)}", {"query_string": {"rev": s.rev}}),
    lambda s: ("POST", f"/db/{s.scope}/_bulk_docs", {"json": {"docs": [replicated(s)], "new_edits": False}}),
    lambda s: ("PUT", f"/db/{s.scope}/{q(s.id)}/photo.jpg", {"query_string": {"rev": s.rev}, **PHOTO}),
    lambda s: ("DELETE", f"/db/{s.scope}", {}),
    lambda s: ("PUT", f"/db/{s.scope}/_revs_limit", {"data": "1", "content_type": "application/json"}),
    lambda s: ("PUT", f"/db/_users/{q('user:bolormaa')}", {"json": {"name": "bolormaa", "role": "admin"}}),
], ids=["PUT doc", "DELETE doc", "_bulk_docs", "PUT attachment", "DELETE database", "_revs_limit",
        "promote oneself"])
def test_only_admins_write_scope_databases(world: World, who, build) -> None:
    headers, refusal = who
    secret = world.secrets["case"]
    before = snapshot(world, secret)
    users_before = world.svc.store.open("_users").update_seq()
    status, body = attempt(world, Writer(lambda w: headers, "", "case", refusal), *build(secret))
    assert status == refusal
    assert snapshot(world, secret) == before
    assert world.svc.store.open("_users").update_seq() == users_before
    assert world.svc.users.get("bolormaa").role == "worker"
    assert b"MARKER" not in body


def test_nothing_refused_was_lost_either(world: World) -> None:
    """The write gate keeps what it refuses from a signed-in user, for coordinators to look at."""
    secret = world.secrets["case"]
    attempt(world, WRITERS["another author's sensitive case"], "POST", "/sync/bolormaa/_bulk_docs",
            {"json": {"docs": [{**forged(secret), "data": {"remarks": "kept for review"}}]}})
    held = [e for e in world.svc.quarantine.list() if e.get("user") == "bolormaa" and e["doc_id"] == secret.id
            and e["doc"].get("data") == {"remarks": "kept for review"}]
    assert len(held) == 1
    assert held[0]["reasons"][0]["message"].endswith("belongs to another user; you cannot change it.")
