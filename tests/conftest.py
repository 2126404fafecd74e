"""Fixtures for real servers and real PouchDB replicas (tests/servers.py, tests/interop/pouch.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# tests/ and tests/interop/ hold helper modules, not packages; bench/ imports them too.
for _path in (Path(__file__).parent, Path(__file__).parent / "interop"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from pouch import NodeDriver, PouchReplica  # noqa: E402
from servers import PEERS, Peer, couchdb_for_store_tests  # noqa: E402


@pytest.fixture(scope="session", params=sorted(PEERS))
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    """Each CouchDB-protocol server in turn, started once for the session.

    ``fieldsync-couchdb`` is fieldsync on its CouchDB store, kept in the
    session's CouchDB-compatible server (``couchdb_url``) under a prefix of its own.
    """
    if request.param == "fieldsync-couchdb":
        with PEERS[request.param](request.getfixturevalue("couchdb_url")) as started:
            yield started
        return
    with PEERS[request.param]() as started:
        yield started


@pytest.fixture(scope="session")
def couchdb_url() -> Iterator[str]:
    """A CouchDB-protocol server for CouchStore, once per session (see servers.couchdb_for_store_tests)."""
    with couchdb_for_store_tests() as url:
        yield url


@pytest.fixture(scope="session")
def node_driver() -> Iterator[NodeDriver]:
    """One Node.js process holds every replica of the session (spawning is slow)."""
    with NodeDriver() as driver:
        yield driver


@pytest.fixture
def new_replica(node_driver: NodeDriver, tmp_path: Path) -> Iterator[Callable[[], PouchReplica]]:
    """Factory of fresh leveldb replicas on disk, as a field device keeps them."""
    opened: list[PouchReplica] = []

    def make() -> PouchReplica:
        replica = node_driver.open_replica(tmp_path / f"replica-{len(opened) + 1}")
        replica.replicate_timeout = 30.0  # a hung sync fails its test, not the whole suite
        opened.append(replica)
        return replica

    yield make
    for replica in opened:
        try:
            replica.close()
        except Exception:  # noqa: BLE001 - already closed or driver gone; tmp_path is removed anyway
            pass
