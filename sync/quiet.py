"""``global`` known not to have changed, without asking CouchDB.

Every batch a device pulls through ``/sync/<user>`` read ``global``'s changes
(a round trip that almost always answered nothing: forms and the area list
change a few times a year) and, for PouchDB's info request, its update
sequence (another, once the store's one-second memo had run out, which under
load it usually had). On a store that follows changes feeds at no cost
(``Store.change_marker``: the CouchDB store's watch, moved also by every write
this process makes), what such a read answered stays true while the marker,
taken before the read, is the same: the next read is answered from here, with
no staleness beyond the feed's own delivery (milliseconds) and none at all
for writes made through this process. An answer is reused for at most the
store's ``default_cache_seconds`` all the same (1 s: the bound the store's
other memos keep), in case a feed missed a change (a test saw one on a
3-node cluster that no second read showed).

A changes read that found rows is answered again the same way while the
marker holds: every device's first pull reads ``global`` from 0, 200 of them
in a crowd (``bench/crowd.py``), each the same few dozen rows.

Only ``global``, which every user's replica reads and nobody writes while
devices sync: following an area's feed as well would cost a long-poll per
area and process, and an area's feed moves with every push to it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any

from sync.scopes import GLOBAL
from sync.stores.base import Changes, Seq, Store


class QuietScopes:
    def __init__(self) -> None:
        # (store, scope) -> (marker, update_seq) and (marker, {since: last_seq of an empty read}).
        self._seqs: dict[tuple[int, str], tuple[Hashable, Any]] = {}
        self._empty: dict[tuple[int, str], tuple[Hashable, dict[str, Any]]] = {}
        # (store, scope) -> (marker, {read's parameters: (rows, last_seq)})
        self._answers: dict[tuple[int, str], tuple[Hashable, dict[Hashable, tuple[list[dict], Any]]]] = {}
        self._lock = threading.Lock()

    def marker(self, store: Store, scope: str) -> Hashable | None:
        """The scope's change marker when it is watched for free; None: ask the store.

        The marker holds the time in periods of the store's ``default_cache_seconds``: an
        answer is reused until its period ends, so never when older than one period."""
        seconds = getattr(store, "default_cache_seconds", 0)
        if scope != GLOBAL or not seconds or not getattr(store, "watches_changes", False):
            return None
        marker = store.change_marker([scope])
        return None if marker is None else (marker, int(time.monotonic() / seconds))

    def update_seq(self, store: Store, scope: str, read: Any) -> Any | None:
        """The scope's update sequence, read (``read()``) only when its marker moved; None if not watched."""
        marker = self.marker(store, scope)
        if marker is None:
            return None
        key = (id(store), scope)
        with self._lock:
            found = self._seqs.get(key)
        if found is not None and found[0] == marker:
            return found[1]
        seq = read()
        with self._lock:
            self._seqs[key] = (marker, seq)
        return seq

    def no_changes(self, marker: Hashable | None, store: Store, scope: str, since: Seq) -> Changes | None:
        """An empty answer for a changes read from ``since`` known to find nothing; None: read it."""
        if marker is None:
            return None
        with self._lock:
            found = self._empty.get((id(store), scope))
        if found is None or found[0] != marker or str(since) not in found[1]:
            return None
        return Changes(_nothing(found[1][str(since)]))

    def answer(self, marker: Hashable | None, store: Store, scope: str, key: Hashable) -> Changes | None:
        """A changes read this process made under the same marker, answered again (a copy of
        each row); None: read it. Every device's first pull reads ``global`` from 0."""
        if marker is None:
            return None
        with self._lock:
            found = self._answers.get((id(store), scope))
            kept = found[1].get(key) if found is not None and found[0] == marker else None
        if kept is None:
            return None
        rows, last_seq = kept
        return replay(rows, last_seq)

    def keep(self, marker: Hashable | None, store: Store, scope: str, key: Hashable,
             rows: list[dict], last_seq: Seq) -> None:
        """A whole changes read (``rows``, then ``last_seq``), ``marker`` being taken before it."""
        if marker is None:
            return
        with self._lock:
            found = self._answers.get((id(store), scope))
            if found is None or found[0] != marker:
                found = self._answers[(id(store), scope)] = (marker, {})
            if len(found[1]) < 64:  # (global's pages: few, and small)
                found[1][key] = (rows, last_seq)

    def saw_no_changes(self, marker: Hashable | None, store: Store, scope: str, since: Seq, last_seq: Seq) -> None:
        """A changes read from ``since`` found no row, ``marker`` being taken before it."""
        if marker is None:
            return
        key = (id(store), scope)
        with self._lock:
            found = self._empty.get(key)
            if found is None or found[0] != marker:
                found = self._empty[key] = (marker, {})
            if len(found[1]) < 1000:  # (the sequences users resume global from: few)
                found[1][str(since)] = last_seq
                found[1][str(last_seq)] = last_seq


def replay(rows: list[dict], last_seq: Seq) -> Changes:
    """A changes read already taken whole, read again: a copy of each row, then ``last_seq``."""

    def again():  # noqa: ANN202 - rows, then the read's last_seq
        for row in rows:
            yield dict(row)
        return last_seq

    return Changes(again())


def _nothing(last_seq: Seq):  # noqa: ANN202 - a generator returning the read's last_seq
    return last_seq
    yield


QUIET = QuietScopes()
