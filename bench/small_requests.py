"""What one small request costs the server, made the way PouchDB makes it in Node.js.

PouchDB 9 in Node.js fetches with node-fetch 2 and no agent, which sends
``Connection: close``: every request of a replication is a new connection. A
push of 100 documents is four such requests (``_revs_diff``, ``_bulk_docs``,
then the checkpoint's ``GET`` and ``PUT``), so what a server pays per
connection is paid four times a batch. Each round sends the same checkpoint
``GET _local/...`` with node-fetch, one after the other, to fieldsync
(gunicorn, SQLite) and to pouchdb-server in the same run, and prints the
client's wall time per request and the server's CPU per request (its process
tree, psutil). Figures only; nothing is asserted.

    .venv/bin/python bench/small_requests.py [--requests 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop")]

from measure import tree_cpu  # noqa: E402
from servers import fieldsync_server, pouchdb_server  # noqa: E402

NODE_FETCH = ROOT / "tests" / "interop" / "node_modules" / "node-fetch"
CHECKPOINT = {"session_id": "s", "last_seq": "100", "replicator": "pouchdb", "version": 1,
              "history": [{"last_seq": str(n), "session_id": "s"} for n in range(5)]}

# The loop PouchDB's http adapter runs: node-fetch, no agent, the body read as JSON.
LOOP = """
const fetch = require(process.argv[1]);
const [url, auth, n] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const headers = {Accept: 'application/json'};
if (auth) headers.Authorization = 'Basic ' + Buffer.from(auth).toString('base64');
(async () => {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const response = await fetch(url, {headers});
    await response.json();
    if (response.status !== 200) throw new Error('status ' + response.status);
  }
  console.log(Number(process.hrtime.bigint() - started) / 1e3 / n);
})().catch((err) => { console.error(err); process.exit(1); });
"""


def one_round(url: str, auth: str, pid: int, count: int) -> tuple[float, float]:
    """(client wall µs, server CPU µs) per request."""
    before = tree_cpu(pid)
    done = subprocess.run(["node", "-e", LOOP, str(NODE_FETCH), url, auth, str(count)],
                          capture_output=True, text=True, timeout=600, check=True)
    return float(done.stdout.strip()), (tree_cpu(pid) - before) / count * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, alternating servers (default 5)")
    args = parser.parse_args(argv)

    with fieldsync_server() as fieldsync, pouchdb_server() as reference:
        targets = []
        for peer in (fieldsync, reference):
            db = peer.new_db("small")
            url = f"{db.url}/_local/checkpoint"
            requests.put(url, json=CHECKPOINT, auth=peer.auth, timeout=30).raise_for_status()
            auth = ":".join(peer.auth) if peer.auth else ""
            one_round(url, auth, peer.pid, 50)  # warm up: first login, caches
            targets.append((peer.name, url, auth, peer.pid))
        results: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in targets}
        for _ in range(args.rounds):
            for name, url, auth, pid in targets:
                results[name].append(one_round(url, auth, pid, args.requests))

    print(f"GET _local with node-fetch (a new connection each), {args.requests} x {args.rounds} rounds")
    print(f"{'':16} {'wall us/request':>16} {'server CPU us/request':>22}   (median; best)")
    for name, figures in results.items():
        walls, cpus = [f[0] for f in figures], [f[1] for f in figures]
        print(f"{name:16} {statistics.median(walls):10.0f} ({min(walls):4.0f}) "
              f"{statistics.median(cpus):15.0f} ({min(cpus):4.0f})")
    mine, theirs = results[targets[0][0]], results[targets[1][0]]
    print(f"fieldsync / pouchdb-server: wall {statistics.median(f[0] for f in mine) / statistics.median(f[0] for f in theirs):.2f}, "
          f"server CPU {statistics.median(f[1] for f in mine) / statistics.median(f[1] for f in theirs):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
