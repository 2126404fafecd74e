"""A CouchDB node killed in the middle of a PouchDB push and pull through ``/sync/<user>``.

Starts a 3-node Apache CouchDB 3.5 cluster of its own (``../shared/couchdb``,
``n = 3``, ``q = 2``), puts the demo in it and serves it with one
``fieldsync serve`` given every node (``FIELDSYNC_COUCHDB_URL`` with three
comma-separated URLs, node 1 first). Then, per case and round, a PouchDB 9
device pushes 400 submissions while another pulls 300, both one-shot in
batches of 10 (``tests/cluster_sync.py``), and:

* ``none``: nothing is killed (for comparison);
* ``own``: node 1, the node the app server is using, is killed (SIGKILL) once
  a quarter of the push is stored, and started again 3 s later;
* ``other``: node 3 is killed and started again the same way;
* ``single-url``: as ``own``, but the app server was given node 1 only.

Prints, per case, each round: whether each replication completed, the 5xx
answers the app server gave, how long the replications took, the longest
time the documents stored on the server (push) and on the pulling device
(pull) stopped growing after the kill (for ``none``, between any two rises),
and the slowest request::

    .venv/bin/python bench/node_death.py [--rounds 3] [--cases none,own,other,single-url]

The figures are printed, never asserted; ``tests/test_cluster.py`` asserts.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop")]

from cluster_sync import demo_on_cluster, sync_through_node_death  # noqa: E402
from pouch import NodeDriver  # noqa: E402
from servers import apache_couchdb_cluster, couchdb_package  # noqa: E402

CASES = {"none": (None, True), "own": (1, True), "other": (3, True), "single-url": (1, False)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--down", type=float, default=3.0, help="seconds the node stays dead")
    args = parser.parse_args()
    if not couchdb_package():
        print("no ../shared/couchdb: nothing to start a cluster from", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="node-death-"))
    counter = itertools.count()
    with NodeDriver() as driver, apache_couchdb_cluster() as cluster:
        print(f"cluster: {', '.join(u.split('@')[-1] for u in cluster.urls)}; push 400, pull 300, batches of 10;"
              f" the node is started again {args.down:.0f} s after it is killed", flush=True)

        def new_replica():
            replica = driver.open_replica(tmp / f"replica-{next(counter)}")
            replica.replicate_timeout = 240
            return replica

        for case in args.cases.split(","):
            kill, every_node = CASES[case]
            stalls: list[float] = []
            for round_ in range(args.rounds):
                urls = ",".join(cluster.urls) if every_node else cluster.urls[0]
                with demo_on_cluster(tmp / f"{case}-{round_}", [urls]) as (server,):
                    out = sync_through_node_death(server, cluster.urls, new_replica, cluster, kill=kill,
                                                  down_seconds=args.down)
                states = [r["state"] if isinstance(r, dict) else type(r).__name__ for r in (out.push, out.pull)]
                errors = [r for r in out.requests if r[0] >= 500]
                slowest = max(out.requests, key=lambda r: r[3]) if out.requests else (0, "", "", 0.0)
                stalls.append(max(out.push_still, out.pull_still))
                print(f"{case:<11} round {round_ + 1}: push {states[0]} in {out.push_took:5.1f} s, "
                      f"pull {states[1]} in {out.pull_took:5.1f} s; 5xx: {len(errors)}; still after the kill: "
                      f"push {out.push_still:4.2f} s, pull {out.pull_still:4.2f} s; slowest request "
                      f"{slowest[3]:4.2f} s ({slowest[1]} {slowest[2].split('?')[0][:40]})", flush=True)
            print(f"{case:<11} median longest stall {statistics.median(stalls):.2f} s, worst {max(stalls):.2f} s",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
