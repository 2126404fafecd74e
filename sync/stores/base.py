"""The Store interface: what fieldsync needs from a database engine.

A Store holds scope databases; a Database is one scope with CouchDB's document
semantics (revision trees, a changes feed, ``_local`` documents, attachments
by digest). Every backend implements exactly this interface and passes the one
conformance suite in ``tests/store_conformance.py``; nothing above ``sync/``
knows which backend it talks to.

Conventions every method follows:

* Documents go in and come out as plain dicts shaped as CouchDB's JSON API
  shapes them. Attachment data is ``bytes`` on both sides (the HTTP layer does
  base64 and multipart); an attachment without data is a stub.
* Sequences are opaque: a backend returns them, and accepts back what it
  returned (``parse_since`` turns a client's string into one). SQLite uses
  integers, CouchDB its own strings. Two sequences are never compared: on a
  CouchDB cluster each names a position in one copy of a shard, and two reads
  of the same data may come from different copies with unrelated numbers.
  A position to resume from is taken from the changes read that covered it
  (``Changes.last_seq``), never from a separate read of ``update_seq``.
* Errors are ``sync.errors.CouchError`` subclasses carrying CouchDB's status.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Hashable, Iterable, Iterator
from typing import Any

Seq = Any
Doc = dict[str, Any]
EPOCH_DOC = "fieldsync-epoch"


class Database(ABC):
    """One scope database."""

    name: str

    # -- database ----------------------------------------------------------
    @abstractmethod
    def info(self) -> dict:
        """``GET /db``: at least ``db_name``, ``doc_count``, ``doc_del_count``, ``update_seq``."""

    @abstractmethod
    def update_seq(self) -> Seq:
        """The sequence of the latest change (what ``since=now`` means)."""

    @abstractmethod
    def parse_since(self, value: Any) -> Seq:
        """Turn a client-supplied ``since`` into a sequence, or raise BadRequest."""

    def epoch(self) -> str:
        """A stable id of this database's sequence space.

        Composite sequences record it next to each scope's sequence: a scope
        deleted and recreated, or moved to another backend, starts a new
        epoch, and an old sequence is then translated (``translate_seq``) or
        read from the beginning, never trusted blindly. Kept in a ``_local``
        document so that every backend has it; backends may override.
        """
        cached = getattr(self, "_epoch", None)
        if cached:
            return cached
        import uuid

        from sync.errors import Conflict, NotFound

        try:
            value = self.get_local(EPOCH_DOC)["epoch"]
        except NotFound:
            try:
                self.put_local(EPOCH_DOC, {"epoch": uuid.uuid4().hex[:12]})
            except Conflict:
                pass
            value = self.get_local(EPOCH_DOC)["epoch"]
        self._epoch = value
        return value

    def translate_seq(self, epoch: str, seq: Seq) -> Seq | None:
        """A sequence of an earlier epoch (before a migration) in this database's terms.

        ``fieldsync migrate`` leaves ``_local/fieldsync-seqmap-<epoch>`` with
        ``pairs`` of (old sequence, this database's sequence once everything up
        to the old one was copied). None: unknown epoch, read from the start.
        """
        from sync.errors import NotFound

        try:
            pairs = self.get_local(f"fieldsync-seqmap-{epoch}")["pairs"]
        except (NotFound, KeyError):
            return None
        best = None
        for old, new in pairs:
            try:
                if int(str(old).split("-", 1)[0]) <= int(str(seq).split("-", 1)[0]):
                    best = new
            except ValueError:
                return None
        return best

    # -- documents ---------------------------------------------------------
    @abstractmethod
    def bulk_docs(self, docs: list[Doc], *, new_edits: bool = True) -> list[dict]:
        """Write a batch in one transaction; one result per document, in order.

        Documents must have passed ``sync.docs.check_doc``. A result is
        ``{"id", "rev"}`` or ``{"id", "error", "reason"}`` (a per-document
        ``conflict`` does not stop the others). With ``new_edits=False`` the
        revisions are stored as given (``_revisions`` holds the path) and the
        result list carries only errors, as CouchDB's does.
        """

    @abstractmethod
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
        """One revision (the winner unless ``rev``); NotFound if missing or deleted without rev."""

    @abstractmethod
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
        """``open_revs``: ``[{"ok": doc} | {"missing": rev}]``; ``revs=None`` means all leaves."""

    def bulk_get(
        self,
        items: list[dict],
        *,
        revisions: bool = False,
        attachments: bool = False,
        latest: bool = False,
    ) -> Iterator[dict]:
        """``_bulk_get``: per requested ``{"id", "rev"?, "atts_since"?}`` one result.

        A result is ``{"id", "docs": [{"ok": doc} | {"error": {"id", "rev",
        "error", "reason"}}]}``, in request order. An item without ``rev`` gets
        the winning revision only (CouchDB 3 would list every leaf); a deleted
        winner is ``not_found`` with reason ``deleted``. Backends may override this to
        fetch a whole batch at once; this default goes document by document.
        """
        from sync.errors import BadRequest, NotFound

        for item in items:
            docid, rev = item["id"], item.get("rev")
            since = item.get("atts_since")
            try:
                if rev is None:
                    found = [{"ok": self.get(docid, revs=revisions, attachments=attachments,
                                             atts_since=since)}]
                else:
                    found = self.open_revs(docid, [rev], latest=latest, revisions=revisions,
                                           attachments=attachments, atts_since=since)
            except (NotFound, BadRequest) as exc:
                found = [{"missing": rev or "undefined", "reason": exc.reason}]
            yield bulk_get_result(docid, found)

    @abstractmethod
    def revs_diff(self, request: dict[str, list[str]]) -> dict[str, dict]:
        """``_revs_diff``: per id, the ``missing`` revisions and ``possible_ancestors``."""

    def leaves(self, ids: list[str]) -> dict[str, list[str]] | None:
        """Every leaf revision (tombstones included) of those of ``ids`` that have a
        document, when the store can tell that more cheaply than reading them; None:
        read them."""
        return None

    @abstractmethod
    def get_attachment(self, docid: str, name: str, rev: str | None = None) -> tuple[dict, bytes]:
        """An attachment's metadata (``content_type``, ``digest``, ``length``) and bytes."""

    # -- feeds -------------------------------------------------------------
    @abstractmethod
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
        """One read of the changes after ``since``: its rows, streamed (memory flat), then its ``last_seq``.

        A row is ``{"seq", "id", "changes": [{"rev"}], "deleted"?, "doc"?}``, in
        sequence order; ``style="all_docs"`` lists every leaf, winner first.

        ``last_seq`` (on the returned ``Changes``, once its rows are read) comes
        from the same read as the rows, and is where the next read resumes:

        * every change after ``since`` is either among the rows or after ``last_seq``;
        * a read that is not cut short by ``limit`` covers what its filter
          (``doc_ids``) passed over: those changes are behind ``last_seq`` and a
          reader resuming there does not meet them again;
        * a read that fills its ``limit`` ends at its last row;
        * ``descending``: the last (oldest) row's sequence, ``since`` without rows.

        ``timeout``: when no change after ``since`` passes the filter yet, wait up
        to that many seconds for the first one (a long-poll), then answer as above.
        """

    @abstractmethod
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
        """``_all_docs`` rows in raw id order (or ``keys`` order), streamed."""

    # -- _local documents (never in the changes feed) ------------------------
    @abstractmethod
    def get_local(self, docid: str) -> Doc:
        """A ``_local/`` document (``docid`` without the prefix); NotFound if absent."""

    @abstractmethod
    def put_local(self, docid: str, body: Doc) -> str:
        """Store a ``_local/`` document; returns its new ``0-N`` rev.

        Conflict when the document exists and ``_rev`` is not its current one,
        or when ``_rev`` names a revision of a document that does not exist.
        """

    @abstractmethod
    def delete_local(self, docid: str, rev: str | None) -> str:
        """Delete a ``_local/`` document."""

    @abstractmethod
    def local_docs(self) -> Iterator[Doc]:
        """Every ``_local/`` document (ids with the prefix), for backups and migration."""


