"""Gzipped request bodies: a pushed batch is stored as if sent plain, a gzip bomb is a 413.

The field app gzips its ``_bulk_docs`` on a thin link (fieldapp/src/gzip_fetch.js)
once the server says ``Accept-Encoding: gzip``. The body limits apply to the
inflated size. Flask's test client on a real SQLite store with small limits,
plus one real ``fieldsync serve`` (gunicorn) for the bomb over a socket.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import resource
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from gate_helpers import visit

from server import create_app
from server.config import Settings
from sync.demo import DEMO_PASSWORD, seed_demo

BODY_LIMIT = 200_000
AUTH = {"Authorization": "Basic " + base64.b64encode(f"bolormaa:{DEMO_PASSWORD}".encode()).decode()}
MEGABYTE = gzip.compress(b"a" * (1 << 20), 9)  # one gzip member
GZ = {**AUTH, "Content-Type": "application/json", "Content-Encoding": "gzip"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(Settings(data_dir=Path(tmp_path_factory.mktemp("gzip")) / "data", secret_key="s",
                              admin=("admin", "admin-password-1"), max_body_bytes=BODY_LIMIT,
                              max_batch_bytes=BODY_LIMIT))
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app
    svc.store.close()


def photo_visit(seed: int) -> dict:
    doc = visit(seed=seed)
    doc["data"]["dwelling_photo"] = "ger.jpg"
    jpeg = bytes(range(256)) * 40  # stands for a photo's bytes
    doc["_attachments"] = {"ger.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(jpeg).decode()}}
    return doc


def test_the_server_says_it_takes_gzip(app: Flask) -> None:
    assert app.test_client().get("/sync/bolormaa", headers=AUTH).headers["Accept-Encoding"] == "gzip"


def test_a_gzipped_bulk_docs_is_stored_as_sent(app: Flask) -> None:
    docs = [visit(seed=n) for n in range(10, 30)] + [photo_visit(31)]
    plain = json.dumps({"docs": docs}).encode()
    client = app.test_client()
    answer = client.post("/sync/bolormaa/_bulk_docs", data=gzip.compress(plain), headers=GZ)
    assert answer.status_code == 201, answer.json
    assert all(r.get("ok") for r in answer.json), answer.json
    stored = client.get(f"/sync/bolormaa/{docs[-1]['_id']}?attachments=true", headers=AUTH).json
    assert stored["data"] == docs[-1]["data"]
    assert stored["_attachments"]["ger.jpg"]["data"] == docs[-1]["_attachments"]["ger.jpg"]["data"]
    # Several gzip members one after the other are one body (RFC 1952), as CouchDB reads them.
    more = [visit(seed=n) for n in range(40, 44)]
    text = json.dumps({"docs": more}).encode()
    answer = client.post("/sync/bolormaa/_bulk_docs", data=gzip.compress(text[:50]) + gzip.compress(text[50:]),
                         headers=GZ)
    assert answer.status_code == 201 and all(r.get("ok") for r in answer.json), answer.json
    revs = client.post("/sync/bolormaa/_revs_diff", headers=GZ,
                       data=gzip.compress(json.dumps({d["_id"]: ["1-x"] for d in more}).encode()))
    assert revs.status_code == 200 and set(revs.json) == {d["_id"] for d in more}


def test_a_gzip_bomb_is_413_and_stores_nothing(app: Flask) -> None:
    client = app.test_client()
    # 1 GB of one byte inside a JSON string, as 1,024 gzip members of 1 MB each (one body, RFC 1952):
    # about 1 MB of gzip; only BODY_LIMIT of it is inflated.
    bomb = gzip.compress(b'{"docs": [{"_id": "uvs-tes:sub:01BOMB", "x": "') + MEGABYTE * 1024 + gzip.compress(b'"}]}')
    assert len(bomb) < 1_100_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    answer = client.post("/sync/bolormaa/_bulk_docs", data=bomb, headers=GZ)
    assert answer.status_code == 413 and answer.json["error"] == "too_large", answer.data[:200]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KB: no GB in memory
    assert client.get("/sync/bolormaa/uvs-tes:sub:01BOMB", headers=AUTH).status_code == 404
    # Just over the limit once inflated, though the gzip is tiny: refused the same way.
    over = json.dumps({"docs": [{"_id": "uvs-tes:sub:01OVER", "x": "b" * BODY_LIMIT}]}).encode()
    answer = client.post("/sync/bolormaa/_bulk_docs", data=gzip.compress(over), headers=GZ)
    assert answer.status_code == 413 and len(gzip.compress(over)) < 2000


@pytest.mark.parametrize(("body", "headers", "status", "error"), [
    (b"not gzip at all", GZ, 400, "bad_request"),
    (gzip.compress(b'{"docs": []}', mtime=0)[:-6], GZ, 400, "bad_request"),  # cut short
    (b"", GZ, 400, "bad_request"),
    (b'{"docs": []}', {**GZ, "Content-Encoding": "br"}, 415, "bad_content_type"),
])
def test_bodies_that_are_not_gzip_are_the_clients_error(app: Flask, body: bytes, headers: dict, status: int,
                                                        error: str) -> None:
    answer = app.test_client().post("/sync/bolormaa/_bulk_docs", data=body, headers=headers)
    assert answer.status_code == status and answer.json["error"] == error, answer.data


def test_no_body_is_no_body(app: Flask) -> None:
    answer = app.test_client().get("/sync/bolormaa", headers={**AUTH, "Content-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.json["db_name"]


def test_identity_is_plain(app: Flask) -> None:
    answer = app.test_client().post("/sync/bolormaa/_bulk_docs", json={"docs": [visit(seed=50)]},
                                    headers={**AUTH, "Content-Encoding": "identity"})
    assert answer.status_code == 201 and answer.json[0].get("ok")


def test_a_bomb_over_a_socket_to_fieldsync_serve() -> None:
    """gunicorn, the event loop's body collection and a worker: 413, and the server goes on answering."""
    from servers import FIELDSYNC_ADMIN, fieldsync_server

    with fieldsync_server(publish_forms=False, extra_env={"FIELDSYNC_MAX_BODY_BYTES": str(BODY_LIMIT),
                                                         "FIELDSYNC_MAX_BATCH_BYTES": str(BODY_LIMIT)}) as server:
        bomb = gzip.compress(b'{"docs": [{"x": "') + MEGABYTE * 50 + gzip.compress(b'"}]}')
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("POST", "/sync/bolormaa/_bulk_docs", body=bomb, headers=GZ)
        answer = conn.getresponse()
        assert answer.status == 413 and json.loads(answer.read())["error"] == "too_large"
        # A gzipped login on the same connection: inflated by the real server.
        name, password = FIELDSYNC_ADMIN
        conn.request("POST", "/_session", headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                     body=gzip.compress(json.dumps({"name": name, "password": password}).encode()))
        answer = conn.getresponse()
        assert answer.status == 200 and json.loads(answer.read())["ok"] is True
        conn.close()
