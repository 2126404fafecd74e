"""A real PouchDB 9 replica syncs with each peer: fieldsync and pouchdb-server.

Every check runs against pouchdb-server too, so a failure that shows only on
fieldsync is fieldsync's, not the test's. Replicas are leveldb databases on
disk, as on a phone; the server side is read over plain HTTP, never through
PouchDB, so that both ends are checked independently.
"""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from pouch import PouchReplica, wait_until
from servers import Peer, RemoteDb
from submissions import (
    FAMILY,
    inline_attachment,
    md5_digest,
    new_id,
    photo_bytes,
    rev_key,
    submission,
    submissions,
)

pytestmark = pytest.mark.interop

NewReplica = Callable[[], PouchReplica]


def clean(report: dict[str, Any]) -> dict[str, Any]:
    """Assert a replication ended normally with nothing refused; return its result."""
    assert report["errors"] == [], report["errors"]
    assert report["denied"] == [], [d.get("reason") for d in report["denied"]]
    result = report["result"]
    assert result is not None, report
    parts = [result["push"], result["pull"]] if "push" in result else [result]
    for part in parts:
        assert part["status"] == "complete", part
        assert part["doc_write_failures"] == 0, part
        assert part["errors"] == [], part["errors"]
    return result


def seed(replica: PouchReplica, area: str, count: int, seed: int = 1) -> list[dict[str, Any]]:
    docs = submissions(area, count, seed=seed)
    results = replica.bulk_docs(docs)
    assert all(r.get("ok") for r in results), results
    for doc, result in zip(docs, results, strict=True):
        doc["_rev"] = result["rev"]
    return docs


def edit(replica: PouchReplica, doc_id: str, **changes: Any) -> str:
    """A worker's correction: the remarks of the household visit change (still a valid submission)."""
    doc = replica.get(doc_id)
    doc["data"]["remarks"] = "; ".join(f"{k}: {v}" for k, v in sorted(changes.items()))
    return replica.put(doc)["rev"]


def test_push_then_pull_gives_identical_ids_and_revs(peer: Peer, new_replica: NewReplica) -> None:
    db = peer.new_db("uvs-tes")
    device = new_replica()
    docs = seed(device, db.name, 60)
    for doc in docs[:10]:  # some documents carry a revision history, not just 1-x
        edit(device, doc["_id"], household_size=12)

    pushed = clean(device.push(db.url, batch_size=25))
    assert pushed["docs_written"] == 60
    assert db.revs() == device.revs()

    fresh = new_replica()
    pulled = clean(fresh.pull(db.url, batch_size=25))
    assert pulled["docs_written"] == 60
    assert fresh.revs() == device.revs()
    for doc in docs[:12]:
        mine = device.get(doc["_id"], revs=True)
        assert fresh.get(doc["_id"], revs=True) == mine
        assert db.get_doc(doc["_id"], revs=True) == mine


def test_offline_edits_conflict_and_everyone_agrees_on_the_winner(
    peer: Peer, new_replica: NewReplica
) -> None:
    db = peer.new_db("arkh-tsenkher")
    alice, bold = new_replica(), new_replica()
    doc_id = seed(alice, db.name, 1)[0]["_id"]
    clean(alice.push(db.url))
    clean(bold.pull(db.url))

    # Both edit the same submission while out of coverage.
    rev_a = edit(alice, doc_id, household_size=5, note="Alice's visit")
    rev_b = edit(bold, doc_id, household_size=7, note="Bold's visit")
    assert rev_a != rev_b and rev_a.startswith("2-") and rev_b.startswith("2-")

    # Push both sides first, then pull: sync() runs push and pull at once, and
    # pouchdb-server's _changes can miss a doc that is being written right then.
    clean(alice.push(db.url))
    clean(bold.push(db.url))
    clean(bold.pull(db.url))
    clean(alice.pull(db.url))

    winner, loser = sorted([rev_a, rev_b], key=rev_key, reverse=True)
    views = {
        "alice": alice.get(doc_id, conflicts=True),
        "bold": bold.get(doc_id, conflicts=True),
        peer.name: db.get_doc(doc_id, conflicts=True),
    }
    for who, doc in views.items():
        assert doc["_rev"] == winner, f"{who} picked {doc['_rev']}, CouchDB's winner is {winner}"
        assert doc.get("_conflicts") == [loser], f"{who} conflicts: {doc.get('_conflicts')}"
    assert views["alice"]["data"] == views["bold"]["data"] == views[peer.name]["data"]

    # A coordinator-style resolution on one device reaches everyone.
    alice.remove(doc_id, loser)
    clean(alice.sync(db.url))
    clean(bold.sync(db.url))
    assert "_conflicts" not in bold.get(doc_id, conflicts=True)
    assert "_conflicts" not in db.get_doc(doc_id, conflicts=True)


