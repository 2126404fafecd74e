"""Families: the area's list, a family's page (its children, visits and family card), the card's steps,
and the soum's family assessments (coverage per indicator and bag, baseline against the latest round).

A family's household members are the register's ``child`` documents naming
it; each shows its age today and its newest growth visit's date and classes,
and the growth records answer the assessment's growth item beside the
worker's answer (``sync.household``, from the report index's per-child rows,
``sync.reports``). The family card (``sync.families``) is changed through the
write gate, so a coordinator's step is held to the same rules as a worker's
device: enumerated states, allowed steps, history only added to.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from programmes import family_assessment as fa
from programmes.nutrition import label as class_label
from sync import families, household, ids, records
from sync.derived import derived_id
from sync.errors import Conflict, NotFound
from sync.facility_index import FacilityIndex

from ..services import services
from . import guard
from .errors import in_language, page
from .i18n import lang, pick
from .reports import REFRESH_BUDGET, report_index
from .table_download import FORMATS, table_response

bp = Blueprint("families", __name__)
PAGE = 25
SCAN = 2000  # rows a search reads at most per page before it offers the next page
MAX_QUERY = 100


def state_names() -> dict[str, str]:
    return {"awareness": _("Awareness"), "assessment": _("Assessment"), "action": _("Action")}


@bp.get("/families")
@guard.coordinator
def index():
    """The areas whose families the user may see; straight to the list when there is one."""
    codes = guard.areas()
    if len(codes) == 1:
        return redirect(url_for("web.families.listing", area=codes[0]))
    return render_template("families_index.html", areas=codes, tree=services().areas.tree())


@bp.get("/areas/<area>/families")
@guard.coordinator
def listing(area: str):
    """The area's families in id order, a page at a time, read by key range from ``after``."""
    guard.area_or_404(area)
    q = " ".join((request.args.get("q") or "").split())
    if len(q) > MAX_QUERY:
        return page(400, _("A search has at most %(most)d characters.", most=MAX_QUERY))
    prefix = f"{area}:{ids.FAMILY}:"
    after = request.args.get("after") or ""
    if after and not after.startswith(prefix):
        return page(400, _("The page link is not one of this area's; open the list again."))
    store = services().store
    rows, next_after = [], None
    if store.exists(area):
        db = store.open(area)
        needle = q.casefold()
        start, read = (after + "\x00") if after else prefix, 0
        for row in db.all_docs(startkey=start, endkey=prefix + "\uffff", include_docs=True, limit=SCAN):
            read += 1
            doc = row.get("doc")
            if doc and (not needle or needle in str(doc.get("name") or "").casefold()
                        or needle in str(doc.get("bag") or "").casefold()):
                rows.append(doc)
            if len(rows) == PAGE or read == SCAN:
                next_after = row["id"]
                break
        if next_after and not _more(db, next_after, prefix):
            next_after = None
    tree = services().areas.tree()
    return render_template("families.html", rows=rows, after=next_after, q=q, code=area, area=tree.areas.get(area),
                           tally=_tally(area), state_names=state_names(), states=families.STATES)


def _tally(area: str) -> dict:
    """The area's family cards: per programme area, how many families are at each state (the soum's view)."""
    store = services().store
    configured = families.FesAreas(store).get().get("items", [])
    counts = {a["code"]: dict.fromkeys(families.STATES, 0) for a in configured}
    cards = 0
    if store.exists(area):
        for card in records.iter_docs(store.open(area), f"{area}:{ids.FES}:"):
            cards += 1
            for code, entry in (card.get("areas") or {}).items():
                if code in counts and isinstance(entry, dict) and entry.get("status") in families.STATES:
                    counts[code][entry["status"]] += 1
    return {"cards": cards, "rows": [{"label": pick(a["text"], a["code"]), "counts": counts[a["code"]]}
                                     for a in configured]}


def _more(db, after: str, prefix: str) -> bool:
    return bool(list(db.all_docs(startkey=after + "\x00", endkey=prefix + "\uffff", limit=1)))


