"""The ``_changes`` feed in its three shapes, streamed.

* normal: every change after ``since``, then ``last_seq``.
* longpoll: like normal, but when nothing is there yet, wait for the first change.
* continuous: one JSON line per change, forever (or until ``timeout`` with no
  heartbeat); heartbeats are empty lines that keep proxies and phones from
  dropping an idle connection.

Every sequence handed to the client comes from the store's changes read whose
rows it covers (a row's ``seq``, or that read's ``last_seq``), never from a
separate read of the database's ``update_seq``: on a CouchDB cluster that
read may come from another copy of the data, ahead of the copy the feed read,
and a client resuming from it would skip what lies between. Waiting is a
read too (``Database.changes(timeout=...)``, on CouchDB its own long-poll), so
a wake-up never hands out a position of its own.

The first read is made before the body's first byte (``open_body``), so that
an error (CouchDB refusing a ``since``) is a clean 400, not a broken stream.

A live feed (longpoll, continuous) outlives the check of who may read it, so it
carries a ``standing`` (``sync.accounts.standing``): asked before any row read
after the first is sent, and after every idle wait (waits are cut to its
``recheck_seconds``). When it no longer holds the feed ends at the position
before the rows it did not send: the client reconnects, and is asked again who
it is and what it may see.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sync.stores.base import Changes, Database

from .jsonio import dumps

CHUNK = 64 * 1024


class Standing(Protocol):
    recheck_seconds: float

    def holds(self, *, delivering: bool) -> bool: ...


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
    standing: Standing | None = None


def _wait(opts: FeedOptions, seconds: float, heartbeat: float | None, beat: float) -> float:
    """How long the next read may wait: until the next heartbeat is due, or the next re-check."""
    if heartbeat:
        seconds = min(seconds, max(beat + heartbeat - time.monotonic(), 0.001))
    return min(seconds, opts.standing.recheck_seconds) if opts.standing else seconds


def _beat_due(heartbeat: float | None, beat: float) -> bool:
    return bool(heartbeat) and time.monotonic() - beat >= heartbeat * 0.99


def _allowed(opts: FeedOptions, read: _Read) -> bool:
    return opts.standing is None or opts.standing.holds(delivering=not read.empty)


class _Read:
    """One store read, its first row already asked for (so that its errors come now)."""

    def __init__(self, answer: Changes):
        self.answer = answer
        first = next(answer, None)
        self.rows: Iterator[dict] = iter(()) if first is None else itertools.chain([first], answer)
        self.empty = first is None

    @property
    def last_seq(self) -> object:
        return self.answer.last_seq


def _read(db: Database, opts: FeedOptions, since: object, limit: int | None,
          timeout: float | None = None) -> _Read:
    return _Read(db.changes(
        since, limit=limit, style=opts.style, include_docs=opts.include_docs,
        conflicts=opts.conflicts, attachments=opts.attachments, doc_ids=opts.doc_ids,
        descending=opts.descending, timeout=timeout,
    ))


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


def open_body(db: Database, opts: FeedOptions, since: object) -> Iterator[bytes]:
    """The response body for ``opts.feed``, its first store read already made.

    Whatever that read raises is raised here, before any byte is sent.
    """
    body = continuous_body(db, opts, since) if opts.feed in ("continuous", "eventsource") \
        else normal_body(db, opts, since)
    first = next(body)  # runs the generator up to its first read's first row
    return itertools.chain([first], body)


def normal_body(db: Database, opts: FeedOptions, since: object) -> Iterator[bytes]:
    """Stream ``{"results": [...], "last_seq": ...}``; long-poll first if asked.

    ``last_seq`` is the last read's own: a page that fills its ``limit`` ends
    at its last row, one that does not covers everything its read passed over.
    """
    started = time.monotonic()
    heartbeat = opts.heartbeat_ms / 1000 if opts.heartbeat_ms else None
    # A heartbeat keeps a long-poll open until a change comes (CouchDB's rule),
    # bounded by max_seconds so that no request lives forever.
    end = started + (opts.max_seconds if heartbeat else opts.timeout_ms / 1000)
    read = _read(db, opts, since, opts.limit)
    yield b'{"results":['
    buf = bytearray()
    count = 0
    last_seq = since
    beat = started
    while True:
        if read is None:
            break  # the standing failed: last_seq is the previous read's
        for row in _with_seq_interval(read.rows, opts.seq_interval):
            if count:
                buf += b",\n"
            buf += dumps(row)
            count += 1
            if len(buf) >= CHUNK:
                yield bytes(buf)
                buf.clear()
        last_seq = read.last_seq
        if count or opts.feed != "longpoll":
            break
        left = end - time.monotonic()
        if left <= 0:
            break
        read = _read(db, opts, last_seq, opts.limit, timeout=_wait(opts, left, heartbeat, beat))
        if not _allowed(opts, read):
            read = None
        elif read.empty and _beat_due(heartbeat, beat):
            beat = time.monotonic()
            yield b"\n"
    buf += b'\n],\n"last_seq":' + dumps(last_seq) + b',"pending":0}\n'
    yield bytes(buf)


def continuous_body(db: Database, opts: FeedOptions, since: object) -> Iterator[bytes]:
    """One line per change; ends after ``timeout`` of silence unless heartbeats are on."""
    started = time.monotonic()
    sent = 0
    heartbeat = opts.heartbeat_ms / 1000 if opts.heartbeat_ms else None
    idle_since = started
    read = _read(db, opts, since, opts.limit)
    yield b""  # the first read is made: errors are behind us, the response may start
    beat = started
    while True:
        got = False
        for row in read.rows:
            sent += 1
            got = True
            yield dumps(row) + b"\n"
        since = read.last_seq
        if got:
            idle_since = time.monotonic()
        if opts.limit is not None and sent >= opts.limit:
            break
        left = opts.max_seconds - (time.monotonic() - started)
        if left <= 0:
            break
        if heartbeat:
            wait = min(heartbeat, left)  # a long heartbeat must not outlive max_seconds
        else:
            wait = min(opts.timeout_ms / 1000 - (time.monotonic() - idle_since), left)
            if wait <= 0:
                break
        remaining = None if opts.limit is None else opts.limit - sent
        read = _read(db, opts, since, remaining, timeout=_wait(opts, wait, heartbeat, beat))
        if not _allowed(opts, read):
            break  # since is the last position sent: the unsent rows are not passed over
        if read.empty and _beat_due(heartbeat, beat):
            beat = time.monotonic()
            yield b"\n"
        elif not read.empty:
            beat = time.monotonic()
    yield b'{"last_seq":' + dumps(since) + b',"pending":0}\n'
