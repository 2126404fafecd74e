"""``/sync/<user>``: one replication target that is the union of the scopes a user
may read, filtered document by document.

Sequences are opaque composites of the member scopes' sequences (as a CouchDB
cluster's are composites of its shards'): ``<n>-<base64url JSON {scope: seq}>``,
where ``n`` is only a progress hint. The changes feed walks the members one
after the other, and every row carries the whole vector as it stands after
that row, so resuming from any ``seq`` it returned loses nothing. Each entry of
a vector comes from that member's own changes read: a row's ``seq``, or the
``last_seq`` of the member's answer once all its rows were read (which also
moves the vector past the changes the user may not see). A scope the user
gains later is simply absent from old vectors, so it is read from its
beginning on the next pull.

Hidden documents behave as if they did not exist, on every endpoint: absent
from ``_changes`` and ``_all_docs``, ``not_found`` for reads, all revisions
"missing" in ``_revs_diff``.

A scope in a client's sequence that the user may no longer read (an area lost)
is swept once: its documents are offered as deleted revisions that exist only
here, so that they leave the device (``sync.replica.revocation``). The same
tombstones take a child protection case off the devices of those taken off it
(``sync.cases.left_case``), and, when a feed lists a case, its referral and the
referral's review and derived document off the devices of those who may no
longer see them (``_UnionRead._taken_back``).
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import itertools
import time
from collections.abc import Generator, Iterable, Iterator
from typing import Any

import orjson

from sync import cases, ids
from sync.accounts.access import Access
from sync.accounts.users import User
from sync.alongside import alongside
from sync.cases import is_case_id, left_case
from sync.errors import BadRequest, NotFound
from sync.gate.messages import text
from sync.gate.write_gate import WriteGate
from sync.quiet import QUIET, replay
from sync.referral_cases import case_id, family, referral_about, referral_of_case
from sync.replica.bodies import BODIES, LISTED, keepable, pushed_body
from sync.replica.facts import FACTS
from sync.replica.revocation import (
    REVOKING,
    SWEEP_LABEL,
    Sweep,
    is_pushed_tombstone,
    tombstone_doc,
    tombstone_rev,
)
from sync.scopes import CHECKPOINTS, GLOBAL
from sync.stores.base import Changes, Database, Doc, Store, bulk_get_result
from sync.ttl_cache import TtlCache

CHECKPOINT_SCOPE = CHECKPOINTS
CASE_MARK = f":{ids.CASE}:"  # a cheap test before parsing an id
FACTS_CHUNK = 100  # changes rows whose winners' facts are looked up together
_RECENT_SEQS = TtlCache(1.0)  # (store, scope) -> update_seq, for info(); see _recent_update_seq


def encode_seq(vector: dict[str, Any], epochs: dict[str, str] | None = None) -> str:
    """``<progress hint>-<base64url JSON {scope: [epoch, seq]}>``."""
    hint = 0
    for seq in vector.values():
        head = str(seq).split("-", 1)[0]
        hint += int(head) if (head.isascii() and head.isdigit()) else 0
    body = {s: [(epochs or {}).get(s, ""), seq] for s, seq in vector.items()}
    blob = base64.urlsafe_b64encode(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).rstrip(b"=")
    return f"{hint}-{blob.decode()}"


def decode_seq(value: Any) -> dict[str, tuple[str, Any]]:
    """``{scope: (epoch, seq)}`` from a composite sequence; 400 if it is not one."""
    if value in (None, "", 0, "0"):
        return {}
    bad = BadRequest("Invalid since sequence for this replica; start again from 0")
    if not isinstance(value, str) or "-" not in value or len(value) > 100_000:
        raise bad
    blob = value.split("-", 1)[1]
    try:
        vector = orjson.loads(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise bad from None
    if not isinstance(vector, dict):
        raise bad
    out = {}
    for scope, entry in vector.items():
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                and isinstance(entry[1], int | str) and not isinstance(entry[1], bool)):
            raise bad
        out[scope] = (entry[0], entry[1])
    return out


def scope_of(docid: str) -> str | None:
    parsed = ids.parse_doc_id(docid)
    return parsed.scope if parsed else None


class UserReplica(Database):
    member_page = 50  # the fewest rows asked of a member at a time when a read has a limit

    def __init__(self, store: Store, owner: User, actor: User, access: Access, gate: WriteGate, *,
                 seal: bytes = b""):
        self.store = store
        self.owner = owner
        self.actor = actor
        self.access = access
        self.gate = gate
        self.name = f"sync/{owner.name}"
        self.members = [s for s in access.readable_scopes(owner) if s == GLOBAL or store.exists(s)]
        store.ensure(GLOBAL)
        self.dbs = {s: store.open(s) for s in self.members}
        self._epoch_cache: dict[str, str] | None = None
        self._lost_dbs: dict[str, Database] = {}  # scopes of the client's sequence no longer readable
        self._revoking: set[str] = set()  # members read again after a role that saw more
        self._not_lost: set[str] = set()  # scopes looked at that are no lost data area
        self._seal = seal  # the server's secret: what a sequence says of past access is signed
        # Workers' and coordinators' filters need document bodies (a coordinator sees only the
        # child protection cases they are assigned to, sync.cases); admins' only for global.
        self._needs_body = owner.role in ("worker", "coordinator")

    # -- visibility -------------------------------------------------------------------
    def _visible(self, scope: str, docid: str, doc: dict | None) -> bool:
        if not self.owner.is_admin and scope != GLOBAL and isinstance(doc, dict) and not doc.get("_deleted"):
            about = referral_about(docid, doc)
            if about is None and self.owner.role == "coordinator" and "form" not in doc:
                about = self._about_by_submission(scope, docid)  # a review or derived document without form
            if about is not None:
                return self._sees_referral(scope, docid, doc, *about)
        if not self.access.visible(self.owner, scope, doc, docid):
            return False
        if self.owner.role == "worker" and scope != GLOBAL:
            # A review is as sensitive as the submission it reviews, whatever fields
            # the reviewer put in it: the worker sees it only with that submission.
            parsed = ids.parse_doc_id(docid)
            if parsed is not None and parsed.kind == ids.REVIEW:
                sub_id = f"{parsed.scope}:{ids.SUBMISSION}:{parsed.key}"
                sub = self._winner(scope, sub_id)
                return sub is not None and self._visible(scope, sub_id, sub)
        return True

    def _sees_referral(self, scope: str, docid: str, doc: dict, referral_id: str, author: Any) -> bool:
        """A referral, its review and its derived document, once its case is open, are seen as the
        case is: its author, coordinator and team (``sync.referral_cases.need_to_know``); the
        referral's author always. Without a case, the rule for sensitive forms (coordinators of
        the area and the author). Only these documents pay a read of the case."""
        if author == self.owner.name:
            return True
        cid = case_id(referral_id)
        case = self._winner(scope, cid) if cid else None
        if case is None or case.get("_deleted"):
            return self.access.visible(self.owner, scope, doc, docid)
        return self.owner.name in cases.members(case)

    def _about_by_submission(self, scope: str, docid: str) -> tuple[str, Any] | None:
        parsed = ids.parse_doc_id(docid)
        if parsed is None or parsed.kind not in (ids.REVIEW, ids.DERIVED):
            return None
        sub_id = f"{parsed.scope}:{ids.SUBMISSION}:{parsed.key}"
        return referral_about(sub_id, self._winner(scope, sub_id))

    def _needs_doc(self, scope: str) -> bool:
        return not self.owner.is_admin and (scope == GLOBAL or self._needs_body)

    def _winner(self, scope: str, docid: str) -> dict | None:
        try:
            return self.dbs[scope].get(docid)
        except NotFound:
            try:
                found = self.dbs[scope].open_revs(docid, None)
            except NotFound:
                return None
            oks = [f["ok"] for f in found if "ok" in f]
            return oks[0] if oks else None

    def _winner_facts(self, scope: str, winners: dict[str, str | None]) -> dict[str, dict | None]:
        """docid -> what the visibility rules read of its winning revision (None: no such document).

        ``winners`` maps each id to its winning revision when the caller knows it
        (a changes row, an ``all_docs`` row), else None. Known revisions come from
        ``FACTS``; the rest are read together (``all_docs`` with keys: one request on
        CouchDB); a tombstone or a document gone meanwhile is looked at one by one,
        as ``_reachable`` does.
        """
        db = self.dbs[scope]
        epoch = db.epoch()
        out: dict[str, dict | None] = {}
        unknown = []
        for docid, rev in winners.items():
            found = FACTS.get((epoch, docid, rev)) if rev is not None else None
            if found is None:
                unknown.append(docid)
            else:
                out[docid] = found
        if unknown:
            for row in db.all_docs(keys=unknown, include_docs=True):
                doc = row.get("doc")
                if doc:
                    out[row["key"]] = FACTS.put((epoch, row["key"], doc["_rev"]), doc)
            for docid in unknown:
                if docid not in out:
                    doc = self._winner(scope, docid)
                    out[docid] = None if doc is None else FACTS.put((epoch, docid, doc["_rev"]), doc)
        return out

    def _reachable(self, docid: str) -> str:
        """The member scope of a document the owner may see; NotFound otherwise."""
        scope = scope_of(docid)
        if scope not in self.dbs:
            raise NotFound("missing")
        if self._needs_doc(scope):
            doc = self._winner(scope, docid)
            if doc is None or not self._visible(scope, docid, doc):
                raise NotFound("missing")
        return scope

    # -- database -----------------------------------------------------------------------
    def info(self) -> dict:
        vector = {s: self._recent_update_seq(s, db) for s, db in self.dbs.items()}
        info: dict = {"db_name": self.name, "update_seq": self._encode(vector), "purge_seq": 0,
                      "instance_start_time": "0", "members": list(self.members)}
        if self.owner.role == "worker":
            info.update(doc_count=None, doc_del_count=None)  # counts would reveal hidden documents
        else:
            infos = [db.info() for db in self.dbs.values()]
            info.update(doc_count=sum(i["doc_count"] for i in infos),
                        doc_del_count=sum(i["doc_del_count"] for i in infos))
        return info

    def update_seq(self) -> str:
        return self._encode({s: db.update_seq() for s, db in self.dbs.items()})

    def _recent_update_seq(self, scope: str, db: Database) -> Any:
        """A member's update sequence as read at most the store's ``default_cache_seconds`` ago.

        PouchDB asks for the database's info before every batch it pulls, and on
        CouchDB each member's sequence is a round trip (15% of what a crowd of
        devices made fieldsync send CouchDB). Only the info's ``update_seq`` is
        answered so: an older sequence can only make a reader start earlier.
        """
        quiet = QUIET.update_seq(self.store, scope, db.update_seq)  # global: exact, see sync.quiet
        if quiet is not None:
            return quiet
        seconds = getattr(self.store, "default_cache_seconds", 0)
        if not seconds:
            return db.update_seq()
        key = (id(self.store), scope)
        seq = _RECENT_SEQS.get(key)
        if seq is None or _RECENT_SEQS.seconds != seconds:
            _RECENT_SEQS.seconds = seconds
            seq = db.update_seq()
            _RECENT_SEQS.put(key, seq)
        return seq

    def _epochs(self) -> dict[str, str]:
        """Each scope's epoch, with the role the sequence is issued to (``<epoch>/<role>``).

        What a user sees of a scope depends on the role: after a role change every
        scope is read again from its beginning, so that a worker made coordinator
        gets the cases that were hidden from her.
        """
        if self._epoch_cache is None:
            self._epoch_cache = {s: self._signed(s, db.epoch(), self.owner.role) for s, db in self.dbs.items()}
        return self._epoch_cache

    def _mac(self, scope: str, epoch: str, label: str) -> str:
        msg = f"{self.owner.name}\0{scope}\0{epoch}\0{label}".encode()
        return hmac.new(self._seal, msg, hashlib.sha256).hexdigest()[:16]

    def _signed(self, scope: str, epoch: str, label: str) -> str:
        """``<epoch>/<label>/<mac>``: a sequence entry whose label (the role it was issued to, or a
        sweep) the server can trust later. Only revocation relies on it: a forged entry must not
        make the replica offer tombstones (ids, revision histories) of what the owner never saw."""
        return f"{epoch}/{label}/{self._mac(scope, epoch, label)}"

    def _verified(self, scope: str, entry: str) -> tuple[str, str] | None:
        """``(epoch, label)`` of an entry this replica signed for this owner; None otherwise."""
        epoch, _, rest = entry.partition("/")
        label, _, mac = rest.partition("/")
        if mac and hmac.compare_digest(mac, self._mac(scope, epoch, label)):
            return epoch, label
        return None

    def _vector(self, value: Any) -> dict[str, Any]:
        """``{scope: seq}`` to resume from; an entry of another epoch is translated or dropped.

        Dropping means reading that scope from its beginning: the replica gets
        documents it may already have (``_revs_diff`` makes that cheap), never
        fewer than it should.
        """
        epochs = self._epochs()
        vector: dict[str, Any] = {}
        for scope, (epoch, seq) in decode_seq(value).items():
            db = self.dbs.get(scope)
            if db is None:
                sweep = self._lost(scope, epoch, seq)
                if sweep is not None:
                    vector[scope] = sweep
                continue
            base, _, rest = epoch.partition("/")
            role = rest.partition("/")[0]  # (an entry of before the signature: "<epoch>/<role>")
            current, _, mine = epochs[scope].partition("/")
            my_role = mine.partition("/")[0]
            if role == SWEEP_LABEL:
                continue  # regained half way through its sweep: read from its beginning
            if role != my_role:
                # Issued under another role: read the scope again; if that role saw what this
                # one may not, what it may not is taken off the device as it goes.
                if role == my_role + REVOKING or (role in ("coordinator", "admin") and my_role == "worker"
                                                  and self._verified(scope, epoch)):
                    if self._verified(scope, epoch):
                        self._revoking.add(scope)  # kept in the vector, so its pages resume revoking
                        resume = role == my_role + REVOKING and base == current
                        vector[scope] = db.parse_since(seq) if resume else 0
                continue
            if base == current:
                vector[scope] = db.parse_since(seq)
            else:
                translated = db.translate_seq(base, seq)
                if translated is not None:
                    vector[scope] = db.parse_since(translated)
        return vector

    def _encode(self, vector: dict[str, Any]) -> str:
        if not self._lost_dbs and not self._revoking:
            return encode_seq(vector, self._epochs())
        epochs, plain = dict(self._epochs()), {}
        for scope in self._revoking:
            epochs[scope] = self._signed(scope, self.dbs[scope].epoch(), self.owner.role + REVOKING)
        for scope, seq in vector.items():
            if isinstance(seq, Sweep):
                epochs[scope] = self._signed(scope, self._lost_dbs[scope].epoch(), SWEEP_LABEL)
                seq = orjson.dumps([seq.since, seq.position]).decode()
            plain[scope] = seq
        return encode_seq(plain, epochs)

    # -- revocation (sync.replica.revocation) ----------------------------------------------
    def _lost_db(self, scope: str) -> Database | None:
        """A data area the owner can no longer read, opened; None for anything else."""
        db = self._lost_dbs.get(scope)
        if db is None and scope not in self.dbs and scope not in self._not_lost:
            if scope in self.access.areas.tree().data_scopes():
                try:
                    db = self._lost_dbs[scope] = self.store.open(scope)
                except NotFound:
                    pass
            if db is None:
                self._not_lost.add(scope)  # asked once per request (a pushed batch names many ids)
        return db

    def _lost(self, scope: str, epoch: str, seq: Any) -> Sweep | None:
        """Where the sweep of a scope the client pulled from and the owner lost stands."""
        verified = self._verified(scope, epoch)
        if verified is None:
            return None  # not issued to this owner by this server: nothing to take back
        db = self._lost_db(scope)
        if db is None:
            return None
        base, label = verified
        current = db.epoch()
        try:
            if label == SWEEP_LABEL:
                if base != current or not isinstance(seq, str):
                    return Sweep(None)
                since, position = orjson.loads(seq)
                return Sweep(None if since is None else db.parse_since(since), db.parse_since(position))
            since = seq if base == current else db.translate_seq(base, seq)
            return Sweep(None if since is None else db.parse_since(since))
        except (BadRequest, ValueError, TypeError, orjson.JSONDecodeError):
            return Sweep(None)  # sweep from the start, over every document

    def _tombstone(self, docid: str, rev: Any) -> dict | None:
        """The revocation tombstone ``rev`` of ``docid``, if that is what it names (else None)."""
        scope = scope_of(docid)
        if not isinstance(rev, str) or scope is None or scope == GLOBAL:
            return None
        db = self.dbs.get(scope) or self._lost_db(scope)
        if db is None:
            return None
        try:
            winner = db.get(docid, revs=True)
            if tombstone_rev(docid, winner["_rev"]) == rev:
                return tombstone_doc(docid, winner)
            # A conflicting leaf the device may hold has a tombstone of its own.
            for found in db.open_revs(docid, None, revisions=True):
                leaf = found.get("ok")
                if leaf is not None and tombstone_rev(docid, leaf["_rev"]) == rev:
                    return tombstone_doc(docid, leaf)
        except (NotFound, BadRequest, ValueError):
            return None
        return None

    def _tombstones_present(self, out: dict[str, dict]) -> None:
        """Mark the revocation tombstones a device names in ``_revs_diff`` as present: never sent back."""
        by_scope: dict[str, list[str]] = {}
        for docid in out:
            scope = scope_of(docid)
            if scope is not None and scope not in self.dbs and self._lost_db(scope) is not None:
                by_scope.setdefault(scope, []).append(docid)
        for scope, docids in by_scope.items():
            for row in self._lost_dbs[scope].all_docs(keys=docids):
                if "value" not in row or row["value"].get("deleted"):
                    continue
                mine = tombstone_rev(row["key"], row["value"]["rev"])
                # Not the winner's: a conflicting leaf's, rarely (each looked at on its own).
                missing = [r for r in out[row["key"]]["missing"]
                           if r != mine and (r.split("-", 1)[0] == "1" or self._tombstone(row["key"], r) is None)]
                if missing:
                    out[row["key"]]["missing"] = missing
                else:
                    del out[row["key"]]

    def parse_since(self, value: Any) -> str:
        """A client's ``since`` checked and in canonical form (scopes no longer readable dropped)."""
        return self._encode(self._vector(value))

    # -- writes ---------------------------------------------------------------------------
    def bulk_docs(self, docs: list[Doc], *, new_edits: bool = True) -> list[dict]:
        known: dict[str, dict[str, Doc]] = {}  # scope -> winners read for the gate (see _not_yet_stored)
        if not new_edits:
            # A tombstone this replica showed, sent back: it never existed on the server and
            # must not delete anything there; taken as already stored.
            docs = self._not_yet_stored([d for d in docs if not is_pushed_tombstone(d)], known)
        groups: dict[str | None, list[int]] = {}
        for i, doc in enumerate(docs):
            # Scopes outside the replica are refused below; the gate checks the rest.
            scope = scope_of(doc["_id"])
            groups.setdefault(scope if scope in self.dbs else None, []).append(i)
        answers: dict[int, dict] = {}
        errors: list[dict] = []
        for scope, idxs in groups.items():
            batch = [docs[i] for i in idxs]
            if scope is None:
                results = [r for doc in batch for r in self.gate.refuse(
                    self.actor, [doc], new_edits=new_edits, reason=self._no_scope_reason(doc["_id"]))]
            else:
                results = self.gate.write(self.actor, self.dbs[scope], batch, new_edits=new_edits,
                                          known=known.get(scope))
                self._remember_written(scope, batch, results, new_edits)
            if new_edits:
                answers.update(zip(idxs, results, strict=True))
            else:
                errors.extend(results)
        return [answers[i] for i in range(len(docs))] if new_edits else errors

    def _remember_written(self, scope: str, batch: list[Doc], results: list[dict], new_edits: bool) -> None:
        """What the visibility rules read of each revision stored: the next pulls need not read it."""
        epoch = self.dbs[scope].epoch()
        for doc in batch:  # a winner a feed listed may be one no longer (_kept_winners)
            LISTED.drop((epoch, doc["_id"]))
        if new_edits:
            for doc, result in zip(batch, results, strict=True):
                if result.get("ok") and result.get("rev"):
                    FACTS.put((epoch, doc["_id"], result["rev"]), doc)
            return
        failed = {(r.get("id"), r.get("rev")) for r in results}
        keeps = self.store.remote
        for doc in batch:
            if doc.get("_rev") and (doc["_id"], doc["_rev"]) not in failed and (doc["_id"], None) not in failed:
                FACTS.put((epoch, doc["_id"], doc["_rev"]), doc)
                if keeps and (body := pushed_body(doc)) is not None:
                    BODIES.put((epoch, doc["_id"], doc["_rev"]), body)

    def _not_yet_stored(self, docs: list[Doc], known: dict[str, dict[str, Doc]]) -> list[Doc]:
        """Drop replicated revisions the server already holds: storing them is a no-op anyway.

        ``_revs_diff`` calls every document outside the replica "missing", so a device
        that moved to another soum, or lost sight of some documents, sends back what it
        holds of them; refusing those would fill the quarantine with copies of documents
        the server has. Naming an existing revision id takes having had the document,
        so accepting it silently tells nothing new.

        For a member scope the gate reads the batch's winners anyway (who owns what is
        written): they are read here instead, into ``known[scope]``, and settle most
        revisions without ``_revs_diff`` (an id with no document at all, or whose winner is
        the revision pushed); on CouchDB a push batch was a ``_revs_diff`` and an
        ``_all_docs`` before its ``_bulk_docs``, now mostly the ``_all_docs`` alone. That
        ``_all_docs`` by keys looks each key up alone, so CouchDB is first asked which ids
        it holds at all (``Database.leaves``, one ``_revs_diff``), and only those are read.
        """
        by_scope: dict[str, dict[str, list[str]]] = {}
        for doc in docs:
            scope = scope_of(doc["_id"])
            if scope is not None and doc.get("_rev"):
                by_scope.setdefault(scope, {}).setdefault(doc["_id"], []).append(doc["_rev"])
        stored: set[tuple[str, str]] = set()
        for scope, wanted in by_scope.items():
            db = self.dbs.get(scope)
            if db is None:
                if not self.store.exists(scope):
                    continue
                db = self.store.open(scope)
            elif not self.actor.is_admin:  # (the gate reads no winners for an admin)
                ids_here = list(dict.fromkeys(d["_id"] for d in docs if scope_of(d["_id"]) == scope))
                winners, present = known.setdefault(scope, {}), set()
                there = db.leaves(ids_here)  # on CouchDB: read only the documents it holds
                to_read = ids_here if there is None else [d for d in ids_here if d in there]
                for row in db.all_docs(keys=to_read, include_docs=True) if to_read else ():
                    if "value" in row:
                        present.add(row["key"])
                        stored |= {(row["key"], r) for r in wanted.get(row["key"], ()) if r == row["value"]["rev"]}
                    if row.get("doc"):
                        winners[row["key"]] = row["doc"]
                wanted = {d: revs for d, revs in wanted.items()
                          if d in present and any((d, r) not in stored for r in revs)}
                if not wanted:
                    continue
            missing = db.revs_diff(wanted)
            stored |= {(docid, rev) for docid, revs in wanted.items() for rev in revs
                       if rev not in missing.get(docid, {}).get("missing", ())}
        return [d for d in docs if (d["_id"], d.get("_rev")) not in stored] if stored else docs

    def _no_scope_reason(self, docid: str) -> str:
        scope = scope_of(docid)
        if docid.startswith("_design/"):
            return text("design_scope_only")
        if scope is None:
            return text("bad_id_replica", docid=docid,
                        areas=", ".join(s for s in self.members if s != GLOBAL) or "-")
        return text("not_assigned", scope=scope)

    # -- reads ----------------------------------------------------------------------------
    def get(self, docid: str, **opts) -> Doc:
        scope = self._reachable(docid)
        return self.dbs[scope].get(docid, **opts)

    def open_revs(self, docid: str, revs: list[str] | None, **opts) -> list[dict]:
        revisions = bool(opts.get("revisions"))
        try:
            scope = self._reachable(docid)
        except NotFound:
            if revs is None:
                raise
            return [{"ok": tomb} if (tomb := self._given_tombstone(docid, r, revisions)) else {"missing": r}
                    for r in revs]
        found = self.dbs[scope].open_revs(docid, revs, **opts)
        if revs is None or not any("missing" in f for f in found):
            return found
        # A revocation tombstone another process's feed listed, asked of a process that still
        # shows the document: given, as _bulk_get gives it (bulk_get below).
        return [{"ok": tomb} if "missing" in f and (tomb := self._given_tombstone(docid, f["missing"], revisions))
                else f for f in found]

    def bulk_get(self, items: list[dict], *, revisions: bool = False, attachments: bool = False,
                 latest: bool = False) -> Iterator[dict]:
        """As ``Database.bulk_get``, but a body answered from what this server keeps
        (``sync.replica.bodies``) comes as an ``orjson.Fragment``: JSON to send as it is.
        The ``/sync/<user>`` route, its one caller, only sends what it gets."""
        by_scope: dict[str, list[int]] = {}
        hidden: set[int] = set()
        for i, item in enumerate(items):
            scope = scope_of(item["id"])
            if scope in self.dbs:
                by_scope.setdefault(scope, []).append(i)
            else:
                hidden.add(i)
        answers: dict[int, dict] = {}
        opts = {"revisions": revisions, "attachments": attachments, "latest": latest}
        for scope, idxs in by_scope.items():
            db = self.dbs[scope]
            if not self._needs_doc(scope):
                answers.update(zip(idxs, db.bulk_get([items[i] for i in idxs], **opts), strict=True))
                continue
            got, winners = self._bulk_get_with_winners(db, [items[i] for i in idxs], opts)
            answers.update(zip(idxs, got, strict=True))
            facts = self._winner_facts(scope, {d: r for d, r in winners.items() if r is not None})
            for i in idxs:
                docid = items[i]["id"]
                doc = facts.get(docid)
                if doc is None or not self._visible(scope, docid, doc):
                    hidden.add(i)
        for i, item in enumerate(items):
            if i in hidden:
                yield self._tombstone_result(item, revisions) or bulk_get_result(
                    item["id"], [{"missing": item.get("rev") or "undefined"}])
            elif item.get("rev") and not any("ok" in d for d in answers[i].get("docs", ())):
                # A revocation tombstone a feed showed, asked for where the document still looks
                # visible: another process, whose account memo (a second on CouchDB) still gave
                # the user the area or the case, or one that learnt it later. Answered as the
                # feed promised: "missing" would make PouchDB abort the whole pull.
                yield self._tombstone_result(item, revisions) or answers[i]
            else:
                yield answers[i]

    def _tombstone_result(self, item: dict, revisions: bool) -> dict | None:
        """The ``_bulk_get`` result of the revocation tombstone ``item`` asks for, if it names one."""
        tomb = self._given_tombstone(item["id"], item.get("rev"), revisions)
        return None if tomb is None else bulk_get_result(item["id"], [{"ok": tomb}])

    def _given_tombstone(self, docid: str, rev: Any, revisions: bool) -> dict | None:
        """The revocation tombstone ``rev`` names, as a read answers it (its history if asked for)."""
        tomb = self._tombstone(docid, rev)
        if tomb is not None and not revisions:
            tomb.pop("_revisions")
        return tomb

    def _bulk_get_with_winners(self, db: Database, items: list[dict], opts: dict[str, bool]
                               ) -> tuple[list[dict], dict[str, str | None]]:
        """The answers to ``items``, and each document's winning revision (visibility is decided
        on the winner).

        A replicator asks for the revisions the ``_changes`` before it listed, which are
        nearly always the winners themselves: so each document asked for once is read
        by id (its winner) rather than by revision, and where that winner is the
        revision asked for it is the answer too. Only the rest (a loser of a conflict,
        a revision since replaced, a tombstone, an id asked for twice) is read again by
        revision, with its winner looked up beside it. On CouchDB the lookup of
        winners (``_all_docs`` with keys, a document opened per key) had cost as much
        as the ``_bulk_get`` itself on every pulled batch.
        """
        count: dict[str, int] = {}
        for item in items:
            count[item["id"]] = count.get(item["id"], 0) + 1
        keeps = self.store.remote and opts["revisions"] and not opts["attachments"]
        got, winners = self._kept_winners(db, items, count) if keeps else ({}, {})
        kept = set(got)
        single = [n for n, item in enumerate(items) if count[item["id"]] == 1 and n not in got]
        if single:
            by_id = [{"id": items[n]["id"], "atts_since": items[n].get("atts_since")} for n in single]
            for n, result in zip(single, db.bulk_get(by_id, **{**opts, "latest": False}), strict=True):
                winner = (result.get("docs") or [{}])[0].get("ok")
                if winner is None or winner.get("_deleted"):
                    continue
                winners[items[n]["id"]] = winner["_rev"]
                if items[n].get("rev") in (None, winner["_rev"]):
                    got[n] = result
        rest = [n for n in range(len(items)) if n not in got]
        if rest:
            unknown = [d for d in dict.fromkeys(items[n]["id"] for n in rest) if d not in winners]
            read_winners = (alongside(self.store, lambda keys=unknown: list(db.all_docs(keys=keys)))
                            if unknown else None)
            got.update(zip(rest, db.bulk_get([items[n] for n in rest], **opts), strict=True))
            if read_winners is not None:
                for row in read_winners():
                    if "value" in row:
                        winners[row["key"]] = row["value"]["rev"]
        epoch = db.epoch()
        for n, result in got.items():
            if n in kept:
                continue
            for entry in result.get("docs", ()):
                doc = entry.get("ok")
                if doc is not None:
                    FACTS.put((epoch, result["id"], doc["_rev"]), doc)
                    if keeps and keepable(doc):
                        BODIES.put((epoch, result["id"], doc["_rev"]), doc)
        return [got[n] for n in range(len(items))], winners

    def _kept_winners(self, db: Database, items: list[dict], count: dict[str, int]
                      ) -> tuple[dict[int, dict], dict[str, str | None]]:
        """The answers to the items whose revision is a body this process keeps
        (``sync.replica.bodies``) and the document's winner, with those winners.

        A winner a changes read in this process listed a moment ago is taken as it is:
        a replicator asks for what the feed it just read listed, and the feed showed the
        document to this owner by that winner. For the other kept ones (the feed was read
        through another process) the store is asked for the documents' leaves
        (``Database.leaves``: one ``_revs_diff`` on CouchDB, no body read): a revision that
        is its document's only leaf is its winner. Reading the winners themselves
        (``_all_docs`` by keys) cost CouchDB more than the ``_bulk_get`` it would spare.
        Visibility is still decided on the winner here; everything else is read as before.
        """
        epoch = db.epoch()
        got: dict[int, dict] = {}
        winners: dict[str, str | None] = {}
        kept: dict[int, bytes] = {}
        unlisted: list[int] = []
        for n, item in enumerate(items):
            docid, rev = item["id"], item.get("rev")
            if count[docid] != 1 or not rev:
                continue
            raw = BODIES.raw((epoch, docid, rev))
            if raw is None:
                continue
            kept[n] = raw
            if LISTED.get((epoch, docid)) != rev:
                unlisted.append(n)
        if unlisted:
            leaves = db.leaves([items[n]["id"] for n in unlisted]) or {}
            for n in unlisted:
                if leaves.get(items[n]["id"]) != [items[n]["rev"]]:
                    del kept[n]
        for n, raw in kept.items():
            docid = items[n]["id"]
            got[n] = {"id": docid, "docs": [{"ok": orjson.Fragment(raw)}]}
            winners[docid] = items[n]["rev"]
        return got, winners

    def revs_diff(self, request: dict[str, list[str]]) -> dict[str, dict]:
        by_scope: dict[str, dict[str, list[str]]] = {}
        out: dict[str, dict] = {}
        for docid, revs in request.items():
            scope = scope_of(docid)
            if scope in self.dbs:
                by_scope.setdefault(scope, {})[docid] = revs
            else:
                out[docid] = {"missing": list(dict.fromkeys(revs))}
        for scope, part in by_scope.items():
            diff = self.dbs[scope].revs_diff(part)
            if self._needs_doc(scope):
                for docid, revs in part.items():
                    known = docid not in diff or set(diff[docid]["missing"]) != set(revs)
                    if known and not self._visible(scope, docid, self._winner(scope, docid)):
                        diff[docid] = {"missing": list(dict.fromkeys(revs))}
            out.update(diff)
        if len(by_scope) < len({scope_of(d) for d in request}):  # some scope outside the replica
            self._tombstones_present(out)
        return out

    def get_attachment(self, docid: str, name: str, rev: str | None = None) -> tuple[dict, bytes]:
        scope = self._reachable(docid)
        return self.dbs[scope].get_attachment(docid, name, rev)

    # -- feeds ----------------------------------------------------------------------------
    def changes(self, since: Any = 0, *, limit: int | None = None, style: str = "main_only",
                include_docs: bool = False, conflicts: bool = False, attachments: bool = False,
                doc_ids: Iterable[str] | None = None, descending: bool = False,
                timeout: float | None = None) -> Changes:
        """The members' changes one after the other, filtered; ``descending`` is not served.

        With a ``timeout``, rounds of reads are repeated until one lists a row the
        owner may see: a change hidden from the owner moves the vector past it
        (its member's ``last_seq``) without waking the reader.
        """
        read = _UnionRead(self, style=style, include_docs=include_docs, conflicts=conflicts,
                          attachments=attachments, doc_ids=doc_ids)
        return Changes(read.rows(self._vector(since), limit, timeout))

    def all_docs(self, *, keys: list[str] | None = None, startkey: str | None = None,
                 endkey: str | None = None, inclusive_end: bool = True, descending: bool = False,
                 limit: int | None = None, skip: int = 0, include_docs: bool = False,
                 conflicts: bool = False, attachments: bool = False) -> Iterator[dict]:
        if keys is not None:
            for key in keys:
                try:
                    if not isinstance(key, str):
                        raise NotFound()
                    scope = self._reachable(key)
                except NotFound:
                    yield {"key": key, "error": "not_found"}
                    continue
                yield from self.dbs[scope].all_docs(keys=[key], include_docs=include_docs,
                                                    conflicts=conflicts, attachments=attachments)
            return
        streams = []
        for scope, db in self.dbs.items():
            need_doc = self._needs_doc(scope)
            rows = db.all_docs(startkey=startkey, endkey=endkey, inclusive_end=inclusive_end,
                               descending=descending, include_docs=include_docs or need_doc,
                               conflicts=conflicts, attachments=attachments)
            streams.append(self._filtered_rows(scope, rows, need_doc, include_docs))
        merged = heapq.merge(*streams, key=lambda r: r["id"], reverse=descending)
        to_skip, sent = skip, 0
        for row in merged:
            if to_skip:
                to_skip -= 1
                continue
            yield row
            sent += 1
            if limit is not None and sent >= limit:
                return

    def _filtered_rows(self, scope: str, rows: Iterator[dict], need_doc: bool,
                       include_docs: bool) -> Iterator[dict]:
        filtered = need_doc or not self.owner.is_admin
        for row in rows:
            if filtered and not self._visible(scope, row["id"], row.get("doc")):
                continue
            if not include_docs:
                row.pop("doc", None)
            yield row

    # -- _local: checkpoints are the user's own -------------------------------------------
    def _local_db(self) -> Database:
        return self.store.ensure(CHECKPOINT_SCOPE)

    def _local_id(self, docid: str) -> str:
        return f"{self.owner.name}/{docid}"

    def get_local(self, docid: str) -> Doc:
        doc = self._local_db().get_local(self._local_id(docid))
        doc["_id"] = f"_local/{docid}"
        return doc

    def put_local(self, docid: str, body: Doc) -> str:
        return self._local_db().put_local(self._local_id(docid), body)

    def delete_local(self, docid: str, rev: str | None) -> str:
        return self._local_db().delete_local(self._local_id(docid), rev)

    def local_docs(self) -> Iterator[Doc]:
        prefix = f"_local/{self.owner.name}/"
        for doc in self._local_db().local_docs():
            if doc["_id"].startswith(prefix):
                yield {**doc, "_id": "_local/" + doc["_id"][len(prefix):]}


