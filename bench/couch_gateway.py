"""What fieldsync costs in front of CouchDB: PouchDB through fieldsync versus straight to the server.

Prints figures, asserts nothing (timings belong in benchmarks, not tests).
The bar (issue 5): the gateway, write gate validating, may cost at most 30%
of push and of pull throughput.

In one run, against one CouchDB-compatible server (pouchdb-server started here,
in memory, or with ``--storage disk`` in LevelDB files as a deployed server
keeps its data; or ``--couchdb-url`` / ``FIELDSYNC_TEST_COUCHDB_URL``, an Apache
CouchDB 3.x), a real PouchDB 9 replica (Node, ``tests/interop/pouch.py``)
pushes N valid household visits (``tests/interop/submissions.py``) and a
fresh replica pulls them back:

- fieldsync: ``fieldsync serve`` with ``FIELDSYNC_STORE=couchdb`` on that
  server, the replica on ``/db/<scope>`` as admin, so every pushed document
  passes the write gate's validation against its form version;
- direct:    the same replica straight to a database of that server.

Both sides run ``--rounds`` times, alternating, and the best of each is
reported (other work on the machine only ever slows a run down). Besides
docs/s it prints what explains them and is steadier than a wall clock: CPU
seconds per 1000 documents of each process (the fieldsync process tree, the
CouchDB-compatible server when started here, the Node process running
PouchDB), the requests the CouchDB-compatible server answered per batch
(pouchdb-server's request log), and peak RSS.

``--profile push|pull`` instead serves fieldsync in this process (werkzeug,
one thread, same app and store) and prints where the app server's time goes:
per endpoint, per CouchDB request, and cProfile's top functions.

    .venv/bin/python bench/couch_gateway.py [--docs 10000] [--batch-size 100] [--rounds 5]
    .venv/bin/python bench/couch_gateway.py --storage disk
    .venv/bin/python bench/couch_gateway.py --couchdb-url http://admin:secret@127.0.0.1:5984
    .venv/bin/python bench/couch_gateway.py --docs 3000 --profile pull
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import json
import os
import pstats
import re
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop"), str(ROOT / "bench")]

from measure import PeakRss, timed, tree_cpu  # noqa: E402
from pouch import NodeDriver, PouchReplica  # noqa: E402
from replication import open_replica  # noqa: E402
from servers import (  # noqa: E402
    FIELDSYNC_ADMIN,
    Peer,
    PouchDBServerPeer,
    RemoteDb,
    fieldsync_couchdb_server,
    fieldsync_missing,
    free_port,
    pouchdb_server,
    real_couchdb_url,
)
from submissions import submissions  # noqa: E402

AREA = "uvs-tes"
_REQUEST_LINE = re.compile(r"^\[info\] (GET|HEAD|PUT|POST|DELETE|COPY) ", re.MULTILINE)


class UrlPeer(Peer):
    """A CouchDB-compatible server that runs elsewhere, given by URL (credentials in it)."""

    name = "direct"

    def __init__(self, url: str) -> None:
        import requests

        parts = urlsplit(url)
        self.server = None
        self.port = parts.port
        self.auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        self.root = f"{parts.scheme}://{parts.hostname}:{parts.port}"
        creds = f"{parts.username}:{parts.password}@" if parts.username else ""
        self.url_with_auth = f"{parts.scheme}://{creds}{parts.hostname}:{parts.port}"
        self.session = requests.Session()
        self.session.auth = self.auth


class Phase:
    """One push or pull: wall time, CPU per process, requests the server answered, peak RSS."""

    def __init__(self, pids: dict[str, int], couch: Peer) -> None:
        self.pids = pids
        self.couch = couch
        self.cpu: dict[str, float] = {}
        self.requests: int | None = None
        self.rss = {name: PeakRss(pid) for name, pid in pids.items() if name != "PouchDB (node)"}

    def _served(self) -> int | None:
        if not isinstance(self.couch, PouchDBServerPeer):
            return None
        try:
            return len(_REQUEST_LINE.findall(self.couch.server.log_path.read_text(errors="replace")))
        except OSError:
            return None

    def __enter__(self) -> Phase:
        self._cpu0 = {name: tree_cpu(pid) for name, pid in self.pids.items()}
        self._served0 = self._served()
        for meter in self.rss.values():
            meter.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for meter in self.rss.values():
            meter.__exit__()
        self.cpu = {name: tree_cpu(pid) - self._cpu0[name] for name, pid in self.pids.items()}
        time.sleep(0.2)  # pouchdb-server writes its request log a moment later
        served = self._served()
        if served is not None and self._served0 is not None:
            self.requests = served - self._served0


def run_side(label: str, db: RemoteDb, source: PouchReplica, driver: NodeDriver, tmp: Path,
             args: argparse.Namespace, pids: dict[str, int], couch: Peer) -> dict[str, Phase]:
    phases = {}
    with Phase(pids, couch) as push:
        push.seconds = timed(f"{label} push", lambda: source.push(db.url, batch_size=args.batch_size,
                                                                  timeout=args.timeout), args.docs)
    phases["push"] = push
    fresh = open_replica(driver, tmp, f"{label}-{time.monotonic_ns()}", args.adapter)
    try:
        with Phase(pids, couch) as pull:
            pull.seconds = timed(f"{label} pull", lambda: fresh.pull(db.url, batch_size=args.batch_size,
                                                                     timeout=args.timeout), args.docs)
        phases["pull"] = pull
        if len(fresh.revs()) != args.docs:
            raise SystemExit(f"{label}: the pulled replica does not hold {args.docs} documents")
    finally:
        fresh.destroy()
    return phases


def load_source(driver: NodeDriver, tmp: Path, args: argparse.Namespace) -> tuple[PouchReplica, float]:
    docs = submissions(AREA, args.docs, seed=42, size="bench")
    avg_kb = sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in docs) / len(docs) / 1024
    source = open_replica(driver, tmp, "source", args.adapter)
    for i in range(0, len(docs), 1000):
        source.bulk_docs(docs[i:i + 1000])
    return source, avg_kb


def bench(args: argparse.Namespace) -> int:
    if why := fieldsync_missing():
        raise SystemExit(why)
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fieldsync-couch-bench-")))
        if args.couchdb_url:
            couch: Peer = UrlPeer(args.couchdb_url)
            couch_url, server_name = args.couchdb_url, "CouchDB"
        else:
            couch = stack.enter_context(pouchdb_server(in_memory=args.storage == "memory"))
            couch_url, server_name = couch.root, f"pouchdb-server ({args.storage})"
        gateway = stack.enter_context(fieldsync_couchdb_server(couch_url, workers=args.workers))
        driver = stack.enter_context(NodeDriver(timeout=120))
        source, avg_kb = load_source(driver, tmp, args)
        print(f"{args.docs} submissions, avg {avg_kb:.2f} KB, batch_size {args.batch_size}, PouchDB adapter "
              f"{args.adapter}, {server_name} at {couch.root}, {os.cpu_count()} CPUs", flush=True)

        pids = {"fieldsync": gateway.pid, "PouchDB (node)": driver._proc.pid}
        if isinstance(couch, PouchDBServerPeer):
            pids[server_name] = couch.pid
        sides = {"fieldsync": gateway, "direct": couch}
        best: dict[str, dict[str, Phase]] = {}
        for n in range(args.rounds):
            for name in (list(sides) if n % 2 == 0 else list(reversed(sides))):
                db = sides[name].new_db("bench")
                phases = run_side(name, db, source, driver, tmp, args, pids, couch)
                print(f"  round {n + 1} {name:10} push {args.docs / phases['push'].seconds:7.0f} docs/s   "
                      f"pull {args.docs / phases['pull'].seconds:7.0f} docs/s", flush=True)
                for key, phase in phases.items():
                    kept = best.setdefault(name, {}).get(key)
                    if kept is None or phase.seconds < kept.seconds:
                        best[name][key] = phase
                db.http("DELETE")  # the in-memory server keeps only what the next round needs

    batches = args.docs / args.batch_size
    print()
    print(f"best of {args.rounds} rounds; CPU seconds per 1000 docs; requests {server_name} answered per batch")
    head = f"{'':10} {'':5} {'docs/s':>8} " + " ".join(f"{'CPU ' + p:>16}" for p in pids)
    print(head + f" {'requests':>9}")
    for name, phases in best.items():
        for key in ("push", "pull"):
            phase = phases[key]
            cpu = " ".join(f"{phase.cpu[p] / args.docs * 1000:16.2f}" for p in pids)
            reqs = f"{phase.requests / batches:9.1f}" if phase.requests is not None else f"{'-':>9}"
            print(f"{name:10} {key:5} {args.docs / phase.seconds:8.0f} {cpu} {reqs}")
    ratio = {key: best["direct"][key].seconds / best["fieldsync"][key].seconds for key in ("push", "pull")}
    print(f"fieldsync/direct: push {ratio['push']:.2f}, pull {ratio['pull']:.2f} "
          f"(cost: push {1 - ratio['push']:.0%}, pull {1 - ratio['pull']:.0%}; the bar is 30%)")
    rss = {p: max(best[s][k].rss[p].peak for s in best for k in best[s] if p in best[s][k].rss)
           for p in pids if p != "PouchDB (node)"}
    print("peak RSS: " + ", ".join(f"{p} {v / 2**20:.0f} MB" for p, v in rss.items()))
    if args.json:
        print(json.dumps({
            "docs": args.docs, "avg_kb": round(avg_kb, 3), "ratio": ratio, "rss": rss,
            "best": {s: {k: {"docs_per_s": args.docs / ph.seconds, "cpu": ph.cpu, "requests": ph.requests}
                         for k, ph in phases.items()} for s, phases in best.items()},
        }))
    return 0


# -- --profile: the app server in this process ---------------------------------------------------


@contextmanager
def in_process_gateway(couch_url: str, prof: cProfile.Profile, phase: list[str], wanted: str,
                       stats: dict[str, collections.Counter]) -> Iterator[str]:
    """fieldsync's app on the CouchDB store, served by werkzeug in a thread; yields its root URL."""
    from werkzeug.serving import make_server

    import sync.stores.couchdb_http as couch_http
    from schemas.examples import bundled_forms
    from server import create_app
    from server.config import Settings

    original = couch_http.CouchClient.request

    def counted(self, method: str, path: str, **kwargs: Any):
        parts = path.split("/")
        key = f"{method} {parts[2][:14] if len(parts) > 2 else '<db>'}"
        started = time.perf_counter()
        try:
            return original(self, method, path, **kwargs)
        finally:
            stats["couch"][key] += 1
            stats["couch_s"][key] += time.perf_counter() - started

    couch_http.CouchClient.request = counted
    with tempfile.TemporaryDirectory(prefix="fieldsync-profile-") as tmp:
        settings = Settings(data_dir=Path(tmp), store="couchdb", couchdb_url=couch_url,
                            couchdb_prefix=f"fsp{secrets.token_hex(3)}-", secret_key=secrets.token_hex(16),
                            admin=FIELDSYNC_ADMIN)
        app = create_app(settings)
        svc = app.extensions["fieldsync"]
        for definition in bundled_forms():
            svc.forms.publish(definition)
        inner = app.wsgi_app

        def wsgi(environ, start_response):
            started = time.perf_counter()
            if phase[0] == wanted:
                prof.enable()
            try:
                return list(inner(environ, start_response))
            finally:
                prof.disable()
                parts = environ["PATH_INFO"].split("/")
                key = f"{environ['REQUEST_METHOD']} {parts[3] if len(parts) > 3 and parts[3] else '<db>'}"
                if phase[0] == wanted:
                    stats["in"][key] += 1
                    stats["in_s"][key] += time.perf_counter() - started

        app.wsgi_app = wsgi
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        port = free_port()
        server = make_server("127.0.0.1", port, app, threaded=False)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.shutdown()
            svc.store.close()
            couch_http.CouchClient.request = original


