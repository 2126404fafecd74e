"""Exports of 100,000 submissions with two repeat groups over HTTP: time and peak RSS, CSV zip and XLSX.

An export must not hold its submissions in memory (issue 16: RSS stays under
300 MB for 100,000). Each measurement runs in a fresh child process that
builds the app (``create_app``, the store as ``fieldsync serve`` opens it)
and reads ``GET /api/exports/<form>`` through Flask's test client chunk by
chunk, as gunicorn would send it; the child reports its own peak RSS
(``ru_maxrss``), time to the first byte and the whole time. Peers, run in the
same script on the same data:

- the same export of the first 1,000 submissions' area-slice (``--small``),
  so the RSS ratio shows whether memory grows with the number exported;
- reading the same documents straight from the store without exporting
  (``_all_docs?include_docs=true`` in pages: SQLite's, or Apache CouchDB's over
  HTTP with ``--store couchdb``), so export time is read as a multiple of
  the bare read.

    .venv/bin/python bench/export.py [--n 100000] [--data DIR] [--store sqlite|couchdb]

The data directory is kept (``--data``): seeding 100,000 submissions takes a
few minutes and a second run reuses it. Figures are printed, nothing is asserted
but the 300 MB bound, which exits non-zero when crossed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FORM = "bench_household"
AREAS = ["uvs-tes", "uvs-naranbulag", "uvs-zavkhan", "ovr-kharkhorin", "ovr-bat-ulzii"]
SMALL_AREA = "uvs-tes"
ADMIN = ("admin", "bench-secret")
RSS_LIMIT_MB = 300
BATCH = 500


def definition() -> dict:
    """The demo's household visit with a second repeat group (the children's schooling)."""
    from schemas.examples import bundled_forms

    base = copy.deepcopy(next(d for d in bundled_forms() if d["form"] == "household_visit"))
    base["form"] = FORM
    base["version"] = 1
    base["title"] = {"en": "Household visit (benchmark)", "mn": "Өрхийн айлчлал (хэмжилт)"}
    base["fields"].append({
        "name": "schooling", "type": "repeat", "label": {"en": "Children at school", "mn": "Сургуульд сурдаг хүүхэд"},
        "fields": [
            {"name": "child_name", "type": "text", "label": {"en": "Name", "mn": "Нэр"}},
            {"name": "grade", "type": "integer", "label": {"en": "Grade", "mn": "Анги"}},
            {"name": "dormitory", "type": "select_one", "list_name": "yes_no", "label": {"en": "Lives in the dormitory",
                                                                         "mn": "Дотуур байранд амьдардаг"}},
        ]})
    return base


def settings_for(data: Path, store: str, url: str | None, prefix: str = ""):
    from server.config import Settings

    if store == "couchdb":
        return Settings(data_dir=data, admin=ADMIN, store="couchdb", couchdb_url=url,
                        couchdb_prefix=prefix or f"benchexport{data.name.rsplit('-', 1)[1]}-")
    return Settings(data_dir=data, admin=ADMIN)


def seed(data: Path, n: int, store: str, url: str | None, prefix: str = "") -> None:
    from server.services import Services
    from sync.demo import household_visit, person, seed_demo, submission
    from sync.docs import check_doc

    svc = Services.build(settings_for(data, store, url, prefix))
    svc.bootstrap_admin()
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    if svc.forms.get(FORM, 1) is None:
        svc.forms.publish(definition())
    rng = random.Random(16)
    per_area = n // len(AREAS)
    started = time.perf_counter()
    for a, area in enumerate(AREAS):
        db = svc.store.ensure(area)
        have = sum(1 for _ in db.all_docs(startkey=f"{area}:sub:", endkey=f"{area}:sub:\uffff"))
        for start in range(have, per_area, BATCH):
            docs = []
            for i in range(start, min(per_area, start + BATCH)):
                day = date(2026, 9, 1) + timedelta(days=i % 90)
                data_ = household_visit(rng, day=day)
                data_["schooling"] = [{"child_name": person(rng), "grade": rng.randint(1, 12),
                                       "dormitory": rng.choice(["yes", "no"])} for _ in range(rng.randint(0, 3))]
                doc = submission(f"{area}:sub:{a}{i:08d}", FORM, "bolormaa", data_,
                                 f"{day.isoformat()}T10:00:00+08:00")
                docs.append(check_doc(doc, new_edits=True))
            db.bulk_docs(docs)
        print(f"  seeded {area}: {per_area} submissions ({time.perf_counter() - started:.0f} s)", flush=True)
    svc.store.close()


def child(args: argparse.Namespace) -> None:
    """One measurement in this fresh process; prints one JSON line."""
    from server import create_app
    from server.services import Services

    started = time.perf_counter()
    if args.child == "read":
        svc = Services.build(settings_for(args.data, args.store, args.url))
        count, size = 0, 0
        for area in args.areas:
            db = svc.store.open(area)
            for row in db.all_docs(startkey=f"{area}:sub:", endkey=f"{area}:sub:\uffff", include_docs=True):
                count += 1
                size += len(row["doc"].get("_id", ""))
        first = None
        extra = {"docs": count}
    else:
        app = create_app(settings_for(args.data, args.store, args.url))
        client = app.test_client()
        token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
        query = "&".join([f"format={args.child}", *(f"area={a}" for a in args.areas)])
        built = time.perf_counter()
        resp = client.get(f"/api/exports/{FORM}?{query}", headers={"Authorization": f"Basic {token}"},
                          buffered=False)
        if resp.status_code != 200:
            raise SystemExit(f"export answered {resp.status_code}: {resp.get_data()[:300]!r}")
        size, first = 0, None
        out = Path(args.out) if args.out else None
        sink = out.open("wb") if out else None
        for chunk in resp.response:
            if first is None and chunk:
                first = time.perf_counter() - built
            size += len(chunk)
            if sink:
                sink.write(chunk)
        if sink:
            sink.close()
        resp.close()
        started = built
        extra = {}
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    print(json.dumps({"seconds": elapsed, "first_byte": first, "bytes": size, "peak_mb": peak, **extra}))


def measure(args: argparse.Namespace, mode: str, areas: list[str], out: str | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--data", str(args.data), "--store", args.store,
           "--areas", ",".join(areas)]
    if args.url:
        cmd += ["--url", args.url]
    if out:
        cmd += ["--out", out]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def check(out: str, fmt: str, expected: int) -> str:
    """The file read back (rows of the main table and of each repeat): the export is whole."""
    import csv
    import io
    import zipfile

    if fmt == "csv":
        with zipfile.ZipFile(out) as z:
            counts = {}
            for name in z.namelist():
                with z.open(name) as f:
                    counts[name] = sum(1 for _ in csv.reader(io.TextIOWrapper(f, encoding="utf-8-sig"))) - 1
    else:  # rows counted in each sheet's XML (openpyxl reading 100,000 rows back takes minutes)
        import re

        with zipfile.ZipFile(out) as z:
            titles = re.findall(rb'<sheet [^>]*name="([^"]+)"', z.read("xl/workbook.xml"))
            counts = {}
            for i, title in enumerate(titles, 1):
                n, tail = 0, b""
                with z.open(f"xl/worksheets/sheet{i}.xml") as f:
                    while block := f.read(1 << 20):
                        n += (tail + block).count(b"<row ") - tail.count(b"<row ")
                        tail = block[-8:]
                counts[title.decode()] = n - 1
    main = counts.get(f"{FORM}.csv", counts.get(FORM))
    if main != expected:
        raise SystemExit(f"{fmt}: {main} rows in the main table, expected {expected}: {counts}")
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000, help="the peer export's size")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--store", choices=["sqlite", "couchdb"], default="sqlite")
    parser.add_argument("--url", default=None, help="an Apache CouchDB (--store couchdb; default: start one)")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--areas", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.areas = [a for a in args.areas.split(",") if a]
        child(args)
        return
    with contextlib.ExitStack() as stack:
        if args.store == "couchdb" and not args.url:
            sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
            from servers import apache_couchdb_node  # noqa: I001 - the tests' CouchDB 3.5 (../shared/couchdb)

            args.url = stack.enter_context(apache_couchdb_node())
        run(args)


def run(args: argparse.Namespace) -> None:
    base = args.data or Path(f"/tmp/fieldsync-bench-export-{args.store}")
    results = {}
    for label, n in (("small", args.small), ("full", args.n)):
        args.data = base.with_name(f"{base.name}-{n}")
        total = n // len(AREAS) * len(AREAS)
        print(f"seeding {total:,} submissions of {FORM} (two repeats) into {args.store} at {args.data} ...",
              flush=True)
        seed(args.data, n, args.store, args.url, prefix=f"benchexport{n}-")
        read = measure(args, "read", AREAS)
        results[label] = {"n": total, "read": read}
        print(f"  {total:>7,}  read _all_docs, include_docs ({args.store}) {read['seconds']:7.1f} s"
              f"  peak RSS {read['peak_mb']:5.0f} MB", flush=True)
        for fmt in args.formats.split(","):
            out = f"/tmp/fieldsync-bench-export-out-{os.getpid()}.{'zip' if fmt == 'csv' else 'xlsx'}"
            got = measure(args, fmt, AREAS, out)
            rows = check(out, fmt, total)
            os.unlink(out)
            results[label][fmt] = got
            print(f"  {total:>7,}  export {fmt:4s} {got['seconds']:7.1f} s  first byte {got['first_byte']:6.2f} s"
                  f"  {got['bytes'] / 1e6:7.1f} MB  peak RSS {got['peak_mb']:5.0f} MB"
                  f"  x{got['seconds'] / read['seconds']:.1f} of the bare read  [{rows}]", flush=True)
    small, full = results["small"], results["full"]
    scale = full["n"] / small["n"]
    print(f"\n{full['n']:,} against {small['n']:,} submissions (x{scale:.0f}):")
    worst = 0.0
    for fmt in args.formats.split(","):
        f, s = full[fmt], small[fmt]
        worst = max(worst, f["peak_mb"])
        print(f"  {fmt:4s}: time x{f['seconds'] / s['seconds']:.1f}, peak RSS x{f['peak_mb'] / s['peak_mb']:.2f}"
              f" ({s['peak_mb']:.0f} -> {f['peak_mb']:.0f} MB), {f['seconds'] / full['n'] * 1e6:.0f} us a submission,"
              f" x{f['seconds'] / full['read']['seconds']:.1f} of reading them from {args.store}")
    print(f"peak RSS of the largest export: {worst:.0f} MB (bound {RSS_LIMIT_MB} MB)")
    if worst > RSS_LIMIT_MB:
        raise SystemExit(f"peak RSS {worst:.0f} MB is over {RSS_LIMIT_MB} MB")


if __name__ == "__main__":
    main()
