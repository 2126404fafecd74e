"""WASH in kindergartens: the soum report, each kindergarten's levels over time, the norms checklist.

The levels are the server's derived values of each ``kindergarten_wash_visit``
(``programmes.wash``), read, never recomputed here. A kindergarten counts in
the report at its latest visit. The national norms checklist is the admins'
(``sync.checklists``); coordinators see its items' text beside the answers.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from programmes import wash
from sync import ids
from sync.checklists import MAX_ITEMS, SERVICES, ChecklistProblem, WashNorms
from sync.errors import Conflict, NotFound
from sync.facility_index import FacilityIndex
from sync.register_names import register_names

from ..services import services
from . import guard
from .as_of import as_of as requested_day
from .errors import page
from .table_download import FORMATS, table_response

bp = Blueprint("wash", __name__)
BLANK_ROWS = 3


def level_names() -> dict[str, str]:
    return {"advanced": _("Advanced service"), "basic": _("Basic service"), "limited": _("Limited service"),
            "none": _("No service")}


def type_names() -> dict[str, str]:
    return {"ger_kindergarten": _("Ger-kindergarten"), "kindergarten": _("Kindergarten"), "school": _("School"),
            "dormitory": _("Dormitory"), "unknown": _("Unknown")}


def service_names() -> dict[str, str]:
    return {"water": _("Drinking water"), "sanitation": _("Sanitation"), "hygiene": _("Hygiene"),
            "overall": _("All three"), "other": _("Other")}


def _soum(code: str, day: date | None = None) -> dict:
    """One area's kindergartens: each with its visits (oldest first), and the tally of their latest;
    as of ``day``, only the visits made on or before it (the register is today's)."""
    store = services().store
    names = register_names(store, code, ids.KINDERGARTEN)
    until = day.isoformat() if day else "9999"
    visits = wash.latest_per_kindergarten(v for v in FacilityIndex(store).values(code, {wash.FORM})
                                          if str(v.get("visit_date") or "") <= until)
    rows = []
    for kg, history in visits.items():
        latest = history[-1]
        before = history[-2] if len(history) > 1 else None
        change = None if before is None else (wash.RANK[latest["overall_service"]]
                                              - wash.RANK[before["overall_service"]])
        rows.append({"id": kg, "name": names.get(kg) or kg, "latest": latest, "visits": len(history),
                     "change": change, "no_service": any(latest[f"{s}_service"] == "none" for s in wash.SERVICES)})
    rows.sort(key=lambda r: r["name"])
    return {"code": code, "rows": rows, "tally": wash.tally(r["latest"] for r in rows),
            "by_type": wash.tally_by_type(r["latest"] for r in rows),
            "registered": len(names), "not_visited": len(set(names) - set(visits))}


@bp.get("/wash")
@guard.coordinator
def report():
    allowed = guard.areas()
    chosen = request.args.get("area") or ""
    if chosen:
        guard.area_or_404(chosen)
    codes = [chosen] if chosen else allowed
    day = requested_day()
    tree = services().areas.tree()
    soums = [_soum(code, day) for code in codes]
    if request.args.get("format") in FORMATS:
        return _table(soums, request.args["format"])
    return render_template("wash_report.html", soums=soums, tree=tree, areas=allowed, chosen=chosen,
                           as_of=day, today=date.today(),
                           levels=wash.LEVELS, services=(*wash.SERVICES, "overall"),
                           level_names=level_names(), service_names=service_names(), type_names=type_names())


def _table(soums: list[dict], fmt: str) -> Response:
    head = ["area", "service", "kindergartens", *wash.LEVELS, "basic_or_better_pct"]
    rows = []
    for soum in soums:
        t = soum["tally"]
        for service in (*wash.SERVICES, "overall"):
            rows.append([soum["code"], service, t["kindergartens"],
                         *(t["levels"][service][lv] for lv in wash.LEVELS), t["basic_or_better"][service]])
    return table_response("wash-service-levels", head, rows, fmt)


@bp.get("/wash/kindergartens/<kg_id>")
@guard.coordinator
def kindergarten(kg_id: str):
    parsed, db = guard.doc_scope_or_404(kg_id, ids.KINDERGARTEN)
    try:
        kg = db.get(kg_id)
    except NotFound:
        raise NotFound("missing") from None
    store = services().store
    history = wash.latest_per_kindergarten(
        v for v in FacilityIndex(store).values(parsed.scope, {wash.FORM}) if v.get("kindergarten") == kg_id).get(kg_id, [])
    answers = []
    if history:
        try:
            latest_sub = db.get(history[-1]["about"])
            answers = (latest_sub.get("data") or {}).get("norms") or []
        except NotFound:
            answers = []
    items = WashNorms(store).items_by_code()
    tree = services().areas.tree()
    return render_template("wash_kindergarten.html", kg=kg, kg_id=kg_id, area=tree.areas.get(parsed.scope),
                           history=history, answers=answers, items=items, levels=wash.LEVELS,
                           level_names=level_names(), service_names=service_names(),
                           status_names=status_names(), chart=ladder_chart(history))


def status_names() -> dict[str, str]:
    return {"met": _("Met"), "not_met": _("Not met"), "na": _("Not applicable")}


def ladder_chart(history: list[dict]) -> dict:
    """Geometry of the levels-over-time chart: one row per service, one square per visit."""
    cell, gap, left, top = 34, 6, 0, 0
    rows = []
    for r, service in enumerate((*wash.SERVICES, "overall")):
        rows.append({"service": service, "y": top + r * (cell + gap),
                     "cells": [{"x": left + i * (cell + gap), "level": v[f"{service}_service"],
                                "date": v["visit_date"]} for i, v in enumerate(history)]})
    return {"rows": rows, "cell": cell, "width": max(1, len(history)) * (cell + gap),
            "height": len(rows) * (cell + gap)}


# -- the admins' checklist ------------------------------------------------------------------

def _problem_text(p: ChecklistProblem) -> str:
    texts = {
        "too_many": _("A checklist holds at most %(max)s items.", max=MAX_ITEMS),
        "bad_code": _("Row %(row)s: the code must be 1 to 40 letters, digits, dots, dashes or underscores.",
                      row=p.row),
        "duplicate_code": _("Row %(row)s: the code %(code)s is used twice.", row=p.row, code=p.params.get("code")),
        "bad_service": _("Row %(row)s: choose the service the item belongs to.", row=p.row),
        "missing_text": _("Row %(row)s: the item needs its text in Mongolian and in English.", row=p.row),
        "text_too_long": _("Row %(row)s: a text may have at most %(max)s characters.", row=p.row,
                           max=p.params.get("max")),
    }
    return texts.get(p.code, _("The checklist could not be saved."))


@bp.get("/admin/wash-norms")
@guard.admin
def norms():
    doc = WashNorms(services().store).get()
    return _norms_page(doc.get("items", []), doc.get("_rev"), saved=request.args.get("saved") == "1")


def _norms_page(items: list[dict], rev: str | None, *, error: str | None = None, status: int = 200,
                saved: bool = False):
    rows = [*items, *({"code": "", "service": "", "text": {}} for _ in range(BLANK_ROWS))]
    return render_template("wash_norms.html", rows=rows, rev=rev or "", error=error, saved=saved,
                           services=SERVICES, service_names=service_names()), status


@bp.post("/admin/wash-norms")
@guard.admin
def norms_save():
    form = request.form
    try:
        count = int(form.get("rows") or 0)
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_ITEMS + BLANK_ROWS:
        return page(400, _("The checklist form was not complete; open the page again."))
    items = []
    for i in range(count):
        code = form.get(f"code_{i}", "").strip()
        text = {"mn": form.get(f"mn_{i}", ""), "en": form.get(f"en_{i}", "")}
        if form.get(f"drop_{i}") or not (code or text["mn"].strip() or text["en"].strip()):
            continue  # removed, or a blank row left blank
        items.append({"code": code, "service": form.get(f"service_{i}", ""), "text": text})
    rev = form.get("rev") or None
    norms_store = WashNorms(services().store, services().audit)
    try:
        norms_store.save(items, actor=guard.user().name, rev=rev)
    except ChecklistProblem as problem:
        return _norms_page(items, rev, error=_problem_text(problem), status=400)
    except Conflict:
        return page(409, _("Another admin changed the checklist in the meantime. Open the page again to see "
                           "their version, then repeat your change."))
    return redirect(url_for("web.wash.norms", saved=1))
