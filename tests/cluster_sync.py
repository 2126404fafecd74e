"""PouchDB replicas syncing through ``fieldsync serve`` on a 3-node CouchDB cluster, a node killed.

Shared by ``tests/test_cluster.py`` (which asserts) and ``bench/node_death.py``
(which prints the figures): the demo data put in a cluster under a fresh
prefix, app servers each given one node or several, and the scenario of a
node dying in the middle of a push and a pull (``sync_through_node_death``),
measured from outside: each replication's report, every request the app
server answered (its access log), and how long the documents stored on the
server and held by the pulling device stopped growing.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from pouch import PouchReplica
from servers import (
    Cluster,
    FieldsyncPeer,
    couchdb_env,
    dropped_afterwards,
    fieldsync_bin,
    fieldsync_server,
)

from sync.demo import DEMO_PASSWORD, household_visit, submission
from sync.ids import new_ulid

WORKER = "bolormaa"  # a demo worker of the soum uvs-tes
AREA = "uvs-tes"

# Each request the app server answered, as its access log line: status, method, path, seconds.
ACCESS_FORMAT = "ACCESS %(s)s %(m)s %(U)s %(L)s"
ACCESS_LINE = re.compile(r"^ACCESS (\d{3}) ([A-Z]+) (\S+) ([\d.]+)$", re.M)


@contextmanager
def demo_on_cluster(tmp: Path, store_urls: list[str],
                    extra_env: dict[str, str] | None = None) -> Iterator[list[FieldsyncPeer]]:
    """The demo data in the cluster under a fresh prefix, and one ``fieldsync serve`` per entry
    of ``store_urls`` (its ``FIELDSYNC_COUCHDB_URL``: one node, or several comma-separated).
    Every server logs each request it answers as an ``ACCESS_FORMAT`` line."""
    shared: dict[str, str | None] = {**couchdb_env(store_urls[0].split(",")[0]), "FIELDSYNC_SECRET_KEY": None,
                                     "FIELDSYNC_ACCESS_LOG_FORMAT": ACCESS_FORMAT, **(extra_env or {})}
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


def finished(report: Any) -> dict[str, Any]:
    """A one-shot replication's report: it completed, with no error and nothing refused."""
    assert isinstance(report, dict), report
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


def stored_count(node: str, dbname: str) -> int:
    """Documents in a scope's database, asked of one CouchDB node directly."""
    try:
        answer = requests.get(f"{node}/{dbname}", timeout=10)
    except requests.RequestException:
        return 0
    return answer.json().get("doc_count", 0) if answer.ok else 0


def answered(server: FieldsyncPeer) -> list[tuple[int, str, str, float]]:
    """Every request the server answered so far: (status, method, path, seconds)."""
    return [(int(s), m, path, float(t)) for s, m, path, t in ACCESS_LINE.findall(server.server.log_tail(10**7))]


def longest_still(samples: list[tuple[float, int]], start: float, end: float, *, from_start: bool) -> float:
    """The longest time between two rises of a growing count sampled as (time, count), between
    ``start`` and ``end`` (and from ``start`` itself to the first rise, when ``from_start``)."""
    rises = [at for (at, count), (_, before) in zip(samples[1:], samples, strict=False)
             if count > before and start <= at <= end]
    points = ([start] if from_start else []) + rises
    return max((b - a for a, b in zip(points, points[1:], strict=False)), default=0.0)


@dataclass
class Outcome:
    """What ``sync_through_node_death`` saw. Times are seconds from the start of both replications."""

    push: Any = None  # the driver's report (or the exception it raised)
    pull: Any = None
    pushed: dict[str, str] = field(default_factory=dict)  # id -> rev the pushing device sent
    to_pull: dict[str, str] = field(default_factory=dict)  # id -> rev on the server before the pull
    both_running_at_kill: bool = True
    killed_at: float | None = None
    back_at: float | None = None
    push_took: float = 0.0
    pull_took: float = 0.0
    push_still: float = 0.0  # longest time the documents stored on the server did not grow
    pull_still: float = 0.0  # longest time the documents on the pulling device did not grow
    requests: list[tuple[int, str, str, float]] = field(default_factory=list)


def sync_through_node_death(server: FieldsyncPeer, nodes: list[str], new_replica: Callable[[], PouchReplica],
                            cluster: Cluster | None, *, kill: int | None = 1, down_seconds: float = 3.0,
                            push_docs: int = 400, pull_docs: int = 300, batch_size: int = 10) -> Outcome:
    """A device pushes ``push_docs`` submissions through ``server`` while another pulls
    ``pull_docs`` sent earlier, both one-shot in batches of ``batch_size``; once a quarter of
    the push is stored, node ``kill`` (1-3) is killed, and started again ``down_seconds``
    later (``kill=None``: nothing is killed, for comparison)."""
    url = replica_url(server)
    dbname = server.env["FIELDSYNC_COUCHDB_PREFIX"] + AREA
    watch = nodes[kill % len(nodes)] if kill else nodes[0]  # a node that stays up
    earlier = new_replica()  # what another device sent before: the pull's work
    before = new_submissions(pull_docs, seed=2)
    earlier.bulk_docs(before)
    finished(earlier.push(url, batch_size=50))
    out = Outcome(to_pull={d["_id"]: earlier.get(d["_id"])["_rev"] for d in before})

    pusher, puller = new_replica(), new_replica()
    sent = new_submissions(push_docs, seed=3)
    pusher.bulk_docs(sent)
    out.pushed = {d["_id"]: pusher.get(d["_id"])["_rev"] for d in sent}
    on_server_before = stored_count(watch, dbname)
    requests_before = len(answered(server))
    stored: list[tuple[float, int]] = []
    pulled: list[tuple[float, int]] = []
    started = time.monotonic()
    ended: dict[str, float] = {}

    def run(name: str, call: Callable[[], dict]) -> None:
        try:
            setattr(out, name, call())
        except Exception as exc:  # noqa: BLE001 - the caller looks at the outcome
            setattr(out, name, exc)
        ended[name] = time.monotonic() - started

    jobs = [threading.Thread(target=run, args=("push", lambda: pusher.push(url, batch_size=batch_size,
                                                                           timeout=240))),
            threading.Thread(target=run, args=("pull", lambda: puller.pull(url, batch_size=batch_size,
                                                                           timeout=240)))]
    for job in jobs:
        job.start()

    def sample() -> None:
        while any(job.is_alive() for job in jobs):
            at = time.monotonic() - started
            stored.append((at, stored_count(watch, dbname)))
            pulled.append((at, puller.info()["doc_count"]))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    if kill:
        deadline = time.monotonic() + 120
        while stored_count(watch, dbname) < on_server_before + push_docs // 4:
            if time.monotonic() > deadline or not all(job.is_alive() for job in jobs):
                break
            time.sleep(0.05)
        out.both_running_at_kill = all(job.is_alive() for job in jobs)
        cluster.kill_node(kill)
        out.killed_at = time.monotonic() - started
        time.sleep(down_seconds)
        cluster.start_stopped()
        out.back_at = time.monotonic() - started
    for job in jobs:
        job.join(300)
    sampler.join(30)
    out.push_took, out.pull_took = ended.get("push", 0.0), ended.get("pull", 0.0)
    start, killed = (out.killed_at, True) if out.killed_at is not None else (0.0, False)
    out.push_still = longest_still(stored, start, out.push_took, from_start=killed)
    out.pull_still = longest_still(pulled, start, out.pull_took, from_start=killed)
    out.requests = answered(server)[requests_before:]
    return out
