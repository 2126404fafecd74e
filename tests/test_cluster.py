"""fieldsync on a 3-node Apache CouchDB cluster: app servers on different nodes, a node dying.

docs/deploy.md runs stateless app servers on a CouchDB cluster. Here real
PouchDB 9 replicas sync through ``fieldsync serve`` processes whose stores
talk to different nodes of one cluster (``n = 3``), and one node is killed
(SIGKILL, as a crash) in the middle of a push and a pull, then brought back.
What must hold: every document a replica sent is stored once and reaches the
replicas that pull it, no replication fails, and the app server goes on
without a restart, because it was given every node (``FIELDSYNC_COUCHDB_URL``
with comma-separated URLs) and fails over to the next one.

The first tests use the session's cluster (``couchdb_cluster_urls``:
``FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS`` or one started from
``../shared/couchdb``); the node-death test starts a cluster of its own, since
it stops a node. Without either, the module is skipped.

A write through one node may be missing for some milliseconds from a read
through another (a write returns when two of the three copies have it). A
device that pulls just after another pushed gets the rest at its next pull,
so the pulling replicas here sync until they hold everything, within a
deadline, as a device syncing again would.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cluster_sync import (
    AREA,
    WORKER,
    demo_on_cluster,
    finished,
    new_submissions,
    pull_until_it_holds,
    replica_url,
    server_revs,
    sync_through_node_death,
)
from pouch import PouchReplica
from servers import Cluster, apache_couchdb_cluster, couchdb_env, couchdb_package, real_cluster_urls

from server.config import Settings
from server.services import Services
from sync.demo import household_visit, submission
from sync.ids import new_ulid

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not (real_cluster_urls() or couchdb_package()),
                       reason="no CouchDB cluster: FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS unset and no ../shared/couchdb"),
]


# -- two app servers, each on a node of its own ------------------------------------------------------


def test_push_through_one_node_pull_through_another_loses_and_duplicates_nothing(
        couchdb_cluster_urls: list[str], new_replica: Callable[[], PouchReplica], tmp_path: Path) -> None:
    a, b = couchdb_cluster_urls[0], couchdb_cluster_urls[1]
    with demo_on_cluster(tmp_path, [a, b]) as (through_a, through_b):
        device = new_replica()
        sent = new_submissions(150, seed=1)
        device.bulk_docs(sent)
        mine = {d["_id"]: device.get(d["_id"])["_rev"] for d in sent}

        colleague = new_replica()  # a device of the same worker, already syncing live through B
        with colleague.live("from", replica_url(through_b), batch_size=40):
            pushed = finished(device.push(replica_url(through_a), batch_size=40))
            assert pushed["docs_written"] == len(sent)
            deadline = time.monotonic() + 60
            while not all(colleague.revs().get(i) == r for i, r in mine.items()):
                assert time.monotonic() < deadline, "the live pull through B never got every document"
                time.sleep(0.2)

        # A fresh device pulling through B gets exactly what the server holds for the worker:
        # each document once, at the revision its author made, with no conflict.
        fresh = new_replica()
        pull_until_it_holds(fresh, replica_url(through_b), mine)
        served = server_revs(through_b)
        assert fresh.revs() == served
        assert {i: served[i] for i in mine} == mine
        for docid in mine:
            doc = fresh.get(docid, conflicts=True)
            assert "_conflicts" not in doc, docid
        # The other direction: what the live colleague device now sends through B reaches A.
        edited = colleague.get(sent[0]["_id"])
        edited["data"] = {**edited["data"], "household_size": 7}
        colleague.put(edited)
        assert finished(colleague.push(replica_url(through_b)))["docs_written"] == 1
        rev = colleague.get(sent[0]["_id"])["_rev"]
        pull_until_it_holds(device, replica_url(through_a), {sent[0]["_id"]: rev})
        assert device.get(sent[0]["_id"])["data"]["household_size"] == 7


# -- what the product reads back right after writing it ------------------------------------------------


def test_a_form_published_or_an_area_added_is_usable_at_once(couchdb_cluster_urls: list[str],
                                                            tmp_path: Path) -> None:
    """A form version published through one app server (node 1) is accepted at once by another
    (node 2), and an area added is at once in the tree of the server that added it. Both are
    lists read by range, which a copy without the write may answer; the product reads what it
    wrote by id instead (a quorum read), so a submission is never refused for a stale read."""
    prefix = couchdb_env(couchdb_cluster_urls[0])["FIELDSYNC_COUCHDB_PREFIX"]
    one, two = (Services.build(Settings(data_dir=tmp_path, store="couchdb", couchdb_url=url,
                                        couchdb_prefix=prefix))
                for url in couchdb_cluster_urls[:2])
    definition = json.loads((Path(__file__).parents[1] / "schemas" / "forms" / "household_visit.json").read_text())
    data = household_visit(random.Random(5))
    try:
        assert two.forms.snapshot() == {}  # two has read (and cached) the empty list
        for version in range(1, 21):
            one.forms.publish({**definition, "version": version})
            doc = submission(f"{AREA}:sub:{new_ulid()}", definition["form"], WORKER, data, "2026-10-03T09:00:00+08:00")
            assert two.forms.check_submission({**doc, "form_version": version}) == [], version
            one.areas.add(f"tes-{version}", name_en=f"Tes {version}", holds_data=False)
            assert f"tes-{version}" in one.areas.tree().areas, version
    finally:
        for svc in (one, two):
            for name in svc.store.names():
                svc.store.delete(name)
            svc.store.close()


# -- a node dies in the middle of a sync --------------------------------------------------------------


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A 3-node cluster for this test alone: it kills a node, which the session's cluster must not see."""
    if not couchdb_package():
        pytest.skip("the node-death test starts a cluster of its own from ../shared/couchdb")
    with apache_couchdb_cluster() as cluster:
        yield cluster


