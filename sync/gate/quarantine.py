"""The quarantine: every refused revision, kept whole, with who, when and why.

Peers answer a refused document with 403 and the replica skips it forever;
here it is kept (``_quarantine`` system scope, one entry per document
revision, attachments included) so that a coordinator can release it once
fixed or discard it with a reason. Sending the same revision again finds the
same entry, so nothing is duplicated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import orjson

from sync import records
from sync.clock import now_iso
from sync.errors import BadRequest, Conflict, NotFound
from sync.stores.base import Database, Store

QUARANTINE_SCOPE = "_quarantine"
STATUSES = ("held", "released", "discarded", "superseded")


def entry_id(doc: dict) -> str:
    """One entry per (document, revision); a revision-less write is keyed by its content."""
    rev = doc.get("_rev")
    if not rev or not doc.get("_revisions"):
        digest = hashlib.sha1(orjson.dumps({k: v for k, v in doc.items() if k != "_attachments"},
                                           option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:16]
        rev = f"new-{digest}"
    return f"q:{doc['_id']}:{rev}"


class Quarantine:
    def __init__(self, store: Store):
        self.store = store

    def db(self) -> Database:
        return self.store.ensure(QUARANTINE_SCOPE)

    def hold(self, *, doc: dict, scope: str | None, user: str, reasons: list[dict],
             new_edits: bool) -> str:
        """Keep a refused document; returns the entry id (existing or new)."""
        eid = entry_id(doc)
        db = self.db()
        if records.read(db, eid) is not None:
            return eid
        kept = {k: v for k, v in doc.items() if k != "_attachments"}
        atts = {}
        meta = {}
        for name, att in (doc.get("_attachments") or {}).items():
            info = {k: v for k, v in att.items() if k not in ("data", "follows")}
            if "data" in att:
                atts[name] = {"content_type": att.get("content_type", "application/octet-stream"),
                              "data": bytes(att["data"])}
                info.pop("stub", None)
            meta[name] = info
        if meta:
            kept["_attachments"] = meta
        entry = {
            "_id": eid, "type": "quarantine", "status": "held", "doc_id": doc["_id"],
            "rev": doc.get("_rev"), "scope": scope, "user": user, "received_at": now_iso(),
            "reasons": reasons, "new_edits": new_edits, "doc": kept,
        }
        if atts:
            entry["_attachments"] = atts
        try:
            records.write(db, entry)
        except Conflict:
            pass  # another request kept the same revision a moment ago
        return eid

    def list(self, status: str | None = "held") -> Iterator[dict]:
        for entry in records.iter_docs(self.db(), "q:"):
            if status is None or entry.get("status") == status:
                yield entry

    def in_areas(self, scopes: list[str], *, status: str | None = "held", after: str | None = None,
                 limit: int = 50) -> list[dict]:
        """Entries held in these areas, in id order from ``after``, at most ``limit``.

        Entry ids start with the document's id, and so with its area: each area is
        one range of the quarantine, read page by page, never the whole of it.
        """
        out: list[dict] = []
        db = self.db()
        for scope in sorted(set(scopes)):
            prefix = f"q:{scope}:"
            if after and after >= prefix + "\uffff":
                continue
            start = after if after and after.startswith(prefix) else prefix
            for row in db.all_docs(startkey=start, endkey=prefix + "\uffff", include_docs=True):
                entry = row.get("doc")
                if (not entry or row["id"] == after or entry.get("scope") != scope
                        or status is not None and entry.get("status") != status):
                    continue
                out.append(entry)
                if len(out) >= limit:
                    return out
        return out

    def get(self, eid: str) -> dict:
        entry = records.read(self.db(), eid)
        if entry is None:
            raise NotFound(f"no quarantine entry {eid!r}")
        return entry

    def original(self, eid: str) -> dict:
        """The refused document as it came, attachments (with their bytes) included."""
        db = self.db()
        entry = db.get(eid, attachments=True)
        doc = dict(entry["doc"])
        atts = {}
        for name, info in (doc.get("_attachments") or {}).items():
            held = (entry.get("_attachments") or {}).get(name)
            if held is not None and "data" in held:
                atts[name] = {"content_type": held["content_type"], "data": held["data"]}
            else:
                atts[name] = {**info, "stub": True}
        if atts:
            doc["_attachments"] = atts
        return doc

    def mark(self, eid: str, status: str, *, by: str, note: str | None = None, **extra) -> dict:
        if status not in STATUSES:
            raise BadRequest(f"status must be one of {', '.join(STATUSES)}")

        def apply(entry: dict) -> dict:
            if "_rev" not in entry:  # upsert hands a missing entry over as a bare _id
                raise NotFound(f"no quarantine entry {eid!r}")
            if entry.get("status") != "held":
                raise Conflict(f"entry {eid} is already {entry.get('status')}")
            entry.update(status=status, decided_by=by, decided_at=now_iso(), **extra)
            if note:
                entry["note"] = note
            return entry

        return records.upsert(self.db(), eid, apply)

    def supersede(self, eid: str, *, by: str) -> None:
        """A later revision of the same document was accepted: the entry needs no decision."""
        entry = records.read(self.db(), eid)
        if entry is not None and entry.get("status") == "held":
            try:
                self.mark(eid, "superseded", by=by, note="a corrected revision was accepted")
            except Conflict:
                pass  # decided meanwhile by someone else
