"""The CouchDB store's change markers come from followed changes feeds, at no round trip per ask.

A login on CouchDB is kept while the accounts and the login counters are
unchanged; the marker saying so must move when either database changes, from
this app server or another, and must not exist while the feed is not followed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from servers import COUCH_TARGETS, couch_url_for

from sync import records
from sync.stores.couchdb import CouchStore


@pytest.fixture(params=COUCH_TARGETS)
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[CouchStore, CouchStore]]:
    url = couch_url_for(request, request.param)
    prefix = f"watch{secrets.token_hex(4)}-"
    one, other = CouchStore(url, prefix=prefix), CouchStore(url, prefix=prefix)  # two app servers
    yield one, other
    for name in one.names():
        one.delete(name)
    one.close()
    other.close()


def live_marker(store: CouchStore, names: list[str], timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while (marker := store.change_marker(names)) is None:
        assert time.monotonic() < deadline, "the changes feeds were never followed"
        time.sleep(0.05)
    return marker


def moved(store: CouchStore, names: list[str], before, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while (marker := store.change_marker(names)) in (before, None):
        assert time.monotonic() < deadline, "the marker did not move after a write"
        time.sleep(0.02)
    return marker


def test_the_marker_moves_on_a_write_to_either_database_from_anywhere(stores) -> None:
    one, other = stores
    names = ["_users", "_auth"]
    for name in names:
        one.ensure(name)
    first = live_marker(one, names)
    time.sleep(0.3)
    assert one.change_marker(names) == first  # nothing written: nothing moves
    records.write(other.open("_auth"), {"_id": "fail:name:x", "count": 1})  # through another server
    second = moved(one, names, first)
    records.write(one.open("_users"), {"_id": "user:x", "name": "x"})
    moved(one, names, second)


def test_no_marker_while_a_database_cannot_be_followed(stores) -> None:
    one, _ = stores
    one.ensure("_users")
    assert one.change_marker(["_users", "_auth"]) is None  # _auth does not exist
    time.sleep(1.5)
    assert one.change_marker(["_users", "_auth"]) is None
    one.ensure("_auth")
    live_marker(one, ["_users", "_auth"])
