"""Submissions of an area: the list with filters and counts, one submission, and its review.

The list reads the area's submission index (``sync.subindex``), never the
area itself; one submission is one read of its document (and of its review).
A decision or a comment goes through ``sync.reviews.Reviews`` and so through
the write gate, exactly as ``/api/reviews``, ``fieldsync review`` and a
coordinator's replica do.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from programmes.nutrition import label as class_label
from sync import ids, records
from sync.errors import BadRequest, Conflict, NotFound
from sync.referral_cases import REFERRAL_FORM, need_to_know
from sync.reviews import DECISIONS, STATES, review_id, state_of
from sync.subindex import Filters

from ..indexes import reviews, submission_index
from ..services import services
from . import answers, guard, photos
from .errors import in_language
from .home import state_labels
from .reports import indicator_names, submission_growth

bp = Blueprint("submissions", __name__)
PAGE_SIZE = 50
SCAN_BUDGET = 2000  # index rows a filtered page reads at most
REFRESH_BUDGET = 500  # changes a page view indexes at most before showing the list (~0.4 s)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
MAX_QUERY = 100




def _filters() -> Filters:
    args = request.args
    state = args.get("state") or None
    if state is not None and state not in STATES:
        raise BadRequest(_("There is no review state “%(state)s”.", state=state[:40]))
    version = args.get("version") or None
    if version is not None:
        if not (version.isascii() and version.isdigit()) or len(version) > 6:
            raise BadRequest(_("The form version is a whole number."))
        version = int(version)
    dates = {}
    for key in ("from", "to"):
        value = args.get(key) or None
        if value is not None:
            try:
                if not DATE_RE.match(value):
                    raise ValueError
                date.fromisoformat(value)
            except ValueError:
                raise BadRequest(_("Dates are written as YYYY-MM-DD.")) from None
        dates[key] = value
    text = (args.get("q") or "").strip() or None
    if text is not None and len(text) > MAX_QUERY:
        raise BadRequest(_("Search for at most %(most)d characters.", most=MAX_QUERY))
    return Filters(state=state, form=args.get("form") or None, version=version,
                   author=args.get("author") or None, date_from=dates["from"], date_to=dates["to"], text=text)


@bp.get("/areas/<area>/submissions")
@guard.coordinator
def listing(area: str):
    guard.area_or_404(area)
    filters = _filters()
    svc = services()
    refreshed = submission_index().refresh(area, max_changes=REFRESH_BUDGET)
    page = submission_index().page(area, filters, after=request.args.get("after") or None, limit=PAGE_SIZE,
                        budget=SCAN_BUDGET)
    page.rows = _known_rows(area, page.rows)
    forms = {}
    for doc in svc.forms.snapshot().values():
        if doc.get("status") != "draft":
            forms.setdefault(doc["form"], doc.get("title"))
    counts = submission_index().counts(area)
    tree = svc.areas.tree()
    authors = sorted(u.name for u in svc.users.list() if u.role == "worker" or area in svc.access.data_scopes(u))
    query = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_template(
        "submissions.html", area=tree.areas.get(area), code=area, page=page, filters=filters, forms=forms,
        counts=counts, states=STATES, state_labels=state_labels(), authors=authors, query=query,
        refreshed=refreshed, total=sum(n for per in counts.values() for n in per.values()))


@bp.get("/submissions/<docid>")
@guard.coordinator
def detail(docid: str):
    return _detail(docid)


def _detail(docid: str, *, error: str | None = None, status: int = 200, typed: str = "", chosen: str = ""):
    parsed, db = guard.doc_scope_or_404(docid, ids.SUBMISSION)
    svc = services()
    try:
        sub = db.get(docid, revs_info=True, conflicts=True)
    except NotFound:
        raise NotFound("missing") from None
    if not svc.access.visible(guard.user(), parsed.scope, sub, docid) or not _need_to_know(db, docid, sub):
        raise NotFound("missing")
    review = records.read(db, review_id(docid))
    definition = svc.forms.get(sub.get("form"), sub.get("form_version")) if isinstance(sub.get("form"), str) else None
    layout = answers.lay_out(definition, sub.get("data") or {}, sub.get("_attachments"))
    tree = svc.areas.tree()
    # Which device sent it: the author's devices as the sync log knows them, with their last push.
    devices = sorted(({"name": d.get("device") or d.get("user_agent") or "?", "push": d.get("last_push_at")}
                      for d in svc.synclog.devices(sub["author"])) if isinstance(sub.get("author"), str) else [],
                     key=lambda d: d["push"] or "", reverse=True)
    resp = make_response(render_template(
        "submission.html", sub=sub, docid=docid, area=tree.areas.get(parsed.scope), code=parsed.scope,
        definition=definition, layout=layout, review=review, state=state_of(review), decisions=DECISIONS,
        state_labels=state_labels(), error=error, typed=typed, chosen=chosen,
        saved=request.args.get("saved") == "1",
        revisions=sub.get("_revs_info") or [], conflicts=sub.get("_conflicts") or [], devices=devices[:5],
        receipts=svc.synclog.receipts(docid), via_names=via_names(),
        growth=submission_growth(docid, sub), indicators=indicator_names(), class_label=class_label),
        status)
    return resp


def _known_rows(area: str, rows: list[dict]) -> list[dict]:
    """The page's rows less the referrals whose case the reader is not on (``sync.referral_cases``):
    their row would say who sent it and when, and a text search would tell what it says. They stay
    in the counts per form and state."""
    who = guard.user()
    if who.is_admin or not any(r.get("f") == REFERRAL_FORM and r.get("a") != who.name for r in rows):
        return rows
    db = services().store.open(area)
    return [r for r in rows if r.get("f") != REFERRAL_FORM or r.get("a") == who.name
            or _need_to_know(db, f"{area}:{ids.SUBMISSION}:{r['k']}", {"form": r.get("f"), "author": r.get("a")})]


def _need_to_know(db, docid: str, sub: dict) -> bool:
    """A referral whose case is open is shown as its case is (``sync.referral_cases``)."""
    return need_to_know(guard.user(), docid, sub, lambda cid: records.read(db, cid))


def via_names() -> dict[str, str]:
    """How a revision reached the server (``sync.replica.receipts.VIAS``), as the page says it."""
    return {"sync": _("synced from a device"), "db": _("written to the area's database"),
            "api": _("through the API"), "web": _("in these pages"),
            "merge": _("merged by the server (edits of different fields)"),
            "server": _("on the server (command line)")}


@bp.post("/submissions/<docid>/review")
@guard.coordinator
def review_post(docid: str):
    guard.doc_scope_or_404(docid, ids.SUBMISSION)
    form = request.form
    status = form.get("status") or None
    comment = form.get("comment") or ""
    try:
        reviews().record(guard.user(), docid, status=status, comment=comment,
                         review_rev=form.get("review_rev"), submission_rev=form.get("submission_rev"))
    except NotFound:
        raise
    except (BadRequest, Conflict) as exc:
        return _detail(docid, error=in_language(exc.reason), status=exc.status, typed=comment,
                       chosen=status or "")
    parsed = ids.parse_doc_id(docid)
    submission_index().refresh(parsed.scope, max_changes=REFRESH_BUDGET)
    return redirect(url_for("web.submissions.detail", docid=docid, saved=1) + "#review")


@bp.get("/submissions/<docid>/photos/<name>")
@guard.coordinator
def photo(docid: str, name: str):
    parsed, db = guard.doc_scope_or_404(docid, ids.SUBMISSION)
    svc = services()
    sub = records.read(db, docid)
    if sub is None or not svc.access.visible(guard.user(), parsed.scope, sub, docid) \
            or not _need_to_know(db, docid, sub):
        abort(404)
    size = request.args.get("size", "thumb")
    if size not in ("thumb", "full"):
        raise BadRequest(_("A photo is shown as thumb or full."))
    return photos.send(db, docid, name, sub, thumbnail=size == "thumb")
