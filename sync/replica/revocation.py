"""Taking a lost area's documents off a device, without touching the server's.

A replica's sequence names every scope the device has pulled from. When one of
them is no longer among the scopes the user may read (other areas, another
role, an account re-enabled with other areas), the next pull of ``/sync/<user>``
offers, for each document of that scope the user could have received, a
deleted revision that is a child of the document's winning revision: PouchDB
and the CouchDB replicator store it like any other revision, and since a
deleted leaf is the only leaf of that branch, the document is gone from the
device. The revision exists only in what ``/sync/<user>`` shows: it is never
written to the area, whose documents stay exactly as they are.

Its id is a pure function of the document id and the parent revision, so any
app server can recognise it: ``_bulk_get`` and ``open_revs`` hand it out (with
the parent's history) to whoever names it, ``_revs_diff`` calls it present so a
device never sends it back, and a push that carries it anyway is dropped as
already stored. Nothing a device pushes can thus delete a document on the
server (the write gate refuses writes to areas the user lost in any case).

Limits (docs/design.md, Revocation): a device that never syncs again keeps what
it has (a disabled account's device is reached on its next sync: its own
replica opens to it with no areas, ``server/auth.py``); a document's id (never its contents) may reach the
device as a tombstone when it was edited in the lost area after the device's
last pull of that area; and if the user gets the area back, a document comes
back to the device when it is next edited on the server (or on a fresh
device), because the device already holds the server's winning revision, as
the parent of its tombstone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

SWEEP_LABEL = "sweep"  # a replica sequence's entry for a lost scope being swept: <epoch>/sweep/<mac>
REVOKING = "+revoking"  # <role>+revoking: a member read again after a role that saw more


def tombstone_rev(docid: str, parent: str) -> str:
    """The deleted revision ``/sync/<user>`` shows as the child of ``parent``."""
    gen = int(parent.split("-", 1)[0])
    digest = hashlib.md5(f"fieldsync-revoked\0{docid}\0{parent}".encode(), usedforsecurity=False).hexdigest()
    return f"{gen + 1}-{digest}"


def tombstone_doc(docid: str, parent: dict) -> dict:
    """The tombstone of ``parent`` (a revision read with its ``_revisions``), history included."""
    rev = tombstone_rev(docid, parent["_rev"])
    gen, _, digest = parent["_rev"].partition("-")
    history = parent.get("_revisions") or {"start": int(gen), "ids": [digest]}
    return {"_id": docid, "_rev": rev, "_deleted": True,
            "_revisions": {"start": history["start"] + 1, "ids": [rev.split("-", 1)[1], *history["ids"]]}}


def is_pushed_tombstone(doc: dict) -> bool:
    """Whether a replicated revision is one of the tombstones shown to a device: its history
    proves it (``_revisions`` as sent, or as ``sync.docs.check_doc`` made it: newest first)."""
    if not doc.get("_deleted"):
        return False
    path = doc.get("_revisions")
    if isinstance(path, dict):
        ids, start = path.get("ids"), path.get("start")
        if not (isinstance(ids, list) and isinstance(start, int) and not isinstance(start, bool)):
            return False
        path = [f"{start - i}-{h}" for i, h in enumerate(ids[:2]) if isinstance(h, str)]
    if not isinstance(path, list) or len(path) < 2 or not all(isinstance(r, str) for r in path[:2]):
        return False
    try:
        return doc.get("_rev") == path[0] == tombstone_rev(doc["_id"], path[1])
    except ValueError:
        return False  # not a revision at all


@dataclass
class Sweep:
    """Where a lost scope's sweep stands: ``position`` in its changes, and the device's
    last position in it before it was lost (``since``; None when unknown)."""

    since: Any
    position: Any = 0
