"""The sync log: every replication session a user runs, kept in ``_synclog``.

A session is the run of requests from one user and device with no pause longer
than ``gap``; it is what answers "who has not synced for two weeks". The open
session of each (user, device) is ``cur:<user>:<device>``; when a pause ends it,
it is copied to ``log:<user>:<started_at>:<device>`` and a new one begins.

The ``cur:`` document is also the device's record across sessions (what the
sync monitor shows, ``sync.replica.monitor``): when it last pushed and last
pulled (a request that moved documents or checkpoints that way; a plain
``GET`` of the replica is no sync), its totals, and the replication
checkpoints (``_local/<id>``) it used, each with its direction and time: a
replicator keeps one checkpoint per replication, so two devices that send
the same user agent are still told apart by their checkpoint ids.

Requests are counted in memory and written a moment later (``flush_seconds``),
all (user, device) sessions of that moment in one read and one batch. Writing
each request's line as it came made every request of every device a write to
the one ``_synclog`` scope: on SQLite a transaction with an fsync, serialised
behind the scope's write lock while holding a server thread; on CouchDB two
round trips, and conflicts between a device's concurrent requests (bench/crowd.py:
a quarter of the server's time with 60 devices syncing). A reader in the same
process sees every request (``sessions`` writes what is pending first); another
process sees it within ``flush_seconds``. What a process had not yet written
when it is killed is lost, which for bookkeeping is acceptable; a process that
exits normally writes it.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sync import records
from sync.clock import now, parse_iso
from sync.docs import check_doc
from sync.replica.receipts import (
    RECEIPTS_SCOPE,
    Sender,
    of_document,
    pick_replication,
    receipt,
    receipt_id,
)
from sync.revtree import rev_gen
from sync.stores.base import Store

SYNCLOG_SCOPE = "_synclog"
MAX_CHECKPOINTS = 8  # replications remembered per device (a reinstalled app starts new ones)
DEVICE_FIELDS = {"first_seen", "last_push_at", "last_pull_at", "checkpoints", "total_read",
                 "total_written", "total_refused", "last_refusals"}
MAX_REFUSALS = 10  # the latest refused documents a device's record names, with their reasons
MAX_FAILURES = 5  # writes failed in a row after which what is pending is given up (the store is gone)
MAX_RECEIPTS = 100_000  # receipts kept waiting while the store cannot be written
OWN_WRITES_SECONDS = 5.0  # how long a reader in this process lays its own writes over the store's answer
RECEIPT_WAIT = 10.0  # seconds a pushed revision's receipt waits for its push checkpoint at most
log = logging.getLogger("fieldsync")


def device_key(device_id: str | None, user_agent: str | None) -> str:
    raw = device_id or user_agent or "unknown"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


@dataclass
class _Pending:
    """What one (user, device) did since the last write of the log."""

    user: str
    key: str
    device_id: str | None
    user_agent: str
    first: datetime
    last: datetime
    read: int = 0
    written: int = 0
    refused: int = 0
    requests: int = 0
    pushed: datetime | None = None  # the last request that was part of a push
    pulled: datetime | None = None
    checkpoints: dict[str, dict] = field(default_factory=dict)  # replication id -> direction, at
    refusals: list[dict] = field(default_factory=list)  # newest last: {id, reason, messages, at}

    def merge(self, other: _Pending) -> None:
        self.refusals = (self.refusals + other.refusals)[-MAX_REFUSALS:]
        self.first = min(self.first, other.first)
        self.last = max(self.last, other.last)
        self.device_id, self.user_agent = other.device_id, other.user_agent
        self.read += other.read
        self.written += other.written
        self.refused += other.refused
        self.requests += other.requests
        self.pushed = _latest(self.pushed, other.pushed)
        self.pulled = _latest(self.pulled, other.pulled)
        for rid, seen in other.checkpoints.items():
            mine = self.checkpoints.get(rid)
            if mine is None or seen["at"] >= mine["at"]:
                self.checkpoints[rid] = {**seen, "direction": seen["direction"] or (mine or {}).get("direction")}


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")  # as sync.clock.now_iso


class SyncLog:
    # Every open session of the moment is rewritten per flush: each second, that was
    # as many writes as a crowd's devices (200), near one per request again.
    def __init__(self, store: Store, gap_seconds: int = 600, flush_seconds: float = 5.0):
        self.store = store
        self.gap = timedelta(seconds=gap_seconds)
        self.flush_seconds = flush_seconds
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._lock = threading.Lock()  # guards _pending
        self._writing = threading.Lock()  # one write of the log at a time per process
        self._wake = threading.Event()
        self._flusher: tuple[int, threading.Thread] | None = None
        self._failures = 0  # writes failed in a row
        # [user, doc id, rev, sender, at, replication (None: not known yet)]
        self._receipts: list[list] = []
        self._awaiting: dict[tuple[str, str], list[list]] = {}  # (user, device key) -> receipts without one
        # (user, device key) -> the push checkpoint it last read or wrote: a replicator reads
        # its checkpoint before it pushes, so it names the push under way.
        self._replicating: dict[tuple[str, str], str] = {}
        # doc id -> (the log document as this process last wrote it, when): see _with_own_writes.
        self._written: dict[str, tuple[dict, float]] = {}
        # receipt id -> (the receipt this process wrote, when): laid over what receipts() reads.
        self._receipts_written: dict[str, tuple[dict, float]] = {}

    def record(self, user: str, *, user_agent: str | None, device_id: str | None,
               read: int = 0, written: int = 0, refused: int = 0, pushed: bool = False,
               pulled: bool = False, checkpoint: tuple[str, str | None] | None = None,
               refusals: list[dict] | None = None) -> None:
        """Count one request; it reaches the store within ``flush_seconds``.

        ``pushed``/``pulled``: the request was part of a push or a pull;
        ``checkpoint``: the replication checkpoint it read or wrote, as
        ``(replication id, "push" | "pull" | None when not known)``.
        """
        # Made here, on the request's path, and only opened by the writes: a write a
        # moment later must not make the scope again after it was deleted (a test's
        # CouchDB databases dropped at its end).
        self.store.ensure(SYNCLOG_SCOPE)
        key = device_key(device_id, user_agent)
        stamp = now()
        entry = _Pending(user, key, device_id, (user_agent or "")[:200], stamp, stamp, read, written,
                         refused, 1, stamp if pushed else None, stamp if pulled else None)
        if checkpoint is not None:
            entry.checkpoints[checkpoint[0][:200]] = {"direction": checkpoint[1], "at": _iso(stamp)}
        if refusals:
            entry.refusals = [{**r, "at": _iso(stamp)} for r in refusals[-MAX_REFUSALS:]]
        with self._lock:
            if checkpoint is not None and checkpoint[1] is None:
                # A replication that has no checkpoint yet, push or pull: what this device
                # pushes next waits for the checkpoint its push writes after the batch.
                self._replicating.pop((user, key), None)
            elif checkpoint is not None and checkpoint[1] == "push":
                if len(self._replicating) > 100_000:
                    self._replicating.clear()
                rid = self._replicating[(user, key)] = checkpoint[0][:200]
                # A replication's first push reads no checkpoint (there is none yet): the one it
                # writes after its batch names the receipts still waiting for one.
                for waiting in self._awaiting.pop((user, key), ()):
                    waiting[5] = rid
            found = self._pending.get((user, key))
            if found is None:
                self._pending[(user, key)] = entry
            else:
                found.merge(entry)
        if self.flush_seconds <= 0:
            self.flush()
        else:
            self._ensure_flusher()

    def received(self, user: str, revisions: list[tuple[str, str]], sender: Sender) -> None:
        """Revisions ``(doc id, rev)`` the write gate stored from ``user``: each gets its receipt
        (``sync.replica.receipts``) with the next write of the log."""
        if not revisions:
            return
        self.store.ensure(RECEIPTS_SCOPE)  # on the request's path, as in record()
        stamp = now()
        key = device_key(sender.device_id, sender.user_agent)
        with self._lock:
            replication = self._replicating.get((user, key)) if sender.via == "sync" else None
            made = [[user, docid, rev, sender, stamp, replication] for docid, rev in revisions]
            self._receipts.extend(made)
            if sender.via == "sync" and replication is None:
                self._awaiting.setdefault((user, key), []).extend(made)
        if self.flush_seconds <= 0:
            self.flush()
        else:
            self._ensure_flusher()

    # -- writing ----------------------------------------------------------------------
    def _ensure_flusher(self) -> None:
        # One thread per process, made again after a fork (gunicorn's workers).
        flusher = self._flusher
        if flusher is not None and flusher[0] == os.getpid() and flusher[1].is_alive():
            return
        with self._lock:
            flusher = self._flusher
            if flusher is not None and flusher[0] == os.getpid() and flusher[1].is_alive():
                return
            thread = threading.Thread(target=_flush_forever, args=(weakref.ref(self),), daemon=True,
                                      name="fieldsync-synclog")
            self._flusher = (os.getpid(), thread)
            thread.start()
            _at_exit(self)

    def flush(self, *, everything: bool = False) -> None:
        """Write what was counted and not yet written (in this process). A receipt of a pushed
        revision whose push checkpoint has not come yet waits for it up to ``RECEIPT_WAIT``
        seconds (``everything``: not at all, the process is exiting)."""
        with self._writing:
            with self._lock:
                batch, self._pending = self._pending, {}
                receipts, self._receipts = self._receipts, []
                if not everything:
                    young = now() - timedelta(seconds=RECEIPT_WAIT)
                    waiting = {id(r) for rs in self._awaiting.values() for r in rs if r[4] > young}
                    self._receipts = [r for r in receipts if id(r) in waiting]
                    receipts = [r for r in receipts if id(r) not in waiting]
                    self._awaiting = {k: kept for k, rs in self._awaiting.items()
                                      if (kept := [r for r in rs if id(r) in waiting])}
                else:
                    self._awaiting = {}
            if receipts:
                try:
                    self._write_receipts(receipts, batch)
                except Exception:
                    if self._failures < MAX_FAILURES:
                        with self._lock:  # kept for the next write, before the sessions' turn
                            self._receipts[:0] = receipts[:MAX_RECEIPTS]
                    if not batch:
                        self._failures += 1
                        raise
                    log.exception("sync log: receipts not written")
                else:
                    if not batch:
                        self._failures = 0
            if not batch:
                return
            left = batch
            try:
                left = self._write(batch)
            finally:
                self._failures = self._failures + 1 if left else 0
                if left and self._failures <= MAX_FAILURES:  # kept for the next write
                    with self._lock:
                        for k, entry in left.items():
                            found = self._pending.pop(k, None)
                            if found is not None:
                                entry.merge(found)
                            self._pending[k] = entry

    def _write(self, batch: dict[tuple[str, str], _Pending], attempts: int = 3) -> dict:
        """One read of the open sessions concerned, one batch write; what conflicted is retried."""
        db = self.store.open(SYNCLOG_SCOPE)
        for _ in range(attempts):
            ids = {f"cur:{user}:{key}": (user, key) for user, key in batch}
            current = {row["id"]: row["doc"] for row in db.all_docs(keys=list(ids), include_docs=True)
                       if row.get("doc")}
            docs, closed = [], []
            for cur_id, k in ids.items():
                doc, old = self._apply(cur_id, current.get(cur_id), batch[k])
                docs.append(doc)
                if old is not None:
                    closed.append(old)
            if closed:
                have = {row["id"] for row in db.all_docs(keys=[d["_id"] for d in closed]) if "value" in row}
                docs.extend(d for d in closed if d["_id"] not in have)
            results = db.bulk_docs([check_doc(doc, new_edits=True) for doc in docs], new_edits=True)
            self._remember_written(docs, results)
            retry = {ids[r["id"]] for r in results if r.get("error") == "conflict" and r["id"] in ids}
            batch = {k: batch[k] for k in retry}
            if not batch:
                return {}
        return batch

    def _write_receipts(self, receipts: list[list],
                        pending: dict[tuple[str, str], _Pending]) -> None:
        """One receipt per revision; a revision that has one keeps it (the first sender)."""
        # A receipt whose push began in another process: the device's push checkpoints as the log knows them.
        synced = {(user, device_key(s.device_id, s.user_agent)) for user, _, _, s, _, rep in receipts
                  if s.via == "sync" and rep is None}
        checkpoints: dict[tuple[str, str], dict] = {}
        if synced:  # the devices' replications as the log knows them
            db = self.store.open(SYNCLOG_SCOPE)
            for row in db.all_docs(keys=[f"cur:{u}:{k}" for u, k in sorted(synced)], include_docs=True):
                doc = row.get("doc")
                if doc:
                    checkpoints[(doc.get("user"), doc.get("device_key"))] = dict(doc.get("checkpoints") or {})
        for (u, k), entry in pending.items():  # this write's requests, not yet in the log
            if (u, k) in synced:
                known = checkpoints.setdefault((u, k), {})
                for rid, info in entry.checkpoints.items():
                    known[rid] = {"direction": info["direction"] or (known.get(rid) or {}).get("direction"),
                                  "at": info["at"]}
        docs = {}
        for user, docid, rev, sender, at, replication in receipts:
            key = device_key(sender.device_id, sender.user_agent) if sender.via == "sync" else None
            stamp = _iso(at)
            if key and replication is None:
                replication = pick_replication(checkpoints.get((user, key), {}), stamp)
            docs.setdefault((docid, rev), receipt(user, docid, rev, sender, stamp, key, replication))
        db = self.store.open(RECEIPTS_SCOPE)
        written = list(docs.values())
        results = db.bulk_docs([check_doc(d, new_edits=True) for d in written], new_edits=True)
        self._remember_written(written, results, self._receipts_written)
        for result in results:
            if result.get("error") not in (None, "conflict"):  # a conflict: it has its receipt already
                raise RuntimeError(f"receipt {result.get('id')}: {result.get('reason')}")

    def _apply(self, cur_id: str, doc: dict | None, entry: _Pending) -> tuple[dict, dict | None]:
        """The open session after ``entry``, and the session it closed (if a pause ended one)."""
        doc = dict(doc) if doc else {"_id": cur_id}
        closed = None
        last = parse_iso(doc.get("last_at"))
        if last is not None and entry.first - last > self.gap:
            closed = {k: v for k, v in doc.items() if not k.startswith("_") and k not in DEVICE_FIELDS}
            closed["_id"] = f"log:{entry.user}:{doc.get('started_at')}:{entry.key}"
            closed["type"] = "sync_session"
            # The open session starts again; what is about the device, not the session, goes on.
            doc = {"_id": cur_id, "_rev": doc["_rev"], **{k: v for k, v in doc.items() if k in DEVICE_FIELDS}}
        if "started_at" not in doc:
            doc.update(started_at=_iso(entry.first), read=0, written=0, refused=0, requests=0)
        doc.update(type="sync_session", user=entry.user, device=entry.device_id, device_key=entry.key,
                   user_agent=entry.user_agent, last_at=_iso(entry.last))
        doc["read"] += entry.read
        doc["written"] += entry.written
        doc["refused"] += entry.refused
        doc["requests"] += entry.requests
        doc.setdefault("first_seen", _iso(entry.first))
        for total, count in (("total_read", entry.read), ("total_written", entry.written),
                             ("total_refused", entry.refused)):
            doc[total] = doc.get(total, 0) + count
        for name, moment in (("last_push_at", entry.pushed), ("last_pull_at", entry.pulled)):
            if moment is not None and _iso(moment) > (doc.get(name) or ""):
                doc[name] = _iso(moment)
        if entry.refusals:
            doc["last_refusals"] = (list(entry.refusals)[::-1] + list(doc.get("last_refusals") or []))[:MAX_REFUSALS]
        if entry.checkpoints:
            seen = dict(doc.get("checkpoints") or {})
            for rid, info in entry.checkpoints.items():
                before = seen.get(rid) or {}
                seen[rid] = {"direction": info["direction"] or before.get("direction"),
                             "at": max(info["at"], before.get("at", ""))}
            newest = sorted(seen, key=lambda r: seen[r]["at"], reverse=True)[:MAX_CHECKPOINTS]
            doc["checkpoints"] = {r: seen[r] for r in newest}
        return doc, closed

    def _remember_written(self, docs: list[dict], results: list[dict],
                          into: dict[str, tuple[dict, float]] | None = None) -> None:
        written = self._written if into is None else into
        clock = time.monotonic()
        with self._lock:
            for doc, result in zip(docs, results, strict=True):
                if "rev" in result and "error" not in result:
                    written[doc["_id"]] = ({**doc, "_rev": result["rev"]}, clock)
            if len(written) > 1000:
                for i in [i for i, (_, at) in written.items() if clock - at >= OWN_WRITES_SECONDS]:
                    del written[i]

    def _with_own_writes(self, prefix: str) -> Iterator[dict]:
        """The log's documents under ``prefix``, with what this process wrote in the last
        ``OWN_WRITES_SECONDS`` laid over them.

        A reader in this process flushes first, then reads; on a CouchDB cluster that read
        may be answered by a copy that has not got the write yet (tens of milliseconds),
        and the request just counted would be missing from the coordinator's page.
        """
        mine = self._recent(self._written, prefix)
        for doc in records.iter_docs(self.store.ensure(SYNCLOG_SCOPE), prefix):
            own = mine.pop(doc["_id"], None)
            yield own if own is not None and rev_gen(own["_rev"]) > rev_gen(doc["_rev"]) else doc
        yield from (mine[i] for i in sorted(mine))

    def _recent(self, written: dict[str, tuple[dict, float]], prefix: str) -> dict[str, dict]:
        """What this process wrote under ``prefix`` in the last ``OWN_WRITES_SECONDS``, by id."""
        clock = time.monotonic()
        with self._lock:
            return {i: doc for i, (doc, at) in written.items()
                    if i.startswith(prefix) and clock - at < OWN_WRITES_SECONDS}

    # -- reading ----------------------------------------------------------------------
    def sessions(self, user: str | None = None) -> Iterator[dict]:
        self.flush()
        for prefix in ("cur:", "log:"):
            yield from self._with_own_writes(prefix + (f"{user}:" if user else ""))

    def devices(self, user: str) -> list[dict]:
        """The user's devices (their ``cur:`` records), including what is not yet written."""
        self.flush()
        return list(self._with_own_writes(f"cur:{user}:"))

    def receipts(self, docid: str) -> dict[str, dict]:
        """Who sent each revision of ``docid`` and when, by revision (what is pending included:
        a receipt still waiting for its push checkpoint is shown as it stands)."""
        self.flush()
        found = of_document(self.store, docid)
        # What this process wrote a moment ago, which a cluster's copy may not have yet.
        for doc in self._recent(self._receipts_written, receipt_id(docid, "")).values():
            found.setdefault(doc["rev"], doc)
        with self._lock:
            waiting = [list(r) for r in self._receipts if r[1] == docid and r[2] not in found]
        for user, _, rev, sender, at, replication in waiting:
            key = device_key(sender.device_id, sender.user_agent) if sender.via == "sync" else None
            found.setdefault(rev, receipt(user, docid, rev, sender, _iso(at), key, replication))
        return found

    def last_sync(self) -> dict[str, str]:
        """Each user's latest push or pull (a device's open record holds its latest)."""
        self.flush()
        out: dict[str, str] = {}
        for doc in self._with_own_writes("cur:"):
            u, at = doc.get("user"), last_synced(doc)
            if u and at and at > out.get(u, ""):
                out[u] = at
        return out


def last_synced(device: dict) -> str | None:
    """When a device last pushed or pulled; records made before pushes and pulls were
    told apart know only their last request."""
    if "first_seen" not in device:
        return device.get("last_at")
    return max(device.get("last_push_at") or "", device.get("last_pull_at") or "") or None


def _flush_forever(ref: weakref.ref[SyncLog]) -> None:
    while True:
        synclog = ref()
        if synclog is None:
            return
        interval = synclog.flush_seconds
        wake = synclog._wake
        del synclog
        wake.wait(interval)
        synclog = ref()
        if synclog is None:
            return
        try:
            synclog.flush()
        except Exception:  # the log is bookkeeping; the next round tries again
            log.exception("sync log write failed")
        del synclog


def _at_exit(synclog: SyncLog) -> None:
    ref = weakref.ref(synclog)

    def write_rest() -> None:
        found = ref()
        if found is not None:
            try:
                found.flush(everything=True)
            except Exception:  # noqa: BLE001 - exiting; nothing more can be done
                log.exception("sync log: last write failed")

    atexit.register(write_rest)
