"""The export page: a form's submissions as a CSV zip or an XLSX, for the areas one coordinates,
and the de-identified table of child protection cases (``server/case_exports.py``).

The page is a plain form posted back to itself (CSRF-checked like every form
under ``/web``); a good request answers with the download, streamed as it is
made (``server/exports.py``, as ``/api/exports`` does), a wrong one with the
page again, the message in the user's language and a ``400``. An area one does
not coordinate answers ``404``, as a missing one does.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from sync.errors import BadRequest
from sync.export_query import bad, parse
from sync.reviews import STATES

from .. import case_exports
from ..exports import download, prepare
from ..services import services
from . import guard
from .errors import in_language
from .home import state_labels

bp = Blueprint("exports", __name__)


def _choices() -> tuple[dict[str, object], list]:
    """The forms one may export (title by name) and the areas one may pick."""
    who = guard.user()
    svc = services()
    forms: dict[str, object] = {}
    for doc in sorted(svc.forms.snapshot().values(), key=lambda d: d.get("version", 0)):
        if doc.get("status") != "draft" or who.is_admin:
            forms[doc["form"]] = doc.get("title") or doc["form"]
    tree = svc.areas.tree()
    codes = list(tree.areas) if who.is_admin else [c for c in {*who.areas, *guard.areas()} if c in tree.areas]

    def place(code: str) -> tuple:  # an aimag, then its soums
        parent = tree.areas[code].parent
        return (parent or code, parent is not None, code)

    return dict(sorted(forms.items())), [tree.areas[c] for c in sorted(codes, key=place)]


def _page(got, error: str | None = None, status: int = 200, case_error: str | None = None):
    forms, areas = _choices()
    return render_template("exports.html", forms=forms, areas=areas, got=got, picked=set(got.getlist("area")),
                           states=STATES, state_labels=state_labels(), error=error, case_error=case_error), status


@bp.get("/exports")
@guard.coordinator
def page():
    return _page(request.args)


@bp.post("/exports")
@guard.coordinator
def export():
    got = request.form
    form = (got.get("form") or "").strip()
    try:
        params = parse(got.get, got.getlist)
        if not form:
            raise bad("form", "choose the form to export.", "экспортлох маягтаа сонгоно уу.")
    except BadRequest as exc:
        return _page(got, error=in_language(exc.reason), status=400)
    lay, query = prepare(guard.user(), form, params)
    return download(guard.user(), lay, query, params)


@bp.post("/exports/cases")
@guard.coordinator
def export_cases():
    got = request.form
    try:
        params = parse(got.get, got.getlist)
        case_exports.check_applicable([k for k in got if k not in ("csrf_token", "format", "area")])
    except BadRequest as exc:
        return _page(got, status=400, case_error=in_language(exc.reason))
    return case_exports.download(guard.user(), params)
