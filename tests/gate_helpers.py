"""Shared pieces of the write gate tests (test_gate.py, test_quarantine.py).

The demo data set (sync/demo.py) gives real areas, users and published forms:
bolormaa works in uvs-tes, ganzorig in uvs-naranbulag, tsetseg and batbold
both in ovr-kharkhorin, oyunaa coordinates the uvs aimag. Every password is
the demo's. Seeding hashes seven passwords (argon2id), so a module seeds one
template data directory and each test works on its own copy of it: real
SQLite files every time, never shared between tests.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import random
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest

from server.config import Settings
from server.services import Services
from sync import ids
from sync.demo import DEMO_PASSWORD, household_visit, seed_demo, submission
from sync.docs import check_doc
from sync.gate.quarantine import QUARANTINE_SCOPE
from sync.stores.base import Database

PASSWORD = DEMO_PASSWORD
TES = "uvs-tes"  # bolormaa's soum
# Every write runs twice: a plain client, and a replicator sending revisions it made itself.
EDITS = pytest.mark.parametrize("new_edits", [True, False], ids=["new_edits", "replicator"])
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF" + random.Random(5).randbytes(3000) + b"\xff\xd9"


def settings(data: Path) -> Settings:
    return Settings(data_dir=data, admin=("admin", PASSWORD))


def services_at(data: Path) -> Services:
    return Services.build(settings(data))


def seed_template(data: Path) -> Path:
    """The demo's areas, users and bundled forms (no submissions) in ``data``."""
    svc = services_at(data)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    svc.store.close()
    return data


def copy_of(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


def new_key() -> str:
    return ids.new_ulid()


def visit(area: str = TES, author: str = "bolormaa", key: str | None = None, *, seed: int = 0,
          created_at: str = "2026-10-05T10:00:00+08:00", version: int = 1, **answers: Any) -> dict:
    """A valid household_visit submission; ``answers`` replace some of its data."""
    data = household_visit(random.Random(seed), day=date(2026, 10, 5))
    data.update(answers)
    doc = submission(f"{area}:sub:{key or new_key()}", "household_visit", author, data, created_at)
    doc["form_version"] = version
    return doc


def key_of(docid: str) -> str:
    return docid.rsplit(":", 1)[1]


def feedback_id(docid: str) -> str:
    parsed = ids.parse_doc_id(docid)
    return f"{parsed.scope}:feedback:{parsed.key}"


def with_photo(doc: dict, name: str = "dwelling.jpg", content_type: str = "image/jpeg",
               field: str | None = "dwelling_photo") -> dict:
    doc = copy.deepcopy(doc)
    if field:
        doc["data"][field] = name
    doc.setdefault("_attachments", {})[name] = {
        "content_type": content_type, "data": base64.b64encode(PHOTO).decode()}
    return doc


def rev_for(doc: dict, generation: int = 1) -> str:
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    return f"{generation}-{hashlib.md5(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()}"


def as_sent(doc: dict, new_edits: bool, parents: list[str] = ()) -> dict:
    """``doc`` as a client's ``_bulk_docs`` carries it (replicators: new_edits=false, with history)."""
    doc = copy.deepcopy(doc)
    if not new_edits and "_rev" not in doc:
        rev = rev_for(doc, len(parents) + 1)
        doc["_rev"] = rev
        doc["_revisions"] = {"start": len(parents) + 1,
                             "ids": [rev.split("-", 1)[1], *(p.split("-", 1)[1] for p in parents)]}
    return doc


def checked(docs: list[dict], new_edits: bool) -> list[dict]:
    """What the HTTP layer hands the gate: checked copies, attachments decoded."""
    return [check_doc(copy.deepcopy(d), new_edits=new_edits) for d in docs]


def state(db: Database) -> tuple[Any, dict[str, list[str]]]:
    """A scope as it stands: its update sequence and every document's leaf revisions."""
    leaves = {row["id"]: sorted(c["rev"] for c in row["changes"])
              for row in db.changes(0, style="all_docs")}
    return db.update_seq(), leaves


def entries_for(svc: Services, docid: str) -> list[dict]:
    return [e for e in svc.quarantine.list(None) if e["doc_id"] == docid]


def quarantine_db(svc: Services) -> Database:
    return svc.store.ensure(QUARANTINE_SCOPE)


def basic(name: str, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def push_as(app: Any, user: str, docs: list[dict]) -> list[dict]:
    """``docs`` pushed through ``user``'s own replica, as her device would (the demo's
    password), on the Flask test client; the per-document answers of ``_bulk_docs``."""
    resp = app.test_client().post(f"/sync/{user}/_bulk_docs", json={"docs": docs},
                                  headers=basic(user, DEMO_PASSWORD))
    assert resp.status_code == 201, resp.text
    return resp.get_json()
