"""The soum coordinator's reports: growth monitoring by soum and bag, LQAS results, and a child's chart.

Figures come from the per-area aggregates of ``sync.reports`` (one read per
area, brought up to date from the area's changes feed, at most
``REFRESH_BUDGET`` changes per request), never from reading an area through.
Each table downloads as CSV (UTF-8 with a byte-order mark, for Excel's
Cyrillic) or XLSX, in the language of the page. A coordinator sees the areas
she coordinates; any other area, and the pages for anyone but coordinators and
admins, answer 404 as a missing page does. The LQAS tables classify with the
deployment's decision rules (``sync.lqas_decision_rules``) and pool the
coverage per soum and per catchment area of the set-up; a catchment area is
pooled only for someone who coordinates all of its soums.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from programmes import growth_chart
from programmes.growth_visit import FORM as GROWTH_FORM
from programmes.lqas import DecisionRules
from programmes.nutrition import label as class_label
from sync import ids, records
from sync.derived import derived_id
from sync.errors import BadRequest, NotFound
from sync.export_files import CONTENT_TYPES, csv_safe
from sync.lqas_decision_rules import DecisionRuleTable
from sync.lqas_setup import Catchment, Survey
from sync.reports import (
    INDICATORS,
    MAX_MONTHS,
    CatchmentCoverage,
    Completeness,
    GrowthRow,
    ReportIndex,
    earliest_as_of,
    growth_rows,
    lqas_as_of,
    lqas_catchment,
    lqas_completeness,
    lqas_coverage,
    lqas_rows,
    total_row,
    window_days,
)

from ..services import services
from . import guard
from .as_of import as_of as requested_day
from .i18n import lang, pick

bp = Blueprint("reports", __name__)
REFRESH_BUDGET = 1000  # changes a report view counts at most before it shows the figures (~1 s)
DEFAULT_MONTHS = 3
TABLES = ("growth", "lqas", "coverage", "catchments")
MAX_CHILD_ID = 200


def report_index() -> ReportIndex:
    return ReportIndex(services().store)


def _months() -> int:
    """The window of "measured in the last N months" (``?months=``, 3 by default)."""
    value = request.args.get("months") or ""
    if not value:
        return DEFAULT_MONTHS
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_MONTHS:
        raise BadRequest(_("Say the months as a whole number from 1 to %(most)d.", most=MAX_MONTHS))
    return int(value)


def _areas() -> tuple[list[str], str | None]:
    """The data areas of the report: the user's, or those under ``?area=`` (404 if not hers)."""
    mine = guard.areas()
    code = request.args.get("area") or None
    if code is None:
        return mine, None
    tree = services().areas.tree()
    wanted = [c for c in tree.data_scopes([code]) if c in mine] if code in tree.areas else []
    if not wanted:
        raise NotFound("missing")
    return wanted, code


@dataclass
class Report:
    as_of: date  # the day the figures stand on (``?as_of=``, today by default)
    months: int
    soums: list[str]
    growth: dict[str, list[GrowthRow]]  # soum -> total row then bag rows
    lqas: dict[str, list]  # soum -> LqasRow list
    coverage: dict[str, dict]  # soum -> indicator -> Coverage | None
    survey: Survey  # the LQAS set-up the tables were made with
    completeness: dict[str, list[Completeness]]  # soum -> "SA k: 17/19 interviews in"
    busy: bool = False
    rules: DecisionRules | None = None  # the decision rules in use (binomial, or the deployment's table)
    catchments: list[CatchmentCoverage] = field(default_factory=list)  # the set-up's, that one may see
    withheld: list[Catchment] = field(default_factory=list)  # touching the areas, but not all one's own


