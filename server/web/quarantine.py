"""The quarantine of a coordinator's areas: what the write gate refused, and the decision.

Each entry shows the reason per field in the page's language (the gate keeps
every reason in English and Mongolian) and the document as the device sent
it. Releasing validates it again against a published version of its form
chosen here and stores it; discarding needs a note, which the worker's
device receives with the feedback (``sync.gate.quarantine_actions``, the same
calls as ``/api/quarantine`` and the CLI, recorded in the audit trail).
"""

from __future__ import annotations

import orjson
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync.errors import BadRequest, Conflict, NotFound
from sync.gate.quarantine import STATUSES
from sync.gate.quarantine_actions import MAX_NOTE, discard, release

from ..services import services
from . import answers, guard
from .errors import in_language
from .i18n import lang

bp = Blueprint("quarantine", __name__)
PAGE = 50


def _entry_or_404(eid: str) -> dict:
    try:
        entry = services().quarantine.get(eid)
    except NotFound:
        raise NotFound("missing") from None
    if entry.get("scope") not in guard.areas():
        raise NotFound("missing")
    return entry


@bp.get("/quarantine")
@guard.coordinator
def listing():
    area = request.args.get("area") or None
    scopes = [guard.area_or_404(area)] if area else guard.areas()
    status = request.args.get("status") or "held"
    if status not in (*STATUSES, "all"):
        raise BadRequest(_("Unknown status."))
    after = request.args.get("after") or None
    entries = services().quarantine.in_areas(scopes, status=None if status == "all" else status,
                                             after=after, limit=PAGE + 1)
    more = entries[PAGE:]
    entries = entries[:PAGE]
    tree = services().areas.tree()
    return render_template("quarantine.html", entries=entries, area=area, status=status, tree=tree,
                           statuses=STATUSES, reason_of=reason_of, status_names=status_names(),
                           areas=[tree.areas[c] for c in guard.areas() if c in tree.areas],
                           next_after=entries[-1]["_id"] if more else None)


@bp.get("/quarantine/<path:eid>")
@guard.coordinator
def detail(eid: str):
    return _page(_entry_or_404(eid))


@bp.post("/quarantine/<path:eid>/release")
@guard.coordinator
def release_entry(eid: str):
    entry = _entry_or_404(eid)
    svc = services()
    raw = (request.form.get("form_version") or "").strip()
    try:
        version = None
        if raw:
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 7:
                raise BadRequest(_("Choose a published version of the form."))
            version = int(raw)
        done = release(svc.store, svc.forms, svc.quarantine, eid, by=guard.user().name,
                       form_version=version, audit=svc.audit, lang=lang(),
                       referral_cases=svc.gate.referral_cases)
    except (BadRequest, Conflict) as exc:
        return _page(svc.quarantine.get(eid), error=in_language(exc.reason), status=exc.status)
    flash(_("Released: %(id)s is stored (%(rev)s).", id=done["id"], rev=done["rev"]))
    return redirect(url_for("web.quarantine.listing", area=entry.get("scope")))


@bp.post("/quarantine/<path:eid>/discard")
@guard.coordinator
def discard_entry(eid: str):
    entry = _entry_or_404(eid)
    svc = services()
    note = (request.form.get("note") or "").strip()
    try:
        if not note:
            raise BadRequest(_("Say why the document is discarded; the worker will read it."))
        if len(note) > MAX_NOTE:
            raise BadRequest(_("The note is longer than %(n)s characters.", n=MAX_NOTE))
        discard(svc.store, svc.quarantine, eid, by=guard.user().name, reason=note, audit=svc.audit)
    except (BadRequest, Conflict) as exc:
        return _page(svc.quarantine.get(eid), error=in_language(exc.reason), note=note, status=exc.status)
    flash(_("Discarded: the worker's device will be told why."))
    return redirect(url_for("web.quarantine.listing", area=entry.get("scope")))


def status_names() -> dict[str, str]:
    return {"held": _("Waiting for a decision"), "released": _("Released"), "discarded": _("Discarded"),
            "superseded": _("Corrected by the worker"), "all": _("All")}


def reason_of(reason: dict) -> str:
    """A refusal reason in the page's language (English when it was kept in English only)."""
    texts = reason.get("messages") or {}
    return texts.get(lang()) or reason.get("message", "")


def _page(entry: dict, *, error: str | None = None, note: str = "", status: int = 200):
    doc = entry.get("doc") or {}
    versions = []
    if doc.get("form"):
        versions = sorted(f["version"] for f in services().forms.versions(doc["form"])
                          if f.get("status") == "published")
    shown = orjson.dumps({k: v for k, v in doc.items() if k != "_revisions"}, option=orjson.OPT_INDENT_2).decode()
    # The answers under the labels of the version the device named (by their names when the
    # server does not know it: a refusal for an unknown version is one of the reasons). A
    # photo is its file name here: a refused document's attachments are not in the area.
    definition = None
    if isinstance(doc.get("form"), str) and isinstance(doc.get("form_version"), int):
        definition = services().forms.get(doc["form"], doc["form_version"])
    data = doc.get("data")
    layout = answers.lay_out(definition, data, None) if isinstance(data, dict) else []
    return render_template("quarantine_entry.html", entry=entry, doc=doc, shown=shown, versions=versions,
                           error=error, note=note, reason_of=reason_of, area=entry.get("scope"),
                           status_names=status_names(), definition=definition, layout=layout,
                           labels=_field_labels(definition)), status


def _field_labels(definition: dict | None) -> dict[str, str]:
    """Each question's label by its name (nested ones too), to name the field of a reason."""
    out: dict[str, str] = {}

    def walk(fields: list) -> None:
        for f in fields:
            if isinstance(f, dict) and isinstance(f.get("name"), str):
                out.setdefault(f["name"], answers.i18n.pick(f.get("label"), f["name"]))
                walk(f.get("fields") or [])

    walk((definition or {}).get("fields") or [])
    return out
