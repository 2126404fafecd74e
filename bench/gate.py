"""What the write gate costs a push: the same batches with and without it, same process.

Prints figures, asserts nothing (timings belong in benchmarks, not tests).
The bar (issue 3): the gate may cost at most 25% of push throughput.

Engine, in this process, on fresh SQLite scopes (one per run) and the same
household_visit submissions (1-2 KB, valid, as a replicator sends them with
``new_edits=false`` in batches of 100):

- plain:  ``db.bulk_docs(batch, new_edits=False)``
- admin:  ``WriteGate.write(admin, db, batch, new_edits=False)``: validation
  against the form version, no access checks
- worker: the same as the worker bolormaa: access (area, author, owner of
  existing submissions) and validation, what ``/sync/bolormaa`` does

HTTP (``--http``): a real PouchDB 9 replica pushes to ``/sync/bolormaa`` of
``fieldsync serve`` (gunicorn, SQLite) and of the same server with the gate
replaced by a pass-through (this script serves it, ``--serve-ungated``), so
everything else (HTTP, JSON, routing, the user's replica) is the same.

    .venv/bin/python bench/gate.py [--docs 10000] [--batch 100] [--rounds 3] [--http [--http-docs 5000]]
    .venv/bin/python bench/gate.py --profile     # cProfile of the worker run, top 25
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop")]

from ulid import ULID  # noqa: E402

from server.config import Settings  # noqa: E402
from server.services import Services  # noqa: E402
from sync.accounts.users import User  # noqa: E402
from sync.demo import DEMO_PASSWORD, household_visit, seed_demo, submission  # noqa: E402
from sync.docs import check_doc  # noqa: E402

AREA, WORKER = "uvs-tes", "bolormaa"


def make_docs(count: int, seed: int = 42) -> list[dict]:
    """Valid household visits by bolormaa in uvs-tes, with revisions as a replicator sends them."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 8, tzinfo=UTC)
    docs = []
    for n in range(count):
        created = start + timedelta(minutes=5 * n)
        data = household_visit(rng, centre=(50.47, 93.6), day=date(2026, 10, 1) + timedelta(days=n % 40))
        doc = submission(f"{AREA}:sub:{ULID.from_datetime(created)}", "household_visit", WORKER, data,
                         created.isoformat())
        rev = f"{rng.getrandbits(128):032x}"
        doc["_rev"] = f"1-{rev}"
        doc["_revisions"] = {"start": 1, "ids": [rev]}
        docs.append(doc)
    return docs


def seeded(path: Path) -> Path:
    svc = Services.build(Settings(data_dir=path))
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    svc.store.close()
    return path


def batches_of(docs: list[dict], size: int) -> list[list[dict]]:
    """Checked copies, as the HTTP layer hands them over (not part of the timing)."""
    return [[check_doc(copy.deepcopy(d), new_edits=False) for d in docs[i:i + size]]
            for i in range(0, len(docs), size)]


def run_engine(kind: str, template: Path, work: Path, docs: list[dict], size: int,
               profile: cProfile.Profile | None = None) -> float:
    """docs/s of one run of ``kind`` (plain, admin, worker) into a fresh uvs-tes scope."""
    data = work / f"{kind}-{time.monotonic_ns()}"
    shutil.copytree(template, data)
    svc = Services.build(Settings(data_dir=data))
    db = svc.store.ensure(AREA)
    user = svc.users.get(WORKER) if kind == "worker" else User("admin", "admin")
    batches = batches_of(docs, size)
    svc.forms.snapshot()  # the forms are read once per app server, not per run
    if profile:
        profile.enable()
    started = time.perf_counter()
    for batch in batches:
        if kind == "plain":
            answer = db.bulk_docs(batch, new_edits=False)
        else:
            answer = svc.gate.write(user, db, batch, new_edits=False)
        if answer:
            raise SystemExit(f"{kind}: refused {answer[:2]}")
    elapsed = time.perf_counter() - started
    if profile:
        profile.disable()
    if db.info()["doc_count"] != len(docs):
        raise SystemExit(f"{kind}: stored {db.info()['doc_count']} of {len(docs)}")
    svc.store.close()
    shutil.rmtree(data)
    return len(docs) / elapsed


def engine(args: argparse.Namespace, tmp: Path) -> None:
    docs = make_docs(args.docs)
    template = seeded(tmp / "template")
    kinds = ["plain", "admin", "worker"]
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    run_engine("plain", template, tmp, docs[:500], args.batch)  # warm caches, compile the form
    for _ in range(args.rounds):
        for kind in kinds:  # interleaved, so drift hits all alike
            rates[kind].append(run_engine(kind, template, tmp, docs, args.batch))
    print(f"engine: {args.docs} household_visit submissions, batches of {args.batch}, new_edits=false, "
          f"median of {args.rounds} rounds (fresh SQLite scope each)")
    plain = statistics.median(rates["plain"])
    print(f"  {'plain bulk_docs':28} {plain:8.0f} docs/s")
    for kind in ("admin", "worker"):
        rate = statistics.median(rates[kind])
        print(f"  {'gate as ' + kind:28} {rate:8.0f} docs/s   gate cost {1 - rate / plain:6.1%}   "
              f"time x{plain / rate:.2f}")


