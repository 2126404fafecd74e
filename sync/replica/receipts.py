"""Receipts: who sent each revision of a submission, from which device, and when.

A revision's body says who the author is and when the device made it, not who
sent this revision or from where: a worker's second device, an admin's
replica or a coordinator's conflict resolution may have written it. The write
gate tells the sync log (``SyncLog.received``) of every submission revision it
stores, with the user who sent it and what the request said of its device
(``X-Device-Id``, else the user agent, as the sync log tells devices apart);
the sync log writes one receipt per revision with its next batch, in the
``_receipts`` system scope, as ``<doc id>@<rev>`` so that one range read finds
every receipt of a document.

A device is a replica, and a replicator keeps one checkpoint per replication
on the server. A receipt of a revision pushed through ``/sync/<user>`` names
the push replication it came with: the checkpoint that device (its
``X-Device-Id`` or user agent) last read or wrote before the batch, as a
replicator reads its checkpoint before it pushes. When that request went to
another process (gunicorn's workers), the sync log's push checkpoints of the
device decide (``pick_replication``). So two tablets that send the same user
agent are still two replications here, unless they push at the same moment.

A revision is received once: the first receipt stays (a device that sends back
a revision it pulled is not its sender). Revisions stored before receipts were
kept, or brought by ``fieldsync migrate``, have none.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.stores.base import Store

RECEIPTS_SCOPE = "_receipts"
VIAS = ("sync", "db", "api", "web", "merge", "server")  # how a revision reached the store


@dataclass(frozen=True)
class Sender:
    """What a request says of the device that sent it (nothing for the server's own writes)."""

    device_id: str | None = None
    user_agent: str | None = None
    via: str = "server"


def receipt_id(docid: str, rev: str) -> str:
    return f"{docid}@{rev}"


def receipt(user: str, docid: str, rev: str, sender: Sender, at: str, device_key: str | None,
            replication: str | None) -> dict:
    return {"_id": receipt_id(docid, rev), "type": "receipt", "doc_id": docid, "rev": rev, "user": user,
            "via": sender.via, "device": sender.device_id, "user_agent": (sender.user_agent or "")[:200],
            "device_key": device_key, "replication": replication, "at": at}


def pick_replication(checkpoints: dict[str, dict], at: str) -> str | None:
    """The push replication a revision received at ``at`` came with, among a device's checkpoints
    (``{id: {"direction", "at"}}``): the first written at or after ``at``, else the latest.
    A checkpoint not yet known to be a push (``None``: the first push of a replication reads a
    checkpoint that does not exist yet) counts when no known push does."""
    for directions in (("push",), ("push", None)):
        pushes = sorted((info.get("at") or "", rid) for rid, info in checkpoints.items()
                        if info.get("direction") in directions)
        if pushes:
            after = [rid for when, rid in pushes if when >= at]
            return after[0] if after else pushes[-1][1]
    return None


def of_document(store: Store, docid: str) -> dict[str, dict]:
    """Every receipt of ``docid``, by revision."""
    if not store.exists(RECEIPTS_SCOPE):
        return {}
    db = store.open(RECEIPTS_SCOPE)
    rows = db.all_docs(startkey=f"{docid}@", endkey=f"{docid}@\uffff", include_docs=True)
    return {row["doc"]["rev"]: row["doc"] for row in rows if row.get("doc")}
