"""Does any ``_changes`` feed skip a document while others write? ``missed: x of N`` per feed.

Readers follow every feed fieldsync serves (``/db/<scope>`` and
``/sync/<user>``; normal, longpoll and continuous; with ``limit`` and with
``filter=_doc_ids``) from sequence 0, each resuming from the ``last_seq`` of
its previous answer as PouchDB does, while writer threads write ``--rounds``
x ``--docs`` documents (one per request, or ``--batch``), through fieldsync and around it (on
CouchDB straight into the scope's database through the cluster's other nodes;
on SQLite through a second store on the same files). When the writes are
done, each reader reads on until it was shown everything, or until ``--settle``
seconds pass without its being shown one more; whatever it was never shown is
``missed``. Prints, per backend and feed:

    sqlite           db normal                missed: 0 of 6667  (412 reads)

Backends: ``sqlite`` always; ``couchdb`` (one node) and ``couchdb-cluster``
(fieldsync on the first node, writers through the other two) when their URLs
are given, by flag or by the variables the test suite uses::

    FIELDSYNC_TEST_COUCHDB_URL=http://admin:password@127.0.0.1:31040 \\
    FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS=http://admin:password@127.0.0.1:15984,\\
http://admin:password@127.0.0.1:15985,http://admin:password@127.0.0.1:15986 \\
        .venv/bin/python bench/feed_skip.py [--rounds 10] [--docs 1000] [--threads 16] [--batch 1]

The figures are printed, never asserted; ``tests/test_feed_skip.py`` asserts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from feed_follow import FEEDS, feed_world, follow_while_writing  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--docs", type=int, default=1000, help="documents per round")
    parser.add_argument("--threads", type=int, default=16, help="writer threads")
    parser.add_argument("--batch", type=int, default=1, help="documents per write request")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds a reader may go without being shown one more document")
    parser.add_argument("--couchdb", default=os.environ.get("FIELDSYNC_TEST_COUCHDB_URL", ""))
    parser.add_argument("--cluster", default=os.environ.get("FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS", ""),
                        help="comma-separated node URLs")
    parser.add_argument("--backends", default="sqlite,couchdb,couchdb-cluster")
    parser.add_argument("--feeds", default="", help="comma-separated feed names (default: all)")
    args = parser.parse_args()

    urls = {"sqlite": [], "couchdb": [args.couchdb] if args.couchdb else [],
            "couchdb-cluster": [u.strip() for u in args.cluster.split(",") if u.strip()]}
    specs = [s for s in FEEDS if not args.feeds or s.name in args.feeds.split(",")]
    total = 0
    for backend in args.backends.split(","):
        if backend != "sqlite" and not urls[backend]:
            print(f"{backend:16} skipped: no URL given")
            continue
        with tempfile.TemporaryDirectory(prefix="feed-skip-") as tmp, \
                feed_world(backend, Path(tmp) / "data", urls[backend]) as world:
            started = time.monotonic()
            outcomes = follow_while_writing(world, specs, rounds=args.rounds, per_round=args.docs,
                                            threads=args.threads, batch=args.batch,
                                            settle=args.settle)
            for outcome in outcomes:
                print(outcome.line(backend), flush=True)
                total += outcome.missed
            print(f"{backend:16} {args.rounds} x {args.docs} writes, {len(specs)} readers: "
                  f"{time.monotonic() - started:.1f} s", flush=True)
    print(f"missed in all: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
