"""Merge bases: the bodies of revisions that stopped being leaves, kept so
that a later conflict can be merged three ways.

Both stores keep bodies of leaf revisions only (CouchDB drops the others at
compaction, which runs on its own; the SQLite store drops them at once), so
by the time a second branch arrives the revision both branches started from
has no body anywhere. A three-way merge cannot do without it: with two
revisions alone there is no telling which side changed a field. So the
server keeps what it needs, in the ``_merge_bases`` system scope, one
document per edited document (``_id`` is the document's id):

* ``revs``: ``{rev: body}`` of the last ``KEEP`` revisions an edit took
  the place of (the body in ``sync.conflicts.fields.comparable`` form:
  attachments by digest). A device that branched off an older revision than
  that gets its conflict resolved by a person rather than merged on a guess.
* ``links``: ``{merged rev: [path, ...]}``: each revision the server merged
  into ``merged rev`` (with its ancestry, newest first). CouchDB's tree has no
  merge parents; without them a device that goes on editing its side after
  the merge would seem to conflict with changes it made itself.

A base is a fact (revision R of document D had this body) that never goes
stale, so writing one that is never needed, or twice from two app servers,
is harmless; losing one (it is written just before the edit that needs it)
only sends a later conflict to a person. Documents that are never edited
(most submissions) never get an entry.
"""

from __future__ import annotations

from sync import records
from sync.conflicts.fields import comparable
from sync.errors import Conflict
from sync.revtree import rev_gen
from sync.stores.base import Database, Store

BASES_SCOPE = "_merge_bases"
KEEP = 8  # superseded revisions kept per document
LINK_PATH = 64  # ancestry kept with a merged revision


class MergeBases:
    def __init__(self, store: Store):
        self.store = store

    def db(self) -> Database:
        return self.store.ensure(BASES_SCOPE)

    def lookup(self, docid: str) -> tuple[dict[str, dict], dict[str, list[list[str]]]]:
        """``(revs, links)`` kept for ``docid`` (both empty when nothing is)."""
        found = records.read(self.db(), docid) or {}
        return dict(found.get("revs") or {}), dict(found.get("links") or {})

    def remember(self, bodies: list[tuple[str, str, dict]],
                 links: dict[str, dict[str, list[list[str]]]] | None = None) -> None:
        """Keep ``(docid, rev, document)`` bodies and merge links, a batch in one write."""
        wanted: dict[str, tuple[dict[str, dict], dict[str, list[list[str]]]]] = {}
        for docid, rev, doc in bodies:
            wanted.setdefault(docid, ({}, {}))[0][rev] = comparable(doc)
        for docid, per_rev in (links or {}).items():
            wanted.setdefault(docid, ({}, {}))[1].update(
                {rev: [p[:LINK_PATH] for p in paths] for rev, paths in per_rev.items()})
        if not wanted:
            return
        db = self.db()
        current = {row["key"]: row.get("doc") for row in db.all_docs(keys=list(wanted), include_docs=True)}
        docs = [self._updated(docid, current.get(docid), *wanted[docid]) for docid in wanted]
        docs = [d for d in docs if d is not None]
        if not docs:
            return
        for doc, result in zip(docs, db.bulk_docs(docs, new_edits=True), strict=True):
            if result.get("error") == "conflict":  # another app server wrote it a moment ago
                revs, doc_links = wanted[doc["_id"]]
                try:
                    records.upsert(db, doc["_id"], lambda cur, r=revs, lk=doc_links:
                                   self._updated(cur["_id"], cur if "_rev" in cur else None, r, lk))
                except Conflict:
                    pass  # a base is a convenience: without it a person decides

    @staticmethod
    def _updated(docid: str, current: dict | None, revs: dict[str, dict],
                 links: dict[str, list[list[str]]]) -> dict | None:
        kept_revs = dict((current or {}).get("revs") or {})
        kept_links = dict((current or {}).get("links") or {})
        if all(r in kept_revs for r in revs) and all(r in kept_links for r in links):
            return None
        kept_revs.update(revs)
        kept_links.update(links)
        newest = sorted(kept_revs, key=rev_gen, reverse=True)[:KEEP]
        doc = {"_id": docid, "type": "merge_bases", "revs": {r: kept_revs[r] for r in newest},
               "links": {r: kept_links[r] for r in sorted(kept_links, key=rev_gen, reverse=True)[:KEEP]}}
        if current and "_rev" in current:
            doc["_rev"] = current["_rev"]
        return doc
