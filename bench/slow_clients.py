"""Normal requests while 1,000 slow and idle connections are open: fieldsync beside Apache CouchDB 3.5.

Issue 17: twenty connections sending a request's head a byte every few seconds
took fieldsync off the air. Here half of ``--connections`` send
``GET /_up HTTP/1.1`` and then one header byte every ``--drip`` seconds, the
other half connect and send nothing; each comes from an address of its own
(127.x.y.z: the per-address bound is not what is measured; ``--one-address``
puts them all on one address to see that bound instead). A connection the
server closes is opened again at once, so the pressure holds. Meanwhile a
normal client sends authenticated ``GET <db>/_changes`` requests, each on a
new connection, and the script prints their latency: before the slow
connections, under them, and the ratio fieldsync / CouchDB.

``--slow-body`` makes the slow half send, instead, the head of an
authenticated ``POST <db>/_bulk_docs`` with a 1 MB ``Content-Length`` and then
its body at ``--body-rate`` bytes a second (600: just above fieldsync's
minimum rate, so never cut), and the normal client times a small
``_bulk_docs`` as well as ``_changes``: bodies that arrive slowly must not
hold the threads that requests with bodies need.

Both servers run here: ``fieldsync serve`` (gunicorn, its default 2 workers
and 16 threads, SQLite) and a private Apache CouchDB 3.5 node
(``tests/servers.py``).

    .venv/bin/python bench/slow_clients.py [--connections 1000] [--requests 40] [--drip 5]
                                           [--slow-body [--body-rate 600]]
"""

from __future__ import annotations

import argparse
import base64
import itertools
import selectors
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from servers import apache_couchdb_node, fieldsync_server  # noqa: E402


class Pressure:
    """Slow and idle connections held open (re-opened when closed) from a thread of their own."""

    def __init__(self, port: int, count: int, drip: float, one_address: bool,
                 slow_head: bytes = b"GET /_up HTTP/1.1\r\nHost: 127.0.0.1\r\n", piece: bytes = b"X") -> None:
        self.port, self.count, self.drip, self.one_address = port, count, drip, one_address
        self.slow_head, self.piece = slow_head, piece
        self.selector = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.opened = self.cut = self.refused = 0
        self.addresses = itertools.count(1)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _source(self) -> str:
        if self.one_address:
            return "127.0.0.2"
        n = next(self.addresses) % 250_000 + 1
        return f"127.{1 + n // 62500}.{(n // 250) % 250}.{n % 250 + 1}"

    def _open(self, slow: bool) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self._source(), 0))
        sock.settimeout(5)
        try:
            sock.connect(("127.0.0.1", self.port))
            if slow:
                sock.sendall(self.slow_head)
        except OSError:
            sock.close()
            self.refused += 1
            return
        sock.setblocking(False)
        self.opened += 1
        self.selector.register(sock, selectors.EVENT_READ, slow)

    def _run(self) -> None:
        for i in range(self.count):
            self._open(slow=i % 2 == 0)
        next_drip = time.monotonic() + self.drip
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                sock, slow = key.fileobj, key.data
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data or data.startswith(b"HTTP/1.1 503"):
                    # Cut (or answered and closed): open another in its place.
                    self.selector.unregister(sock)
                    sock.close()
                    self.cut += 1
                    self._open(slow)
            if time.monotonic() >= next_drip:
                next_drip += self.drip
                for key in list(self.selector.get_map().values()):
                    if key.data:
                        try:
                            key.fileobj.send(self.piece)
                        except OSError:
                            pass
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()

    def __enter__(self) -> Pressure:
        self.thread.start()
        while self.opened + self.refused < self.count and self.thread.is_alive():
            time.sleep(0.1)
        time.sleep(1.0)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    @property
    def held(self) -> int:
        return len(self.selector.get_map())


