"""Shared pieces of the conflict tests: demo services on each store, and devices'
revisions made as a replicator makes them.

A device's edit is a ``new_edits=false`` document whose ``_revisions`` name the
revision it was made on, exactly what PouchDB pushes; its revision id is a
digest of its content, so the same edit on two devices is the same revision.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from gate_helpers import PASSWORD, TES, checked, new_key
from servers import couch_url_for

from server.config import Settings
from server.services import Services
from sync.demo import seed_demo


def demo_services(request: pytest.FixtureRequest, backend: str, data: Path) -> Iterator[Services]:
    """Services on the demo's areas, users and forms, on ``backend``; dropped afterwards."""
    if backend == "sqlite":
        settings = Settings(data_dir=data, admin=("admin", PASSWORD))
    else:
        settings = Settings(data_dir=data, admin=("admin", PASSWORD), store="couchdb",
                            couchdb_url=couch_url_for(request, backend),
                            couchdb_prefix=f"confl{secrets.token_hex(4)}-")
    svc = Services.build(settings)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    try:
        yield svc
    finally:
        if backend != "sqlite":
            for name in svc.store.names():
                try:
                    svc.store.delete(name)
                except Exception:  # noqa: BLE001 - cleanup must not hide the test's own failure
                    pass
        svc.store.close()


def family(area: str = TES, **fields: Any) -> dict:
    """A family record as workers keep them (no form: any fields)."""
    doc = {"_id": f"{area}:fam:{new_key()}", "type": "family", "name": "Батбаярын гэр бүл",
           "bag": "2-р баг", "remarks": "Өвөлжөөндөө бэлтгэлтэй.", "members": 4,
           "location": {"lat": 50.47, "lon": 93.6}}
    doc.update(fields)
    return doc


def revision(doc: dict, parents: list[str] = ()) -> dict:
    """``doc`` as a device's new revision on top of ``parents`` (newest first)."""
    body = {k: v for k, v in doc.items() if k not in ("_rev", "_revisions")}
    digest = hashlib.md5(orjson.dumps([list(parents)[:1], body], option=orjson.OPT_SORT_KEYS,
                                      default=str)).hexdigest()
    gen = len(parents) + 1
    out = copy.deepcopy(body)
    out["_rev"] = f"{gen}-{digest}"
    out["_revisions"] = {"start": gen, "ids": [digest, *(p.split("-", 1)[1] for p in parents)]}
    return out


def path(doc: dict) -> list[str]:
    """A device revision's ancestry, newest first (itself included)."""
    revs = doc["_revisions"]
    return [f"{revs['start'] - i}-{h}" for i, h in enumerate(revs["ids"])]


def edited(doc: dict, **changes: Any) -> dict:
    """The next revision of a device's ``doc`` with ``changes`` (``data__x`` edits ``data.x``)."""
    body = copy.deepcopy({k: v for k, v in doc.items() if k not in ("_rev", "_revisions")})
    for key, value in changes.items():
        node = body
        parts = key.split("__")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return revision(body, path(doc))


def push(svc: Services, user: str, docs: list[dict], scope: str = TES) -> list[dict]:
    """Docs pushed by ``user``'s replicator through the write gate (errors only, as CouchDB)."""
    return svc.gate.write(svc.users.get(user), svc.store.open(scope), checked(docs, False),
                          new_edits=False)


def leaves(svc: Services, docid: str, scope: str = TES) -> dict[str, bool]:
    """Every leaf revision of the document on the server: ``{rev: deleted}``."""
    found = svc.store.open(scope).open_revs(docid, None)
    return {f["ok"]["_rev"]: bool(f["ok"].get("_deleted")) for f in found if "ok" in f}
