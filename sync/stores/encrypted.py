"""Encryption at rest of the answers of sensitive forms, as a wrapper around any Store.

Child protection referrals must not sit in plain text in SQLite files, CouchDB
databases or their backups. Below the write gate (documents are validated in
plain text first) and above the backend, every submission of a form marked
``sensitive`` has its ``data`` replaced by ``sealed``: AES-256-GCM of the JSON
of the answers, bound to the document id as associated data, so a sealed body
copied into another document does not open. The comments of a review of such
a submission, a refused one kept in the quarantine, and the bodies of its replaced
revisions kept for three-way merges (``sync.conflicts.bases``) are sealed alike, and so is the
``data`` of every child protection case (``sync.cases``; the names deciding who sees
it stay in the clear). Its
attachments (photos) are
sealed the same way, byte for byte; the backend then stores and digests the
ciphertext, and the sealed payload maps that digest back to the digest and
length the device computed, which every read reports. Every read through the wrapper
opens it again, so everything above ``sync/stores`` (replicas, web pages,
exports, ``/api``) sees the answers as the worker wrote them; access rules
decide, as before, who gets the document at all. A copy of the files alone
holds only ciphertext.

Revision ids are not touched: a replica's push (``new_edits=False``) is
stored under the revision the device computed, whatever the stored body
looks like. The nonce is synthetic (an HMAC of the id and the plain text
under a key derived from the data key), so the same answers sealed twice
give the same bytes: a retried edit stays one revision, and no nonce is ever
reused for two different plain texts.

Keys carry ids. New writes use the newest key; reads pick the key by the id
stored beside the ciphertext, so a new key can be added while servers run,
and ``fieldsync rekey`` moves old documents onto it before an old key is
dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync.docs import md5_digest

from .base import Changes, Database, Doc, Seq, Store

SEALED = "sealed"
ALGORITHM = "A256GCM"


class KeyringError(ValueError):
    """A key specification or a sealed body that cannot be used (one clear line)."""


class Keyring:
    """Data keys by id; the last one given is the newest, used for every new write."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyringError("no encryption key given")
        self._keys: dict[str, tuple[AESGCM, bytes]] = {}
        for kid, key in keys:
            if not kid or not kid.replace("-", "").replace("_", "").isalnum():
                raise KeyringError(f"encryption key id {kid!r}: letters, digits, - and _ only")
            if len(key) != 32:
                raise KeyringError(f"encryption key {kid!r} must be 32 bytes (base64 of 32 random bytes), "
                                f"not {len(key)}")
            if kid in self._keys:
                raise KeyringError(f"encryption key id {kid!r} is given twice")
            nonce_key = hmac.new(key, b"fieldsync nonce key", hashlib.sha256).digest()
            self._keys[kid] = (AESGCM(key), nonce_key)
        self.newest: str = keys[-1][0]

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """``id:base64key`` entries separated by commas or new lines; ``#`` starts a comment."""
        keys = []
        for raw in text.replace(",", "\n").splitlines():
            entry = raw.split("#", 1)[0].strip()
            if not entry:
                continue
            kid, sep, value = entry.partition(":")
            if not sep:
                raise KeyringError(f"encryption key entry {kid.strip()[:12]!r}... must be id:base64key")
            try:
                key = base64.b64decode(value.strip() + "=" * (-len(value.strip()) % 4), altchars=b"-_",
                                       validate=False)
            except ValueError:
                raise KeyringError(f"encryption key {kid.strip()!r} is not base64") from None
            keys.append((kid.strip(), key))
        return cls(keys)

    @classmethod
    def configured(cls, keys: str = "", key_file: str = "") -> Keyring | None:
        """The keys of ``FIELDSYNC_ENCRYPTION_KEYS`` then those of ``FIELDSYNC_ENCRYPTION_KEY_FILE``; None if neither."""
        text = keys or ""
        if key_file:
            text += "\n" + Path(key_file).read_text(encoding="utf-8")
        return cls.parse(text) if text.strip() else None

    def seal(self, plain: bytes, doc_id: str) -> dict[str, str]:
        """The answers of one document: ``{alg, kid, iv, ct}`` (base64), bound to its id."""
        nonce, ct = self._encrypt(self.newest, plain, doc_id.encode())
        return {"alg": ALGORITHM, "kid": self.newest, "iv": _b64(nonce), "ct": _b64(ct)}

    def open(self, sealed: dict[str, Any], doc_id: str) -> bytes:
        kid = sealed.get("kid")
        try:
            iv, ct = base64.b64decode(sealed["iv"]), base64.b64decode(sealed["ct"])
        except Exception as exc:  # a member missing or not base64: damaged
            raise KeyringError(f"document {doc_id}: the sealed answers are damaged") from exc
        return self._decrypt(kid, iv + ct, doc_id.encode(), f"document {doc_id}")

    def seal_bytes(self, plain: bytes, doc_id: str) -> tuple[str, bytes]:
        """An attachment of one document: (key id, nonce + ciphertext), bound to the document id."""
        nonce, ct = self._encrypt(self.newest, plain, b"attachment:" + doc_id.encode())
        return self.newest, nonce + ct

    def open_bytes(self, kid: str, sealed: bytes, doc_id: str) -> bytes:
        return self._decrypt(kid, sealed, b"attachment:" + doc_id.encode(), f"an attachment of {doc_id}")

    def _encrypt(self, kid: str, plain: bytes, aad: bytes) -> tuple[bytes, bytes]:
        aead, nonce_key = self._keys[kid]
        nonce = hmac.new(nonce_key, len(aad).to_bytes(4, "big") + aad + plain, hashlib.sha256).digest()[:12]
        return nonce, aead.encrypt(nonce, plain, aad)

    def _decrypt(self, kid: Any, sealed: bytes, aad: bytes, what: str) -> bytes:
        if kid not in self._keys:
            raise KeyringError(f"{what} is sealed with key {kid!r}, which is not configured "
                               "(FIELDSYNC_ENCRYPTION_KEYS / FIELDSYNC_ENCRYPTION_KEY_FILE)")
        aead, _ = self._keys[kid]
        try:
            return aead.decrypt(sealed[:12], sealed[12:], aad)
        except Exception as exc:  # InvalidTag: not this document's, or damaged
            raise KeyringError(f"{what}: the sealed answers do not open with key {kid!r}") from exc


