"""Fixtures for real servers and real PouchDB replicas (tests/servers.py, tests/interop/pouch.py)."""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# tests/ and tests/interop/ hold helper modules, not packages; bench/ imports them too.
for _path in (Path(__file__).parent, Path(__file__).parent / "interop"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from pouch import NodeDriver, PouchReplica  # noqa: E402
from servers import (  # noqa: E402
    COUCH_TARGETS,
    PEERS,
    Cluster,
    Peer,
    apache_couchdb_cluster,
    couch_target_banner,
    couch_url_for,
    couchdb_for_store_tests,
    couchdb_package,
    real_cluster_urls,
)


def pytest_report_header(config: pytest.Config) -> str:
    return couch_target_banner()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """How many tests ran on each CouchDB target, so a run shows it really covered them."""
    counts = {target: collections.Counter() for target in COUCH_TARGETS}
    for outcome in ("passed", "failed", "xfailed", "xpassed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", None) and outcome != "skipped":
                continue
            target = _couch_target_of(getattr(report, "nodeid", ""))
            if target:
                counts[target][outcome] += 1
    for target, counter in counts.items():
        if counter:
            parts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counter.items()))
            terminalreporter.write_line(f"CouchDB target {target}: {parts}")


def _couch_target_of(nodeid: str) -> str | None:
    params = nodeid.partition("[")[2]
    if "couchdb-cluster" in params:
        return "couchdb-cluster"
    if "couchdb" in params:
        return "couchdb"
    return None


@pytest.fixture(scope="session", params=sorted(PEERS))
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    """Each CouchDB-protocol server in turn, started once for the session.

    ``fieldsync-couchdb`` is fieldsync on its CouchDB store, kept in the
    session's one-node CouchDB under a prefix of its own;
    ``fieldsync-couchdb-cluster`` the same on the session's 3-node cluster.
    """
    if request.param.startswith("fieldsync-couchdb"):
        target = request.param.removeprefix("fieldsync-")
        with PEERS[request.param](couch_url_for(request, target)) as started:
            yield started
        return
    with PEERS[request.param]() as started:
        yield started


@pytest.fixture(scope="session")
def couchdb_node_url() -> Iterator[str]:
    """One CouchDB node for the session (see servers.couchdb_for_store_tests): Apache
    CouchDB when there is one, started on first use and stopped at the end."""
    with couchdb_for_store_tests() as url:
        yield url


@pytest.fixture(scope="session")
def couchdb_cluster() -> Iterator[Cluster]:
    """A 3-node Apache CouchDB cluster for the session, from ``../shared/couchdb``.

    Shared by every test: a test that stops or kills nodes starts a cluster of its own.
    """
    if not couchdb_package():
        pytest.skip("no ../shared/couchdb here: no Apache CouchDB cluster to start")
    with apache_couchdb_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def couchdb_cluster_urls(request: pytest.FixtureRequest) -> list[str]:
    """The session's cluster, one URL per node (``FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS`` if set)."""
    given = real_cluster_urls()
    if given:
        return given
    return request.getfixturevalue("couchdb_cluster").urls


@pytest.fixture(scope="session", params=COUCH_TARGETS)
def couchdb_url(request: pytest.FixtureRequest) -> str:
    """Each CouchDB target in turn (one node, then the cluster's first node), for CouchStore tests."""
    return couch_url_for(request, request.param)


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
