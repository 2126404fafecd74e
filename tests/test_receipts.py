"""Receipts of submission revisions (who sent each one, from which device and replication) as
the sync log keeps them, on a real SQLite store: a pushed revision waits for its push
checkpoint across a write of the log, is written by itself once it has it (or after
``RECEIPT_WAIT`` without it, named from the device's checkpoints), a reader sees it meanwhile,
the first sender of a revision stays, and a process that exits writes what waits.

(tests/web/test_revision_senders.py runs the whole path through ``/sync/<user>`` on every store.)
"""

from __future__ import annotations

import pytest

from sync.replica import synclog as synclog_module
from sync.replica.receipts import RECEIPTS_SCOPE, Sender, of_document, pick_replication
from sync.replica.synclog import SyncLog
from sync.stores.sqlite import SQLiteStore

TABLET = Sender(user_agent="PouchDB/9 (tablet)", via="sync")
DOC = "uvs-tes:sub:01KRECEIPT00000000000000001"


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "data")
    yield s
    s.close()


def test_pick_replication_prefers_the_push_checkpoint_written_after_the_revision() -> None:
    checkpoints = {"pull-1": {"direction": "pull", "at": "2026-12-01T10:00:05Z"},
                   "push-old": {"direction": "push", "at": "2026-12-01T09:00:00Z"},
                   "push-new": {"direction": "push", "at": "2026-12-01T10:00:03Z"},
                   "first": {"direction": None, "at": "2026-12-01T10:00:04Z"}}
    assert pick_replication(checkpoints, "2026-12-01T10:00:01Z") == "push-new"
    assert pick_replication(checkpoints, "2026-12-01T11:00:00Z") == "push-new"  # else the latest push
    assert pick_replication({"first": checkpoints["first"]}, "2026-12-01T10:00:01Z") == "first"
    assert pick_replication({"pull-1": checkpoints["pull-1"]}, "2026-12-01T10:00:01Z") is None


def test_a_first_push_waits_for_its_checkpoint_across_a_write_of_the_log(store) -> None:
    log = SyncLog(store, flush_seconds=60)
    # A replication's first run: its checkpoint read is a 404 (direction unknown), then the batch.
    log.record("bolormaa", user_agent=TABLET.user_agent, device_id=None, checkpoint=("rep-a", None))
    log.received("bolormaa", [(DOC, "1-aaa")], TABLET)
    log.flush()  # the log is written before the replicator writes its checkpoint
    assert of_document(store, DOC) == {}  # waiting, not written with a guess
    shown = log.receipts(DOC)["1-aaa"]  # a reader sees it all the same
    assert (shown["user"], shown["via"], shown["replication"]) == ("bolormaa", "sync", None)
    log.record("bolormaa", user_agent=TABLET.user_agent, device_id=None, pushed=True,
               checkpoint=("rep-a", "push"))
    log.flush()
    written = of_document(store, DOC)["1-aaa"]
    assert (written["replication"], written["user_agent"]) == ("rep-a", "PouchDB/9 (tablet)")
    # The same revision sent again later (a device sending back what it pulled): the first stays.
    log.received("oyunaa", [(DOC, "1-aaa")], Sender(user_agent="browser", via="web"))
    log.flush(everything=True)
    assert of_document(store, DOC)["1-aaa"]["user"] == "bolormaa"


def test_a_receipt_waits_no_longer_than_receipt_wait_and_an_exit_writes_what_waits(store, monkeypatch) -> None:
    log = SyncLog(store, flush_seconds=60)
    log.record("bolormaa", user_agent=TABLET.user_agent, device_id=None, pushed=True,
               checkpoint=("rep-old", "push"))
    log.record("bolormaa", user_agent=TABLET.user_agent, device_id=None, checkpoint=("rep-b", None))
    log.received("bolormaa", [(DOC, "2-bbb")], TABLET)
    log.flush()
    assert of_document(store, DOC) == {}
    monkeypatch.setattr(synclog_module, "RECEIPT_WAIT", -1.0)  # its time is up
    log.flush()
    # Named from the device's checkpoints as the log knows them: its known push replication.
    assert of_document(store, DOC)["2-bbb"]["replication"] == "rep-old"

    monkeypatch.setattr(synclog_module, "RECEIPT_WAIT", 3600.0)
    log.received("bolormaa", [(DOC, "3-ccc")], Sender(user_agent="other tablet", via="sync"))
    log.flush()
    assert "3-ccc" not in of_document(store, DOC)
    log.flush(everything=True)  # what the process does when it exits
    assert of_document(store, DOC)["3-ccc"]["replication"] is None
    assert store.exists(RECEIPTS_SCOPE)


def test_writes_that_are_no_device_push_are_written_at_once(store) -> None:
    log = SyncLog(store, flush_seconds=60)
    log.received("server", [(DOC, "4-ddd")], Sender(via="merge"))
    log.received("oyunaa", [(DOC, "5-eee")], Sender(user_agent="Chromium", via="web"))
    log.flush()
    found = of_document(store, DOC)
    assert (found["4-ddd"]["via"], found["4-ddd"]["device_key"]) == ("merge", None)
    assert (found["5-eee"]["user"], found["5-eee"]["user_agent"]) == ("oyunaa", "Chromium")


def test_a_reader_in_the_writing_process_sees_a_receipt_the_store_does_not_show_yet(store, monkeypatch) -> None:
    # On a CouchDB cluster the read after the flush may come from a copy the receipt has not
    # reached yet; then the flushed receipt is in neither the read nor the pending list. Dropping
    # the receipts database after the write gives this process the same read, deterministically.
    log = SyncLog(store, flush_seconds=60)
    log.received("oyunaa", [(DOC, "6-fff")], Sender(user_agent="Chromium", via="web"))
    log.flush()
    assert of_document(store, DOC)["6-fff"]["user"] == "oyunaa"
    store.delete(RECEIPTS_SCOPE)
    assert of_document(store, DOC) == {}
    assert log.receipts(DOC)["6-fff"]["user"] == "oyunaa"
    # Only for a moment: past OWN_WRITES_SECONDS the store's answer is the answer.
    monkeypatch.setattr(synclog_module, "OWN_WRITES_SECONDS", 0.0)
    assert log.receipts(DOC) == {}