def _family(fam_id: str):
    parsed, db = guard.doc_scope_or_404(fam_id, ids.FAMILY)
    family = records.read(db, fam_id)
    if family is None:
        raise NotFound("missing")
    return parsed, db, family


def _members(area: str, fam_id: str) -> list[household.Member]:
    """The family's household members from the register, with their growth visits (the report index)."""
    index = report_index()
    index.refresh(area, max_changes=REFRESH_BUDGET)
    return household.members(services().store, area, fam_id, index=index)


def _growth_records(members: list[household.Member], visits: list[dict], today: date) -> list[dict]:
    """What the growth records say about the growth item, at the newest assessment and today,
    beside the worker's answer at that assessment."""
    out = []
    newest = next((v for v in visits if v["assessment"] and _day(v["date"])), None)
    if newest is not None:
        found = household.records_answer(members, _day(newest["date"]))
        worker = newest["answers"].get(household.GROWTH_ITEM)
        out.append({"when": "assessment", "visit": newest, "records": found, "worker": worker,
                    "agreement": household.agreement(worker, found.answer)})
    out.append({"when": "today", "visit": None, "records": household.records_answer(members, today),
                "worker": None, "agreement": None})
    return out


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _visits(db, area: str, fam_id: str) -> list[dict]:
    """The submissions that name the family (``data.family``), newest first, that the user may see."""
    svc, who = services(), guard.user()
    titles = {}
    out = []
    for sub in records.iter_docs(db, f"{area}:{ids.SUBMISSION}:"):
        data = sub.get("data") or {}
        if fam_id not in (data.get("family"), data.get("family_id")) or not svc.access.visible(
                who, area, sub, sub["_id"]):
            continue
        form = (sub.get("form"), sub.get("form_version"))
        if form not in titles:
            definition = svc.forms.get(*form) if form[0] else None
            titles[form] = pick((definition or {}).get("title"), str(form[0]))
        out.append({"id": sub["_id"], "form": titles[form], "assessment": sub.get("form") == fa.FORM,
                    "round": data.get("round"), "rows": data.get("indicators") if sub.get("form") == fa.FORM else None,
                    "date": data.get("visit_date") or data.get("date") or str(sub.get("created_at") or "")[:10]})
    # A family assessment shows its family score (the server's derived value, as the soum's page reads it)
    # and keeps its answers (the derived reading of them; the raw rows when it has none).
    wanted = [derived_id(v["id"]) for v in out if v["assessment"]]
    scores = {row["key"]: (row.get("doc") or {}).get("derived") or {}
              for row in db.all_docs(keys=wanted, include_docs=True)} if wanted else {}
    for v in out:
        derived = scores.get(derived_id(v["id"]), {}) if v["assessment"] else {}
        score = derived.get("family_score")
        v["score"] = None if score is None else round(100 * score)
        answers = derived.get("answers")
        if not isinstance(answers, dict):
            answers = {r.get("indicator"): r.get("answer") for r in v.pop("rows", None) or () if isinstance(r, dict)}
        v.pop("rows", None)
        v["answers"] = answers
    return sorted(out, key=lambda v: v["date"], reverse=True)


LOWEST, MOST_LOWEST = 10, 100


def round_names() -> dict[str, str]:
    return {"baseline": _("Baseline"), "follow_up": _("Follow-up")}


