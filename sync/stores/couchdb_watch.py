"""Knowing at once, without asking, that a few CouchDB databases changed: their changes feeds watched.

A verified login holds while the accounts (``_users``) and the login counters
(``_auth``) are unchanged. On SQLite asking is two local reads; on CouchDB it
was two round trips, so a login was instead trusted for ``cache_seconds`` (1 s)
and then read again: with 100 devices syncing, 40% of the requests fieldsync
sent to CouchDB were these re-reads (bench/crowd.py, CouchDB's request log).
CouchDB keeps its own ``_users`` cache the same way as here: a process follows
the database's changes feed (one long-poll request open per database) and
counts the changes it sees; the counts are the marker. A change made through
any app server or straight to CouchDB moves the marker as soon as the feed
hands it over, typically within milliseconds. While a feed is not (yet)
followed, or its request failed, there is no marker (None) and callers fall
back to their expiry.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Hashable
from typing import TYPE_CHECKING
from urllib.parse import quote

import orjson

if TYPE_CHECKING:
    from sync.stores.couchdb_http import CouchClient

log = logging.getLogger("fieldsync")
POLL_SECONDS = 30.0  # one long-poll request's length; it returns at once on a change
RETRY_SECONDS = 1.0


class _Feed:
    """One database's changes feed followed by a thread of its own."""

    def __init__(self, client: CouchClient, dbname: str) -> None:
        self.client = client
        self.path = "/" + quote(dbname, safe="")
        self.count = 0  # changes seen (and failures: a failed read may have missed some)
        self.live = False  # following the feed right now
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"fieldsync-watch-{dbname}")
        self.thread.start()

    def _run(self) -> None:
        since = None
        while not self.stopped:
            try:
                if since is None:
                    # Armed from the current sequence: a change after it moves the count.
                    since = self.client.json("GET", self.path)["update_seq"]
                    self.live = True
                resp = self.client.longpoll(self.path + "/_changes",
                                            {"feed": "longpoll", "since": str(since), "limit": "100",
                                             "timeout": str(int(POLL_SECONDS * 1000))}, POLL_SECONDS)
                if resp is None:
                    continue
                try:
                    answer = orjson.loads(resp.content)
                finally:
                    resp.close()
                if answer.get("results"):
                    self.count += 1
                since = answer.get("last_seq", since)
            except Exception:  # noqa: BLE001 - unknown state: no marker until following again
                self.live = False
                self.count += 1
                since = None
                if not self.stopped:
                    log.debug("changes watch of %s failed; retrying", self.path, exc_info=True)
                    time.sleep(RETRY_SECONDS)


class ChangeWatch:
    """Markers of a few databases, from feeds followed in this process (started on first use)."""

    def __init__(self, client: CouchClient) -> None:
        self.client = client
        self._feeds: dict[str, _Feed] = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def marker(self, dbnames: list[str]) -> Hashable | None:
        feeds = []
        with self._lock:
            if self._pid != os.getpid():  # forked: the threads stayed with the parent
                self._feeds, self._pid = {}, os.getpid()
            for name in dbnames:
                feed = self._feeds.get(name)
                if feed is None:
                    feed = self._feeds[name] = _Feed(self.client, name)
                feeds.append(feed)
        if not all(f.live for f in feeds):
            return None
        return tuple(f.count for f in feeds)

    def stop(self) -> None:
        with self._lock:
            for feed in self._feeds.values():
                feed.stopped = True
            self._feeds = {}
