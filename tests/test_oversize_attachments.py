"""An attachment over FIELDSYNC_MAX_ATTACHMENT_BYTES is refused per document, whichever way it comes.

PouchDB sends photos inline in ``_bulk_docs`` (tests/interop/test_hostile_pouchdb.py
drives a real PouchDB 9); the CouchDB replicator sends each document with its
attachments as ``multipart/related`` in a ``PUT``. Both reach the write gate:
``forbidden`` naming the document, the size and the limit, in English and
Mongolian; the quarantine keeps the document without the photo; a feedback
document tells the device. Flask's test client on a real SQLite store.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from gate_helpers import feedback_id, visit

from server import create_app
from server.config import Settings
from sync.demo import DEMO_PASSWORD, seed_demo

LIMIT = 10_000


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(Settings(data_dir=Path(tmp_path_factory.mktemp("oversize")) / "data", secret_key="s",
                              admin=("admin", "admin-password-1"), max_attachment_bytes=LIMIT))
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app
    svc.store.close()


AUTH = {"Authorization": "Basic " + base64.b64encode(f"bolormaa:{DEMO_PASSWORD}".encode()).decode()}


def photo_doc(seed: int) -> dict:
    doc = visit(seed=seed)
    doc["data"]["dwelling_photo"] = "ger.jpg"
    return doc


def held(app: Flask, doc_id: str) -> dict:
    [entry] = [e for e in app.extensions["fieldsync"].quarantine.list(None) if e["doc_id"] == doc_id]
    return entry


def test_a_multipart_put_as_the_couchdb_replicator_sends_it(app: Flask) -> None:
    doc = photo_doc(1)
    doc.update(_rev="1-abc", _revisions={"start": 1, "ids": ["abc"]},
               _attachments={"ger.jpg": {"content_type": "image/jpeg", "follows": True, "length": LIMIT + 1}})
    body = (b"--B\r\nContent-Type: application/json\r\n\r\n" + json.dumps(doc).encode()
            + b"\r\n--B\r\nContent-Disposition: attachment; filename=\"ger.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            + b"\xff" * (LIMIT + 1) + b"\r\n--B--")
    answer = app.test_client().put(f"/sync/bolormaa/{doc['_id']}?new_edits=false", data=body,
                                   headers={**AUTH, "Content-Type": "multipart/related; boundary=B"})
    assert answer.status_code == 403 and answer.json["error"] == "forbidden"
    assert doc["_id"] in answer.json["reason"] and "at most 0.01 MB" in answer.json["reason"]
    assert "хавсралт" in answer.json["messages"]["mn"]
    entry = held(app, doc["_id"])
    assert entry["doc"]["_attachments"]["ger.jpg"]["length"] == LIMIT + 1 and not entry.get("_attachments")


def test_inline_in_bulk_docs_only_the_oversize_document_is_refused(app: Flask) -> None:
    small, big = visit(seed=2), photo_doc(3)
    big["_attachments"] = {"ger.jpg": {"content_type": "image/jpeg",
                                       "data": base64.b64encode(b"\xff" * (LIMIT + 1)).decode()}}
    within = photo_doc(4)
    within["_attachments"] = {"ger.jpg": {"content_type": "image/jpeg",
                                          "data": base64.b64encode(b"\xff" * LIMIT).decode()}}
    client = app.test_client()
    answer = client.post("/sync/bolormaa/_bulk_docs", json={"docs": [small, big, within]}, headers=AUTH)
    assert answer.status_code == 201
    results = {r["id"]: r for r in answer.json}
    assert results[small["_id"]].get("ok") and results[within["_id"]].get("ok")
    assert results[big["_id"]]["error"] == "forbidden"
    feedback = client.get(f"/sync/bolormaa/{feedback_id(big['_id'])}", headers=AUTH).json
    assert feedback["status"] == "refused" and feedback["summary"] == results[big["_id"]]["messages"]
