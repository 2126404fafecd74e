"""What a pushed batch costs in the SQLite store: checkpoints, and the page size.

SQLite, left to itself, copies its write-ahead log into the database file
inside the commit that takes the log past 1000 pages; the store leaves that
to a thread of its own (sync/stores/sqlite_checkpoint.py). And with SQLite's default
4 KB pages, a 1-2 KB body overflows its row of a WITHOUT ROWID table onto a
page of its own; the store makes its files with 8 KB pages. The three
variants run here in one process on fresh scopes: 10,000 submissions
(1-2 KB) written as a replica pushes them (``new_edits=false``, batches of
100), with a pause between batches for the client's share of the work.
Prints the time per batch, the part of it not spent on this thread's CPU
(fsyncs, locks) and the size of the scope's files. Figures only.

    .venv/bin/python bench/sqlite_commit.py [--docs 10000] [--pause-ms 15] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "interop")]

from submissions import submissions  # noqa: E402

from sync.docs import check_doc  # noqa: E402
from sync.stores import sqlite as sqlite_store  # noqa: E402
from sync.stores.sqlite import SQLiteStore  # noqa: E402


def batches_of(docs: list[dict], size: int) -> list[bytes]:
    rng = random.Random(1)
    for doc in docs:
        rev = f"{rng.getrandbits(128):032x}"
        doc["_rev"], doc["_revisions"] = f"1-{rev}", {"start": 1, "ids": [rev]}
    return [orjson.dumps(docs[i:i + size]) for i in range(0, len(docs), size)]


def run(raw: list[bytes], pause: float, sqlite_checkpoints: bool, page_size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="fieldsync-commit-") as tmp:
        store = SQLiteStore(tmp)
        chosen, sqlite_store.PAGE_SIZE = sqlite_store.PAGE_SIZE, page_size
        try:
            db = store.create("bench")
        finally:
            sqlite_store.PAGE_SIZE = chosen
        if sqlite_checkpoints:  # as before: SQLite's own, inside the commit
            connect = db._connect

            def with_autocheckpoint():  # type: ignore[no-untyped-def]
                conn = connect()
                conn.execute("PRAGMA wal_autocheckpoint=1000")
                return conn

            db._connect = with_autocheckpoint  # type: ignore[method-assign]
            store.checkpoints.wrote = lambda path: None  # type: ignore[method-assign]
            db.close()
        batches = [[check_doc(d, new_edits=False) for d in orjson.loads(b)] for b in raw]
        walls, waits = [], []
        for batch in batches:
            started, cpu = time.perf_counter(), time.thread_time()
            db.bulk_docs(batch, new_edits=False)
            wall = time.perf_counter() - started
            walls.append(wall * 1000)
            waits.append((wall - (time.thread_time() - cpu)) * 1000)
            time.sleep(pause)
        store.close()
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    walls.sort()
    return {"mean": statistics.mean(walls), "p95": walls[int(len(walls) * 0.95)], "max": walls[-1],
            "wait": statistics.mean(waits), "mb": size / 1e6}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--pause-ms", type=float, default=15.0, help="between batches (the client's share)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians printed")
    args = parser.parse_args(argv)

    raw = batches_of(submissions("uvs-tes", args.docs, seed=42, size="bench"), args.batch)
    variants = {  # name: (SQLite's own checkpoints, page size)
        "4 KB, checkpoint in commit": (True, 4096),
        "4 KB, checkpoint thread": (False, 4096),
        "8 KB, checkpoint thread": (False, sqlite_store.PAGE_SIZE),
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (own, page_size) in variants.items():
            results[name].append(run(raw, args.pause_ms / 1000, own, page_size))

    print(f"{args.docs} submissions in batches of {args.batch}, {args.pause_ms:g} ms between batches, "
          f"median of {args.rounds} rounds, ms per batch")
    print(f"{'':28} {'mean':>7} {'p95':>7} {'max':>7} {'waiting':>8} {'files':>8}")
    medians = {}
    for name, rounds in results.items():
        medians[name] = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        m = medians[name]
        print(f"{name:28} {m['mean']:7.2f} {m['p95']:7.2f} {m['max']:7.1f} {m['wait']:8.2f} {m['mb']:6.1f}MB")
    base, thread, store = (medians[name] for name in variants)
    print(f"checkpoint thread / in the commit (4 KB pages): mean time per batch {thread['mean'] / base['mean']:.2f}")
    print(f"8 KB / 4 KB pages (checkpoint thread): mean time per batch {store['mean'] / thread['mean']:.2f}, "
          f"files {store['mb'] / thread['mb']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