def test_deletions_propagate_both_ways(peer: Peer, new_replica: NewReplica) -> None:
    db = peer.new_db("bayan-ulgii")
    device, other = new_replica(), new_replica()
    docs = seed(device, db.name, 6)
    clean(device.push(db.url))
    clean(other.pull(db.url))

    # Device -> server -> other device.
    gone = docs[0]["_id"]
    deleted_rev = device.remove(gone, docs[0]["_rev"])["rev"]
    assert clean(device.push(db.url))["docs_written"] == 1
    assert db.get_doc(gone) is None
    tombstone = db.get_doc(gone, rev=deleted_rev)
    assert tombstone is not None and tombstone.get("_deleted") is True
    assert clean(other.pull(db.url))["docs_written"] == 1
    assert other.get_or_none(gone) is None

    # Server -> devices.
    server_gone = docs[1]["_id"]
    server_rev = db.delete_doc(server_gone, docs[1]["_rev"])["rev"]
    assert clean(device.pull(db.url))["docs_written"] == 1
    assert device.get_or_none(server_gone) is None
    assert device.get(server_gone, rev=server_rev).get("_deleted") is True
    clean(other.pull(db.url))
    assert other.get_or_none(server_gone) is None

    remaining = {d["_id"] for d in docs[2:]}
    assert set(db.revs()) == set(device.revs()) == set(other.revs()) == remaining
    deleted_in_feed = {row["id"] for row in db.changes()["results"] if row.get("deleted")}
    assert deleted_in_feed == {gone, server_gone}


def _assert_photo(db: RemoteDb, replica: PouchReplica, doc_id: str, name: str, photo: bytes) -> None:
    digest = md5_digest(photo)
    stub = db.get_doc(doc_id)["_attachments"][name]
    assert stub.get("stub") is True and stub["digest"] == digest and stub["length"] == len(photo), stub
    response = db.attachment(doc_id, name)
    assert response.content == photo
    assert response.headers["Content-Type"].startswith("image/jpeg")

    local = replica.get(doc_id, attachments=True, binary=True)["_attachments"][name]
    assert local["digest"] == digest
    assert base64.b64decode(local["data"]) == photo
    assert replica.attachment(doc_id, name) == photo


def test_binary_photo_attachments_both_ways(peer: Peer, new_replica: NewReplica) -> None:
    db = peer.new_db("uvs-tes")
    device, other = new_replica(), new_replica()

    # Device -> server -> other device.
    photo = photo_bytes(150_000, seed=1)
    doc = submission(db.name, 1)
    doc["_attachments"] = {"ger.jpg": inline_attachment(photo)}
    device.put(doc)
    clean(device.push(db.url))
    clean(other.pull(db.url))
    _assert_photo(db, other, doc["_id"], "ger.jpg", photo)

    # A later edit that keeps the photo: PouchDB 9 replicates stubs and reuses the
    # bytes the target already holds (matched by digest); the photo must survive.
    edit(device, doc["_id"], note="second visit")
    clean(device.push(db.url))
    clean(other.pull(db.url))
    assert other.get(doc["_id"])["_rev"].startswith("2-")
    _assert_photo(db, other, doc["_id"], "ger.jpg", photo)

    # Server -> device (an admin attaches a photo over HTTP).
    photo2 = photo_bytes(151_234, seed=2)
    doc2 = submission(db.name, 2)
    doc2["_attachments"] = {"kindergarten.jpg": inline_attachment(photo2)}
    db.put_doc(doc2)
    clean(device.pull(db.url))
    _assert_photo(db, device, doc2["_id"], "kindergarten.jpg", photo2)


def test_mongolian_cyrillic_is_byte_identical(peer: Peer, new_replica: NewReplica) -> None:
    db = peer.new_db("uvurkhangai")
    device, other = new_replica(), new_replica()
    # NFD text must come back NFD: a server that normalises changes the bytes.
    decomposed = unicodedata.normalize("NFD", "Төмөрбаатарын хүү Энхтөр, Хархорин сум, йөтөл")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    doc = submission(db.name)
    doc["data"].update(bag=FAMILY[:60], remarks=decomposed)
    doc["label"] = {"mn": "Өрхийн айлчлал", "en": "Household visit"}
    device.put(doc)
    clean(device.push(db.url))

    on_server = db.get_doc(doc["_id"])
    assert on_server["data"]["bag"].encode() == FAMILY[:60].encode()
    assert on_server["data"]["remarks"].encode() == decomposed.encode()
    assert on_server["label"]["mn"] == "Өрхийн айлчлал"
    clean(other.pull(db.url))
    assert other.get(doc["_id"])["data"] == device.get(doc["_id"])["data"]

    server_doc = submission(db.name, 2)
    server_doc["data"]["remarks"] = decomposed + " — " + FAMILY
    db.put_doc(server_doc)
    clean(device.pull(db.url))
    assert device.get(server_doc["_id"])["data"]["remarks"].encode() == (decomposed + " — " + FAMILY).encode()


