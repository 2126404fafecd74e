"""What an app server may remember between requests, and for how long.

On the CouchDB store every read is a round trip, so an app server remembers a
verified Basic login, an account and the form list for ``FIELDSYNC_CACHE_SECONDS``
(the store's ``default_cache_seconds``: 1 s on CouchDB, 0 on SQLite). A change
made through the same app is seen at once; one made elsewhere (another app
server, the command line) within that bound. These tests run the cache on
SQLite files, where the bound can be shown with a command-line change, and
count the store reads a request costs; one runs on Apache CouchDB, whose
followed changes feeds end a remembered account as soon as they show a change.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from unittest.mock import patch

import pytest
from eventual import wait_until
from flask import Flask
from servers import couch_url_for
from test_auth import ADMIN, SECRET, basic, cli

from server import create_app
from server.auth import Authenticator
from server.config import Settings
from server.services import Services
from sync import records
from sync.accounts.throttle import AUTH_SCOPE, LoginThrottle
from sync.accounts.users import USERS_SCOPE, UserDirectory
from sync.demo import household_visit, submission
from sync.forms import FormRegistry
from sync.ids import new_ulid
from sync.stores.couchdb import CouchStore
from sync.stores.sqlite import SQLiteStore
from sync.ttl_cache import TtlCache

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "tes-soum-2026"
CACHE = 1.0


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(data_dir: Path) -> Flask:
    app = create_app(Settings(data_dir=data_dir, admin=ADMIN, secret_key=SECRET, cache_seconds=CACHE))
    app.testing = True
    svc: Services = app.extensions["fieldsync"]
    svc.areas.add("uvs-tes", name_en="Tes soum", level="soum", holds_data=True)
    for name in ("bolormaa", "ganzorig"):
        svc.users.add(name, "worker", ["uvs-tes"], PASSWORD)
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=1, first_delay=60)
    return app


def count_reads(svc: Services) -> dict[str, int]:
    """Count the account reads and login-counter reads the app makes from now on."""
    counts = {"account": 0, "counters": 0}
    read_account, read_counters = svc.users._doc, svc.auth.throttle.status

    def account(name):
        counts["account"] += 1
        return read_account(name)

    def counters(keys):
        counts["counters"] += 1
        return read_counters(keys)

    svc.users._doc, svc.auth.throttle.status = account, counters
    return counts


def test_the_stores_choose_their_bound() -> None:
    assert CouchStore.default_cache_seconds == 1.0
    assert SQLiteStore.default_cache_seconds == 0.0
    assert Settings.from_env({"FIELDSYNC_CACHE_SECONDS": "2.5"}).cache_seconds == 2.5
    assert Settings.from_env({}).cache_seconds is None
    with pytest.raises(ValueError, match="FIELDSYNC_CACHE_SECONDS"):
        Settings.from_env({"FIELDSYNC_CACHE_SECONDS": "-1"})


def test_a_replicators_stream_of_requests_reads_the_account_once_per_bound(app: Flask) -> None:
    svc: Services = app.extensions["fieldsync"]
    client = app.test_client()
    counts = count_reads(svc)
    for _ in range(20):
        assert client.get("/sync/bolormaa", headers=basic("bolormaa", PASSWORD)).status_code == 200
    assert counts == {"account": 1, "counters": 1}
    time.sleep(CACHE + 0.05)
    assert client.get("/sync/bolormaa", headers=basic("bolormaa", PASSWORD)).status_code == 200
    assert counts == {"account": 2, "counters": 2}


def test_a_wrong_password_is_never_remembered(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/sync/bolormaa", headers=basic("bolormaa", "not-her-password")).status_code == 401
    assert client.get("/sync/bolormaa", headers=basic("bolormaa", PASSWORD)).status_code == 200
    assert client.get("/sync/bolormaa", headers=basic("bolormaa", "not-her-password")).status_code == 401


def test_a_change_through_this_app_holds_at_once(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/sync/bolormaa", headers=basic("bolormaa", PASSWORD)).status_code == 200
    off = client.patch("/api/users/bolormaa", json={"disabled": True}, headers=basic(*ADMIN))
    assert off.status_code == 200
    # Her replica now has no areas: it opens only to take them off her device (server/auth.py).
    assert client.get("/sync/bolormaa", headers=basic("bolormaa", PASSWORD)).json["members"] == ["global"]


def test_a_change_made_elsewhere_holds_within_the_bound(app: Flask, data_dir: Path) -> None:
    client = app.test_client()
    assert client.get("/sync/ganzorig", headers=basic("ganzorig", PASSWORD)).status_code == 200
    assert cli(data_dir, "user", "disable", "ganzorig").output == "disabled ganzorig\n"
    disabled_at = time.monotonic()
    # The app still goes by what it read (this is the cache: not a wish, a fact to bound)...
    assert client.get("/sync/ganzorig", headers=basic("ganzorig", PASSWORD)).json["members"] != ["global"]
    time.sleep(max(0.0, CACHE + 0.05 - (time.monotonic() - disabled_at)))
    # ...and no longer once the bound has passed: his replica has no areas left.
    assert client.get("/sync/ganzorig", headers=basic("ganzorig", PASSWORD)).json["members"] == ["global"]


def test_a_remembered_login_keeps_working_while_guesses_at_its_name_wait(app: Flask) -> None:
    """Failures make the name wait at once for a guesser; the device that showed the
    right password is not made to wait (there is no lock-out to apply to it)."""
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "10.0.9.1"
    assert owner.get("/sync/bolormaa", headers=basic("bolormaa", PASSWORD)).status_code == 200
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "10.0.9.2"
    statuses = [attacker.get("/sync/bolormaa", headers=basic("bolormaa", f"guessing-{i}")).status_code
                for i in range(3)]
    assert statuses == [401, 429, 429]
    assert owner.get("/sync/bolormaa", headers=basic("bolormaa", PASSWORD)).status_code == 200


def test_ttl_cache_forgets_after_its_seconds_and_on_demand() -> None:
    cache = TtlCache(0.2)
    cache.put(("a", 1), "x")
    cache.put(("b", 1), "y")
    cache.put(("c", 1), None)  # nothing to remember: a miss is read again
    assert cache.get(("a", 1)) == "x" and cache.get(("c", 1)) is None
    cache.drop_where(lambda key: key[0] == "b")
    assert cache.get(("b", 1)) is None and cache.get(("a", 1)) == "x"
    time.sleep(0.25)
    assert cache.get(("a", 1)) is None
    off = TtlCache(0)
    off.put("k", "v")
    assert not off and off.get("k") is None


def test_ttl_cache_stays_bounded() -> None:
    cache = TtlCache(60, max_entries=10)
    for i in range(25):
        cache.put(i, i)
    assert len(cache._entries) <= 10
    assert cache.get(24) == 24


def test_a_form_published_elsewhere_is_accepted_at_once_and_looked_up_once_per_batch(app: Flask) -> None:
    """The form list is remembered too, but a version it does not know is asked for again
    (once per batch, however many submissions name it) before anything is refused. It is
    read by id, not through the list: on a CouchDB cluster a list may come from a copy
    that lags the publish, a read by id waits for a quorum."""
    svc: Services = app.extensions["fieldsync"]
    definition = json.loads((REPO / "schemas" / "forms" / "household_visit.json").read_text("utf-8"))
    elsewhere = FormRegistry(svc.store)  # another app server's registry on the same store
    elsewhere.publish({**definition, "version": 1})
    svc.forms.snapshot()  # this app now remembers a list with version 1 only
    elsewhere.publish({**definition, "version": 2})
    reads = {"n": 0}
    read_doc = records.read

    def counted(db, docid):
        if docid.startswith("global:form:household_visit"):
            reads["n"] += 1
        return read_doc(db, docid)

    docs = [submission(f"uvs-tes:sub:{new_ulid()}", "household_visit", "bolormaa",
                       household_visit(random.Random(i)), "2026-10-05T09:00:00+08:00") for i in range(5)]
    for doc in docs:
        doc["form_version"] = 2
    arrived = time.monotonic()
    forms = svc.forms.snapshot()
    with patch.object(records, "read", counted):
        problems = [svc.forms.check_submission(doc, forms=forms, arrived=arrived) for doc in docs]
    assert problems == [[]] * 5
    assert reads["n"] == 1
    unknown = dict(docs[0], form_version=9)
    assert svc.forms.check_submission(unknown)[0]["field"] == "form_version"


def test_on_couchdb_a_role_changed_elsewhere_holds_once_the_change_is_seen(request: pytest.FixtureRequest) -> None:
    """Two app servers on one Apache CouchDB, each remembering accounts for a minute: a login is
    kept while ``_users`` is unchanged, and once this server sees the change made through the
    other, the next login reads the account again, not the minute-old copy it remembered (which
    it then kept under the new marker for good: a coordinator made worker synced on as one)."""
    url = couch_url_for(request, "couchdb")
    prefix = f"authc{new_ulid()[-8:].lower()}-"
    servers = []
    for _ in range(2):
        store = CouchStore(url, prefix=prefix)
        users = UserDirectory(store, SECRET, cache_seconds=60)
        servers.append((store, users, Authenticator(users, LoginThrottle(store), SECRET, cache_seconds=60)))
    (here, here_users, auth), (there, there_users, _) = servers
    try:
        there_users.add("oyunaa", "coordinator", ["uvs-tes"], PASSWORD)
        here.ensure(AUTH_SCOPE)
        wait_until(lambda: here.change_marker([USERS_SCOPE, AUTH_SCOPE]), lambda m: m is not None,
                   what="this server following _users and _auth")
        login = Flask(__name__).test_request_context("/", environ_base={"REMOTE_ADDR": "10.0.9.1"})
        with login:
            assert auth.login("oyunaa", PASSWORD).role == "coordinator"
            assert here_users.account("oyunaa")["role"] == "coordinator"  # remembered for a minute
            there_users.update("oyunaa", role="worker")
            wait_until(lambda: auth.login("oyunaa", PASSWORD).role, lambda role: role == "worker",
                       what="her login as a worker on this server", timeout=20)
            assert here_users.account("oyunaa")["role"] == "worker"
    finally:
        for name in there.names():
            there.delete(name)
        for store, _, _ in servers:
            store.close()