def build(soums: list[str], months: int = DEFAULT_MONTHS, as_of: date | None = None) -> Report:
    """The report over ``soums`` as of ``as_of`` (today by default): one read of the aggregates and one
    range read of the visits replaced since that day, per area (``sync.reports``). A catchment area of
    the set-up that has a supervision area in them is pooled whole (its other soums read too) when the
    user may see every one of its soums, and only named as withheld otherwise: its figure is made of
    areas she may not see."""
    index = report_index()
    survey = index.survey
    mine = set(guard.areas())
    touching = [c for c in survey.catchments if c.soums & set(soums)]
    seen = [c for c in touching if c.soums <= mine]
    wanted = list(dict.fromkeys([*soums, *(code for c in seen for code in sorted(c.soums))]))
    busy = False
    for code in wanted:
        step = index.refresh(code, max_changes=REFRESH_BUDGET)
        busy |= step.busy or not step.done
    metas = index.metas(wanted)
    today = date.today()
    as_of = as_of or today
    replaced = index.superseded({c: metas.get(c) or {} for c in soums}, as_of)
    if as_of < today:  # the LQAS tallies of the interviews made by then
        metas = {code: {**meta, "lqas": lqas_as_of(meta, as_of)} for code, meta in metas.items()}
    rules, _rev = DecisionRuleTable(services().store).get()
    report = Report(as_of, months, soums, {}, {}, {}, survey, {}, busy, rules,
                    [lqas_catchment(metas, survey, c) for c in seen], [c for c in touching if c not in seen])
    for code in soums:
        meta = metas.get(code) or {}
        bags = growth_rows(meta, as_of, window_days(months), replaced.get(code, ()))
        if bags:
            report.growth[code] = [total_row(bags, ""), *bags]
        rows = lqas_rows(meta, rules, survey=survey, area=code)
        if rows:
            report.lqas[code] = rows
            report.coverage[code] = lqas_coverage(rows, survey)
        bar = lqas_completeness(meta, survey, code)
        if bar:
            report.completeness[code] = bar
    return report


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def indicator_names() -> dict[str, str]:
    return {name: class_label(name, lang=lang()) for name in INDICATORS}


def lqas_names(survey: Survey) -> dict[str, str]:
    return {i.key: pick(i.label) for i in survey.indicators}


def table(report: Report, name: str) -> tuple[list[str], list[list]]:
    """One report table as plain header and rows (what the downloads hold), in the page's language."""
    tree = services().areas.tree()

    def soum(code: str) -> str:
        area = tree.areas.get(code)
        return pick(area.name, code) if area else code

    if name == "growth":
        measured = (_("Measured in the last %(months)d months", months=report.months) if report.as_of == date.today()
                    else _("Measured in the %(months)d months up to %(day)s", months=report.months,
                           day=report.as_of.isoformat()))
        head = [_("Soum"), _("Bag"), _("Children"), measured, _("Share measured (%)")]
        for label in indicator_names().values():
            head += [_("%(indicator)s: classified", indicator=label), _("%(indicator)s: flagged", indicator=label),
                     _("%(indicator)s: moderate", indicator=label), _("%(indicator)s: severe", indicator=label),
                     _("%(indicator)s: prevalence (%%)", indicator=label)]
        rows = []
        for code, lines in report.growth.items():
            for line in lines:
                row = [soum(code), line.bag or (_("All bags") if line is lines[0] else _("(no bag)")),
                       line.children, line.measured, _pct(line.share())]
                for ind in INDICATORS:
                    row += [line.counts.get(f"{ind}.n", 0), line.counts.get(f"{ind}.flagged", 0),
                            line.counts.get(f"{ind}.moderate", 0), line.counts.get(f"{ind}.severe", 0),
                            _pct(line.prevalence(ind))]
                rows.append(row)
        return head, rows
    if name == "lqas":
        head = [_("Soum"), _("Supervision area"), _("Households"), _("Interviews"), _("Indicator"),
                _("Target (%)"), _("Correct"), _("Eligible"), _("Decision rule (at least)"),
                _("Decision rule from"), _("Result")]
        names = lqas_names(report.survey)
        rows = []
        for code, lines in report.lqas.items():
            for r in lines:
                result = "" if r.reached is None else _("Reached") if r.reached else _("Not reached")
                source = "" if r.source is None else _("the deployment's table") if r.source == "override" \
                    else _("binomial")
                rows.append([soum(code), r.sa, r.households or "", r.interviews, names[r.indicator], r.target,
                             r.x, r.n, "" if r.d is None else r.d, source, result])
        return head, rows
    if name == "coverage":
        head = [_("Soum"), _("Indicator"), _("Target (%)"), _("Coverage (%)"), _("95% CI low (%)"),
                _("95% CI high (%)"), _("Supervision areas")]
        names = lqas_names(report.survey)
        rows = []
        for code, per in report.coverage.items():
            for ind in report.survey.indicators:
                cov = per.get(ind.key)
                rows.append([soum(code), names[ind.key], ind.target, _pct(cov.estimate if cov else None),
                             _pct(cov.low if cov else None), _pct(cov.high if cov else None),
                             cov.areas if cov else 0])
        return head, rows
    if name == "catchments":
        head = [_("Catchment area"), _("Indicator"), _("Target (%)"), _("Coverage (%)"), _("95% CI low (%)"),
                _("95% CI high (%)"), _("Supervision areas with interviews"), _("Supervision areas in the catchment")]
        names = lqas_names(report.survey)
        rows = []
        for found in report.catchments:
            for ind in report.survey.indicators:
                cov = found.coverage.get(ind.key)
                rows.append([pick(found.catchment.name, found.catchment.code), names[ind.key], ind.target,
                             _pct(cov.estimate if cov else None), _pct(cov.low if cov else None),
                             _pct(cov.high if cov else None), found.with_data, found.areas])
        return head, rows
    raise NotFound("missing")


