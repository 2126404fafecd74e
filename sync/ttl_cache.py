"""A small in-process memo whose entries expire: for reads another app server may change.

On the CouchDB store every read is a round trip, and a replicator's every
request would otherwise re-read the same account, login counters and form list
(bench/couch_gateway.py counts them). Remembering them for a second bounds how
stale an app server can be about a change made elsewhere; a change made through
the same process drops what it touches at once. ``seconds=0`` turns the memo off,
which is what the SQLite store uses: its reads are local and cheap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any


class TtlCache:
    def __init__(self, seconds: float, max_entries: int = 10_000):
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        """Whether it remembers anything at all (callers skip key building when not)."""
        return self.seconds > 0

    def get(self, key: Hashable) -> Any | None:
        if self.seconds <= 0:
            return None
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] < time.monotonic():
            with self._lock:
                self._entries.pop(key, None)
            return None
        return found[1]

    def put(self, key: Hashable, value: Any) -> None:
        if self.seconds <= 0 or value is None:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = (time.monotonic() + self.seconds, value)

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def drop_where(self, matches: Callable[[Hashable], bool]) -> None:
        """Forget the entries whose key ``matches`` (rare: a user changed, a login failed)."""
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if not matches(k)}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
