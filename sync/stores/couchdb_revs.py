"""Revision questions CouchDB 3 answers differently from the interface.

* A revision id of 32 characters is read by CouchDB as the hex of an MD5
  (``couch_doc:parse_revid``); ``3-xxxx…`` (32 non-hex characters) is then
  "Invalid rev format" and fails the whole request, although the interface
  (and the SQLite store) treats it as a revision like any other, one CouchDB
  cannot hold. ``_revs_diff`` and ``open_revs`` answer such revisions as
  missing without asking CouchDB.
* ``revs_info`` is only computed by CouchDB for the winning revision
  (``couch_db:doc_meta_info``); with ``rev=`` it is silently left out. The
  interface gives it for any revision, so it is built here from the revision's
  path and which of its ancestors still have a body.

``db`` below is a ``sync.stores.couchdb.CouchDatabase``; these are its helpers,
kept apart so the store module stays about the store.
"""

from __future__ import annotations

import re
from typing import Any

from sync.revtree import rev_gen

_HEX32 = re.compile(r"[0-9a-fA-F]{32}\Z")


def couch_parses(rev: str) -> bool:
    """Whether CouchDB takes ``rev`` as a revision id (the caller checked its ``N-id`` shape)."""
    gen, _, rid = rev.partition("-")
    return gen == "0" or len(rid) != 32 or bool(_HEX32.match(rid))


def revs_diff(db: Any, request: dict[str, list[str]]) -> dict[str, dict]:
    """``_revs_diff`` with the revisions CouchDB cannot parse counted as missing.

    For a document with such revisions, ``possible_ancestors`` are computed as
    CouchDB does (``couch_db:possible_ancestors``: the leaves older than the
    newest missing revision), from the document's leaves.
    """
    sendable = {docid: [r for r in revs if couch_parses(r)] for docid, revs in request.items()}
    sendable = {docid: revs for docid, revs in sendable.items() if revs}
    answer = db._json("POST", "/_revs_diff", body=sendable) if sendable else {}
    odd = [docid for docid, revs in request.items() if len(sendable.get(docid, ())) < len(revs)]
    if not odd:
        return answer
    leaves = _leaves(db, odd)
    for docid in odd:
        revs = request[docid]
        theirs = set((answer.get(docid) or {}).get("missing", ()))
        missing = [r for r in dict.fromkeys(revs) if r in theirs or not couch_parses(r)]
        newest = max(rev_gen(r) for r in missing)
        older = [r for r in leaves.get(docid, ()) if rev_gen(r) < newest]
        entry: dict[str, Any] = {"missing": missing}
        if older:
            entry["possible_ancestors"] = older
        answer[docid] = entry
    return answer


# A revision no document reaches: every leaf of a document is older, so CouchDB names them all.
_PROBE = "2147483647-" + "0" * 32


def leaves(db: Any, ids: list[str]) -> dict[str, list[str]]:
    """Every leaf of those of ``ids`` CouchDB holds a document for (tombstones included),
    from one ``_revs_diff`` asking each for a revision no document reaches: CouchDB lists
    an existing document's leaves as its ``possible_ancestors``.

    CouchDB answers ``_revs_diff`` per shard, in one pass over the ids; ``_all_docs``
    with keys looks each key up alone, five times the cost for a batch of a hundred
    new submissions (the write gate reads the winners of what a device pushes, and
    nearly all of it is new).
    """
    if not ids:
        return {}
    answer = db._json("POST", "/_revs_diff", body={docid: [_PROBE] for docid in ids})
    return {docid: entry["possible_ancestors"] for docid, entry in answer.items() if entry.get("possible_ancestors")}


def _leaves(db: Any, ids: list[str]) -> dict[str, list[str]]:
    """Every leaf revision of each document, from one ``_changes`` read of those ids."""
    answer = db._json("POST", "/_changes", params={"filter": "_doc_ids", "style": "all_docs"},
                      body={"doc_ids": ids})
    return {row["id"]: [c["rev"] for c in row["changes"]] for row in answer.get("results", ())}


def revs_info(db: Any, doc: dict) -> list[dict]:
    """``_revs_info`` of the revision ``doc`` is (read with ``revs=true``), newest first."""
    start, ids = doc["_revisions"]["start"], doc["_revisions"]["ids"]
    path = [f"{start - i}-{rid}" for i, rid in enumerate(ids)]
    found = {}
    if len(path) > 1:
        for entry in db.open_revs(doc["_id"], path[1:]):
            if "ok" in entry:
                found[entry["ok"]["_rev"]] = "deleted" if entry["ok"].get("_deleted") else "available"
    found[path[0]] = "deleted" if doc.get("_deleted") else "available"
    return [{"rev": r, "status": found.get(r, "missing")} for r in path]
