"""Community scorecards: trends per soum, and each facility's cycles compared.

Scores are the server's derived values of each ``scorecard_cycle``
(``programmes.scorecards``: normalised 0-100, so cycles on different scales
compare); actions take their latest status from the ``scorecard_followup``
submissions. The comparison chart is SVG drawn here, no script.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from programmes import scorecards as csc
from sync.errors import NotFound
from sync.facility_index import FacilityIndex

from ..services import services
from . import guard
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


def _facilities(code: str, today: date) -> dict[str, dict]:
    """An area's facilities: their cycles (by number), the comparison, the latest cycle's actions."""
    values = FacilityIndex(services().store).values(code, {csc.CYCLE_FORM, csc.FOLLOWUP_FORM, csc.INPUTS_FORM})
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
        f["name"], f["type"] = latest["facility_name"], latest["facility_type"]
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
    return dict(sorted(out.items(), key=lambda kv: kv[1]["name"]))


@bp.get("/scorecards")
@guard.coordinator
def report():
    allowed = guard.areas()
    chosen = request.args.get("area") or ""
    if chosen:
        guard.area_or_404(chosen)
    today = date.today()
    soums = [{"code": code, "facilities": list(_facilities(code, today).values())}
             for code in ([chosen] if chosen else allowed)]
    for soum in soums:
        soum["trend"] = csc.soum_trend(f["compare"] for f in soum["facilities"])
    tree = services().areas.tree()
    if request.args.get("format") in FORMATS:
        return _table(soums, request.args["format"])
    return render_template("scorecards_report.html", soums=soums, tree=tree, areas=allowed, chosen=chosen,
                           type_names=type_names())


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
    found = _facilities(area, date.today()).get(key)
    if found is None:
        raise NotFound("missing")
    tree = services().areas.tree()
    return render_template("scorecard_facility.html", f=found, area=tree.areas.get(area), code=area,
                           chart=bar_chart(found["compare"]), type_names=type_names(),
                           groups=sorted({g for ind in found["latest"]["indicators"] for g in ind["groups"]}),
                           status_names=status_names(), group_names=group_names())


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
