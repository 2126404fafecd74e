"""The admins' LQAS decision-rule table: the rules in use by sample size and target, cells editable.

What a survey manager copies from a printed table (a national programme's
own, say) into the cells it differs in; an empty cell, or one set back to
the binomial value, is the binomial rule again, and "Reset" clears every
cell. The page shows some sample sizes at a time (``?from=&to=``, 12 to 30 as
the printed tables) and the printed targets with the survey's own; a save
touches only the cells shown and is checked whole against the table it
changes (``sync.lqas_decision_rules``).
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from programmes.lqas import TABLE_NS, TARGET_GRID, DecisionRules, RulesProblem
from programmes.lqas_survey import whole_number
from sync.errors import BadRequest, Conflict
from sync.lqas_decision_rules import MAX_CELLS, DecisionRuleTable, binomial_d
from sync.lqas_setup import MAX_SAMPLE, LqasSetup

from ..services import services
from . import guard
from .errors import page

bp = Blueprint("lqas_rules", __name__)
MAX_ROWS = 40


def problem_text(p: RulesProblem) -> str:
    other_n, other_target, other_d = p.other or (None, None, None)
    texts = {
        "bad_d": _("n = %(n)s, target %(target)s%%: the decision rule must be a whole number from 0 to %(n)s.",
                   n=p.n, target=p.target),
        "down_with_target": _("n = %(n)s, target %(target)s%%: %(d)s does not fit beside %(other)s at target "
                              "%(other_target)s%%; the decision rule may not go down as the target rises.",
                              n=p.n, target=p.target, d=p.d, other=other_d, other_target=other_target),
        "down_with_n": _("n = %(n)s, target %(target)s%%: %(d)s does not fit beside %(other)s at n = %(other_n)s; "
                         "the decision rule may not go down as the sample size rises.",
                         n=p.n, target=p.target, d=p.d, other=other_d, other_n=other_n),
        "too_many_cells": _("The table may differ from the binomial rules in at most %(max)s cells.", max=MAX_CELLS),
    }
    return texts.get(p.code, _("The decision rules could not be saved."))


def _range() -> tuple[int, int]:
    """The sample sizes shown (``?from=&to=`` on a view, the hidden fields on a save)."""
    args = request.form if request.method == "POST" else request.args
    low, high = args.get("from") or str(TABLE_NS.start), args.get("to") or str(TABLE_NS.stop - 1)
    first, last = whole_number(low), whole_number(high)
    if first is None or last is None or not 1 <= first <= last <= MAX_SAMPLE or last - first >= MAX_ROWS:
        raise BadRequest(_("Show sample sizes from 1 to %(max)s, at most %(rows)s at a time.", max=MAX_SAMPLE,
                           rows=MAX_ROWS))
    return first, last


def _targets(rules: DecisionRules) -> list[int]:
    """The printed columns, the survey's own targets and any target a cell was set for."""
    survey = LqasSetup(services().store).get()
    return sorted({*TARGET_GRID, *(i.target for i in survey.indicators), *(t for _, t in rules.overrides)})


@bp.get("/admin/lqas/rules")
@guard.admin
def rules():
    table, rev = DecisionRuleTable(services().store).get()
    return _page(table, rev, _range(), saved=request.args.get("saved"))


def _page(table: DecisionRules, rev: str | None, shown: tuple[int, int], *, posted: dict | None = None,
          error: str | None = None, status: int = 200, saved: str | None = None):
    targets = _targets(table)
    grid = []
    for n in range(shown[0], shown[1] + 1):
        cells = []
        for t in targets:
            rule = table.rule(n, t)
            typed = (posted or {}).get((n, t))
            cells.append({"target": t, "rule": rule, "binomial": binomial_d(n, t),
                          "value": typed if typed is not None else rule.d})
        grid.append((n, cells))
    return render_template("lqas_rules.html", grid=grid, targets=targets, rev=rev or "", shown=shown,
                           overridden=len(table.overrides), error=error, saved=saved,
                           max_sample=MAX_SAMPLE), status


@bp.post("/admin/lqas/rules")
@guard.admin
def rules_save():
    shown = _range()
    raw_targets = [whole_number(t) for t in (request.form.get("targets") or "").split(",")]
    if not raw_targets or any(t is None or not 1 <= t <= 100 for t in raw_targets):
        return page(400, _("The form was not complete; open the page again."))
    store = DecisionRuleTable(services().store, services().audit)
    rev = request.form.get("rev") or None
    cells: dict[tuple[int, int], int | None] = {}
    posted: dict[tuple[int, int], str] = {}
    problem = None
    for n in range(shown[0], shown[1] + 1):
        for t in raw_targets:
            text = (request.form.get(f"d_{n}_{t}") or "").strip()
            posted[(n, t)] = text
            d = whole_number(text) if text else None
            if text and (d is None or not 0 <= d <= n):
                problem = problem or RulesProblem("bad_d", n, t, text)
            cells[(n, t)] = d
    try:
        if problem:
            raise problem
        store.save(cells, actor=guard.user().name, rev=rev)
    except RulesProblem as p:
        current, _rev = store.get()
        return _page(current, rev, shown, posted=posted, error=problem_text(p), status=400)
    except Conflict:
        return page(409, _("Another admin changed the LQAS decision rules in the meantime. Open the page again "
                           "to see their version, then repeat your change."))
    return redirect(url_for("web.lqas_rules.rules", saved="saved", **{"from": shown[0], "to": shown[1]}))


@bp.post("/admin/lqas/rules/reset")
@guard.admin
def rules_reset():
    shown = _range()
    try:
        DecisionRuleTable(services().store, services().audit).reset(actor=guard.user().name,
                                                                    rev=request.form.get("rev") or None)
    except Conflict:
        return page(409, _("Another admin changed the LQAS decision rules in the meantime. Open the page again "
                           "to see their version, then repeat your change."))
    return redirect(url_for("web.lqas_rules.rules", saved="reset", **{"from": shown[0], "to": shown[1]}))
