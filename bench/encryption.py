"""What sealing the answers of sensitive forms costs per pushed batch (issue 17.9).

The same batches of child protection referrals (as a device pushes them:
``new_edits=False``, the device's revisions) are written into a plain SQLite
store and into the same store wrapped by EncryptedStore, alternating, in one
run; then each is read back as a pull reads it (``_bulk_get`` of the batch).
Prints milliseconds per batch and the ratio sealed / plain. Asserts nothing.

    .venv/bin/python bench/encryption.py --batches 40 --batch-size 100
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
sys.path[:0] = [str(ROOT)]

from sync.demo import protection_referral, submission  # noqa: E402
from sync.docs import check_doc  # noqa: E402
from sync.stores.encrypted import EncryptedStore, Keyring, new_key_entry  # noqa: E402
from sync.stores.sqlite import SQLiteStore  # noqa: E402

SCOPE = "uvs-tes"


def batch(n: int, size: int) -> list[dict]:
    rng = random.Random(n)
    docs = []
    for _ in range(size):
        doc = submission(f"{SCOPE}:sub:{uuid.uuid4().hex.upper()}", "child_protection_referral", "tuya",
                         protection_referral(rng), "2026-10-12T14:30:00+08:00")
        rev = uuid.uuid4().hex
        doc["_rev"], doc["_revisions"] = f"1-{rev}", {"start": 1, "ids": [rev]}
        docs.append(check_doc(doc, new_edits=False))
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
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
