"""The soum coordinator's report page with 500 and with 50,000 children in one soum.

Prints figures, asserts nothing. The bar (issue 19): the report costs about the
same whatever the soum holds (the ratio of the two p50s stays near 1), because
the page reads one aggregate document per area (``sync.reports``) brought up to
date from the area's changes feed, never the area itself.

Data is written straight into a SQLite store (no HTTP, no gate): per child one
growth visit within the last 200 days (a fifth of them a second, older one),
drawn on WHO's reference by the demo's generator, each with its derived
document (``programmes.growth_visit.derive``, as the gate stores it); and the
demo's 57 LQAS interviews. The aggregates are then built (timed: the first
report after a bulk load pays it once, like a CouchDB view). The page
(``/web/reports?area=uvs-tes``) and its CSV are rendered by the app in this
process through Flask's test client, logged in as the aimag's coordinator,
``--rounds`` times each, the two soums in turns (a busy machine slows both
alike).

The same page and CSV are also timed as of a past day (``?as_of=``, ``--back``
days before today, 90 by default): the aggregate plus the visits a newer one
replaced since that day (``<area>:sup:<day>``, one range read per area).

The peer, in the same script: the same growth figures computed the way a
report without the aggregates would, reading the soum through
(``all_docs`` with the documents, newest visit per child on or before the
day, classes counted), at both sizes, as of today and as of the past day.

    .venv/bin/python bench/reports.py [--sizes 500 50000] [--rounds 20] [--back 90]
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
from sync.demo import DEMO_PASSWORD, growth_visit, seed_demo, submission  # noqa: E402
from sync.demo_programmes import SUPERVISION_AREAS, lqas_interview  # noqa: E402
from sync.derived import derived_doc, derived_id  # noqa: E402
from sync.docs import check_doc  # noqa: E402
from sync.reports import ReportIndex  # noqa: E402

AREA = "uvs-tes"


def fill(svc, children: int) -> int:
    """``children`` children's growth visits (with derived documents) and 57 LQAS interviews; docs written."""
    rng = random.Random(children)
    db = svc.store.open(AREA)
    today = date.today()
    batch: list[dict] = []
    written = 0

    def put(doc: dict) -> None:
        nonlocal batch, written
        batch.append(check_doc(doc, new_edits=True))
        if len(batch) >= 2000:
            db.bulk_docs(batch)
            written += len(batch)
            batch = []

    n = 0
    for child in range(children):
        days = [rng.randint(0, 200)] + ([rng.randint(201, 400)] if rng.random() < 0.2 else [])
        for ago in days:
            data = growth_visit(rng, day=today - timedelta(days=ago), child_id=f"bench-child-{child:06d}")
            data["bag"] = f"{child % 6 + 1}-р баг"
            key = f"01K{n:012d}{rng.randrange(16 ** 11):011X}"[:26]
            n += 1
            doc = submission(f"{AREA}:sub:{key}", "growth_visit", "bolormaa", data, f"{data['visit_date']}T10:00:00+08:00")
            put({**doc})
            put({"_id": derived_id(doc["_id"]), **derived_doc(doc)})
    for sa, households in SUPERVISION_AREAS:
        chances = {"fully_vaccinated": 0.8, "weighed_3_months": 0.85, "knows_ors": 0.5, "handwashing": 0.6}
        for number in range(1, 20):
            data = lqas_interview(rng, sa, households, number, today - timedelta(days=20), chances, (50.47, 93.6))
            put(submission(f"{AREA}:sub:01L{sa[0]}{number:021d}", "lqas_interview", "bolormaa", data,
                           f"{today.isoformat()}T10:00:00+08:00"))
    if batch:
        db.bulk_docs(batch)
        written += len(batch)
    return written


def full_scan(svc, as_of: date | None = None) -> dict[str, int]:
    """The peer: the soum's growth figures as of a day (today by default) from reading it through."""
    as_of = as_of or date.today()
    db = svc.store.open(AREA)
    newest: dict[str, tuple[str, str]] = {}
    derived: dict[str, dict] = {}
    subs: dict[str, dict] = {}
    for row in db.all_docs(include_docs=True):
        doc = row["doc"]
        if doc.get("type") == "derived":
            derived[doc["about"]] = doc.get("derived") or {}
        elif doc.get("type") == "submission" and doc.get("form") == "growth_visit" \
                and doc["data"]["visit_date"] <= as_of.isoformat():
            subs[row["id"]] = doc
            mark = (doc["data"]["visit_date"], row["id"])
            child = doc["data"]["child_id"]
            if child not in newest or mark > newest[child]:
                newest[child] = mark
    since = (as_of - timedelta(days=90)).isoformat()
    counts = {"children": len(newest), "measured": 0}
    for day, sid in newest.values():
        if day >= since:
            counts["measured"] += 1
            for name in ("stunting", "wasting", "underweight"):
                if derived.get(sid, {}).get(name) in ("moderate", "severe"):
                    counts[name] = counts.get(name, 0) + 1
    return counts


