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
the next view), then reads ``<area>:f:``: a range of only these rows. Following
the feed under the lease is ``sync.area_follow``'s.
"""

from __future__ import annotations

from typing import Any

from programmes import family_assessment, scorecards, wash
from sync import ids, records
from sync.area_follow import LEASE_SECONDS, AreaFollower, Refreshed
from sync.stores.base import Database

SCOPE = "_facilities"
FORMS = frozenset({wash.FORM, scorecards.CYCLE_FORM, scorecards.FOLLOWUP_FORM, scorecards.INPUTS_FORM,
                   family_assessment.FORM, family_assessment.SESSION_FORM, family_assessment.PROJECT_FORM})
FORMAT = 4  # 2: input tracking rows too; 3: family assessments too; 4: awareness sessions, community projects too
__all__ = ["FORMAT", "FORMS", "LEASE_SECONDS", "SCOPE", "FacilityIndex", "Refreshed"]


class FacilityIndex(AreaFollower):
    SCOPE = SCOPE
    FORMAT = FORMAT
    META_TYPE = "facility-index"
    KINDS = frozenset({ids.DERIVED})

    def values(self, area: str, forms: set[str] | frozenset[str]) -> list[dict[str, Any]]:
        """``{**derived, "about", "form"}`` of the area's submissions of ``forms``, after a refresh."""
        self.refresh(area)
        return [{**row["derived"], "about": row["about"], "form": row["form"]}
                for row in records.iter_docs(self.db(), f"{area}:f:") if row.get("form") in forms]

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
