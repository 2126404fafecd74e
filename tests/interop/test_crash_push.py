"""``kill -9`` of the whole server in the middle of a real PouchDB 9 push, again and again.

A soum centre's server loses power; gunicorn's master and workers die at
once, in the middle of whatever batch they were writing. Each round here
starts ``fieldsync serve`` on the same SQLite files, lets the device push
(a worker keeps collecting visits, some with photos, between rounds), and
SIGKILLs the process group at a random moment of the push. After every kill
the files pass ``PRAGMA integrity_check`` and hold only whole documents with
the device's revisions; in the end one more push finishes and the server
holds every document exactly once, no conflict, every photo intact, and the
device's checkpoint is honoured: what the server had before a round is not
sent again.
"""

from __future__ import annotations

import base64
import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pouch import PouchReplica
from servers import FieldsyncPeer, fieldsync_server
from submissions import inline_attachment, photo_bytes, submissions

from sync.docs import md5_digest
from sync.stores.sqlite import SQLiteStore

pytestmark = pytest.mark.interop

NewReplica = Callable[[], PouchReplica]
KILLS = 10
NEW_PER_ROUND = 60
BATCH = 10
# Node's own fetch, as a browser's: node-fetch 2 would wait forever on an answer cut by the kill.
NATIVE = {"native_fetch": True}


def integrity(data: Path) -> dict[str, str]:
    """``PRAGMA integrity_check`` of every SQLite file of the store, by file name."""
    found = {}
    for path in sorted(data.glob("*.sqlite")):
        conn = sqlite3.connect(path)
        try:
            found[path.name] = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
    assert found, f"no SQLite files in {data}"
    return found


def server_revs(peer: FieldsyncPeer, path: str) -> dict[str, str]:
    rows = peer.session.get(f"{peer.root}{path}/_all_docs", timeout=30).json()["rows"]
    return {r["id"]: r["value"]["rev"] for r in rows}


def assert_whole(data: Path, area: str, written: dict[str, dict], device_revs: dict[str, str]) -> int:
    """Every document the files hold after a kill is one the device wrote, whole: the device's
    revision, its answers, and its photo's digest and length. How many there are."""
    store = SQLiteStore(data)
    try:
        held = {r["id"]: r["doc"] for r in store.open(area).all_docs(include_docs=True)}
    finally:
        store.close()
    for doc_id, doc in held.items():
        sent = written[doc_id]
        assert doc["_rev"] == device_revs[doc_id], doc_id
        assert doc["data"] == sent["data"] and doc["created_at"] == sent["created_at"], doc_id
        if "_attachments" in sent:
            photo = base64.b64decode(sent["_attachments"]["photo.jpg"]["data"])
            kept = doc["_attachments"]["photo.jpg"]
            assert (kept["digest"], kept["length"]) == (md5_digest(photo), len(photo)), doc_id
    return len(held)


def visits(area: str, round_no: int) -> list[dict[str, Any]]:
    docs = submissions(area, NEW_PER_ROUND, seed=100 + round_no)
    for n, doc in enumerate(docs[::6]):
        doc["_attachments"] = {"photo.jpg": inline_attachment(photo_bytes(20_000 + n, seed=round_no * 100 + n))}
    return docs


def push_into(report: dict[str, Any], device: PouchReplica, url: str) -> None:
    report.update(device.push(url, batch_size=BATCH, timeout=20, remote_options=NATIVE))


def kill_inside_push(peer: FieldsyncPeer, path: str, had: int, rng: random.Random) -> None:
    """Return once the push has written a random number of this round's documents.

    A sleep of a random length let a fast machine finish a whole round's push
    before the kill; watching the server's count lands the kill inside it, at a
    random batch and a random moment of the next one.
    """
    target = had + rng.randrange(0, NEW_PER_ROUND - 2 * BATCH, BATCH)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            count = peer.session.get(f"{peer.root}{path}", timeout=5).json().get("doc_count", 0)
        except (OSError, ValueError):
            count = 0
        if count >= target:
            break
        time.sleep(0.005)
    time.sleep(rng.uniform(0, 0.05))


def test_kill_9_during_pushes_loses_and_duplicates_nothing(new_replica: NewReplica, tmp_path: Path) -> None:
    data = tmp_path / "data"
    rng = random.Random(9)
    device = new_replica()
    with fieldsync_server(data_dir=data) as peer:  # publishes the forms once
        path = peer.new_db("uvs-tes").path
    area = path.rsplit("/", 1)[1]
    written: dict[str, dict] = {}
    kills = rounds = 0
    while kills < KILLS:
        rounds += 1
        assert rounds <= 3 * KILLS, f"only {kills} kills fell inside a push in {rounds} rounds"
        docs = visits(area, rounds)
        assert all(r.get("ok") for r in device.bulk_docs(docs))
        written.update({d["_id"]: d for d in docs})
        with fieldsync_server(data_dir=data, publish_forms=False) as peer:
            before = server_revs(peer, path)
            report: dict[str, Any] = {}
            pushing = threading.Thread(target=push_into, args=(report, device, peer.url_with_auth + path))
            pushing.start()
            kill_inside_push(peer, path, len(before), rng)
            os.killpg(peer.server.proc.pid, signal.SIGKILL)
            peer.server.proc.wait(timeout=10)
            pushing.join(timeout=40)
            assert not pushing.is_alive()
        if report.get("state") == "complete":
            continue  # the push was over before the kill: not a kill inside a push
        kills += 1
        assert set(integrity(data).values()) == {"ok"}, f"after kill {kills}"
        assert assert_whole(data, area, written, device.revs()) >= len(before)
        docs_written = report.get("docs_written_seen", 0)
        assert docs_written <= len(written) - len(before) + BATCH, (
            f"round {rounds} sent {docs_written} documents again though the server already had "
            f"{len(before)}: the checkpoint was not honoured")

    with fieldsync_server(data_dir=data, publish_forms=False) as peer:
        final = device.push(peer.url_with_auth + path, batch_size=BATCH, timeout=60, remote_options=NATIVE)
        assert final["state"] == "complete" and not final["errors"], final
        assert server_revs(peer, path) == device.revs()
        assert len(device.revs()) == len(written)
        rows = peer.session.get(f"{peer.root}{path}/_all_docs", params={"include_docs": "true", "conflicts": "true"},
                                timeout=30).json()["rows"]
        assert not [r["id"] for r in rows if r["doc"].get("_conflicts")]
        for doc_id, doc in written.items():
            if "_attachments" in doc:
                got = peer.session.get(f"{peer.root}{path}/{doc_id}/photo.jpg", timeout=30)
                assert got.status_code == 200
                assert got.content == base64.b64decode(doc["_attachments"]["photo.jpg"]["data"])
    assert set(integrity(data).values()) == {"ok"}
