"""The coordinators' pages with 1,000 and with 100,000 submissions in one area.

Prints figures, asserts nothing. The bar (issue 15): the submissions list and
one submission's page cost about the same whatever the area holds (the ratio
of the two p95s stays near 1), because the list reads a range of the
submission index (``sync.subindex``) and the page one document.

Data is written straight into a SQLite store (no HTTP, no gate): realistic
household visits and growth measurements (1-2 KB each), spread over a year,
20 of them flagged ``has_issues`` by a review; then the index is built
(timed: the first list view after a bulk load pays it once, like a CouchDB
view). Pages are rendered by the app in this process through Flask's test
client, logged in as the aimag's coordinator, gzip accepted as a browser
does; each page ``--rounds`` times (after a warm-up), the two areas' pages in
turns (so a busy machine slows both alike), p50/p95 in ms and the bytes sent
(gzipped) and their time at 256 kbit/s.

    .venv/bin/python bench/web_pages.py [--sizes 1000 100000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from sync.demo import DEMO_PASSWORD, child_growth, household_visit, seed_demo, submission  # noqa: E402
from sync.docs import check_doc  # noqa: E402
from sync.reviews import Reviews  # noqa: E402
from sync.subindex import SubmissionIndex  # noqa: E402

AREA = "uvs-tes"
LINK = 256_000 / 8  # bytes per second at 256 kbit/s


def fill(svc, n: int) -> list[str]:
    """``n`` submissions in AREA, written in batches of 1,000; their ids."""
    rng = random.Random(n)
    db = svc.store.open(AREA)
    made, batch = [], []
    start = date(2025, 11, 1)
    for i in range(n):
        day = start + timedelta(days=rng.randint(0, 364))
        form, data = (("child_growth", child_growth(rng, day=day)) if i % 3 == 0
                      else ("household_visit", household_visit(rng, day=day)))
        key = f"01K{i:012d}{rng.randrange(16 ** 11):011X}"[:26]
        doc = submission(f"{AREA}:sub:{key}", form, "bolormaa", data,
                         f"{day.isoformat()}T{rng.randint(8, 19):02d}:{rng.randint(0, 59):02d}:00+08:00")
        batch.append(check_doc(doc, new_edits=True))
        made.append(doc["_id"])
        if len(batch) == 1000:
            db.bulk_docs(batch)
            batch = []
    if batch:
        db.bulk_docs(batch)
    return made


def measure(client, path: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    resp = client.get(path, headers={"Accept-Encoding": "gzip"})
    body = resp.get_data()
    elapsed = (time.perf_counter() - t0) * 1000
    assert resp.status_code == 200, (path, resp.status_code)
    return elapsed, len(body)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def build(n: int) -> dict:
    """An app on a fresh store with ``n`` submissions in AREA, indexed, and a logged-in client."""
    tmp = Path(tempfile.mkdtemp(prefix=f"fieldsync-web-{n}-"))
    app = create_app(Settings(data_dir=tmp / "data"))
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    t0 = time.perf_counter()
    subs = fill(svc, n)
    load = time.perf_counter() - t0
    reviews = Reviews(svc.store, svc.gate, svc.access, svc.audit)
    oyunaa = svc.users.get("oyunaa")
    flagged = random.Random(1).sample(subs, 20)
    for subid in flagged:
        reviews.record(oyunaa, subid, status="has_issues", comment="Хаяг дутуу байна.")
    t0 = time.perf_counter()
    indexed = SubmissionIndex(svc.store, svc.forms).refresh_all(AREA)
    index_s = time.perf_counter() - t0

    client = app.test_client()
    page = client.get("/web/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/web/login", data={"name": "oyunaa", "password": DEMO_PASSWORD, "csrf_token": token})
    first = client.get(f"/web/areas/{AREA}/submissions").text
    after = re.search(r'href="/web/areas/[^"]+after=([^"&]+)', first).group(1)
    pages = {
        "list, newest 50": f"/web/areas/{AREA}/submissions",
        "list, page 2": f"/web/areas/{AREA}/submissions?after={after}",
        "list, has_issues": f"/web/areas/{AREA}/submissions?state=has_issues",
        "list, one week": f"/web/areas/{AREA}/submissions?from=2026-03-02&to=2026-03-08",
        "list, form filter": f"/web/areas/{AREA}/submissions?form=child_growth",
        "submission": f"/web/submissions/{flagged[0]}",
        "submission (other)": f"/web/submissions/{subs[len(subs) // 2]}",
    }
    for path in pages.values():
        measure(client, path)  # warm-up
    return {"n": n, "app": app, "svc": svc, "client": client, "pages": pages, "load_s": load,
            "index_s": index_s, "indexed": indexed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 100_000])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    worlds = []
    for n in args.sizes:
        print(f"-- {n:,} submissions in {AREA}", flush=True)
        w = build(n)
        worlds.append(w)
        print(f"   written in {w['load_s']:.1f} s; index built in {w['index_s']:.1f} s "
              f"({w['indexed']:,} changes, {w['indexed'] / max(w['index_s'], 1e-9):,.0f}/s)", flush=True)
    small, large = worlds
    # The two areas' pages are measured in turns, so a busy machine slows both alike.
    times = {(w["n"], name): [] for w in worlds for name in w["pages"]}
    sizes = {}
    for _ in range(args.rounds):
        for name in small["pages"]:
            for w in worlds:
                elapsed, size = measure(w["client"], w["pages"][name])
                times[(w["n"], name)].append(elapsed)
                sizes[(w["n"], name)] = size
    print()
    print(f"{'page':<20} {'p50 ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'p95 ms':>8} {'ratio':>6} {'gzip B':>8} {'at 256k':>8}")
    print(f"{'':<20} {f'{small[chr(110)]:,}':>8} {f'{large[chr(110)]:,}':>8} {f'{small[chr(110)]:,}':>8} "
          f"{f'{large[chr(110)]:,}':>8} {'p95':>6} {f'{large[chr(110)]:,}':>8} {'':>8}")
    for name in small["pages"]:
        a, b = times[(small["n"], name)], times[(large["n"], name)]
        size = sizes[(large["n"], name)]
        print(f"{name:<20} {statistics.median(a):>8.1f} {statistics.median(b):>8.1f} {p95(a):>8.1f} {p95(b):>8.1f} "
              f"{p95(b) / p95(a):>6.2f} {size:>8,} {size / LINK:>7.2f}s")
    for w in worlds:
        w["svc"].store.close()


if __name__ == "__main__":
    main()
