"""Slow and idle clients against the real server (gunicorn, server.serving.Worker), over raw sockets.

One worker with four threads, so that four connections holding a thread each
would take the server off the air; the deadlines are shortened (seconds, not
tens of seconds) to keep the tests fast: the mechanism is the one deployed
(server/slow_clients.py). bench/slow_clients.py does the same with 1,000
connections against Apache CouchDB; a real PouchDB sync over 256 kbit/s with a
600 ms round trip under the same deadlines is never cut
(tests/interop/test_hostile_pouchdb.py). Request bodies, too, are collected
without a thread (server/request_bodies.py): more clients sending large bodies
slowly than there are threads leave other requests answered.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from servers import FieldsyncPeer, fieldsync_server

DEADLINES = {
    "FIELDSYNC_HEADER_SECONDS": "2",
    "FIELDSYNC_IDLE_SECONDS": "3",
    "FIELDSYNC_STALL_SECONDS": "2",
    "FIELDSYNC_MIN_BYTES_PER_SECOND": "500",
    "FIELDSYNC_MAX_CONNECTIONS_PER_ADDRESS": "40",
    "FIELDSYNC_MAX_BODY_BYTES": "3000000",  # _bulk_docs: FIELDSYNC_MAX_BATCH_BYTES, 256 MiB
}


@pytest.fixture(scope="module")
def peer() -> Iterator[FieldsyncPeer]:
    with fieldsync_server(extra_env=DEADLINES, workers=1, threads=4, publish_forms=False) as server:
        yield server


def connect(peer: FieldsyncPeer, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))  # any 127/8 address is this machine: one "client address" per source
    sock.settimeout(10)
    sock.connect(("127.0.0.1", peer.port))
    return sock


def timed_changes(peer: FieldsyncPeer, path: str) -> float:
    started = time.monotonic()
    response = requests.get(peer.root + path + "/_changes", auth=peer.auth, timeout=10)
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def answer_of(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes."""
    got = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk


