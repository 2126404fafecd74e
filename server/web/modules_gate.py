"""Which page belongs to which programme module, and the page a switched-off module answers.

The switch itself is ``sync.modules`` (an admin's setting in ``global``). Here:
a page of a module that is off answers 404 with a page that says so in the
user's language (not the bare "nothing at this address": the admin who
switched it off, or a coordinator with an old bookmark, should learn why); the
menu leaves its entries out (``nav.py``) and templates ask ``module_on(name)``
before showing a module's section of a shared page (the reports, a
submission's growth panel).
"""

from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _

from sync.modules import BY_NAME, ModuleSwitch

from ..services import services
from . import i18n

# Whole page groups of one module, by blueprint.
BLUEPRINTS = {"web.wash": "wash", "web.scorecards": "scorecards", "web.cases": "cases",
              "web.families": "families", "web.lqas_admin": "lqas", "web.lqas_rules": "lqas"}
# Pages of a module inside a shared blueprint, by endpoint.
ENDPOINTS = {"web.reports.child": "growth", "web.reports.children": "growth",
             "web.exports.export_cases": "cases"}
# The reports' downloads, by table name.
TABLES = {"growth": "growth", "lqas": "lqas", "coverage": "lqas", "catchments": "lqas"}


def switch() -> ModuleSwitch:
    svc = services()
    return ModuleSwitch(svc.store, svc.forms, svc.audit)


def off() -> set[str]:
    """The modules switched off, read once per request."""
    if "modules_off" not in g:
        g.modules_off = switch().off()
    return g.modules_off


def module_on(name: str) -> bool:
    return name not in off()


def module_of_request() -> str | None:
    endpoint, blueprint = request.endpoint or "", request.blueprint or ""
    if endpoint in ENDPOINTS:
        return ENDPOINTS[endpoint]
    if endpoint == "web.reports.download":
        return TABLES.get((request.view_args or {}).get("name") or "")
    for prefix, module in BLUEPRINTS.items():
        if blueprint == prefix or blueprint.startswith(prefix + "."):
            return module
    return None


def label(name: str) -> str:
    return i18n.pick(BY_NAME[name].label)


def refuse_switched_off():
    """``before_request`` of the web pages: a switched-off module's page is a 404 that says why."""
    module = module_of_request()
    if module is None:
        return None
    from .guard import user

    who = user()
    if who is None or who.role not in ("coordinator", "admin") or module_on(module):
        return None  # the view's own guard answers: the login page, or the 404 of a missing page
    from .errors import page

    return page(404, _("The %(module)s module is switched off in this deployment. An admin can switch it on "
                       "again under Admin, Modules; nothing recorded in it was deleted.", module=label(module)),
                title=_("Module switched off"))
