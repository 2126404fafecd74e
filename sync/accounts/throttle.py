"""Growing delays after failed logins, per name and per address; never a lock-out.

A hard lock (the old rule: ten failures, then 429 for fifteen minutes, right
password included) let anyone lock anyone out: the admin by one form post with
an empty password repeated, a soum centre behind one NAT address by one
guesser rotating names. Now:

* A name's failures beyond ``slow_after`` make the next try of that name wait,
  1 s after the first, doubling up to ``max_delay`` (5 minutes). A try before
  then is answered 429 with ``Retry-After`` without its password being looked
  at, so a guesser gets one guess per delay, whatever it sends in parallel (a
  try that passes claims the slot first). After ``window_seconds`` without a
  failure the count starts again.
* An address's failures beyond ``address_slow_after`` delay, in the same way
  up to ``address_max_delay``, only tries of names that have failures of
  their own: workers whose names are in good standing log in from a NAT
  address however busy a guesser there is.
* What never counts: an empty password (nobody's: one form post with it used
  to lock the admin out), and tries of a device that already showed the right
  password (``server.auth`` remembers those, and a
  session cookie is not a password login at all).

Counters live in the ``_auth`` system scope so that every app server sees the
same ones; only failures (and the claim of a delayed name's slot) write; a
success clears the name's counter. Documents hold hashes, not names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sync import records
from sync.clock import now, parse_iso
from sync.stores.base import Store

AUTH_SCOPE = "_auth"


@dataclass(frozen=True)
class Verdict:
    """What the counters say about one try: wait this long (0: go ahead)."""

    wait: int
    name_failures: int  # the name's failures in the window (0: nothing to clear on success)


class LoginThrottle:
    def __init__(self, store: Store, *, window_seconds: int = 900, slow_after: int = 3,
                 max_delay: float = 300.0, address_slow_after: int | None = None,
                 address_max_delay: float = 30.0, first_delay: float = 1.0,
                 lock_after: int | None = None, lock_seconds: int | None = None,
                 address_factor: int | None = None) -> None:
        # lock_after, lock_seconds, address_factor: settings of the lock-out this replaced,
        # still accepted from callers that turned it off; nothing is locked any more.
        self.store = store
        self.window = timedelta(seconds=window_seconds)
        self.slow_after = slow_after
        self.max_delay = max_delay
        # An address is many names' worth of people (a NAT): ten names' free failures by default.
        self.address_slow_after = 10 * slow_after if address_slow_after is None else address_slow_after
        self.address_max_delay = address_max_delay
        self.first_delay = first_delay

    def _id(self, kind: str, key: str) -> str:
        return f"fail:{kind}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"

    def delay_for(self, failures: int, kind: str = "name") -> float:
        """Seconds the next try waits after ``failures`` failures of a name (or an address)."""
        free, cap = ((self.address_slow_after, self.address_max_delay) if kind == "addr"
                     else (self.slow_after, self.max_delay))
        if failures <= free:
            return 0.0
        return min(self.first_delay * 2 ** (failures - free - 1), cap)

    def _counted(self, doc: dict | None) -> tuple[int, float]:
        """(failures in the window, seconds until the next try may be checked)."""
        if not doc:
            return 0, 0.0
        last = parse_iso(doc.get("last_at"))
        if last is None or now() - last > self.window:
            return 0, 0.0
        until = parse_iso(doc.get("next_at"))
        wait = (until - now()).total_seconds() if until else 0.0
        return int(doc.get("count") or 0), max(wait, 0.0)

    def status(self, keys: dict[str, str]) -> Verdict:
        """Whether a try of ``keys`` (``name``, ``addr``) may be checked now.

        Every login of a name with failures asks this, so the counters are read
        in one request (one ``_all_docs`` with keys): on the CouchDB store each
        read is a round trip.
        """
        db = self.store.ensure(AUTH_SCOPE)
        ids = {self._id(kind, key): kind for kind, key in keys.items()}
        found = {ids[row["key"]]: row.get("doc") for row in db.all_docs(keys=list(ids), include_docs=True)
                 if row.get("key") in ids}
        name_failures, name_wait = self._counted(found.get("name"))
        _, addr_wait = self._counted(found.get("addr"))
        wait = max(name_wait, addr_wait if name_failures else 0.0)
        return Verdict(int(wait) + 1 if wait else 0, name_failures)

    def claim(self, keys: dict[str, str]) -> int:
        """Take a delayed name's one try (0), or say how long until the next (another took it).

        Two tries sent at once both see the delay over; the first to write the
        name's ``next_at`` has the try, the other waits. Only names whose
        failures are past ``slow_after`` write here.
        """
        db = self.store.ensure(AUTH_SCOPE)
        taken = {"wait": 0.0}

        def take(doc: dict) -> dict | None:
            failures, wait = self._counted(doc)
            if wait:
                taken["wait"] = wait
                return None
            if failures <= self.slow_after:
                return None  # nothing to claim: tries are free
            taken["wait"] = 0.0
            return {**doc, "next_at": (now() + timedelta(seconds=self.delay_for(failures))).isoformat()}

        records.upsert(db, self._id("name", keys["name"]), take)
        return int(taken["wait"]) + 1 if taken["wait"] else 0

    def failed(self, keys: dict[str, str]) -> int:
        """Count a failure of each key; returns the name's failures in the window."""
        db = self.store.ensure(AUTH_SCOPE)
        counts = {}
        for kind, key in keys.items():
            def bump(doc: dict, kind: str = kind) -> dict:
                failures, _ = self._counted(doc)
                failures += 1
                delay = self.delay_for(failures, kind)
                moment = now()
                return {"_id": doc["_id"], **({"_rev": doc["_rev"]} if "_rev" in doc else {}),
                        "type": "login_failures", "count": failures, "last_at": moment.isoformat(),
                        "next_at": (moment + timedelta(seconds=delay)).isoformat() if delay else None}
            counts[kind] = records.upsert(db, self._id(kind, key), bump).get("count", 0)
        return counts.get("name", 0)

    def retry_after(self, keys: dict[str, str]) -> int:
        """Seconds until ``keys`` may try again (0: now)."""
        return self.status(keys).wait

    def succeeded(self, name: str) -> None:
        """Clear the name's counter (a login that saw none counted need not call this)."""
        db = self.store.ensure(AUTH_SCOPE)
        # upsert reads the document; None leaves it (or its absence) as it is
        records.upsert(db, self._id("name", name),
                       lambda d: {**d, "count": 0, "next_at": None} if d.get("count") else None)
