"""Who may read and write what, scope by scope and document by document.

Roles (DESIGN.md, Access):

* worker: reads and writes the data areas assigned (an assigned aimag covers
  its soums); sees submissions of sensitive forms only when they are the
  author; never writes ``global``, reviews, feedback, derived values, design
  documents or another user's submissions. A derived document (z-scores of a
  submission) is seen exactly by those who see its submission.
* coordinator: reads everything of their areas, sensitive cases included;
  writes reviews (and families, kindergartens, their own submissions).
* child protection cases (``<area>:case:<key>``, ``sync.cases``) are the
  exception for both: only the case's author, its assigned coordinator and
  its team see one; other workers and coordinators of the area do not.
  Once a case is open, its referral (with the referral's review and
  derived document) is seen as the case is: ``sync.referral_cases`` and the
  replica's filter (``UserReplica._sees_referral``) apply that on top of
  this, a worker on the team included.
* admin: everything.

Every "no" here is a reason a person can act on, in English and Mongolian
(``sync.gate.messages``); the write gate sends it back to the device and keeps
it with the quarantined document.
"""

from __future__ import annotations

from sync import cases, ids
from sync.accounts.users import User
from sync.areas import AreaRegistry
from sync.forms import FormRegistry
from sync.gate.messages import text
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
        if f":{ids.CASE}:" in docid and (parsed := ids.parse_doc_id(docid)) is not None \
                and parsed.kind == ids.CASE:
            return user.name in cases.members(doc)  # None (body not read): not shown
        if user.role == "coordinator":
            return True
        parsed = ids.parse_doc_id(docid)
        if parsed is None or parsed.kind not in (ids.SUBMISSION, ids.REVIEW, ids.FEEDBACK, ids.DERIVED):
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
            return text("design_admin_only")
        if scope == GLOBAL:
            return text("global_admin_only")
        parsed = ids.parse_doc_id(docid)
        if parsed is None:
            return text("bad_id", docid=docid, scope=scope)
        if parsed.scope != scope:
            return text("other_area", docid=docid, area=parsed.scope, scope=scope)
        if scope not in self.data_scopes(user):
            return text("not_assigned", scope=scope)
        if parsed.kind == ids.FEEDBACK:
            return text("feedback_server_only")
        if parsed.kind == ids.DERIVED:
            return text("derived_server_only")
        if parsed.kind == ids.REVIEW:
            return None if user.role == "coordinator" else text("review_coordinators_only")
        if parsed.kind == ids.SUBMISSION:
            if existing is not None and existing.get("author") not in (None, user.name):
                # Not naming the owner: the submission may be a case this user may not see.
                return text("not_your_submission", docid=docid)
            if not doc.get("_deleted") and doc.get("author") != user.name:
                return text("author_must_be_you", user=user.name, author=doc.get("author"))
            return None
        if parsed.kind in ids.FIELD_KINDS:
            return None
        if parsed.kind == ids.CASE:
            return cases.write_denial(user, doc, existing)
        return text("unknown_kind", kind=parsed.kind)
