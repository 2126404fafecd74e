"""Broken HTTP over raw sockets never gets a 500 or a traceback: the transport, not the JSON.

Everything here is sent byte for byte to the real server (gunicorn,
server.serving.Worker) and read back the same way: bad chunking, lying
``Content-Length``, bodies cut by a half-close, huge headers, odd methods,
paths and encodings, forged cookies, against the protocol, ``/_session``,
``/api`` and the web pages. Each answer must be a 4xx (or the connection
closed without an answer where nothing could be framed), never a 5xx; the
server must keep answering; and its log must hold no traceback.
A seeded mutation round then flips, cuts and repeats bytes of real requests.
The JSON of bodies is fuzzed elsewhere (tests/test_protocol_fuzz.py, /api).
"""

from __future__ import annotations

import base64
import random
import re
import socket
import time
from collections.abc import Iterator

import pytest
import requests
from servers import FieldsyncPeer, fieldsync_server

SCOPE = "/db/fuzz"


@pytest.fixture(scope="module")
def peer() -> Iterator[FieldsyncPeer]:
    env = {"FIELDSYNC_HEADER_SECONDS": "2", "FIELDSYNC_STALL_SECONDS": "2", "FIELDSYNC_IDLE_SECONDS": "3",
           "FIELDSYNC_MAX_BODY_BYTES": "1000000", "FIELDSYNC_MAX_CONNECTIONS_PER_ADDRESS": "0"}
    with fieldsync_server(extra_env=env, workers=1, threads=8, publish_forms=False) as server:
        assert requests.put(server.root + SCOPE, auth=server.auth, timeout=10).status_code == 201
        yield server
        log = server.server.log_path.read_text(errors="replace")
        assert "Traceback" not in log and "unhandled error" not in log, log[-4000:]


def auth_header(peer: FieldsyncPeer) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(":".join(peer.auth).encode()) + b"\r\n"


def exchange(peer: FieldsyncPeer, raw: bytes, *, half_close: bool = False, wait: float = 6.0) -> bytes:
    """Send ``raw``; everything the server answers until it closes (or ``wait`` passes)."""
    with socket.create_connection(("127.0.0.1", peer.port), timeout=wait) as sock:
        try:
            sock.sendall(raw)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything
        got = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
        return got


def statuses(answer: bytes) -> list[int]:
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


def assert_no_5xx(answer: bytes, what: str) -> list[int]:
    found = statuses(answer)
    assert all(s < 500 for s in found), f"{what}: {answer[:600]!r}"
    return found


def chunked(path: bytes, chunks: bytes, peer: FieldsyncPeer, ctype: bytes = b"application/json") -> bytes:
    return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth_header(peer)
            + b"Content-Type: " + ctype + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)


BAD_CHUNKINGS = {
    "size zz": b"zz\r\n{}\r\n0\r\n\r\n",
    "negative size": b"-5\r\n{}\r\n0\r\n\r\n",
    "size overflow": b"f" * 40 + b"\r\n{}\r\n0\r\n\r\n",
    "no terminator": b"2\r\n{}XX0\r\n\r\n",
    "short chunk": b"10\r\n{}\r\n0\r\n\r\n",
    "bad extension": b"2;\x00=\x01\r\n{}\r\n0\r\n\r\n",
    "no last chunk": b"2\r\n{}\r\n",
    "garbage trailer": b"2\r\n{}\r\n0\r\nX: \x00\x01\r\n\r\n",
}


@pytest.mark.parametrize("path", [b"/_session", SCOPE.encode() + b"/_bulk_docs", b"/api/users",
                                  b"/web/login", SCOPE.encode() + b"/doc1"])
@pytest.mark.parametrize("name", list(BAD_CHUNKINGS))
def test_bad_chunking_is_a_4xx(peer: FieldsyncPeer, path: bytes, name: str) -> None:
    raw = chunked(path, BAD_CHUNKINGS[name], peer)
    if path.endswith(b"/doc1"):
        raw = raw.replace(b"POST ", b"PUT ", 1)
    if path == b"/web/login":
        raw = raw.replace(b"application/json", b"application/x-www-form-urlencoded")
    answer = exchange(peer, raw, half_close=True)  # what was sent is all there is
    found = assert_no_5xx(answer, name)
    if name == "size zz":
        assert found and found[0] in (400, 403), answer[:300]  # 403: the web form's CSRF check reads first


