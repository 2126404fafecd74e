"""A coordinator's pull through ``/sync/<coordinator>`` against the same pull straight from CouchDB.

Prints figures, asserts nothing. Since child protection cases (``sync.cases``)
are seen only by their coordinator, team and author, a coordinator's replica
reads what the visibility rules need of each document (its facts) as a
worker's does; before, it read no body at all. This shows what that costs:
each round a worker of a fresh soum pushes N household visits (and a few
cases) through ``/sync/<worker>``, then a fresh PouchDB 9 replica pulls the
soum through ``/sync/<coordinator>`` and through ``/sync/<worker>``; the
``direct`` target pulls the same visits straight from a database of the
Apache CouchDB 3.5 node started here, as its admin.

    .venv/bin/python bench/coordinator_pull.py [--docs 2000] [--rounds 2] [--targets sqlite,couchdb,direct]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop"), str(ROOT / "bench")]

from crowd import couchdb_pid, with_creds  # noqa: E402
from pouch import NodeDriver  # noqa: E402
from servers import (  # noqa: E402
    apache_couchdb_node,
    couchdb_env,
    dropped_afterwards,
    fieldsync_missing,
    fieldsync_server,
)
from submissions import submissions  # noqa: E402
from user_sync import replicate  # noqa: E402

from sync import cases  # noqa: E402

TARGETS = ("sqlite", "couchdb", "direct")
PASSWORD = "bench-password-1"


def fieldsync_round(peer, round_no: int, driver: NodeDriver, tmp: Path, n: int, batch: int) -> dict[str, float]:
    tag = f"r{round_no}{time.monotonic_ns() % 10**6}"
    area, worker, coordinator = f"bench-{tag}", f"w{tag}", f"c{tag}"
    svc = peer.services()
    try:
        svc.areas.add(area, name_en=area, level="soum", holds_data=True)
        svc.store.ensure(area)
        svc.users.add(worker, "worker", [area], PASSWORD)
        svc.users.add(coordinator, "coordinator", [area], PASSWORD)
    finally:
        svc.store.close()
    docs = submissions(area, n, seed=round_no)
    for doc in docs:
        doc["author"] = worker
    docs += [cases.new_case(area, f"01KBENCHCASE{i:014d}", author=worker, coordinator=coordinator, risk="low")
             for i in range(5)]
    source = driver.open_replica(tmp / f"{area}-source")
    figures = {}
    try:
        for i in range(0, len(docs), 1000):
            source.bulk_docs(docs[i:i + 1000])
        replicate("push", lambda: source.push(with_creds(peer.root, worker, PASSWORD) + f"/sync/{worker}",
                                              batch_size=batch), len(docs))
        for who in (coordinator, worker):
            fresh = driver.open_replica(tmp / f"{area}-{who}")
            try:
                url = with_creds(peer.root, who, PASSWORD) + f"/sync/{who}"
                seconds = replicate(f"pull {who}", lambda r=fresh, u=url: r.pull(u, batch_size=batch), len(docs))
                figures["coordinator" if who == coordinator else "worker"] = len(docs) / seconds
            finally:
                fresh.destroy()
    finally:
        source.destroy()
    return figures


def direct_round(couch_url: str, round_no: int, driver: NodeDriver, tmp: Path, n: int, batch: int) -> dict[str, float]:
    area = f"bench-direct-{round_no}-{time.monotonic_ns() % 10**6}"
    requests.put(f"{couch_url}/{area}", timeout=30).raise_for_status()
    docs = submissions(area, n, seed=round_no)
    source = driver.open_replica(tmp / f"{area}-source")
    fresh = driver.open_replica(tmp / f"{area}-fresh")
    try:
        for i in range(0, len(docs), 1000):
            source.bulk_docs(docs[i:i + 1000])
        replicate("direct push", lambda: source.push(f"{couch_url}/{area}", batch_size=batch), n)
        seconds = replicate("direct pull", lambda: fresh.pull(f"{couch_url}/{area}", batch_size=batch), n)
        return {"admin": n / seconds}
    finally:
        source.destroy()
        fresh.destroy()
        requests.delete(f"{couch_url}/{area}", timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if any(t != "direct" for t in targets) and (why := fieldsync_missing()):
        raise SystemExit(why)
    load = os.getloadavg()
    print(f"{args.docs} submissions a soum, batch_size {args.batch_size}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    runs: dict[str, list[dict[str, float]]] = {t: [] for t in targets}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fieldsync-coordinator-pull-")))
        couch_url = stack.enter_context(apache_couchdb_node())
        couchdb_pid(couch_url)
        peers = {}
        for target in targets:
            if target == "direct":
                continue
            extra = couchdb_env(couch_url) if target == "couchdb" else {}
            if extra:
                stack.enter_context(dropped_afterwards(extra))
            peers[target] = stack.enter_context(fieldsync_server(extra_env=extra))
        driver = stack.enter_context(NodeDriver(timeout=300))
        for round_no in range(1, args.rounds + 1):
            for target in targets if round_no % 2 else list(reversed(targets)):
                fig = (direct_round(couch_url, round_no, driver, tmp, args.docs, args.batch_size) if target == "direct"
                       else fieldsync_round(peers[target], round_no, driver, tmp, args.docs, args.batch_size))
                runs[target].append(fig)
                print(f"round {round_no}: {target:8} " + "  ".join(f"{k} pull {v:6.0f} docs/s" for k, v in fig.items()),
                      flush=True)
    med = {t: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for t, rs in runs.items()}
    print(f"\nmedian of {args.rounds} rounds")
    for target, fig in med.items():
        print(f"{target:8} " + "  ".join(f"{k} pull {v:6.0f} docs/s" for k, v in fig.items()))
    if "direct" in med:
        for target in ("sqlite", "couchdb"):
            if target in med:
                print(f"{target}/direct: coordinator pull {med[target]['coordinator'] / med['direct']['admin']:.2f}x, "
                      f"worker pull {med[target]['worker'] / med['direct']['admin']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
