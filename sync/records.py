"""Small helpers for the server's own documents (forms, users, quarantine...).

These are written with ``new_edits=true`` like any client would, so they get
real revisions and replicate like everything else.
"""

from __future__ import annotations

from sync.docs import check_doc
from sync.errors import Conflict, CouchError, NotFound
from sync.stores.base import Database


def read(db: Database, docid: str) -> dict | None:
    try:
        return db.get(docid)
    except NotFound:
        return None


def write(db: Database, doc: dict) -> str:
    """Write one document as a new revision; raise its per-document error."""
    check_doc(doc, new_edits=True)
    result = db.bulk_docs([doc], new_edits=True)[0]
    if "error" in result:
        if result["error"] == "conflict":
            raise Conflict(result.get("reason", "Document update conflict."))
        raise CouchError(result.get("reason", ""), error=result["error"], status=400)
    doc["_rev"] = result["rev"]
    return result["rev"]


def upsert(db: Database, docid: str, update, attempts: int = 5) -> dict:
    """Read-modify-write with retry on conflict (another server may write too)."""
    for _ in range(attempts):
        current = read(db, docid)
        doc = update(dict(current) if current else {"_id": docid})
        if doc is None:
            return current or {}
        doc["_id"] = docid
        if current:
            doc["_rev"] = current["_rev"]
            for att in (doc.get("_attachments") or {}).values():
                if "data" not in att:
                    att["stub"] = True
        try:
            write(db, doc)
            return doc
        except Conflict:
            continue
    raise Conflict(f"{docid} kept changing; try again")


def iter_docs(db: Database, prefix: str):
    """Every live document whose id starts with ``prefix``, in id order, streamed."""
    for row in db.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True):
        if row.get("doc"):
            yield row["doc"]