def new_key_entry(kid: str) -> str:
    """A fresh ``id:base64key`` line for a key file."""
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Sealer:
    """Seals sensitive submissions on the way in, opens every sealed body on the way out.

    The sealed payload holds the answers and, per attachment sealed with the
    document, the digest the backend reports for its ciphertext mapped to the
    plain text's digest, length and key id: reads then show the digests and
    lengths the device computed, and a later revision's stubs (which name the
    plain digests) are matched to the stored ciphertext.
    """

    def __init__(self, keyring: Keyring, sensitive_forms: Callable[[], Iterable[str]]) -> None:
        self.keyring = keyring
        self.sensitive_forms = sensitive_forms

    def to_seal(self, docs: list[Doc], form_of: Callable[[str], Any]) -> list[int]:
        """Indexes of the documents of a batch that must be sealed.

        ``form_of(submission id)``: the form of a stored submission, for a review
        that does not name its form (the form is kept in the clear).
        """
        sensitive: frozenset[str] | None = None
        found = []
        for n, doc in enumerate(docs):
            if not isinstance(doc, dict) or SEALED in doc:
                continue
            kind = doc.get("type")
            form = None
            if kind == "case" and "data" in doc:  # a child protection case (sync.cases): always sealed
                found.append(n)
                continue
            if kind == "review" and isinstance(doc.get("comments"), list) and doc["comments"]:
                form = doc.get("form") or form_of(_reviewed(doc))
            elif kind == "merge_bases" and isinstance(doc.get("revs"), dict):
                # Bodies of replaced revisions, kept for three-way merges (sync.conflicts.bases):
                # a sensitive submission's are its answers in another scope.
                forms = {b.get("form") for b in doc["revs"].values()
                         if isinstance(b, dict) and b.get("type") == "submission"}
                if forms:
                    if sensitive is None:
                        sensitive = frozenset(self.sensitive_forms())
                    if forms & sensitive:
                        found.append(n)
                continue
            else:
                submission = _held(doc) if kind == "quarantine" else doc
                if isinstance(submission, dict) and submission.get("type") == "submission" and "data" in submission:
                    form = submission.get("form")
            if form is not None:
                if sensitive is None:
                    sensitive = frozenset(self.sensitive_forms())
                if form in sensitive:
                    found.append(n)
        return found

    def seal(self, doc: Doc, known: Callable[[], dict[str, dict[str, list]]]) -> Doc:
        """``known()``: what earlier revisions sealed, ``{"by_plain": {...}, "by_name": {...}}``."""
        doc = dict(doc)
        # A refused submission kept in the quarantine is sealed whole, with the reasons
        # (a message may quote an answer); the entry keeps ids, scope, user and status.
        member = {"quarantine": "held", "review": "comments", "merge_bases": "revs"}.get(doc.get("type"), "data")
        if member == "held":
            answers = {"doc": doc.pop("doc"), "reasons": doc.pop("reasons", None)}
        else:  # a submission's answers, or the comments of a review of one (free text about the case)
            answers = doc.pop(member)
        mapping: dict[str, list] = {}
        atts = doc.get("_attachments")
        if isinstance(atts, dict) and atts:
            seen = None
            out = {}
            for name, att in atts.items():
                if not isinstance(att, dict):
                    out[name] = att
                elif att.get("stub"):
                    seen = seen if seen is not None else known()
                    hit = seen["by_plain"].get(att.get("digest")) or seen["by_name"].get(name)
                    if hit is not None:
                        cipher_digest, plain_digest, length, kid = hit
                        att = {**att, "digest": cipher_digest}
                        mapping[cipher_digest] = [plain_digest, length, kid]
                    out[name] = att
                elif isinstance(att.get("data"), bytes | bytearray | memoryview):
                    plain = bytes(att["data"])
                    kid, sealed = self.keyring.seal_bytes(plain, doc["_id"])
                    mapping[md5_digest(sealed)] = [md5_digest(plain), len(plain), kid]
                    out[name] = {k: v for k, v in att.items() if k not in ("digest", "length")} | {"data": sealed}
                else:
                    out[name] = att
            doc["_attachments"] = out
        payload = {member: answers, "atts": mapping} if mapping else {member: answers}
        doc[SEALED] = self.keyring.seal(orjson.dumps(payload), doc["_id"])
        return doc

    def payload(self, doc: Doc) -> dict:
        return orjson.loads(self.keyring.open(doc[SEALED], doc["_id"]))

    def open_doc(self, doc: Any) -> Any:
        if not (isinstance(doc, dict) and isinstance(doc.get(SEALED), dict) and "_id" in doc):
            return doc
        doc = dict(doc)
        payload = self.payload(doc)
        del doc[SEALED]
        if "held" in payload:
            doc["doc"] = payload["held"]["doc"]
            if payload["held"].get("reasons") is not None:
                doc["reasons"] = payload["held"]["reasons"]
        elif "comments" in payload:
            doc["comments"] = payload["comments"]
        elif "revs" in payload:
            doc["revs"] = payload["revs"]
        else:
            doc["data"] = payload["data"]
        mapping = payload.get("atts") or {}
        if mapping and isinstance(doc.get("_attachments"), dict):
            doc["_attachments"] = {name: self._open_att(doc["_id"], att, mapping)
                                   for name, att in doc["_attachments"].items()}
        return doc

    def _open_att(self, doc_id: str, att: Any, mapping: dict[str, list]) -> Any:
        entry = mapping.get(att.get("digest")) if isinstance(att, dict) else None
        if entry is None:
            return att
        plain_digest, length, kid = entry
        att = {**att, "digest": plain_digest, "length": length}
        if isinstance(att.get("data"), bytes | bytearray | memoryview):
            att["data"] = self.keyring.open_bytes(kid, bytes(att["data"]), doc_id)
        return att

    def open_row(self, row: dict) -> dict:
        if isinstance(row.get("doc"), dict) and SEALED in row["doc"]:
            row = {**row, "doc": self.open_doc(row["doc"])}
        return row


