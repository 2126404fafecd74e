"""Revision bodies an app server has seen, so a pull need not read them from CouchDB again.

On the CouchDB store every document a device pulls through ``/sync/<user>`` was
read twice by CouchDB's side of the machine: once when it was pushed (the write
itself) and once more for each device's ``_bulk_get``, which fieldsync passed on
as a ``_bulk_get`` by id; so CouchDB did all the work of a pull straight from it
and fieldsync added its own on top (bench/user_sync.py: 0.62x of CouchDB
direct). A revision never changes, so its body, as ``_bulk_get?revs=true``
answers it (``_revisions`` included), can be kept by ``(scope epoch, id, rev)``
and never goes stale: from the push that stored it (the body as the replicator
sent it, when its ``_revisions`` name the whole path back to the first
revision, exactly what CouchDB answers) and from every read that fetched it.

A kept body is served only when it is the document's winner now: the union
reads the winners of the kept ones with one ``_all_docs`` by keys, which reads
no bodies and no revision trees, and visibility is decided on that winner as
before. What is not kept, or is not the winner, is read as before.

Bodies are kept as JSON bytes (a parsed document costs several times its JSON
in Python objects), least recently used first out, within a byte budget per
process (``FIELDSYNC_BODY_CACHE_MB``, 32 by default; 0 keeps none), and sent as
they are kept: the answer carries them as ``orjson.Fragment``, never parsed. Documents with attachments and tombstones are not kept: their answers
depend on the request (stubs, ``atts_since``) and are rare in a pull.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

import orjson

from sync.ttl_cache import TtlCache

Key = tuple[str, str, str]  # (epoch of the scope's database, document id, revision)

# CouchDB keeps 1000 revisions of a path by default (fieldsync leaves _revs_limit alone there):
# a pushed body whose path is longer may have been stemmed, so it is not kept from the push.
FULL_PATH_LIMIT = 1000
DEFAULT_BUDGET = 32 * 1024 * 1024


def _budget() -> int:
    try:
        return max(0, int(os.environ.get("FIELDSYNC_BODY_CACHE_MB", "")) * 1024 * 1024)
    except ValueError:
        return DEFAULT_BUDGET


def keepable(doc: dict[str, Any]) -> bool:
    """Whether ``doc`` is a body a ``_bulk_get?revs=true`` would answer as it is."""
    revisions = doc.get("_revisions")
    if not isinstance(revisions, dict) or doc.get("_deleted") or doc.get("_attachments"):
        return False
    rev = doc.get("_rev")
    ids = revisions.get("ids")
    start = revisions.get("start")
    if not isinstance(rev, str) or not isinstance(ids, list) or not ids or not isinstance(start, int):
        return False
    return rev == f"{start}-{ids[0]}"


def pushed_body(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The body a ``_bulk_get?revs=true`` answers for a revision a replicator pushed
    (``new_edits=false``), or None when it may differ: a path that does not reach back to
    the first revision (the device stemmed it, or CouchDB would), attachments, a tombstone.

    A checked document carries its path as a newest-first list of revisions
    (``sync.docs.check_doc``); the answer names it CouchDB's way.
    """
    path = doc.get("_revisions")
    if not isinstance(path, list) or not path or doc.get("_deleted") or doc.get("_attachments"):
        return None
    try:
        gens = [int(r.split("-", 1)[0]) for r in path]
    except (AttributeError, ValueError):
        return None
    if path[0] != doc.get("_rev") or gens != list(range(len(path), 0, -1)) or len(path) > FULL_PATH_LIMIT:
        return None
    return {**doc, "_revisions": {"start": len(path), "ids": [r.split("-", 1)[1] for r in path]}}


class RevisionBodies:
    def __init__(self, budget: int | None = None) -> None:
        self.budget = _budget() if budget is None else budget
        self._entries: OrderedDict[Key, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def raw(self, key: Key) -> bytes | None:
        """The kept body as JSON, or None."""
        with self._lock:
            raw = self._entries.get(key)
            if raw is not None:
                self._entries.move_to_end(key)
            return raw

    def get(self, key: Key) -> dict[str, Any] | None:
        """A new copy of the kept body (the caller may change it), or None."""
        raw = self.raw(key)
        return None if raw is None else orjson.loads(raw)

    def put(self, key: Key, doc: dict[str, Any]) -> None:
        """Keep ``doc`` (a keepable body of the revision ``key`` names)."""
        if not self.budget:
            return
        try:
            # A copy: orjson's own bytes keep the allocation it grew them in (7x the JSON,
            # 80 MB of RSS for 11 MB of bodies), which a kept body would then hold for good.
            raw = bytes(memoryview(orjson.dumps(doc)))
        except TypeError:  # bytes somewhere: not a body as JSON answers it
            return
        if len(raw) > self.budget // 64:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._entries[key] = raw
            self._size += len(raw)
            while self._size > self.budget:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0


BODIES = RevisionBodies()
# (epoch, id) -> the winning revision a changes read in this process listed: what a
# replicator's _bulk_get right after asks for (UserReplica._kept_winners).
LISTED_SECONDS = 30.0
LISTED = TtlCache(LISTED_SECONDS, max_entries=20_000)
