"""The ``_changes`` feed in its three shapes, streamed.

* normal: every change after ``since``, then ``last_seq``.
* longpoll: like normal, but when nothing is there yet, wait for the first change.
* continuous: one JSON line per change, forever (or until ``timeout`` with no
  heartbeat); heartbeats are empty lines that keep proxies and phones from
  dropping an idle connection.

``last_seq`` of a normal feed is never below the update sequence read *before*
the scan, so a client that resumes from it loses nothing written meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from sync.stores.base import Database

from .jsonio import dumps

CHUNK = 64 * 1024


@dataclass
class FeedOptions:
    feed: str = "normal"
    since: object = 0
    limit: int | None = None
    style: str = "main_only"
    include_docs: bool = False
    conflicts: bool = False
    attachments: bool = False
    doc_ids: list[str] | None = None
    descending: bool = False
    heartbeat_ms: int | None = None
    timeout_ms: int = 60_000
    seq_interval: int | None = None
    max_seconds: float = 3600.0


def _rows(db: Database, opts: FeedOptions, since: object, limit: int | None) -> Iterator[dict]:
    return db.changes(
        since, limit=limit, style=opts.style, include_docs=opts.include_docs,
        conflicts=opts.conflicts, attachments=opts.attachments, doc_ids=opts.doc_ids,
        descending=opts.descending,
    )


def _with_seq_interval(rows: Iterator[dict], interval: int | None) -> Iterator[dict]:
    """Blank every seq but each Nth and the last, as CouchDB's ``seq_interval`` does."""
    if not interval or interval <= 1:
        yield from rows
        return
    prev = None
    n = 0
    for row in rows:
        if prev is not None:
            n += 1
            if n % interval:
                prev = {**prev, "seq": None}
            yield prev
        prev = row
    if prev is not None:
        yield prev


def normal_body(db: Database, opts: FeedOptions, since: object) -> Iterator[bytes]:
    """Stream ``{"results": [...], "last_seq": ...}``; long-poll first if asked.

    A page that fills its ``limit`` (replicators page through the feed so)
    ends at its last row and needs no update sequence; so for a normal feed
    with a limit the sequence is read only when the scan comes up short, and
    the scan then goes on from its last row, which keeps the rule above: no
    change written meanwhile is skipped. One read less per page (a round trip
    on the CouchDB store).
    """
    deferred = opts.feed == "normal" and opts.limit is not None and not opts.descending
    snapshot = None if deferred else db.update_seq()
    last_seq = since
    count = 0
    started = time.monotonic()
    heartbeat = opts.heartbeat_ms / 1000 if opts.heartbeat_ms else None
    # A heartbeat keeps a long-poll open until a change comes (CouchDB's rule),
    # bounded by max_seconds so that no request lives forever.
    end = started + (opts.max_seconds if heartbeat else opts.timeout_ms / 1000)
    yield b'{"results":['
    buf = bytearray()
    while True:
        scan_since, scan_limit = since, opts.limit
        while True:
            for row in _with_seq_interval(_rows(db, opts, scan_since, scan_limit), opts.seq_interval):
                if row["seq"] is not None:
                    last_seq = row["seq"]
                if count:
                    buf += b",\n"
                buf += dumps(row)
                count += 1
                if len(buf) >= CHUNK:
                    yield bytes(buf)
                    buf.clear()
            if snapshot is not None or count >= opts.limit:
                break
            snapshot = db.update_seq()  # short of the limit: from here on, as for any feed
            scan_since, scan_limit = last_seq, opts.limit - count
        if count or opts.feed != "longpoll":
            break
        last_seq = since = db.later_seq(since, snapshot)
        left = end - time.monotonic()
        if left <= 0:
            break
        if db.wait_for_change(since, min(left, heartbeat) if heartbeat else left):
            snapshot = db.update_seq()
        elif heartbeat:
            yield b"\n"
        else:
            break
    limited = opts.limit is not None and count >= opts.limit
    if not limited and not opts.descending:
        last_seq = db.later_seq(last_seq, snapshot)
    buf += b'\n],\n"last_seq":' + dumps(last_seq) + b',"pending":0}\n'
    yield bytes(buf)


def continuous_body(db: Database, opts: FeedOptions, since: object) -> Iterator[bytes]:
    """One line per change; ends after ``timeout`` of silence unless heartbeats are on."""
    started = time.monotonic()
    sent = 0
    heartbeat = opts.heartbeat_ms / 1000 if opts.heartbeat_ms else None
    idle_since = time.monotonic()
    while True:
        got = False
        remaining = None if opts.limit is None else opts.limit - sent
        # Read before the scan: once it is done, everything up to here has been
        # seen, shown or filtered out, so the next wait starts after it. Without
        # this, changes hidden from this reader would wake the feed forever.
        snapshot = db.update_seq()
        for row in _rows(db, opts, since, remaining):
            if row["seq"] is not None:
                since = row["seq"]
            sent += 1
            got = True
            yield dumps(row) + b"\n"
        if got:
            idle_since = time.monotonic()
        if opts.limit is not None and sent >= opts.limit:
            break
        since = db.later_seq(since, snapshot)
        left = opts.max_seconds - (time.monotonic() - started)
        if left <= 0:
            break
        if heartbeat:
            wait = min(heartbeat, left)  # a long heartbeat must not outlive max_seconds
        else:
            wait = min(opts.timeout_ms / 1000 - (time.monotonic() - idle_since), left)
            if wait <= 0:
                break
        if not db.wait_for_change(since, wait) and heartbeat:
            yield b"\n"
    yield b'{"last_seq":' + dumps(since) + b',"pending":0}\n'
