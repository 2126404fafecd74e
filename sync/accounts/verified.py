"""Credentials argon2 has already accepted, remembered by a keyed digest, across worker processes.

A password check costs tens of milliseconds of CPU and megabytes of memory on
purpose, and every device starting a sync brings credentials no process has
seen yet. Kept per process, each of gunicorn's workers paid that check again
for the same device, since a device's requests land on any of them
(bench/crowd.py: with 2 workers, argon2 was 70% of the server's CPU for 60
devices syncing at once). So the digests live in a small table of shared
memory made before gunicorn forks its workers (``share_between_processes``):
what one worker verified, the others know.

Only a digest is kept: HMAC-SHA256 under the server's secret of name, password
and the stored hash, cut to 16 bytes, so a new password or hash never matches
an old entry, and the table tells nothing without the secret. The table is a
fixed array of slots with short linear probing; a full neighbourhood evicts
one entry (that login is checked again). Processes write it without a lock: a
write torn by a concurrent one leaves bytes that match no digest, which only
costs a second check.
"""

from __future__ import annotations

import mmap
import random
import threading

WIDTH = 16
SLOTS = 1 << 14  # 256 KB of shared memory
PROBES = 8
_EMPTY = bytes(WIDTH)

_shared: VerifiedKeys | None = None


class VerifiedKeys:
    """A set of 16-byte digests in an anonymous mapping (shared with processes forked later)."""

    def __init__(self, slots: int = SLOTS) -> None:
        self.slots = slots
        self._map = mmap.mmap(-1, slots * WIDTH)  # MAP_SHARED | MAP_ANONYMOUS
        self._lock = threading.Lock()  # this process's writers

    def _offsets(self, key: bytes) -> list[int]:
        home = int.from_bytes(key[:4], "little") % self.slots
        return [((home + i) % self.slots) * WIDTH for i in range(PROBES)]

    def __contains__(self, key: bytes) -> bool:
        key = _checked(key)
        view = self._map
        return any(view[off:off + WIDTH] == key for off in self._offsets(key))

    def add(self, key: bytes) -> None:
        key = _checked(key)
        offsets = self._offsets(key)
        with self._lock:
            free = None
            for off in offsets:
                found = self._map[off:off + WIDTH]
                if found == key:
                    return
                if free is None and found == _EMPTY:
                    free = off
            at = free if free is not None else random.choice(offsets)
            self._map[at:at + WIDTH] = key

    def clear(self) -> None:
        with self._lock:
            self._map[:] = bytes(len(self._map))


def _checked(key: bytes) -> bytes:
    if len(key) != WIDTH or key == _EMPTY:
        raise ValueError(f"a verified-credentials key is {WIDTH} bytes, not all zero")
    return key


def share_between_processes() -> VerifiedKeys:
    """Make (once) the table every directory of this process and of its forks will use.

    Called by ``fieldsync serve`` before gunicorn forks its workers; elsewhere each
    ``UserDirectory`` keeps a table of its own.
    """
    global _shared
    if _shared is None:
        _shared = VerifiedKeys()
    return _shared


def table() -> VerifiedKeys:
    """The shared table when there is one, else a new one for the caller alone."""
    return _shared if _shared is not None else VerifiedKeys()
