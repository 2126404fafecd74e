"""``global`` known unchanged without asking (sync.quiet), on Apache CouchDB.

A user's pull stops reading ``global``'s changes once a read found nothing and
the CouchDB store's followed feed says nothing changed since. These tests
check that it does skip, and that it never hides a change: one written around
this process (straight into CouchDB) reaches the next pulls as soon as the
feed hands it over, one written through this process reaches the very next
read.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
import requests

from server import create_app
from server.config import Settings
from sync.quiet import QUIET
from sync.replica.union import UserReplica
from sync.scopes import GLOBAL
from sync.stores.couchdb_http import CouchClient


@pytest.fixture
def world(tmp_path: Path, couchdb_url: str):
    yield from _world(tmp_path, couchdb_url)


@pytest.fixture
def node_world(tmp_path: Path, couchdb_node_url: str):
    """On one node: a cluster may answer a read from a copy the write has not reached yet."""
    yield from _world(tmp_path, couchdb_node_url)


def _world(tmp_path: Path, couchdb_url: str):
    prefix = f"quiet{uuid.uuid4().hex[:8]}-"
    app = create_app(Settings(data_dir=tmp_path / "data", admin=("admin", "admin-password-1"),
                              store="couchdb", couchdb_url=couchdb_url, couchdb_prefix=prefix))
    svc = app.extensions["fieldsync"]
    svc.areas.add("qa", name_en="qa", level="soum", holds_data=True)
    worker = svc.users.add("walker", "worker", ["qa"], "walker-password-1")
    yield svc, worker, couchdb_url.rstrip("/") + "/" + prefix
    try:
        for name in svc.store.names():
            svc.store.delete(name)
    finally:
        svc.store.close()


def _pull(replica: UserReplica, since: str) -> tuple[list[str], str]:
    feed = replica.changes(since)
    ids = [row["id"] for row in feed]
    return ids, feed.last_seq


def _quiet_from(replica: UserReplica, since: str) -> str:
    """Pull until ``global`` is answered without asking; the sequence then."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ids, since = _pull(replica, since)
        assert ids == []
        vector = replica._vector(since)
        marker = QUIET.marker(replica.store, GLOBAL)
        if QUIET.no_changes(marker, replica.store, GLOBAL, vector[GLOBAL]) is not None:
            return since
        time.sleep(0.05)
    raise AssertionError("global's changes were never skipped (is its feed followed?)")


def test_a_change_written_around_this_process_reaches_the_next_pulls(world) -> None:
    svc, worker, couch = world
    replica = UserReplica(svc.store, worker, worker, svc.access, svc.gate)
    _, since = _pull(replica, "0")
    since = _quiet_from(replica, since)
    area = svc.store.open(GLOBAL).get("global:area:qa")
    twin = {k: v for k, v in area.items() if not k.startswith("_")} | {"_id": "global:area:qz", "code": "qz"}
    requests.post(couch + GLOBAL, json=twin, timeout=10).raise_for_status()  # another app server, say
    deadline, seen = time.monotonic() + 5, []
    while not seen and time.monotonic() < deadline:
        seen, _ = _pull(UserReplica(svc.store, worker, worker, svc.access, svc.gate), since)
    assert seen == ["global:area:qz"]


def test_a_change_written_through_this_process_reaches_the_very_next_read(node_world) -> None:
    svc, worker, _ = node_world
    replica = UserReplica(svc.store, worker, worker, svc.access, svc.gate)
    _, since = _pull(replica, "0")
    area = svc.store.open(GLOBAL).get("global:area:qa")
    for code in ("qb", "qc", "qd"):  # each right after global was answered without asking
        since = _quiet_from(replica, since)
        before = replica.info()["update_seq"]
        twin = {k: v for k, v in area.items() if not k.startswith("_")} | {"_id": f"global:area:{code}"}
        svc.store.open(GLOBAL).bulk_docs([twin | {"code": code}])  # read at once, before the feed tells
        ids, since = _pull(replica, since)
        assert ids == [f"global:area:{code}"]
        assert replica.info()["update_seq"] != before


def test_first_pulls_of_global_are_one_read_until_it_changes(node_world, monkeypatch) -> None:
    """Every device's first pull reads ``global`` from 0 (a crowd: 200 times the same rows): read
    once while the followed feed says nothing changed, each later reader gets the same rows;
    a change through this process is in the very next first pull."""
    svc, worker, _ = node_world
    seen: list[str] = []
    send = CouchClient.request

    def listing(self, method: str, path: str, *args, **kwargs):
        seen.append(path)
        return send(self, method, path, *args, **kwargs)

    monkeypatch.setattr(CouchClient, "request", listing)
    deadline, first, reads = time.monotonic() + 10, None, []
    while time.monotonic() < deadline:  # until two pulls fall in one period of the answer's memo
        seen.clear()
        first = _pull(UserReplica(svc.store, worker, worker, svc.access, svc.gate), "0")[0]
        second = _pull(UserReplica(svc.store, worker, worker, svc.access, svc.gate), "0")[0]
        reads = [p for p in seen if p.endswith(f"{GLOBAL}/_changes")]
        assert second == first and "global:area:qa" in first
        if len(reads) == 1:
            break
    assert len(reads) == 1, seen
    area = svc.store.open(GLOBAL).get("global:area:qa")
    twin = {k: v for k, v in area.items() if not k.startswith("_")} | {"_id": "global:area:qy", "code": "qy"}
    svc.store.open(GLOBAL).bulk_docs([twin])
    assert "global:area:qy" in _pull(UserReplica(svc.store, worker, worker, svc.access, svc.gate), "0")[0]
