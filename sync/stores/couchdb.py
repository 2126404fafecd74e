"""The CouchDB 3.x Store: one CouchDB database per scope, over HTTP.

Why it is shaped this way:

* CouchDB already has the semantics the interface asks for (revision trees,
  winners, ``_changes``, ``_local``), so this backend translates shapes and
  never re-implements them: ``new_edits=true`` lets CouchDB compute revisions,
  ``new_edits=false`` hands it the replica's ``_revisions`` unchanged.
* Scope ``s`` lives in database ``<prefix>s``. The prefix (default
  ``fieldsync-``) keeps fieldsync's databases apart from others on the server,
  and, since it starts with a letter, also makes system scopes valid CouchDB
  names: ``_users`` becomes ``fieldsync-_users``. The name is used verbatim,
  not rewritten (``fieldsync-sys-users`` would collide with an area scope
  called ``sys-users``).
* Large answers (``_changes``, ``_all_docs``, ``_bulk_get``) are read item by
  item (``sync.stores.couchdb_json``) and requested in pages, so memory stays flat
  however big a scope grows.
* Sequences are CouchDB's own opaque strings (pouchdb-server's integers),
  carried unchanged; only their numeric prefix is ever compared.
* Scope databases are made with one shard (``q=1``) unless told otherwise.
  CouchDB documents ``_changes`` of a sharded database as only partially
  ordered (shards are merged as they answer); with one shard a scope's feed is
  in write order, as on SQLite, which paging, resuming and the per-user
  replica's merged feed rely on. A scope is one area's data, well within what
  one shard serves; ``n`` (copies across a cluster) is not affected.
* The system scopes no feed reads in order (``sync.scopes.SPREAD``: the users'
  replication checkpoints) get ``SPREAD_SHARDS`` shards instead. Each shard has
  its own writer in CouchDB: 60 devices writing their checkpoints through one
  shard queued behind each other (71 ms per ``PUT`` in CouchDB's log), through 8
  shards 37 ms; that crowd's p95 was 13.8-18.5 s (median 14.3) in three runs
  against 16.6-17.0 s (median 17.0) with one shard (``bench/crowd.py --targets
  couchdb --devices 60 --soums 6``). With 200 devices both cores are busy
  throughout and the p95 did not move.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from sync.errors import (
    BadRequest,
    Conflict,
    CouchError,
    NotFound,
    PreconditionFailed,
)
from sync.revtree import parse_rev, winner_key
from sync.scopes import SPREAD, check_scope_name
from sync.stores import couchdb_attachments, couchdb_revs
from sync.stores.base import Changes, Database, Doc, Seq, Store
from sync.stores.couchdb_docs import from_couch, to_couch
from sync.stores.couchdb_http import (
    BROKEN,
    AnswerBroken,
    CouchClient,
    attachment_path,
    doc_path,
    json_param,
    query,
)
from sync.stores.couchdb_json import ObjectStream
from sync.stores.couchdb_watch import ChangeWatch
from sync.ttl_cache import TtlCache

PAGE = 500  # rows per _changes / _all_docs request
ATT_PAGE = 50  # rows per request when documents come with their attachments
_ABSENT = ""  # in local_revs: a _local document read a moment ago and found absent
SPREAD_SHARDS = 8  # CouchDB's q for the scopes of sync.scopes.SPREAD (see the module docstring)
BULK_GET_PAGE = 100
OPEN_REVS_PAGE = 100  # revisions per open_revs URL (CouchDB limits a request line to 8 KB)
CHUNK = 1 << 16
WHOLE_BELOW = 2 << 20  # an answer up to this size is parsed at once, a larger one item by item
MAX_SEQ = (1 << 63) - 1  # the largest integer sequence taken from a client
DEFAULT_PREFIX = "fieldsync-"
STUB_RETRY_PAUSES = (0.05, 0.2)  # seconds before sending again an interactive edit refused for a stub
_DB_NAME = re.compile(r"^[a-z][a-z0-9_$()+/-]*\Z")  # CouchDB's rule for database names


def seq_number(seq: Any) -> int:
    """The ordering part of a sequence: CouchDB 3's ``"<N>-<opaque>"`` or an integer."""
    return int(str(seq).split("-", 1)[0])