class Changes(Iterator[dict]):
    """The rows of one changes read and, once they are all read, that read's ``last_seq``.

    A backend builds it from a generator that yields the rows and returns the
    sequence its read reached, so the two cannot come from different reads.
    """

    def __init__(self, rows: Generator[dict, None, Seq]):
        self._rows = rows
        self._done = False
        self._last_seq: Seq = None

    def __iter__(self) -> Changes:
        return self

    def __next__(self) -> dict:
        if self._done:
            raise StopIteration
        try:
            return next(self._rows)
        except StopIteration as stop:
            self._done = True
            self._last_seq = stop.value
            raise

    @property
    def last_seq(self) -> Seq:
        """Where the next read resumes; known once every row has been read."""
        if not self._done:
            raise RuntimeError("last_seq is known once every row of the read has been read")
        return self._last_seq

    def close(self) -> None:
        """Stop reading early (the rows not read are lost, and so is ``last_seq``)."""
        self._rows.close()


def bulk_get_result(docid: str, found: list[dict]) -> dict:
    """Shape ``open_revs`` answers as one ``_bulk_get`` result."""
    docs = []
    for f in found:
        if "ok" in f:
            docs.append({"ok": f["ok"]})
        else:
            docs.append({"error": {"id": docid, "rev": f["missing"], "error": "not_found",
                                   "reason": f.get("reason", "missing")}})
    return {"id": docid, "docs": docs}


class Store(ABC):
    """A collection of scope databases."""

    # How long an app server on this store may reuse an account, a login or the
    # form list it read (sync.ttl_cache): 0 reads them on every request, which
    # costs nothing much when the store is a local file.
    default_cache_seconds: float = 0.0
    # Every read is a round trip to another server: an app server keeps the revision
    # bodies it has seen (sync.replica.bodies) rather than reading them again.
    remote: bool = False

    @abstractmethod
    def open(self, name: str) -> Database:
        """An existing scope; NotFound otherwise."""

    @abstractmethod
    def create(self, name: str) -> Database:
        """A new scope; PreconditionFailed (``file_exists``) if it exists."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove a scope and everything in it; NotFound if absent."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether a scope exists."""

    @abstractmethod
    def names(self) -> list[str]:
        """All scope names, sorted."""

    def change_marker(self, names: list[str]) -> Hashable | None:
        """A value that differs after any write to these scopes, from any process;
        None when the store cannot tell without a round trip.

        What is derived from a few scopes (a verified login from the accounts and
        the login counters) can then be kept exactly as long as it holds, with no
        expiry to tune: cheap to ask for a local file, so the SQLite store does.
        """
        return None

    def wait_for_any_change(self, timeout: float) -> None:
        """Sleep until some scope may have changed, at most ``timeout`` seconds.

        Feeds over several scopes use it between polls; a backend that can be
        woken by its writes should override it.
        """
        import time

        time.sleep(min(timeout, 0.5))

    def ensure(self, name: str) -> Database:
        """The scope, created first if needed (system scopes are made on demand)."""
        if not self.exists(name):
            try:
                return self.create(name)
            except Exception:
                if not self.exists(name):
                    raise
        return self.open(name)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""