class EncryptedDatabase(Database):
    """One scope of the inner store, seen in plain text."""

    def __init__(self, inner: Database, sealer: Sealer) -> None:
        self._inner = inner
        self._sealer = sealer
        self.name = inner.name

    def __getattr__(self, attr: str) -> Any:  # backend extras (open_attachment, ...) pass through
        return getattr(self._inner, attr)

    def info(self) -> dict:
        return self._inner.info()

    def update_seq(self) -> Seq:
        return self._inner.update_seq()

    def parse_since(self, value: Any) -> Seq:
        return self._inner.parse_since(value)

    def epoch(self) -> str:
        return self._inner.epoch()

    def translate_seq(self, epoch: str, seq: Seq) -> Seq | None:
        return self._inner.translate_seq(epoch, seq)

    def bulk_docs(self, docs: list[Doc], *, new_edits: bool = True) -> list[dict]:
        chosen = self._sealer.to_seal(docs, self._form_of)
        if chosen:
            docs = list(docs)
            for n in chosen:
                docs[n] = self._sealer.seal(docs[n], lambda doc=docs[n]: self._sealed_before(doc, new_edits))
        return self._inner.bulk_docs(docs, new_edits=new_edits)

    def _form_of(self, submission_id: str | None) -> Any:
        from sync.errors import NotFound  # noqa: PLC0415

        if not submission_id:
            return None
        try:
            return self._inner.get(submission_id).get("form")
        except NotFound:
            return None

    def _sealed_before(self, doc: Doc, new_edits: bool) -> dict[str, dict[str, list]]:
        """Attachments earlier revisions of ``doc`` sealed: by plain digest (any leaf or the
        nearest stored ancestor) and by name (the nearest stored ancestor, as stubs resolve)."""
        from sync.errors import NotFound  # noqa: PLC0415

        if new_edits:
            ancestors = [doc["_rev"]] if isinstance(doc.get("_rev"), str) else []
        else:
            path = doc.get("_revisions")
            ancestors = list(path[1:21]) if isinstance(path, list) else []
        bodies = []
        try:
            if ancestors:
                bodies += [e["ok"] for e in self._inner.open_revs(doc["_id"], ancestors) if "ok" in e][:1]
            bodies += [e["ok"] for e in self._inner.open_revs(doc["_id"], None) if "ok" in e]
        except NotFound:
            pass
        by_plain: dict[str, list] = {}
        by_name: dict[str, list] = {}
        for n, body in enumerate(bodies):
            if not isinstance(body.get(SEALED), dict):
                continue
            mapping = self._sealer.payload(body).get("atts") or {}
            for name, meta in (body.get("_attachments") or {}).items():
                entry = mapping.get(meta.get("digest"))
                if entry is None:
                    continue
                hit = [meta["digest"], *entry]
                by_plain.setdefault(entry[0], hit)
                if n == 0 and ancestors:
                    by_name.setdefault(name, hit)
        return {"by_plain": by_plain, "by_name": by_name}

    def get(self, docid: str, **options: Any) -> Doc:
        return self._sealer.open_doc(self._inner.get(docid, **options))

    def open_revs(self, docid: str, revs: list[str] | None, **options: Any) -> list[dict]:
        return [{**found, "ok": self._sealer.open_doc(found["ok"])} if "ok" in found else found
                for found in self._inner.open_revs(docid, revs, **options)]

    def bulk_get(self, items: list[dict], **options: Any) -> Iterator[dict]:
        for result in self._inner.bulk_get(items, **options):
            docs = result.get("docs") or []
            if any("ok" in d for d in docs):
                result = {**result, "docs": [{"ok": self._sealer.open_doc(d["ok"])} if "ok" in d else d
                                             for d in docs]}
            yield result

    def revs_diff(self, request: dict[str, list[str]]) -> dict[str, dict]:
        return self._inner.revs_diff(request)

    def leaves(self, ids: list[str]) -> dict[str, list[str]] | None:
        return self._inner.leaves(ids)

    def get_attachment(self, docid: str, name: str, rev: str | None = None) -> tuple[dict, bytes]:
        meta, data = self._inner.get_attachment(docid, name, rev)
        body = self._inner.get(docid, rev=rev) if rev else self._inner.get(docid)
        if not isinstance(body.get(SEALED), dict):
            return meta, data
        opened = self._sealer._open_att(docid, {**meta, "data": data}, self._sealer.payload(body).get("atts") or {})
        return {k: v for k, v in opened.items() if k != "data"}, bytes(opened["data"])

    def open_attachment(self, docid: str, name: str, rev: str | None = None) -> tuple[dict, Iterator[bytes]]:
        """The CouchDB store's streamed read, opened (a sealed attachment is read whole)."""
        meta, data = self.get_attachment(docid, name, rev)
        return meta, iter([data])

    def changes(self, since: Seq = 0, **options: Any) -> Changes:
        inner = self._inner.changes(since, **options)
        if not options.get("include_docs"):
            return inner
        return Changes(self._opened(inner))

    def _opened(self, inner: Changes) -> Generator[dict, None, Seq]:
        finished = False
        try:
            for row in inner:
                yield self._sealer.open_row(row)
            finished = True
            return inner.last_seq
        finally:
            if not finished:
                inner.close()

    def all_docs(self, **options: Any) -> Iterator[dict]:
        rows = self._inner.all_docs(**options)
        if not options.get("include_docs"):
            return rows
        return (self._sealer.open_row(row) for row in rows)

    def get_local(self, docid: str) -> Doc:
        return self._inner.get_local(docid)

    def put_local(self, docid: str, body: Doc) -> str:
        return self._inner.put_local(docid, body)

    def delete_local(self, docid: str, rev: str | None) -> str:
        return self._inner.delete_local(docid, rev)

    def local_docs(self) -> Iterator[Doc]:
        return self._inner.local_docs()