def profile(args: argparse.Namespace) -> int:
    import requests

    stats: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    prof = cProfile.Profile()
    phase = ["load"]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fieldsync-couch-profile-")))
        couch_url = args.couchdb_url or stack.enter_context(pouchdb_server()).root
        root = stack.enter_context(in_process_gateway(couch_url, prof, phase, args.profile, stats))
        driver = stack.enter_context(NodeDriver(timeout=120))
        source, _ = load_source(driver, tmp, args)
        requests.put(f"{root}/db/bench", auth=FIELDSYNC_ADMIN, timeout=30).raise_for_status()
        url = f"http://{FIELDSYNC_ADMIN[0]}:{FIELDSYNC_ADMIN[1]}@{root.split('//', 1)[1]}/db/bench"
        fresh = open_replica(driver, tmp, "fresh", args.adapter)
        runs = {"push": lambda: source.push(url, batch_size=args.batch_size, timeout=args.timeout),
                "pull": lambda: fresh.pull(url, batch_size=args.batch_size, timeout=args.timeout)}
        for name, run in runs.items():
            stats["couch"].clear()  # only the profiled phase's requests to CouchDB are kept
            stats["couch_s"].clear()
            phase[0] = name
            took = timed(name, run, args.docs)
            phase[0] = "done"
            print(f"{name} {args.docs / took:.0f} docs/s", flush=True)
            if name == args.profile:
                break

    batches = args.docs / args.batch_size
    print(f"\n{args.profile}: requests per batch of {args.batch_size} and ms per request")
    for label, count, secs in (("to fieldsync", stats["in"], stats["in_s"]),
                               ("to CouchDB  ", stats["couch"], stats["couch_s"])):
        for key in sorted(count):
            print(f"  {label} {key:24} {count[key] / batches:6.1f}  {secs[key] / count[key] * 1000:7.2f} ms")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
    print(out.getvalue())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="documents to replicate (default 10000)")
    parser.add_argument("--batch-size", type=int, default=100, help="PouchDB batch_size (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each side, alternating (default 5)")
    parser.add_argument("--adapter", choices=["leveldb", "memory"], default="leveldb",
                        help="local PouchDB adapter (default leveldb, as on a device)")
    parser.add_argument("--couchdb-url", default=real_couchdb_url(),
                        help="an Apache CouchDB 3.x to use instead of starting pouchdb-server "
                             "(default: FIELDSYNC_TEST_COUCHDB_URL)")
    parser.add_argument("--storage", choices=["memory", "disk"], default="memory",
                        help="where the pouchdb-server started here keeps its databases (default memory)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (fieldsync serve's default)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per replication")
    parser.add_argument("--profile", choices=["push", "pull"], help="profile the app server in this process")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    return profile(args) if args.profile else bench(args)


if __name__ == "__main__":
    raise SystemExit(main())
