"""The admins' LQAS survey set-up page: indicators and their rules, supervision areas, sample size.

The page edits ``sync.lqas_setup``'s document as a whole: the rows of two
tables and one number, checked all together, so a mistake anywhere (told in
the admin's language, with the row) writes nothing. The questions offered are
those of the ``lqas_interview`` form as published, so a rule can only name a
question and answers the interviews can hold.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from programmes.lqas_survey import (
    FORM,
    MAX_CONDITIONS,
    MAX_INDICATORS,
    SetupProblem,
    conditions_of,
    form_questions,
)
from sync.errors import Conflict
from sync.lqas_setup import MAX_AREAS, MAX_CATCHMENTS, LqasSetup

from ..services import services
from . import guard
from .errors import page

bp = Blueprint("lqas_admin", __name__)
BLANK_INDICATORS = 2
BLANK_AREAS = 3
BLANK_CATCHMENTS = 2
OPERATOR_SIGNS = {"=": "=", "!=": "≠", ">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def _problem_text(p: SetupProblem) -> str:
    row, params = p.row, p.params
    cond = params.get("condition")
    texts = {
        "no_indicators": _("Keep at least one indicator."),
        "too_many_indicators": _("The survey holds at most %(max)s indicators.", max=params.get("max")),
        "bad_key": _("Indicator row %(row)s: the code must be 1 to 40 small Latin letters, digits or "
                     "underscores, starting with a letter.", row=row),
        "duplicate_key": _("Indicator row %(row)s: the code %(code)s is used twice.", row=row,
                           code=params.get("key")),
        "missing_label": _("Indicator row %(row)s: the indicator needs its name in Mongolian and in English.",
                           row=row),
        "label_too_long": _("Indicator row %(row)s: a name may have at most %(max)s characters.", row=row,
                            max=params.get("max")),
        "bad_target": _("Indicator row %(row)s: the target must be a whole percent from 1 to 99.", row=row),
        "bad_question": _("Indicator row %(row)s: choose a question of the form whose answers are chosen "
                          "from a list.", row=row),
        "no_correct": _("Indicator row %(row)s: name the answers that count as correct.", row=row),
        "unknown_answer": _("Indicator row %(row)s: the question has no answer %(answer)s; its answers are "
                            "%(choices)s.", row=row, answer=params.get("answer"), choices=params.get("choices")),
        "bad_at_least": _("Indicator row %(row)s: “at least” must be a whole number from 1 to %(most)s.", row=row,
                          most=params.get("most")),
        "bad_eligible_field": _("Indicator row %(row)s, condition %(condition)s: eligibility can only test a "
                                "number question or a single-choice question.", row=row, condition=cond),
        "bad_operator": _("Indicator row %(row)s, condition %(condition)s: choose how eligibility compares.",
                          row=row, condition=cond),
        "bad_eligible_choice": _("Indicator row %(row)s, condition %(condition)s: a single-choice question is "
                                 "tested with = or ≠ and one of its answers: %(choices)s.", row=row,
                                 condition=cond, choices=params.get("choices")),
        "bad_eligible_number": _("Indicator row %(row)s, condition %(condition)s: eligibility compares a number "
                                 "question with a whole number.", row=row, condition=cond),
        "too_many_conditions": _("Indicator row %(row)s: an indicator has at most %(max)s eligibility "
                                 "conditions.", row=row, max=params.get("max")),
        "too_many_catchments": _("The set-up holds at most %(max)s catchment areas.", max=params.get("max")),
        "bad_catchment_code": _("Catchment area row %(row)s: the code must be 1 to 40 small Latin letters, "
                                "digits or underscores, starting with a letter.", row=row),
        "duplicate_catchment": _("Catchment area row %(row)s: the code %(code)s is used twice.", row=row,
                                 code=params.get("code")),
        "bad_catchment_name": _("Catchment area row %(row)s: the catchment area needs its name in Mongolian and "
                                "in English, each at most %(max)s characters.", row=row, max=params.get("max")),
        "unknown_catchment": _("Supervision area row %(row)s: there is no catchment area %(code)s; add it to "
                               "the catchment areas first.", row=row, code=params.get("code")),
        "empty_catchment": _("Catchment area row %(row)s: no supervision area is in %(code)s; name it in the "
                             "rows of its supervision areas.", row=row, code=params.get("code")),
        "catchment_member_not_listed": _("Catchment area row %(row)s: %(code)s names a supervision area that is "
                                         "not listed.", row=row, code=params.get("code")),
        "bad_sample_size": _("The sample size must be a whole number from 1 to %(max)s.", max=params.get("max")),
        "too_many_areas": _("The set-up holds at most %(max)s supervision areas.", max=params.get("max")),
        "bad_area": _("Supervision area row %(row)s: choose its soum.", row=row),
        "bad_sa": _("Supervision area row %(row)s: the name must have 1 to %(max)s characters, written as "
                    "the interviews give it.", row=row, max=params.get("max")),
        "duplicate_sa": _("Supervision area row %(row)s: %(sa)s is listed twice in the same soum.", row=row,
                          sa=params.get("sa")),
        "bad_population": _("Supervision area row %(row)s: the population must be a whole number from 1 to "
                            "%(max)s.", row=row, max=params.get("max")),
        "bad_area_sample": _("Supervision area row %(row)s: leave the sample size empty (the default) or give "
                             "a whole number from 1 to %(max)s.", row=row, max=params.get("max")),
    }
    return texts.get(p.code, _("The LQAS set-up could not be saved."))


def questions() -> dict[str, dict[str, Any]]:
    return form_questions(services().forms.versions(FORM))


def _display(survey_json: dict[str, Any]) -> dict[str, Any]:
    """The set-up as the form shows it: answers comma-separated, each eligibility condition in three
    parts, each supervision area with the codes of its catchment areas."""
    inds = [{**i, "correct": ", ".join(i["correct"]),
             "eligible": [list(c) for c in conditions_of(i.get("eligible"))]} for i in survey_json["indicators"]]
    catchments = survey_json.get("catchments") or []
    areas = [{**a, "sample_size": a.get("sample_size") or "",
              "catchments": ", ".join(c["code"] for c in catchments if [a["area"], a["sa"]] in c["areas"])}
             for a in survey_json["areas"]]
    return {"sample_size": survey_json["sample_size"], "indicators": inds, "areas": areas,
            "catchments": [{"code": c["code"], "name": c["name"]} for c in catchments]}


@bp.get("/admin/lqas")
@guard.admin
def setup():
    survey = LqasSetup(services().store).get()
    return _page(_display(survey.to_json()), survey.rev, saved=request.args.get("saved") == "1")


def _page(shown: dict[str, Any], rev: str | None, *, error: str | None = None, status: int = 200,
          saved: bool = False, more: int | None = None):
    """``more``: the indicator (0-based, of those shown) that gets a second empty condition row."""
    blank_ind = {"key": "", "label": {}, "target": "", "question": "", "correct": "", "at_least": "",
                 "eligible": []}
    blank_area = {"area": "", "sa": "", "population": "", "sample_size": "", "catchments": ""}
    blank_ca = {"code": "", "name": {}}
    indicators = [*shown["indicators"], *(dict(blank_ind) for _ in range(BLANK_INDICATORS))]
    for i, ind in enumerate(indicators):  # one empty condition row each, two where one was asked for
        blanks = 2 if i == more else 1
        ind["conditions"] = [*ind["eligible"], *(["", "", ""] for _ in range(blanks))][:MAX_CONDITIONS + 1]
    tree = services().areas.tree()
    qs = questions()
    return render_template(
        "lqas_setup.html", survey=shown, rev=rev or "", error=error, saved=saved,
        indicators=indicators, areas=[*shown["areas"], *(dict(blank_area) for _ in range(BLANK_AREAS))],
        catchments=[*shown.get("catchments", []), *(dict(blank_ca) for _ in range(BLANK_CATCHMENTS))],
        soums=[(code, tree.areas[code]) for code in tree.data_scopes()],
        choice_questions={k: q for k, q in qs.items() if q["type"] in ("select_one", "select_multiple")},
        test_questions={k: q for k, q in qs.items() if q["type"] in ("integer", "decimal", "select_one")},
        operators=OPERATOR_SIGNS), status


def _count(name: str, most: int) -> int | None:
    value = request.form.get(name) or ""
    return int(value) if value.isascii() and value.isdigit() and int(value) <= most else None


@bp.post("/admin/lqas")
@guard.admin
def setup_save():
    form = request.form
    ind_rows, area_rows = _count("ind_rows", MAX_INDICATORS + BLANK_INDICATORS), _count("area_rows",
                                                                                        MAX_AREAS + BLANK_AREAS)
    ca_rows = _count("ca_rows", MAX_CATCHMENTS + BLANK_CATCHMENTS)
    if ind_rows is None or area_rows is None or ca_rows is None:
        return page(400, _("The form was not complete; open the page again."))
    indicators = []
    more = None  # "Add a condition" pressed on this indicator (its index among those kept)
    for i in range(ind_rows):
        conditions = []
        for k in range(_count(f"cond_rows_{i}", MAX_CONDITIONS + 2) or 0):
            cond = [form.get(f"elig_field_{i}_{k}", ""), form.get(f"elig_op_{i}_{k}", ""),
                    form.get(f"elig_value_{i}_{k}", "").strip()]
            if not form.get(f"elig_drop_{i}_{k}") and any(cond):
                conditions.append(cond)
        item = {"key": form.get(f"key_{i}", "").strip(),
                "label": {"mn": form.get(f"mn_{i}", ""), "en": form.get(f"en_{i}", "")},
                "target": form.get(f"target_{i}", "").strip(), "question": form.get(f"question_{i}", ""),
                "correct": form.get(f"correct_{i}", ""), "at_least": form.get(f"at_least_{i}", "").strip(),
                "eligible": conditions}
        typed = (item["key"], item["label"]["mn"].strip(), item["label"]["en"].strip(), item["target"],
                 item["question"], item["correct"].strip(), conditions)
        if form.get(f"drop_{i}") or not any(typed):
            continue  # removed, or a blank row left blank
        if form.get("add_condition") == str(i):
            more = len(indicators)
        indicators.append(item)
    catchments, dropped = [], set()
    for c in range(ca_rows):
        item = {"code": form.get(f"ca_code_{c}", "").strip(),
                "name": {"mn": form.get(f"ca_mn_{c}", ""), "en": form.get(f"ca_en_{c}", "")}}
        if form.get(f"ca_drop_{c}"):
            dropped.add(item["code"])  # and out of its areas' rows
            continue
        if item["code"] or item["name"]["mn"].strip() or item["name"]["en"].strip():
            catchments.append(item)
    areas = []
    for j in range(area_rows):
        codes = [c.strip() for c in form.get(f"sa_ca_{j}", "").split(",") if c.strip()]
        item = {"area": form.get(f"area_{j}", ""), "sa": form.get(f"sa_{j}", ""),
                "population": form.get(f"population_{j}", "").strip(), "sample_size": form.get(f"n_{j}", "").strip(),
                "catchments": ", ".join(c for c in codes if c not in dropped)}
        if form.get(f"area_drop_{j}") or not (item["sa"].strip() or item["population"] or item["sample_size"]):
            continue
        areas.append(item)
    raw = {"sample_size": form.get("sample_size", "").strip(), "indicators": indicators, "areas": areas,
           "catchments": catchments}
    rev = form.get("rev") or None
    if form.get("add_condition"):  # nothing is saved: the page again, with one more empty condition row
        return _page(raw, rev, more=more)
    try:
        LqasSetup(services().store, services().audit).save(
            raw, actor=guard.user().name, rev=rev, questions=questions(),
            area_codes=set(services().areas.tree().data_scopes()))
    except SetupProblem as problem:
        return _page(raw, rev, error=_problem_text(problem), status=400)
    except Conflict:
        return page(409, _("Another admin changed the LQAS set-up in the meantime. Open the page again to see "
                           "their version, then repeat your change."))
    return redirect(url_for("web.lqas_admin.setup", saved=1))
