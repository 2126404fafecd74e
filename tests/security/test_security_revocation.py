"""Access taken away: what a user loses must stop reaching her, and must not hurt the server.

Two leak paths of issue 17, on a world of its own (its users are changed here, which
the session's shared world must never be): an open feed of a user who is disabled
or moved goes on delivering new submissions; a worker moved to another soum keeps
the old one on her device. The revocation's tombstones carry no field, photo,
author or marker of the documents they take away; a ``since`` forged to name an
area or a role the worker never had lists nothing; and whatever the device sends
back (the tombstones, forged ones, plain deletions) leaves the store as it was.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time

import pytest
from conftest import ADMIN, basic
from flask import Flask

from server import create_app
from server.config import Settings
from server.services import Services
from sync.accounts.throttle import LoginThrottle
from sync.demo import DEMO_PASSWORD, household_visit, seed_demo, submission
from sync.docs import check_doc
from sync.replica.union import decode_seq

MARKER = "MARKER-REVOKED"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Flask, Services]:
    """naraa is disabled by one test, sarnai moved by another."""
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("revocation") / "data", admin=ADMIN))
    app.testing = True
    svc: Services = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, lock_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=6)
    svc.users.add("naraa", "worker", ["uvs-tes"], DEMO_PASSWORD)
    svc.users.add("sarnai", "worker", ["uvs-tes"], DEMO_PASSWORD)
    visit = household_visit(random.Random(7))
    visit["remarks"] = f"{MARKER} remarks"
    doc = submission("uvs-tes:sub:01KREVOKED0000000000000001", "household_visit", "bolormaa", visit,
                     "2026-10-02T10:00:00+08:00")
    doc["_attachments"] = {"photo.jpg": {"content_type": "image/jpeg",
                                         "data": base64.b64encode(f"{MARKER}-PHOTO".encode()).decode()}}
    assert "rev" in svc.store.open("uvs-tes").bulk_docs([check_doc(doc, new_edits=True)])[0]
    return app, svc


def _tes(svc: Services) -> dict:
    db = svc.store.open("uvs-tes")
    return {"seq": db.update_seq(), "docs": {r["id"]: r["value"]["rev"] for r in db.all_docs()}}


def test_an_open_feed_stops_delivering_once_the_user_is_disabled(world) -> None:
    app, svc = world
    client = app.test_client(use_cookies=False)
    feed = client.get("/sync/naraa/_changes", query_string={"feed": "continuous", "since": "now",
                                                            "include_docs": "true", "heartbeat": "300"},
                      headers=basic("naraa"), buffered=False)
    assert feed.status_code == 200
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.extend(feed.response), daemon=True)
    reader.start()
    time.sleep(0.5)
    svc.users.update("naraa", disabled=True)
    late = submission("uvs-tes:sub:01KREVOKEDLATE000000000001", "household_visit", "bolormaa",
                      household_visit(random.Random(8)), "2026-10-03T10:00:00+08:00")
    svc.store.open("uvs-tes").bulk_docs([check_doc(late, new_edits=True)])
    reader.join(5)
    assert not reader.is_alive(), "the feed of a disabled user is still open"
    body = b"".join(got).decode()
    assert late["_id"] not in body and '"last_seq"' in body


def test_a_moved_workers_tombstones_carry_nothing_and_change_nothing(world) -> None:
    app, svc = world
    client = app.test_client(use_cookies=False)
    first = client.get("/sync/sarnai/_changes", headers=basic("sarnai")).get_json()
    assert "uvs-tes:sub:01KREVOKED0000000000000001" in {r["id"] for r in first["results"]}
    before = _tes(svc)
    svc.users.update("sarnai", areas=["uvs-zavkhan"])

    swept = client.get("/sync/sarnai/_changes", query_string={"since": first["last_seq"], "include_docs": "true"},
                       headers=basic("sarnai")).get_json()
    tombs = [r for r in swept["results"] if r["id"].startswith("uvs-tes:")]
    assert {r["id"] for r in tombs} == {r["id"] for r in first["results"] if r["id"].startswith("uvs-tes:")}
    assert all(r["deleted"] and r["doc"] == {"_id": r["id"], "_rev": r["changes"][0]["rev"], "_deleted": True}
               for r in tombs)
    got = client.post("/sync/sarnai/_bulk_get", query_string={"revs": "true", "attachments": "true"},
                      json={"docs": [{"id": r["id"], "rev": r["changes"][0]["rev"]} for r in tombs]},
                      headers=basic("sarnai"))
    text = got.get_data(as_text=True)
    assert got.status_code == 200 and MARKER not in text and "bolormaa" not in text
    served = [d["ok"] for r in got.get_json()["results"] for d in r["docs"]]
    assert len(served) == len(tombs) and all(set(d) == {"_id", "_rev", "_deleted", "_revisions"} for d in served)

    # Sent back as a replicator would, forged, and as plain deletions: the area is as it was.
    client.post("/sync/sarnai/_bulk_docs", json={"docs": served, "new_edits": False}, headers=basic("sarnai"))
    forged = [{**d, "_rev": f"{d['_revisions']['start']}-{'0' * 32}",
               "_revisions": {**d["_revisions"], "ids": ["0" * 32, *d["_revisions"]["ids"][1:]]}} for d in served]
    client.post("/sync/sarnai/_bulk_docs", json={"docs": forged, "new_edits": False}, headers=basic("sarnai"))
    deletions = [{"_id": i, "_rev": r, "_deleted": True} for i, r in before["docs"].items()]
    client.post("/sync/sarnai/_bulk_docs", json={"docs": deletions}, headers=basic("sarnai"))
    assert _tes(svc) == before


def test_a_forged_since_names_no_area_and_no_role_the_worker_never_had(world) -> None:
    app, svc = world
    client = app.test_client(use_cookies=False)
    mine = decode_seq(client.get("/sync/bolormaa", headers=basic("bolormaa")).get_json()["update_seq"])
    epoch, seq = mine["uvs-tes"]
    base = epoch.split("/")[0]
    naranbulag = svc.store.open("uvs-naranbulag").epoch()
    for vector in ({**mine, "uvs-naranbulag": [epoch, 0]},
                   {**mine, "uvs-naranbulag": [f"{naranbulag}/worker", 0]},
                   {**mine, "uvs-naranbulag": [f"{naranbulag}/sweep/{'0' * 16}", "[0, 0]"]},
                   {**mine, "uvs-tes": [f"{base}/coordinator/{'0' * 16}", seq]}):
        since = "0-" + base64.urlsafe_b64encode(json.dumps(vector).encode()).decode().rstrip("=")
        answer = client.get("/sync/bolormaa/_changes", query_string={"since": since}, headers=basic("bolormaa"))
        assert answer.status_code == 200
        rows = answer.get_json()["results"]
        assert not any(r["id"].startswith("uvs-naranbulag:") or r.get("deleted") for r in rows)
