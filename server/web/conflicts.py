"""Conflicts a person resolves: documents of the coordinator's areas whose edits overlap.

Disjoint edits never reach these pages: the server merged them when they
arrived (``sync.conflicts``). The list pages through the conflict index one
area at a time; a document's page shows its live revisions side by side,
field by field, with the base they share and the merge rule's suggestion
pre-chosen, and one choice per field; saving goes through
``Conflicts.resolve``, the same call as ``/api/conflicts`` and the CLI.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync import ids, records
from sync.conflicts.fields import MISSING, Path
from sync.conflicts.resolver import ConflictView
from sync.errors import BadRequest, Conflict, CouchError, NotFound
from sync.referral_cases import may_read

from ..services import services
from . import guard
from .errors import in_language

bp = Blueprint("conflicts", __name__)
APPENDED = "every-side"  # the choice "keep every side's entries" of an append-only list
PAGE = 50
MAX_NOTE = 2000


@bp.get("/conflicts")
@guard.coordinator
def listing():
    area = request.args.get("area") or None
    scopes = [guard.area_or_404(area)] if area else guard.areas()
    after = request.args.get("after") or None
    entries = services().conflicts.listing(scopes, after=after, limit=PAGE + 1, visible=_may_read)
    more = entries[PAGE:]
    entries = entries[:PAGE]
    tree = services().areas.tree()
    return render_template("conflicts.html", entries=entries, area=area, tree=tree,
                           areas=[tree.areas[c] for c in guard.areas() if c in tree.areas],
                           next_after=entries[-1]["_id"] if more else None,
                           kind_name=kind_name)


def _may_read(docid: str, doc: dict) -> bool:
    db = services().store.open(docid.split(":", 1)[0])
    return may_read(guard.user(), docid, doc, lambda cid: records.read(db, cid))


def _db_or_404(docid: str):
    """The document's area; a child protection case, or a referral whose case is open (its
    review too), only for those who may see it (``sync.referral_cases.may_read``), as their
    own pages are."""
    _parsed, db = guard.doc_scope_or_404(docid)
    if not may_read(guard.user(), docid, records.read(db, docid), lambda cid: records.read(db, cid)):
        raise NotFound("missing")
    return db


@bp.get("/conflicts/<path:docid>")
@guard.coordinator
def detail(docid: str):
    db = _db_or_404(docid)
    try:
        view = services().conflicts.view(db, docid)
    except Conflict:
        raise NotFound("missing") from None  # no conflict (any more): nothing to resolve here
    return _page(view)


@bp.post("/conflicts/<path:docid>")
@guard.coordinator
def resolve(docid: str):
    db = _db_or_404(docid)
    svc = services()
    revs = request.form.getlist("revs")
    # "Every side's entries" is what the merge rule does for an append-only list: no pick needed.
    picks = {key[len("pick:"):]: value for key, value in request.form.items()
             if key.startswith("pick:") and value != APPENDED}
    note = (request.form.get("note") or "").strip() or None
    try:
        if note is not None and len(note) > MAX_NOTE:
            raise BadRequest(_("The note is longer than %(n)s characters.", n=MAX_NOTE))
        done = svc.conflicts.resolve(db, docid, revs=revs, picks=picks, by=guard.user().name, note=note)
    except (BadRequest, Conflict) as exc:
        try:
            view = svc.conflicts.view(db, docid)
        except Conflict:
            raise Conflict(_("This conflict was resolved in the meantime.")) from None
        # The page again, with what was chosen kept and the reason on top.
        return _page(view, error=_explain(exc), picks=picks, note=note or "", status=exc.status)
    flash(_("Saved: %(id)s is now one revision (%(rev)s).", id=docid, rev=done["rev"]))
    return redirect(url_for("web.conflicts.listing", area=docid.split(":", 1)[0]))


def _explain(exc: CouchError) -> str:
    if isinstance(exc, Conflict) and "changed since" in exc.reason:
        return _("The document changed since this page was opened: look at it again and choose anew.")
    if exc.reason.startswith("Choose a revision for "):
        return _("Choose a value for every field marked as changed on both sides.")
    return in_language(exc.reason)


def _page(view: ConflictView, *, error: str | None = None, picks: dict | None = None,
          note: str = "", status: int = 200):
    revs = [leaf.rev for leaf in view.leaves]
    chosen = {f.pointer: revs[f.choice] if f.choice is not None else APPENDED
              for f in view.fields if f.pick is not None}
    chosen.update({k: v for k, v in (picks or {}).items() if v in revs})
    rows = [{"pointer": f.pointer, "label": field_label(view.leaves[0].doc, f.path),
             "values": [shown(v) for v in f.values], "base": None if view.base is None else shown(f.base),
             "overlapping": f.overlapping, "rule": f.rule, "chosen": chosen.get(f.pointer),
             "appended": shown(f.merged) if f.rule == "appended" else None}
            for f in view.fields]
    heads = [{"rev": leaf.rev, "winner": i == 0, "author": leaf.doc.get("author"),
              "at": leaf.doc.get("updated_at") or leaf.doc.get("created_at")}
             for i, leaf in enumerate(view.leaves)]
    return render_template("conflict.html", view=view, rows=rows, heads=heads, error=error, note=note,
                           kind_name=kind_name, area=view.scope, appended=APPENDED), status


def shown(value: Any) -> dict:
    """A value as the page prints it: text as is, anything else as compact JSON."""
    if value is MISSING:
        return {"absent": True, "text": ""}
    if isinstance(value, str):
        return {"absent": False, "text": value}
    return {"absent": False, "text": orjson.dumps(value).decode()}


def kind_name(docid: str) -> str:
    parsed = ids.parse_doc_id(docid)
    names = {ids.SUBMISSION: _("Submission"), ids.FAMILY: _("Family"), ids.KINDERGARTEN: _("Kindergarten"),
             ids.REVIEW: _("Review")}
    return names.get(parsed.kind, parsed.kind) if parsed else ""


def field_label(doc: dict, path: Path) -> str:
    """The question's label in the page's language for a submission's answer, else the path."""
    from .i18n import pick

    plain = " › ".join(path)
    if doc.get("type") != "submission" or len(path) < 2 or path[0] != "data":
        return plain
    form = services().forms.get(doc.get("form"), doc.get("form_version")) if doc.get("form") else None
    if not form:
        return plain
    labels = []
    fields = form.get("fields") or []
    for name in path[1:]:
        found = next((f for f in fields if isinstance(f, dict) and f.get("name") == name), None)
        if found is None:
            return plain
        labels.append(pick(found.get("label"), name))
        fields = found.get("fields") or []
    return " › ".join(labels)
