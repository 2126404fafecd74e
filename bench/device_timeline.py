"""Where a worker's push and pull spend their time, timed from the device, against CouchDB direct.

Prints figures, asserts nothing. A PouchDB 9 replication is a loop of batches, each
a few requests in turn (``_revs_diff`` and ``_bulk_docs`` to push; ``_changes``,
``_bulk_get`` and the database's info to pull; the checkpoint's ``GET`` and ``PUT``
both ways), so its pace is set by how long the device waits on each answer plus
its own work between them. ``bench/device_timeline.js`` wraps PouchDB's fetch and
times every request from sending it to reading its whole answer; this script
runs it for a fresh worker of ``fieldsync serve`` (SQLite store, through
``/sync/<worker>``) and for a new database of Apache CouchDB 3.5 (from
``../shared/couchdb``) as its admin, and prints, per target and direction: the
rate, the share of the time the device was waiting on the server, and each kind
of request's count and mean time.

    .venv/bin/python bench/device_timeline.py [--docs 10000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop"), str(ROOT / "bench")]

from pouch import NODE_MODULES  # noqa: E402
from servers import apache_couchdb_node, fieldsync_missing, fieldsync_server  # noqa: E402
from submissions import submissions  # noqa: E402
from user_sync import Side  # noqa: E402

SCRIPT = Path(__file__).with_suffix(".js")


def timeline(mode: str, url: str, replica: Path, docs_file: Path | None, timeout: float) -> dict[str, Any]:
    cmd = ["node", str(SCRIPT), mode, url, str(replica)] + ([str(docs_file)] if docs_file else [])
    done = subprocess.run(cmd, env={**os.environ, "NODE_PATH": str(NODE_MODULES)}, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode:
        raise SystemExit(f"{mode} to {url.split('@')[-1]} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(target: str, mode: str, runs: list[dict[str, Any]]) -> float:
    rate = statistics.median(r["docs"] / r["total_ms"] * 1000 for r in runs)
    busy = statistics.median(r["busy_ms"] / r["total_ms"] for r in runs)
    kinds = sorted({k for r in runs for k in r["by_kind"]})
    parts = []
    for kind in kinds:
        got = [r["by_kind"][kind] for r in runs if kind in r["by_kind"]]
        count = statistics.median(g["count"] for g in got)
        mean = statistics.median(g["ms"] / g["count"] for g in got)
        parts.append(f"{kind} {count:.0f}x {mean:.1f} ms")
    print(f"{target:7} {mode}  {rate:6.0f} docs/s  waiting on the server {busy:4.0%}  " + ", ".join(parts),
          flush=True)
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="submissions pushed and pulled (default 10000)")
    parser.add_argument("--rounds", type=int, default=2, help="replications per target and direction (default 2)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per replication")
    args = parser.parse_args(argv)
    if why := fieldsync_missing():
        raise SystemExit(why)
    print(f"{args.docs} submissions, batch_size 100, PouchDB leveldb, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fieldsync-timeline-")))
        couch_url = stack.enter_context(apache_couchdb_node())
        peer = stack.enter_context(fieldsync_server())
        sides = {"sqlite": Side("sqlite", {}, peer=peer), "direct": Side("direct", {}, couch_url=couch_url)}
        for round_no in range(1, args.rounds + 1):
            for target, side in sides.items() if round_no % 2 else reversed(sides.items()):
                url, area, author = side.prepare(round_no)
                docs = submissions(area, args.docs, seed=round_no)
                for doc in docs:
                    doc["author"] = author
                docs_file = tmp / f"{area}.json"
                docs_file.write_text(json.dumps(docs))
                for mode in ("push", "pull"):
                    replica = tmp / f"{area}-{mode}"
                    got = timeline(mode, url, replica, docs_file if mode == "push" else None, args.timeout)
                    if got["docs"] < args.docs:
                        raise SystemExit(f"{target} {mode}: wrote {got['docs']}/{args.docs} documents")
                    runs.setdefault((target, mode), []).append(got)
                side.drop(area)
    print(f"\nmedian of {args.rounds} rounds; per request kind: how many, and the mean time the device waited")
    rates = {key: report(*key, value) for key, value in sorted(runs.items())}
    for mode in ("push", "pull"):
        print(f"sqlite/direct {mode}: {rates[('sqlite', mode)] / rates[('direct', mode)]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
