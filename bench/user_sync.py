"""A worker's push and pull through ``/sync/<user>``, on both stores, against the same straight to CouchDB.

Prints figures, asserts nothing (timings belong in benchmarks, not tests).
The bars (issue 14): a fresh PouchDB 9 replica pulling N submissions through
``/sync/<worker>`` at >= 1.0x the rate of the same pull straight from Apache
CouchDB 3.5, on the SQLite store and on the CouchDB store; a push through
``/sync/<worker>`` (every submission validated against its form version) at
>= 1.2x CouchDB's push.

Each round, for each target, a worker's device (a real PouchDB 9 replica,
``tests/interop/pouch.py``) holding N valid household visits of a soum of its
own pushes them, then a fresh replica pulls them back:

- ``sqlite``:  ``fieldsync serve`` (SQLite store), the device as that soum's worker on ``/sync/<worker>``;
- ``couchdb``: the same on the CouchDB store, in the Apache CouchDB 3.5 node started here;
- ``direct``:  the same device straight to a new database of that CouchDB, as its admin.

A fieldsync pull also brings the worker's share of ``global`` (the published
forms and the area list, a few dozen documents), counted in its rate. Rounds
interleave the targets; the median of each figure is printed, with CPU seconds
per 1000 documents of each server process tree.

    .venv/bin/python bench/user_sync.py [--docs 10000] [--rounds 3]
    .venv/bin/python bench/user_sync.py --targets couchdb --rounds 1 --py-spy /tmp/spy --py-spy-phase pull
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop"), str(ROOT / "bench")]

from crowd import couchdb_pid, start_py_spy, stop_py_spy, with_creds  # noqa: E402
from measure import PeakRss, tree_cpu  # noqa: E402
from pouch import NodeDriver  # noqa: E402
from servers import (  # noqa: E402
    FieldsyncPeer,
    apache_couchdb_node,
    couchdb_env,
    dropped_afterwards,
    fieldsync_missing,
    fieldsync_server,
)
from submissions import submissions  # noqa: E402

TARGETS = ("sqlite", "couchdb", "direct")


def replicate(label: str, run: Callable[[], dict[str, Any]], at_least: int) -> float:
    """Seconds one replication took; a run that lost or refused documents ends the benchmark."""
    started = time.perf_counter()
    report = run()
    took = time.perf_counter() - started
    result = report["result"] or {}
    if report["errors"] or report["denied"] or result.get("docs_written", 0) < at_least:
        raise SystemExit(f"{label}: wrote {result.get('docs_written')}/{at_least} docs, "
                         f"errors={report['errors'][:2]} denied={[d.get('reason') for d in report['denied'][:2]]}")
    return took


class Side:
    """One target: where a round's device pushes and pulls, and which processes to measure."""

    def __init__(self, name: str, pids: dict[str, int], peer: FieldsyncPeer | None = None,
                 couch_url: str | None = None) -> None:
        self.name, self.pids, self.peer, self.couch_url = name, pids, peer, couch_url

    def prepare(self, round_no: int) -> tuple[str, str, str]:
        """(url, area, author) of a fresh soum (or database) for this round."""
        area = f"bench-r{round_no}-{self.name}-{time.monotonic_ns() % 10**6}"
        if self.peer is None:
            requests.put(f"{self.couch_url}/{area}", timeout=30).raise_for_status()
            return f"{self.couch_url}/{area}", area, "bench.worker"
        worker, password = f"w{round_no}{self.name[:2]}{time.monotonic_ns() % 10**6}", "bench-password-1"
        svc = self.peer.services()
        try:
            svc.areas.add(area, name_en=area, level="soum", holds_data=True)
            svc.store.ensure(area)
            svc.users.add(worker, "worker", [area], password)
        finally:
            svc.store.close()
        return with_creds(self.peer.root, worker, password) + f"/sync/{worker}", area, worker

    def drop(self, area: str) -> None:
        if self.peer is None:
            requests.delete(f"{self.couch_url}/{area}", timeout=60)