def test_the_issues_bad_chunk_size_on_session_and_bulk_docs_is_400(peer: FieldsyncPeer) -> None:
    for path in (b"/_session", SCOPE.encode() + b"/_bulk_docs"):
        answer = exchange(peer, chunked(path, b"zz\r\n{}\r\n0\r\n\r\n", peer))
        assert statuses(answer)[:1] == [400], answer[:300]
        assert b'"error":"bad_request"' in answer


LYING_LENGTHS = {
    "longer than sent, half-closed": (b"Content-Length: 500\r\n", b'{"docs": []}', True),
    "not a number": (b"Content-Length: twelve\r\n", b'{"docs": []}', False),
    "negative": (b"Content-Length: -12\r\n", b'{"docs": []}', False),
    "enormous": (b"Content-Length: " + b"9" * 30 + b"\r\n", b'{"docs": []}', False),
    "two different": (b"Content-Length: 12\r\nContent-Length: 3\r\n", b'{"docs": []}', False),
    "with chunked too": (b"Content-Length: 12\r\nTransfer-Encoding: chunked\r\n", b'{"docs": []}', False),
    "shorter than sent": (b"Content-Length: 3\r\n", b'{"docs": []}', False),
    "over the body limit": (b"Content-Length: 5000000\r\n", b'{"docs": [', True),
}


@pytest.mark.parametrize("path", [b"/_session", SCOPE.encode() + b"/_bulk_docs", b"/api/areas", b"/web/login"])
@pytest.mark.parametrize("name", list(LYING_LENGTHS))
def test_lying_content_length_is_never_a_5xx(peer: FieldsyncPeer, path: bytes, name: str) -> None:
    header, body, half_close = LYING_LENGTHS[name]
    raw = (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth_header(peer)
           + b"Content-Type: application/json\r\n" + header + b"\r\n" + body)
    assert_no_5xx(exchange(peer, raw, half_close=half_close), name)


