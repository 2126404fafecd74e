"""Admins' form pages: the versions of every form, uploading a new one, preview, publish, retire, diff.

An upload (an XLSForm ``.xlsx`` or a JSON definition) is checked whole before
anything is stored: every problem is listed with its sheet, row and column
(or JSON path), in the page's language (``schemas.problem_words``), and the
answer is a 400. A definition that passes is shown as a preview, carried in
the page (nothing is stored yet), until the admin saves it as a draft or
publishes it. Publishing, drafting and retiring go through
``sync.form_admin`` (the registry's rules, as the CLI and ``/api/forms``,
and an audit entry); a published version never changes, so republishing one
with other contents is refused with the registry's reason and the offer to
publish it as the next version.

Only admins reach these pages; anyone else gets the 404 a missing page gets.
"""

from __future__ import annotations

import io
import time

import orjson
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from schemas import FormDefinitionError, load_definition, read_xlsform, submission_deadline
from schemas.diff import compare
from schemas.problem_words import explain
from sync import form_admin
from sync.errors import BadRequest, Conflict, NotFound
from sync.forms import definition_of

from ..indexes import submission_index
from ..services import services
from . import guard
from .admin_forms_preview import layout
from .errors import in_language
from .i18n import LANGUAGES, lang

bp = Blueprint("admin_forms", __name__)
MAX_GRACE_DAYS = 3650
REFRESH_SECONDS = 2.0  # bringing the areas' submission counts up to date, per page view
REFRESH_CHANGES = 500


def status_names() -> dict[str, str]:
    return {"draft": _("Draft"), "published": _("Published"), "retired": _("Retired"),
            "closed": _("Closed (its module is off)")}


def type_names() -> dict[str, str]:
    return {"text": _("Text"), "integer": _("Whole number"), "decimal": _("Number"), "date": _("Date"),
            "datetime": _("Date and time"), "select_one": _("One choice"),
            "select_multiple": _("Several choices"), "geopoint": _("Location"), "image": _("Photo"),
            "note": _("Note"), "group": _("Group"), "repeat": _("Repeated section")}


# -- the list -------------------------------------------------------------------------------
@bp.get("/admin/forms")
@guard.admin
def listing():
    return _listing()


def _listing(problems: list[dict] | None = None, filename: str | None = None, status: int = 200):
    svc = services()
    by_form: dict[str, list[dict]] = {}
    for doc in sorted(svc.forms.all(), key=lambda d: (d["form"], -d["version"])):
        by_form.setdefault(doc["form"], []).append(doc)
    counts, behind = _counts()
    return render_template("admin_forms.html", by_form=by_form, counts=counts, behind=behind, problems=problems,
                           filename=filename, status_names=status_names()), status


def _counts() -> tuple[dict[str, dict[int, int]], bool]:
    """Submissions per form version in every area, and whether some area's count is behind.

    Each area's index is first brought up to date, as its list page does, within
    a time budget: with hundreds of areas the page still answers in a few seconds.
    """
    areas = guard.areas()
    index = submission_index()
    until = time.monotonic() + REFRESH_SECONDS
    behind = False
    for area in areas:
        if time.monotonic() > until:
            behind = True
            break
        behind |= not index.refresh(area, max_changes=REFRESH_CHANGES).done
    return (index.version_counts(areas) if areas else {}), behind


# -- upload, check, preview, store ------------------------------------------------------------
@bp.get("/admin/forms/upload")
@bp.get("/admin/forms/preview")
@bp.get("/admin/forms/save")
@guard.admin
def back_to_listing():
    """A result page reloaded or seen again in the other language: the upload is not kept, start over."""
    return redirect(url_for("web.admin_forms.listing"))


@bp.post("/admin/forms/upload")
@guard.admin
def upload():
    sent = request.files.get("definition")
    if sent is None or not sent.filename:
        raise BadRequest(_("Choose a file: an XLSForm (.xlsx) or a JSON form definition (.json)."))
    name = sent.filename
    raw = sent.read()
    try:
        definition = _read(name, raw)
    except FormDefinitionError as exc:
        return _listing(explain(exc.problems, lang()), name, status=400)
    return _preview_new(definition, name)