@bp.get("/areas/<area>/families/assessments")
@guard.coordinator
def assessments(area: str):
    """The soum coordinator's view of the family assessments: what the families have, bag by bag, at
    baseline and at the latest round, and the families with the lowest scores, for outreach.

    Read from the server's derived values (the family score, ``programmes.family_assessment``) kept in
    the facility index, never recomputed here; families' names and bags from the register.
    """
    guard.area_or_404(area)
    raw = request.args.get("lowest") or str(LOWEST)
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MOST_LOWEST:
        return page(400, _("The number of families to list must be a whole number from 1 to %(most)d.",
                           most=MOST_LOWEST))
    fmt, table_name = request.args.get("format") or "", request.args.get("table") or ""
    if (fmt or table_name) and (fmt not in FORMATS or table_name not in ASSESSMENT_TABLES):
        return page(400, _("A download names one of the page's tables (%(tables)s) and a format (csv or xlsx).",
                           tables=", ".join(ASSESSMENT_TABLES)))
    store = services().store
    found = FacilityIndex(store).values(area, {fa.FORM, fa.SESSION_FORM, fa.PROJECT_FORM}) \
        if store.exists(area) else []
    rows = [r for r in found if r["form"] == fa.FORM]
    fams = {d["_id"]: d for d in records.iter_docs(store.open(area), f"{area}:{ids.FAMILY}:")} \
        if store.exists(area) else {}
    bag_of = {fid: str(f.get("bag") or "") for fid, f in fams.items()}
    rounds = fa.by_round(rows)
    configured = families.IndicatorList(store).get().get("items", [])
    codes = [i["id"] for i in configured]
    seen = sorted({c for r in rows for c in (r.get("answers") or {})} - set(codes))
    labels = {i["id"]: pick({"mn": i.get("label_mn"), "en": i.get("label_en")}, i["id"]) for i in configured}
    indicators = [{"id": c, "label": labels.get(c, c), "flag": c in fa.FLAGS} for c in [*codes, *seen]]
    table = {r: fa.coverage(rounds[r].values(), bag_of, [*codes, *seen]) for r in ("baseline", "latest")}
    bags = sorted({bag_of.get(str(r.get("family_id")), "") for rs in rounds.values() for r in rs.values()})

    def cell(rnd: str, code: str, bag: str | None) -> dict[str, int] | None:
        per_bag = table[rnd][code]
        cells = list(per_bag.values()) if bag is None else [per_bag[bag]] if bag in per_bag else []
        if not cells:
            return None
        met, applicable = sum(c["met"] for c in cells), sum(c["applicable"] for c in cells)
        return {"met": met, "applicable": applicable, "pct": round(100 * met / applicable)}

    def mean(rnd: str) -> dict:
        scores = [r["family_score"] for r in rounds[rnd].values() if r.get("family_score") is not None]
        return {"families": len(rounds[rnd]), "pct": round(100 * sum(scores) / len(scores)) if scores else None}

    low = [{**r, "family": fams.get(str(r["family_id"])) or {}, "pct": round(100 * r["family_score"])}
           for r in fa.lowest(rows, int(raw))]
    fes_areas = families.FesAreas(store).get().get("items", [])
    area_labels = {a["code"]: pick(a["text"], a["code"]) for a in fes_areas}
    sessions = [r for r in found if r["form"] == fa.SESSION_FORM]
    projects = fa.project_list(r for r in found if r["form"] == fa.PROJECT_FORM)
    cycle = {code: t for code, t in fa.triple_a(sessions, projects, area_labels).items()
             if t["sessions"] or any(t["projects"].values())}
    if fmt:
        head, lines = assessment_table(table_name, indicators=indicators, bags=bags, cell=cell, lowest=low,
                                       cycle=cycle, projects=projects, area_labels=area_labels, labels=labels)
        return table_response(f"family-{table_name.replace('_', '-')}-{area}", head, lines, fmt)
    tree = services().areas.tree()
    return render_template("family_assessments.html", code=area, area=tree.areas.get(area), bags=bags,
                           indicators=indicators, cell=cell, mean={r: mean(r) for r in ("baseline", "latest")},
                           lowest=low, limit=int(raw), most=MOST_LOWEST, round_names=round_names(),
                           assessed=len(rows), cycle=cycle, projects=projects, area_labels=area_labels,
                           labels=labels, statuses=fa.PROJECT_STATUSES, status_names=project_status_names(),
                           indicator_ids={i["id"] for i in indicators})


