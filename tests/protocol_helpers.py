"""Shared pieces of the HTTP protocol tests (``tests/test_protocol_*.py``).

Every test talks to a real app (``server.create_app``) over Flask's test client,
with a real store behind it: nothing is mocked. The ``app`` fixture is
parametrized over both Store backends, so every protocol test runs twice:
``sqlite`` (a data directory under ``tmp_path``), ``couchdb`` (one Apache
CouchDB 3.5 node from ``../shared/couchdb``, or the one
``FIELDSYNC_TEST_COUCHDB_URL`` names, or pouchdb-server where there is
neither) and ``couchdb-cluster`` (a 3-node Apache CouchDB cluster); see
``tests/servers.py``. Where pouchdb-server stands in and is not CouchDB 3, the
test is marked xfail for that run only, from the catalogue in
``tests/couch_gaps.py``.

The helpers here only save typing: an admin client that sends Basic
credentials, a scope created for the test, and readers for CouchDB's answers
(the JSON error shape, multipart bodies).
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from couch_gaps import mark_pouchdb_server_gaps
from eventual import DEADLINE, settle, wait_until
from flask import Flask
from flask.testing import FlaskClient
from servers import BACKENDS, couch_url_for
from werkzeug.test import TestResponse

from server import create_app
from server.config import Settings

ADMIN = ("admin", "secret")
SCOPE = "s"


def basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def make_app(data_dir: Path, **settings: Any) -> Flask:
    app = create_app(Settings(data_dir=data_dir, admin=ADMIN, **settings))
    app.testing = True
    return app


def backend_settings(request: pytest.FixtureRequest, backend: str) -> dict[str, Any]:
    """``make_app`` settings for ``backend``: CouchDB gets the session's server and a fresh prefix."""
    if backend == "sqlite":
        return {}
    url = couch_url_for(request, backend)
    return {"store": "couchdb", "couchdb_url": url, "couchdb_prefix": f"proto{secrets.token_hex(4)}-"}


def close_app(app: Flask) -> None:
    """Release the app's store; on CouchDB also drop its databases (system scopes too),
    so that a shared CouchDB is left as it was found."""
    store = app.extensions["fieldsync"].store
    try:
        if app.config.get("FIELDSYNC_BACKEND") != "sqlite":
            for name in store.names():
                try:
                    store.delete(name)
                except Exception:  # noqa: BLE001 - cleanup must not hide the test's own failure
                    pass
    finally:
        store.close()


def make_backend_app(request: pytest.FixtureRequest, backend: str, data_dir: Path, **settings: Any) -> Flask:
    app = make_app(data_dir, **backend_settings(request, backend), **settings)
    app.config["FIELDSYNC_BACKEND"] = backend
    return app


