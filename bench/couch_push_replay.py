"""Where the gateway's push cost comes from: PouchDB's push requests, replayed without PouchDB.

Prints figures, asserts nothing. ``bench/couch_gateway.py`` measures the real
thing; this takes the PouchDB client (and its CPU on the same two cores) out, so
what is left is steadier: per batch of 100 household visits, the four requests
a PouchDB push sends (``_revs_diff``, ``_bulk_docs`` with ``new_edits=false``,
then the checkpoint's ``GET`` and ``PUT _local``), each on a new connection with
``Connection: close`` as PouchDB in Node.js sends them, one after the other:

- fieldsync: ``fieldsync serve`` on the CouchDB store, as admin, so every
  document passes the write gate's validation;
- direct:    the same requests straight to the CouchDB-compatible server.

For each side it prints wall time per batch and the CPU per batch of the
fieldsync process tree and of the CouchDB-compatible server. What the replay
showed (2026-11-23, 2 cores): fieldsync added 9 to 14 ms of wall time per
batch while using 9.5 to 11.5 ms of CPU per batch (where the two differ most,
pouchdb-server also took more CPU in that round); nothing waits on a timer, a
lock or Nagle, so only less CPU per request makes the gateway cheaper.

    .venv/bin/python bench/couch_push_replay.py [--docs 10000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop"), str(ROOT / "bench")]

from measure import tree_cpu  # noqa: E402
from servers import RemoteDb, fieldsync_couchdb_server, pouchdb_server  # noqa: E402
from submissions import submissions  # noqa: E402

BATCH = 100
CLOSE = {"Connection": "close"}  # PouchDB in Node.js (node-fetch 2, no agent) sends it


def replicated(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents as a replica pushes them: a first revision and its history."""
    for doc in docs:
        digest = hashlib.md5(orjson.dumps(doc)).hexdigest()
        doc["_rev"], doc["_revisions"] = f"1-{digest}", {"start": 1, "ids": [digest]}
    return docs


def push(db: RemoteDb, docs: list[dict[str, Any]]) -> None:
    """The requests of a PouchDB push, each on a new connection as node-fetch sends them."""
    checkpoint = f"/_local/{uuid.uuid4().hex}"
    for start in range(0, len(docs), BATCH):
        batch = docs[start:start + BATCH]
        resp = db.http("POST", "/_revs_diff", json={d["_id"]: [d["_rev"]] for d in batch}, headers=CLOSE)
        assert resp.status_code == 200, resp.status_code
        resp = db.http("POST", "/_bulk_docs", json={"docs": batch, "new_edits": False}, headers=CLOSE)
        assert resp.status_code == 201 and '"error"' not in resp.text, (resp.status_code, resp.text[:300])
        resp = db.http("GET", checkpoint, headers=CLOSE)
        body = {"last_seq": batch[-1]["_id"], "session_id": "replay", "history": []}
        if resp.status_code == 200:
            body["_rev"] = resp.json()["_rev"]
        resp = db.http("PUT", checkpoint, json=body, headers=CLOSE)
        assert resp.status_code == 201, resp.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    docs = replicated(submissions("uvs-tes", args.docs, seed=42, size="bench"))
    batches = -(-len(docs) // BATCH)
    with pouchdb_server() as couch, fieldsync_couchdb_server(couch.root) as fieldsync:
        sides = {"fieldsync": fieldsync, "direct": couch}
        for peer in sides.values():  # warm: imports, pools, the admin's password checked
            push(peer.new_db("warm"), docs[:BATCH * 3])
        print(f"{args.docs} submissions, batches of {BATCH}, one request per connection; per batch:")
        for round_ in range(1, args.rounds + 1):
            order = list(sides) if round_ % 2 else list(reversed(sides))
            for name in order:
                db = sides[name].new_db("replay")
                cpu_fs, cpu_couch, t0 = tree_cpu(fieldsync.pid), tree_cpu(couch.pid), time.perf_counter()
                push(db, docs)
                wall = (time.perf_counter() - t0) / batches * 1e3
                fs_ms = (tree_cpu(fieldsync.pid) - cpu_fs) / batches * 1e3
                couch_ms = (tree_cpu(couch.pid) - cpu_couch) / batches * 1e3
                print(f"  round {round_} {name:9s} wall {wall:5.1f} ms   CPU fieldsync {fs_ms:5.2f} ms"
                      f"   CPU pouchdb-server {couch_ms:5.2f} ms", flush=True)


if __name__ == "__main__":
    main()
