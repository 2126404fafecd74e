"""Slowing down and then refusing repeated failed logins, per name and per address.

Counters live in the ``_auth`` system scope so that every app server sees the
same ones. Only failures write; a success clears the name's counter.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sync import records
from sync.clock import now, now_iso, parse_iso
from sync.stores.base import Store

AUTH_SCOPE = "_auth"


class LoginThrottle:
    def __init__(self, store: Store, *, window_seconds: int = 900, lock_after: int = 10,
                 slow_after: int = 3, lock_seconds: int = 900, address_factor: int = 5):
        self.store = store
        self.window = timedelta(seconds=window_seconds)
        self.lock_after = lock_after
        # A soum centre's workers often share one address (NAT): an address is
        # locked only after several names' worth of failures.
        self.address_factor = address_factor
        self.slow_after = slow_after
        self.lock_seconds = lock_seconds

    def _id(self, kind: str, key: str) -> str:
        return f"fail:{kind}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def retry_after(self, keys: dict[str, str]) -> int:
        """Seconds until a locked name or address may try again (0: not locked)."""
        return self.status(keys)[0]

    def status(self, keys: dict[str, str]) -> tuple[int, set[str]]:
        """``retry_after`` and the kinds of ``keys`` that have failures counted.

        Every login asks this, so the counters are read in one request (one
        ``_all_docs`` with keys), not one per key: on the CouchDB store each is
        a round trip.
        """
        db = self.store.ensure(AUTH_SCOPE)
        ids = {self._id(kind, key): kind for kind, key in keys.items()}
        worst, counted = 0, set()
        for row in db.all_docs(keys=list(ids), include_docs=True):
            doc = row.get("doc")
            if not doc:
                continue
            if doc.get("count"):
                counted.add(ids[row["id"]])
            until = parse_iso(doc.get("locked_until"))
            if until and until > now():
                worst = max(worst, int((until - now()).total_seconds()) + 1)
        return worst, counted

    def failed(self, keys: dict[str, str]) -> int:
        """Count a failure; returns how many failures the worst key has in the window."""
        db = self.store.ensure(AUTH_SCOPE)
        worst = 0
        for kind, key in keys.items():
            def bump(doc: dict, kind: str = kind) -> dict:
                first = parse_iso(doc.get("first_at"))
                if first is None or now() - first > self.window:
                    doc.update(count=0, first_at=now_iso())
                doc["count"] = doc.get("count", 0) + 1
                doc["type"] = "login_failures"
                limit = self.lock_after * (self.address_factor if kind == "addr" else 1)
                if doc["count"] >= limit:
                    doc["locked_until"] = (now() + timedelta(seconds=self.lock_seconds)).isoformat()
                return doc
            doc = records.upsert(db, self._id(kind, key), bump)
            worst = max(worst, doc.get("count", 0))
        return worst

    def delay_for(self, failures: int) -> float:
        """Seconds to hold a wrong answer back: nothing at first, then growing."""
        if failures <= self.slow_after:
            return 0.0
        return min(0.25 * 2 ** (failures - self.slow_after - 1), 2.0)

    def succeeded(self, name: str) -> None:
        """Clear the name's counter (a login that saw none counted need not call this)."""
        db = self.store.ensure(AUTH_SCOPE)
        # upsert reads the document; None leaves it (or its absence) as it is
        records.upsert(db, self._id("name", name),
                       lambda d: {**d, "count": 0, "locked_until": None} if d.get("count") else None)
