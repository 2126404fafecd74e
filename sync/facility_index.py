"""The facility programmes' derived values per area, kept in the store for the WASH, scorecard and family
assessment pages.

The pages need the derived values of a few submissions (a soum's kindergarten
visits, its scorecard cycles, follow-ups and input tracking: tens a year; its
family assessments, awareness sessions and community projects: one or two per
family a year, a few hundred), but derived
documents of all forms share one id range (``<area>:derived:<key>``) and a
soum's growth visits are thousands of them. Reading that range on every page
view would read the whole soum's growth data. So, as ``sync.subindex`` and
``sync.reports`` do, the server follows each area's changes feed and keeps, in
the ``_facilities`` system scope:

* ``<area>:f:<key>``: a copy of the derived values of one submission of
  ``FORMS`` (``form``, ``about``, ``derived``), removed when the submission
  (hence its derived document) is deleted or stops deriving;
* ``<area>:meta``: how far the area's feed has been read (``seq``, ``epoch``),
  and a lease so that one app server at a time catches up an area.

A page refreshes the area first (bounded per request: what remains is read on
the next view), then reads ``<area>:f:``: a range of only these rows.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from programmes import family_assessment, scorecards, wash
from sync import ids, records
from sync.errors import Conflict
from sync.stores.base import Database, Store

SCOPE = "_facilities"
FORMS = frozenset({wash.FORM, scorecards.CYCLE_FORM, scorecards.FOLLOWUP_FORM, scorecards.INPUTS_FORM,
                   family_assessment.FORM, family_assessment.SESSION_FORM, family_assessment.PROJECT_FORM})
FORMAT = 4  # 2: input tracking rows too; 3: family assessments too; 4: awareness sessions, community projects too
LEASE_SECONDS = 30.0
_ME = uuid.uuid4().hex


@dataclass
class Refreshed:
    changes: int = 0
    done: bool = True
    busy: bool = False


class FacilityIndex:
    def __init__(self, store: Store) -> None:
        self.store = store

    def db(self) -> Database:
        return self.store.ensure(SCOPE)

    def values(self, area: str, forms: set[str] | frozenset[str]) -> list[dict[str, Any]]:
        """``{**derived, "about", "form"}`` of the area's submissions of ``forms``, after a refresh."""
        self.refresh(area)
        return [{**row["derived"], "about": row["about"], "form": row["form"]}
                for row in records.iter_docs(self.db(), f"{area}:f:") if row.get("form") in forms]

    def refresh(self, area: str, *, max_changes: int = 5000, batch: int = 500) -> Refreshed:
        """Copy what changed in ``area`` since the last refresh, at most ``max_changes`` changes."""
        if not self.store.exists(area):
            return Refreshed()
        src, idx = self.store.open(area), self.db()
        meta_id = f"{area}:meta"
        meta = records.read(idx, meta_id) or {"_id": meta_id, "type": "facility-index", "seq": None}
        epoch = src.epoch()
        if meta.get("epoch") not in (None, epoch) or (meta.get("seq") is not None and meta.get("format") != FORMAT):
            self._drop_rows(area)  # another store's sequence (a restore), or rows of another format
            meta["seq"] = None
        if meta.get("lease_by") not in (None, _ME) and meta.get("lease_until", 0) > time.time():
            return Refreshed(done=False, busy=True)
        meta.update(epoch=epoch, format=FORMAT, lease_by=_ME, lease_until=time.time() + LEASE_SECONDS)
        try:
            records.write(idx, meta)
        except Conflict:
            return Refreshed(done=False, busy=True)
        result = Refreshed()
        try:
            while result.changes < max_changes:
                feed = src.changes(meta["seq"] if meta.get("seq") is not None else 0, limit=batch)
                keys: set[str] = set()
                rows = 0
                for row in feed:
                    rows += 1
                    parsed = ids.parse_doc_id(row["id"])
                    if parsed is not None and parsed.kind == ids.DERIVED:
                        keys.add(parsed.key)
                if rows == 0:
                    if feed.last_seq is not None:
                        meta["seq"] = feed.last_seq
                    break
                self._apply(area, src, idx, keys)
                meta["seq"] = feed.last_seq
                result.changes += rows
                meta["lease_until"] = time.time() + LEASE_SECONDS
                records.write(idx, meta)
            else:
                result.done = False
        finally:
            meta.update(lease_by=None, lease_until=0)
            try:
                records.write(idx, meta)
            except Conflict:
                pass
        return result

    def _apply(self, area: str, src: Database, idx: Database, keys: set[str]) -> None:
        if not keys:
            return
        ordered = sorted(keys)
        derived = {r["key"]: r.get("doc") for r in src.all_docs(
            keys=[f"{area}:{ids.DERIVED}:{k}" for k in ordered], include_docs=True)}
        current = {r["key"]: r.get("doc") for r in idx.all_docs(
            keys=[f"{area}:f:{k}" for k in ordered], include_docs=True)}
        writes = []
        for key in ordered:
            doc, row_id = derived.get(f"{area}:{ids.DERIVED}:{key}"), f"{area}:f:{key}"
            row = current.get(row_id)
            wanted = (doc is not None and doc.get("form") in FORMS and isinstance(doc.get("derived"), dict))
            if wanted:
                body = {"type": "facility-row", "form": doc["form"], "about": doc.get("about"),
                        "derived": doc["derived"]}
                if row is not None and {k: row.get(k) for k in body} == body:
                    continue
                writes.append({"_id": row_id, **body, **({"_rev": row["_rev"]} if row else {})})
            elif row is not None:
                writes.append({"_id": row_id, "_rev": row["_rev"], "_deleted": True})
        if writes:
            idx.bulk_docs(writes)  # under the lease: no other writer of these rows

    def _drop_rows(self, area: str) -> None:
        idx = self.db()
        gone = [{"_id": d["_id"], "_rev": d["_rev"], "_deleted": True}
                for d in records.iter_docs(idx, f"{area}:f:")]
        if gone:
            idx.bulk_docs(gone)
