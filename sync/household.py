"""A family's household members from the child register, and what the growth records say about them.

The family card's growth item (``growth_monitored``: "growth monitored in the
last 3 months", for children of 0-59 months) is a question the growth records
can answer too. A family's members are the register's children naming it
(``<area>:child:<key>``, ``family``); a child's growth visits are found by the
register key (``data.child_id``) in the report index's per-child row
(``sync.reports``: each visit's date), and the classes of its newest visit in
that visit's derived document: a few keyed reads per family, never the soum's
submissions.

The records' answer at a date ``on`` (``records_answer``): the children who
apply are those born by ``on`` and under 60 completed calendar months at it
(the day before the fifth birthday counts, the birthday does not), the age the
field app's pre-fill (``fieldapp/src/assessment.js``) and the demo's answers
count, so that a worker's pre-filled answer and the page's comparison apply
the item to the same children; each is measured when a growth visit is dated
in the 91 days up to ``on`` (``on`` and the 90 days before, the window of the
growth report's "last 3 months"). ``yes`` when every child who applies was
measured, ``no`` when one was not, ``na`` when no child applies. Visits after
``on`` do not count: what the records say at an assessment's date is what a
worker could have seen that day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sync import ids, records
from sync.derived import derived_id
from sync.reports import WINDOW_DAYS, ReportIndex, child_doc_id
from sync.stores.base import Store

GROWTH_ITEM = "growth_monitored"
CLASSES = ("stunting", "wasting", "underweight", "acute_malnutrition")
YES, NO, NA = "yes", "no", "na"
UNDER_MONTHS = 60  # the item applies to children of 0-59 months


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@dataclass
class Member:
    """One child of the household: its register document and its growth visits' dates."""
    key: str  # the register key, which growth visits name as child_id
    doc: dict
    visits: list[str] = field(default_factory=list)  # visit dates, oldest first
    newest: str | None = None  # the newest visit's date
    classes: dict[str, str] = field(default_factory=dict)  # of the newest visit (programmes.nutrition)

    @property
    def dob(self) -> date | None:
        return _day(self.doc.get("dob"))

    def age_days(self, on: date) -> int | None:
        born = self.dob
        return None if born is None or born > on else (on - born).days

    def age_months(self, on: date) -> int | None:
        """Completed calendar months at ``on`` (a month is complete on the day of the month of the
        birth); None before the birth."""
        born = self.dob
        if born is None or born > on:
            return None
        return (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)

    def under_five(self, on: date) -> bool:
        months = self.age_months(on)
        return months is not None and months < UNDER_MONTHS

    def last_visit(self, on: date) -> str | None:
        """The newest visit dated on or before ``on``."""
        dates = [d for d in self.visits if d <= on.isoformat()]
        return dates[-1] if dates else None

    def measured(self, on: date, days: int = WINDOW_DAYS) -> bool:
        last = self.last_visit(on)
        return last is not None and last >= (on - timedelta(days=days - 1)).isoformat()


@dataclass
class RecordsAnswer:
    """What the growth records say about ``growth_monitored`` at ``on``, child by child."""
    on: date
    answer: str  # yes / no / na
    children: list[tuple[Member, bool, str | None]]  # (child who applies, measured, newest visit by then)


def records_answer(members: list[Member], on: date) -> RecordsAnswer:
    applies = [m for m in members if m.under_five(on)]
    rows = [(m, m.measured(on), m.last_visit(on)) for m in applies]
    answer = NA if not rows else YES if all(measured for _, measured, _ in rows) else NO
    return RecordsAnswer(on, answer, rows)


def agreement(worker: str | None, records: str) -> str:
    """``agree``, ``disagree`` or ``unanswered`` (the worker left the item out)."""
    if worker not in (YES, NO, NA):
        return "unanswered"
    return "agree" if worker == records else "disagree"


def members(store: Store, area: str, family_id: str, *, index: ReportIndex | None = None) -> list[Member]:
    """The register's children of ``family_id``, oldest first, with their visits from the report index.

    The index is read as it stands: bring it up to date first (``ReportIndex.refresh``), as a page does.
    """
    if not store.exists(area):
        return []
    db = store.open(area)
    found = [Member(doc["_id"].split(":", 2)[2], doc)
             for doc in records.iter_docs(db, f"{area}:{ids.CHILD}:")
             if doc.get("type") == "child" and doc.get("family") == family_id]
    if not found:
        return []
    index = index or ReportIndex(store)
    idx = index.db()
    gen = (records.read(idx, f"{area}:meta") or {}).get("gen", 0)
    rows = {r["key"]: r.get("doc") for r in idx.all_docs(keys=[child_doc_id(area, m.key) for m in found],
                                                         include_docs=True)}
    newest_key: dict[str, str] = {}
    for m in found:
        row = rows.get(child_doc_id(area, m.key))
        if not row or row.get("child") != m.key or row.get("gen", 0) != gen:
            continue
        visits = sorted((v.get("d") or "", k) for k, v in (row.get("visits") or {}).items())
        m.visits = [d for d, _ in visits if d]
        if visits:
            m.newest = visits[-1][0] or None
            newest_key[m.key] = f"{area}:{ids.SUBMISSION}:{visits[-1][1]}"
    if newest_key:
        wanted = [derived_id(s) for s in newest_key.values()]
        derived = {r["key"]: r.get("doc") or {} for r in db.all_docs(keys=wanted, include_docs=True)}
        for m in found:
            sub = newest_key.get(m.key)
            doc = derived.get(derived_id(sub)) if sub else None
            if doc and doc.get("about") == sub:
                values = doc.get("derived") or {}
                m.classes = {n: values[n] for n in CLASSES if isinstance(values.get(n), str)}
    return sorted(found, key=lambda m: (str(m.doc.get("dob") or ""), m.key))
