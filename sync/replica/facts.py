"""What the visibility rules read of a document revision, remembered per revision.

A worker's ``/sync/<user>`` shows a document only when its winning revision is
visible to the worker (``sync.accounts.access.Access.visible``: the author, the
form, whether it is a tombstone), so every row of the worker's ``_changes`` and
every document of its ``_bulk_get`` needed that revision's body: on SQLite a
read and a parse of each body, on CouchDB ``include_docs`` on every changes
read and the winners read again for ``_bulk_get``, which tripled what CouchDB
read for a pull (bench/crowd.py, bench/user_sync.py). A revision never changes,
so what those rules read of it is remembered here by (scope epoch, id, rev) and
never goes stale; what a request learns serves the next one, and the devices of
one soum pull the same documents. Only the few fields the rules read are kept,
in a bounded least-recently-used table per process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

# Every field of a document that Access.visible (and UserReplica._visible) reads.
# tests/test_user_replica.py checks the rules answer alike on a document and on these.
VISIBILITY_FIELDS = ("_deleted", "author", "submission_author", "form", "type", "status", "coordinator", "team",
                     "former")

Key = tuple[str, str, str]  # (epoch of the scope's database, document id, revision)


def facts_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``doc`` the visibility rules read (a new dict; ``doc`` is left alone)."""
    return {k: doc[k] for k in VISIBILITY_FIELDS if k in doc}


class RevisionFacts:
    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._entries: OrderedDict[Key, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> dict[str, Any] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Key, doc: dict[str, Any]) -> dict[str, Any]:
        """Remember ``doc``'s facts under ``key`` (the revision ``doc`` is); returns them."""
        facts = facts_of(doc)
        with self._lock:
            self._entries[key] = facts
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return facts

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


FACTS = RevisionFacts()