ASSESSMENT_TABLES = ("coverage", "lowest", "triple_a", "projects")


def assessment_table(name: str, *, indicators: list[dict], bags: list[str], cell, lowest: list[dict],
                     cycle: dict, projects: list[dict], area_labels: dict, labels: dict) -> tuple[list, list[list]]:
    """One of the assessments page's tables, in its words, for a download: one row per cell shown."""
    rounds = round_names()
    if name == "coverage":
        named = {"baseline": _("Baseline"), "latest": _("Latest round")}
        head = [_("Indicator"), _("Bag"), *(f"{named[r]}: {what}" for r in ("baseline", "latest")
                                            for what in (_("Families that have it"), _("Families it applies to"),
                                                         _("Coverage (%)")))]
        rows = []
        for ind in indicators:
            for bag in [*bags, None]:
                row = [ind["label"], _("All bags") if bag is None else bag or _("No bag")]
                for rnd in ("baseline", "latest"):
                    c = cell(rnd, ind["id"], bag)
                    row += [c["met"], c["applicable"], c["pct"]] if c else ["", "", ""]
                rows.append(row)
        return head, rows
    if name == "lowest":
        head = [_("Family"), _("Bag"), _("Round"), _("Date"), _("Family score") + " (%)", _("Indicators met"),
                _("Indicators that apply"), _("Concern noted")]
        return head, [[r["family"].get("name") or r["family_id"], r["family"].get("bag") or "",
                       rounds.get(r["round"], r["round"]), r["date"], r["pct"], r["met"], r["applicable"],
                       _("yes") if r.get("concerns") else ""] for r in lowest]
    statuses = project_status_names()
    if name == "triple_a":
        head = [_("Programme area"), _("Sessions"), _("Attendees"), _("Families reached"),
                *(statuses[st] for st in fa.PROJECT_STATUSES)]
        return head, [[area_labels.get(code, code), t["sessions"], t["attendees"], t["families"],
                       *(t["projects"][st] for st in fa.PROJECT_STATUSES)] for code, t in cycle.items()]
    head = [_("Project"), _("Programme area"), _("Bag"), _("Responsible"), _("Budget (MNT)"), _("Status"),
            _("Date"), _("Indicators it should improve")]
    return head, [[p["project_name"], area_labels.get(p["area"], p["area"]), p["bag"], p["responsible"],
                   p["budget_mnt"] if p["budget_mnt"] is not None else "", statuses.get(p["status"], p["status"]),
                   p.get("status_date") or "", "; ".join(labels.get(t, t) for t in p["targets"])]
                  for p in projects]


def project_status_names() -> dict[str, str]:
    return {"planned": _("Planned"), "in_progress": _("In progress"), "done": _("Done"), "dropped": _("Dropped")}


@bp.get("/families/<fam_id>")
@guard.coordinator
def detail(fam_id: str, error: str | None = None, status: int = 200):
    parsed, db, family = _family(fam_id)
    card = records.read(db, families.card_id(fam_id)) or {}
    configured = families.FesAreas(services().store).get().get("items", [])
    labels = {a["code"]: pick(a["text"], a["code"]) for a in configured}
    card_areas = card.get("areas") or {}
    rows = [{"code": c, "label": labels.get(c, c), "entry": card_areas.get(c)} for c in labels]
    rows += [{"code": c, "label": c, "entry": e} for c, e in sorted(card_areas.items()) if c not in labels]
    tree = services().areas.tree()
    today = date.today()
    members = _members(parsed.scope, fam_id)
    visits = _visits(db, parsed.scope, fam_id)
    return render_template(
        "family.html", family=family, fam_id=fam_id, code=parsed.scope, area=tree.areas.get(parsed.scope),
        children=members, visits=visits, rows=rows, growth_records=_growth_records(members, visits, today),
        answer_names=answer_names(), agreement_names=agreement_names(), as_of=today, class_label=class_label,
        lang=lang,
        labels=labels, rev=card.get("_rev") or "", states=families.STATES, state_names=state_names(),
        indicators={n: class_label(n, lang=lang()) for n in household.CLASSES}, error=error,
        saved=request.args.get("saved") == "1", round_names=round_names(), today=today.isoformat()), status