class EncryptedStore(Store):
    """Any Store, with the answers of sensitive forms sealed in it (see the module docstring)."""

    def __init__(self, inner: Store, keyring: Keyring,
                 sensitive_forms: Callable[[], Iterable[str]] | None = None) -> None:
        self.inner = inner
        self.keyring = keyring
        self.default_cache_seconds = inner.default_cache_seconds
        if sensitive_forms is None:
            from sync.forms import FormRegistry  # noqa: PLC0415 - forms are read from the inner store

            sensitive_forms = FormRegistry(inner, cache_seconds=inner.default_cache_seconds).sensitive_forms
        self.sealer = Sealer(keyring, sensitive_forms)

    def __getattr__(self, attr: str) -> Any:  # backend extras (data_dir, client, ...) pass through
        return getattr(self.inner, attr)

    def __repr__(self) -> str:
        return f"EncryptedStore({self.inner!r}, keys={self.keyring.ids})"

    def _wrap(self, db: Database) -> EncryptedDatabase:
        return EncryptedDatabase(db, self.sealer)

    def open(self, name: str) -> Database:
        return self._wrap(self.inner.open(name))

    def create(self, name: str) -> Database:
        return self._wrap(self.inner.create(name))

    def ensure(self, name: str) -> Database:
        return self._wrap(self.inner.ensure(name))

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def names(self) -> list[str]:
        return self.inner.names()

    def change_marker(self, names: list[str]) -> Any:
        return self.inner.change_marker(names)

    def wait_for_any_change(self, timeout: float) -> None:
        self.inner.wait_for_any_change(timeout)

    def close(self) -> None:
        self.inner.close()


