"""Conflicts in area scopes: merged by the server when the edits are disjoint,
held for a person when they overlap.

When it runs. The write gate calls ``before_write`` and ``after_write``
around every write into an area scope, in the request that writes. Before,
it keeps the body of each leaf the batch's edits take the place of (a merge
base, ``bases``); after, each document the batch may have put in conflict (an
edit that did not extend a current leaf, or one of a document already in
conflict) is settled at once: merged, or noted for a person (``index``).
Everything it reads and writes is in the store, so any number of app
servers can do it side by side: two servers merging the same conflict write
the same revisions (revision ids are digests of the edit, on both stores),
and the later one finds nothing left to do.

How it merges. The merged body (``fields.plan``) is written as a child of
the winning revision and every other live leaf is deleted, so each device
receives one new revision on top of what it had and a deletion of the branch
it did not have: nothing for its own merge logic to pick between, no new
conflict. A merged submission must still pass its form (two answers that are
fine apart can break a rule together); if it does not, a person decides.
Every merge and every resolution is in the audit trail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync import ids, records
from sync.audit import SERVER, Audit
from sync.conflicts.bases import MergeBases
from sync.conflicts.fields import (
    MISSING,
    Appended,
    FieldChoice,
    Path,
    comparable,
    merged_body,
    parse_pointer,
    plan,
    same,
)
from sync.conflicts.index import ConflictIndex
from sync.derived import DerivedValues
from sync.errors import BadRequest, Conflict, NotFound
from sync.revtree import rev_gen, winner_key
from sync.scopes import GLOBAL
from sync.stores.base import Database, Store

log = logging.getLogger("fieldsync.conflicts")
MERGEABLE_KINDS = ids.FIELD_KINDS | {ids.REVIEW}
# Lists each side only adds to: a review's comment thread and its history get every side's entries.
APPEND_ONLY = {ids.REVIEW: frozenset({("comments",), ("history",)})}


def mergeable(docid: str, scope: str) -> bool:
    """Documents of an area the server may merge: field data and reviews, in their own area."""
    parsed = ids.parse_doc_id(docid)
    return (parsed is not None and parsed.scope == scope and scope != GLOBAL
            and parsed.kind in MERGEABLE_KINDS)


def _path_of(doc: dict) -> list[str]:
    revs = doc.get("_revisions")
    if not revs:
        return [doc["_rev"]]
    return [f"{revs['start'] - i}-{h}" for i, h in enumerate(revs["ids"])]


@dataclass
class Leaf:
    rev: str
    doc: dict
    path: list[str]  # the revision and its known ancestors, newest first


@dataclass
class ConflictView:
    """A document in conflict as a person sees it: its live leaves (the winner
    first), the base they share, and every field where they differ."""

    scope: str
    doc_id: str
    leaves: list[Leaf]
    base_rev: str | None
    base: dict | None
    fields: list[FieldChoice] = field(default_factory=list)

    @property
    def mergeable(self) -> bool:
        return all(not f.overlapping for f in self.fields)

    @property
    def overlapping(self) -> list[str]:
        return [f.pointer for f in self.fields if f.overlapping]

    def to_json(self) -> dict:
        def shown(value: Any) -> Any:
            return None if value is MISSING else value

        revs = [leaf.rev for leaf in self.leaves]
        return {
            "id": self.doc_id, "scope": self.scope, "winner": revs[0], "revs": revs,
            "base_rev": self.base_rev if self.base is not None else None,
            "mergeable": self.mergeable,
            "fields": [{"field": f.pointer, "rule": f.rule,
                        "values": {rev: {"present": v is not MISSING, "value": shown(v)}
                                   for rev, v in zip(revs, f.values, strict=True)},
                        "base": None if self.base is None else {"present": f.base is not MISSING,
                                                                "value": shown(f.base)},
                        "suggested": revs[f.choice] if f.choice is not None else None,
                        **({"appended": f.merged} if f.rule == "appended" else {})}
                       for f in self.fields],
        }


class Conflicts:
    def __init__(self, store: Store, audit: Audit, forms: Any = None):
        self.store = store
        self.audit = audit
        self.forms = forms  # sync.forms.FormRegistry: a merged submission must pass its form
        self.bases = MergeBases(store)
        self.index = ConflictIndex(store)
        # Told of each merged submission revision written, as the gate tells of what it stores
        # (``WriteGate.receipts``): the revision history names who merged or resolved it.
        self.receipts: Callable[[str, list[tuple[str, str]]], None] | None = None

    # -- around a write (the gate) ---------------------------------------------------------
    def before_write(self, db: Database, docs: list[dict], *, new_edits: bool) -> list[str]:
        """Keep the bodies this batch's edits replace; return the ids to settle afterwards."""
        parents: dict[str, set[str]] = {}
        heads: dict[str, set[str]] = {}
        for doc in docs:
            if not mergeable(doc["_id"], db.name):
                continue
            if new_edits:
                path = [doc["_rev"]] if doc.get("_rev") else []
                head = None
            else:
                full = doc.get("_revisions") or [doc["_rev"]]
                path, head = full[1:], full[0]
            if path:  # a document's first revision replaces nothing and conflicts with nothing
                parents.setdefault(doc["_id"], set()).update(path)
                heads.setdefault(doc["_id"], set()).add(head)
        if not parents:
            return []
        keep: list[tuple[str, str, dict]] = []
        watch: list[str] = []
        for row in db.all_docs(keys=list(parents), include_docs=True, conflicts=True):
            current = row.get("doc")
            if not current:
                continue  # new here, or deleted: nothing is replaced
            docid, ancestors = row["id"], parents[row["id"]]
            losers = current.get("_conflicts") or []
            if heads[docid] <= {current["_rev"], *losers}:
                continue  # revisions it already has: the write changes nothing
            if current["_rev"] in ancestors:
                keep.append((docid, current["_rev"], current))
            replaced = [r for r in losers if r in ancestors]
            if replaced:
                for found in db.open_revs(docid, replaced):
                    if "ok" in found:
                        keep.append((docid, found["ok"]["_rev"], found["ok"]))
            if losers or len(heads[docid]) > 1 or (current["_rev"] not in ancestors and not replaced):
                watch.append(docid)  # a new branch (or two), or a document already in conflict
        if keep:
            try:
                self.bases.remember(keep)
            except Exception:  # the write must go on; a later conflict then goes to a person
                log.exception("could not keep merge bases")
        return watch

    def after_write(self, db: Database, docids: list[str], *, user: str) -> dict[str, str]:
        """Settle each document that may now be in conflict; never fails the write."""
        outcomes = {}
        for docid in docids:
            try:
                outcomes[docid] = self.settle(db, docid, on_behalf_of=user)
            except Exception:  # the write succeeded; the conflict stays for the list or a scan
                log.exception("could not settle the conflict of %s", docid)
                outcomes[docid] = "error"
        return outcomes

    # -- reading ----------------------------------------------------------------------------
    def view(self, db: Database, docid: str) -> ConflictView:
        """The document's conflict; NotFound when it does not exist, Conflict when it has none."""
        try:
            found = db.open_revs(docid, None, revisions=True)
        except NotFound:
            raise NotFound("missing") from None
        live = [f["ok"] for f in found if "ok" in f and not f["ok"].get("_deleted")]
        if not live:
            raise NotFound("missing")
        live.sort(key=lambda d: winner_key(d["_rev"], False), reverse=True)
        if len(live) < 2:
            raise Conflict(f"{docid} has no conflict (any more).")
        leaves = [Leaf(d["_rev"], d, _path_of(d)) for d in live]
        base_rev, base = self._base(db, docid, leaves)
        parsed = ids.parse_doc_id(docid)
        append_only = APPEND_ONLY.get(parsed.kind, frozenset()) if parsed else frozenset()
        return ConflictView(db.name, docid, leaves, base_rev, base,
                            plan([leaf.doc for leaf in leaves], base, append_only))

    def _base(self, db: Database, docid: str, leaves: list[Leaf]) -> tuple[str | None, dict | None]:
        """The newest revision every leaf descends from, and its body when it is known."""
        bodies, links = self.bases.lookup(docid)
        common: set[str] | None = None
        for leaf in leaves:
            mine = _ancestors(leaf.path, links)
            common = mine if common is None else common & mine
        if not common:
            return None, None
        nearest = max(common, key=lambda r: (rev_gen(r), r))
        if nearest in bodies:
            return nearest, bodies[nearest]
        # CouchDB keeps the bodies of inner revisions until it compacts the database.
        try:
            found = db.open_revs(docid, [nearest])
        except (NotFound, BadRequest):
            return nearest, None
        ok = [f["ok"] for f in found if "ok" in f]
        return nearest, (ok[0] if ok else None)

    def listing(self, scopes: list[str], *, after: str | None = None, limit: int = 50,
                visible: Callable[[str, dict], bool] | None = None) -> list[dict]:
        """Index entries of ``scopes`` in id order, checked against the store (stale ones dropped);
        ``visible(id, winner)`` leaves out what the reader may not see (a case not hers)."""
        out: list[dict] = []
        for scope in sorted(scopes):
            if after and after.split(":", 1)[0] > scope or not self.store.exists(scope):
                continue
            pending = []
            for entry in self.index.entries(scope, after=after):
                pending.append(entry)
                if len(out) + len(pending) >= limit:
                    break
            if not pending:
                continue
            rows = self.store.open(scope).all_docs(keys=[e["_id"] for e in pending], conflicts=True,
                                                   include_docs=True)
            stale = []
            for entry, row in zip(pending, rows, strict=True):
                doc = row.get("doc")
                if doc and doc.get("_conflicts"):
                    if visible is None or visible(entry["_id"], doc):
                        out.append({**entry, "winner": doc["_rev"], "conflicts": doc["_conflicts"]})
                else:
                    stale.append(entry["_id"])
            if stale:
                self.index.drop(stale)
            if len(out) >= limit:
                break
        return out

    def scan(self, db: Database, *, by: str | None) -> dict[str, int]:
        """Settle every conflict of a scope that arrived some other way (an import, a restore,
        writes from before this server merged): one pass over its changes feed."""
        counts = {"merged": 0, "held": 0, "none": 0, "error": 0}
        candidates = [row["id"] for row in db.changes(0, style="all_docs")
                      if len(row.get("changes") or ()) > 1 and mergeable(row["id"], db.name)]
        for outcome in self.after_write(db, candidates, user=by or SERVER).values():
            counts[outcome] += 1
        return counts

    # -- deciding ---------------------------------------------------------------------------
    def settle(self, db: Database, docid: str, *, on_behalf_of: str | None) -> str:
        """Merge a conflict the server can merge: ``merged``, ``held`` (for a person) or ``none``."""
        for _ in range(3):
            try:
                view = self.view(db, docid)
            except (NotFound, Conflict):
                self.index.drop([docid])
                return "none"
            if not view.mergeable:
                self.index.note(view.scope, docid, leaves=[leaf.rev for leaf in view.leaves],
                                overlapping=view.overlapping, by=on_behalf_of,
                                reason="no base revision is known" if view.base is None
                                else "the same fields were changed on both sides")
                return "held"
            picks = {f.path: f.pick for f in view.fields if f.pick is not None}
            problems = self._problems(view, picks)
            if problems:
                self.index.note(view.scope, docid, leaves=[leaf.rev for leaf in view.leaves],
                                overlapping=[], by=on_behalf_of,
                                reason="merged, the submission breaks its form: " + problems)
                return "held"
            try:
                self._apply(db, view, picks, actor=SERVER, on_behalf_of=on_behalf_of,
                            action="conflict.merged")
            except Conflict:
                continue  # changed meanwhile (another server merged it?): look again
            return "merged"
        return "held"

    def resolve(self, db: Database, docid: str, *, revs: object, picks: object, by: str,
                note: str | None = None) -> dict:
        """A person's resolution: ``revs`` are the leaves they saw, ``picks`` a field -> revision map."""
        if not isinstance(revs, list) or not revs or not all(isinstance(r, str) for r in revs):
            raise BadRequest("revs must list the revisions you compared")
        if not isinstance(picks, dict) or not all(isinstance(r, str) for r in picks.values()):
            raise BadRequest("picks must map each field (a JSON pointer) to the revision to keep")
        view = self.view(db, docid)
        current = [leaf.rev for leaf in view.leaves]
        if set(revs) != set(current):
            raise Conflict("The document changed since you compared its revisions; "
                           "look at it again and choose anew.")
        index = {rev: i for i, rev in enumerate(current)}
        fields = {f.path: f for f in view.fields}
        chosen: dict[Path, int | Appended] = {f.path: f.pick for f in view.fields if f.pick is not None}
        for name, rev in picks.items():
            path = parse_pointer(name)
            if path not in fields:
                raise BadRequest(f"{name} is not a field where the revisions differ")
            if rev not in index:
                raise BadRequest(f"{rev} is not one of the revisions in conflict")
            chosen[path] = index[rev]
        undecided = [f.pointer for f in view.fields if f.path not in chosen]
        if undecided:
            raise BadRequest("Choose a revision for " + ", ".join(undecided))
        problems = self._problems(view, chosen)
        if problems:
            raise BadRequest("The chosen values break the form: " + problems)
        if note is not None and (not isinstance(note, str) or len(note) > 2000):
            raise BadRequest("note must be text of at most 2000 characters")
        rev = self._apply(db, view, chosen, actor=by, on_behalf_of=None, action="conflict.resolved",
                          note=note or None)
        return {"id": docid, "rev": rev, "removed": current[1:]}

    # -- writing ----------------------------------------------------------------------------
    def _merged_doc(self, db: Database, view: ConflictView, picks: dict[Path, int]) -> dict:
        """The merged revision, ready to write as a child of the winner."""
        docs = [leaf.doc for leaf in view.leaves]
        body = merged_body(docs, picks)
        digests = body.pop("_attachments", None) or {}
        winner = view.leaves[0]
        doc: dict[str, Any] = {"_id": view.doc_id, "_rev": winner.rev, **body}
        atts = {}
        for name, digest in digests.items():
            mine = (winner.doc.get("_attachments") or {}).get(name)
            if mine is not None and mine.get("digest") == digest:
                atts[name] = {"stub": True, "content_type": mine.get("content_type"),
                              "digest": digest, "length": mine.get("length")}
                continue
            source = next(leaf for leaf in view.leaves
                          if ((leaf.doc.get("_attachments") or {}).get(name) or {}).get("digest") == digest)
            meta, data = db.get_attachment(view.doc_id, name, source.rev)
            atts[name] = {"content_type": meta.get("content_type") or "application/octet-stream",
                          "data": data}
        if atts:
            doc["_attachments"] = atts
        return doc

    def _problems(self, view: ConflictView, picks: dict[Path, int]) -> str:
        """Why the merged document would be refused by its form ('' when it would not)."""
        parsed = ids.parse_doc_id(view.doc_id)
        if self.forms is None or parsed is None or parsed.kind != ids.SUBMISSION:
            return ""
        body = merged_body([leaf.doc for leaf in view.leaves], picks)
        digests = body.pop("_attachments", None) or {}
        metas = {}
        for name, digest in digests.items():
            for leaf in view.leaves:
                meta = (leaf.doc.get("_attachments") or {}).get(name)
                if meta and meta.get("digest") == digest:
                    metas[name] = {**meta, "stub": True}
                    break
        problems = self.forms.check_submission({"_id": view.doc_id, **body, "_attachments": metas})
        return "; ".join(f"{p['field']}: {p['message']}" if p.get("field") else p["message"]
                         for p in problems)

    def _apply(self, db: Database, view: ConflictView, picks: dict[Path, int], *, actor: str,
               on_behalf_of: str | None, action: str, note: str | None = None) -> str:
        winner, losers = view.leaves[0], view.leaves[1:]
        doc = self._merged_doc(db, view, picks)
        changed = not same(comparable(winner.doc), merged_body([leaf.doc for leaf in view.leaves], picks))
        rev = winner.rev
        # The bodies this replaces, and what was merged into what, are kept before anything is
        # written: a device that goes on editing either side later merges against them.
        kept = [(view.doc_id, leaf.rev, leaf.doc) for leaf in (view.leaves if changed else losers)]
        self.bases.remember(kept)
        if changed:
            rev = records.write(db, doc)
        for leaf in losers:
            try:
                records.write(db, {"_id": view.doc_id, "_rev": leaf.rev, "_deleted": True})
            except Conflict:
                pass  # that branch moved on meanwhile: it stays a conflict, settled on its next write
        self.bases.remember([], links={view.doc_id: {rev: [leaf.path for leaf in losers]}})
        parsed = ids.parse_doc_id(view.doc_id)
        if changed and self.receipts is not None and parsed is not None and parsed.kind == ids.SUBMISSION:
            try:
                self.receipts(actor, [(view.doc_id, rev)])
            except Exception:  # noqa: BLE001 - bookkeeping: the merge is written
                log.exception("could not note the merge of %s", view.doc_id)
        self.audit.record(
            actor=actor, action=action, scope=view.scope, doc_id=view.doc_id,
            on_behalf_of=on_behalf_of, revs=[leaf.rev for leaf in view.leaves], rev=rev,
            base_rev=view.base_rev if view.base is not None else None,
            fields={f.pointer: _audited(view, f, picks[f.path]) for f in view.fields if f.path in picks},
            **({"note": note} if note else {}))
        self.index.drop([view.doc_id])
        DerivedValues().refresh_quietly(db, [view.doc_id])  # z-scores of the new winner
        return rev


def _audited(view: ConflictView, field: FieldChoice, pick: int | Appended) -> dict:
    """Where a field's value came from, for the audit trail."""
    if isinstance(pick, Appended):
        return {"rev": None, "rule": "appended"}
    return {"rev": view.leaves[pick].rev, "rule": field.rule if pick == field.choice else "picked"}


def _ancestors(path: list[str], links: dict[str, list[list[str]]]) -> set[str]:
    """A revision's ancestors, merge links included (what was merged into it counts as its past)."""
    seen = set(path)
    stack = list(path)
    while stack:
        for linked in links.get(stack.pop(), ()):
            for rev in linked:
                if rev not in seen:
                    seen.add(rev)
                    stack.append(rev)
    return seen
