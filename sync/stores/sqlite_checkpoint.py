"""Moving committed pages from a scope's write-ahead log into its file, off the request path.

Left to itself SQLite checkpoints inside the commit that takes the log past
1000 pages: that one request copies about 4 MB into the database file and
waits for two more fsyncs. While a replica pushes, that was one batch of 100
documents in every sixteen paying about 10 ms, 0.9 ms a batch on average
(SQLite store, 10,000 submissions). Here the store's connections never
checkpoint; a thread of the process does, a moment after writes, with a
PASSIVE checkpoint, which never blocks readers or writers. SQLite releases
the GIL while it copies, so the requests go on meanwhile.

Nothing about durability changes: a commit still reaches the disk (the log is
synced with ``synchronous=FULL``) before the client hears about it. A crash
before a checkpoint leaves the pages in the log, where SQLite finds them.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger("fieldsync.sqlite")

# Pages of log beyond which a checkpoint makes it start over: SQLite's own bound
# (4 MB with its 4 KB pages, 8 MB with the 8 KB pages the store makes scopes with).
RESTART_FRAMES = 1000


class Checkpointer:
    # Seconds between the first write noticed and the checkpoint: a replica's
    # batches come every few tens of milliseconds, so one checkpoint covers many.
    DELAY = 0.2

    def __init__(self) -> None:
        self._dirty: set[Path] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid: int | None = None
        # Held while checkpoints run, so that forget() can wait one out.
        self._running = threading.Lock()

    def wrote(self, path: Path) -> None:
        """Note a commit to the database at ``path``; it is checkpointed shortly."""
        with self._lock:
            self._dirty.add(path)
            if self._pid != os.getpid():  # none yet, or the thread stayed behind a fork
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="fieldsync-checkpoint", daemon=True).start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.DELAY)
            self._wake.clear()
            with self._running:
                with self._lock:
                    paths, self._dirty = self._dirty, set()
                for path in paths:
                    checkpoint(path)

    def forget(self) -> None:
        """Drop the checkpoints still to come and wait for one under way to end.

        A store that closes hands its files back: someone may copy or back up
        the data directory next. A checkpoint after that would open a scope
        again, which makes SQLite create its -wal and -shm files and delete
        them on closing, under the copy's feet. Nothing is lost by dropping
        them: closing a scope's last connection checkpoints it anyway.
        """
        with self._running:
            with self._lock:
                self._dirty.clear()


def checkpoint(path: Path) -> None:
    """A PASSIVE checkpoint of the database at ``path``, if it still exists.

    A connection of its own, opened read-write but never creating: the scope
    may have been deleted since the write, and a plain connect would bring
    back an empty file under its name.
    """
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None,
                               check_same_thread=False, timeout=5)
    except sqlite3.Error:
        return  # deleted meanwhile: nothing to do
    try:
        _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > RESTART_FRAMES:
            # Everything is copied, but the log only starts over when a write
            # begins just after a checkpoint, with no reader in it; while writes
            # keep coming that moment rarely comes and the log grows. RESTART
            # makes it: it holds writers off while it copies what little is left
            # and waits for readers (a tenth of a second at most), so the next
            # commit writes from the start of the log again. The file keeps its
            # size: commits overwrite its blocks instead of growing it, which
            # syncs faster than TRUNCATE's empty file (0.2 against 0.35 ms here).
            conn.execute("PRAGMA busy_timeout=100")
            conn.execute("PRAGMA wal_checkpoint(RESTART)")
    except sqlite3.Error as exc:  # busy or gone: the next write asks again
        log.debug("checkpoint of %s skipped: %s", path, exc)
    finally:
        conn.close()
