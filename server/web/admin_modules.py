"""The admins' page that switches programme modules on and off for this deployment (``sync.modules``).

Each module is one on/off choice; the whole page is checked before anything is
written (a module missing or unknown is a 400 in the admin's language), a save
names the revision the admin read (409 if another admin switched meanwhile),
and the switch is audited, as are the forms it closes or reopens.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync.errors import BadRequest, Conflict
from sync.modules import BY_NAME, MODULES

from ..services import services
from . import guard
from .admin_forms import status_names
from .errors import page
from .modules_gate import label, switch

bp = Blueprint("admin_modules", __name__)
FIELD = "module_"


def descriptions() -> dict[str, str]:
    """What each module brings, in the admin's language."""
    return {
        "growth": _("Growth visits with WHO z-scores, the growth report, each child's chart."),
        "lqas": _("LQAS interviews, their survey set-up and the LQAS tables of the reports."),
        "families": _("The families list, the family card (Awareness, Assessment, Action), family assessments, "
                      "awareness sessions and community projects."),
        "wash": _("Kindergarten WASH visits, service levels and the national norms checklist."),
        "cases": _("Child protection referrals and the cases they open."),
        "scorecards": _("Community scorecard cycles, follow-ups, input tracking and the facility register."),
    }


def _page(states: dict[str, bool], rev: str | None, *, error: str | None = None, status: int = 200,
          saved: bool = False):
    forms = {m.name: [{"name": f, "versions": services().forms.versions(f)} for f in m.forms] for m in MODULES}
    return render_template("admin_modules.html", modules=MODULES, states=states, rev=rev or "", error=error,
                           saved=saved, forms=forms, descriptions=descriptions(), field=FIELD,
                           status_names=status_names()), status


@bp.get("/admin/modules")
@guard.admin
def page_view():
    modules = switch()
    doc = modules.get()
    return _page(modules.states(doc), doc.get("_rev"), saved=request.args.get("saved") == "1")


@bp.post("/admin/modules")
@guard.admin
def save():
    form = request.form
    named = {key.removeprefix(FIELD): value for key, value in form.items() if key.startswith(FIELD)}
    modules = switch()
    rev = form.get("rev") or None
    current = modules.states()
    unknown = sorted(set(named) - set(BY_NAME))
    if unknown:
        return _page(current, rev, error=_("%(names)s is not a programme module; open the page again.",
                                           names=", ".join(unknown)), status=400)
    unclear = [m for m in MODULES if named.get(m.name) not in ("on", "off")]
    if unclear:
        shown = {**current, **{k: v == "on" for k, v in named.items() if v in ("on", "off")}}
        return _page(shown, rev, error=_("Choose on or off for every module (%(names)s).",
                                         names=", ".join(label(m.name) for m in unclear)), status=400)
    try:
        modules.save({name: value == "on" for name, value in named.items()}, actor=guard.user().name, rev=rev)
    except Conflict:
        return page(409, _("Another admin switched the modules in the meantime. Open the page again to see "
                           "what is on now, then repeat your change."))
    except BadRequest:  # the page's own checks came first; kept so a 400 is never a 500
        return _page(current, rev, error=_("Choose on or off for every module."), status=400)
    return redirect(url_for("web.admin_modules.page_view", saved=1))

