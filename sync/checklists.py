"""The national WASH norms checklist: an admin's document in ``global``.

The 2015 decree "Norms and Requirements for WASH in kindergartens, schools and
dormitories" is the reference, but its items were not found
(``../shared/programmes.md`` section 4.2), so nothing is hard-coded: an admin
enters the items (code, service, text in Mongolian and English) and the
kindergarten visit form answers each by its code. The document lives in the
``global`` scope (``global:checklist:wash_norms``), so every device receives it
with the forms and areas, and every app server reads the same one.

A save names the revision it edited: a second admin's save in between is a
conflict, not a silent overwrite. Each save is in the audit trail
(``checklist.changed``, with the items before and after).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sync.audit import Audit
from sync.clock import now_iso
from sync.errors import Conflict
from sync.stores.base import Store

DOC_ID = "global:checklist:wash_norms"
SERVICES = ("water", "sanitation", "hygiene", "other")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}\Z")
MAX_ITEMS = 100
MAX_TEXT = 500


@dataclass
class ChecklistProblem(ValueError):
    """Why the items cannot be saved: ``code`` names the rule (pages translate it), ``row`` is 1-based."""

    code: str
    row: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} (row {self.row}): {self.params}"


def check_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items cleaned (spaces trimmed), or the first ChecklistProblem."""
    if len(items) > MAX_ITEMS:
        raise ChecklistProblem("too_many", None, {"max": MAX_ITEMS})
    seen: set[str] = set()
    out = []
    for n, item in enumerate(items, start=1):
        code = str(item.get("code") or "").strip()
        text = {lang: " ".join(str((item.get("text") or {}).get(lang) or "").split()) for lang in ("mn", "en")}
        service = item.get("service")
        if not CODE_RE.match(code):
            raise ChecklistProblem("bad_code", n, {"code": code[:40]})
        if code.casefold() in seen:
            raise ChecklistProblem("duplicate_code", n, {"code": code})
        if service not in SERVICES:
            raise ChecklistProblem("bad_service", n, {"code": code})
        if not text["mn"] or not text["en"]:
            raise ChecklistProblem("missing_text", n, {"code": code})
        if any(len(t) > MAX_TEXT for t in text.values()):
            raise ChecklistProblem("text_too_long", n, {"code": code, "max": MAX_TEXT})
        seen.add(code.casefold())
        out.append({"code": code, "service": service, "text": text})
    return out


class WashNorms:
    """Reads and saves the checklist document."""

    def __init__(self, store: Store, audit: Audit | None = None) -> None:
        self.store = store
        self.audit = audit or Audit(store)

    def get(self) -> dict[str, Any]:
        """``{"items": [...], "_rev": ...}``; no items and no ``_rev`` before the first save."""
        db = self.store.ensure("global")
        rows = list(db.all_docs(keys=[DOC_ID], include_docs=True))
        doc = rows[0].get("doc") if rows else None
        return doc if doc else {"items": []}

    def items_by_code(self) -> dict[str, dict[str, Any]]:
        return {item["code"]: item for item in self.get().get("items", [])}

    def save(self, items: list[dict[str, Any]], *, actor: str, rev: str | None) -> str:
        """Write the checked items over revision ``rev`` (None: the first save); the new revision."""
        clean = check_items(items)
        current = self.get()
        if current.get("_rev") != (rev or None):
            raise Conflict("The checklist was changed by someone else in the meantime.")
        doc = {"_id": DOC_ID, "type": "checklist", "name": "wash_norms", "items": clean,
               "changed_by": actor, "changed_at": now_iso()}
        if rev:
            doc["_rev"] = rev
        result = self.store.ensure("global").bulk_docs([doc], new_edits=True)[0]
        if "error" in result:
            raise Conflict("The checklist was changed by someone else in the meantime.")
        self.audit.record(actor=actor, action="checklist.changed", scope="global", doc_id=DOC_ID,
                                 before=current.get("items", []), after=clean)
        return result["rev"]
