"""Community scorecards: trends per soum, and each facility's cycles compared.

Facilities come from the area's register (``sync.facility_register``), which a
coordinator adds to here; cycles that name no registered facility are grouped by
their typed name. Scores are the server's derived values of each ``scorecard_cycle``
(``programmes.scorecards``: normalised 0-100, so cycles on different scales
compare); actions take their latest status from the ``scorecard_followup``
submissions. The comparison chart is SVG drawn here, no script.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from programmes import scorecards as csc
from sync import facility_register
from sync.clock import now_iso
from sync.errors import NotFound
from sync.facility_index import FacilityIndex

from ..services import services
from . import guard
from .as_of import as_of as requested_day
from .errors import in_language
from .i18n import lang
from .table_download import FORMATS, table_response

bp = Blueprint("scorecards", __name__)
COLOURS = ("#90a4ae", "#4f83cc", "#1d3b5a", "#f5a623", "#2e7d32", "#8e24aa")


def status_names() -> dict[str, str]:
    return {"planned": _("Planned"), "in_progress": _("In progress"), "done": _("Done"), "dropped": _("Dropped")}


def type_names() -> dict[str, str]:
    return {"health_centre": _("Soum health centre"), "family_health_centre": _("Family health centre"),
            "school": _("School"), "kindergarten": _("Kindergarten")}


def group_names() -> dict[str, str]:
    return {"women": _("Women"), "men": _("Men"), "youth": _("Youth"), "leaders": _("Leaders"), "other": _("Other")}


DATES = {csc.CYCLE_FORM: "meeting_date", csc.FOLLOWUP_FORM: "followup_date", csc.INPUTS_FORM: "tracking_date"}


def _facilities(code: str, today: date) -> tuple[dict[str, dict], list[dict]]:
    """An area's facilities with cycles (their cycles by number, the comparison, the latest cycle's
    actions), and the registered facilities that have none yet.

    Cycles, follow-ups and input tracking are grouped by ``facility_key``: the register id they
    name, else their typed type and name, moved onto the registered facility of that type and name
    when there is one (``csc.assign``). A registered facility is shown by its register name.
    As they stood on ``today``: a past day counts the cycles, follow-ups and input tracking dated up
    to it (the register as it is now).
    """
    store = services().store
    register = facility_register.facilities(store, code)
    until = today.isoformat()
    values = csc.assign([v for v in FacilityIndex(store).values(code, set(DATES))
                         if str(v.get(DATES[v["form"]]) or "") <= until], register)
    cycles = [v for v in values if v["form"] == csc.CYCLE_FORM]
    followups = [v for v in values if v["form"] == csc.FOLLOWUP_FORM]
    tracked: dict[tuple, list[dict]] = {}
    for v in values:
        if v["form"] == csc.INPUTS_FORM:
            tracked.setdefault((v["facility_key"], v["cycle_no"]), []).append(v)
    out: dict[str, dict] = {}
    for c in cycles:
        out.setdefault(c["facility_key"], {"key": c["facility_key"], "cycles": []})["cycles"].append(c)
    for f in out.values():
        f["cycles"].sort(key=lambda c: (c.get("cycle_no") or 0, str(c.get("meeting_date"))))
        latest = f["cycles"][-1]
        entry = register.get(f["key"])
        f["registered"] = entry is not None
        f["name"] = entry.get("name") if entry else latest["facility_name"]
        f["type"] = entry.get("facility_type") if entry else latest["facility_type"]
        f["bag"] = entry.get("bag") if entry else None
        f["compare"] = csc.compare(f["cycles"])
        f["actions"] = {c["cycle_no"]: csc.action_statuses(c, followups, today) for c in f["cycles"]}
        # each cycle's latest input tracking
        f["inputs"] = {c["cycle_no"]: max(tracked[(f["key"], c["cycle_no"])], key=lambda t: t["tracking_date"])
                       for c in f["cycles"] if (f["key"], c["cycle_no"]) in tracked}
        f["latest"] = latest
        f["completion"] = csc.completion(f["actions"][latest["cycle_no"]])
        previous = [c for c in f["cycles"] if c["cycle_no"] != latest["cycle_no"]]
        f["previous_completion"] = csc.completion(f["actions"][previous[-1]["cycle_no"]]) if previous else None
        f["overdue"] = sum(1 for actions in f["actions"].values() for a in actions if a["overdue"])
    waiting = sorted(({"key": rid, "name": d.get("name") or rid, "type": d.get("facility_type"), "bag": d.get("bag"),
                       "registered": True, "cycles": []} for rid, d in register.items() if rid not in out),
                     key=lambda f: csc.plain(f["name"]))
    return dict(sorted(out.items(), key=lambda kv: kv[1]["name"])), waiting


@bp.get("/scorecards")
@guard.coordinator
def report():
    allowed = guard.areas()
    chosen = request.args.get("area") or ""
    if chosen:
        guard.area_or_404(chosen)
    return _report(allowed, chosen, requested_day())


def _report(allowed: list[str], chosen: str, today: date, *, error: str | None = None,
            typed: dict | None = None, status: int = 200):
    soums = []
    for code in ([chosen] if chosen else allowed):
        scored, waiting = _facilities(code, today)
        soums.append({"code": code, "facilities": list(scored.values()), "waiting": waiting,
                      "trend": csc.soum_trend(f["compare"] for f in scored.values())})
    tree = services().areas.tree()
    if request.args.get("format") in FORMATS:
        return _table(soums, request.args["format"])
    return render_template("scorecards_report.html", soums=soums, tree=tree, areas=allowed, chosen=chosen,
                           type_names=type_names(), types=facility_register.TYPES, error=error,
                           typed=typed or {}, as_of=today, today=date.today()), status


@bp.post("/scorecards/<area>/facilities")
@guard.coordinator
def add_facility(area: str):
    """A coordinator registers a facility of the area, written through the write gate as a device's."""
    guard.area_or_404(area)
    form, who = request.form, guard.user()
    typed = {"area": area, "name": form.get("name") or "", "facility_type": form.get("facility_type") or "",
             "bag": form.get("bag") or ""}
    doc = facility_register.new_facility(area, name=typed["name"], facility_type=typed["facility_type"],
                                         bag=typed["bag"], author=who.name, now=now_iso())
    db = services().store.ensure(area)
    result = services().gate.write(who, db, [doc], new_edits=True, hold_refused=False)[0]
    if "error" in result:
        reason = (result.get("messages") or {}).get(lang()) or in_language(result.get("reason") or "")
        return _report(guard.areas(), area, date.today(), error=reason, typed=typed, status=400)
    services().audit.record(actor=who.name, action="facility.registered", scope=area, doc_id=doc["_id"],
                            rev=result.get("rev"), name=doc["name"], facility_type=doc["facility_type"])
    return redirect(url_for("web.scorecards.facility", area=area, key=doc["_id"], saved=1))