def run_round(side: Side, round_no: int, driver: NodeDriver, tmp: Path, args: argparse.Namespace
              ) -> dict[str, float]:
    url, area, author = side.prepare(round_no)
    docs = submissions(area, args.docs, seed=round_no)
    for doc in docs:
        doc["author"] = author
    source = driver.open_replica(tmp / f"{area}-source")
    fresh = driver.open_replica(tmp / f"{area}-fresh")
    try:
        for i in range(0, len(docs), 1000):
            source.bulk_docs(docs[i:i + 1000])
        figures: dict[str, float] = {}
        for phase, replica in (("push", source), ("pull", fresh)):
            cpu0 = {name: tree_cpu(pid) for name, pid in side.pids.items()}
            spy = (start_py_spy(side.pids["fieldsync"], args.py_spy, f"{side.name}-{phase}", gil=True)
                   if args.py_spy and side.peer is not None and phase == args.py_spy_phase else None)
            with PeakRss(next(iter(side.pids.values()))) as rss:
                run = (lambda r=replica: r.push(url, batch_size=args.batch_size, timeout=args.timeout)) \
                    if phase == "push" else \
                    (lambda r=replica: r.pull(url, batch_size=args.batch_size, timeout=args.timeout))
                seconds = replicate(f"{side.name} {phase}", run, args.docs)
            if spy is not None:
                stop_py_spy(spy)
            figures[phase] = args.docs / seconds
            for name, pid in side.pids.items():
                figures[f"{phase} cpu {name}"] = (tree_cpu(pid) - cpu0[name]) / args.docs * 1000
            figures["rss"] = max(figures.get("rss", 0), rss.peak)
        if len(fresh.revs()) < args.docs:
            raise SystemExit(f"{side.name}: the pulled replica holds fewer than {args.docs} documents")
        return figures
    finally:
        for replica in (source, fresh):
            replica.destroy()
        side.drop(area)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="submissions pushed and pulled (default 10000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every target, interleaved (default 3)")
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated: sqlite, couchdb, direct")
    parser.add_argument("--batch-size", type=int, default=100, help="PouchDB batch_size (default 100)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (fieldsync serve's default)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (fieldsync serve's default)")
    parser.add_argument("--couchdb-url", default=None, help="an Apache CouchDB 3.x instead of starting one here")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per replication")
    parser.add_argument("--py-spy", default=None, metavar="DIR",
                        help="sample fieldsync's processes (where Python holds the CPU) during one phase")
    parser.add_argument("--py-spy-phase", choices=["push", "pull"], default="pull")
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if bad := [t for t in targets if t not in TARGETS]:
        parser.error(f"unknown targets {bad}")
    if any(t != "direct" for t in targets) and (why := fieldsync_missing()):
        raise SystemExit(why)

    load = os.getloadavg()
    print(f"{args.docs} submissions, batch_size {args.batch_size}, PouchDB leveldb, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    runs: dict[str, list[dict[str, float]]] = {t: [] for t in targets}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fieldsync-user-sync-")))
        couch_url = args.couchdb_url or stack.enter_context(apache_couchdb_node())
        couch = couchdb_pid(couch_url)
        sides: dict[str, Side] = {}
        for target in targets:
            if target == "direct":
                sides[target] = Side(target, {"couchdb": couch} if couch else {}, couch_url=couch_url)
                continue
            extra = couchdb_env(couch_url) if target == "couchdb" else {}
            if extra:
                stack.enter_context(dropped_afterwards(extra))
            peer = stack.enter_context(fieldsync_server(extra_env=extra,
                                                        workers=args.workers, threads=args.threads))
            pids = {"fieldsync": peer.pid, **({"couchdb": couch} if target == "couchdb" and couch else {})}
            sides[target] = Side(target, pids, peer=peer)
        driver = stack.enter_context(NodeDriver(timeout=300))
        for round_no in range(1, args.rounds + 1):
            order = targets if round_no % 2 else list(reversed(targets))
            for target in order:
                fig = run_round(sides[target], round_no, driver, tmp, args)
                runs[target].append(fig)
                print(f"round {round_no}: {target:8} push {fig['push']:6.0f}  pull {fig['pull']:6.0f} docs/s",
                      flush=True)

    med = {t: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for t, rs in runs.items()}
    print()
    print(f"median of {args.rounds} rounds; CPU seconds per 1000 documents of each server process tree")
    for target, fig in med.items():
        cpu = "  ".join(f"{k.split(' ', 2)[2]} {phase} {fig[k]:.2f}" for phase in ("push", "pull")
                        for k in fig if k.startswith(f"{phase} cpu "))
        print(f"{target:8} push {fig['push']:6.0f}  pull {fig['pull']:6.0f} docs/s   peak RSS "
              f"{fig['rss'] / 2**20:4.0f} MB   CPU {cpu}")
    if "direct" in med:
        ref = med["direct"]
        for target in ("sqlite", "couchdb"):
            if target in med:
                push, pull = med[target]["push"] / ref["push"], med[target]["pull"] / ref["pull"]
                print(f"{target}/direct: push {push:.2f}x (bar >= 1.2x: {'met' if push >= 1.2 else 'NOT met'})  "
                      f"pull {pull:.2f}x (bar >= 1.0x: {'met' if pull >= 1.0 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
