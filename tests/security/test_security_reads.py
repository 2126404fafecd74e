"""Reading what you may not: every read endpoint against every way of being refused.

The table's rows are who asks (no credentials, a wrong password, a disabled
account, someone else's replica, a document of another area, another author's
sensitive case and its review, a coordinator of another aimag); its columns
are the endpoints a replicator reads through. Every cell must be refused
(``401``, ``403``, ``404``, or a ``200`` in which the document is missing) and
must reveal nothing: the answer about a secret document is the answer about a
document that never existed, byte for byte once the id is swapped, and none of
the secret's field values, photo bytes, revision or author appear in it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from conftest import ADMIN, Secret, World, basic, session_cookie
from conftest import Caller as Asker

# refusal: 401 or 403 for every endpoint; 404: inside the replica, the document is missing
ASKERS = {
    "no credentials": Asker(lambda w: {}, "bolormaa", "case", 401),
    "a wrong password": Asker(lambda w: basic("bolormaa", "not-her-password"), "bolormaa", "case", 401),
    # A disabled account's own replica still opens to its device, with no areas, so that the
    # device's next sync takes them off it (server/auth.py, retired_owner): nothing is in it.
    "a disabled user": Asker(lambda w: basic("dorj"), "dorj", "case", 404),
    "a disabled user's open session": Asker(lambda w: session_cookie(w.disabled_cookie), "dorj", "case", 404),
    "another user's replica": Asker(lambda w: basic("bolormaa"), "tuya", "case", 403),
    "a document of another area": Asker(lambda w: basic("bolormaa"), "bolormaa", "other_area", 404),
    "another author's sensitive case": Asker(lambda w: basic("bolormaa"), "bolormaa", "case", 404),
    "the review of that case": Asker(lambda w: basic("bolormaa"), "bolormaa", "review", 404),
    # oyunaa coordinates Uvs: Tes's case and its review are hers to see, Kharkhorin's are not
    "a coordinator of another aimag": Asker(lambda w: basic("oyunaa"), "oyunaa", "other_aimag", 404,
                                            ("other_aimag", "checkpoint")),
}


@dataclass(frozen=True)
class Read:
    """One way to read a document: (method, path, options) from the replica path, id and rev."""

    build: Callable[[str, str, str], tuple[str, str, dict]]
    missing: int  # the status when the document is simply not there


def q(docid: str) -> str:
    return quote(docid, safe="")


READS = {
    "GET doc": Read(lambda p, i, r: ("GET", f"{p}/{q(i)}", {}), 404),
    "HEAD doc": Read(lambda p, i, r: ("HEAD", f"{p}/{q(i)}", {}), 404),
    "GET doc?rev&revs_info&meta": Read(lambda p, i, r: ("GET", f"{p}/{q(i)}", {"query_string": {
        "rev": r, "revs_info": "true", "meta": "true"}}), 404),
    "GET doc?attachments": Read(lambda p, i, r: ("GET", f"{p}/{q(i)}", {
        "query_string": {"attachments": "true"}, "headers": {"Accept": "multipart/related"}}), 404),
    "GET doc?open_revs=all": Read(lambda p, i, r: ("GET", f"{p}/{q(i)}", {"query_string": {
        "open_revs": "all", "revs": "true"}}), 404),
    "GET doc?open_revs=all multipart": Read(lambda p, i, r: ("GET", f"{p}/{q(i)}", {
        "query_string": {"open_revs": "all"}, "headers": {"Accept": "multipart/mixed"}}), 404),
    "GET doc?open_revs=[rev]": Read(lambda p, i, r: ("GET", f"{p}/{q(i)}", {"query_string": {
        "open_revs": json.dumps([r]), "latest": "true"}}), 200),
    "GET attachment": Read(lambda p, i, r: ("GET", f"{p}/{q(i)}/photo.jpg", {}), 404),
    "HEAD attachment": Read(lambda p, i, r: ("HEAD", f"{p}/{q(i)}/photo.jpg", {}), 404),
    "GET attachment?rev": Read(lambda p, i, r: ("GET", f"{p}/{q(i)}/photo.jpg", {"query_string": {"rev": r}}), 404),
    "_bulk_get": Read(lambda p, i, r: ("POST", f"{p}/_bulk_get", {
        "query_string": {"revs": "true", "attachments": "true"},
        "json": {"docs": [{"id": i}, {"id": i, "rev": r}, {"id": i, "rev": r, "atts_since": [r]}]}}), 200),
    "_all_docs?keys": Read(lambda p, i, r: ("GET", f"{p}/_all_docs", {"query_string": {
        "keys": json.dumps([i]), "include_docs": "true", "conflicts": "true"}}), 200),
    "POST _all_docs keys": Read(lambda p, i, r: ("POST", f"{p}/_all_docs", {
        "json": {"keys": [i]}, "query_string": {"include_docs": "true"}}), 200),
    "_revs_diff": Read(lambda p, i, r: ("POST", f"{p}/_revs_diff", {"json": {i: [r, "2-" + "f" * 32]}}), 200),
}


def ask(world: World, asker: Asker, method: str, path: str, options: dict):
    options = dict(options)
    headers = {**asker.headers(world), **options.pop("headers", {})}
    response = world.client().open(path, method=method, headers=headers, **options)
    body = response.get_data()
    response.close()
    return response.status_code, body


def assert_reveals_nothing(world: World, secret: Secret, body: bytes, *, rev_asked: bool = False,
                           hidden: tuple[str, ...] | None = None) -> None:
    """No marker, author or password hash; nor the revision, unless the request named it itself."""
    text = body.decode("utf-8", errors="replace")
    leaks = world.must_not_leak(hidden)
    if secret.rev and not rev_asked:
        leaks.append(secret.rev.split("-", 1)[1])
    for leak in leaks:
        assert leak not in text, f"{leak!r} leaked in {text[:300]!r}"


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
@pytest.mark.parametrize("asker", ASKERS.values(), ids=ASKERS.keys())
def test_a_refused_read_answers_as_if_the_document_did_not_exist(world: World, asker: Asker, read: Read) -> None:
    secret = world.secrets[asker.secret]
    replica = f"/sync/{asker.replica}"
    status, body = ask(world, asker, *read.build(replica, secret.id, secret.rev))
    ghost_status, ghost_body = ask(world, asker, *read.build(replica, secret.ghost, secret.rev))

    expected = asker.refusal if asker.refusal != 404 else read.missing
    assert status == expected
    assert (status, body) == (ghost_status, ghost_body.replace(secret.ghost.encode(), secret.id.encode()))
    assert_reveals_nothing(world, secret, body, rev_asked=secret.rev in repr(read.build("", "", secret.rev)),
                           hidden=asker.hidden)
    if secret.id.encode() in body:  # only where the request named it, as CouchDB echoes ids
        assert read.missing == 200


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_the_owner_reads_the_same_secret_through_the_same_endpoints(world: World, read: Read) -> None:
    """The other side of the table: the refusals above are not an endpoint that is simply broken."""
    secret = world.secrets["case"]
    owner = ASKERS["another user's replica"]  # tuya's replica ...
    tuya = Asker(lambda w: basic("tuya"), owner.replica, "case", 200)  # ... opened by tuya herself
    method, path, options = read.build(f"/sync/{tuya.replica}", secret.id, secret.rev)
    status, body = ask(world, tuya, method, path, options)
    assert status == 200
    if method != "HEAD":
        assert secret.id.encode() in body or b"MARKER-CASE-PHOTO" in body


FEEDS = {
    "normal": {},
    "longpoll": {"feed": "longpoll", "timeout": "100"},
    "continuous": {"feed": "continuous", "timeout": "100"},
    "eventsource": {"feed": "eventsource", "timeout": "100"},
    "normal, style=all_docs": {"style": "all_docs", "conflicts": "true"},
    "since=now": {"since": "now", "feed": "longpoll", "timeout": "100"},
}


@pytest.mark.parametrize("params", FEEDS.values(), ids=FEEDS.keys())
@pytest.mark.parametrize("asker", ASKERS.values(), ids=ASKERS.keys())
def test_no_changes_feed_lists_a_refused_document(world: World, asker: Asker, params: dict) -> None:
    secret = world.secrets[asker.secret]
    path = f"/sync/{asker.replica}/_changes"
    status, body = ask(world, asker, "GET", path, {"query_string": {**params, "include_docs": "true",
                                                                      "attachments": "true"}})
    assert status == (200 if asker.refusal == 404 else asker.refusal)
    assert secret.id.encode() not in body
    assert_reveals_nothing(world, secret, body, hidden=asker.hidden)


@pytest.mark.parametrize("asker", ASKERS.values(), ids=ASKERS.keys())
def test_a_doc_ids_filter_naming_the_document_lists_nothing(world: World, asker: Asker) -> None:
    secret = world.secrets[asker.secret]
    status, body = ask(world, asker, "POST", f"/sync/{asker.replica}/_changes", {
        "query_string": {"filter": "_doc_ids", "include_docs": "true"}, "json": {"doc_ids": [secret.id]}})
    assert status == (200 if asker.refusal == 404 else asker.refusal)
    if status == 200:
        assert json.loads(body)["results"] == []
    assert secret.id.encode() not in body
    assert_reveals_nothing(world, secret, body, hidden=asker.hidden)


@pytest.mark.parametrize("asker", ASKERS.values(), ids=ASKERS.keys())
def test_all_docs_ranges_skip_the_document(world: World, asker: Asker) -> None:
    secret = world.secrets[asker.secret]
    for query in ({"include_docs": "true"}, {"key": json.dumps(secret.id), "include_docs": "true"},
                  {"startkey": json.dumps(secret.id), "limit": "1", "descending": "false"}):
        status, body = ask(world, asker, "GET", f"/sync/{asker.replica}/_all_docs", {"query_string": query})
        assert status == (200 if asker.refusal == 404 else asker.refusal)
        assert secret.id.encode() not in body
        assert_reveals_nothing(world, secret, body, hidden=asker.hidden)


# -- /db/<scope>: the scopes as they are, for admins only ------------------------------------------

DB_PATHS = {
    "database": lambda s: ("GET", f"/db/{s.scope}", {}),
    "document": lambda s: ("GET", f"/db/{s.scope}/{q(s.id)}", {}),
    "attachment": lambda s: ("GET", f"/db/{s.scope}/{q(s.id)}/photo.jpg", {}),
    "open_revs": lambda s: ("GET", f"/db/{s.scope}/{q(s.id)}", {"query_string": {"open_revs": "all"}}),
    "_changes": lambda s: ("GET", f"/db/{s.scope}/_changes", {"query_string": {"include_docs": "true"}}),
    "_all_docs": lambda s: ("GET", f"/db/{s.scope}/_all_docs", {"query_string": {"include_docs": "true"}}),
    "_bulk_get": lambda s: ("POST", f"/db/{s.scope}/_bulk_get", {"json": {"docs": [{"id": s.id}]}}),
    "_revs_diff": lambda s: ("POST", f"/db/{s.scope}/_revs_diff", {"json": {s.id: [s.rev]}}),
    "the users": lambda s: ("GET", f"/db/_users/{q('user:tuya')}", {}),
    "the checkpoints": lambda s: ("GET", f"/db/_checkpoints/_local/{q('ganzorig/ckpt')}", {}),
    "all users": lambda s: ("GET", "/db/_users/_all_docs", {"query_string": {"include_docs": "true"}}),
}
DB_ASKERS = {
    "no credentials": (lambda w: {}, 401),
    "a wrong password": (lambda w: basic("root", "not-the-password"), 401),
    "a disabled user": (lambda w: basic("dorj"), 401),
    "a worker of the area": (lambda w: basic("bolormaa"), 403),
    "a coordinator of the aimag": (lambda w: basic("oyunaa"), 403),
}


@pytest.mark.parametrize("build", DB_PATHS.values(), ids=DB_PATHS.keys())
@pytest.mark.parametrize("who", DB_ASKERS.values(), ids=DB_ASKERS.keys())
def test_scope_databases_are_for_admins_only(world: World, who, build) -> None:
    headers, refusal = who
    secret = world.secrets["case"]
    status, body = ask(world, Asker(headers, "", "case", refusal), *build(secret))
    assert status == refusal
    assert secret.id.encode() not in body and b"ganzorig" not in body
    assert_reveals_nothing(world, secret, body)
    admin_status, admin_body = ask(world, Asker(lambda w: basic(*ADMIN), "", "case", 200), *build(secret))
    assert admin_status == 200, admin_body[:200]


# -- _local checkpoints ------------------------------------------------------------------------------

LOCAL_PATHS = {
    "the owner's replica": ("ganzorig", "/sync/ganzorig/_local/ckpt", 403),
    "one's own replica, same id": ("bolormaa", "/sync/bolormaa/_local/ckpt", 404),
    "one's own replica, the stored id": ("bolormaa", f"/sync/bolormaa/_local/{q('ganzorig/ckpt')}", 404),
    "one's own replica, dot segments": ("bolormaa", f"/sync/bolormaa/_local/{q('../ganzorig/ckpt')}", 404),
    "one's own replica, ../ in the path": ("bolormaa", "/sync/bolormaa/_local/../../ganzorig/_local/ckpt", 404),
}


@pytest.mark.parametrize(("replica_of", "path", "refusal"), LOCAL_PATHS.values(), ids=LOCAL_PATHS.keys())
@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_a_checkpoint_is_its_users_alone(world: World, replica_of: str, path: str, refusal: int,
                                         method: str) -> None:
    options = {"json": {"last_seq": "overwritten"}} if method == "PUT" else {}
    if method == "DELETE":
        options["query_string"] = {"rev": "0-1"}
    for headers, expected in (({}, 401), (basic("bolormaa"), refusal)):
        if method == "PUT" and expected == 404:
            continue  # a PUT into one's own namespace simply writes one's own checkpoint
        status, body = ask(world, Asker(lambda w, h=headers: h, "", "checkpoint", expected), method, path, options)
        assert status == expected, body
        assert b"MARKER-CHECKPOINT" not in body
    kept = {d["_id"]: d for d in world.svc.store.open("_checkpoints").local_docs()}
    assert kept["_local/ganzorig/ckpt"]["last_seq"] == "MARKER-CHECKPOINT"


# -- /_session ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, 200),
    (basic("bolormaa", "not-her-password"), 401),
    (basic("dorj"), 401),
    (basic("nobody-at-all", "whatever-1"), 401),
], ids=["anonymous", "wrong password", "disabled user", "unknown user"])
def test_session_tells_nothing_to_a_stranger(world: World, headers: dict, expected: int) -> None:
    status, body = ask(world, Asker(lambda w: headers, "", "case", expected), "GET", "/_session", {})
    assert status == expected
    if status == 200:
        assert json.loads(body)["userCtx"] == {"name": None, "roles": []}
    assert b"dorj" not in body and b"bolormaa" not in body
    assert_reveals_nothing(world, world.secrets["case"], body)


@pytest.mark.parametrize("credentials", [
    {"name": "dorj", "password": "fieldsync-demo"},
    {"name": "bolormaa", "password": "not-her-password"},
    {"name": "tuya", "password": ""},
], ids=["disabled user", "wrong password", "empty password"])
def test_session_login_is_refused_without_a_cookie(world: World, credentials: dict) -> None:
    response = world.client().post("/_session", json=credentials)
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    assert_reveals_nothing(world, world.secrets["case"], response.get_data())
