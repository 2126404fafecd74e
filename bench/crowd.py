"""The crowd: N field devices syncing at the same moment, through fieldsync and straight to CouchDB.

Prints figures, asserts nothing (timings belong in benchmarks, not tests).
The bar (issue 14): 200 devices x 50 submissions over 20 soums through
``/sync/<user>`` with validation, p95 of a device's sync <= 1.0x of the same
devices straight to Apache CouchDB 3.5, 0 failures, fieldsync's total RSS
< 500 MB, on the SQLite store and on the CouchDB store.

Each device is a real PouchDB 9 replica (Node.js, ``tests/interop/pouch.py``)
holding ``--docs`` form-valid household visits (``tests/interop/submissions.py``)
of its worker's soum. On the word go, every device at once pushes them, then
pulls its replica; a device's sync time is from go to the end of its pull.
Three targets, one after the other, each with fresh replicas:

- ``sqlite``: ``fieldsync serve`` as shipped (SQLite store), each device its own
  worker account on ``/sync/<worker>``, every submission validated against its
  form version;
- ``couchdb``: the same on the CouchDB store, kept in the Apache CouchDB 3.5
  node started here (``tests/servers.py``'s ``apache_couchdb_node``);
- ``direct``: the same devices straight to that CouchDB, one database per soum,
  as its admin (no per-user accounts, no validation);
- ``direct-users`` (only when asked for): the same, each device with a CouchDB
  account of its own, member of its soum's database, as fieldsync's devices
  have (CouchDB then checks each device's password once: PBKDF2-SHA256,
  600,000 iterations).

Per target: p50/p95/max of the devices' sync times, wall time, failures (a
device whose push or pull reported an error, a denied document or fewer
documents written than it holds), peak RSS of the server's whole process
tree (gunicorn master and workers; CouchDB's Erlang VM for ``direct``), and
CPU seconds of each server process tree during the crowd, which stays
meaningful on a busy machine when wall times do not, and (fieldsync) the
requests a device's sync made, by endpoint, from the access log.

Each device connects from a loopback address of its own (``127.0.x.y``), as
devices in the field come from many addresses; ``--one-address`` has them all
use 127.0.0.1, where fieldsync's bound of connections per address
(``FIELDSYNC_MAX_CONNECTIONS_PER_ADDRESS``, 256 per worker) sees one client
holding several hundred connections and answers some of them 503.

By default the servers meet the devices for the first time, so fieldsync checks
every device's password (argon2, tens of ms of CPU each); ``--warm`` has every
device log in once before, as after an earlier sync. ``--py-spy DIR`` samples
fieldsync's processes (``--py-spy-gil``: only where Python holds the CPU).

    .venv/bin/python bench/crowd.py [--devices 200] [--soums 20] [--docs 50]
    .venv/bin/python bench/crowd.py --targets sqlite,direct --workers 2 --threads 32 --warm
    .venv/bin/python bench/crowd.py --devices 60 --targets sqlite --py-spy /tmp/spy --py-spy-gil
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "interop"), str(ROOT / "bench")]

from measure import PeakRss, tree_cpu  # noqa: E402
from pouch import NodeDriver, PouchReplica  # noqa: E402
from servers import (  # noqa: E402
    FieldsyncPeer,
    apache_couchdb_node,
    couchdb_env,
    dropped_afterwards,
    fieldsync_missing,
    fieldsync_server,
)
from submissions import submissions  # noqa: E402

AIMAG = "crowd"


def soum_code(n: int) -> str:
    return f"crowd-s{n:02d}"


def worker_name(n: int) -> str:
    return f"dev{n:03d}"


def worker_password(n: int) -> str:
    return f"field-device-{n:03d}"


def seed_areas_and_workers(peer: FieldsyncPeer, soums: int, workers: int) -> None:
    """An aimag of ``soums`` soums that hold data, and one worker per device, assigned round robin."""
    svc = peer.services()
    try:
        svc.areas.add(AIMAG, name_en="Crowd aimag", level="aimag")
        for s in range(soums):
            svc.areas.add(soum_code(s), name_en=f"Soum {s}", parent=AIMAG, level="soum", holds_data=True)
            svc.store.ensure(soum_code(s))
        for n in range(workers):
            svc.users.add(worker_name(n), "worker", [soum_code(n % soums)], worker_password(n))
    finally:
        svc.store.close()


def device_docs(n: int, soums: int, count: int) -> list[dict[str, Any]]:
    """Device ``n``'s submissions: valid household visits of its soum, written by its worker."""
    docs = submissions(soum_code(n % soums), count, seed=1000 + n)
    for doc in docs:
        doc["author"] = worker_name(n)
    return docs


