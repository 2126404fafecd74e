"""What conflict handling costs a push: edits with and without the merge-base keeping.

Prints figures, asserts nothing. The write gate keeps, for every edit that
replaces a leaf, that leaf's body in ``_merge_bases`` (one read and one write
per batch), and settles each document the batch put in conflict. First
revisions (most of a push) cost nothing; this measures what edits cost.

In this process, on the demo's areas and users, through ``WriteGate.write``
as the worker bolormaa, batches of ``--batch`` family records:

- new:       first revisions (nothing replaced: the hook looks and returns)
- edits:     a second revision of each, with the hook (bases kept)
- edits-off: the same edits with the hook switched off (``gate.conflicts = None``)
- merges:    a disjoint branch of each edited record: every document in the
             batch is merged by the server right after the write

    .venv/bin/python bench/merge_bases.py [--batch 100] [--batches 5] [--rounds 3]
                                         [--couchdb URL]   # also on a CouchDB store
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from server.config import Settings  # noqa: E402
from server.services import Services  # noqa: E402
from sync import ids  # noqa: E402
from sync.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from sync.docs import check_doc  # noqa: E402

AREA, WORKER = "uvs-tes", "bolormaa"


def revision(body: dict, parents: list[str]) -> dict:
    digest = hashlib.md5(orjson.dumps([parents[:1], body], option=orjson.OPT_SORT_KEYS)).hexdigest()
    gen = len(parents) + 1
    return {**copy.deepcopy(body), "_rev": f"{gen}-{digest}",
            "_revisions": {"start": gen, "ids": [digest, *(p.split("-", 1)[1] for p in parents)]}}


def family(n: int) -> dict:
    return {"_id": f"{AREA}:fam:{ids.new_ulid()}", "type": "family", "name": f"Гэр бүл {n}",
            "bag": "2-р баг", "remarks": "Өвөлжөөндөө бэлтгэлтэй." * 4, "members": n % 9,
            "location": {"lat": 50.47, "lon": 93.6}}


def write(svc: Services, docs: list[dict]) -> float:
    user = svc.users.get(WORKER)
    db = svc.store.open(AREA)
    batch = [check_doc(copy.deepcopy(d), new_edits=False) for d in docs]
    start = time.perf_counter()
    answers = svc.gate.write(user, db, batch, new_edits=False)
    took = time.perf_counter() - start
    assert answers == [], answers[:2]
    return took


def round_(svc: Services, batch: int, batches: int) -> dict[str, float]:
    """Median seconds per batch of each kind of write."""
    times: dict[str, list[float]] = {"new": [], "edits": [], "edits-off": [], "merges": []}
    hook = svc.gate.conflicts
    for b in range(batches):
        firsts = [revision(family(n), []) for n in range(batch)]
        times["new"].append(write(svc, firsts))
        edits = [revision({**{k: v for k, v in f.items() if not k.startswith("_r")}, "bag": "3-р баг"},
                          [f["_rev"]]) for f in firsts]
        if b % 2:
            svc.gate.conflicts = None
            times["edits-off"].append(write(svc, edits))
            svc.gate.conflicts = hook
            continue
        times["edits"].append(write(svc, edits))
        branches = [revision({**{k: v for k, v in f.items() if not k.startswith("_r")}, "members": 99},
                             [f["_rev"]]) for f in firsts]
        times["merges"].append(write(svc, branches))
    return {k: statistics.median(v) for k, v in times.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--couchdb", default=None, help="also run on this CouchDB (admin URL)")
    args = parser.parse_args()
    stores = [("sqlite", {})]
    if args.couchdb:
        stores.append(("couchdb", {"store": "couchdb", "couchdb_url": args.couchdb}))
    print(f"batches of {args.batch} family records through the write gate as {WORKER}; "
          f"median ms per batch over {args.rounds} rounds")
    for name, extra in stores:
        with tempfile.TemporaryDirectory() as tmp:
            prefix = f"benchmb{secrets.token_hex(3)}-"
            svc = Services.build(Settings(data_dir=Path(tmp) / "data", admin=("admin", DEMO_PASSWORD),
                                          couchdb_prefix=prefix, **extra))
            try:
                seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
                rounds = [round_(svc, args.batch, args.batches) for _ in range(args.rounds)]
                med = {k: statistics.median(r[k] for r in rounds) * 1000 for k in rounds[0]}
                print(f"{name:8} new {med['new']:7.1f}   edits {med['edits']:7.1f}   "
                      f"edits without the hook {med['edits-off']:7.1f} "
                      f"({med['edits'] / med['edits-off']:.2f}x)   "
                      f"disjoint branches merged {med['merges']:7.1f} ({med['merges'] / args.batch:.1f} per doc)")
            finally:
                if name == "couchdb":
                    for scope in svc.store.names():
                        svc.store.delete(scope)
                svc.store.close()


if __name__ == "__main__":
    main()