def build(children: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"fieldsync-reports-{children}-"))
    app = create_app(Settings(data_dir=tmp / "data"))
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    t0 = time.perf_counter()
    docs = fill(svc, children)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    changes = ReportIndex(svc.store).refresh_all(AREA)
    index_s = time.perf_counter() - t0
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/web/login").text).group(1)
    client.post("/web/login", data={"name": "oyunaa", "password": DEMO_PASSWORD, "csrf_token": token})
    page = client.get(f"/web/reports?area={AREA}")
    assert page.status_code == 200, page.status_code
    total = re.search(r"All bags</td>\s*<td class=\"num\">(\d+)</td>", page.text)
    return {"n": children, "svc": svc, "client": client, "docs": docs, "load_s": load, "index_s": index_s,
            "changes": changes, "shown_children": int(total.group(1)) if total else None}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[500, 50_000])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--back", type=int, default=90, help="the past day: this many days before today")
    args = parser.parse_args()
    past = date.today() - timedelta(days=args.back)
    worlds = []
    for n in args.sizes:
        print(f"-- {n:,} children in {AREA}", flush=True)
        w = build(n)
        worlds.append(w)
        print(f"   {w['docs']:,} documents written in {w['load_s']:.1f} s; aggregates built in {w['index_s']:.1f} s "
              f"({w['changes']:,} changes, {w['changes'] / max(w['index_s'], 1e-9):,.0f}/s); "
              f"the page counts {w['shown_children']:,} children", flush=True)
        as_of = w["client"].get(f"/web/reports/growth.csv?area={AREA}&as_of={past.isoformat()}")
        assert as_of.status_code == 200, as_of.status_code
        print(f"   as of {past}: the page counts {as_of.text.splitlines()[1].split(',')[2]} children, "
              f"{len(ReportIndex(w['svc'].store).superseded(ReportIndex(w['svc'].store).metas([AREA]), past)[AREA])} "
              "days of replaced visits read", flush=True)
    paths = {"report page": f"/web/reports?area={AREA}", "growth CSV": f"/web/reports/growth.csv?area={AREA}",
             f"page as of -{args.back}d": f"/web/reports?area={AREA}&as_of={past.isoformat()}",
             f"CSV as of -{args.back}d": f"/web/reports/growth.csv?area={AREA}&as_of={past.isoformat()}"}
    peers = {"full scan (peer)": None, f"full scan as of -{args.back}d": past}
    times: dict[tuple[int, str], list[float]] = {(w["n"], p): [] for w in worlds for p in [*paths, *peers]}
    for _ in range(args.rounds):
        for name, path in paths.items():
            for w in worlds:
                times[(w["n"], name)].append(timed(lambda w=w, path=path: w["client"].get(path).get_data()))
    for _ in range(max(2, args.rounds // 5)):
        for w in worlds:
            for name, day in peers.items():
                times[(w["n"], name)].append(timed(lambda w=w, day=day: full_scan(w["svc"], day)))
    small, large = worlds
    print(f"\n{'':22}{small['n']:>12,} ch. p50{large['n']:>12,} ch. p50{'ratio':>10}")
    for name in [*paths, *peers]:
        a = statistics.median(times[(small["n"], name)])
        b = statistics.median(times[(large["n"], name)])
        print(f"{name:22}{a:>15.1f} ms{b:>15.1f} ms{b / a:>9.2f}x")
    for page_name, peer in (("report page", "full scan (peer)"),
                            (f"page as of -{args.back}d", f"full scan as of -{args.back}d")):
        page = statistics.median(times[(large["n"], page_name)])
        scan = statistics.median(times[(large["n"], peer)])
        print(f"at {large['n']:,} children the {page_name} takes {page:.1f} ms; reading the soum through to count "
              f"the same figures takes {scan:.0f} ms ({scan / page:.0f}x the page)")


if __name__ == "__main__":
    main()