class _UnionRead:
    """One changes read of a user's replica: each member read in turn from its vector entry."""

    def __init__(self, replica: UserReplica, *, style: str, include_docs: bool, conflicts: bool,
                 attachments: bool, doc_ids: Iterable[str] | None):
        self.replica = replica
        self.style = style
        self.include_docs = include_docs
        self.conflicts = conflicts
        self.attachments = attachments
        self.wanted = set(doc_ids) if doc_ids is not None else None

    def rows(self, vector: dict[str, Any], limit: int | None,
             timeout: float | None) -> Generator[dict, None, str]:
        replica = self.replica
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            sent = 0
            for scope in replica.members:
                left = None if limit is None else limit - sent
                if left is not None and left <= 0:
                    break
                sent += yield from self._member(scope, vector, left)
            for scope in [s for s, seq in vector.items() if isinstance(seq, Sweep)]:
                left = None if limit is None else limit - sent
                if (left is not None and left <= 0) or self.wanted is not None:
                    break  # (a _doc_ids read leaves the sweep for a whole one)
                sent += yield from self._sweep(scope, vector, left)
            if limit is not None and sent >= limit:
                return replica._encode(vector)  # a full page ends at its last row
            if sent or deadline is None:
                return replica._encode(vector)
            left_time = deadline - time.monotonic()
            if left_time <= 0:
                return replica._encode(vector)
            replica.store.wait_for_any_change(min(left_time, 0.5))

    def _member_ids(self, scope: str) -> list[str] | None:
        if self.wanted is None:
            return None
        return [d for d in self.wanted if scope_of(d) == scope or (scope != GLOBAL and scope_of(d) is None)]

    def _member(self, scope: str, vector: dict[str, Any], limit: int | None) -> Generator[dict, None, int]:
        """The rows of one member the owner may see, at most ``limit``; ``vector[scope]`` follows.

        With a limit the member is read in pages a little larger than what is
        still wanted (hidden rows do not count), each page resuming from the
        previous one's ``last_seq``. A member sequence its store refuses
        (CouchDB answers 400 to a ``since`` it cannot unpack) is read from the
        start of the scope instead: that re-sends what the replica may have,
        and never fails a feed half way.
        """
        replica = self.replica
        ids = self._member_ids(scope)
        if ids is not None and not ids:
            return 0
        db = replica.dbs[scope]
        need_doc = replica._needs_doc(scope)
        filtered = need_doc or not replica.owner.is_admin
        lists = replica.store.remote and need_doc  # the winners _bulk_get may answer from kept bodies
        epoch = db.epoch() if lists else ""
        sent = 0
        start = vector.get(scope, 0)  # what the device has read of this member already
        while True:
            page = None if limit is None else max(limit - sent, replica.member_page)
            # The owner's rules read each row's winning revision: known revisions come from
            # FACTS, the others are read a chunk of rows at a time (not the whole body of
            # every row with include_docs, as before: CouchDB read each document twice).
            by_facts = need_doc and not self.include_docs
            since = vector.get(scope, 0)
            marker = QUIET.marker(replica.store, scope)  # before the read it vouches for
            read_key = (str(since), page, self.style, self.include_docs, self.conflicts, self.attachments,
                        None if ids is None else tuple(ids))
            answer = (QUIET.no_changes(marker, replica.store, scope, since)
                      or QUIET.answer(marker, replica.store, scope, read_key))
            try:
                if answer is None:
                    answer = db.changes(since, limit=page, style=self.style, include_docs=self.include_docs,
                                        conflicts=self.conflicts, attachments=self.attachments, doc_ids=ids)
                    if marker is not None:  # global, small: read whole, kept for the next reader
                        got = list(answer)
                        QUIET.keep(marker, replica.store, scope, read_key, got, answer.last_seq)
                        answer = replay(got, answer.last_seq)
                first = next(answer, None)
            except BadRequest:
                if vector.get(scope, 0) in (0, None):
                    raise
                vector[scope] = 0
                continue
            count = 0
            rows = itertools.chain([first], answer) if first is not None else iter(())
            while chunk := list(itertools.islice(rows, FACTS_CHUNK if by_facts else 1)):
                facts = (replica._winner_facts(scope, {r["id"]: r["changes"][0]["rev"] for r in chunk})
                         if by_facts else None)
                for row in chunk:
                    count += 1
                    vector[scope] = row["seq"]
                    if lists and not row.get("deleted"):
                        LISTED.put((epoch, row["id"]), row["changes"][0]["rev"])
                    doc = facts.get(row["id"]) if facts is not None else row.get("doc")
                    if need_doc and self.include_docs and doc is not None:
                        FACTS.put((db.epoch(), row["id"], doc["_rev"]), doc)
                    # A case that opened, or that the owner was taken off, takes its referral (and the
                    # referral's review) off the owner's device with it, and one the owner was put
                    # on brings them: they are seen as the case is.
                    extra = (self._taken_back(scope, row["id"], doc, start)
                             if filtered and start and doc is not None and not row.get("deleted")
                             and CASE_MARK in row["id"] and is_case_id(row["id"]) else [])
                    if filtered and not replica._visible(scope, row["id"], doc):
                        # A child protection case the owner was taken off (sync.cases.left_case).
                        left = not row.get("deleted") and left_case(replica.owner.name, row["id"], doc)
                        if not left and (scope not in replica._revoking or doc is None or doc.get("_deleted")
                                         or row.get("deleted") or scope_of(row["id"]) != scope):
                            row = None
                        else:
                            # Seen under the former role: taken off the device (facts carry no _rev).
                            row = self._tombstone_row(row["id"], [c["rev"] for c in row["changes"]])
                    group = [*extra, row] if row is not None else extra
                    if not group:
                        continue
                    seq = replica._encode(vector)  # the group shares its case's position: never split
                    for one in group:
                        yield {**one, "seq": seq}
                    sent += len(group)
                    if limit is not None and sent >= limit:
                        answer.close()
                        return sent
            vector[scope] = answer.last_seq
            if not count and ids is None:
                QUIET.saw_no_changes(marker, replica.store, scope, since, answer.last_seq)
            if page is None or count < page:
                replica._revoking.discard(scope)  # read to its end under the new role
                return sent

    def _taken_back(self, scope: str, case_docid: str, case: dict, start: Any) -> list[dict]:
        """Rows of the referral of this case (and of its review, its derived document) that the
        case's change may have changed for the owner: tombstones of those the owner's device may
        hold and the owner may no longer see (a coordinator of the area pulled it before the case
        opened, or the owner was taken off the case), and the documents themselves for someone
        now on the case (put on the team, handed the case), whose device passed them over when
        they were hidden and would not be shown them again until they change.

        Nothing is read for a worker who never was on the case, for the referral's author (who
        always sees it), or for a case deleted. Tombstones pass over documents first written
        after the device's last pull of the area (``start``): the device cannot hold them. Like
        every revocation tombstone, they exist only in this feed (``sync.replica.revocation``);
        a document the device has already is skipped by its replicator (``_revs_diff``).
        """
        replica = self.replica
        owner = replica.owner
        if case.get("_deleted") or owner.name == case.get("author"):
            return []
        member = owner.name in cases.members(case)
        if not member and owner.role != "coordinator" and owner.name not in (case.get("former") or []):
            return []
        referral_id = referral_of_case(case_docid)
        wanted = family(referral_id) if referral_id else []
        if self.wanted is not None:
            wanted = [d for d in wanted if d in self.wanted]
        if not wanted:
            return []
        db = replica.dbs[scope]
        leaves: dict[str, list[str]] = {}
        shown: list[dict] = []
        for row in db.all_docs(keys=wanted, include_docs=True, conflicts=True):
            doc = row.get("doc")
            if not doc or doc.get("_deleted") or referral_about(row["key"], doc) is None:
                continue
            if doc.get("author", doc.get("submission_author")) == owner.name:
                continue  # the referral's author holds it from the start
            if not replica._visible(scope, row["key"], doc):
                leaves[row["key"]] = [doc["_rev"], *(doc.get("_conflicts") or [])]
            elif member:
                shown.append(self._doc_row(doc))
        if not leaves:
            return shown
        fresh = {r["id"] for r in db.changes(start, doc_ids=list(leaves)) if r["changes"][0]["rev"].startswith("1-")}
        return [*shown, *(self._tombstone_row(docid, revs) for docid, revs in leaves.items() if docid not in fresh)]

    def _doc_row(self, doc: dict) -> dict:
        """A changes row of ``doc``'s winning revision (its other leaves too for ``style=all_docs``)."""
        conflicts = doc.get("_conflicts") or []
        revs = [doc["_rev"], *conflicts] if self.style == "all_docs" else [doc["_rev"]]
        row: dict[str, Any] = {"id": doc["_id"], "changes": [{"rev": r} for r in revs]}
        if self.include_docs:
            row["doc"] = doc if self.conflicts or not conflicts else {k: v for k, v in doc.items() if k != "_conflicts"}
        return row

    def _tombstone_row(self, docid: str, parents: list[str]) -> dict:
        """One deleted child per leaf listed (the winner first): a conflicting revision the
        device holds would otherwise become its winner and keep the document there."""
        revs = [tombstone_rev(docid, p) for p in parents]
        row = {"id": docid, "changes": [{"rev": r} for r in revs], "deleted": True}
        if self.include_docs:
            row["doc"] = {"_id": docid, "_rev": revs[0], "_deleted": True}
        return row

    def _sweep(self, scope: str, vector: dict[str, Any], limit: int | None) -> Generator[dict, None, int]:
        """A tombstone row for each document of a lost scope the owner could have pulled; at the
        end the scope leaves the vector, so the sweep happens once.

        Documents the owner's rules would not show (another worker's case) and documents deleted
        on the server are passed over, and so are documents created after the device last read
        the scope (a first revision changed after ``since``): the device cannot have them.
        """
        replica = self.replica
        state: Sweep = vector[scope]
        db = replica._lost_dbs[scope]
        fresh: set[str] = set()
        if state.since is not None:
            fresh = {row["id"] for row in db.changes(state.since) if row["changes"][0]["rev"].startswith("1-")}
        sent = 0
        while True:
            page = None if limit is None else max(limit - sent, replica.member_page)
            answer = db.changes(state.position, limit=page, include_docs=True, style="all_docs")
            count = 0
            for row in answer:
                count += 1
                state.position = row["seq"]
                doc = row.get("doc")
                if row.get("deleted") or doc is None or row["id"] in fresh \
                        or not replica.access.visible(replica.owner, scope, doc, row["id"]):
                    continue
                leaves = [doc["_rev"], *(c["rev"] for c in row["changes"] if c["rev"] != doc["_rev"])]
                yield {**self._tombstone_row(row["id"], leaves), "seq": replica._encode(vector)}
                sent += 1
                if limit is not None and sent >= limit:
                    answer.close()
                    return sent
            state.position = answer.last_seq
            if page is None or count < page:
                break
        del vector[scope]
        return sent