def rekey(store: EncryptedStore, *, compact: bool = True) -> dict[str, int]:
    """Seal with the newest key every winning revision sealed with an older one, and
    seal what should be sealed but is not (written before the store had a key).

    The answers and photos do not change (photos are sealed again too); each such
    document gets a new revision (CouchDB keeps a stored revision's body as it is),
    which devices pull like any edit. The replaced bodies are then dropped from the
    files (``compact_scope``; on CouchDB the compaction runs in the background):
    keep an old key configured until it is done. Returns counts per scope.
    """
    counts: dict[str, int] = {}
    newest = store.keyring.newest
    for name in store.names():
        raw = store.inner.open(name)
        db = store.open(name)
        stale = []
        for row in raw.all_docs(include_docs=True):
            body = row.get("doc")
            if not isinstance(body, dict):
                continue
            if isinstance(body.get(SEALED), dict):
                if _on_older_key(store.sealer, body, newest):
                    stale.append(row["id"])
            elif store.sealer.to_seal([body], db._form_of):
                stale.append(row["id"])
        if not stale:
            continue
        done = 0
        for start in range(0, len(stale), 100):
            docs = [db.get(doc_id, attachments=True) for doc_id in stale[start:start + 100]]
            done += sum(1 for r in db.bulk_docs(docs) if "error" not in r)
        counts[name] = done
        if compact:
            compact_scope(store.inner, name)
    return counts


def compact_scope(store: Store, name: str) -> None:
    """Drop what the files still hold of replaced bodies.

    SQLite keeps deleted rows' bytes in free pages and in its write-ahead log:
    VACUUM rebuilds the file, and a TRUNCATE checkpoint empties the log.
    CouchDB keeps old revisions' bodies until the database is compacted: this
    starts the compaction (CouchDB runs it in the background).
    """
    import sqlite3  # noqa: PLC0415

    data_dir = getattr(store, "data_dir", None)
    if data_dir is not None:
        conn = sqlite3.connect(Path(data_dir) / f"{name}.sqlite", timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    elif hasattr(store, "client") and hasattr(store, "dbname"):
        from urllib.parse import quote  # noqa: PLC0415

        store.client.request("POST", "/" + quote(store.dbname(name), safe="") + "/_compact",
                             body={}, idempotent=False).close()


def _on_older_key(sealer: Sealer, body: Doc, newest: str) -> bool:
    if body[SEALED].get("kid") != newest:
        return True
    return any(entry[2] != newest for entry in (sealer.payload(body).get("atts") or {}).values())


def _held(entry: Doc) -> Any:
    return entry.get("doc")


def _reviewed(review: Doc) -> str | None:
    """The submission a review is about: named, or ``<area>:sub:<key>`` for ``<area>:review:<key>``."""
    if isinstance(review.get("submission"), str):
        return review["submission"]
    area, kind, key = (str(review.get("_id", "")).split(":", 2) + ["", ""])[:3]
    return f"{area}:sub:{key}" if kind == "review" and key else None