def _read(name: str, raw: bytes) -> dict:
    lowered = name.lower()
    if lowered.endswith(".xlsx"):
        return read_xlsform(io.BytesIO(raw))
    if lowered.endswith(".json"):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            # Where, not the parser's English: the admin reads the page in Mongolian.
            where = f"line {exc.lineno}, column {exc.colno}"
            raise FormDefinitionError([{"path": "", "message": f"The file is not valid JSON ({where})."}]) from None
        return load_definition(parsed)
    raise BadRequest(_("Only an XLSForm (.xlsx) or a JSON form definition (.json) can be uploaded."))


@bp.post("/admin/forms/preview")
@guard.admin
def preview_again():
    """The uploaded definition (carried in the page) previewed in the other language."""
    definition = _carried()
    if not isinstance(definition, dict):
        return definition
    return _preview_new(definition, request.form.get("filename") or "")


def _carried():
    """The definition the preview page carries, checked again (it came back from a browser)."""
    try:
        raw = orjson.loads(request.form.get("definition") or "")
    except orjson.JSONDecodeError:
        raise BadRequest(_("The form definition did not come back whole; upload the file again.")) from None
    try:
        return load_definition(raw)
    except FormDefinitionError as exc:
        return _listing(explain(exc.problems, lang()), request.form.get("filename"), status=400)


def _preview_new(definition: dict, filename: str, *, refused: str | None = None, status: int = 200):
    svc = services()
    versions = svc.forms.versions(definition["form"])
    existing = next((d for d in versions if d["version"] == definition["version"]), None)
    published = [d for d in versions if d.get("status") != "draft" and d["version"] != definition["version"]]
    latest = max(published, key=lambda d: d["version"], default=None)
    diff = compare(definition_of(latest), definition) if latest else None
    return render_template(
        "admin_form_preview.html", definition=definition, stored=None, filename=filename,
        carried=orjson.dumps(definition).decode(), existing=existing, latest=latest, diff=diff,
        items=layout(definition, _form_lang(definition)), form_lang=_form_lang(definition),
        form_languages=_languages(definition), refused=refused, next_version=svc.forms.next_version(definition["form"]),
        status_names=status_names(), type_names=type_names()), status


@bp.post("/admin/forms/save")
@guard.admin
def save():
    definition = _carried()
    if not isinstance(definition, dict):
        return definition
    action = request.form.get("action")
    if action not in ("draft", "publish", "publish_next"):
        raise BadRequest(_("Choose to save a draft or to publish."))
    svc = services()
    if action == "publish_next":
        definition = {**definition, "version": svc.forms.next_version(definition["form"])}
    try:
        doc = form_admin.publish(svc.forms, svc.audit, definition, by=guard.user().name, draft=action == "draft")
    except Conflict as exc:
        return _preview_new(definition, request.form.get("filename") or "", refused=_refusal(exc, definition),
                            status=409)
    except FormDefinitionError as exc:  # checked just above; a version number that outgrew its bounds
        return _listing(explain(exc.problems, lang()), request.form.get("filename"), status=400)
    if doc["status"] == "draft":
        flash(_("Saved as a draft: %(form)s version %(version)s. Devices do not get drafts.",
                form=doc["form"], version=doc["version"]))
    else:
        flash(_("Published: %(form)s version %(version)s. Devices get it at their next sync.",
                form=doc["form"], version=doc["version"]))
    return redirect(url_for("web.admin_forms.version", name=doc["form"], version=doc["version"]))


def _refusal(exc: Conflict, definition: dict) -> str:
    """The registry's reason (English, as the CLI prints it) in the page's language."""
    if lang() == "en":
        return exc.reason
    current = services().forms.versions(definition["form"])
    status = next((d.get("status") for d in current if d["version"] == definition["version"]), "")
    return _("Version %(version)s of form %(form)s is already %(status)s, and its contents differ from this "
             "file: a published version never changes. Publish it as version %(next)s.",
             version=definition["version"], form=definition["form"],
             status=status_names().get(status, status), next=services().forms.next_version(definition["form"]))


