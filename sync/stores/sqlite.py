"""The embedded Store: one SQLite file per scope, WAL mode.

Why it is shaped this way:

* ``docs`` holds one row per document: its revision tree, its leaves (winner
  first) and the sequence of its latest change. The changes feed is simply the
  ``docs`` rows ordered by ``seq``, so a document appears once, at its newest
  change, as CouchDB's feed does.
* Only leaf revisions keep a body (``revs``); a revision that gets a child loses
  its body, as after CouchDB's compaction, so storage follows live data.
* Attachment bytes live once per digest in ``atts`` with a reference count, so
  a photo carried through many revisions is stored once.
* Each ``bulk_docs`` batch is one ``BEGIN IMMEDIATE`` transaction with
  ``synchronous=FULL``: when the client hears ``201``, the batch is on disk.
  Copying the log into the file is left to a thread (``sqlite_checkpoint``).
"""

from __future__ import annotations

import os
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from sync.docs import md5_digest
from sync.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from sync.revtree import DEFAULT_REVS_LIMIT, RevTree, new_rev_id, parse_rev, rev_gen
from sync.scopes import check_scope_name
from sync.stores.base import Changes, Database, Doc, Store, bulk_get_result
from sync.stores.sqlite_checkpoint import Checkpointer

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS docs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    tree BLOB NOT NULL,
    leaves BLOB NOT NULL,
    deleted INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revs (
    id TEXT NOT NULL,
    rev TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (id, rev)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS atts (
    digest TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    refs INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS local (id TEXT PRIMARY KEY, rev INTEGER NOT NULL, body BLOB NOT NULL)
    WITHOUT ROWID;
"""

PAGE = 500
_dumps = orjson.dumps
_loads = orjson.loads


@dataclass(frozen=True)
class _FeedRead:
    """What a changes read shows of each row."""

    style: str
    include_docs: bool
    conflicts: bool
    attachments: bool
    doc_ids: list[str] | None


class _Notifier:
    """Wakes in-process long-polls on commit; other processes are polled."""

    def __init__(self) -> None:
        self.cond = threading.Condition()

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def wait(self, timeout: float) -> None:
        with self.cond:
            self.cond.wait(timeout)


# Bodies live in WITHOUT ROWID tables, which keep at most about a quarter of
# a page in the row itself: with SQLite's 4 KB pages a 1.2 KB submission put
# its last few hundred bytes on an overflow page of its own, so a scope took
# 2.7 times the room of its documents and each pushed batch wrote that many
# more pages. 8 KB pages keep bodies up to 2 KB whole (bench/sqlite_commit.py).
# Files made before keep the page size they were made with.
PAGE_SIZE = 8192


class SQLiteDatabase(Database):
    def __init__(self, store: SQLiteStore, name: str, path: Path):
        self.store = store
        self.name = name
        self.path = path
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._notifier = _Notifier()
        self.revs_limit = DEFAULT_REVS_LIMIT
        self.page_size = PAGE  # rows per read transaction of a changes read
        self._epoch: str | None = None

    # -- connections -------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA wal_autocheckpoint=0")  # sync.stores.sqlite_checkpoint does it, off the request
        return conn

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._connect()
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._pool.put(conn)

    @contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``durable=False`` skips the fsync of this commit.

        Documents are always durable: a replica moves its checkpoint once it
        hears 201. ``_local`` checkpoints need not be: losing the last one to a
        power cut only means the replica re-reads a batch, and the next durable
        commit syncs the log with them in it. That saves an fsync per batch.
        """
        with self._conn() as conn:
            if not durable:
                conn.execute("PRAGMA synchronous=NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                if not durable:
                    conn.execute("PRAGMA synchronous=FULL")
        self.store.checkpoints.wrote(self.path)
        self._notifier.notify()
        self.store._any_change.notify()

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return

    def _meta(self, conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
        row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    # -- database ----------------------------------------------------------
    def info(self) -> dict:
        with self._conn() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        size = sum(os.path.getsize(p) for p in _files(self.path) if p.exists())
        return {
            "db_name": self.name,
            "doc_count": meta.get("doc_count", 0),
            "doc_del_count": meta.get("doc_del_count", 0),
            "update_seq": meta.get("update_seq", 0),
            "purge_seq": 0,
            "compact_running": False,
            "sizes": {"file": size, "active": size, "external": size},
            "disk_format_version": 8,
            "instance_start_time": "0",
            "uuid": meta.get("uuid"),
        }

    def epoch(self) -> str:
        # The uuid written when the file was created: a recreated scope is a new epoch.
        if self._epoch is None:
            with self._conn() as conn:
                self._epoch = str(self._meta(conn, "uuid", ""))[:12]
        return self._epoch

    def update_seq(self) -> int:
        with self._conn() as conn:
            return self._meta(conn, "update_seq", 0)

    def parse_since(self, value: Any) -> int:
        if value is None or value == "":
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            seq = value
        elif isinstance(value, str):
            head = value.split("-", 1)[0]
            if not (head.isascii() and head.isdigit()):
                raise BadRequest(f"Invalid since sequence: {value[:60]!r}")
            seq = int(head)
        else:
            raise BadRequest("Invalid since sequence")
        return min(max(seq, 0), (1 << 63) - 1)  # SQLite integers are 64-bit

    # -- writes ------------------------------------------------------------
    def bulk_docs(self, docs: list[Doc], *, new_edits: bool = True) -> list[dict]:
        results: list[dict] = []
        with self._write() as conn:
            state = _BatchState(conn, self.revs_limit)
            ids = list({d["_id"] for d in docs})
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for docid, tree, deleted in conn.execute(
                    f"SELECT id, tree, deleted FROM docs WHERE id IN ({marks})", chunk
                ):
                    state.trees[docid] = RevTree.from_json(_loads(tree))
                    state.was_deleted[docid] = bool(deleted)
            for doc in docs:
                try:
                    if new_edits:
                        results.append(state.edit(doc))
                    else:
                        state.replicate(doc)
                except (Conflict, PreconditionFailed, BadRequest, NotFound) as exc:
                    results.append({"id": doc["_id"], "error": exc.error, "reason": exc.reason})
            state.flush()
        return results

    # -- reads -------------------------------------------------------------
    def _load(self, conn: sqlite3.Connection, docid: str) -> tuple[RevTree, int] | None:
        row = conn.execute("SELECT tree, seq FROM docs WHERE id=?", (docid,)).fetchone()
        if row is None:
            return None
        return RevTree.from_json(_loads(row[0])), row[1]

    def _body(self, conn: sqlite3.Connection, docid: str, rev: str) -> dict | None:
        row = conn.execute("SELECT body FROM revs WHERE id=? AND rev=?", (docid, rev)).fetchone()
        return _loads(row[0]) if row else None

    def _att_data(self, conn: sqlite3.Connection, digest: str) -> bytes:
        row = conn.execute("SELECT data FROM atts WHERE digest=?", (digest,)).fetchone()
        if row is None:  # pragma: no cover - refcounts keep this from happening
            raise NotFound(f"attachment data {digest} is missing")
        return row[0]

    def _render(
        self,
        conn: sqlite3.Connection,
        docid: str,
        rev: str,
        tree: RevTree,
        body: dict,
        *,
        revs: bool = False,
        revs_info: bool = False,
        conflicts: bool = False,
        deleted_conflicts: bool = False,
        attachments: bool = False,
        atts_since: list[str] | None = None,
        local_seq: int | None = None,
    ) -> Doc:
        doc: Doc = {"_id": docid, "_rev": rev}
        doc.update(body)
        if tree.is_deleted(rev):
            doc["_deleted"] = True
        atts = doc.get("_attachments")
        if atts:
            since_pos = _atts_since_pos(tree, rev, atts_since) if attachments else None
            rendered = {}
            for name, meta in atts.items():
                meta = dict(meta)
                if attachments and meta["revpos"] > (since_pos or 0):
                    meta["data"] = self._att_data(conn, meta["digest"])
                else:
                    meta["stub"] = True
                rendered[name] = meta
            doc["_attachments"] = rendered
        if conflicts:
            c = tree.conflicts()
            if c:
                doc["_conflicts"] = c
        if deleted_conflicts:
            c = tree.deleted_conflicts()
            if c:
                doc["_deleted_conflicts"] = c
        if revs:
            path = tree.ancestry(rev)
            doc["_revisions"] = {"start": rev_gen(rev), "ids": [r.split("-", 1)[1] for r in path]}
        if revs_info:
            info = []
            for r in tree.ancestry(rev):
                if tree.is_deleted(r):
                    status = "deleted"
                elif r == rev or tree.is_leaf(r):
                    status = "available"
                else:
                    status = "missing"
                info.append({"rev": r, "status": status})
            doc["_revs_info"] = info
        if local_seq is not None:
            doc["_local_seq"] = local_seq
        return doc

    def get(
        self,
        docid: str,
        *,
        rev: str | None = None,
        revs: bool = False,
        revs_info: bool = False,
        conflicts: bool = False,
        deleted_conflicts: bool = False,
        attachments: bool = False,
        atts_since: list[str] | None = None,
        local_seq: bool = False,
    ) -> Doc:
        with self._conn() as conn:
            loaded = self._load(conn, docid)
            if loaded is None:
                raise NotFound("missing")
            tree, seq = loaded
            if rev is None:
                rev, deleted = tree.winner()
                if deleted:
                    raise NotFound("deleted")
            else:
                parse_rev(rev)
            body = self._body(conn, docid, rev)
            if body is None:
                raise NotFound("missing")
            return self._render(
                conn, docid, rev, tree, body, revs=revs, revs_info=revs_info,
                conflicts=conflicts, deleted_conflicts=deleted_conflicts,
                attachments=attachments, atts_since=atts_since,
                local_seq=seq if local_seq else None,
            )

    def open_revs(
        self,
        docid: str,
        revs: list[str] | None,
        *,
        latest: bool = False,
        revisions: bool = False,
        attachments: bool = False,
        atts_since: list[str] | None = None,
    ) -> list[dict]:
        with self._conn() as conn:
            loaded = self._load(conn, docid)
            if loaded is None:
                if revs is None:
                    raise NotFound("missing")
                return [{"missing": r} for r in revs]
            tree, _ = loaded
            if revs is None:
                wanted = [r for r, _ in tree.leaves()]
            else:
                wanted = []
                for r in revs:
                    parse_rev(r)
                    if latest and r in tree:
                        wanted.extend(x for x in tree.leaves_under(r) if x not in wanted)
                    else:
                        wanted.append(r)
            out = []
            for r in wanted:
                body = self._body(conn, docid, r) if r in tree else None
                if body is None:
                    out.append({"missing": r})
                else:
                    out.append({"ok": self._render(
                        conn, docid, r, tree, body, revs=revisions,
                        attachments=attachments, atts_since=atts_since,
                    )})
            return out

    def _load_many(self, conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, RevTree]:
        ids = list(dict.fromkeys(ids))
        trees: dict[str, RevTree] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for docid, tree in conn.execute(f"SELECT id, tree FROM docs WHERE id IN ({marks})", chunk):
                trees[docid] = RevTree.from_json(_loads(tree))
        return trees

    def _bodies(self, conn: sqlite3.Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        out: dict[tuple[str, str], dict] = {}
        for i in range(0, len(keys), 400):
            chunk = keys[i : i + 400]
            marks = ",".join("(?,?)" for _ in chunk)
            flat = [x for key in chunk for x in key]
            # A join, not "(id, rev) IN (VALUES ...)": SQLite answers that row-value
            # IN with a scan of the whole table, which made every read of a batch
            # cost as much as the scope is big.
            for docid, rev, body in conn.execute(
                f"WITH k(id, rev) AS (VALUES {marks}) "
                "SELECT r.id, r.rev, r.body FROM k CROSS JOIN revs r ON r.id = k.id AND r.rev = k.rev", flat
            ):
                out[(docid, rev)] = _loads(body)
        return out

    def revs_diff(self, request: dict[str, list[str]]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        with self._conn() as conn:
            trees = self._load_many(conn, request)
        for docid, revs in request.items():
            tree = trees.get(docid)
            if tree is None:
                out[docid] = {"missing": list(dict.fromkeys(revs))}
                continue
            missing = list(dict.fromkeys(tree.missing(revs)))
            if missing:
                entry: dict = {"missing": missing}
                top = max(missing, key=rev_gen)
                anc = tree.possible_ancestors(top)
                if anc:
                    entry["possible_ancestors"] = anc
                out[docid] = entry
        return out

    def bulk_get(
        self,
        items: list[dict],
        *,
        revisions: bool = False,
        attachments: bool = False,
        latest: bool = False,
    ) -> Iterator[dict]:
        for start in range(0, len(items), 200):
            chunk = items[start : start + 200]
            with self._conn() as conn:
                trees = self._load_many(conn, (item["id"] for item in chunk))
                plans: list[tuple[dict, list[str]]] = []
                for item in chunk:
                    tree, rev = trees.get(item["id"]), item.get("rev")
                    if tree is None:
                        wanted = [rev or "undefined"]
                    elif rev is None:
                        wanted = [tree.winner()[0]]
                    elif latest and rev in tree:
                        wanted = tree.leaves_under(rev)
                    else:
                        wanted = [rev]
                    plans.append((item, wanted))
                bodies = self._bodies(conn, [
                    (item["id"], r) for item, wanted in plans for r in wanted if item["id"] in trees
                ])
                results = []
                for item, wanted in plans:
                    docid = item["id"]
                    tree = trees.get(docid)
                    found = []
                    for r in wanted:
                        body = bodies.get((docid, r))
                        if body is None or tree is None:
                            found.append({"missing": r})
                        elif item.get("rev") is None and tree.is_deleted(r):
                            found.append({"missing": "undefined", "reason": "deleted"})
                        else:
                            found.append({"ok": self._render(
                                conn, docid, r, tree, body, revs=revisions,
                                attachments=attachments, atts_since=item.get("atts_since"),
                            )})
                    results.append(bulk_get_result(docid, found))
            yield from results

    def get_attachment(self, docid: str, name: str, rev: str | None = None) -> tuple[dict, bytes]:
        doc = self.get(docid, rev=rev)
        meta = (doc.get("_attachments") or {}).get(name)
        if meta is None:
            raise NotFound("Document is missing attachment")
        with self._conn() as conn:
            data = self._att_data(conn, meta["digest"])
        return {k: v for k, v in meta.items() if k != "stub"}, data

    # -- feeds -------------------------------------------------------------
    def changes(
        self,
        since: Any = 0,
        *,
        limit: int | None = None,
        style: str = "main_only",
        include_docs: bool = False,
        conflicts: bool = False,
        attachments: bool = False,
        doc_ids: Iterable[str] | None = None,
        descending: bool = False,
        timeout: float | None = None,
    ) -> Changes:
        opts = _FeedRead(style, include_docs, conflicts, attachments,
                         list(doc_ids) if doc_ids is not None else None)
        since = self.parse_since(since)
        if descending:
            return Changes(self._descending(since, limit, opts))
        return Changes(self._ascending(since, limit, opts, timeout))

    def _ascending(self, since: int, limit: int | None, opts: _FeedRead,
                   timeout: float | None) -> Generator[dict, None, int]:
        """Pages of rows, each page and its sequence read in one read transaction.

        Writers take the write lock before they number a change and commit
        before the next one numbers its own, so a read transaction that sees
        ``update_seq`` = N sees every change up to N. A page that comes up
        short of its size has therefore listed everything up to the
        ``update_seq`` read with it: that is ``last_seq``, whatever the filter
        passed over. A read that fills ``limit`` ends at its last row.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor, listed = since, 0
        while True:
            size = self.page_size if limit is None else min(self.page_size, limit - listed)
            if size <= 0:
                return cursor  # the limit is filled: the read ends at its last row
            rows, seen = self._page(cursor, size, opts)
            yield from rows
            if rows:
                cursor = rows[-1]["seq"]
                listed += len(rows)
            if len(rows) == size:
                continue  # a full page: there may be more
            cursor = max(cursor, seen)
            if listed or deadline is None:
                return cursor
            left = deadline - time.monotonic()
            if left <= 0 or not self._wait_past(cursor, left):
                return cursor

    def _page(self, after: int, size: int, opts: _FeedRead) -> tuple[list[dict], int]:
        """Up to ``size`` rows after ``after`` and the ``update_seq`` of the same snapshot."""
        ids = opts.doc_ids
        with self._conn() as conn:
            conn.execute("BEGIN")
            try:
                if ids is not None:
                    marks = ",".join("?" * len(ids)) or "NULL"
                    found = conn.execute(
                        f"SELECT id, seq, leaves, deleted FROM docs WHERE id IN ({marks}) AND seq > ? "
                        "ORDER BY seq LIMIT ?", [*ids, after, size],
                    ).fetchall()
                else:
                    found = conn.execute(
                        "SELECT id, seq, leaves, deleted FROM docs WHERE seq > ? ORDER BY seq LIMIT ?",
                        (after, size),
                    ).fetchall()
                rows = [self._change_row(conn, found_row, opts) for found_row in found]
                seen = self._meta(conn, "update_seq", 0)
            finally:
                conn.execute("COMMIT")
        return rows, seen

    def _descending(self, since: int, limit: int | None,
                    opts: _FeedRead) -> Generator[dict, None, int]:
        """Newest first down to ``since``; ``last_seq`` is the oldest row's (CouchDB's rule)."""
        ids = opts.doc_ids
        bound, last, remaining = 1 << 62, since, limit
        while remaining is None or remaining > 0:
            size = self.page_size if remaining is None else min(self.page_size, remaining)
            with self._conn() as conn:
                if ids is not None:
                    marks = ",".join("?" * len(ids)) or "NULL"
                    found = conn.execute(
                        f"SELECT id, seq, leaves, deleted FROM docs WHERE id IN ({marks}) "
                        "AND seq < ? AND seq > ? ORDER BY seq DESC LIMIT ?", [*ids, bound, since, size],
                    ).fetchall()
                else:
                    found = conn.execute(
                        "SELECT id, seq, leaves, deleted FROM docs WHERE seq < ? AND seq > ? "
                        "ORDER BY seq DESC LIMIT ?", (bound, since, size),
                    ).fetchall()
                rows = [self._change_row(conn, found_row, opts) for found_row in found]
            yield from rows
            if rows:
                bound = last = rows[-1]["seq"]
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < size:
                break
        return last

    def _change_row(self, conn: sqlite3.Connection, found: tuple, opts: _FeedRead) -> dict:
        docid, seq, leaves_blob, deleted = found
        leaves = _loads(leaves_blob)
        revs = leaves if opts.style == "all_docs" else leaves[:1]
        row: dict = {"seq": seq, "id": docid, "changes": [{"rev": r} for r, _ in revs]}
        if deleted:
            row["deleted"] = True
        if opts.include_docs:
            tree = RevTree.from_json(
                _loads(conn.execute("SELECT tree FROM docs WHERE id=?", (docid,)).fetchone()[0])
            )
            winner = leaves[0][0]
            body = self._body(conn, docid, winner) or {}
            row["doc"] = self._render(conn, docid, winner, tree, body, conflicts=opts.conflicts,
                                      attachments=opts.attachments)
        return row

    def _wait_past(self, seq: int, timeout: float) -> bool:
        """Sleep until a change after ``seq`` is committed (True) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if self.update_seq() > seq:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # Other processes (gunicorn workers) write too: poll at least twice a second.
            self._notifier.wait(min(left, 0.5))

    def all_docs(
        self,
        *,
        keys: list[str] | None = None,
        startkey: str | None = None,
        endkey: str | None = None,
        inclusive_end: bool = True,
        descending: bool = False,
        limit: int | None = None,
        skip: int = 0,
        include_docs: bool = False,
        conflicts: bool = False,
        attachments: bool = False,
    ) -> Iterator[dict]:
        if keys is not None:
            yield from self._all_docs_keys(keys, include_docs, conflicts, attachments)
            return
        remaining = limit if limit is not None else -1
        to_skip = skip
        cursor, first = startkey, True
        while remaining != 0:
            clauses, params = ["deleted=0"], []
            lo, hi = (">", "<") if not descending else ("<", ">")
            if cursor is not None:
                clauses.append(f"id {lo}{'=' if first else ''} ?")
                params.append(cursor)
            if endkey is not None:
                clauses.append(f"id {hi}{'=' if inclusive_end else ''} ?")
                params.append(endkey)
            page = PAGE if remaining < 0 else min(PAGE, remaining + to_skip)
            order = "DESC" if descending else "ASC"
            with self._conn() as conn:
                rows = conn.execute(
                    f"SELECT id, leaves FROM docs WHERE {' AND '.join(clauses)} ORDER BY id {order} LIMIT ?",
                    [*params, page],
                ).fetchall()
                out = []
                for docid, leaves_blob in rows:
                    if to_skip:
                        to_skip -= 1
                        continue
                    if remaining == 0:
                        break
                    rev = _loads(leaves_blob)[0][0]
                    row: dict = {"id": docid, "key": docid, "value": {"rev": rev}}
                    if include_docs:
                        row["doc"] = self._doc_for_row(conn, docid, rev, conflicts, attachments)
                    out.append(row)
                    if remaining > 0:
                        remaining -= 1
            yield from out
            if len(rows) < page or not rows:
                return
            cursor, first = rows[-1][0], False

    def _doc_for_row(self, conn, docid, rev, conflicts, attachments) -> Doc:
        tree, _ = self._load(conn, docid)
        body = self._body(conn, docid, rev) or {}
        return self._render(conn, docid, rev, tree, body, conflicts=conflicts, attachments=attachments)

    def _winners(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[str, bool]]:
        """Each document's winning revision and whether it is deleted, from its stored leaves."""
        out: dict[str, tuple[str, bool]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for docid, leaves in conn.execute(f"SELECT id, leaves FROM docs WHERE id IN ({marks})", chunk):
                rev, deleted = _loads(leaves)[0]
                out[docid] = (rev, bool(deleted))
        return out

    def _all_docs_keys(self, keys, include_docs, conflicts, attachments) -> Iterator[dict]:
        """Rows for ``keys``, in their order, fetched a page of keys at a time."""
        for start in range(0, len(keys), PAGE):
            chunk = keys[start : start + PAGE]
            with self._conn() as conn:
                wanted = [k for k in chunk if isinstance(k, str)]
                if include_docs and not conflicts and not attachments:
                    out = self._winner_rows(conn, chunk, wanted)
                else:
                    out = self._tree_rows(conn, chunk, wanted, include_docs, conflicts, attachments)
            yield from out  # after the connection is back in the pool

    def _tree_rows(self, conn: sqlite3.Connection, chunk: list, wanted: list[str], include_docs: bool,
                   conflicts: bool, attachments: bool) -> list[dict]:
        """``all_docs`` rows for keys ``chunk`` from the documents' trees, or (without documents)
        from their stored leaves."""
        # Without documents only the winners are needed: the stored leaves (winner
        # first) say them without parsing whole trees (/sync/<user> asks this of
        # every pulled batch, to decide visibility on the winners).
        trees = self._load_many(conn, wanted) if include_docs else self._winners(conn, wanted)
        out = []
        for key in chunk:
            tree = trees.get(key) if isinstance(key, str) else None
            if tree is None:
                out.append({"key": key, "error": "not_found"})
                continue
            rev, deleted = tree.winner() if include_docs else tree
            row: dict = {"id": key, "key": key, "value": {"rev": rev}}
            if deleted:
                row["value"]["deleted"] = True
                if include_docs:
                    row["doc"] = None
            elif include_docs:
                body = self._body(conn, key, rev) or {}
                row["doc"] = self._render(conn, key, rev, tree, body, conflicts=conflicts,
                                          attachments=attachments)
            out.append(row)
        return out

    def _winner_rows(self, conn: sqlite3.Connection, chunk: list, wanted: list[str]) -> list[dict]:
        """``all_docs`` rows with their winners' bodies, for keys ``chunk``: the stored leaves say
        each winner and whether it is deleted, and the bodies come in one read, so no revision
        tree is parsed (a worker's ``/sync/<user>`` pull asks this of the rows it has not seen,
        to decide what the worker may see)."""
        winners = self._winners(conn, wanted)
        bodies = self._bodies(conn, [(d, rev) for d, (rev, deleted) in winners.items() if not deleted])
        out = []
        for key in chunk:
            found = winners.get(key) if isinstance(key, str) else None
            if found is None:
                out.append({"key": key, "error": "not_found"})
                continue
            rev, deleted = found
            row: dict = {"id": key, "key": key, "value": {"rev": rev}}
            if deleted:
                row["value"]["deleted"] = True
                row["doc"] = None
            else:
                doc: Doc = {"_id": key, "_rev": rev}
                doc.update(bodies.get((key, rev)) or {})
                atts = doc.get("_attachments")
                if atts:
                    doc["_attachments"] = {name: {**meta, "stub": True} for name, meta in atts.items()}
                row["doc"] = doc
            out.append(row)
        return out

    # -- _local ------------------------------------------------------------
    def get_local(self, docid: str) -> Doc:
        with self._conn() as conn:
            row = conn.execute("SELECT rev, body FROM local WHERE id=?", (docid,)).fetchone()
        if row is None:
            raise NotFound("missing")
        doc = {"_id": f"_local/{docid}", "_rev": f"0-{row[0]}"}
        doc.update(_loads(row[1]))
        return doc

    def put_local(self, docid: str, body: Doc) -> str:
        given = body.get("_rev")
        clean = {k: v for k, v in body.items() if not k.startswith("_")}
        with self._write(durable=False) as conn:
            row = conn.execute("SELECT rev FROM local WHERE id=?", (docid,)).fetchone()
            current = row[0] if row else 0
            if row is not None and given != f"0-{current}":
                raise Conflict()
            if row is None and given not in (None, "0-0"):
                raise Conflict()
            conn.execute(
                "INSERT OR REPLACE INTO local (id, rev, body) VALUES (?, ?, ?)",
                (docid, current + 1, _dumps(clean)),
            )
        return f"0-{current + 1}"

    def local_docs(self) -> Iterator[Doc]:
        cursor = ""
        while True:
            with self._conn() as conn:
                rows = conn.execute(
                    "SELECT id, rev, body FROM local WHERE id > ? ORDER BY id LIMIT ?", (cursor, PAGE)
                ).fetchall()
            for docid, rev, body in rows:
                yield {"_id": f"_local/{docid}", "_rev": f"0-{rev}", **_loads(body)}
            if len(rows) < PAGE:
                return
            cursor = rows[-1][0]

    def delete_local(self, docid: str, rev: str | None) -> str:
        with self._write(durable=False) as conn:
            row = conn.execute("SELECT rev FROM local WHERE id=?", (docid,)).fetchone()
            if row is None:
                raise NotFound("missing")
            if rev != f"0-{row[0]}":
                raise Conflict()
            conn.execute("DELETE FROM local WHERE id=?", (docid,))
        return "0-0"


def _atts_since_pos(tree: RevTree, rev: str, atts_since: list[str] | None) -> int | None:
    """The generation of the newest ``atts_since`` revision that is an ancestor of ``rev``.

    Attachments with a revpos at or below it are already on the client.
    """
    if not atts_since:
        return None
    ancestry = set(tree.ancestry(rev))
    known = [rev_gen(r) for r in atts_since if r in ancestry]
    return max(known) if known else None


def _files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


class _BatchState:
    """The documents of one ``bulk_docs`` batch, applied inside its transaction."""

    def __init__(self, conn: sqlite3.Connection, revs_limit: int):
        self.conn = conn
        self.revs_limit = revs_limit
        self.trees: dict[str, RevTree] = {}
        self.was_deleted: dict[str, bool] = {}
        self.dirty: dict[str, None] = {}
        self.pending: dict[tuple[str, str], dict] = {}
        self.new_digests: set[str] = set()  # bytes this batch wrote, referenced or not
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        self.seq = meta.get("update_seq", 0)
        self.doc_count = meta.get("doc_count", 0)
        self.del_count = meta.get("doc_del_count", 0)

    # new_edits=true: the server makes the revision
    def edit(self, doc: Doc) -> dict:
        docid = doc["_id"]
        tree = self.trees.get(docid)
        given = doc.get("_rev")
        deleted = bool(doc.get("_deleted"))
        if tree is None or not len(tree):
            if given is not None:
                raise Conflict()
            parent = None
        else:
            winner, all_deleted = tree.winner()
            if all_deleted:
                # CouchDB's merge_rev_tree: a deleted document is only recreated,
                # without a _rev, and the new revision extends the deleted winner.
                if given is not None or deleted:
                    raise Conflict()
                parent = winner
            else:
                # Any leaf may be extended, a deleted losing branch included.
                if given is None or not tree.is_leaf(given):
                    raise Conflict()
                parent = given
        body = _user_body(doc)
        atts = self._attachments(doc, [parent] if parent else [], None)
        gen = (rev_gen(parent) + 1) if parent else 1
        for meta in atts.values():
            meta.setdefault("revpos", gen)
        if atts:
            body["_attachments"] = atts
        digest_view = {**body, "_attachments": {k: v["digest"] for k, v in atts.items()}}
        rev = f"{gen}-{new_rev_id(digest_view, parent, deleted)}"
        path = [rev, parent] if parent else [rev]
        if rev in (tree or ()):
            return {"ok": True, "id": docid, "rev": rev}
        self._apply(docid, path, deleted, body)
        return {"ok": True, "id": docid, "rev": rev}

    # new_edits=false: the replica made the revision
    def replicate(self, doc: Doc) -> None:
        docid = doc["_id"]
        path = doc["_revisions"]
        tree = self.trees.get(docid)
        if tree is not None and path[0] in tree:
            return  # already have it: replication is idempotent
        body = _user_body(doc)
        atts = self._attachments(doc, path[1:], rev_gen(path[0]))
        if atts:
            body["_attachments"] = atts
        self._apply(docid, path, bool(doc.get("_deleted")), body)

    def _attachments(self, doc: Doc, ancestors: list[str], default_revpos: int | None) -> dict:
        """Store new attachment bytes and resolve stubs against an ancestor's."""
        given = doc.get("_attachments") or {}
        if not given:
            return {}
        parent_atts: dict | None = None
        out = {}
        for name, att in given.items():
            if att.get("stub"):
                if parent_atts is None:
                    parent_atts = self._ancestor_atts(doc["_id"], ancestors)
                meta = parent_atts.get(name)
                if meta is not None and "revpos" in att and att["revpos"] != meta.get("revpos"):
                    meta = None  # CouchDB: a stub's revpos, when given, must match
                replicated = default_revpos is not None
                if (
                    meta is None
                    and replicated  # an interactive edit's stubs name the parent's attachments
                    and isinstance(att.get("digest"), str)
                    and att["digest"] in self._own_digests(doc["_id"])
                ):
                    # Only leaf bodies are kept, so the ancestor a replicator names may be
                    # gone while its bytes live on in another branch of this same document.
                    # Bytes of other documents are never lent: a digest is no permission.
                    # the stub's metadata comes from the client: keep only what checks out
                    revpos = att.get("revpos")
                    ok = isinstance(revpos, int) and not isinstance(revpos, bool) and 0 < revpos <= default_revpos
                    meta = {
                        "content_type": att.get("content_type") or "application/octet-stream",
                        "digest": att["digest"],
                        "length": len(self._att_bytes(att["digest"])),
                        "revpos": revpos if ok else default_revpos,
                    }
                if meta is None:
                    raise PreconditionFailed(
                        f"Invalid attachment stub in {doc['_id']} for {name}", error="missing_stub"
                    )
                out[name] = dict(meta)
                continue
            data = bytes(att["data"])
            digest = md5_digest(data)
            self.conn.execute(
                "INSERT INTO atts (digest, data, refs) VALUES (?, ?, 0) ON CONFLICT(digest) DO NOTHING",
                (digest, data),
            )
            self.new_digests.add(digest)
            meta = {
                "content_type": att.get("content_type") or "application/octet-stream",
                "digest": digest,
                "length": len(data),
            }
            revpos = att.get("revpos")
            if default_revpos is not None:
                ok = isinstance(revpos, int) and not isinstance(revpos, bool) and 0 < revpos <= default_revpos
                meta["revpos"] = revpos if ok else default_revpos
            out[name] = meta
        return out

    def _own_digests(self, docid: str) -> set[str]:
        """Digests of the attachments the document's current leaves hold."""
        tree = self.trees.get(docid)
        if tree is None or not len(tree):
            return set()
        out = set()
        for rev, _ in tree.leaves():
            body = self.pending.get((docid, rev))
            if body is None:
                row = self.conn.execute("SELECT body FROM revs WHERE id=? AND rev=?", (docid, rev)).fetchone()
                body = _loads(row[0]) if row else {}
            out.update(m["digest"] for m in (body.get("_attachments") or {}).values())
        return out

    def _att_bytes(self, digest: str) -> bytes:
        return self.conn.execute("SELECT data FROM atts WHERE digest=?", (digest,)).fetchone()[0]

    def _ancestor_atts(self, docid: str, ancestors: list[str]) -> dict:
        for rev in ancestors:
            body = self.pending.get((docid, rev))
            if body is None:
                row = self.conn.execute("SELECT body FROM revs WHERE id=? AND rev=?", (docid, rev)).fetchone()
                body = _loads(row[0]) if row else None
            if body is not None:
                return body.get("_attachments") or {}
        return {}

    def _apply(self, docid: str, path: list[str], deleted: bool, body: dict) -> None:
        tree = self.trees.get(docid)
        if tree is None:
            tree = self.trees[docid] = RevTree()
        old_leaves = {r for r, _ in tree.leaves()} if len(tree) else set()
        tree.merge(path, deleted)
        dropped = tree.stem(self.revs_limit)
        # Bodies are written in one executemany at flush; until then they wait here.
        self.pending[(docid, path[0])] = body
        self._ref(body, +1)
        if old_leaves:
            new_leaves = {r for r, _ in tree.leaves()}
            for rev in (old_leaves - new_leaves) | (set(dropped) & old_leaves):
                gone = self.pending.pop((docid, rev), None)
                if gone is None:
                    row = self.conn.execute(
                        "DELETE FROM revs WHERE id=? AND rev=? RETURNING body", (docid, rev)
                    ).fetchone()
                    gone = _loads(row[0]) if row else None
                if gone is not None:
                    self._ref(gone, -1)
        self.dirty[docid] = None

    def _ref(self, body: dict, delta: int) -> None:
        for meta in (body.get("_attachments") or {}).values():
            self.conn.execute("UPDATE atts SET refs = refs + ? WHERE digest=?", (delta, meta["digest"]))
            if delta < 0:
                self.conn.execute("DELETE FROM atts WHERE digest=? AND refs <= 0", (meta["digest"],))

    def flush(self) -> None:
        conn = self.conn
        # Bytes of a document refused after they were written (missing_stub) belong to nobody.
        for digest in self.new_digests:
            conn.execute("DELETE FROM atts WHERE digest=? AND refs <= 0", (digest,))
        self.new_digests.clear()
        if self.pending:
            conn.executemany(
                "INSERT OR REPLACE INTO revs (id, rev, body) VALUES (?, ?, ?)",
                [(docid, rev, _dumps(body)) for (docid, rev), body in self.pending.items()],
            )
        rows = []
        for docid in self.dirty:
            tree = self.trees[docid]
            leaves = tree.leaves()
            deleted = leaves[0][1]
            previously = self.was_deleted.get(docid)
            if previously is None:
                if deleted:
                    self.del_count += 1
                else:
                    self.doc_count += 1
            elif previously != deleted:
                self.doc_count += -1 if deleted else 1
                self.del_count += 1 if deleted else -1
            self.was_deleted[docid] = deleted
            self.seq += 1
            rows.append((docid, self.seq, _dumps(tree.to_json()), _dumps(leaves), int(deleted)))
        if rows:
            conn.executemany(
                "INSERT OR REPLACE INTO docs (id, seq, tree, leaves, deleted) VALUES (?, ?, ?, ?, ?)", rows
            )
            conn.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [("update_seq", self.seq), ("doc_count", self.doc_count), ("doc_del_count", self.del_count)],
            )


def _user_body(doc: Doc) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_")}


class SQLiteStore(Store):
    """Scopes as ``<data_dir>/<scope>.sqlite`` files."""

    def __init__(self, data_dir: str | os.PathLike):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._dbs: dict[str, SQLiteDatabase] = {}
        self._lock = threading.Lock()
        self._any_change = _Notifier()
        self.checkpoints = Checkpointer()

    def wait_for_any_change(self, timeout: float) -> None:
        # Woken by this process's commits; other processes are caught by the cap.
        self._any_change.wait(min(timeout, 0.5))

    def _path(self, name: str) -> Path:
        return self.data_dir / f"{check_scope_name(name)}.sqlite"

    def exists(self, name: str) -> bool:
        try:
            return self._path(name).exists()
        except BadRequest:
            return False

    def open(self, name: str) -> SQLiteDatabase:
        db = self._dbs.get(name)
        if db is not None and os.path.exists(db.path):  # every request opens a few scopes
            return db
        path = self._path(name)
        with self._lock:
            db = self._dbs.get(name)
            if db is not None and path.exists():
                return db
            if not path.exists():
                self._dbs.pop(name, None)
                raise NotFound("Database does not exist.")
            db = self._dbs[name] = SQLiteDatabase(self, name, path)
            return db

    def change_marker(self, names: list[str]) -> tuple:
        # Each scope's sequence moves with every write to it, from any process; the
        # uuid tells a scope deleted and made again.
        marker = []
        for name in names:
            try:
                db = self.open(name)
            except NotFound:
                marker.append(None)
                continue
            marker.append((db.epoch(), db.update_seq()))
        return tuple(marker)

    def ensure(self, name: str) -> SQLiteDatabase:
        # open() already looks at the file; asking exists() first would look twice
        # on every call, and system scopes are ensured on hot paths.
        try:
            return self.open(name)
        except NotFound:
            try:
                return self.create(name)
            except PreconditionFailed:  # another process made it a moment ago
                return self.open(name)

    def create(self, name: str) -> SQLiteDatabase:
        path = self._path(name)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("update_seq", 0), ("doc_count", 0), ("doc_del_count", 0), ("uuid", uuid.uuid4().hex)],
            )
        finally:
            conn.close()
        try:
            # link() fails if the name exists: creation is atomic across processes.
            os.link(tmp, path)
        except FileExistsError:
            raise PreconditionFailed(
                "The database could not be created, the file already exists."
            ) from None
        finally:
            for p in _files(tmp):
                p.unlink(missing_ok=True)
        return self.open(name)

    def delete(self, name: str) -> None:
        path = self._path(name)
        with self._lock:
            if not path.exists():
                raise NotFound("Database does not exist.")
            db = self._dbs.pop(name, None)
            if db is not None:
                db.close()
            for p in _files(path):
                p.unlink(missing_ok=True)

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.data_dir.glob("*.sqlite") if not p.name.startswith("."))

    def close(self) -> None:
        """Close every connection; until it is used again the store touches none of its files."""
        self.checkpoints.forget()
        with self._lock:
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()
