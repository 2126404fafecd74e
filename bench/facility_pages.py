"""The WASH and scorecard pages' read in a soum with many growth visits: the facility index against a scan.

A soum's derived documents of every form share ``<area>:derived:``; with
``--children`` growth visits there, reading that range for a few dozen WASH
and scorecard values is what the pages would pay without
``sync.facility_index``. Measured in the same script on the same SQLite store:

- the peer: one scan of ``<area>:derived:`` keeping the three forms (what
  the pages did before the index);
- the index's read on a page view (``FacilityIndex.values``: a refresh that
  finds nothing new, then the ``<area>:f:`` rows);
- the index's catch-up after one new WASH visit, and its first build (once per
  area, then never again).

    .venv/bin/python bench/facility_pages.py [--children 50000] [--repeat 5]

Figures are printed with the ratio scan / index; nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync import records  # noqa: E402
from sync.facility_index import FORMS, FacilityIndex  # noqa: E402
from sync.stores.sqlite import SQLiteStore  # noqa: E402

AREA = "uvs-tes"


def growth_derived(i: int) -> dict:
    """A growth visit's derived document of realistic size (~1 KB)."""
    values = {k: round(-0.5 + (i % 7) * 0.1, 2) for k in ("zlen", "zwei", "zwfl", "zbmi", "zac")}
    values.update({f: 0 for f in ("flen", "fwei", "fwfl", "fbmi", "fac")})
    values.update(age_days=400 + i % 1400, age_months=13.1, clenhei=80.2, cmeasure="l", c9mo_flag=False,
                  cbmi=16.2, wfl_table="wfl", stunting=None, wasting=None, underweight=None,
                  weight_for_length=None, muac_class=None, acute_malnutrition=None, referral_needed=False)
    return {"_id": f"{AREA}:derived:G{i:08d}", "type": "derived", "about": f"{AREA}:sub:G{i:08d}",
            "about_rev": "1-abc", "form": "growth_visit", "form_version": 1, "submission_author": "bolormaa",
            "method": {"name": "who-2006-growth", "version": 1}, "derived": values}


def facility_derived(i: int, form: str) -> dict:
    return {"_id": f"{AREA}:derived:F{i:08d}", "type": "derived", "about": f"{AREA}:sub:F{i:08d}",
            "about_rev": "1-abc", "form": form, "form_version": 1, "submission_author": "bolormaa",
            "method": {"name": "x", "version": 1},
            "derived": {"kindergarten": f"{AREA}:kg:K{i % 2}", "visit_date": f"2026-0{1 + i % 9}-01",
                        "water_service": "basic", "sanitation_service": "limited", "hygiene_service": "basic",
                        "overall_service": "limited", "facility_key": "school~x", "cycle_no": 1 + i % 3}}


def scan(store: SQLiteStore) -> list[dict]:
    return [d for d in records.iter_docs(store.open(AREA), f"{AREA}:derived:") if d.get("form") in FORMS]


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--children", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="facility-bench-") as tmp:
        store = SQLiteStore(Path(tmp) / "data")
        db = store.ensure(AREA)
        t = time.perf_counter()
        for start in range(0, args.children, 2000):
            db.bulk_docs([growth_derived(i) for i in range(start, min(start + 2000, args.children))])
        forms = sorted(FORMS)
        db.bulk_docs([facility_derived(i, forms[i % len(forms)]) for i in range(30)])
        print(f"seeded {args.children:,} growth + 30 facility derived documents in {time.perf_counter() - t:.1f} s")
        index = FacilityIndex(store)
        t = time.perf_counter()
        index.refresh(AREA, max_changes=10**9, batch=2000)
        build = time.perf_counter() - t
        scan_s, scanned = timed(lambda: scan(store), args.repeat)
        index_s, read = timed(lambda: index.values(AREA, FORMS), args.repeat)
        assert len(scanned) == len(read) == 30, (len(scanned), len(read))
        db.bulk_docs([facility_derived(1000, "kindergarten_wash_visit")])
        t = time.perf_counter()
        assert len(index.values(AREA, FORMS)) == 31
        catch_up = time.perf_counter() - t
        print(f"scan of {AREA}:derived: (peer)        {scan_s * 1000:9.1f} ms")
        print(f"facility index read (page view)     {index_s * 1000:9.1f} ms   scan / index = {scan_s / index_s:.0f}x")
        print(f"index after one new visit           {catch_up * 1000:9.1f} ms")
        print(f"index first build (once per area)   {build * 1000:9.1f} ms")
        store.close()


if __name__ == "__main__":
    main()