def answer_names() -> dict[str, str]:
    return {"yes": _("Yes"), "no": _("No"), "na": _("Does not apply")}


def agreement_names() -> dict[str, str]:
    return {"agree": _("Agree"), "disagree": _("Disagree"), "unanswered": _("The worker did not answer")}


@bp.post("/families/<fam_id>/card")
@guard.coordinator
def step(fam_id: str):
    """One step of one programme area on the family card, written through the write gate."""
    parsed, db, _family_doc = _family(fam_id)
    form, who = request.form, guard.user()
    cid = families.card_id(fam_id)
    card = records.read(db, cid)
    if (form.get("rev") or "") != ((card or {}).get("_rev") or ""):
        return detail(fam_id, error=_("The family card was changed meanwhile; open it again and repeat the step."),
                      status=409)
    code, status, note = form.get("area") or "", form.get("status") or "", (form.get("note") or "").strip()
    when = form.get("date") or ""
    # What the form itself can say plainly; the gate's rule names the whole history instead.
    if _day(when) is None:
        return detail(fam_id, error=_("Dates are written as YYYY-MM-DD, for example 2026-11-30."), status=400)
    if len(note) > families.MAX_NOTE:
        return detail(fam_id, error=_("A note is at most %(most)d characters.", most=families.MAX_NOTE), status=400)
    after = {k: v for k, v in (card or {}).items() if k not in ("_conflicts",)} or {
        "_id": cid, "type": "fes", "family": fam_id, "areas": {}}
    areas = dict(after.get("areas") or {})
    entry = areas.get(code) if isinstance(areas.get(code), dict) else {"history": []}
    history = [*(entry.get("history") or []), {"status": status, "date": when, "note": note, "by": who.name}]
    areas[code] = {"status": status, "history": history}
    after.update(areas=areas, author=after.get("author") or who.name, updated_at=date.today().isoformat())
    result = services().gate.write(who, db, [after], new_edits=True, hold_refused=False)[0]
    if result.get("error") == "conflict":
        return detail(fam_id, error=_("The family card was changed meanwhile; open it again and repeat the step."),
                      status=409)
    if "error" in result:
        reason = (result.get("messages") or {}).get(lang()) or in_language(result.get("reason") or "")
        return detail(fam_id, error=reason, status=400)
    services().audit.record(actor=who.name, action="family_card.step", scope=parsed.scope, doc_id=cid,
                            rev=result.get("rev"), area=code, status=status)
    return redirect(url_for("web.families.detail", fam_id=fam_id, saved=1))


# -- the admins' programme areas --------------------------------------------------------------

BLANK_ROWS = 3


def _problem_text(p: families.AreaProblem) -> str:
    texts = {
        "empty": _("Keep at least one programme area."),
        "too_many": _("The family card holds at most %(max)s programme areas.", max=families.MAX_AREAS),
        "bad_code": _("Row %(row)s: the code must be 1 to 40 small letters, digits, dashes or underscores.",
                      row=p.row),
        "duplicate_code": _("Row %(row)s: the code %(code)s is used twice.", row=p.row, code=p.params.get("code")),
        "missing_text": _("Row %(row)s: the item needs its text in Mongolian and in English.", row=p.row),
        "text_too_long": _("Row %(row)s: a text may have at most %(max)s characters.", row=p.row,
                           max=p.params.get("max")),
    }
    return texts.get(p.code, _("The programme areas could not be saved."))


@bp.get("/admin/family-card")
@guard.admin
def areas_page():
    doc = families.FesAreas(services().store).get()
    return _areas_page(doc.get("items", []), doc.get("_rev"), saved=request.args.get("saved") == "1")


