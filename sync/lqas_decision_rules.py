"""The deployment's LQAS decision-rule table: an admin's cells over the binomial defaults.

A national programme may print its own table (programmes.md 3.2 says the
table is data for this reason): the cells an admin sets replace the binomial
``d`` for that sample size and target, every other cell stays binomial
(``programmes.lqas.DecisionRules``). The document is apart from the survey
set-up (``global:checklist:lqas_rules``), so two admins, one editing the
indicators and one the table, do not get in each other's way; like the set-up
it names the revision it edits (a save in between is a conflict) and each
save or reset is in the audit trail (``checklist.lqas_rules_changed``, the
cells before and after). The report reads it on every view: a rule changes
only the classification, never what an interview counts for, so nothing is
counted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from programmes.lqas import DecisionRules, RulesProblem, check_overrides
from sync import records
from sync.audit import Audit
from sync.clock import now_iso
from sync.errors import Conflict
from sync.stores.base import Store

DOC_ID = "global:checklist:lqas_rules"
MAX_CELLS = 2000  # 60 sample sizes x every whole target is 5,940; a printed table has a few hundred

_DEFAULT = DecisionRules()


def binomial_d(n: int, target: int) -> int:
    return _DEFAULT.rule(n, target).d


class DecisionRuleTable:
    """Reads and saves the table's document."""

    def __init__(self, store: Store, audit: Audit | None = None) -> None:
        self.store = store
        self.audit = audit or Audit(store)

    def doc(self) -> dict[str, Any] | None:
        return records.read(self.store.ensure("global"), DOC_ID)

    def get(self) -> tuple[DecisionRules, str | None]:
        """The rules in use (binomial with the admin's cells over them) and the document's revision."""
        doc = self.doc()
        if not doc:
            return _DEFAULT, None
        return DecisionRules.from_config({"overrides": doc.get("overrides", [])}), doc.get("_rev")

    def save(self, cells: Mapping[tuple[int, int], int | None], *, actor: str, rev: str | None,
             keep_others: bool = True) -> str:
        """Set the cells given (None, or the binomial d, clears a cell); with ``keep_others`` the cells
        not given keep their value (the page shows some sample sizes only). Everything is checked
        before anything is written; ``rev`` is the revision the admin edited (None: none saved yet)."""
        current = self.doc()
        if (current or {}).get("_rev") != (rev or None):
            raise Conflict("The LQAS decision rules were changed by someone else in the meantime.")
        before = DecisionRules.from_config({"overrides": (current or {}).get("overrides", [])}).overrides
        merged = dict(before) if keep_others else {}
        for (n, target), d in cells.items():
            # A cell left at its binomial value is no override (the page posts every cell it shows,
            # and the binomial table's own step at n = 29, 30 is not the admin's to answer for).
            if d is None or (isinstance(d, int) and not isinstance(d, bool) and 1 <= n <= 1000
                             and 1 <= target <= 100 and d == binomial_d(n, target)):
                merged.pop((n, target), None)
                continue
            merged[(n, target)] = d
        kept = check_overrides(merged)
        if len(kept) > MAX_CELLS:
            raise RulesProblem("too_many_cells", *max(kept), len(kept))
        return self._write(current, rev, kept, before, actor)

    def reset(self, *, actor: str, rev: str | None) -> str:
        """Back to the binomial defaults (every cell cleared), revision-checked and audited."""
        current = self.doc()
        if (current or {}).get("_rev") != (rev or None):
            raise Conflict("The LQAS decision rules were changed by someone else in the meantime.")
        before = DecisionRules.from_config({"overrides": (current or {}).get("overrides", [])}).overrides
        return self._write(current, rev, {}, before, actor)

    def _write(self, current: dict | None, rev: str | None, cells: dict[tuple[int, int], int],
               before: dict[tuple[int, int], int], actor: str) -> str:
        doc = {"_id": DOC_ID, "type": "checklist", "name": "lqas_rules", **_config(cells.items()),
               "changed_by": actor, "changed_at": now_iso()}
        if rev:
            doc["_rev"] = rev
        result = self.store.ensure("global").bulk_docs([doc], new_edits=True)[0]
        if "error" in result:
            raise Conflict("The LQAS decision rules were changed by someone else in the meantime.")
        self.audit.record(actor=actor, action="checklist.lqas_rules_changed", scope="global", doc_id=DOC_ID,
                          before=_config(before.items()), after=_config(cells.items()))
        return result["rev"]


def _config(cells: Iterable[tuple[tuple[int, int], int]]) -> dict[str, Any]:
    return {"overrides": [{"n": n, "target": t, "d": d} for (n, t), d in sorted(cells)]}
