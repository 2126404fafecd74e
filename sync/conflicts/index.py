"""Which documents wait for a person to resolve their conflict.

Neither store can list the documents of a scope that have ``_conflicts``
without reading every one (CouchDB would need a view, whose index is built
by reading the whole database). The server knows the moment a conflict
could not be merged, so it notes it here, in the ``_conflicts`` system
scope, one entry per document with the document's own id. An area's entries
are then one ``_all_docs`` range (ids start with the area code), paged like
any list. An entry goes when the conflict is resolved; one whose document no
longer has a conflict (a device resolved it itself) is dropped when a list
finds it so. ``fieldsync conflicts scan`` notes conflicts that arrived by
other ways (an import, a restore).
"""

from __future__ import annotations

from collections.abc import Iterator

from sync import records
from sync.clock import now_iso
from sync.stores.base import Database, Store

INDEX_SCOPE = "_conflicts"


class ConflictIndex:
    def __init__(self, store: Store):
        self.store = store

    def db(self) -> Database:
        return self.store.ensure(INDEX_SCOPE)

    def note(self, scope: str, docid: str, *, leaves: list[str], overlapping: list[str],
             reason: str, by: str | None) -> None:
        def apply(current: dict) -> dict | None:
            if current.get("leaves") == leaves and current.get("overlapping") == overlapping:
                return None
            return {"_id": docid, "type": "conflict", "scope": scope, "doc_id": docid,
                    "leaves": leaves, "overlapping": overlapping, "reason": reason,
                    "noted_at": current.get("noted_at") or now_iso(), "updated_at": now_iso(),
                    "by": by}
        records.upsert(self.db(), docid, apply)

    def drop(self, docids: list[str]) -> None:
        db = self.db()
        gone = [{"_id": row["id"], "_rev": row["value"]["rev"], "_deleted": True}
                for row in db.all_docs(keys=docids) if "value" in row and not row["value"].get("deleted")]
        if gone:
            db.bulk_docs(gone, new_edits=True)  # a conflict here: someone noted it again; fine

    def entries(self, scope: str, *, after: str | None = None) -> Iterator[dict]:
        """The entries of one area in id order, starting after ``after``."""
        prefix = f"{scope}:"
        start = after if after and after.startswith(prefix) else prefix
        for row in self.db().all_docs(startkey=start, endkey=prefix + "\uffff", include_docs=True):
            if row.get("doc") and row["id"] != after:
                yield row["doc"]