@dataclass
class Outcome:
    seconds: float = 0.0
    push_seconds: float = 0.0
    pushed: int = 0
    pulled: int = 0
    failure: str | None = None


@dataclass
class Result:
    target: str
    outcomes: list[Outcome]
    wall: float
    rss_peak: int
    rss_start: int
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def times(self) -> list[float]:
        return sorted(o.seconds for o in self.outcomes if o.failure is None)

    def pct(self, p: float) -> float:
        return _pct(self.times, p)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failure is not None]


def _report_problem(report: dict[str, Any], expected: int | None) -> str | None:
    result = report.get("result") or {}
    if report.get("errors"):
        first = report["errors"][0]
        return f"error {first.get('name')}: {first.get('reason') or first.get('message')}"
    if report.get("denied"):
        return f"denied: {report['denied'][0].get('reason')}"
    if result.get("doc_write_failures"):
        return f"{result['doc_write_failures']} doc write failures"
    if expected is not None and result.get("docs_written") != expected:
        return f"wrote {result.get('docs_written')} of {expected}"
    return None


def device_address(n: int) -> str:
    """The loopback address device ``n`` connects from: devices in the field come from many
    addresses (a server's per-address bound must not see the crowd as one client)."""
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


def run_device(replica: PouchReplica, url: str, docs: int, go: threading.Event, args: argparse.Namespace,
               address: str | None = None) -> Outcome:
    out = Outcome()
    go.wait()
    started = time.perf_counter()
    remote = {"local_address": address} if address else None
    try:
        push = replica.push(url, batch_size=args.batch_size, timeout=args.timeout, remote_options=remote)
        out.push_seconds = time.perf_counter() - started
        out.pushed = (push.get("result") or {}).get("docs_written", 0)
        problem = _report_problem(push, docs)
        if problem is None:
            pull = replica.pull(url, batch_size=args.batch_size, timeout=args.timeout, remote_options=remote)
            out.pulled = (pull.get("result") or {}).get("docs_written", 0)
            problem = _report_problem(pull, None)
        out.failure = problem and f"{problem}"
    except Exception as exc:  # noqa: BLE001 - a device that failed is counted, not fatal
        out.failure = f"{type(exc).__name__}: {str(exc)[:200]}"
    out.seconds = time.perf_counter() - started
    return out


