"""The audit trail: every change a person makes, and every change the server
makes on their behalf, in the append-only ``_audit`` system scope.

An entry is written once and never changed: its id is ``<scope>:<ulid>``, so
entries of one area sort by time and a coordinator's page of them is one
range read, and each is created with no ``_rev`` (a second write of the same
id would be a conflict, not an edit). Like every system scope it lives in
the store, so any number of app servers append to the same trail.

An entry says who (``actor``: a user name, or ``"server"`` with
``on_behalf_of``), what (``action``, e.g. ``conflict.merged``), where
(``scope``, ``doc_id``), from where (``address``, the remote address of the
request, filled in by the server through ``context``) and the facts needed
to retrace it (revisions, or ``before`` and ``after``, which revision each
field came from, the note given).

Each entry is written twice in one batch: as ``<scope>:<ulid>`` (an area's
entries, one range read) and as ``~all:<ulid>`` (every entry in time order,
so the admins' unfiltered page is one range read too, not a merge of every
area). ``~`` cannot start an area code, and both copies are write-once.

Actions written (the audit page filters on the part before the dot):
``login.succeeded``, ``login.failed``, ``user.added``, ``user.changed``,
``area.added``, ``area.changed``, ``area.imported``, ``form.published``,
``form.retired``, ``review.recorded``, ``quarantine.released``,
``quarantine.discarded``, ``conflict.merged``, ``conflict.resolved``,
``export.downloaded``, ``checklist.changed``, ``checklist.lqas_changed``,
``checklist.lqas_rules_changed``, ``facility.registered``, ``module.switched``,
``form.closed``, ``form.reopened``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sync import ids
from sync.clock import now_iso
from sync.docs import check_doc
from sync.errors import Conflict, CouchError
from sync.stores.base import Database, Store

AUDIT_SCOPE = "_audit"
SERVER = "server"
NO_SCOPE = "~"  # entries about no area (logins, accounts): no area code starts so, nor may an id with "_"
ALL = "~all"  # the copy of every entry, in time order across areas


class Audit:
    def __init__(self, store: Store):
        self.store = store
        # Facts of the moment every entry carries unless given (the server sets it to
        # the request's remote address): sync/ knows nothing of requests.
        self.context: Callable[[], dict[str, Any]] | None = None

    def db(self) -> Database:
        return self.store.ensure(AUDIT_SCOPE)

    def record(self, *, actor: str, action: str, scope: str | None = None, doc_id: str | None = None,
               on_behalf_of: str | None = None, **details: Any) -> str:
        """Append one entry; returns its id."""
        key = ids.new_ulid()
        eid = f"{scope or NO_SCOPE}:{key}"
        entry: dict[str, Any] = {"_id": eid, "type": "audit", "at": now_iso(), "actor": actor,
                                 "action": action, "scope": scope, "doc_id": doc_id}
        if on_behalf_of is not None:
            entry["on_behalf_of"] = on_behalf_of
        if self.context is not None:
            entry.update(self.context())
        entry.update(details)
        copy = {**entry, "_id": f"{ALL}:{key}", "entry": eid}
        for doc in (entry, copy):
            check_doc(doc, new_edits=True)
        for result in self.db().bulk_docs([entry, copy], new_edits=True):
            if "error" in result:
                if result["error"] == "conflict":
                    raise Conflict(result.get("reason", "Document update conflict."))
                raise CouchError(result.get("reason", ""), error=result["error"], status=400)
        return eid

    def entries(self, scope: str, *, doc_id: str | None = None, limit: int = 50,
                before: str | None = None) -> Iterator[dict]:
        """An area's entries, newest first; ``before`` is the id of the last one already shown."""
        prefix = f"{scope}:"
        start = before if before and before.startswith(prefix) else prefix + "\uffff"
        shown = 0
        for row in self.db().all_docs(startkey=start, endkey=prefix, descending=True,
                                      include_docs=True):
            doc = row.get("doc")
            if not doc or row["id"] == before or (doc_id is not None and doc.get("doc_id") != doc_id):
                continue
            yield doc
            shown += 1
            if shown >= limit:
                return