def _table(soums: list[dict], fmt: str) -> Response:
    head = ["area", "facility", "facility_type", "cycle_no", "meeting_date", "scale", "overall_0_100",
            "provider_0_100", "trend", "actions_agreed", "actions_done", "actions_overdue"]
    rows = []
    for soum in soums:
        for f in soum["facilities"]:
            for c in f["cycles"]:
                done = csc.completion(f["actions"][c["cycle_no"]])
                trend = f["compare"]["overall_trend"] if c is f["latest"] else None
                rows.append([soum["code"], f["name"], f["type"], c["cycle_no"], c["meeting_date"],
                             f"{c['scale_min']}-{c['scale_max']}", c["overall"], c["overall_provider"], trend,
                             done["agreed"], done["done"], done["overdue"]])
    return table_response("scorecard-trends", head, rows, fmt)


@bp.get("/scorecards/<area>/facilities/<path:key>")
@guard.coordinator
def facility(area: str, key: str):
    guard.area_or_404(area)
    scored, waiting = _facilities(area, date.today())
    found = scored.get(key) or next((f for f in waiting if f["key"] == key), None)
    if found is None:
        raise NotFound("missing")
    if not found["cycles"]:
        return render_template("scorecard_facility.html", f=found, area=services().areas.tree().areas.get(area),
                               code=area, chart=None, type_names=type_names(), groups=[],
                               status_names=status_names(), group_names=group_names(),
                               saved=bool(request.args.get("saved")))
    tree = services().areas.tree()
    return render_template("scorecard_facility.html", f=found, area=tree.areas.get(area), code=area,
                           chart=bar_chart(found["compare"]), type_names=type_names(),
                           groups=sorted({g for ind in found["latest"]["indicators"] for g in ind["groups"]}),
                           status_names=status_names(), group_names=group_names(),
                           saved=bool(request.args.get("saved")))


def bar_chart(comparison: dict) -> dict:
    """Geometry of the grouped bars: per indicator, one bar per cycle on the 0-100 scale."""
    bar, gap, label, scale_w, left = 14, 3, 18, 4.0, 40
    cycles = comparison["cycles"]
    colour = {no: COLOURS[i % len(COLOURS)] for i, no in enumerate(cycles)}
    groups, y = [], 0
    for row in [{"indicator": _("Overall"), "scores": comparison["overall"]}, *comparison["rows"]]:
        bars = []
        for i, no in enumerate(cycles):
            score = row["scores"].get(no)
            bars.append({"cycle": no, "score": score, "colour": colour[no], "x": left,
                         "y": y + label + i * (bar + gap), "w": 0 if score is None else round(score * scale_w, 1)})
        groups.append({"indicator": row["indicator"], "y": y + label - 5, "bars": bars})
        y += label + len(cycles) * (bar + gap) + 8
    return {"groups": groups, "bar": bar, "width": left + 100 * scale_w + 50, "height": y,
            "left": left, "ticks": [{"x": left + t * scale_w, "t": t} for t in (0, 50, 100)],
            "legend": [{"cycle": no, "colour": colour[no]} for no in cycles]}