# -- one stored version ---------------------------------------------------------------------------
def _stored_or_404(name: str, version: int) -> dict:
    found = next((d for d in services().forms.versions(name) if d["version"] == version), None)
    if found is None:
        raise NotFound("missing")
    return found


@bp.get("/admin/forms/<name>/<int:version>")
@guard.admin
def version(name: str, version: int):
    return _version_page(_stored_or_404(name, version))


def _version_page(doc: dict, *, error: str | None = None, status: int = 200):
    definition = definition_of(doc)
    others = sorted((d["version"] for d in services().forms.versions(doc["form"]) if d["version"] != doc["version"]),
                    reverse=True)
    form_lang = _form_lang(definition)
    counts = _counts()[0].get(doc["form"], {})
    return render_template(
        "admin_form_preview.html", definition=definition, stored=doc, others=others, error=error,
        items=layout(definition, form_lang), form_lang=form_lang, form_languages=_languages(definition),
        submissions=counts.get(doc["version"], 0), status_names=status_names(), type_names=type_names(),
        deadline=_deadline(doc)), status


@bp.post("/admin/forms/<name>/<int:version>/publish")
@guard.admin
def publish_draft(name: str, version: int):
    doc = _stored_or_404(name, version)
    if doc.get("status") != "draft":
        return _version_page(doc, error=_("Only a draft can be published; this version is %(status)s.",
                                          status=status_names().get(doc.get("status"), "")), status=409)
    svc = services()
    try:
        form_admin.publish(svc.forms, svc.audit, definition_of(doc), by=guard.user().name)
    except (Conflict, FormDefinitionError) as exc:
        return _version_page(doc, error=in_language(str(getattr(exc, "reason", exc))), status=409)
    flash(_("Published: %(form)s version %(version)s. Devices get it at their next sync.", form=name,
            version=version))
    return redirect(url_for("web.admin_forms.version", name=name, version=version))


@bp.post("/admin/forms/<name>/<int:version>/retire")
@guard.admin
def retire(name: str, version: int):
    doc = _stored_or_404(name, version)
    raw = (request.form.get("grace_days") or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 5 or int(raw) > MAX_GRACE_DAYS:
        return _version_page(doc, error=_("The grace period is a whole number of days from 0 to %(max)s.",
                                          max=MAX_GRACE_DAYS), status=400)
    if doc.get("status") != "published":
        return _version_page(doc, error=_("Only a published version can be retired; this one is %(status)s.",
                                          status=status_names().get(doc.get("status"), "")), status=409)
    svc = services()
    form_admin.retire(svc.forms, svc.audit, name, version, by=guard.user().name, grace_days=int(raw))
    flash(_("Retired: %(form)s version %(version)s. Submissions filled in it are accepted for %(days)s more days.",
            form=name, version=version, days=int(raw)))
    return redirect(url_for("web.admin_forms.version", name=name, version=version))


@bp.get("/admin/forms/<name>/diff")
@guard.admin
def diff(name: str):
    try:
        a, b = int(request.args.get("a", "")), int(request.args.get("b", ""))
    except ValueError:
        raise BadRequest(_("Choose two versions to compare.")) from None
    old, new = _stored_or_404(name, a), _stored_or_404(name, b)
    form_lang = lang()
    changes = compare(definition_of(old), definition_of(new))
    versions = sorted(d["version"] for d in services().forms.versions(name))
    return render_template("admin_form_diff.html", name=name, old=old, new=new, changes=changes,
                           versions=versions, form_lang=form_lang, type_names=type_names(),
                           status_names=status_names())


# -- helpers ---------------------------------------------------------------------------------------
def _form_lang(definition: dict) -> str:
    """The language the preview is shown in: asked for, else the page's, else the form's first."""
    have = _languages(definition)
    asked = request.values.get("form_lang")
    if asked in have:
        return asked
    return lang() if lang() in have else have[0]


def _languages(definition: dict) -> list[str]:
    title = definition.get("title") or {}
    ordered = [code for code in LANGUAGES if code in title]
    return ordered + sorted(code for code in title if code not in ordered) or ["en"]


def _deadline(doc: dict) -> str | None:
    moment = submission_deadline(definition_of(doc))
    return moment.date().isoformat() if moment else None

