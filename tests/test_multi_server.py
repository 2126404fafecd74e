"""Two app servers on one store serve the same users consistently.

fieldsync keeps no state outside the store (DESIGN.md, Scopes), so separate
gunicorn processes, each with several workers, behave as one server: a session
cookie issued by one is honoured by the other, a write through one is in the
other's ``_changes`` at once (on a cluster, once the copy the other reads from
has it: milliseconds), and a user disabled through one is refused by the other.

Each test runs on both stores: one SQLite data directory shared by the two
servers, and one CouchDB-compatible server (the session's ``couchdb_url``)
whose databases both servers reach with the same prefix.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from contextlib import ExitStack

import pytest
import requests
from eventual import wait_until
from servers import (
    BACKENDS,
    REPO,
    couch_url_for,
    couchdb_env,
    dropped_afterwards,
    fieldsync_bin,
    fieldsync_server,
)

from sync.demo import DEMO_PASSWORD, household_visit, protection_referral, submission
from sync.ids import new_ulid
from sync.stores.couchdb import CouchStore
from sync.stores.sqlite import SQLiteStore

WORKERS = 3  # per app server


@pytest.fixture(scope="module", params=BACKENDS)
def two_servers(request, tmp_path_factory):
    data = tmp_path_factory.mktemp("shared") / "data"
    # No FIELDSYNC_SECRET_KEY: both servers take the signing key from the store.
    shared: dict[str, str | None] = {"FIELDSYNC_SECRET_KEY": None}
    with ExitStack() as stack:
        # One store, one database prefix for both servers; on a cluster each server
        # talks to a node of its own, as app servers behind a load balancer would.
        own_node: list[dict[str, str | None]] = [{}, {}]
        if request.param != "sqlite":
            shared.update(couchdb_env(couch_url_for(request, request.param)))
            stack.enter_context(dropped_afterwards(shared))
            if request.param == "couchdb-cluster":
                nodes = request.getfixturevalue("couchdb_cluster_urls")
                own_node = [{"FIELDSYNC_COUCHDB_URL": nodes[0]}, {"FIELDSYNC_COUCHDB_URL": nodes[1]}]
        env = {k: v for k, v in {**os.environ, **shared}.items() if v is not None}
        subprocess.run([str(fieldsync_bin()), "demo", "--data", str(data)], env=env, check=True,
                       capture_output=True, timeout=120)
        a, b = (stack.enter_context(fieldsync_server(data, extra_env={**shared, **node}, publish_forms=False,
                                                     workers=WORKERS)) for node in own_node)
        assert a.backend == b.backend == ("sqlite" if request.param == "sqlite" else "couchdb")
        if request.param != "sqlite":  # the demo really is in CouchDB, not in the data directory
            store = a.open_store()
            try:
                assert "uvs-tes" in store.names() and not list(data.glob("*.sqlite"))
            finally:
                store.close()
        yield a, b


def test_a_session_cookie_from_one_server_is_honoured_by_the_other(two_servers):
    a, b = two_servers
    login = requests.post(f"{a.root}/_session", json={"name": "bolormaa", "password": DEMO_PASSWORD})
    assert login.status_code == 200
    cookie = login.cookies["AuthSession"]
    who = requests.get(f"{b.root}/_session", cookies={"AuthSession": cookie}).json()
    assert who["userCtx"]["name"] == "bolormaa"
    feed = requests.get(f"{b.root}/sync/bolormaa/_changes?limit=1", cookies={"AuthSession": cookie})
    assert feed.status_code == 200


def test_a_write_through_one_is_in_the_others_changes_at_once(two_servers):
    a, b = two_servers
    auth = ("bolormaa", DEMO_PASSWORD)
    since = requests.get(f"{b.root}/sync/bolormaa", auth=auth).json()["update_seq"]
    doc = submission(f"uvs-tes:sub:{new_ulid()}", "household_visit", "bolormaa",
                     household_visit(random.Random(3)), "2026-10-03T09:00:00+08:00")
    put = requests.put(f"{a.root}/sync/bolormaa/{doc['_id']}", json=doc, auth=auth)
    assert put.status_code == 201, put.text
    # At once on one store; on a cluster, whose servers talk to different nodes, a read through
    # B may come for some milliseconds from a copy that lacks the write: B is asked again then,
    # as a device would sync again.
    patience = 20.0 if a.env.get("FIELDSYNC_COUCHDB_URL") != b.env.get("FIELDSYNC_COUCHDB_URL") else 0.0
    feed = wait_until(
        lambda: requests.get(f"{b.root}/sync/bolormaa/_changes", params={"since": since}, auth=auth).json(),
        lambda answer: [r["id"] for r in answer["results"]] == [doc["_id"]],
        what="the write through A in B's feed", timeout=patience)
    # A long-poll waiting on B wakes for a write through A (another process entirely).
    since = feed["last_seq"]
    doc2 = dict(doc, _id=f"uvs-tes:sub:{new_ulid()}")
    with requests.Session() as s:
        result = {}

        def wait() -> None:
            result["feed"] = s.get(f"{b.root}/sync/bolormaa/_changes",
                                   params={"since": since, "feed": "longpoll", "timeout": 10000},
                                   auth=auth, timeout=20).json()

        waiter = threading.Thread(target=wait)
        waiter.start()
        requests.put(f"{a.root}/sync/bolormaa/{doc2['_id']}", json=doc2, auth=auth).raise_for_status()
        waiter.join(20)
    assert [r["id"] for r in result["feed"]["results"]] == [doc2["_id"]]


def cache_bound(server) -> float:
    """How long an app server on this store may go on using an account it read (Store.default_cache_seconds)."""
    return (CouchStore if server.backend == "couchdb" else SQLiteStore).default_cache_seconds


def test_a_user_disabled_through_one_is_refused_by_the_other(two_servers):
    """At once on SQLite; on CouchDB within the store's cache bound (one second).

    On CouchDB each read is a round trip, so an app server remembers a verified
    login for ``default_cache_seconds`` rather than re-reading the account and
    the login counters on every request of a replication (DESIGN.md, Accounts).
    """
    a, b = two_servers
    bound = cache_bound(b)
    assert bound == (1.0 if b.backend == "couchdb" else 0.0)
    auth = ("ganzorig", DEMO_PASSWORD)
    login = requests.post(f"{b.root}/_session", json={"name": "ganzorig", "password": DEMO_PASSWORD})
    cookie = {"AuthSession": login.cookies["AuthSession"]}
    for _ in range(2 * WORKERS):  # every worker of B has it fresh in memory, if it keeps anything
        assert requests.get(f"{b.root}/sync/ganzorig", auth=auth).status_code == 200
        assert requests.get(f"{b.root}/sync/ganzorig", cookies=cookie).status_code == 200
    off = requests.patch(f"{a.root}/api/users/ganzorig", json={"disabled": True},
                         auth=("admin", DEMO_PASSWORD))
    assert off.status_code == 200, off.text
    time.sleep(bound + 0.1 if bound else 0)
    for _ in range(2 * WORKERS):  # on every worker of B, by request and by session cookie
        # His replica has no areas left: it opens only so that his device's next sync takes them off.
        assert requests.get(f"{b.root}/sync/ganzorig", auth=auth).json()["members"] == ["global"]
        assert requests.get(f"{b.root}/sync/ganzorig", cookies=cookie).json()["members"] == ["global"]
        assert requests.get(f"{b.root}/_session", auth=auth).status_code == 401


def test_a_form_published_through_one_is_accepted_by_the_other_at_once(two_servers):
    """A version B does not know is looked up again before it is refused, cache or not."""
    a, b = two_servers
    auth = ("bolormaa", DEMO_PASSWORD)
    definition = json.loads((REPO / "schemas" / "forms" / "household_visit.json").read_text("utf-8"))
    doc = submission(f"uvs-tes:sub:{new_ulid()}", "household_visit", "bolormaa",
                     household_visit(random.Random(5)), "2026-10-05T09:00:00+08:00")
    assert requests.put(f"{b.root}/sync/bolormaa/{doc['_id']}", json=doc, auth=auth).status_code == 201
    version = max(f["version"] for f in requests.get(f"{a.root}/api/forms", auth=auth).json()
                  if f["form"] == "household_visit") + 1
    published = requests.post(f"{a.root}/api/forms", json={**definition, "version": version},
                              auth=("admin", DEMO_PASSWORD))
    assert published.status_code == 201, published.text
    newer = dict(doc, _id=f"uvs-tes:sub:{new_ulid()}", form_version=version)
    put = requests.put(f"{b.root}/sync/bolormaa/{newer['_id']}", json=newer, auth=auth)
    assert put.status_code == 201, put.text
    assert requests.get(f"{b.root}/sync/bolormaa/{newer['_id']}", auth=auth).json()["form_version"] == version


# -- live feeds re-check who may read them (issue 17.2) -----------------------------------------
# (account change made through A, the feed served by B, a submission written through A after it)
FEED_CUTS = {
    "disabled": ("worker", {"disabled": True}, "continuous", "household_visit"),
    "new-password": ("worker", {"password": "another-password-2"}, "longpoll", "household_visit"),
    "other-area": ("worker", {"areas": ["uvs-zavkhan"]}, "continuous", "household_visit"),
    # A coordinator sees every case of her area; made a worker, no longer another's referral.
    "coordinator-made-worker": ("coordinator", {"role": "worker"}, "continuous", "child_protection_referral"),
    "admin-disabled-on-db": ("admin", {"disabled": True}, "longpoll", "household_visit"),
}
CUT_WITHIN = 8.0  # seconds from the change to the feed's end (re-checks are 2 s apart at most)


def _follow(url: str, auth: tuple[str, str], params: dict, out: dict) -> None:
    """Read a streamed feed line by line, noting when it ends (it must end by itself)."""
    out["lines"] = []
    with requests.get(url, params=params, auth=auth, stream=True, timeout=(10, 60)) as resp:
        out["status"] = resp.status_code
        for line in resp.iter_lines(chunk_size=1):
            out["lines"].append(line.decode())
    out["ended"] = time.monotonic()


def _case(kind: str, author: str, key: int) -> dict:
    rng = random.Random(key)
    data = household_visit(rng) if kind == "household_visit" else protection_referral(rng)
    return submission(f"uvs-tes:sub:{new_ulid()}", kind, author, data, "2026-10-07T09:00:00+08:00")


@pytest.mark.parametrize("cut", sorted(FEED_CUTS))
def test_an_open_feed_served_by_one_ends_when_access_changes_through_the_other(two_servers, cut):
    """The issue's leak: a disabled (moved, demoted, re-passworded) user's open feed went on
    delivering new submissions, bodies included, for up to an hour."""
    a, b = two_servers
    role, change, feed, form = FEED_CUTS[cut]
    admin = ("admin", DEMO_PASSWORD)
    name = f"feed{random.randrange(10**6)}"
    auth = (name, "feed-password-1")
    made = requests.post(f"{a.root}/api/users", auth=admin, json={
        "name": name, "role": role, "areas": [] if role == "admin" else ["uvs-tes"], "password": auth[1]})
    assert made.status_code == 201, made.text
    path = "/db/uvs-tes/_changes" if role == "admin" else f"/sync/{name}/_changes"
    params = {"feed": feed, "since": "now", "include_docs": "true", "heartbeat": "500"}
    got: dict = {}
    follower = threading.Thread(target=_follow, args=(f"{b.root}{path}", auth, params, got), daemon=True)
    follower.start()
    wait_until(lambda: got.get("lines") is not None and got.get("status"), lambda s: s == 200,
               what="the feed open", timeout=20)
    time.sleep(0.6)  # a heartbeat has gone: the feed is waiting
    if feed == "continuous":  # the feed does deliver such a submission while access holds
        before = _case(form, "bolormaa", 1)
        assert requests.put(f"{a.root}/db/uvs-tes/{before['_id']}", json=before, auth=admin).status_code == 201
        wait_until(lambda: "\n".join(got["lines"]), lambda text: before["_id"] in text,
                   what="the submission written before the change, in the feed", timeout=20)
        assert '"doc":{"_id":"' + before["_id"] in "\n".join(got["lines"])  # body included
    changed = requests.patch(f"{a.root}/api/users/{name}", json=change, auth=admin)
    assert changed.status_code == 200, changed.text
    at = time.monotonic()
    after = _case(form, "bolormaa", 2)
    assert requests.put(f"{a.root}/db/uvs-tes/{after['_id']}", json=after, auth=admin).status_code == 201
    follower.join(CUT_WITHIN + 5)
    assert not follower.is_alive(), f"the feed was still open {CUT_WITHIN + 5:.0f} s after the change"
    assert got["ended"] - at < CUT_WITHIN
    text = "\n".join(got["lines"])
    assert after["_id"] not in text, "a submission written after the change reached the feed"
    assert '"last_seq"' in text  # ended cleanly, at a position the client may resume from
    if cut != "coordinator-made-worker" and cut != "other-area":
        # Asked again, the server says no (on B, which remembers logins for its cache bound).
        time.sleep(cache_bound(b) + 0.1)
        again = requests.get(f"{b.root}{path}", params={"include_docs": "true"}, auth=auth)
        if cut == "disabled":  # her own replica opens with no areas, to take them off her device
            assert again.status_code == 200 and after["_id"] not in again.text, again.text
            assert all(r["id"].startswith("global:") for r in again.json()["results"]), again.text
        else:
            assert again.status_code in (401, 403), again.text
