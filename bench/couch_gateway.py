"""What fieldsync costs in front of CouchDB: PouchDB through fieldsync versus straight to the server.

Prints figures, asserts nothing (timings belong in benchmarks, not tests).
The bar (issue 5): the gateway, write gate validating, may cost at most 30%
of push and of pull throughput.

In one run, against one CouchDB-compatible server (pouchdb-server in memory,
started here; or ``--couchdb-url`` / ``FIELDSYNC_TEST_COUCHDB_URL``, an Apache
CouchDB 3.x), a real PouchDB 9 replica (Node, ``tests/interop/pouch.py``)
pushes N valid household visits (``tests/interop/submissions.py``) and a
fresh replica pulls them back:

- fieldsync: ``fieldsync serve`` with ``FIELDSYNC_STORE=couchdb`` on that
  server, the replica on ``/db/<scope>`` as admin, so every pushed document
  passes the write gate's validation against its form version;
- direct:    the same replica straight to a database of that server.

Both sides run ``--rounds`` times, alternating, and the best of each is
reported (the machine's other work only ever slows a run down). Peak RSS is
sampled for the fieldsync process tree (gunicorn and its workers) and for the
CouchDB-compatible server when this script started it.

    .venv/bin/python bench/couch_gateway.py [--docs 10000] [--batch-size 100] [--rounds 2]
    .venv/bin/python bench/couch_gateway.py --couchdb-url http://admin:secret@127.0.0.1:5984
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop"), str(ROOT / "bench")]

from pouch import NodeDriver, PouchReplica  # noqa: E402
from replication import PeakRss, open_replica  # noqa: E402
from servers import (  # noqa: E402
    Peer,
    PouchDBServerPeer,
    RemoteDb,
    fieldsync_couchdb_server,
    fieldsync_missing,
    pouchdb_server,
    real_couchdb_url,
)
from submissions import submissions  # noqa: E402

AREA = "uvs-tes"


class DirectPeer(Peer):
    """A CouchDB-compatible server given by URL (credentials in it), spoken to directly."""

    name = "direct"

    def __init__(self, url: str) -> None:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        self.root = f"{parts.scheme}://{parts.hostname}:{parts.port}"
        creds = f"{parts.username}:{parts.password}@" if parts.username else ""
        self.url_with_auth = f"{parts.scheme}://{creds}{parts.hostname}:{parts.port}"
        self.auth = auth
        import requests

        self.session = requests.Session()
        self.session.auth = auth
        self.server = None
        self.port = parts.port


def timed(label: str, run: Callable[[], dict[str, Any]], expected: int) -> float:
    """Run one replication; docs/s, refusing figures from a run that lost or refused docs."""
    started = time.perf_counter()
    report = run()
    elapsed = time.perf_counter() - started
    result = report["result"]
    if report["errors"] or report["denied"] or result["docs_written"] != expected:
        raise SystemExit(f"{label}: wrote {result['docs_written']}/{expected} docs, "
                         f"errors={report['errors'][:3]} denied={[d.get('reason') for d in report['denied'][:3]]}")
    return expected / elapsed


def one_round(label: str, db: RemoteDb, source: PouchReplica, driver: NodeDriver, tmp: Path,
              args: argparse.Namespace, watch: list[PeakRss]) -> dict[str, float]:
    push = timed(f"{label} push", lambda: source.push(db.url, batch_size=args.batch_size, timeout=args.timeout),
                 args.docs)
    fresh = open_replica(driver, tmp, f"{label}-{time.monotonic_ns()}", args.adapter)
    try:
        pull = timed(f"{label} pull", lambda: fresh.pull(db.url, batch_size=args.batch_size,
                                                         timeout=args.timeout), args.docs)
        if len(fresh.revs()) != args.docs:
            raise SystemExit(f"{label}: the pulled replica does not hold {args.docs} documents")
    finally:
        fresh.destroy()
    return {"push": push, "pull": pull}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents to replicate (default 10000)")
    parser.add_argument("--batch-size", type=int, default=100, help="PouchDB batch_size (default 100)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side, alternating (default 2)")
    parser.add_argument("--adapter", choices=["leveldb", "memory"], default="leveldb",
                        help="local PouchDB adapter (default leveldb, as on a device)")
    parser.add_argument("--couchdb-url", default=real_couchdb_url(),
                        help="an Apache CouchDB 3.x to use instead of starting pouchdb-server "
                             "(default: FIELDSYNC_TEST_COUCHDB_URL)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (fieldsync serve's default)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per replication")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    if why := fieldsync_missing():
        raise SystemExit(why)

    docs = submissions(AREA, args.docs, seed=42, size="bench")
    avg_kb = sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in docs) / len(docs) / 1024

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fieldsync-couch-bench-")))
        if args.couchdb_url:
            couch: Peer = DirectPeer(args.couchdb_url)
            couch_url, server_name = args.couchdb_url, "CouchDB"
        else:
            couch = stack.enter_context(pouchdb_server())
            couch_url, server_name = couch.root, "pouchdb-server"
        gateway = stack.enter_context(fieldsync_couchdb_server(couch_url, workers=args.workers))
        driver = stack.enter_context(NodeDriver(timeout=120))

        source = open_replica(driver, tmp, "source", args.adapter)
        for i in range(0, len(docs), 1000):
            source.bulk_docs(docs[i:i + 1000])
        print(f"{args.docs} submissions, avg {avg_kb:.2f} KB, batch_size {args.batch_size}, "
              f"PouchDB adapter {args.adapter}, {server_name} at {couch.root}, {os.cpu_count()} CPUs",
              flush=True)

        sides = {"fieldsync": gateway, "direct": couch}
        best: dict[str, dict[str, float]] = {name: {"push": 0.0, "pull": 0.0} for name in sides}
        rss: dict[str, dict[str, int]] = {}
        for n in range(args.rounds):
            order = list(sides) if n % 2 == 0 else list(reversed(sides))
            for name in order:
                peer = sides[name]
                watched = {"fieldsync": gateway.pid}
                if isinstance(couch, PouchDBServerPeer):
                    watched[server_name] = couch.pid
                meters = {k: PeakRss(pid) for k, pid in watched.items()}
                for meter in meters.values():
                    meter.__enter__()
                try:
                    db = peer.new_db("bench")
                    figures = one_round(name, db, source, driver, tmp, args, list(meters.values()))
                finally:
                    for meter in meters.values():
                        meter.__exit__(None, None, None)
                for k, meter in meters.items():
                    entry = rss.setdefault(k, {"start": meter.start, "peak": 0})
                    entry["peak"] = max(entry["peak"], meter.peak)
                print(f"  round {n + 1} {name:10} push {figures['push']:7.0f} docs/s   "
                      f"pull {figures['pull']:7.0f} docs/s", flush=True)
                for key in ("push", "pull"):
                    best[name][key] = max(best[name][key], figures[key])
                db.http("DELETE")  # keep the server's memory for the next round

    print()
    print(f"{'best of ' + str(args.rounds):18} {'push docs/s':>12} {'pull docs/s':>12}")
    for name, fig in best.items():
        print(f"{name:18} {fig['push']:12.0f} {fig['pull']:12.0f}")
    ratio = {key: best["fieldsync"][key] / best["direct"][key] for key in ("push", "pull")}
    cost = {key: 1 - ratio[key] for key in ratio}
    print(f"{'fieldsync/direct':18} {ratio['push']:12.2f} {ratio['pull']:12.2f}   "
          f"(cost: push {cost['push']:.0%}, pull {cost['pull']:.0%}; the bar is 30%)")
    for name, entry in rss.items():
        print(f"peak RSS {name:14} {entry['peak'] / 2**20:6.0f} MB (at start {entry['start'] / 2**20:.0f} MB)")
    if args.json:
        print(json.dumps({"docs": args.docs, "avg_kb": round(avg_kb, 3), "best": best, "ratio": ratio,
                          "rss": rss}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