@pytest.mark.parametrize("direction", ["push", "pull"])
def test_cut_replication_resumes_from_its_checkpoint(
    peer: Peer, new_replica: NewReplica, direction: str
) -> None:
    """A sync cut half way resumes: every doc lands once and the rerun starts at the checkpoint.

    docs_written alone cannot prove the checkpoint was used (_revs_diff would
    hide re-sent docs), so the rerun's scanned changes are checked too.
    """
    total, batch = 200, 20
    db = peer.new_db("zavkhan")
    device = new_replica()
    docs = seed(device, db.name, total)
    if direction == "push":
        target = None
        replicate = device.push
    else:  # the server holds the docs; a fresh device pulls them
        clean(device.push(db.url))
        target = new_replica()
        replicate = target.pull

    first = replicate(db.url, batch_size=batch, batches_limit=2, abort_after_docs=total // 2)
    assert first["errors"] == [] and first["result"]["status"] == "cancelled", first
    written_first = first["result"]["docs_written"]
    assert total // 2 <= written_first < total, first["result"]
    assert first["checkpoints"], "no checkpoint was written before the cut"

    second = replicate(db.url, batch_size=batch)
    assert clean(second)["docs_written"] == total - written_first, (first["result"], second["result"])
    assert second["changes_scanned"] <= total - written_first + batch, second["changes_scanned"]
    assert second["changes_scanned"] < total * 0.75

    target_revs = db.revs() if target is None else target.revs()
    assert target_revs == device.revs()
    assert len(target_revs) == total
    feed = db.changes()["results"]
    assert sorted(row["id"] for row in feed) == sorted(d["_id"] for d in docs)  # each exactly once
    assert all(row["changes"][0]["rev"].startswith("1-") for row in feed)


def test_incremental_sync_moves_exactly_the_changed_docs(peer: Peer, new_replica: NewReplica) -> None:
    db = peer.new_db("selenge")
    device, other = new_replica(), new_replica()
    docs = seed(device, db.name, 40)
    clean(device.push(db.url))
    clean(other.pull(db.url))

    for doc in docs[:5]:
        edit(device, doc["_id"], household_size=3)
    added = seed(device, db.name, 3, seed=99)
    pushed = device.push(db.url)
    assert clean(pushed)["docs_written"] == 8
    assert pushed["changes_scanned"] == 8

    pulled = other.pull(db.url)
    assert clean(pulled)["docs_written"] == 8
    assert pulled["changes_scanned"] == 8

    # Coordinator-side edits on the server come back just as precisely.
    for doc in docs[10:14] + added[:1]:
        current = db.get_doc(doc["_id"])
        current["reviewed_by"] = "Оюунаа"
        db.put_doc(current)
    back = device.pull(db.url)
    assert clean(back)["docs_written"] == 5
    assert device.revs() == db.revs()

    nothing = device.sync(db.url)
    assert clean(nothing)["push"]["docs_written"] == 0 and nothing["result"]["pull"]["docs_written"] == 0


def test_live_sync_receives_a_server_write_within_seconds(peer: Peer, new_replica: NewReplica) -> None:
    db = peer.new_db("dornod")
    device = new_replica()
    seed(device, db.name, 3)
    with device.live("sync", db.url, heartbeat=2000) as live:
        wait_until(lambda: len(db.revs()) == 3, timeout=10)

        server_doc = submission(db.name, 5)
        server_doc["_id"] = new_id(db.name, "fam")  # a document written on the server side
        rev = db.put_doc(server_doc)["rev"]
        arrived = wait_until(lambda: device.get_or_none(server_doc["_id"]), timeout=5)
        assert arrived["_rev"] == rev

        local = submission(db.name, 6)
        device.put(local)
        wait_until(lambda: db.get_doc(local["_id"]), timeout=5)

        status = live.status()
        assert status["errors"] == [] and status["denied"] == [], status
    assert live.stopped


def test_filtered_pull_by_doc_ids_and_by_function(peer: Peer, new_replica: NewReplica) -> None:
    """A device may fetch only some documents: doc_ids (server-side _doc_ids filter)
    or a JS filter (client-side, which makes PouchDB ask _changes for include_docs)."""
    db = peer.new_db("govi-altai")
    device = new_replica()
    docs = seed(device, db.name, 12)
    clean(device.push(db.url))

    wanted = [docs[1]["_id"], docs[7]["_id"]]
    by_ids = new_replica()
    assert clean(by_ids.pull(db.url, doc_ids=wanted))["docs_written"] == 2
    assert sorted(by_ids.revs()) == sorted(wanted)

    by_author = new_replica()
    mine = {d["_id"] for d in docs if d["author"] == "oyunaa"}
    report = by_author.pull(db.url, filter_js="function (doc) { return doc.author === 'oyunaa'; }")
    assert clean(report)["docs_written"] == len(mine) > 0
    assert set(by_author.revs()) == mine
