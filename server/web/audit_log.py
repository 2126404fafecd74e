"""The audit log page and its CSV: who did what, when, from where, filtered by who, what, area and time.

Admins see every entry; a coordinator sees the entries of their areas (an
entry about no area, such as a login or an account change, is the admins'
only), and another area answers 404 as a missing page does. Pages and the CSV
read the trail by key range (``sync.audit_query``), never a scope through;
the CSV streams. There is nothing to change here: the trail is append-only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import orjson
from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from sync import audit_query
from sync.audit import NO_SCOPE
from sync.errors import BadRequest, NotFound
from sync.scopes import GLOBAL

from ..services import services
from . import guard

bp = Blueprint("audit_log", __name__)
PAGE = 50
SHOWN_APART = {"_id", "_rev", "type", "at", "actor", "action", "scope", "doc_id", "address", "on_behalf_of",
               "entry"}
CSV_COLUMNS = ("at", "actor", "on_behalf_of", "action", "scope", "doc_id", "address", "details")


def kinds() -> dict[str, str]:
    """What the filter offers: the part of an action before its dot."""
    return {"login": _("Logins"), "user": _("Users"), "area": _("Areas"), "form": _("Forms"),
            "review": _("Reviews"), "quarantine": _("Quarantine"), "conflict": _("Conflicts"),
            "export": _("Exports"), "checklist": _("Checklists"), "facility": _("Facilities"),
            "module": _("Modules")}


def action_names() -> dict[str, str]:
    return {
        "login.succeeded": _("Logged in"), "login.failed": _("Failed login"),
        "user.added": _("Added a user"), "user.changed": _("Changed a user"),
        "area.added": _("Added an area"), "area.changed": _("Changed an area"),
        "area.imported": _("Imported areas"), "form.published": _("Published a form"),
        "form.drafted": _("Saved a form draft"), "form.retired": _("Retired a form"),
        "review.recorded": _("Reviewed a submission"),
        "review.reopened": _("Reopened a review (the submission was edited)"), "quarantine.released": _("Released a refused document"),
        "quarantine.discarded": _("Discarded a refused document"), "conflict.merged": _("Merged a conflict"),
        "conflict.resolved": _("Resolved a conflict"), "export.downloaded": _("Exported data"),
        "checklist.changed": _("Changed the WASH norms checklist"),
        "checklist.lqas_changed": _("Changed the LQAS survey set-up"),
        "facility.registered": _("Registered a facility"),
        "checklist.lqas_rules_changed": _("Changed the LQAS decision rules"),
        "module.switched": _("Switched programme modules on or off"),
        "form.closed": _("Closed a form (its module was switched off)"),
        "form.reopened": _("Reopened a form (its module was switched on)"),
    }


def details(entry: dict) -> str:
    """The rest of an entry (before and after, revisions, notes) as compact JSON."""
    rest = {k: v for k, v in entry.items() if k not in SHOWN_APART}
    return orjson.dumps(rest, option=orjson.OPT_SORT_KEYS).decode() if rest else ""


def _plain(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(_plain, value)) or "—"
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    if value is None:
        return "—"
    return str(value)


def readable(entry: dict) -> list[str]:
    """The rest of an entry for the page, a line per fact: ``areas: uvs-tes → uvs-naranbulag, uvs-tes``."""
    rest = {k: v for k, v in entry.items() if k not in SHOWN_APART}
    before, after = rest.pop("before", None), rest.pop("after", None)
    lines = [f"{k}: {_plain(v)}" for k, v in sorted(rest.items())]
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before or {}, after or {}
        for key in sorted(set(before) | set(after)):
            if key in before:
                lines.append(f"{key}: {_plain(before[key])} → {_plain(after.get(key))}")
            else:
                lines.append(f"{key}: {_plain(after[key])}")
    return lines


def _query() -> tuple[list[str] | None, audit_query.AuditFilter, dict]:
    args = request.args
    who = (args.get("who") or "").strip()
    what = (args.get("what") or "").strip()
    area = (args.get("area") or "").strip()
    if len(who) > 64:
        raise BadRequest(_("The user name is longer than %(n)s characters.", n=64))
    if what and what not in kinds() and what not in action_names():
        raise BadRequest(_("Choose what to show from the list."))
    try:
        day_from = audit_query.parse_day(args.get("from"), "from")
        day_to = audit_query.parse_day(args.get("to"), "to")
    except BadRequest:
        raise BadRequest(_("Dates are written as YYYY-MM-DD, for example 2026-11-30.")) from None
    if day_from and day_to and day_from > day_to:
        raise BadRequest(_("The first date is after the last one."))
    user = guard.user()
    if user.is_admin:
        if area and area not in (NO_SCOPE, GLOBAL) and area not in services().areas.tree().areas:
            raise NotFound("missing")
        scopes = [area] if area else None
    else:
        scopes = [guard.area_or_404(area)] if area else guard.areas()
    filt = audit_query.AuditFilter(actor=who or None, action=what or None, day_from=day_from, day_to=day_to)
    shown = {"who": who, "what": what, "area": area, "from": args.get("from") or "", "to": args.get("to") or ""}
    return scopes, filt, shown


def _area_choices() -> list:
    tree = services().areas.tree()
    return [tree.areas[c] for c in guard.areas() if c in tree.areas]


@bp.get("/audit")
@guard.coordinator
def listing():
    scopes, filt, shown = _query()
    before = request.args.get("before") or None
    try:
        page = audit_query.page(services().audit, scopes, filt, before=before, limit=PAGE)
    except BadRequest:
        raise BadRequest(_("This page position is not valid; start from the first page.")) from None
    return render_template("audit.html", page=page, shown=shown, query={k: v for k, v in shown.items() if v}, kinds=kinds(), actions=action_names(),
                           details=readable, areas=_area_choices(), no_scope=NO_SCOPE, shared_scope=GLOBAL,
                           is_admin=guard.user().is_admin)


@bp.get("/audit.csv")
@guard.coordinator
def download():
    scopes, filt, shown = _query()
    audit = services().audit
    entries = audit_query.stream(audit, scopes, filt)

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")  # Excel reads the file as UTF-8 (Cyrillic names and notes) only with it
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            writer.writerow([entry.get("at"), entry.get("actor"), entry.get("on_behalf_of") or "",
                             entry.get("action"), entry.get("scope") or "", entry.get("doc_id") or "",
                             entry.get("address") or "", details(entry)])
            if out.tell() > 64 * 1024:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    name = "audit" + "".join(f"-{v}" for v in (shown["area"], shown["from"], shown["to"]) if v) + ".csv"
    return Response(rows(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