@bp.get("/reports")
@guard.coordinator
def page():
    soums, picked = _areas()
    report = build(soums, _months(), requested_day())
    tree = services().areas.tree()
    tables = {name: table(report, name) for name in TABLES}
    from .cases import risk_names, soum_counts  # child protection: counts only

    return render_template("reports.html", report=report, tables=tables, tree=tree, picked=picked, choices=_choices(),
                           indicators=indicator_names(), query=_query(), soums=soum_counts(soums, report.as_of),
                           risk_names=risk_names(), today=date.today(), earliest=earliest_as_of())


def _choices() -> list[str]:
    """The areas one may pick: each aimag whose soums one all covers, followed by its soums."""
    tree = services().areas.tree()
    mine = guard.areas()
    out: list[str] = []
    for code in mine:
        parent = tree.areas[code].parent
        if parent and parent in tree.areas and parent not in out and set(tree.data_scopes([parent])) <= set(mine):
            out += [parent, *(c for c in mine if tree.areas[c].parent == parent)]
    return out + [c for c in mine if c not in out]


def _query() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in ("area", "months", "as_of") and v}


@bp.get("/reports/<name>.<fmt>")
@guard.coordinator
def download(name: str, fmt: str):
    if name not in TABLES or fmt not in ("csv", "xlsx"):
        raise NotFound("missing")
    soums, _picked = _areas()
    report = build(soums, _months(), requested_day())
    head, rows = table(report, name)
    filename = f"{name}-{report.as_of.isoformat()}.{fmt}"
    body = _csv(head, rows) if fmt == "csv" else _xlsx(name, head, rows)
    return Response(body, content_type="text/csv; charset=utf-8" if fmt == "csv" else CONTENT_TYPES["xlsx"],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _csv(head: list, rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(head)
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _xlsx(name: str, head: list, rows: list[list]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    ws = wb.add_worksheet(name)
    bold = wb.add_format({"bold": True})
    ws.write_row(0, 0, head, bold)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if isinstance(value, str) and value and _is_number(value):
                ws.write_number(i, j, float(value))
            elif isinstance(value, str):
                ws.write_string(i, j, value)
            else:
                ws.write(i, j, value)
    ws.freeze_panes(1, 0)
    wb.close()
    return out.getvalue()


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"\d+(\.\d+)?", text))


# -- a child's growth ---------------------------------------------------------------------------

@dataclass
class ChildGrowth:
    child_id: str
    area: str
    visits: list[dict]  # {"id", "data", "derived"} oldest first
    charts: list[Figure]


def child_growth(area: str, child_id: str) -> ChildGrowth | None:
    """One child's visits in ``area`` that the user may see, with the two charts; None if there are none."""
    svc = services()
    index = report_index()
    index.refresh(area, max_changes=REFRESH_BUDGET)
    sub_ids = index.child_visits(area, child_id)
    if not sub_ids:
        return None
    db = svc.store.open(area)
    keys = [*sub_ids, *(derived_id(s) for s in sub_ids)]
    found = {r["key"]: r.get("doc") for r in db.all_docs(keys=keys, include_docs=True)}
    visits = []
    for sid in sub_ids:
        sub = found.get(sid)
        if not sub or sub.get("form") != GROWTH_FORM or not svc.access.visible(guard.user(), area, sub, sid):
            continue
        data = sub.get("data") or {}
        if data.get("child_id") != child_id:
            continue
        der = found.get(derived_id(sid)) or {}
        visits.append({"id": sid, "data": data,
                       "derived": (der.get("derived") or {}) if der.get("about") == sid else {}})
    if not visits:
        return None
    visits.sort(key=lambda v: (str(v["data"].get("visit_date")), v["id"]))
    return ChildGrowth(child_id, area, visits, charts(visits))


@dataclass
class Figure:
    """One growth chart and what its caption says: the visits it could not draw, and why."""
    indicator: str
    svg: str
    left_out: list[str]


def _chart_texts() -> dict[str, tuple[str, str, str]]:
    """Title, x label and y label of each chart, in the page's language."""
    age = _("Age (months)")
    return {"lhfa": (_("Length/height-for-age"), age, _("Length/height (cm)")),
            "wfa": (_("Weight-for-age"), age, _("Weight (kg)")),
            "wfl": (_("Weight-for-length (under 24 months)"), _("Length (cm)"), _("Weight (kg)")),
            "wfh": (_("Weight-for-height (24-59 months)"), _("Height (cm)"), _("Weight (kg)")),
            "bmi": (_("BMI-for-age"), age, _("BMI (kg/m²)")),
            "acfa": (_("MUAC-for-age"), age, _("MUAC (mm)"))}


def _left_out_text(indicator: str, label: str, reason: str) -> str:
    if reason == growth_chart.OEDEMA:
        return _("%(date)s: oedema, so no weight-based z-score is computed", date=label)
    if reason == growth_chart.AGE:
        return _("%(date)s: 60 months or older, beyond WHO's standards", date=label)
    if reason == growth_chart.MUAC_AGE:
        return _("%(date)s: under 3 months, before WHO's MUAC-for-age table starts", date=label)
    if reason == growth_chart.RANGE and indicator == "wfl":
        return _("%(date)s: length outside the weight-for-length table (45-110 cm)", date=label)
    if reason == growth_chart.RANGE:
        return _("%(date)s: height outside the weight-for-height table (65-120 cm)", date=label)
    return _("%(date)s: no z-score", date=label)


def charts(visits: list[dict]) -> list[Figure]:
    """The child's charts over WHO's curves, one per index that a visit measured (``growth_chart.series``)."""
    sex = next((v["data"].get("sex") for v in reversed(visits) if v["data"].get("sex") in ("m", "f")), None)
    if sex is None:
        return []
    found = growth_chart.series({"data": v["data"], "derived": v["derived"], "label": str(v["data"].get("visit_date"))}
                                for v in visits)
    texts = _chart_texts()
    out = []
    for name, one in found.items():
        title, x_label, y_label = texts[name]
        out.append(Figure(name, growth_chart.svg(name, sex, one.points, title=title, x_label=x_label,
                                                 y_label=y_label, sd_label=_("SD")),
                          [_left_out_text(name, label, reason) for label, reason in one.left_out]))
    return out


@bp.get("/areas/<area>/child")
@guard.coordinator
def child(area: str):
    guard.area_or_404(area)
    child_id = (request.args.get("id") or "").strip()
    if not child_id:
        raise BadRequest(_("Say which child: the page needs ?id=<child id>."))
    if len(child_id) > MAX_CHILD_ID:
        raise BadRequest(_("A child id has at most %(most)d characters.", most=MAX_CHILD_ID))
    found = child_growth(area, child_id)
    if found is None:
        raise NotFound("missing")
    tree = services().areas.tree()
    return render_template("child.html", child=found, area=tree.areas.get(area), code=area,
                           indicators=indicator_names(), class_label=class_label, lang=lang)


@bp.get("/areas/<area>/children")
@guard.coordinator
def children(area: str):
    """A bag's children, the longest unmeasured first, each with the classes of its newest visit."""
    guard.area_or_404(area)
    if "bag" not in request.args:
        raise BadRequest(_("Say which bag: the page needs ?bag=<name of the bag>."))
    bag = request.args["bag"].strip()
    if len(bag) > 100:
        raise BadRequest(_("A bag's name has at most %(most)d characters.", most=100))
    months = _months()
    index = report_index()
    index.refresh(area, max_changes=REFRESH_BUDGET)
    rows, after = index.children(area, bag, after=request.args.get("after") or None)
    since = (date.today() - timedelta(days=window_days(months) - 1)).isoformat()
    tree = services().areas.tree()
    return render_template("children.html", rows=rows, after=after, bag=bag, code=area, area=tree.areas.get(area),
                           since=since, months=months, indicators=indicator_names(), class_of=class_of,
                           class_label=class_label, lang=lang)


def class_of(counts: dict, name: str) -> str | None:
    """The class a visit's counts stand for (``visit_counts``): severe, moderate, none, or None."""
    for level in ("severe", "moderate"):
        if counts.get(f"{name}.{level}"):
            return level
    return "none" if counts.get(f"{name}.n") else None


def submission_growth(docid: str, sub: dict) -> ChildGrowth | None:
    """The growth panel of a growth_visit's page: its z-scores and the child's chart (None otherwise)."""
    if sub.get("form") != GROWTH_FORM:
        return None
    parsed = ids.parse_doc_id(docid)
    data = sub.get("data") or {}
    child_id = data.get("child_id")
    found = child_growth(parsed.scope, child_id) if isinstance(child_id, str) and child_id else None
    if found is not None and any(v["id"] == docid for v in found.visits):
        return found
    der = records.read(services().store.open(parsed.scope), derived_id(docid)) or {}
    visit = {"id": docid, "data": data, "derived": der.get("derived") or {} if der.get("about") == docid else {}}
    return ChildGrowth(child_id or "", parsed.scope, [visit], charts([visit]))