def latencies(url: str, auth: tuple[str, str], n: int, post: bool = False) -> list[float]:
    out = []
    for i in range(n):
        started = time.monotonic()
        try:
            if post:  # a small _bulk_docs
                docs = {"docs": [{"_id": f"quick-{time.time_ns()}-{i}-{k}", "n": k} for k in range(5)]}
                response = requests.post(url, json=docs, auth=auth, timeout=30, headers={"Connection": "close"})
                ok = response.status_code == 201
            else:
                response = requests.get(url, auth=auth, timeout=30, headers={"Connection": "close"})
                ok = response.status_code == 200
        except requests.RequestException:
            ok = False
        out.append(time.monotonic() - started if ok else float("inf"))
        time.sleep(0.05)
    return out


def summary(values: list[float]) -> str:
    done = sorted(v for v in values if v != float("inf"))
    failed = len(values) - len(done)
    if not done:
        return f"all {failed} failed"
    p95 = done[min(len(done) - 1, int(len(done) * 0.95))]
    return (f"median {statistics.median(done) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
            f"max {done[-1] * 1000:7.1f} ms  failed {failed}/{len(values)}")


def measure(name: str, port: int, url: str, auth: tuple[str, str], args: argparse.Namespace) -> dict:
    quiet = latencies(url, auth, args.requests)
    db_path = url.split("//", 1)[1].split("/", 1)[1].rsplit("/_changes", 1)[0]
    bulk_url = url.rsplit("/_changes", 1)[0] + "/_bulk_docs"
    if args.slow_body:
        token = base64.b64encode(":".join(auth).encode()).decode()
        head = (f"POST /{db_path}/_bulk_docs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n").encode()
        pressure = Pressure(port, args.connections, 0.1, args.one_address, head, b" " * (args.body_rate // 10))
        quiet_bulk = latencies(bulk_url, auth, args.requests, post=True)
    else:
        pressure = Pressure(port, args.connections, args.drip, args.one_address)
    with pressure:
        loaded = latencies(url, auth, args.requests)
        if args.slow_body:
            loaded_bulk = latencies(bulk_url, auth, args.requests, post=True)
        held, cut, refused = pressure.held, pressure.cut, pressure.refused
    kind = f"slow-body ({args.body_rate} B/s)" if args.slow_body else "slow"
    print(f"{name:10s} quiet:        {summary(quiet)}")
    print(f"{name:10s} under {args.connections} {kind}/idle (held {held}, cut and reopened {cut}, "
          f"refused {refused}): {summary(loaded)}")
    if args.slow_body:
        print(f"{name:10s} _bulk_docs quiet: {summary(quiet_bulk)}")
        print(f"{name:10s} _bulk_docs under them:  {summary(loaded_bulk)}")
        loaded = loaded + loaded_bulk
    done = [v for v in loaded if v != float("inf")]
    return {"median": statistics.median(done) if done else float("inf"), "failed": len(loaded) - len(done)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--drip", type=float, default=5.0, help="seconds between a slow client's bytes")
    parser.add_argument("--one-address", action="store_true", help="every slow connection from one address")
    parser.add_argument("--slow-body", action="store_true",
                        help="the slow half sends a 1 MB _bulk_docs body slowly instead of a slow head")
    parser.add_argument("--body-rate", type=int, default=600, help="bytes per second of a slow body (default 600)")
    args = parser.parse_args()

    with fieldsync_server(publish_forms=False) as peer:
        db = peer.new_db("slow")
        fieldsync = measure("fieldsync", peer.port, peer.root + db.path + "/_changes", peer.auth, args)
    with apache_couchdb_node() as couch:
        base, creds = couch.split("@")[-1], couch.split("//", 1)[1].split("@")[0]
        user, password = creds.split(":", 1)
        host, port = base.rsplit(":", 1)
        root = f"http://{host}:{port}"
        requests.put(f"{root}/slow", auth=(user, password), timeout=30).raise_for_status()
        couchdb = measure("couchdb", int(port), f"{root}/slow/_changes", (user, password), args)
    ratio = fieldsync["median"] / couchdb["median"] if couchdb["median"] not in (0, float("inf")) else float("nan")
    print(f"median under load, fieldsync / CouchDB: {ratio:.2f}")


if __name__ == "__main__":
    main()