HEADS = {
    "huge header value": b"GET /_up HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
    "many headers": b"GET /_up HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(300)) + b"\r\n",
    "huge request line": b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "unknown method": b"FROB /_up HTTP/1.1\r\nHost: x\r\n\r\n",
    "lowercase method": b"get /_up HTTP/1.1\r\nHost: x\r\n\r\n",
    "method with NUL": b"GE\x00T /_up HTTP/1.1\r\nHost: x\r\n\r\n",
    "HTTP/2.0 line": b"GET /_up HTTP/2.0\r\nHost: x\r\n\r\n",
    "HTTP/9.9 line": b"GET /_up HTTP/9.9\r\nHost: x\r\n\r\n",
    "HTTP/1.0 no host": b"GET /_up HTTP/1.0\r\n\r\n",
    "no version": b"GET /_up\r\n\r\n",
    "bare LF": b"GET /_up HTTP/1.1\nHost: x\n\n",
    "space before colon": b"GET /_up HTTP/1.1\r\nHost : x\r\n\r\n",
    "folded header": b"GET /_up HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  continued\r\n\r\n",
    "header without colon": b"GET /_up HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n",
    "non-latin header bytes": b"GET /_up HTTP/1.1\r\nHost: x\r\nX-A: \xff\xfe\xc3\x28\r\n\r\n",
    "percent garbage path": b"GET /db/%zz%/%%% HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in path": b"GET /db/fuzz/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "raw non-UTF-8 path": b"GET /db/\xff\xfe/x HTTP/1.1\r\nHost: x\r\n\r\n",
    "dot segments": b"GET /db/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    "encoded dot segments": b"GET /db/fuzz/..%2f..%2f_users HTTP/1.1\r\nHost: x\r\n\r\n",
    "absolute URI": b"GET http://evil.example/_up HTTP/1.1\r\nHost: x\r\n\r\n",
    "asterisk": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "CONNECT": b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
    "TRACE": b"TRACE /_up HTTP/1.1\r\nHost: x\r\n\r\n",
    "web page bad query": b"GET /web/submissions?page=%ff%fe&lang=%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "web with junk cookie": b"GET /web/ HTTP/1.1\r\nHost: x\r\nCookie: session=\xff\x00junk; AuthSession=%%%\r\n\r\n",
    "junk accept-language": b"GET /web/login HTTP/1.1\r\nHost: x\r\nAccept-Language: \xff;q=abc,*;q=-1\r\n\r\n",
    "junk basic auth": b"GET /db/fuzz HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xff\xfe===\r\n\r\n",
    "basic auth not utf-8": b"GET /db/fuzz HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                            + base64.b64encode(b"\xff\xfe:\xfa") + b"\r\n\r\n",
    "expect continue unknown": b"POST /_session HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}",
    "unknown transfer coding": b"POST /_session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                               b"2\r\n{}\r\n0\r\n\r\n",
    "identity transfer coding": b"POST /_session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n"
                                b"Content-Length: 2\r\n\r\n{}",
    "bad gzip body": b"POST /db/fuzz/_bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n\x1f\x8b\x08garbage",
    "utf-16 json": b"POST /_session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; charset=utf-16\r\n"
                   b"Content-Length: 5\r\n\r\n\xff\xfe{\x00}",
    "bad form encoding": b"POST /_session HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded;"
                         b" charset=klingon\r\nContent-Length: 16\r\n\r\nname=%ff&password",
    "multipart without boundary": b"PUT /db/fuzz/doc2 HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/related\r\n"
                                  b"Content-Length: 4\r\n\r\nabcd",
    "HEAD of a feed": b"HEAD /db/fuzz/_changes?feed=continuous&timeout=100 HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("name", list(HEADS))
def test_odd_request_heads_are_never_a_5xx(peer: FieldsyncPeer, name: str) -> None:
    raw = HEADS[name]
    if b"/db/fuzz" in raw and b"Authorization" not in raw:
        raw = raw.replace(b"Host: x\r\n", b"Host: x\r\n" + auth_header(peer), 1)
    raw = raw.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n", 1)
    assert_no_5xx(exchange(peer, raw), name)


@pytest.mark.parametrize("path", [b"/_up", b"/db/fuzz/_all_docs", b"/api/users", b"/web/", b"/_session",
                                  b"/sync/admin", b"/no/such/place"])
def test_a_forged_session_cookie_with_a_400_digit_time_is_refused_not_a_500(peer: FieldsyncPeer, path: bytes) -> None:
    for issued in ("9" * 400, "-1", "", "zz", "0x10", "1" * 17):
        value = base64.urlsafe_b64encode(f"{peer.auth[0]}:{issued}:{'0' * 40}".encode()).rstrip(b"=")
        raw = (b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: AuthSession="
               + value + b"\r\n\r\n")
        found = assert_no_5xx(exchange(peer, raw), f"time field {issued[:10]!r}")
        assert found, path


def test_the_server_still_answers_after_all_of_it(peer: FieldsyncPeer) -> None:
    assert requests.get(peer.root + "/_up", timeout=5).status_code == 200
    assert requests.get(peer.root + SCOPE + "/_all_docs", auth=peer.auth, timeout=5).status_code == 200


SEEDS = [
    b"POST /db/fuzz/_bulk_docs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 38\r\n"
    b"\r\n{\"docs\": [{\"_id\": \"m1\", \"a\": 1}]}\n\n\n\n",
    b"POST /_session HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n1a\r\nname=admin&password=wrongx\r\n0\r\n\r\n",
    b"GET /db/fuzz/_changes?feed=longpoll&timeout=200&since=0 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"PUT /db/fuzz/m2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1}",
    b"POST /web/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    b"Content-Length: 27\r\n\r\nname=admin&password=wrong-1",
    b"GET /api/sync-status?days=abc&limit=-1 HTTP/1.1\r\nHost: x\r\n\r\n",
]


def mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        what = rng.random()
        at = rng.randrange(len(data)) if data else 0
        if what < 0.3:
            data[at] = rng.randrange(256)  # flip a byte
        elif what < 0.5:
            del data[at:at + rng.randint(1, 8)]  # cut some
        elif what < 0.7:
            data[at:at] = data[at:at + rng.randint(1, 40)] * rng.randint(2, 5)  # repeat some
        elif what < 0.85:
            data[at:at] = rng.choice([b"\r\n", b"\n", b"\x00", b":", b" ", b"\r\n\r\n", b"%", b"\xff"])
        else:
            data = data[:at]  # truncate: the rest never comes
    return bytes(data)


def test_mutated_requests_are_never_a_5xx(peer: FieldsyncPeer) -> None:
    rng = random.Random(17)
    checked = 0
    for round_ in range(160):
        seed = SEEDS[round_ % len(SEEDS)].replace(b"Host: x\r\n", b"Host: x\r\n" + auth_header(peer), 1)
        raw = mutate(seed, rng)
        answer = exchange(peer, raw, half_close=True, wait=4.0)
        assert_no_5xx(answer, f"round {round_}: {raw[:200]!r}")
        checked += bool(answer)
    assert checked > 100  # most of them were answered, not just dropped
