"""Following an area's changes feed under a lease: the part the store-kept indexes share.

``sync.subindex``, ``sync.reports`` and ``sync.facility_index`` each keep rows
derived from an area in a system scope and catch up by reading the area's
changes feed since the last read, bounded per page view, one app server at a
time (a lease in ``<area>:meta``, taken by a revision-checked write, so two
servers never apply the same changes twice). The two older ones keep their own
loops (their metas carry counts that must move with the rows); an index whose
meta is only "how far" subclasses ``AreaFollower`` and writes ``_apply`` and
``_drop_rows`` (``sync.facility_index``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sync import ids, records
from sync.errors import Conflict
from sync.stores.base import Database, Store

LEASE_SECONDS = 30.0
_ME = uuid.uuid4().hex  # this process, as the holder of a lease


@dataclass
class Refreshed:
    changes: int = 0
    done: bool = True
    busy: bool = False  # another app server holds the lease


class AreaFollower:
    """An index of an area kept in ``SCOPE``: ``<area>:meta`` says how far the area's feed was read."""

    SCOPE = ""
    FORMAT = 1  # rows of another format are dropped and the area read again
    META_TYPE = ""
    KINDS: frozenset[str] = frozenset()  # the document kinds (``sync.ids``) whose changes matter

    def __init__(self, store: Store) -> None:
        self.store = store

    def db(self) -> Database:
        return self.store.ensure(self.SCOPE)

    def refresh(self, area: str, *, max_changes: int = 5000, batch: int = 500) -> Refreshed:
        """Apply what changed in ``area`` since the last refresh, at most ``max_changes`` changes."""
        if not self.store.exists(area):
            return Refreshed()
        src, idx = self.store.open(area), self.db()
        meta_id = f"{area}:meta"
        meta = records.read(idx, meta_id) or {"_id": meta_id, "type": self.META_TYPE, "seq": None}
        epoch = src.epoch()
        if meta.get("epoch") not in (None, epoch) or (meta.get("seq") is not None
                                                      and meta.get("format") != self.FORMAT):
            self._drop_rows(area)  # another store's sequence (a restore), or rows of another format
            meta["seq"] = None
        if meta.get("lease_by") not in (None, _ME) and meta.get("lease_until", 0) > time.time():
            return Refreshed(done=False, busy=True)
        meta.update(epoch=epoch, format=self.FORMAT, lease_by=_ME, lease_until=time.time() + LEASE_SECONDS)
        try:
            records.write(idx, meta)  # revision-checked: of two servers, one holds the lease
        except Conflict:
            return Refreshed(done=False, busy=True)
        result = Refreshed()
        try:
            while result.changes < max_changes:
                feed = src.changes(meta["seq"] if meta.get("seq") is not None else 0, limit=batch)
                keys: set[str] = set()
                rows = 0
                for row in feed:
                    rows += 1
                    parsed = ids.parse_doc_id(row["id"])
                    if parsed is not None and parsed.kind in self.KINDS:
                        keys.add(parsed.key)
                if rows == 0:
                    if feed.last_seq is not None:
                        meta["seq"] = feed.last_seq
                    break
                if keys:
                    self._apply(area, src, idx, keys)
                meta["seq"] = feed.last_seq
                result.changes += rows
                meta["lease_until"] = time.time() + LEASE_SECONDS
                records.write(idx, meta)
            else:
                result.done = False
        finally:
            meta.update(lease_by=None, lease_until=0)
            try:
                records.write(idx, meta)
            except Conflict:  # the lease ran out and another server took over: its write stands
                pass
        return result

    def refresh_all(self, area: str) -> int:
        """Catch up completely (a build); how many changes were read."""
        total = 0
        while True:
            step = self.refresh(area, max_changes=100_000, batch=1000)
            total += step.changes
            if step.done:
                return total
            if step.busy:
                time.sleep(0.2)

    def _apply(self, area: str, src: Database, idx: Database, keys: set[str]) -> None:
        raise NotImplementedError

    def _drop_rows(self, area: str) -> None:
        raise NotImplementedError