def _areas_page(items: list[dict], rev: str | None, *, error: str | None = None, status: int = 200,
                saved: bool = False):
    rows = [*items, *({"code": "", "text": {}} for _ in range(BLANK_ROWS))]
    return render_template("family_card_areas.html", rows=rows, rev=rev or "", error=error, saved=saved), status


@bp.post("/admin/family-card")
@guard.admin
def areas_save():
    form = request.form
    try:
        count = int(form.get("rows") or 0)
    except ValueError:
        count = -1
    if not 0 <= count <= families.MAX_AREAS + BLANK_ROWS:
        return page(400, _("The form was not complete; open the page again."))
    items = []
    for i in range(count):
        code = form.get(f"code_{i}", "").strip()
        text = {"mn": form.get(f"mn_{i}", ""), "en": form.get(f"en_{i}", "")}
        if form.get(f"drop_{i}") or not (code or text["mn"].strip() or text["en"].strip()):
            continue
        items.append({"code": code, "text": text})
    rev = form.get("rev") or None
    try:
        families.FesAreas(services().store, services().audit).save(items, actor=guard.user().name, rev=rev)
    except families.AreaProblem as problem:
        return _areas_page(items, rev, error=_problem_text(problem), status=400)
    except Conflict:
        return page(409, _("Another admin changed the programme areas in the meantime. Open the page again to "
                           "see their version, then repeat your change."))
    return redirect(url_for("web.families.areas_page", saved=1))


# -- the admins' family assessment indicators -----------------------------------------------------

def applies_names() -> dict[str, str]:
    return {"family": _("The family"), "child_0_59m": _("A child of 0-59 months"),
            "child_3_5y": _("A child of 3-5 years"), "pregnant_woman": _("A pregnant woman")}


def _indicator_problem_text(p: families.AreaProblem) -> str:
    if p.code == "empty":
        return _("Keep at least one indicator.")
    if p.code == "too_many":
        return _("The family assessment holds at most %(max)s indicators.", max=families.MAX_INDICATORS)
    if p.code == "bad_applies_to":
        return _("Row %(row)s: choose whom the indicator applies to.", row=p.row)
    return _problem_text(p)


@bp.get("/admin/family-indicators")
@guard.admin
def indicators_page():
    doc = families.IndicatorList(services().store).get()
    return _indicators_page(doc.get("items", []), doc.get("_rev"), saved=request.args.get("saved") == "1")


def _indicators_page(items: list[dict], rev: str | None, *, error: str | None = None, status: int = 200,
                     saved: bool = False):
    rows = [*items, *({"id": "", "applies_to": ""} for _ in range(BLANK_ROWS))]
    return render_template("family_indicators.html", rows=rows, rev=rev or "", error=error, saved=saved,
                           applies=fa.APPLIES_TO, applies_names=applies_names()), status


@bp.post("/admin/family-indicators")
@guard.admin
def indicators_save():
    form = request.form
    try:
        count = int(form.get("rows") or 0)
    except ValueError:
        count = -1
    if not 0 <= count <= families.MAX_INDICATORS + BLANK_ROWS:
        return page(400, _("The form was not complete; open the page again."))
    items = []
    for i in range(count):
        item = {"id": form.get(f"id_{i}", "").strip(), "label_mn": form.get(f"mn_{i}", ""),
                "label_en": form.get(f"en_{i}", ""), "applies_to": form.get(f"applies_{i}", "")}
        if form.get(f"drop_{i}") or not (item["id"] or item["label_mn"].strip() or item["label_en"].strip()):
            continue
        items.append(item)
    rev = form.get("rev") or None
    try:
        families.IndicatorList(services().store, services().audit).save(items, actor=guard.user().name, rev=rev)
    except families.AreaProblem as problem:
        return _indicators_page(items, rev, error=_indicator_problem_text(problem), status=400)
    except Conflict:
        return page(409, _("Another admin changed the indicators in the meantime. Open the page again to "
                           "see their version, then repeat your change."))
    return redirect(url_for("web.families.indicators_page", saved=1))
