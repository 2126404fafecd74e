"""The sync log counts requests in memory and writes them a moment later, in batches.

On both stores: what was recorded reaches the store by itself within the
flush interval, two processes' counts of the same device add up (their
writes conflict and are retried), and a pause longer than the gap closes
a session into a ``log:`` document. Counting off the request path must not
lose a request a reader in the same process asks about.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from eventual import wait_until
from servers import BACKENDS, couch_url_for

from sync import records
from sync.replica.synclog import SYNCLOG_SCOPE, SyncLog
from sync.stores.base import Store
from sync.stores.couchdb import CouchStore
from sync.stores.sqlite import SQLiteStore


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:
    if request.param == "sqlite":
        s: Store = SQLiteStore(tmp_path / "data")
    else:
        s = CouchStore(couch_url_for(request, request.param), prefix=f"slog{secrets.token_hex(4)}-")
    yield s
    if request.param != "sqlite":
        for name in s.names():
            s.delete(name)
    s.close()


def stored(store: Store, prefix: str = "cur:") -> list[dict]:
    return list(records.iter_docs(store.open(SYNCLOG_SCOPE), prefix))


def settled(store: Store, prefix: str, ok) -> list[dict]:
    """The stored rows once ``ok`` holds: on a cluster a range read right after the flush can
    come from a copy the write has not reached yet."""
    return wait_until(lambda: stored(store, prefix), ok, what=f"the sync log's {prefix} rows")


def test_requests_reach_the_store_by_themselves_within_the_interval(store: Store) -> None:
    log = SyncLog(store, flush_seconds=0.2)
    for n in range(5):
        log.record("sukh", user_agent="PouchDB/9", device_id="tablet-7", read=n, written=1, refused=0)
    log.record("naraa", user_agent="PouchDB/9", device_id=None, read=0, written=0, refused=2)
    deadline = time.monotonic() + 10
    while len(stored(store)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    docs = {d["user"]: d for d in stored(store)}
    assert (docs["sukh"]["requests"], docs["sukh"]["read"], docs["sukh"]["written"]) == (5, 10, 5)
    assert docs["sukh"]["device"] == "tablet-7" and docs["sukh"]["user_agent"] == "PouchDB/9"
    assert (docs["naraa"]["requests"], docs["naraa"]["refused"]) == (1, 2)


def test_two_processes_counting_one_device_add_up(store: Store) -> None:
    # Two app servers (or gunicorn workers) each count their share of one device's
    # requests; both write the same open session, and neither count is lost.
    one, two = SyncLog(store, flush_seconds=60), SyncLog(store, flush_seconds=60)
    for _ in range(3):
        one.record("sukh", user_agent="ua", device_id="d1", read=1)
        two.record("sukh", user_agent="ua", device_id="d1", written=2)
    one.flush()
    two.flush()
    one.record("sukh", user_agent="ua", device_id="d1", read=1)
    one.flush()
    [doc] = settled(store, "cur:", lambda docs: len(docs) == 1 and docs[0]["requests"] == 7)
    assert (doc["requests"], doc["read"], doc["written"]) == (7, 4, 6)


def test_a_reader_in_the_same_process_sees_every_request(store: Store) -> None:
    log = SyncLog(store, flush_seconds=60)  # nothing written by the background thread in time
    log.record("sukh", user_agent="ua", device_id="d1", read=3, pulled=True)  # a pull: a sync
    [session] = list(log.sessions("sukh"))
    assert session["requests"] == 1 and session["read"] == 3
    assert "sukh" in log.last_sync()


def test_a_pause_longer_than_the_gap_closes_the_session(store: Store) -> None:
    log = SyncLog(store, gap_seconds=0, flush_seconds=60)
    log.record("sukh", user_agent="ua", device_id="d1", read=1)
    log.flush()
    time.sleep(0.01)
    log.record("sukh", user_agent="ua", device_id="d1", read=5)
    log.flush()
    [closed] = settled(store, "log:sukh:", lambda docs: len(docs) == 1)
    [current] = settled(store, "cur:sukh:", lambda docs: len(docs) == 1 and docs[0]["read"] == 5)
    assert (closed["requests"], closed["read"]) == (1, 1)
    assert (current["requests"], current["read"]) == (1, 5)
    assert current["started_at"] > closed["started_at"]