def _winner_only(docid: str, found: list[dict]) -> list[dict]:
    """The winning leaf among ``open_revs=all`` answers: live first, then generation, then rev id."""
    leaves = [entry["ok"] for entry in found if "ok" in entry]
    if not leaves:
        return found  # CouchDB's own not_found/missing error
    winner = max(leaves, key=lambda d: winner_key(d["_rev"], bool(d.get("_deleted"))))
    if winner.get("_deleted"):
        return [{"error": {"id": docid, "rev": "undefined", "error": "not_found", "reason": "deleted"}}]
    return [{"ok": winner}]


def _in_request_order(revs: list[str], answer: list[dict]) -> list[dict]:
    """``open_revs`` entries one per requested revision, in the request's order.

    CouchDB lists the revisions it found first and the missing ones after them;
    a multipart ``open_revs`` answer, like the SQLite store's, follows the request.
    """
    by_rev = {}
    for entry in answer:
        rev = entry["ok"].get("_rev") if "ok" in entry else entry.get("missing")
        by_rev.setdefault(rev, entry)
    return [by_rev.get(rev) or {"missing": rev} for rev in revs]


def _counted(rows: Generator[dict, None, dict], got: dict) -> Generator[dict, None, dict]:
    """``rows`` passed through, counting them and keeping the last one's ``seq`` in ``got``."""
    try:
        while True:
            try:
                row = next(rows)
            except StopIteration as stop:
                return stop.value
            got["count"] += 1
            got["last_row_seq"] = row["seq"]
            yield row
    finally:
        rows.close()


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CouchDatabase(Database):
    """One scope: a CouchDB database reached through the store's client."""

    def __init__(self, store: CouchStore, name: str, dbname: str):
        self.store = store
        self.name = name
        self.dbname = dbname
        self._client = store.client
        self._path = "/" + quote(dbname, safe="")

    def __repr__(self) -> str:
        return f"CouchDatabase({self.name!r} at {self._client.root}{self._path})"

    # -- plumbing ------------------------------------------------------------
    def _json(self, method: str, sub: str = "", **kwargs: Any) -> Any:
        return self._client.json(method, self._path + sub, **kwargs)

    def _stream(
        self, method: str, sub: str, field: str, *, params: dict[str, str], body: Any = None,
        idempotent: bool = True,
    ) -> Generator[Any, None, dict]:
        """The items of ``field`` in a streamed answer, then its other members (``last_seq``...).

        The response is closed however iteration ends.
        """
        resp = self._client.request(method, self._path + sub, params=params, body=body, stream=True,
                                    idempotent=idempotent)
        stream = ObjectStream(resp.iter_content(CHUNK), field, whole_below=WHOLE_BELOW)
        try:
            yield from stream
        except BROKEN:
            raise AnswerBroken(f"CouchDB broke off its answer to {sub or '/'}") from None
        finally:
            resp.close()
        return stream.extra

    # -- database ------------------------------------------------------------
    def epoch(self) -> str:
        # Every request opens its scopes afresh, and a /sync/<user> request encodes
        # sequences with each member's epoch: read once per EXISTS_TTL, not once
        # per scope and request (a round trip each).
        found = self.store.epochs.get(self.dbname)
        if found is None:
            found = super().epoch()
            self.store.epochs.put(self.dbname, found)
        return found

    def info(self) -> dict:
        info = self._json("GET")
        info["db_name"] = self.name  # the scope, as clients address it; not the prefixed name
        # pouchdb-server leaves the deleted count out; the store's contract (and a
        # coordinator's replica, which sums it over its members) needs a number.
        info.setdefault("doc_del_count", 0)
        return info

    def update_seq(self) -> Seq:
        return self._json("GET")["update_seq"]

    def parse_since(self, value: Any) -> Seq:
        """What ``changes``/``update_seq`` returned, unchanged; ``"0"`` and digits become ints.

        A number beyond 64 bits is no sequence any server issued (CouchDB 3
        answers 400 for a ``since`` it cannot unpack), and could not be carried
        back as a JSON ``last_seq`` either.
        """
        if value is None or value == "":
            return 0
        if isinstance(value, int) and not isinstance(value, bool):
            seq = value
        elif isinstance(value, str):
            head = value.split("-", 1)[0]
            if not (head.isascii() and head.isdigit()):
                raise BadRequest(f"Invalid since sequence: {value[:60]!r}")
            if head != value:
                return value
            seq = int(value)
        else:
            raise BadRequest("Invalid since sequence")
        if seq > MAX_SEQ:
            raise BadRequest("Malformed sequence supplied in 'since' parameter.")
        return max(seq, 0)

    # -- writes --------------------------------------------------------------
    def bulk_docs(self, docs: list[Doc], *, new_edits: bool = True) -> list[dict]:
        """``_bulk_docs``, with the answers CouchDB gives some documents made the interface's.

        * A ``_rev`` on a document CouchDB has never seen is a ``conflict``. CouchDB
          checks this only when a validation function is loaded or the batch carries
          attachments (``couch_db:before_docs_update``); otherwise it stores the
          document as a child of a revision it does not have. So the ids of such
          writes are looked up first (one ``_all_docs`` request, only for batches
          that name revisions).
        * A batch refused whole (``412 missing_stub``) for one stub is retried
          document by document, so each gets the answer CouchDB would give it alone
          (``_bulk_docs`` is per document anyway, no ``all_or_nothing`` since 2.0); a
          replicated document whose stub names bytes another branch of it holds is
          then sent with those bytes (``couchdb_attachments.inline_known_stubs``).
        * Before the first attachment bytes, CouchDB is made to keep attachments
          uncompressed, so its digests are those of the bytes
          (``couchdb_attachments.ensure_identity_storage``).
        """
        if not docs:
            return []
        if couchdb_attachments.has_attachment_data(docs):
            couchdb_attachments.ensure_identity_storage(self._client)
        if not new_edits:
            return [r for r in self._write_each(docs, False) if "error" in r]
        unseen = self._unseen_ids([d["_id"] for d in docs if d.get("_rev")])
        if not unseen:
            return self._write_each(docs, True)
        written = iter(self._write_each([d for d in docs if d["_id"] not in unseen], True))
        return [
            {"id": d["_id"], "error": "conflict", "reason": "Document update conflict."}
            if d["_id"] in unseen else next(written)
            for d in docs
        ]

    def _unseen_ids(self, ids: list[str]) -> set[str]:
        """Those of ``ids`` CouchDB holds no document (not even a tombstone) for."""
        if not ids:
            return set()
        rows = self._all_docs_page("POST", {}, {"keys": list(dict.fromkeys(ids))})
        return {row["key"] for row in rows if row.get("error") == "not_found"}

    def _write_each(self, docs: list[Doc], new_edits: bool) -> list[dict]:
        """``_bulk_docs`` of ``docs``; after a ``missing_stub`` for the batch, one by one."""
        try:
            return self._write(docs, new_edits)
        except PreconditionFailed as exc:
            if exc.error != "missing_stub":
                raise
            if len(docs) > 1:
                return [r for doc in docs for r in self._write_each([doc], new_edits)]
            refused = [{"id": docs[0]["_id"], "error": exc.error, "reason": exc.reason}]
        if new_edits:
            return self._write_again(docs[0]) or refused
        filled = couchdb_attachments.inline_known_stubs(self, docs[0])
        if filled is None:
            return refused
        try:
            return self._write([filled], False)
        except PreconditionFailed as exc:
            if exc.error != "missing_stub":
                raise
            return [{"id": filled["_id"], "error": exc.error, "reason": exc.reason}]

    def _write_again(self, doc: Doc) -> list[dict] | None:
        """An interactive edit refused for a stub, sent again a moment later (None: refused again).

        On a cluster the first copy of the shard to take an edit may not have
        received its parent yet (a write returns once two of three copies have
        it) and refuses its stubs for the whole request (``fabric_doc_update``
        starts the copies one after another, so usually none has written it);
        the copy catches up within milliseconds. A stub that is really unknown
        costs the pauses.
        """
        for pause in STUB_RETRY_PAUSES:
            time.sleep(pause)
            try:
                return self._write([doc], True)
            except PreconditionFailed as exc:
                if exc.error != "missing_stub":
                    raise
        return None

    def _write(self, docs: list[Doc], new_edits: bool) -> list[dict]:
        """One ``_bulk_docs`` request; its per-document results even when it answers 500 or 417.

        CouchDB answers 500 when some documents could not reach their write
        quorum, and 417 when a validation function refused some; either way the
        body lists each document's result, which is what the caller needs.
        """
        body: dict[str, Any] = {"docs": [to_couch(d, new_edits=new_edits) for d in docs]}
        if not new_edits:
            body["new_edits"] = False
        try:
            # Replicated writes are idempotent and may be retried after a 5xx; interactive ones not.
            return self._json("POST", "/_bulk_docs", body=body, idempotent=not new_edits)
        except CouchError as exc:
            results = getattr(exc, "body", None)
            if exc.status in (417, 500) and isinstance(results, list):
                return results
            raise
        finally:
            self.store.wrote(self.dbname)

    # -- reads ---------------------------------------------------------------
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
        if docid.startswith("_") and not docid.startswith("_design/"):
            raise NotFound("missing")  # _all_docs, _local/...: endpoints, not documents
        if rev is not None:
            parse_rev(rev)
        # CouchDB leaves revs_info out when rev= is given: it is built from the path.
        info_here = revs_info and rev is not None
        params = query(
            rev=rev, revs=revs or info_here or None, revs_info=revs_info or None,
            conflicts=conflicts or None,
            deleted_conflicts=deleted_conflicts or None, attachments=attachments or None,
            atts_since=json_param(atts_since) if attachments and atts_since else None,
            local_seq=local_seq or None,
        )
        doc = from_couch(self._json("GET", "/" + doc_path(docid), params=params))
        if info_here and "_revisions" in doc:
            doc["_revs_info"] = couchdb_revs.revs_info(self, doc)
            if not revs:
                del doc["_revisions"]
        return doc

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
        if docid.startswith("_") and not docid.startswith("_design/"):
            if revs is None:
                raise NotFound("missing")
            return [{"missing": r} for r in revs]
        for r in revs or ():
            parse_rev(r)
        if revs is not None and not all(couchdb_revs.couch_parses(r) for r in revs):
            asked = [r for r in revs if couchdb_revs.couch_parses(r)]
            found = self.open_revs(docid, asked, latest=latest, revisions=revisions,
                                   attachments=attachments, atts_since=atts_since) if asked else []
            if latest:
                return found + [{"missing": r} for r in revs if not couchdb_revs.couch_parses(r)]
            return _in_request_order(revs, found)
        base = query(
            latest=latest or None, revs=revisions or None, attachments=attachments or None,
            atts_since=json_param(atts_since) if attachments and atts_since else None,
        )
        batches = [None] if revs is None else list(_chunks(list(revs), OPEN_REVS_PAGE))
        out: list[dict] = []
        for batch in batches:
            params = {**base, "open_revs": "all" if batch is None else json_param(batch)}
            answer = self._json("GET", "/" + doc_path(docid), params=params)
            for entry in answer:
                if "ok" in entry:
                    from_couch(entry["ok"])
            out.extend(answer if batch is None or latest else _in_request_order(batch, answer))
        return out

    def bulk_get(
        self,
        items: list[dict],
        *,
        revisions: bool = False,
        attachments: bool = False,
        latest: bool = False,
    ) -> Iterator[dict]:
        """CouchDB's ``_bulk_get``, a page of items per request, results read one by one.

        For an item without ``rev`` CouchDB answers every leaf (``open_revs=all``,
        tombstones included); the interface answers the winner, as ``GET
        /{db}/{id}`` does, and ``not_found``/``deleted`` when the winner is a
        tombstone. The winner is picked here by CouchDB's own rule, from the
        leaves CouchDB sent.
        """
        params = query(revs=revisions or None, attachments=attachments or None, latest=latest or None)
        for batch in _chunks(items, BULK_GET_PAGE):
            wanted = []
            for item in batch:
                entry: dict[str, Any] = {"id": item["id"]}
                if item.get("rev") is not None:
                    entry["rev"] = item["rev"]
                if item.get("atts_since"):
                    entry["atts_since"] = item["atts_since"]
                wanted.append(entry)
            results = self._resumed(wanted, lambda rest: self._stream("POST", "/_bulk_get", "results",
                                                                      params=params, body={"docs": rest}))
            for item, result in zip(batch, results, strict=False):
                for entry in result.get("docs", ()):
                    if "ok" in entry:
                        from_couch(entry["ok"])
                if item.get("rev") is None:
                    result["docs"] = _winner_only(result["id"], result.get("docs", []))
                yield result

    def revs_diff(self, request: dict[str, list[str]]) -> dict[str, dict]:
        if not request:
            return {}
        return couchdb_revs.revs_diff(self, request)

    def leaves(self, ids: list[str]) -> dict[str, list[str]] | None:
        return couchdb_revs.leaves(self, ids)

    def get_attachment(self, docid: str, name: str, rev: str | None = None) -> tuple[dict, bytes]:
        meta, chunks = self.open_attachment(docid, name, rev)
        return meta, b"".join(chunks)

    def open_attachment(
        self, docid: str, name: str, rev: str | None = None
    ) -> tuple[dict, Iterator[bytes]]:
        """An attachment's metadata and its bytes as a stream of chunks (not held in memory).

        The metadata comes from the document's stub and the bytes are then asked
        for at that exact revision, so the two always agree.
        """
        doc = self.get(docid, rev=rev)
        meta = (doc.get("_attachments") or {}).get(name)
        if meta is None:
            raise NotFound("Document is missing attachment")
        meta = {k: v for k, v in meta.items() if k != "stub"}
        resp = self._client.request(
            "GET", f"{self._path}/{doc_path(docid)}/{attachment_path(name)}",
            params={"rev": doc["_rev"]}, headers={"Accept": "*/*"}, stream=True,
        )

        def chunks() -> Iterator[bytes]:
            try:
                yield from resp.iter_content(CHUNK)
            except BROKEN:
                raise AnswerBroken("CouchDB broke off an attachment download") from None
            finally:
                resp.close()

        return meta, chunks()

    # -- feeds ---------------------------------------------------------------
    def changes(
        self,
        since: Seq = 0,
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
        """``_changes`` in pages of ``limit`` rows, each page read row by row.

        ``last_seq`` is the ``last_seq`` of CouchDB's own answer to the last
        page, never the database's ``update_seq``: on a cluster ``GET /{db}`` may
        be answered by another copy of the shard than the feed, one that holds
        writes the feed's copy has not shown yet, and resuming from its
        position would skip them. A page resumes from the previous page's last
        row, which CouchDB documents as a valid ``since``. ``doc_ids`` go in a
        POST body (``filter=_doc_ids``), so any number of them fits. With a
        ``timeout`` the first page is CouchDB's own long-poll.
        """
        since = self.parse_since(since)
        ids = list(doc_ids) if doc_ids is not None else None
        base = query(style=style, include_docs=include_docs or None,
                     conflicts=(conflicts and include_docs) or None,
                     attachments=(attachments and include_docs) or None)
        if ids is not None:
            base["filter"] = "_doc_ids"
        if descending:
            return Changes(self._changes_descending(since, limit, base, ids))
        return Changes(self._changes_ascending(since, limit, base, ids, timeout))

    def _changes_ascending(
        self, since: Seq, limit: int | None, base: dict[str, str], ids: list[str] | None,
        timeout: float | None,
    ) -> Generator[dict, None, Seq]:
        if ids is not None and not ids:
            if timeout:
                time.sleep(timeout)  # nothing can ever match: a long-poll just waits it out
            return since
        size = ATT_PAGE if "attachments" in base else PAGE
        cursor, listed, breaks = since, 0, 0
        while True:
            page = size if limit is None else min(size, limit - listed)
            if page <= 0:
                return cursor  # the limit is filled: the read ends at its last row
            params = {**base, "since": str(cursor), "limit": str(page)}
            got = {"count": 0, "last_row_seq": None}
            try:
                if timeout is not None and not listed:
                    answer = yield from _counted(self._longpoll_page(params, ids, timeout, cursor), got)
                else:
                    answer = yield from _counted(self._changes_page(params, ids), got)
            except AnswerBroken:
                # The answer stopped part way (its node died): ask again after the last row
                # given, through the node in use now. A row's seq is a valid since on any
                # node; one naming a dead node's copy makes CouchDB start another copy from
                # its last checkpoint, which may list rows again but never skips one.
                breaks += 1
                if breaks > self._client.retries + len(self._client.roots):
                    raise
                listed += got["count"]
                cursor = got["last_row_seq"] or cursor
                continue
            count = answer["count"]
            listed += count
            if count < page:
                return answer.get("last_seq") or answer["last_row_seq"] or cursor
            cursor = answer["last_row_seq"]

    def _changes_descending(
        self, since: Seq, limit: int | None, base: dict[str, str], ids: list[str] | None
    ) -> Generator[dict, None, Seq]:
        """Newest first, in one streamed request; rows at or before ``since`` end it.

        ``last_seq`` is the oldest row's, as CouchDB's descending answer has it.
        """
        params = {**base, "descending": "true"}
        if limit is not None:
            if limit <= 0:
                return since
            params["limit"] = str(limit)
        floor = seq_number(since)
        last = since
        rows = self._stream("POST" if ids is not None else "GET", "/_changes", "results",
                            params=params, body={"doc_ids": ids} if ids is not None else None)
        for row in rows:
            if floor and seq_number(row["seq"]) <= floor:
                rows.close()
                break
            if "doc" in row:
                from_couch(row["doc"])
            last = row["seq"]
            yield row
        return last

    def _changes_page(self, params: dict[str, str], ids: list[str] | None) -> Generator[dict, None, dict]:
        """One ``_changes`` request: its rows, then ``{"count", "last_row_seq", "last_seq"}``."""
        if ids is None:
            rows = self._stream("GET", "/_changes", "results", params=params)
        else:
            rows = self._stream("POST", "/_changes", "results", params=params, body={"doc_ids": ids})
        count, last_row = 0, None
        try:
            while True:
                try:
                    row = next(rows)
                except StopIteration as stop:
                    return {**(stop.value or {}), "count": count, "last_row_seq": last_row}
                if "doc" in row:
                    from_couch(row["doc"])
                count += 1
                last_row = row["seq"]
                yield row
        finally:
            rows.close()

    def _longpoll_page(self, params: dict[str, str], ids: list[str] | None, timeout: float,
                       since: Seq) -> Generator[dict, None, dict]:
        """CouchDB's long-poll: answers at the first change after ``since``, or empty at ``timeout``.

        The read's deadline is the poll's own length plus a margin, so a server
        that ignores ``timeout=`` (pouchdb-server does) still hands control back
        in time, as an empty answer that resumes where it started.
        """
        empty = {"count": 0, "last_row_seq": None, "last_seq": since}
        if timeout <= 0:
            return (yield from self._changes_page(params, ids))
        params = {**params, "feed": "longpoll", "timeout": str(max(int(timeout * 1000), 1))}
        resp = self._client.longpoll(self._path + "/_changes", params, timeout,
                                     method="POST" if ids is not None else "GET",
                                     body={"doc_ids": ids} if ids is not None else None)
        if resp is None:
            return empty
        stream = ObjectStream(resp.iter_content(CHUNK), "results", whole_below=WHOLE_BELOW)
        count, last_row = 0, None
        try:
            for row in stream:
                if "doc" in row:
                    from_couch(row["doc"])
                count += 1
                last_row = row["seq"]
                yield row
        except BROKEN:
            # requests reports a read timeout inside the body as a ConnectionError. Before
            # any row, answering "nothing yet, resume where you were" is always true.
            if count:
                raise AnswerBroken("CouchDB broke off a long-poll answer") from None
            return empty
        finally:
            resp.close()
        return {"count": count, "last_row_seq": last_row, **stream.extra}

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
        """``_all_docs`` in pages: each next page starts at the last id seen, skipping it."""
        base = query(include_docs=include_docs or None,
                     conflicts=(conflicts and include_docs) or None,
                     attachments=(attachments and include_docs) or None)
        size = ATT_PAGE if include_docs and attachments else PAGE
        if keys is not None:
            for batch in _chunks(list(keys), size):
                yield from self._all_docs_keys(base, batch)
            return
        base.update(query(
            endkey=json_param(endkey) if endkey is not None else None,
            inclusive_end=None if inclusive_end else False,
            descending=descending or None,
        ))
        remaining = limit
        cursor, to_skip, breaks = startkey, skip, 0
        while remaining is None or remaining > 0:
            page = size if remaining is None else min(size, remaining)
            params = {**base, "limit": str(page)}
            if cursor is not None:
                params["startkey"] = json_param(cursor)
            if to_skip:
                params["skip"] = str(to_skip)
            count = 0
            try:
                for row in self._all_docs_page("GET", params, None):
                    count += 1
                    cursor = row["id"]
                    yield row
            except AnswerBroken:
                # As _changes_pages: ask again after the last row given, on the node in use now.
                breaks += 1
                if breaks > self._client.retries + len(self._client.roots):
                    raise
                if remaining is not None:
                    remaining -= count
                if count:
                    to_skip = 1
                continue
            if remaining is not None:
                remaining -= count
            if count < page:
                return
            to_skip = 1  # the next page starts at the last id seen

    def _all_docs_keys(self, params: dict[str, str], keys: list) -> Iterator[dict]:
        """Rows for ``keys`` in their order; a key that is no string is no document.

        Only strings go to CouchDB: it answers a list key with a 500 (it takes
        the list for the characters of an id) and quietly turns ``["a"]`` into ``"a"``.
        """
        ids = [k for k in keys if isinstance(k, str)]
        rows = self._resumed(ids, lambda rest: self._all_docs_page("POST", params, {"keys": rest}))
        try:
            for key in keys:
                yield next(rows) if isinstance(key, str) else {"key": key, "error": "not_found"}
        finally:
            rows.close()

    def _resumed(self, items: list, ask: Callable[[list], Iterator[dict]]) -> Iterator[dict]:
        """``ask(items)``'s answers, one per item in order; an answer broken off part way (its
        node died) is asked again for the items not yet answered, through the node in use then."""
        given, breaks = 0, 0
        while given < len(items):
            try:
                for row in ask(items[given:]):
                    given += 1
                    yield row
                return
            except AnswerBroken:
                breaks += 1
                if breaks > self._client.retries + len(self._client.roots):
                    raise

    def _all_docs_page(self, method: str, params: dict[str, str], body: Any) -> Iterator[dict]:
        for row in self._stream(method, "/_all_docs", "rows", params=params, body=body):
            if row.get("doc") is not None:
                from_couch(row["doc"])
            yield row

    # -- _local ----------------------------------------------------------------
    # CouchDB 3 does not check a _local document's _rev (couch_db_updater only
    # increments it: "we don't do all the MVCC stuff for them"), while the interface
    # promises Conflict on a stale one, as CouchDB documents and the SQLite store
    # enforces. So the write names the current rev, read first unless this process
    # read or wrote that very rev within the store's cache_seconds (a replicator
    # checkpoints each batch with a GET, then a PUT naming the rev it got: two round
    # trips, not three). Reads always ask CouchDB: gunicorn's workers each remember
    # their own, and a replicator's GET and PUT may land on different ones. Two
    # writers racing within the window both succeed, the later one winning, which is
    # CouchDB 3's own behaviour; replication checkpoints tolerate it.
    def _local_path(self, docid: str) -> str:
        return "/_local/" + quote(docid, safe="")

    def _local_rev(self, docid: str) -> str | None:
        try:
            return self.get_local(docid)["_rev"]
        except NotFound:
            return None

    def get_local(self, docid: str) -> Doc:
        key = (self.dbname, docid)
        try:
            doc = self._json("GET", self._local_path(docid))
        except NotFound:
            # Remembered too: a replicator reads a checkpoint it has never written, then
            # writes it, and that first write need not read it again to know it is new.
            self.store.local_revs.put(key, _ABSENT)
            raise
        self.store.local_revs.put(key, doc.get("_rev"))
        return doc

    def put_local(self, docid: str, body: Doc) -> str:
        given = body.get("_rev")
        key = (self.dbname, docid)
        current = self.store.local_revs.get(key)
        if current == _ABSENT and given in (None, "0-0"):
            current = None
        elif current is None or current != given:
            current = self._local_rev(docid)
        if current is None and given not in (None, "0-0"):
            raise Conflict()
        if current is not None and given != current:
            raise Conflict()
        clean = {k: v for k, v in body.items() if not k.startswith("_")}
        if current is not None:
            clean["_rev"] = current
        self.store.local_revs.drop(key)  # unknown again until the write answers
        rev = self._json("PUT", self._local_path(docid), body=clean, idempotent=False)["rev"]
        self.store.local_revs.put(key, rev)
        return rev

    def delete_local(self, docid: str, rev: str | None) -> str:
        current = self._local_rev(docid)
        if current is None:
            raise NotFound("missing")
        if rev != current:
            raise Conflict()
        self.store.local_revs.drop((self.dbname, docid))
        answer = self._json("DELETE", self._local_path(docid), params={"rev": current}, idempotent=False)
        return answer.get("rev", "0-0")

    def local_docs(self) -> Iterator[Doc]:
        """CouchDB's ``_local_docs`` (2.2 and later), paged by id."""
        cursor = None
        while True:
            params = query(include_docs=True, limit=PAGE)
            if cursor is not None:
                params.update(startkey=json_param(cursor), skip="1")
            count = 0
            for row in self._stream("GET", "/_local_docs", "rows", params=params):
                count += 1
                cursor = row["id"]
                if row.get("doc") is not None:
                    yield row["doc"]
            if count < PAGE:
                return


class CouchStore(Store):
    """Scopes as databases ``<prefix><scope>`` on one CouchDB server (or cluster).

    ``url`` may carry credentials (``http://admin:secret@couchdb:5984``); a server
    admin is needed to create databases and list them. ``prefix`` defaults to
    ``FIELDSYNC_COUCHDB_PREFIX`` or ``fieldsync-``. ``shards`` is CouchDB's ``q``
    for new scope databases (None: the server's default), except the scopes of
    ``sync.scopes.SPREAD``, which get ``SPREAD_SHARDS``; see the module docstring.
    """

    EXISTS_TTL = 5.0  # seconds a database seen to exist is trusted without asking again
    concurrent_reads = True  # every read is a round trip: callers may send independent ones together
    watches_changes = True  # change_marker costs no round trip (sync.stores.couchdb_watch)
    remote = True
    default_cache_seconds = 1.0  # see sync.ttl_cache: what a round trip per request would cost

    def __init__(
        self,
        url: str,
        *,
        prefix: str | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        retries: int = 3,
        backoff: float = 0.2,
        pool_size: int = 32,
        shards: int | None = 1,
        cache_seconds: float | None = None,
    ):
        if prefix is None:
            prefix = os.environ.get("FIELDSYNC_COUCHDB_PREFIX") or DEFAULT_PREFIX
        if not _DB_NAME.match(prefix):
            raise ValueError(f"CouchDB database prefix {prefix!r} must start with a lowercase letter "
                             "and hold only a-z, 0-9 and _$()+-/")
        self.prefix = prefix
        self.shards = shards
        self.client = CouchClient(url, timeout=timeout, retries=retries, backoff=backoff,
                                  pool_size=pool_size)
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        # The _local revision this process last read or wrote, by (database, id).
        self.local_revs = TtlCache(self.default_cache_seconds if cache_seconds is None else cache_seconds)
        # Each scope's epoch (Database.epoch, a _local read), by database: it changes only when
        # the database is deleted and made again, which ``exists`` also trusts for EXISTS_TTL.
        self.epochs = TtlCache(self.EXISTS_TTL)
        self._watch: ChangeWatch | None = None
        # Writes this process made, by database: in change_marker, so that what is read after
        # a write here never counts on the feed having handed that write over yet.
        self._written: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"CouchStore({self.client.root!r}, prefix={self.prefix!r})"

    def dbname(self, scope: str) -> str:
        """The CouchDB database holding ``scope`` (BadRequest for an illegal scope name)."""
        return self.prefix + check_scope_name(scope)

    def _path(self, scope: str) -> str:
        return "/" + quote(self.dbname(scope), safe="")

    def _remember(self, scope: str, exists: bool) -> None:
        with self._lock:
            if exists:
                self._seen[scope] = time.monotonic() + self.EXISTS_TTL
            else:
                self._seen.pop(scope, None)

    def _recently_seen(self, scope: str) -> bool:
        with self._lock:
            return self._seen.get(scope, 0.0) > time.monotonic()

    def exists(self, name: str) -> bool:
        try:
            path = self._path(name)
        except BadRequest:
            return False
        if self._recently_seen(name):
            return True
        try:
            self.client.request("HEAD", path).close()
        except NotFound:
            self._remember(name, False)
            return False
        self._remember(name, True)
        return True

    def open(self, name: str) -> CouchDatabase:
        dbname = self.dbname(name)
        if not self.exists(name):
            raise NotFound("Database does not exist.")
        return CouchDatabase(self, name, dbname)

    def create(self, name: str) -> CouchDatabase:
        dbname = self.dbname(name)
        # Not retried after a 5xx: a create that landed would then answer file_exists.
        shards = SPREAD_SHARDS if name in SPREAD else self.shards
        params = {"q": str(shards)} if shards else None
        self.client.request("PUT", self._path(name), params=params, idempotent=False).close()
        self._remember(name, True)
        return CouchDatabase(self, name, dbname)

    def delete(self, name: str) -> None:
        path = self._path(name)
        self._remember(name, False)
        self.epochs.drop(self.dbname(name))
        self.client.request("DELETE", path, idempotent=False).close()

    def names(self) -> list[str]:
        params = {"startkey": json_param(self.prefix), "endkey": json_param(self.prefix + "\ufff0")}
        out = []
        for dbname in self.client.json("GET", "/_all_dbs", params=params):
            if dbname.startswith(self.prefix):
                scope = dbname[len(self.prefix):]
                try:
                    out.append(check_scope_name(scope))
                except BadRequest:
                    continue  # another application's database that shares the prefix
        return sorted(out)

    def change_marker(self, names: list[str]) -> Hashable | None:
        # Followed changes feeds, one long-poll per database and process: free to ask.
        with self._lock:
            if self._watch is None:
                self._watch = ChangeWatch(self.client)
        dbnames = [self.dbname(n) for n in names]
        marker = self._watch.marker(dbnames)
        if marker is None:
            return None
        with self._lock:
            return marker, tuple(self._written.get(n, 0) for n in dbnames)

    def wrote(self, dbname: str) -> None:
        """A write to ``dbname`` through this process answered (or failed): markers move."""
        with self._lock:
            self._written[dbname] = self._written.get(dbname, 0) + 1

    def close(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        self.client.close()
