"""Slow and idle clients against the real server (gunicorn, server.serving.Worker), over raw sockets.

One worker with four threads, so that four connections holding a thread each
would take the server off the air; the deadlines are shortened (seconds, not
tens of seconds) to keep the tests fast: the mechanism is the one deployed
(server/slow_clients.py). bench/slow_clients.py does the same with 1,000
connections against Apache CouchDB; a real PouchDB sync over 256 kbit/s with a
600 ms round trip under the same deadlines is never cut
(tests/interop/test_hostile_pouchdb.py).
"""

from __future__ import annotations

import socket
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


def _readable(sock: socket.socket) -> bool:
    import select

    return bool(select.select([sock], [], [], 0)[0])


def _basic(peer: FieldsyncPeer) -> str:
    import base64

    return base64.b64encode(":".join(peer.auth).encode()).decode()
