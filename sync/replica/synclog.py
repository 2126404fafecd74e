"""The sync log: every replication session a user runs, kept in ``_synclog``.

A session is the run of requests from one user and device with no pause longer
than ``gap``; it is what answers "who has not synced for two weeks". The open
session of each (user, device) is ``cur:<user>:<device>``; when a pause ends it,
it is copied to ``log:<user>:<started_at>:<device>`` and a new one begins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

from sync import records
from sync.clock import now, now_iso, parse_iso
from sync.stores.base import Store

SYNCLOG_SCOPE = "_synclog"


def device_key(device_id: str | None, user_agent: str | None) -> str:
    raw = device_id or user_agent or "unknown"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


class SyncLog:
    def __init__(self, store: Store, gap_seconds: int = 600):
        self.store = store
        self.gap = timedelta(seconds=gap_seconds)

    def record(self, user: str, *, user_agent: str | None, device_id: str | None,
               read: int = 0, written: int = 0, refused: int = 0) -> None:
        db = self.store.ensure(SYNCLOG_SCOPE)
        key = device_key(device_id, user_agent)
        cur_id = f"cur:{user}:{key}"
        stamp = now_iso()

        def update(doc: dict) -> dict:
            last = parse_iso(doc.get("last_at"))
            if last is not None and now() - last > self.gap:
                closed = {k: v for k, v in doc.items() if not k.startswith("_")}
                closed["_id"] = f"log:{user}:{doc.get('started_at')}:{key}"
                closed["type"] = "sync_session"
                if records.read(db, closed["_id"]) is None:
                    records.write(db, closed)
                doc = {"_id": cur_id}
            if "started_at" not in doc:
                doc.update(started_at=stamp, read=0, written=0, refused=0, requests=0)
            doc.update(type="sync_session", user=user, device=device_id, device_key=key,
                       user_agent=(user_agent or "")[:200], last_at=stamp)
            doc["read"] += read
            doc["written"] += written
            doc["refused"] += refused
            doc["requests"] += 1
            return doc

        records.upsert(db, cur_id, update)

    def sessions(self, user: str | None = None) -> Iterator[dict]:
        db = self.store.ensure(SYNCLOG_SCOPE)
        for prefix in ("cur:", "log:"):
            yield from records.iter_docs(db, prefix + (f"{user}:" if user else ""))

    def last_sync(self) -> dict[str, str]:
        """Each user's latest request time."""
        out: dict[str, str] = {}
        for doc in self.sessions():
            u, at = doc.get("user"), doc.get("last_at", "")
            if u and at > out.get(u, ""):
                out[u] = at
        return out
