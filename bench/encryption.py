"""What sealing the answers of sensitive forms costs per pushed batch (issue 17.9).

The same batches of child protection referrals (as a device pushes them:
``new_edits=False``, the device's revisions) are written into a plain SQLite
store and into the same store wrapped by EncryptedStore, alternating, in one
run; then each is read back as a pull reads it (``_bulk_get`` of the batch).
Prints milliseconds per batch and the ratio sealed / plain. Asserts nothing.

``--http``: the same through the whole server, as a device sees it: a real
PouchDB 9 replica pushes the batches to ``fieldsync serve`` with a key and to
one without, alternating, and the time of each push (one batch, checkpoint
included) is compared.

    .venv/bin/python bench/encryption.py --batches 40 --batch-size 100
    .venv/bin/python bench/encryption.py --http --batches 20 --batch-size 100
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop")]

from sync.demo import protection_referral, submission  # noqa: E402
from sync.docs import check_doc  # noqa: E402
from sync.stores.encrypted import EncryptedStore, Keyring, new_key_entry  # noqa: E402
from sync.stores.sqlite import SQLiteStore  # noqa: E402

SCOPE = "uvs-tes"


def batch(n: int, size: int, scope: str = SCOPE) -> list[dict]:
    rng = random.Random(n)
    docs = []
    for _ in range(size):
        doc = submission(f"{scope}:sub:{uuid.uuid4().hex.upper()}", "child_protection_referral", "tuya",
                         protection_referral(rng), "2026-10-12T14:30:00+08:00")
        rev = uuid.uuid4().hex
        doc["_rev"], doc["_revisions"] = f"1-{rev}", {"start": 1, "ids": [rev]}
        docs.append(check_doc(doc, new_edits=False))
    return docs


def over_http(args: argparse.Namespace) -> None:
    from contextlib import ExitStack

    from pouch import NodeDriver
    from servers import fieldsync_server

    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        driver = stack.enter_context(NodeDriver())
        peers = {"plain": stack.enter_context(fieldsync_server()),
                 "sealed": stack.enter_context(fieldsync_server(
                     extra_env={"FIELDSYNC_ENCRYPTION_KEYS": new_key_entry("k1")}))}
        urls = {name: peer.url_with_auth + peer.new_db(SCOPE).path for name, peer in peers.items()}
        devices = {name: driver.open_replica(Path(tmp) / name) for name in peers}
        pushes = {name: [] for name in peers}
        for n in range(args.batches):
            order = list(peers) if n % 2 == 0 else list(reversed(peers))
            for name in order:
                scope = urls[name].rsplit("/", 1)[1]
                docs = [{k: v for k, v in d.items() if k not in ("_rev", "_revisions")}
                        for d in batch(n, args.batch_size, scope)]
                assert all(r.get("ok") for r in devices[name].bulk_docs(docs))
                started = time.perf_counter()
                report = devices[name].push(urls[name], batch_size=args.batch_size)
                pushes[name].append((time.perf_counter() - started) * 1000)
                assert report["result"]["docs_written"] == args.batch_size, report
        print(f"{args.batches} pushes of {args.batch_size} child protection referrals, real PouchDB 9 -> "
              "fieldsync serve (SQLite)")
        p, s = statistics.median(pushes["plain"]), statistics.median(pushes["sealed"])
        print(f"{'':<22}{'plain ms':>10}{'sealed ms':>11}{'sealed/plain':>14}")
        print(f"{'push (one batch)':<22}{p:>10.1f}{s:>11.1f}{s / p:>14.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--http", action="store_true", help="push through fieldsync serve with a real PouchDB")
    args = parser.parse_args()
    if args.http:
        over_http(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        plain_store = SQLiteStore(Path(tmp) / "plain")
        sealed_store = EncryptedStore(SQLiteStore(Path(tmp) / "sealed"), Keyring.parse(new_key_entry("k1")),
                                      lambda: {"child_protection_referral"})
        targets = {"plain": plain_store.ensure(SCOPE), "sealed": sealed_store.ensure(SCOPE)}
        write = {name: [] for name in targets}
        read = {name: [] for name in targets}
        for n in range(args.batches):
            docs = batch(n, args.batch_size)
            order = list(targets) if n % 2 == 0 else list(reversed(targets))
            for name in order:
                db = targets[name]
                copy = [dict(d) for d in docs]
                started = time.perf_counter()
                assert db.bulk_docs(copy, new_edits=False) == []
                write[name].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                got = list(db.bulk_get([{"id": d["_id"], "rev": d["_rev"]} for d in docs], revisions=True))
                read[name].append((time.perf_counter() - started) * 1000)
                assert got[0]["docs"][0]["ok"]["data"] == docs[0]["data"]
        print(f"{args.batches} batches of {args.batch_size} child protection referrals, SQLite store")
        print(f"{'':<22}{'plain ms':>10}{'sealed ms':>11}{'sealed/plain':>14}")
        for label, samples in (("push (_bulk_docs)", write), ("pull (_bulk_get)", read)):
            p, s = statistics.median(samples["plain"]), statistics.median(samples["sealed"])
            print(f"{label:<22}{p:>10.1f}{s:>11.1f}{s / p:>14.2f}")
        plain_store.close()
        sealed_store.close()


if __name__ == "__main__":
    main()