def test_slow_header_and_idle_connections_leave_normal_requests_answered(peer: FieldsyncPeer) -> None:
    db = peer.new_db("slow")
    hostile = []
    try:
        for i in range(30):  # headers begun and never finished, from 30 addresses
            sock = connect(peer, f"127.0.1.{i + 1}")
            sock.sendall(b"GET /_up HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            hostile.append(sock)
        for i in range(30):  # connected, silent
            hostile.append(connect(peer, f"127.0.2.{i + 1}"))
        time.sleep(0.5)  # the server has seen them all
        times = [timed_changes(peer, db.path) for _ in range(5)]
        assert max(times) < 1.0, times
    finally:
        for sock in hostile:
            sock.close()


def test_a_header_trickler_is_cut_after_the_header_deadline(peer: FieldsyncPeer) -> None:
    sock = connect(peer, "127.0.3.1")
    started = time.monotonic()
    request = b"GET /_up HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    answer = b""
    with sock:
        for byte in request:  # a byte every 0.2 s, for 20 s unless cut
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
            if _readable(sock):
                answer = answer_of(sock)
                break
        cut_after = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert 1.5 < cut_after < 4.5, cut_after


def test_a_silent_new_connection_is_closed_after_the_idle_deadline(peer: FieldsyncPeer) -> None:
    with connect(peer, "127.0.3.2") as sock:
        started = time.monotonic()
        assert answer_of(sock) == b""
        assert 2.5 < time.monotonic() - started < 5.5


def test_a_body_trickler_is_cut_for_lack_of_progress(peer: FieldsyncPeer) -> None:
    db = peer.new_db("trickle")
    with connect(peer, "127.0.3.3") as sock:
        sock.sendall(f"POST {db.path}/_bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Authorization: Basic {_basic(peer)}\r\nContent-Length: 5000\r\n\r\n".encode())
        started = time.monotonic()
        answer = b""
        for _ in range(100):  # 5 bytes every 0.1 s: 50 B/s, under the 500 B/s asked for
            if _readable(sock):
                answer = answer_of(sock)
                break
            try:
                sock.sendall(b'{"a":')
            except OSError:
                break
            time.sleep(0.1)
        cut_after = time.monotonic() - started
    assert cut_after < 4.5, cut_after
    assert not answer.startswith(b"HTTP/1.1 2"), answer


class BodyTricklers:
    """Connections sending a large body a little above the minimum rate (never cut), from a thread."""

    def __init__(self, peer: FieldsyncPeer, path: str, count: int, length: int, rate: int) -> None:
        self.socks = []
        for i in range(count):
            sock = connect(peer, f"127.0.5.{i + 1}")
            sock.sendall(f"POST {path}/_bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Authorization: Basic {_basic(peer)}\r\nContent-Length: {length}\r\n\r\n".encode())
            self.socks.append(sock)
        self.piece = b" " * (rate // 10)  # every 0.1 s
        self.stop = threading.Event()
        self.cut = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            for sock in self.socks:
                try:
                    sock.send(self.piece, socket.MSG_DONTWAIT)
                except OSError:
                    self.cut += 1

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.socks:
            sock.close()


def timed_bulk_docs(peer: FieldsyncPeer, path: str, n: int) -> float:
    docs = [{"_id": f"quick{n}-{i}", "n": i} for i in range(5)]
    started = time.monotonic()
    response = requests.post(peer.root + path + "/_bulk_docs", json={"docs": docs}, auth=peer.auth, timeout=10)
    assert response.status_code == 201, response.text
    return time.monotonic() - started


def test_slow_bodies_of_more_clients_than_threads_leave_requests_with_bodies_answered(peer: FieldsyncPeer) -> None:
    # 40 clients (ten times the worker's 4 threads) each sending a 1 MB body at 600 B/s, just
    # above the 500 B/s asked for: the event loop collects their bodies, no thread is held.
    db = peer.new_db("slowbody")
    tricklers = BodyTricklers(peer, db.path, count=40, length=1_000_000, rate=600)
    try:
        time.sleep(1.0)  # every body has begun
        bulk = [timed_bulk_docs(peer, db.path, n) for n in range(4)]
        changes = [timed_changes(peer, db.path) for _ in range(4)]
        time.sleep(2.5)  # past a progress window: the tricklers, above the rate, are not cut
        assert not any(_readable(sock) for sock in tricklers.socks), "a trickler got an answer or was cut"
        assert tricklers.cut == 0
    finally:
        tricklers.close()
    assert max(bulk) < 1.0, bulk
    assert max(changes) < 1.0, changes
    assert len(db.all_docs()["rows"]) == 20


def test_a_slow_but_steady_body_is_served_when_whole(peer: FieldsyncPeer) -> None:
    db = peer.new_db("steady")
    body = json.dumps({"docs": [{"_id": "steady", "text": "x" * 1400}]}).encode()
    with connect(peer, "127.0.3.4") as sock:
        sock.sendall(f"POST {db.path}/_bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Authorization: Basic {_basic(peer)}\r\nConnection: close\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode())
        for start in range(0, len(body), 80):  # 800 B/s for about 2 s: one stall window and more
            sock.sendall(body[start:start + 80])
            time.sleep(0.1)
        answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    assert db.get_doc("steady")["text"] == "x" * 1400


def _big_batch(prefix: str) -> dict:
    # 2,000 documents of ~1.3 KB: 2.7 MB, over the 1 MiB a body may hold in memory (the rest is spilled).
    return {"docs": [{"_id": f"{prefix}-{i:04d}", "text": "y" * 1300} for i in range(2000)]}


def test_a_body_over_the_memory_bound_is_spilled_and_read_whole(peer: FieldsyncPeer) -> None:
    db = peer.new_db("spill")
    whole = json.dumps(_big_batch("length")).encode()
    response = requests.post(peer.root + db.path + "/_bulk_docs", data=whole, auth=peer.auth, timeout=30,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text[:300]
    chunked = json.dumps(_big_batch("chunked")).encode()
    pieces = (chunked[i:i + 100_000] for i in range(0, len(chunked), 100_000))  # requests sends it chunked
    response = requests.post(peer.root + db.path + "/_bulk_docs", data=pieces, auth=peer.auth, timeout=30,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text[:300]
    assert all(row.get("ok") for row in response.json())
    assert db.info()["doc_count"] == 4000
    assert db.get_doc("chunked-1999")["text"] == "y" * 1300


def test_expect_100_continue_is_answered_once_by_the_event_loop(peer: FieldsyncPeer) -> None:
    db = peer.new_db("expect")
    body = json.dumps({"docs": [{"_id": "expected"}]}).encode()
    with connect(peer, "127.0.3.5") as sock:
        sock.sendall(f"POST {db.path}/_bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Authorization: Basic {_basic(peer)}\r\nConnection: close\r\nExpect: 100-continue\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"  # before any of the body is sent
        sock.sendall(body)
        answer = answer_of(sock)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
    assert b"100 Continue" not in answer
    assert db.get_doc("expected") is not None


def oversize_put(peer: FieldsyncPeer, path: str, length: int) -> bytes:
    return (f"PUT {path}/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Basic {_basic(peer)}\r\nContent-Length: {length}\r\n\r\n").encode()


def read_one_answer(sock: socket.socket) -> bytes:
    got = b""
    while b"\r\n\r\n" not in got:
        got += sock.recv(65536)
    head, _, rest = got.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


def test_refused_bodies_trickling_after_the_answer_hold_no_thread(peer: FieldsyncPeer) -> None:
    # A body over the limit is answered 413 at once; what the client still sends of it is read
    # and dropped by the event loop. Eight clients (twice the threads) keep sending at 600 B/s.
    db = peer.new_db("refused")
    socks = []
    try:
        for i in range(8):
            sock = connect(peer, f"127.0.6.{i + 1}")
            sock.sendall(oversize_put(peer, db.path, 50_000_000) + b"x" * 1000)
            assert read_one_answer(sock).startswith(b"HTTP/1.1 413"), i
            socks.append(sock)
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(0.1):
                for sock in socks:
                    sock.send(b"x" * 60, socket.MSG_DONTWAIT)

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        try:
            time.sleep(0.5)
            bulk = [timed_bulk_docs(peer, db.path, n) for n in range(4)]
            changes = [timed_changes(peer, db.path) for _ in range(4)]
        finally:
            stop.set()
            thread.join()
    finally:
        for sock in socks:
            sock.close()
    assert max(bulk) < 1.0, bulk
    assert max(changes) < 1.0, changes


def test_after_a_refused_body_is_dropped_the_connection_serves_the_next_request(peer: FieldsyncPeer) -> None:
    db = peer.new_db("afterdrop")
    length = 3_100_000
    with connect(peer, "127.0.6.20") as sock:
        sock.sendall(oversize_put(peer, db.path, length))
        assert read_one_answer(sock).startswith(b"HTTP/1.1 413")
        sock.sendall(b"y" * length + b"GET /_up HTTP/1.1\r\nHost: x\r\n\r\n")  # the body, then the next request
        assert read_one_answer(sock).startswith(b"HTTP/1.1 200")


def test_one_address_holds_a_bounded_number_of_connections(peer: FieldsyncPeer) -> None:
    held = [connect(peer, "127.0.4.1") for _ in range(40)]
    try:
        time.sleep(0.3)
        with connect(peer, "127.0.4.1") as extra:
            assert answer_of(extra).startswith(b"HTTP/1.1 503")
        # Another address is served as ever, and so is one of the 40.
        assert requests.get(peer.root + "/_up", timeout=5).status_code == 200
        held[0].sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer_of(held[0]).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    with connect(peer, "127.0.4.1") as again:  # the closed ones were counted off
        again.sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer_of(again).startswith(b"HTTP/1.1 200")


def test_an_address_at_its_bound_gives_up_its_longest_idle_kept_alive_connection(peer: FieldsyncPeer) -> None:
    """Many devices behind one address (a carrier's NAT) keep connections alive between requests:
    a new connection is served by closing the one idle longest, not refused."""
    held = [connect(peer, "127.0.4.2") for _ in range(40)]
    try:
        for sock in held:  # each finishes a request and stays open, idle
            sock.sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_one_answer(sock).startswith(b"HTTP/1.1 200")
            time.sleep(0.01)
        with connect(peer, "127.0.4.2") as extra:
            extra.sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert answer_of(extra).startswith(b"HTTP/1.1 200")
        # One idle connection was closed at once (the keep-alive deadline is 15 s away)...
        closed, _, _ = select.select(held, [], [], 1)
        assert len(closed) == 1 and closed[0].recv(100) == b""
        # ...and the others still serve.
        other = next(sock for sock in held if sock is not closed[0])
        other.sendall(b"GET /_up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer_of(other).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()


def _readable(sock: socket.socket) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])


def _basic(peer: FieldsyncPeer) -> str:
    import base64

    return base64.b64encode(":".join(peer.auth).encode()).decode()


def test_no_worker_died_of_any_of_it(peer: FieldsyncPeer) -> None:
    # Last in the module: the event loop's reading of heads and bodies never raised (a worker
    # that dies takes every connection it held with it).
    log = peer.server.log_tail(100_000)
    assert "Exception in worker process" not in log and "Traceback" not in log, log[-3000:]
