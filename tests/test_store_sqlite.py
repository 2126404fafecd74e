"""The SQLite backend: the shared conformance suite, plus what only SQLite can show."""

from __future__ import annotations

import sqlite3
import time

import pytest
from pouch import wait_until
from store_conformance import *  # noqa: F403
from store_conformance import DB, PHOTO, b64, put, write

from sync.errors import PreconditionFailed
from sync.stores.sqlite import SQLiteStore


@pytest.fixture
def store(tmp_path):
    """A fresh SQLite store in its own data directory."""
    s = SQLiteStore(tmp_path)
    yield s
    s.close()


def _att_rows(store) -> list[tuple]:
    """The attachment table of the test scope's file, read directly."""
    conn = sqlite3.connect(store.data_dir / f"{DB}.sqlite")
    try:
        return conn.execute("SELECT digest, refs FROM atts").fetchall()
    finally:
        conn.close()


def test_same_attachment_bytes_are_stored_once(store):
    """A photo attached to two documents and carried through revisions is one row."""
    db = store.create(DB)
    r1 = put(db, {"_id": "one", "_attachments": {"p.png": {"data": b64(PHOTO)}}})
    put(db, {"_id": "two", "_attachments": {"copy.png": {"data": b64(PHOTO)}}})
    put(db, {"_id": "one", "_rev": r1, "v": 2, "_attachments": {"p.png": {"stub": True}}})
    assert len(_att_rows(store)) == 1


def test_attachment_bytes_go_when_no_revision_needs_them(store):
    db = store.create(DB)
    r1 = put(db, {"_id": "one", "_attachments": {"p.png": {"data": b64(PHOTO)}}})
    put(db, {"_id": "one", "_rev": r1, "v": 2})
    assert _att_rows(store) == []


def test_bytes_of_a_refused_document_are_not_kept(store):
    """A document refused with missing_stub must not leave its new photo behind."""
    db = store.create(DB)
    [result] = write(db, {"_id": "bad", "_attachments": {
        "new.png": {"data": b64(PHOTO)}, "ghost.png": {"stub": True},
    }})
    assert result["error"] == "missing_stub"
    assert _att_rows(store) == []


def test_a_second_store_on_the_same_directory_sees_the_data(store):
    """Gunicorn workers each open their own store over the same files."""
    db = store.create(DB)
    r = put(db, {"_id": "doc", "v": 1})
    other = SQLiteStore(store.data_dir)
    try:
        assert other.names() == [DB]
        assert other.open(DB).get("doc")["_rev"] == r
        with pytest.raises(PreconditionFailed):
            other.create(DB)
    finally:
        other.close()


def test_documents_commit_durably_and_checkpoints_leave_the_connection_so(store):
    """``_local`` checkpoints skip the fsync (a lost one only re-reads a batch);
    document writes never do, even on a connection a checkpoint used just before."""
    from sync.errors import Conflict

    db = store.create("durable")
    rev = db.put_local("cp", {"last_seq": 1})
    with pytest.raises(Conflict):
        db.put_local("cp", {"last_seq": 2, "_rev": "0-99"})
    db.put_local("cp", {"last_seq": 2, "_rev": rev})
    with db._conn() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def _in_the_file(store, name: str) -> int:
    """Documents in a scope's database file itself, not counting its write-ahead log
    (-1 while a checkpoint is copying pages in: ``immutable`` reads see it torn)."""
    path = store.data_dir / f"{name}.sqlite"
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM docs").fetchone()[0]
    except sqlite3.DatabaseError:
        return -1
    finally:
        conn.close()


def _intact(store, name: str) -> bool:
    conn = sqlite3.connect(store.data_dir / f"{name}.sqlite")
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_a_big_batch_is_checkpointed_after_the_request_not_in_it(store):
    """A batch of 6 MB takes the write-ahead log far past the 1000 pages at which
    SQLite would checkpoint inside the commit; here the commit returns with the
    pages still in the log, and a thread of the store copies them into the
    file a moment later."""
    store.checkpoints.DELAY = 1.0  # room to look before the thread does
    db = store.create(DB)
    docs = [{"_id": f"doc-{i:04d}", "text": f"{i:04d}" * 1000} for i in range(1500)]
    assert all("error" not in r for r in write(db, *docs))
    assert _in_the_file(store, DB) == 0
    assert db.get("doc-1499")["text"].startswith("1499")
    assert wait_until(lambda: _in_the_file(store, DB) == 1500)
    assert _intact(store, DB)