def crowd(target: str, urls: list[str], drivers: list[NodeDriver], tmp: Path, soums: int,
          args: argparse.Namespace, pids: dict[str, int], log: Path | None = None) -> Result:
    """Every device at once: push its documents, then pull its replica."""
    replicas = []
    print(f"{target}: loading {args.devices} replicas ...", flush=True)
    for n in range(args.devices):
        driver = drivers[n % len(drivers)]
        replica = (driver.open_replica(memory=True) if args.adapter == "memory"
                   else driver.open_replica(tmp / f"{target}-{n}"))
        replica.bulk_docs(device_docs(n, soums, args.docs))
        replicas.append(replica)
    if args.warm:
        # A server that has met these devices before: each has logged in once, as after an
        # earlier sync (fieldsync then knows their passwords are right without checking again).
        with requests.Session() as session:
            for url in urls:
                session.get(url, timeout=60).raise_for_status()
    go = threading.Event()
    rss = PeakRss(pids[target], interval=0.1)
    pids = {**pids, "devices (node)": drivers[0]._proc.pid} if len(drivers) == 1 else pids
    with ThreadPoolExecutor(max_workers=args.devices) as pool, rss:
        futures = [pool.submit(run_device, r, urls[n], args.docs, go, args,
                               None if args.one_address else device_address(n))
                   for n, r in enumerate(replicas)]
        time.sleep(0.5)
        spy = (start_py_spy(pids[target], args.py_spy, target, args.py_spy_gil)
               if args.py_spy and not target.startswith("direct") else None)
        logged = log.stat().st_size if log else 0
        cpu0 = {name: tree_cpu(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        go.set()
        outcomes = [f.result() for f in futures]
        wall = time.perf_counter() - started
        cpu = {name: tree_cpu(pid) - cpu0[name] for name, pid in pids.items()}
    if spy is not None:
        stop_py_spy(spy)
    if log is not None:
        time.sleep(0.5)  # gunicorn writes a request's line after its response has gone
        print_requests(log, logged, args.devices)
    for replica in replicas:
        try:
            replica.destroy()
        except Exception:  # noqa: BLE001 - cleaning up; the figures are taken
            pass
    return Result(target, outcomes, wall, rss.peak, rss.start, cpu)


def _pct(values: list[float], p: float) -> float:
    """The ``p`` quantile of sorted ``values`` (nearest rank); NaN when there are none."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(p * len(values)) - 1))]


def print_result(res: Result) -> None:
    docs = sum(o.pushed for o in res.outcomes)
    pulled = sum(o.pulled for o in res.outcomes)
    pushes = sorted(o.push_seconds for o in res.outcomes if o.failure is None)
    print(f"{res.target:8} p50 {res.pct(0.5):6.1f}s  p95 {res.pct(0.95):6.1f}s  max {res.pct(1.0):6.1f}s  "
          f"wall {res.wall:6.1f}s  failures {len(res.failures)}  pushed {docs} pulled {pulled}", flush=True)
    if pushes:
        print(f"{'':8} pushes alone: p95 {_pct(pushes, 0.95):5.1f}s, all {docs} submissions in {pushes[-1]:.1f}s "
              f"({docs / pushes[-1]:.0f} submissions/s)", flush=True)
    cpu = ", ".join(f"{name} {secs:.1f} s" for name, secs in res.cpu.items())
    print(f"{'':8} peak RSS {res.rss_peak / 2**20:.0f} MB (idle {res.rss_start / 2**20:.0f} MB); CPU {cpu}",
          flush=True)
    for o in res.failures[:5]:
        print(f"{'':8} failure: {o.failure}", flush=True)


ACCESS_FORMAT = '"%(r)s" %(s)s %(D)s'
_LINE = re.compile(r'"(\w+) /sync/[^/ ?]+/?([^ ?]*)\S* HTTP/[\d.]+" (\d+) (\d+)')


def print_requests(log: Path, offset: int, devices: int) -> None:
    """Requests per device sync and their mean time, by endpoint, from the access log."""
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", errors="replace")
    count: collections.Counter[str] = collections.Counter()
    micros: collections.Counter[str] = collections.Counter()
    for method, path, status, took in _LINE.findall(text):
        head = path.split("/", 1)[0]
        key = f"{method} {head if head.startswith('_') else ('<db>' if not head else '<doc>')}"
        if not status.startswith("2"):
            key += f" {status}"
        count[key] += 1
        micros[key] += int(took)
    total = sum(count.values())
    print(f"{'':8} requests per device {total / devices:.1f}: " + ", ".join(
        f"{key} {n / devices:.1f} ({micros[key] / n / 1000:.0f} ms)" for key, n in count.most_common()),
        flush=True)


def start_py_spy(pid: int, folder: str, target: str, gil: bool) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the server and its gunicorn workers, until stop_py_spy; ``gil``: only
    threads holding the GIL, i.e. where the CPU of Python goes, not where threads wait."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print("py-spy not found (pip install py-spy)", file=sys.stderr)
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = Path(folder) / f"crowd-{target}-{time.strftime('%H%M%S')}.txt"
    print(f"{'':8} py-spy -> {out}", flush=True)
    return subprocess.Popen([exe, "record", "-p", str(pid), "--subprocesses", "--format", "raw", "--rate", "50",
                             "--nonblocking", *(["--gil"] if gil else []), "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def couchdb_pid(url: str) -> int | None:
    """The Erlang VM listening on ``url``'s port (None if it cannot be told)."""
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    return None


def with_creds(root: str, name: str, password: str) -> str:
    scheme, rest = root.split("://", 1)
    return f"{scheme}://{quote(name, safe='')}:{quote(password, safe='')}@{rest}"


@contextmanager
def fieldsync_target(target: str, couch_url: str, args: argparse.Namespace) -> Iterator[FieldsyncPeer]:
    extra: dict[str, str | None] = {}
    with ExitStack() as stack:
        if target == "couchdb":
            extra = couchdb_env(couch_url)
            stack.enter_context(dropped_afterwards(extra))
        extra["FIELDSYNC_ACCESS_LOG_FORMAT"] = ACCESS_FORMAT
        extra.update(args.env)
        yield stack.enter_context(fieldsync_server(extra_env=extra, workers=args.workers,
                                                   threads=args.threads))


def run_target(target: str, couch_url: str, couch_pid: int | None, drivers: list[NodeDriver], tmp: Path,
               args: argparse.Namespace) -> Result:
    soums = args.soums
    if target in ("direct", "direct-users"):
        session = requests.Session()
        run = f"{os.getpid()}-{time.monotonic_ns()}"
        dbs = [f"crowd-{run}-{soum_code(s)}" for s in range(soums)]
        users = []
        for s, name in enumerate(dbs):
            session.put(f"{couch_url}/{name}", timeout=30).raise_for_status()
            if target == "direct-users":  # the soum's devices are its members, no one else
                session.put(f"{couch_url}/{name}/_security", timeout=30, json={
                    "members": {"roles": [soum_code(s)]}, "admins": {"roles": []}}).raise_for_status()
        try:
            if target == "direct":
                urls = [f"{couch_url}/{dbs[n % soums]}" for n in range(args.devices)]
            else:
                # Each device with a CouchDB account of its own, as fieldsync's devices have
                # (CouchDB 3.5 hashes it with PBKDF2-SHA256, 600,000 iterations).
                root = couch_url.split("@", 1)[-1]
                for n in range(args.devices):
                    name = f"{worker_name(n)}-{run}"
                    session.put(f"{couch_url}/_users/org.couchdb.user:{name}", timeout=60, json={
                        "name": name, "password": worker_password(n), "roles": [soum_code(n % soums)],
                        "type": "user"}).raise_for_status()
                    users.append(name)
                urls = [with_creds(f"http://{root}", users[n], worker_password(n)) + f"/{dbs[n % soums]}"
                        for n in range(args.devices)]
            return crowd(target, urls, drivers, tmp, soums, args, {target: couch_pid} if couch_pid else {})
        finally:
            for name in dbs:
                session.delete(f"{couch_url}/{name}", timeout=60)
            for name in users:
                doc = session.get(f"{couch_url}/_users/org.couchdb.user:{name}", timeout=30).json()
                session.delete(f"{couch_url}/_users/org.couchdb.user:{name}", params={"rev": doc.get("_rev")},
                               timeout=30)
    with fieldsync_target(target, couch_url, args) as peer:
        seed_areas_and_workers(peer, soums, args.devices)
        urls = [with_creds(peer.root, worker_name(n), worker_password(n)) + f"/sync/{worker_name(n)}"
                for n in range(args.devices)]
        pids = {target: peer.pid}
        if target == "couchdb" and couch_pid:
            pids["couchdb (its store)"] = couch_pid
        return crowd(target, urls, drivers, tmp, soums, args, pids, peer.server.log_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--soums", type=int, default=20)
    parser.add_argument("--docs", type=int, default=50, help="submissions each device pushes (default 50)")
    parser.add_argument("--targets", default="sqlite,couchdb,direct",
                        help="comma-separated: sqlite, couchdb, direct, direct-users (default the first three)")
    parser.add_argument("--batch-size", type=int, default=100, help="PouchDB batch_size (default 100)")
    parser.add_argument("--adapter", choices=["leveldb", "memory"], default="leveldb",
                        help="the devices' PouchDB adapter (default leveldb, as on a device)")
    parser.add_argument("--drivers", type=int, default=1, help="Node processes driving the devices")
    parser.add_argument("--one-address", action="store_true",
                        help="every device connects from 127.0.0.1 (default: each from its own loopback address)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (fieldsync serve's default)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (fieldsync serve's default)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra FIELDSYNC_* setting for the fieldsync servers (repeatable)")
    parser.add_argument("--couchdb-url", default=None,
                        help="an Apache CouchDB 3.x to use instead of starting one here")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of every target, alternating their order; medians are compared")
    parser.add_argument("--warm", action="store_true",
                        help="every device logs in once before the crowd, as after an earlier sync")
    parser.add_argument("--py-spy", metavar="DIR", help="sample fieldsync's processes with py-spy into DIR")
    parser.add_argument("--py-spy-gil", action="store_true", help="py-spy samples only threads holding the GIL")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per replication")
    args = parser.parse_args(argv)
    args.env = dict(item.split("=", 1) for item in args.env)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    for t in targets:
        if t not in ("sqlite", "couchdb", "direct", "direct-users"):
            parser.error(f"unknown target {t!r}")
    if any(not t.startswith("direct") for t in targets) and (why := fieldsync_missing()):
        raise SystemExit(why)

    load = os.getloadavg()
    print(f"{args.devices} devices{' (warm)' if args.warm else ''} over {args.soums} soums, {args.docs} "
          "submissions each, batch_size "
          f"{args.batch_size}, PouchDB adapter {args.adapter}, {os.cpu_count()} CPUs, load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    runs: dict[str, list[Result]] = {t: [] for t in targets}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fieldsync-crowd-")))
        couch_url = args.couchdb_url or stack.enter_context(apache_couchdb_node())
        couch_pid = couchdb_pid(couch_url)
        if couch_pid is None and any(t.startswith("direct") for t in targets):
            raise SystemExit(f"no process found listening at {couch_url}")
        drivers = [stack.enter_context(NodeDriver(timeout=300)) for _ in range(max(1, args.drivers))]
        for round_no in range(1, args.rounds + 1):
            # Rounds alternate the order, so that the machine's busy moments spread over every target.
            for target in (targets if round_no % 2 else list(reversed(targets))):
                if args.rounds > 1:
                    print(f"round {round_no}:", end=" ", flush=True)
                runs[target].append(run_target(target, couch_url, couch_pid, drivers, tmp, args))
                print_result(runs[target][-1])
    print()
    med = {t: {"p50": statistics.median(r.pct(0.5) for r in rs), "p95": statistics.median(r.pct(0.95) for r in rs),
               "max": statistics.median(r.pct(1.0) for r in rs), "wall": statistics.median(r.wall for r in rs),
               "failures": sum(len(r.failures) for r in rs), "rss": max(r.rss_peak for r in rs)}
           for t, rs in runs.items()}
    if args.rounds > 1:
        print(f"median of {args.rounds} rounds (failures summed, peak RSS the highest):")
        for t, m in med.items():
            print(f"{t:8} p50 {m['p50']:6.1f}s  p95 {m['p95']:6.1f}s  max {m['max']:6.1f}s  wall {m['wall']:6.1f}s  "
                  f"failures {m['failures']}  peak RSS {m['rss'] / 2**20:.0f} MB")
    for base in ("direct", "direct-users"):
        if base not in med:
            continue
        ref = med[base]
        for target in ("sqlite", "couchdb"):
            if target not in med:
                continue
            m = med[target]
            met = m["p95"] <= ref["p95"] and not m["failures"] and m["rss"] < 500 * 2**20
            print(f"{target}/{base}: p50 {m['p50'] / ref['p50']:.2f}x  p95 {m['p95'] / ref['p95']:.2f}x  "
                  f"max {m['max'] / ref['max']:.2f}x  wall {m['wall'] / ref['wall']:.2f}x  "
                  f"(bar: p95 <= 1.00x, 0 failures, RSS < 500 MB: {'met' if met else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
