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
import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from pouch import PouchReplica
from servers import (
    Cluster,
    FieldsyncPeer,
    apache_couchdb_cluster,
    couchdb_env,
    couchdb_package,
    dropped_afterwards,
    fieldsync_bin,
    fieldsync_server,
    real_cluster_urls,
)

from server.config import Settings
from server.services import Services
from sync.demo import DEMO_PASSWORD, household_visit, submission
from sync.ids import new_ulid

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not (real_cluster_urls() or couchdb_package()),
                       reason="no CouchDB cluster: FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS unset and no ../shared/couchdb"),
]

WORKER = "bolormaa"  # a demo worker of the soum uvs-tes
AREA = "uvs-tes"


# -- servers ------------------------------------------------------------------------------------


@contextmanager
def demo_on_cluster(tmp: Path, store_urls: list[str],
                    extra_env: dict[str, str] | None = None) -> Iterator[list[FieldsyncPeer]]:
    """The demo data in the cluster under a fresh prefix, and one ``fieldsync serve`` per entry
    of ``store_urls`` (its ``FIELDSYNC_COUCHDB_URL``: one node, or several comma-separated)."""
    shared: dict[str, str | None] = {**couchdb_env(store_urls[0].split(",")[0]), "FIELDSYNC_SECRET_KEY": None,
                                     **(extra_env or {})}
    data = tmp / "data"
    with ExitStack() as stack:
        stack.enter_context(dropped_afterwards(shared))
        env = {k: v for k, v in {**os.environ, **shared}.items() if v is not None}
        subprocess.run([str(fieldsync_bin()), "demo", "--data", str(data)], env=env, check=True,
                       capture_output=True, timeout=180)
        yield [stack.enter_context(fieldsync_server(data, extra_env={**shared, "FIELDSYNC_COUCHDB_URL": url},
                                                    publish_forms=False, workers=2))
               for url in store_urls]


def replica_url(peer: FieldsyncPeer, user: str = WORKER) -> str:
    return f"http://{user}:{DEMO_PASSWORD}@127.0.0.1:{peer.port}/sync/{user}"