class Couch:
    """Flask's test client, with the admin's credentials on every request.

    ``json=`` bodies are sent as ``application/json``; ``data=`` bodies as given.
    ``headers`` are added to (and may override) the credentials.
    """

    def __init__(self, client: FlaskClient, auth: tuple[str, str] | None = ADMIN):
        self.client = client
        self.auth = auth

    def request(self, method: str, path: str, **kw: Any) -> TestResponse:
        headers = dict(basic(*self.auth)) if self.auth else {}
        headers.update(kw.pop("headers", None) or {})
        if "json" in kw:
            kw["data"] = json.dumps(kw.pop("json"))
            kw.setdefault("content_type", "application/json")
        return self.client.open(path, method=method, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.request("GET", path, **kw)

    def head(self, path: str, **kw: Any) -> TestResponse:
        return self.request("HEAD", path, **kw)

    def put(self, path: str, **kw: Any) -> TestResponse:
        return self.request("PUT", path, **kw)

    def post(self, path: str, **kw: Any) -> TestResponse:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", path, **kw)

    # -- shortcuts for setting up a test's data --------------------------------
    # A test's setup writes are waited for until they show, as a client polling for its
    # own write would: on a cluster a read just after a write may come from a copy that
    # does not have it yet (tests/eventual.py). Elsewhere the first read shows it.
    @property
    def steady_reads(self) -> int:
        """Reads in a row that must agree before a write counts as visible."""
        return 3 if self.client.application.config.get("FIELDSYNC_BACKEND") == "couchdb-cluster" else 1

    def settle(self, db: str, written: Any) -> None:
        """Until ``db`` steadily shows ``written`` (ids, or ids to revisions): see ``eventual.settle``."""
        settle(self, db, written, steady=self.steady_reads)

    def create_doc(self, db: str, doc: dict) -> str:
        """Write ``doc`` (``_id`` required) and return its new rev, once visible."""
        resp = self.put(f"{db}/{doc['_id']}", json={k: v for k, v in doc.items() if k != "_id"})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        self.settle(db, {doc["_id"]: resp.json["rev"]})
        return resp.json["rev"]

    def bulk(self, db: str, docs: list[dict], new_edits: bool = True) -> list[dict]:
        """``_bulk_docs``; its answer, once what it stored is visible."""
        resp = self.post(f"{db}/_bulk_docs", json={"docs": docs, "new_edits": new_edits})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        if new_edits:
            self.settle(db, {r["id"]: r["rev"] for r in resp.json if r.get("ok")})
        else:
            refused = {r["id"] for r in resp.json}
            self.settle(db, [d["_id"] for d in docs if d.get("_id") not in refused])
        return resp.json

    def info(self, db: str) -> dict:
        resp = self.get(db)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.json

    def doc(self, db: str, docid: str, **params: str) -> TestResponse:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.get(f"{db}/{docid}" + (f"?{query}" if query else ""))


@pytest.fixture(scope="session", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app and data directory per backend for the session (hashing the admin's
    password is deliberately slow); ``couch`` gives each test an empty server."""
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("protocol") / "data")
    yield app
    close_app(app)


@pytest.fixture(params=BACKENDS)
def new_app(request: pytest.FixtureRequest) -> Iterator[Callable[..., Flask]]:
    """For tests that need their own settings: ``new_app(data_dir, **settings)`` on each backend."""
    made: list[Flask] = []

    def make(data_dir: Path, **settings: Any) -> Flask:
        app = make_backend_app(request, request.param, data_dir, **settings)
        made.append(app)
        return app

    mark_pouchdb_server_gaps(request.node, request.param)
    yield make
    for app in made:
        close_app(app)


@pytest.fixture
def couch(request: pytest.FixtureRequest, app: Flask) -> Iterator[Couch]:
    mark_pouchdb_server_gaps(request.node, app.config["FIELDSYNC_BACKEND"])
    yield Couch(app.test_client())
    store = app.extensions["fieldsync"].store
    for name in store.names():
        if not name.startswith("_"):  # scopes a test made; system scopes stay
            store.delete(name)


@pytest.fixture
def db(couch: Couch) -> str:
    """A fresh, empty scope; the value is its URL path.

    The previous test's scope of the same name was just deleted. A cluster may
    still answer ``412 file_exists`` for a moment (the deletion reaches every
    node's shard map a little later), and under load CouchDB can keep a
    half-deleted database that answers 412 to every create until it is deleted
    once more (apache/couchdb#2073, #1197); so a 412 is followed by a DELETE and
    the create is tried again, until ``DEADLINE``.
    """
    def create() -> TestResponse:
        resp = couch.put(f"/db/{SCOPE}")
        if resp.status_code == 412:
            couch.delete(f"/db/{SCOPE}")
        return resp

    resp = wait_until(create, lambda r: r.status_code != 412, interval=0.1,
                      what=f"/db/{SCOPE} created again after its deletion", timeout=DEADLINE)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return f"/db/{SCOPE}"


# -- reading answers -----------------------------------------------------------
def assert_error(resp: TestResponse, status: int, error: str | None = None) -> dict:
    """CouchDB's error shape: the status, JSON ``{"error", "reason"}``, both strings."""
    body_text = resp.get_data(as_text=True)
    assert resp.status_code == status, f"{resp.status_code} != {status}: {body_text[:500]}"
    assert resp.mimetype == "application/json", resp.mimetype
    body = json.loads(body_text)
    assert isinstance(body, dict), body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("reason"), str) and body["reason"], body
    if error is not None:
        assert body["error"] == error, body
    return body


def md5_digest(data: bytes) -> str:
    """CouchDB's attachment digest: ``md5-`` and the base64 of the MD5."""
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_multipart(content_type: str, body: bytes) -> email.message.Message:
    """A multipart HTTP body as an ``email`` message tree (an independent MIME parser)."""
    raw = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    msg = email.message_from_bytes(raw, policy=email.policy.HTTP)
    assert msg.is_multipart(), content_type
    assert not msg.defects, msg.defects
    return msg


def part_json(part: email.message.Message) -> Any:
    return json.loads(part.get_payload(decode=True))


def related_body(doc: dict, attachments: list[tuple[str, str, bytes]], boundary: str = "abc123XYZ") -> tuple[str, bytes]:
    """A ``multipart/related`` document write as the CouchDB replicator sends it.

    ``attachments`` are ``(name, content_type, bytes)``; the JSON part must already
    mark them ``"follows": true``. Returns ``(content_type, body)``.
    """
    out = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), json.dumps(doc).encode()]
    for name, ctype, data in attachments:
        out.append(
            f"\r\n--{boundary}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(data)}\r\n\r\n".encode()
        )
        out.append(data)
    out.append(f"\r\n--{boundary}--".encode())
    return f'multipart/related; boundary="{boundary}"', b"".join(out)


def seq_num(seq: Any) -> int:
    """The numeric prefix of an opaque sequence, for ordering checks only."""
    return int(str(seq).split("-", 1)[0])
