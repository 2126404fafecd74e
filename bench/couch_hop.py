"""What one proxied request costs: ``GET /db/<scope>/_local/x`` through fieldsync on the
CouchDB store, against the same request straight to the CouchDB-compatible server.

Prints figures, asserts nothing. One request at a time, with ``Connection: close``
as PouchDB's Node fetch sends it; CPU is read from /proc for each server process
tree, so the per-request CPU of fieldsync (gunicorn, Flask, auth, the CouchDB
client) is seen apart from the server behind it.

    .venv/bin/python bench/couch_hop.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from measure import tree_cpu  # noqa: E402
from servers import fieldsync_couchdb_server, pouchdb_server  # noqa: E402


def timed_gets(session: requests.Session, url: str, count: int, pids: list[int]) -> tuple[float, list[float]]:
    for _ in range(50):  # warm: pools, caches, the database seen to exist
        session.get(url, headers={"Connection": "close"}).raise_for_status()
    cpu = [tree_cpu(pid) for pid in pids]
    start = time.perf_counter()
    for _ in range(count):
        session.get(url, headers={"Connection": "close"}).raise_for_status()
    wall = (time.perf_counter() - start) / count
    return wall, [(tree_cpu(pid) - before) / count for pid, before in zip(pids, cpu, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with pouchdb_server() as couch:
        url = f"http://127.0.0.1:{couch.port}"
        with fieldsync_couchdb_server(url) as fs:
            through = requests.Session()
            through.auth = ("admin", "secret")
            base = f"http://127.0.0.1:{fs.port}/db/hop"
            through.put(base).raise_for_status()
            through.put(base + "/_local/x", json={"a": 1}).raise_for_status()
            wall, (fs_cpu, couch_cpu) = timed_gets(through, base + "/_local/x", args.requests, [fs.pid, couch.pid])
            direct = requests.Session()
            direct.put(url + "/hop-direct").raise_for_status()
            direct.put(url + "/hop-direct/_local/x", json={"a": 1}).raise_for_status()
            d_wall, (d_couch,) = timed_gets(direct, url + "/hop-direct/_local/x", args.requests, [couch.pid])
    print(f"{args.requests} GET _local, one at a time")
    print(f"  through fieldsync  {wall * 1000:6.2f} ms/request   CPU fieldsync {fs_cpu * 1000:.2f} ms, "
          f"server {couch_cpu * 1000:.2f} ms")
    print(f"  straight           {d_wall * 1000:6.2f} ms/request   CPU server {d_couch * 1000:.2f} ms")
    print(f"  the hop adds {(wall - d_wall) * 1000:.2f} ms per request")


if __name__ == "__main__":
    main()