def new_submissions(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [submission(f"{AREA}:sub:{new_ulid()}", "household_visit", WORKER, household_visit(rng),
                       "2026-10-03T09:00:00+08:00") for _ in range(n)]


def finished(report: dict[str, Any]) -> dict[str, Any]:
    """A one-shot replication's report: it completed, with no error and nothing refused."""
    assert report["state"] == "complete", report
    assert report["errors"] == [], report["errors"]
    assert report["denied"] == [], report["denied"]
    assert report["result"]["doc_write_failures"] == 0, report["result"]
    return report["result"]


def pull_until_it_holds(replica: PouchReplica, url: str, wanted: dict[str, str], *,
                        deadline: float = 60.0) -> int:
    """Pull (one-shot, as a device syncs) until ``replica`` holds every id of ``wanted`` at its
    revision; how many pulls that took. Each pull must finish cleanly."""
    stop = time.monotonic() + deadline
    pulls = 0
    while True:
        finished(replica.pull(url, batch_size=50))
        pulls += 1
        have = replica.revs()
        if all(have.get(docid) == rev for docid, rev in wanted.items()):
            return pulls
        assert time.monotonic() < stop, f"{sum(d not in have for d in wanted)} documents still missing"


def server_revs(peer: FieldsyncPeer, user: str = WORKER) -> dict[str, str]:
    """id -> winning rev of every document ``user``'s replica holds on the server."""
    auth = (user, DEMO_PASSWORD)
    rows = peer.session.get(f"{peer.root}/sync/{user}/_all_docs", auth=auth, timeout=60).json()["rows"]
    return {row["id"]: row["value"]["rev"] for row in rows}


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

# Each request the app server answered, as its access log line: status, method, path, seconds.
ACCESS_FORMAT = "ACCESS %(s)s %(m)s %(U)s %(L)s"
ACCESS_LINE = re.compile(r"^ACCESS (\d{3}) ([A-Z]+) (\S+) ([\d.]+)$", re.M)


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A 3-node cluster for this test alone: it kills a node, which the session's cluster must not see."""
    if not couchdb_package():
        pytest.skip("the node-death test starts a cluster of its own from ../shared/couchdb")
    with apache_couchdb_cluster() as cluster:
        yield cluster


def stored_count(node: str, dbname: str) -> int:
    """Documents in a scope's database, asked of one CouchDB node directly."""
    answer = requests.get(f"{node}/{dbname}", timeout=10)
    return answer.json().get("doc_count", 0) if answer.ok else 0


def test_a_node_killed_during_a_push_and_a_pull_and_brought_back(
        own_cluster: Cluster, new_replica: Callable[[], PouchReplica], tmp_path: Path) -> None:
    """The app server is given every node and uses the first; that very node is killed while a
    device pushes and another pulls through ``/sync/<user>``, and started again a few seconds
    later. Both replications finish without an error (no 5xx ever reaches them), every
    document is on the server and on the pulling device, and the app server is the same process."""
    nodes = own_cluster.urls
    with demo_on_cluster(tmp_path, [",".join(nodes)],
                         extra_env={"FIELDSYNC_ACCESS_LOG_FORMAT": ACCESS_FORMAT}) as (server,):
        url = replica_url(server)
        dbname = server.env["FIELDSYNC_COUCHDB_PREFIX"] + AREA
        earlier = new_replica()  # what another device sent before: the pull's work
        before = new_submissions(300, seed=2)
        earlier.bulk_docs(before)
        finished(earlier.push(url, batch_size=50))
        to_pull = {d["_id"]: earlier.get(d["_id"])["_rev"] for d in before}

        pusher, puller = new_replica(), new_replica()
        sent = new_submissions(400, seed=3)
        pusher.bulk_docs(sent)
        pushed = {d["_id"]: pusher.get(d["_id"])["_rev"] for d in sent}
        on_server_before = stored_count(nodes[1], dbname)
        reports: dict[str, Any] = {}

        def run(name: str, call: Callable[[], dict]) -> None:
            try:
                reports[name] = call()
            except Exception as exc:  # noqa: BLE001 - reported by the assertions below
                reports[name] = exc

        jobs = [threading.Thread(target=run, args=("push", lambda: pusher.push(url, batch_size=10, timeout=240))),
                threading.Thread(target=run, args=("pull", lambda: puller.pull(url, batch_size=10, timeout=240)))]
        started = time.monotonic()
        for job in jobs:
            job.start()
        # Kill node 1 (the app server's) once a quarter of the push is stored.
        deadline = time.monotonic() + 120
        while stored_count(nodes[1], dbname) < on_server_before + len(sent) // 4:
            assert time.monotonic() < deadline and all(j.is_alive() for j in jobs), reports
            time.sleep(0.05)
        assert all(job.is_alive() for job in jobs), "both replications are under way when the node dies"
        own_cluster.kill_node(1)
        killed_at = time.monotonic() - started
        time.sleep(3)
        own_cluster.start_stopped()
        back_at = time.monotonic() - started
        for job in jobs:
            job.join(300)
        took = time.monotonic() - started

        assert finished(reports["push"])["docs_written"] == len(sent)
        finished(reports["pull"])
        assert server.server.proc.poll() is None, "the app server is the same process, still running"
        log = server.server.log_tail(10**6)
        assert f"CouchDB node http://{nodes[0].split('@')[-1]} failed" in log, \
            "the app server's own node died under it and it went on through another"
        answered = [(int(s), m, path, float(t)) for s, m, path, t in ACCESS_LINE.findall(log)]
        assert answered, "the access log names every request"
        assert [a for a in answered if a[0] >= 500] == [], "no 5xx reached a device"
        served = server_revs(server)
        assert {i: served.get(i) for i in pushed} == pushed
        pull_until_it_holds(puller, url, {**to_pull, **pushed})
        slowest = max(answered, key=lambda a: a[3])
        print(f"\nnode 1 killed at {killed_at:.1f} s, started again at {back_at:.1f} s; push of {len(sent)} "
              f"and pull of {len(to_pull)} (batches of 10) done after {took:.1f} s; {len(answered)} requests, "
              f"slowest {slowest[3]:.2f} s ({slowest[1]} {slowest[2][:60]})")