def test_the_log_starts_over_while_writes_keep_coming(store, monkeypatch):
    """A PASSIVE checkpoint between writes that keep coming copies everything, yet
    the log rarely gets to start over (a write must begin in the moment it is
    fully copied); past RESTART_FRAMES the checkpoint holds writers off briefly
    and starts it over, so the log does not grow without end."""
    from sync.stores import sqlite_checkpoint

    monkeypatch.setattr(sqlite_checkpoint, "RESTART_FRAMES", 100)
    store.checkpoints.DELAY = 0.01
    db = store.create(DB)
    wal = store.data_dir / f"{DB}.sqlite-wal"
    biggest = 0
    for i in range(150):
        write(db, {"_id": f"doc-{i:04d}", "text": "x" * 40_000})  # ~10 pages each
        time.sleep(0.005)  # a replica's next batch, while the thread checkpoints
        biggest = max(biggest, wal.stat().st_size if wal.exists() else 0)
    assert wait_until(lambda: _in_the_file(store, DB) == 150)
    assert _intact(store, DB)
    assert biggest < 300 * 4096, biggest  # 1500 pages written in all; ~150 at most with RESTART


def test_a_scope_deleted_before_its_checkpoint_stays_deleted(store):
    """The checkpoint thread opens the file read-write without creating it: a
    plain connect would bring the deleted scope back as an empty file."""
    store.checkpoints.DELAY = 0.2
    db = store.create(DB)
    put(db, {"_id": "doc", "v": 1})
    store.delete(DB)
    time.sleep(0.6)
    assert not (store.data_dir / f"{DB}.sqlite").exists()
    assert store.names() == []


def test_a_closed_store_leaves_its_files_alone(tmp_path):
    """Once the store is closed its data directory may be copied (tests copy a
    seeded one; an admin backs one up): a checkpoint still pending must not
    open a scope again, which creates its -wal and -shm files and deletes them
    on closing, under the copy's feet."""
    store = SQLiteStore(tmp_path)
    store.checkpoints.DELAY = 0.3
    db = store.create(DB)
    put(db, {"_id": "doc", "v": 1})  # a checkpoint is due in 0.3 s
    store.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    entries_changed = tmp_path.stat().st_mtime_ns
    time.sleep(0.8)
    assert sorted(p.name for p in tmp_path.iterdir()) == files == [f"{DB}.sqlite"]
    assert tmp_path.stat().st_mtime_ns == entries_changed  # nothing was created and removed meanwhile
    reopened = SQLiteStore(tmp_path)
    assert reopened.open(DB).get("doc")["v"] == 1
    reopened.close()


def _vm_steps(db, read) -> int:
    """SQLite virtual-machine steps a read takes: a count that grows with the rows visited."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    with db._conn() as conn:  # the pool is last-in first-out: the read gets this connection
        conn.set_progress_handler(count, 10)
    try:
        read()
    finally:
        with db._conn() as conn:
            conn.set_progress_handler(None, 0)
    return steps


@pytest.mark.parametrize("read", ["bulk_get", "revs_diff", "all_docs keys"])
def test_reading_a_batch_costs_the_same_however_big_the_scope(store, read):
    """Replicators read 100 documents at a time out of scopes of any size: a read by
    id must search the indexes, never scan the table (as an IN over row values did)."""
    def scope(name: str, size: int):
        db = store.create(name)
        for start in range(0, size, 500):
            db.bulk_docs([{"_id": f"doc-{n:05}", "n": n} for n in range(start, min(size, start + 500))])
        return db

    def batch(db) -> None:
        ids = [f"doc-{n:05}" for n in range(0, 500, 50)]
        if read == "bulk_get":
            assert len(list(db.bulk_get([{"id": i} for i in ids], revisions=True))) == len(ids)
        elif read == "revs_diff":
            db.revs_diff({i: ["1-" + "a" * 32] for i in ids})
        else:
            assert len(list(db.all_docs(keys=ids, include_docs=True))) == len(ids)

    small, big = scope("small", 500), scope("big", 10_000)
    assert _vm_steps(big, lambda: batch(big)) < 2 * _vm_steps(small, lambda: batch(small))