def test_a_node_killed_during_a_push_and_a_pull_and_brought_back(
        own_cluster: Cluster, new_replica: Callable[[], PouchReplica], tmp_path: Path) -> None:
    """The app server is given every node and uses the first; that very node is killed while a
    device pushes and another pulls through ``/sync/<user>``, and started again a few seconds
    later. Both replications finish without an error (no 5xx ever reaches them), every
    document is on the server and on the pulling device, and the app server is the same process."""
    nodes = own_cluster.urls
    with demo_on_cluster(tmp_path, [",".join(nodes)]) as (server,):
        out = sync_through_node_death(server, nodes, new_replica, own_cluster, kill=1)
        assert out.both_running_at_kill, "the node died in the middle of both replications"
        assert finished(out.push)["docs_written"] == len(out.pushed)
        finished(out.pull)
        assert server.server.proc.poll() is None, "the app server is the same process, still running"
        assert f"CouchDB node http://{nodes[0].split('@')[-1]} failed" in server.server.log_tail(10**7), \
            "the app server's own node died under it and it went on through another"
        assert out.requests, "the access log names every request"
        assert [r for r in out.requests if r[0] >= 500] == [], "no 5xx reached a device"
        served = server_revs(server)
        assert {i: served.get(i) for i in out.pushed} == out.pushed
        pull_until_it_holds(new_replica(), replica_url(server), {**out.to_pull, **out.pushed})
        slowest = max(out.requests, key=lambda r: r[3])
        print(f"\nnode 1 killed at {out.killed_at:.1f} s, started again at {out.back_at:.1f} s; push of "
              f"{len(out.pushed)} done at {out.push_took:.1f} s (stored count still for at most "
              f"{out.push_still:.2f} s), pull of {len(out.to_pull)} at {out.pull_took:.1f} s (still "
              f"{out.pull_still:.2f} s); {len(out.requests)} requests, slowest {slowest[3]:.2f} s")