def profile_worker(args: argparse.Namespace, tmp: Path) -> None:
    docs = make_docs(args.docs)
    template = seeded(tmp / "template")
    run_engine("worker", template, tmp, docs[:500], args.batch)
    prof = cProfile.Profile()
    run_engine("worker", template, tmp, docs, args.batch, prof)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


# -- over HTTP, with a real PouchDB replica -----------------------------------------------------


def ungated_app():
    """The fieldsync app with a pass-through gate: the reference for the HTTP figures."""
    from server import create_app

    class NoGate:
        def write(self, user, db, docs, *, new_edits):
            return db.bulk_docs(docs, new_edits=new_edits)

        def refuse(self, user, docs, *, new_edits, reason):
            raise AssertionError("the benchmark sends only documents of the worker's area")

    app = create_app()
    app.extensions["fieldsync"].gate = NoGate()
    return app


def serve_ungated(port: int, data: str) -> None:
    from server.serving import serve

    os.environ["FIELDSYNC_DATA_DIR"] = data
    serve(ungated_app, "127.0.0.1", port, 2, 16, quiet=True)


def http(args: argparse.Namespace, tmp: Path) -> None:
    import secrets

    from pouch import NodeDriver
    from servers import _running, fieldsync_bin, free_port

    docs = make_docs(args.http_docs, seed=7)
    for doc in docs:
        del doc["_rev"], doc["_revisions"]  # the replica makes its own revisions
    template = seeded(tmp / "http-template")
    env = {**os.environ, "FIELDSYNC_STORE": "sqlite", "FIELDSYNC_SECRET_KEY": secrets.token_hex(16)}
    commands = {
        "gated (fieldsync serve)": lambda port, data: [str(fieldsync_bin()), "serve", "--quiet", "--host",
                                                       "127.0.0.1", "--port", str(port), "--data", data],
        "ungated (pass-through)": lambda port, data: [sys.executable, str(Path(__file__).resolve()),
                                                      "--serve-ungated", str(port), data],
    }
    rates: dict[str, list[float]] = {k: [] for k in commands}
    with NodeDriver(timeout=120) as driver:
        source = driver.open_replica(tmp / "device")
        for i in range(0, len(docs), 1000):
            source.bulk_docs(docs[i:i + 1000])
        for _ in range(args.rounds):
            for label, command in commands.items():
                data = tmp / f"http-{time.monotonic_ns()}"
                shutil.copytree(template, data)
                port = free_port()
                with _running(command(port, str(data)), cwd=tmp, env={**env, "FIELDSYNC_DATA_DIR": str(data)},
                              health_url=f"http://127.0.0.1:{port}/"):
                    url = f"http://{WORKER}:{DEMO_PASSWORD}@127.0.0.1:{port}/sync/{WORKER}"
                    started = time.perf_counter()
                    report = source.push(url, batch_size=args.batch, timeout=900)
                    elapsed = time.perf_counter() - started
                result = report["result"]
                if report["denied"] or report["errors"] or result["docs_written"] != len(docs):
                    raise SystemExit(f"{label}: {result['docs_written']} written, denied {report['denied'][:2]}")
                rates[label].append(len(docs) / elapsed)
                shutil.rmtree(data)
    print(f"HTTP: PouchDB 9 pushes {len(docs)} submissions to /sync/{WORKER}, batch_size {args.batch}, "
          f"gunicorn 2x16, median of {args.rounds} rounds")
    ungated = statistics.median(rates["ungated (pass-through)"])
    for label, values in rates.items():
        rate = statistics.median(values)
        cost = f"   gate cost {1 - rate / ungated:6.1%}" if label.startswith("gated") else ""
        print(f"  {label:28} {rate:8.0f} docs/s{cost}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="submissions per engine run (10000)")
    parser.add_argument("--batch", type=int, default=100, help="documents per _bulk_docs (100)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, the median is shown (3)")
    parser.add_argument("--http", action="store_true", help="also push over HTTP with PouchDB")
    parser.add_argument("--http-docs", type=int, default=5_000, help="submissions per HTTP push (5000)")
    parser.add_argument("--profile", action="store_true", help="cProfile the worker's gated run")
    parser.add_argument("--serve-ungated", nargs=2, metavar=("PORT", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_ungated:
        serve_ungated(int(args.serve_ungated[0]), args.serve_ungated[1])
        return 0
    with tempfile.TemporaryDirectory(prefix="fieldsync-gate-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if args.profile:
            profile_worker(args, tmp)
            return 0
        engine(args, tmp)
        if args.http:
            http(args, tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
