"""Does a worker's sync get slower as the server holds more areas?

Prints figures, asserts nothing (timings belong in benchmarks, not tests).
The bar (issue 4): a worker's incremental pull when the server holds 200
areas is within 20% of the same pull when it holds 20.

Set-up, once per size: a fresh SQLite data directory with N soums (in aimags
of ten), each a scope holding ``--docs`` valid household visits (50 by
default); one worker assigned to one soum, whose device has pulled everything
once. Then, ``--runs`` times: ``--new`` visits (20) arrive in the worker's
soum, and the device pulls them as PouchDB does, through ``/sync/<worker>``
over Flask's test client with Basic credentials: ``_changes`` since its
checkpoint, then ``_bulk_get`` of what changed. The median of the runs is
reported, and the same for the whole replication round (``GET /sync/<user>``,
the ``_local`` checkpoint read and write, ``_changes``, ``_bulk_get``).

    .venv/bin/python bench/replica_scaling.py [--sizes 20 200] [--docs 50] [--new 20] [--runs 15]
    .venv/bin/python bench/replica_scaling.py --profile   # cProfile of the big size, top 25
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from sync.demo import household_visit, submission  # noqa: E402
from sync.docs import check_doc  # noqa: E402

WORKER, PASSWORD = "worker", "worker-password-1"
HEADERS = {"Authorization": "Basic " + base64.b64encode(f"{WORKER}:{PASSWORD}".encode()).decode()}


class World:
    """A server holding ``areas`` soums of ``docs`` visits each, and the worker's device state."""

    def __init__(self, areas: int, docs: int):
        self.tmp = Path(tempfile.mkdtemp(prefix="replica-scaling-"))
        self.app = create_app(Settings(data_dir=self.tmp / "data", admin=("admin", "admin-password-1")))
        self.svc = self.app.extensions["fieldsync"]
        self.client = self.app.test_client(use_cookies=False)
        self.rng = random.Random(areas)
        self.counter = 0
        aimags = max(1, areas // 10)
        for a in range(aimags):
            self.svc.areas.add(f"aimag-{a:03d}", name_en=f"Aimag {a}", level="aimag")
        self.soums = [f"soum-{s:04d}" for s in range(areas)]
        for s, code in enumerate(self.soums):
            self.svc.areas.add(code, name_en=f"Soum {s}", parent=f"aimag-{s % aimags:03d}", level="soum",
                               holds_data=True)
            self.add_docs(code, docs)
        self.mine = self.soums[0]
        self.svc.users.add(WORKER, "worker", [self.mine], PASSWORD)
        self.checkpoint = 0
        self.pull()  # the device's first, full pull

    def add_docs(self, scope: str, count: int) -> None:
        batch = []
        for _ in range(count):
            self.counter += 1
            key = "01K" + "".join(self.rng.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(23))
            doc = submission(f"{scope}:sub:{key}", "household_visit", WORKER, household_visit(self.rng),
                             "2026-10-02T10:00:00+08:00")
            batch.append(check_doc(doc, new_edits=True))
        self.svc.store.open(scope).bulk_docs(batch)

    def request(self, method: str, path: str, **kw):
        response = self.client.open(f"/sync/{WORKER}{path}", method=method, headers=HEADERS, **kw)
        body = response.get_data()
        response.close()
        assert response.status_code in (200, 201), (path, response.status_code, body[:200])
        return json.loads(body)

    def pull(self) -> int:
        """``_changes`` since the checkpoint, then ``_bulk_get`` of those revisions, in batches of
        100 as PouchDB does, until the feed is dry; returns how many revisions came."""
        count = 0
        while True:
            feed = self.request("GET", "/_changes", query_string={
                "since": self.checkpoint, "style": "all_docs", "limit": 100})
            wanted = [{"id": r["id"], "rev": c["rev"]} for r in feed["results"] for c in r["changes"]]
            if wanted:
                got = self.request("POST", "/_bulk_get", query_string={"revs": "true", "latest": "true"},
                                   json={"docs": wanted})
                assert all("ok" in d for r in got["results"] for d in r["docs"])
            self.checkpoint = feed["last_seq"]
            count += len(wanted)
            if len(feed["results"]) < 100:
                return count

    def round(self) -> int:
        """What PouchDB does around the pull: the database, the checkpoint before and after."""
        self.request("GET", "")
        try:
            rev = self.request("GET", "/_local/bench").get("_rev")
        except AssertionError:
            rev = None
        n = self.pull()
        self.request("PUT", "/_local/bench", json={"_rev": rev, "last_seq": self.checkpoint} if rev
                     else {"last_seq": self.checkpoint})
        return n

    def close(self) -> None:
        self.svc.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def measure(world: World, new: int, runs: int, full: bool) -> float:
    times = []
    for _ in range(runs):
        world.add_docs(world.mine, new)
        started = time.perf_counter()
        pulled = world.round() if full else world.pull()
        times.append(time.perf_counter() - started)
        assert pulled == new, pulled
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=[20, 200], metavar=("SMALL", "BIG"))
    parser.add_argument("--docs", type=int, default=50, help="documents per area")
    parser.add_argument("--new", type=int, default=20, help="new documents per incremental pull")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    worlds = {}
    for size in args.sizes:
        started = time.perf_counter()
        worlds[size] = World(size, args.docs)
        print(f"{size:>4} areas x {args.docs} docs set up in {time.perf_counter() - started:.1f}s")
    try:
        if args.profile:
            world = worlds[args.sizes[1]]
            profiler = cProfile.Profile()
            profiler.enable()
            measure(world, args.new, args.runs, full=True)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            return
        for label, full in (("_changes + _bulk_get", False), ("whole round (info, _local, pull)", True)):
            for world in worlds.values():  # warm both before measuring either
                measure(world, args.new, 2, full)
            medians = {size: measure(world, args.new, args.runs, full) for size, world in worlds.items()}
            small, big = (medians[s] for s in args.sizes)
            ratio = big / small
            print(f"{label}: {args.new} new docs, median of {args.runs} runs")
            for size in args.sizes:
                print(f"  {size:>4} areas: {medians[size] * 1000:7.2f} ms")
            verdict = "within" if ratio <= 1.2 else "OVER"
            print(f"  ratio {args.sizes[1]}/{args.sizes[0]}: {ratio:.2f} ({verdict} the 20% bar)")
    finally:
        for world in worlds.values():
            world.close()


if __name__ == "__main__":
    main()
