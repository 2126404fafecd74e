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

from programmes.lqas_survey import FORM, MAX_INDICATORS, SetupProblem, form_questions
from sync.errors import Conflict
from sync.lqas_setup import MAX_AREAS, LqasSetup

from ..services import services
from . import guard
from .errors import page

bp = Blueprint("lqas_admin", __name__)
BLANK_INDICATORS = 2
BLANK_AREAS = 3
OPERATOR_SIGNS = {"=": "=", "!=": "≠", ">=": "≥", "<=": "≤", ">": ">", "<": "<"}


def _problem_text(p: SetupProblem) -> str:
    row, params = p.row, p.params
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
        "bad_eligible_field": _("Indicator row %(row)s: eligibility can only test a number question or a "
                                "single-choice question.", row=row),
        "bad_operator": _("Indicator row %(row)s: choose how eligibility compares.", row=row),
        "bad_eligible_choice": _("Indicator row %(row)s: a single-choice question is tested with = or ≠ and "
                                 "one of its answers: %(choices)s.", row=row, choices=params.get("choices")),
        "bad_eligible_number": _("Indicator row %(row)s: eligibility compares a number question with a whole "
                                 "number.", row=row),
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
    """The set-up as the form shows it: answers comma-separated, eligibility in three parts."""
    inds = []
    for i in survey_json["indicators"]:
        elig = i.get("eligible") or ["", "", ""]
        inds.append({**i, "correct": ", ".join(i["correct"]), "eligible": [elig[0], elig[1], elig[2]]})
    areas = [{**a, "sample_size": a.get("sample_size") or ""} for a in survey_json["areas"]]
    return {"sample_size": survey_json["sample_size"], "indicators": inds, "areas": areas}


@bp.get("/admin/lqas")
@guard.admin
def setup():
    survey = LqasSetup(services().store).get()
    return _page(_display(survey.to_json()), survey.rev, saved=request.args.get("saved") == "1")


def _page(shown: dict[str, Any], rev: str | None, *, error: str | None = None, status: int = 200,
          saved: bool = False):
    blank_ind = {"key": "", "label": {}, "target": "", "question": "", "correct": "", "at_least": "",
                 "eligible": ["", "", ""]}
    blank_area = {"area": "", "sa": "", "population": "", "sample_size": ""}
    tree = services().areas.tree()
    qs = questions()
    return render_template(
        "lqas_setup.html", survey=shown, rev=rev or "", error=error, saved=saved,
        indicators=[*shown["indicators"], *(dict(blank_ind) for _ in range(BLANK_INDICATORS))],
        areas=[*shown["areas"], *(dict(blank_area) for _ in range(BLANK_AREAS))],
        soums=[(code, tree.areas[code]) for code in tree.data_scopes()],
        choice_questions={k: q for k, q in qs.items() if q["type"] in ("select_one", "select_multiple")},
        test_questions={k: q for k, q in qs.items() if q["type"] in ("integer", "decimal", "select_one")},
        operators=OPERATOR_SIGNS), status


def _count(name: str, most: int) -> int | None:
    value = request.form.get(name) or ""
    return int(value) if value.isdigit() and int(value) <= most else None


@bp.post("/admin/lqas")
@guard.admin
def setup_save():
    form = request.form
    ind_rows, area_rows = _count("ind_rows", MAX_INDICATORS + BLANK_INDICATORS), _count("area_rows",
                                                                                        MAX_AREAS + BLANK_AREAS)
    if ind_rows is None or area_rows is None:
        return page(400, _("The form was not complete; open the page again."))
    indicators = []
    for i in range(ind_rows):
        item = {"key": form.get(f"key_{i}", "").strip(),
                "label": {"mn": form.get(f"mn_{i}", ""), "en": form.get(f"en_{i}", "")},
                "target": form.get(f"target_{i}", "").strip(), "question": form.get(f"question_{i}", ""),
                "correct": form.get(f"correct_{i}", ""), "at_least": form.get(f"at_least_{i}", "").strip(),
                "eligible": [form.get(f"elig_field_{i}", ""), form.get(f"elig_op_{i}", ""),
                             form.get(f"elig_value_{i}", "").strip()]}
        typed = (item["key"], item["label"]["mn"].strip(), item["label"]["en"].strip(), item["target"],
                 item["question"], item["correct"].strip())
        if form.get(f"drop_{i}") or not any(typed):
            continue  # removed, or a blank row left blank
        indicators.append(item)
    areas = []
    for j in range(area_rows):
        item = {"area": form.get(f"area_{j}", ""), "sa": form.get(f"sa_{j}", ""),
                "population": form.get(f"population_{j}", "").strip(), "sample_size": form.get(f"n_{j}", "").strip()}
        if form.get(f"area_drop_{j}") or not (item["sa"].strip() or item["population"] or item["sample_size"]):
            continue
        areas.append(item)
    raw = {"sample_size": form.get("sample_size", "").strip(), "indicators": indicators, "areas": areas}
    rev = form.get("rev") or None
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
