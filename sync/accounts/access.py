"""Who may read and write what, scope by scope and document by document.

Roles (DESIGN.md, Access):

* worker: reads and writes the data areas assigned (an assigned aimag covers
  its soums); sees submissions of sensitive forms only when they are the
  author; never writes ``global``, reviews, feedback, design documents or
  another user's submissions.
* coordinator: reads everything of their areas, sensitive cases included;
  writes reviews (and families, kindergartens, their own submissions).
* admin: everything.

Every "no" here is a reason a person can act on; the write gate sends it back
to the device and keeps it with the quarantined document.
"""

from __future__ import annotations

from sync import ids
from sync.accounts.users import User
from sync.areas import AreaRegistry
from sync.forms import FormRegistry
from sync.scopes import GLOBAL


class Access:
    def __init__(self, areas: AreaRegistry, forms: FormRegistry):
        self.areas = areas
        self.forms = forms

    # -- scopes -------------------------------------------------------------------
    def data_scopes(self, user: User) -> list[str]:
        tree = self.areas.tree()
        if user.is_admin:
            return tree.data_scopes()
        return tree.data_scopes(user.areas)

    def readable_scopes(self, user: User) -> list[str]:
        """``global`` first, then the user's data areas: the members of ``/sync/<user>``."""
        return [GLOBAL, *self.data_scopes(user)]

    # -- reading -------------------------------------------------------------------
    def visible(self, user: User, scope: str, doc: dict | None, docid: str) -> bool:
        """Whether ``user`` may see this document (``doc`` is its winning revision)."""
        if user.is_admin:
            return True
        if scope == GLOBAL:
            return doc is None or doc.get("status") != "draft" or doc.get("type") != "form"
        if docid.startswith("_design/"):
            return False
        if user.role == "coordinator":
            return True
        parsed = ids.parse_doc_id(docid)
        if parsed is None or parsed.kind not in (ids.SUBMISSION, ids.REVIEW, ids.FEEDBACK):
            return True
        if doc is None or doc.get("_deleted") and "author" not in doc and "submission_author" not in doc:
            return False  # a bare tombstone says too little to know whom it concerns
        if parsed.kind == ids.FEEDBACK:
            return doc.get("author") == user.name
        author = doc.get("author") if parsed.kind == ids.SUBMISSION else doc.get("submission_author")
        if author == user.name:
            return True
        return doc.get("form") not in self.forms.sensitive_forms()

    # -- writing -------------------------------------------------------------------
    def write_denial(self, user: User, scope: str, doc: dict, existing: dict | None) -> str | None:
        """Why ``user`` may not write ``doc`` into ``scope`` (None: they may)."""
        docid = doc["_id"]
        if user.is_admin:
            return None
        if docid.startswith("_design/"):
            return "Only admins write design documents."
        if scope == GLOBAL:
            return "Forms and areas are changed by admins only."
        parsed = ids.parse_doc_id(docid)
        if parsed is None:
            return (f"Document id {docid!r} must look like <area>:<kind>:<id>, "
                    f"for example {scope}:sub:01JDQ7Z3K8M2N4P6Q8R0S2T4V6.")
        if parsed.scope != scope:
            return f"Document {docid!r} belongs to area {parsed.scope!r}, not {scope!r}."
        if scope not in self.data_scopes(user):
            return f"You are not assigned to area {scope!r}."
        if parsed.kind == ids.FEEDBACK:
            return "Feedback documents are written by the server only."
        if parsed.kind == ids.REVIEW:
            return None if user.role == "coordinator" else "Only coordinators review submissions."
        if parsed.kind == ids.SUBMISSION:
            if existing is not None and existing.get("author") not in (None, user.name):
                # Not naming the owner: the submission may be a case this user may not see.
                return f"Submission {docid!r} belongs to another user; you cannot change it."
            if not doc.get("_deleted") and doc.get("author") != user.name:
                return f"A submission's author must be you ({user.name!r}), not {doc.get('author')!r}."
            return None
        if parsed.kind in ids.FIELD_KINDS:
            return None
        return f"Unknown document kind {parsed.kind!r}; use sub, fam or kg."
