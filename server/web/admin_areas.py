"""The admins' area pages: the tree (aimag > soum > bag, Ulaanbaatar > district > khoroo),
adding and editing an area, importing a CSV of them, and which areas hold data.

Changes go through ``sync.area_changes`` (as ``POST /api/areas`` does), so
they are checked alike and recorded in the audit trail. An imported file is
checked whole first (``sync.area_csv``): one with problems stores nothing and
the page lists each problem with its row and column.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync import area_changes
from sync.area_csv import LEVELS
from sync.errors import BadRequest, Conflict, NotFound

from ..services import services
from . import guard
from .errors import in_language
from .i18n import lang

bp = Blueprint("admin_areas", __name__)
MAX_CSV = 2 * 1024 * 1024  # a country's every bag and khoroo is far less


def level_names() -> dict[str, str]:
    return {"country": _("Country"), "aimag": _("Aimag"), "soum": _("Soum"), "bag": _("Bag"),
            "city": _("City"), "district": _("District"), "khoroo": _("Khoroo")}


def _rows() -> list[dict]:
    """The tree, parents before children, with each data area's document count."""
    svc = services()
    tree = svc.areas.tree()
    out: list[dict] = []

    def walk(code: str, depth: int) -> None:
        area = tree.areas[code]
        docs = None
        if area.holds_data and svc.store.exists(code):
            docs = svc.store.open(code).info().get("doc_count", 0)
        out.append({"area": area, "depth": depth, "docs": docs})
        for child in tree.children.get(code, ()):
            walk(child, depth + 1)

    for root in tree.roots():
        walk(root, 0)
    return out


@bp.get("/admin/areas")
@guard.admin
def listing():
    return _tree_page()


def _tree_page(problems: list[dict] | None = None, error: str | None = None, status: int = 200):
    rows = _rows()
    return render_template("admin_areas.html", rows=rows, levels=level_names(), problems=problems, error=error,
                           data_areas=sum(1 for r in rows if r["area"].holds_data)), status


def _form_page(form: dict, *, editing: bool, error: str | None = None, status: int = 200):
    tree = services().areas.tree()
    parents = sorted(tree.areas.values(), key=lambda a: a.code)
    return render_template("admin_area.html", form=form, editing=editing, error=error, levels=level_names(),
                           parents=parents), status


@bp.get("/admin/areas/new")
@guard.admin
def new():
    parent = request.args.get("parent") or ""
    return _form_page({"code": "", "name_en": "", "name_mn": "", "parent": parent, "level": "",
                       "holds_data": False}, editing=False)


def _posted() -> dict:
    form = {k: (request.form.get(k) or "").strip() for k in ("code", "name_en", "name_mn", "parent", "level")}
    form["holds_data"] = request.form.get("holds_data") == "1"
    return form


def _check_posted(form: dict) -> None:
    if any(len(form[k]) > 200 for k in ("code", "name_en", "name_mn", "parent", "level")):
        raise BadRequest(_("A field is longer than %(n)s characters.", n=200))
    if form["level"] and form["level"] not in LEVELS:
        raise BadRequest(_("Choose a level from the list."))


def _save(form: dict, *, editing: bool):
    svc = services()
    change = area_changes.edit_area if editing else area_changes.add_area
    _check_posted(form)
    return change(svc.areas, svc.audit, by=guard.user().name, code=form["code"], name_en=form["name_en"],
                  name_mn=form["name_mn"] or None, parent=form["parent"] or None, level=form["level"] or None,
                  holds_data=form["holds_data"])


@bp.post("/admin/areas")
@guard.admin
def add():
    form = _posted()
    try:
        area = _save(form, editing=False)
    except (BadRequest, Conflict, NotFound) as exc:  # NotFound: the parent chosen (a form value: 400)
        return _form_page(form, editing=False, error=in_language(exc.reason), status=400 if exc.status == 404 else exc.status)
    flash(_("Added the area %(code)s.", code=area.code))
    return redirect(url_for("web.admin_areas.listing"))


@bp.get("/admin/areas/<code>")
@guard.admin
def edit(code: str):
    area = services().areas.tree().areas.get(code)
    if area is None:
        raise NotFound("missing")
    return _form_page({"code": area.code, "name_en": area.name.get("en", ""), "name_mn": area.name.get("mn", ""),
                       "parent": area.parent or "", "level": area.level or "", "holds_data": area.holds_data},
                      editing=True)


@bp.post("/admin/areas/<code>")
@guard.admin
def save(code: str):
    if code not in services().areas.tree().areas:
        raise NotFound("missing")
    form = {**_posted(), "code": code}
    try:
        _save(form, editing=True)
    except (BadRequest, Conflict, NotFound) as exc:
        return _form_page(form, editing=True, error=in_language(exc.reason),
                          status=400 if exc.status == 404 else exc.status)
    flash(_("Saved the area %(code)s.", code=code))
    return redirect(url_for("web.admin_areas.listing"))


@bp.post("/admin/areas/import")
@guard.admin
def import_csv():
    svc = services()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _tree_page(error=_("Choose a CSV file to import."), status=400)
    raw = upload.read(MAX_CSV + 1)
    if len(raw) > MAX_CSV:
        return _tree_page(error=_("The file is larger than %(n)s MB.", n=MAX_CSV // (1024 * 1024)), status=413)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _tree_page(error=_("The file is not UTF-8 text; save it from the spreadsheet as CSV UTF-8."),
                          status=400)
    try:
        count = area_changes.import_areas(svc.areas, svc.audit, by=guard.user().name, text=text,
                                          filename=upload.filename[:200])
    except BadRequest as exc:
        problems = (exc.extra or {}).get("problems")
        if problems:
            return _tree_page(problems=[{**p, "text": p["messages"].get(lang()) or p["message"]}
                                        for p in problems], status=400)
        return _tree_page(error=in_language(exc.reason), status=400)
    flash(_("Imported %(n)s areas.", n=count))
    return redirect(url_for("web.admin_areas.listing"))
