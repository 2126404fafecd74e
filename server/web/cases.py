"""Child protection cases for the coordinator: the list with overdue follow-ups, one case with
its history, and the actions that move it along.

Need to know (``sync.cases``): a case's page and its row in the list are shown
only to its author, assigned coordinator and team (and admins); any other
coordinator of the soum gets the same 404 as for a case that does not exist,
and sees the soum's cases as counts only (open by risk, overdue follow-ups).
Every change is checked here with the write gate's own rules first (403 for
who, 400 for what, 409 for a page left open while the case changed), then
written through the gate, so nothing is half-written; each change and each
opening of a case's page goes into the audit trail, without the case's content.
"""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync import cases, ids, records, referral_cases
from sync.accounts.users import User
from sync.errors import BadRequest, Conflict, Forbidden, NotFound
from sync.subindex import Filters

from ..indexes import submission_index
from ..services import services
from . import guard
from .as_of import as_of as requested_day
from .errors import in_language
from .i18n import pick
from .table_download import FORMATS, table_response

bp = Blueprint("cases", __name__)
REFERRAL_FORM = referral_cases.REFERRAL_FORM
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
MAX_NOTE = 1000


def status_names() -> dict[str, str]:
    return {"open": _("Open"), "in_progress": _("In progress"), "closed": _("Closed")}


def risk_names() -> dict[str, str]:
    return {"low": _("Low"), "medium": _("Medium"), "high": _("High")}


def service_names() -> dict[str, str]:
    return {"health": _("Health care"), "psychosocial": _("Psychosocial support"), "police": _("Police"),
            "legal": _("Legal aid"), "social_welfare": _("Social welfare"), "education": _("Education"),
            "family_mediation": _("Family mediation"), "safehouse": _("Safe house"),
            "one_stop": _("One-stop service centre"), "food": _("Food"), "other": _("Other")}


def response_names() -> dict[str, str]:
    return {"pending": _("Waiting for an answer"), "accepted": _("Accepted"), "declined": _("Declined"),
            "implemented": _("Provided")}


def closure_names() -> dict[str, str]:
    return {"goals_met": _("Safe, goals met"), "transferred": _("Transferred"), "moved": _("Family moved away"),
            "duplicate": _("Duplicate"), "other": _("Other")}


def action_names() -> dict[str, str]:
    return {"opened": _("Opened"), "status": _("Status changed"), "risk": _("Risk changed"),
            "team": _("Team changed"), "follow_ups": _("Follow-up visits changed"),
            "services": _("Services changed"), "follow_up_done": _("Follow-up visit done")}


def source_names() -> dict[str, str]:
    """Who raised the concern, as the referral form asks it (its ``reporter`` list)."""
    return {"self": _("The child"), "family": _("Family member"), "neighbour": _("Neighbour"),
            "teacher": _("Teacher"), "worker": _("Outreach worker's own observation"), "unknown": _("Not recorded")}


def mode_names() -> dict[str, str]:
    return {"visit": _("Home visit"), "phone": _("Phone call")}


def _choice(name: str, allowed, *, required: bool = False) -> str | None:
    value = (request.values.get(name) or "").strip()
    if not value:
        if required:
            raise BadRequest(_("Choose a value for “%(name)s”.", name=name))
        return None
    if value not in allowed:
        raise BadRequest(_("“%(value)s” is not a choice here.", value=value[:40]))
    return value


def _today() -> date:
    return date.today()


@bp.get("/cases")
@guard.coordinator
def listing():
    who = guard.user()
    allowed = guard.areas()
    chosen = request.args.get("area") or ""
    if chosen:
        guard.area_or_404(chosen)
    status = _choice("status", cases.STATUSES)
    risk = _choice("risk", cases.RISKS)
    today = _today()
    month = (request.args.get("month") or "").strip() or today.isoformat()[:7]
    try:
        cases.month_bounds(month)
    except ValueError:
        raise BadRequest(_("A month is written as YYYY-MM.")) from None
    fmt, table_name = request.args.get("format") or "", request.args.get("table") or ""
    if fmt or table_name:
        if fmt not in FORMATS or table_name not in REPORT_TABLES:
            raise BadRequest(_("A download names one of the report's tables (%(tables)s) and a format (csv or "
                               "xlsx).", tables=", ".join(REPORT_TABLES)))
    day = requested_day(today)
    store = services().store
    soums, rows = soum_counts([chosen] if chosen else allowed, day), []
    everything: list[dict] = []
    for code in [chosen] if chosen else allowed:
        for case in cases.area_cases(store.open(code)) if store.exists(code) else []:
            everything.append(case)
            if not cases.may_see(who, case):
                continue  # counted above, never listed
            if (status and case.get("status") != status) or (risk and case.get("risk") != risk):
                continue
            rows.append({"case": case, "code": code, "overdue": cases.overdue(case, today),
                         "next_due": cases.next_due(case)})
    if fmt:
        report = case_report(who, everything, today, month)
        head, lines = report_table(table_name, soums, report)
        return table_response(f"cases-{table_name.replace('_', '-')}-{month}", head, lines, fmt)
    rows.sort(key=lambda r: (not r["overdue"], r["case"].get("status") == "closed",
                             ("high", "medium", "low").index(r["case"].get("risk", "low"))
                             if r["case"].get("risk") in cases.RISKS else 3, r["next_due"] or "9999"))
    return render_template("cases.html", soums=soums, rows=rows, tree=services().areas.tree(), areas=allowed,
                           chosen=chosen, status=status or "", risk=risk or "", referrals=_referrals(allowed
                           if not chosen else [chosen]), today=today.isoformat(),
                           report=case_report(who, everything, today, month), month=month,
                           counts_as_of=day if day < today else None, as_of=day.isoformat() if day < today else "",
                           download_args={"month": month, **({"area": chosen} if chosen else {}),
                                          **({"as_of": day.isoformat()} if day < today else {})},
                           concern_labels=_concern_labels(), **_names())


def case_report(who: User, found: list[dict], today: date, month: str) -> dict:
    """The coordinator's report over the cases of the areas shown: counts for everyone coordinating
    them; the cases behind the alarm figures named only to those who may see each one."""
    days = services().settings.case_follow_up_days
    figures = cases.report(found, today, month, days)
    by_id = {c["_id"]: c for c in found}
    named = {key: [by_id[i] for i in docids if cases.may_see(who, by_id[i])]
             for key, docids in figures.pop("ids").items()}
    return {**figures, "named": named, "days": days}


REPORT_TABLES = ("counts", "by_source", "by_concern", "attention", "closures")


def report_table(name: str, soums: list[dict], report: dict) -> tuple[list[str], list[list]]:
    """One of the case report's tables as the page shows it, for a download: counts only, never a case
    (the names behind the alarm figures stay on the page, for those who may see each case)."""
    if name == "counts":
        tree, risks = services().areas.tree(), risk_names()
        head = [_("Soum"), _("Open cases"), risks["high"], risks["medium"], risks["low"],
                _("Cases with an overdue follow-up"), _("Overdue follow-up visits"), _("Closed cases")]
        return head, [[pick(tree.areas[s["code"]].name, s["code"]) if s["code"] in tree.areas else s["code"],
                       c["open"], c["by_risk"]["high"], c["by_risk"]["medium"], c["by_risk"]["low"],
                       c["overdue_cases"], c["overdue_visits"], c["closed"]] for s in soums for c in [s["counts"]]]
    if name == "by_source":
        names = source_names()
        return [_("Raised by"), _("Cases")], [[names.get(k, k), n] for k, n in sorted(report["by_source"].items())]
    if name == "by_concern":
        labels = _concern_labels()
        return [_("Concern"), _("Cases")], [[pick(labels[k], k) if k in labels else k, n]
                                           for k, n in sorted(report["by_concern"].items())]
    if name == "attention":
        return [_("Needs attention today"), _("Count")], [
            [_("Service referrals still waiting for an answer after their due date"), report["pending_services"]],
            [_("Cases with such a referral"), report["pending_cases"]],
            [_("High-risk cases with no follow-up done in the last %(days)d days", days=report["days"]),
             report["no_follow_up"]]]
    return [_("Reason"), _("Cases")], [[label, report["by_reason"].get(key, 0)]
                                       for key, label in closure_names().items()]


def soum_counts(areas: list[str], day: date | None = None) -> list[dict]:
    """Open cases by risk and overdue follow-ups per area: counts only, for anyone coordinating it
    (the soum report shows them too); as they stand today, or as they stood at the end of a past ``day``
    (``cases.counts_on``)."""
    store, today = services().store, _today()
    count = cases.counts if day is None or day >= today else cases.counts_on
    return [{"code": code, "counts": count(cases.area_cases(store.open(code)) if store.exists(code) else [],
                                           day or today)} for code in areas]


def _names() -> dict:
    return {"status_names": status_names(), "risk_names": risk_names(), "service_names": service_names(),
            "closure_names": closure_names(), "action_names": action_names(), "mode_names": mode_names(),
            "response_names": response_names(), "source_names": source_names()}


def _referrals(areas: list[str]) -> list[dict]:
    """Recent referrals of the areas that no case names yet (the newest 20 per area)."""
    store = services().store
    index = submission_index()
    out = []
    for code in areas:
        if not store.exists(code):
            continue
        index.refresh(code, max_changes=500)
        named = {c.get("referral") for c in cases.area_cases(store.open(code))}
        page = index.page(code, Filters(form=REFERRAL_FORM), limit=20, budget=500)
        for row in page.rows:
            sid = f"{code}:{ids.SUBMISSION}:{row['k']}"
            if sid not in named:
                out.append({"id": sid, "code": code, "author": row.get("a"), "created": row.get("c")})
    return out


@bp.post("/cases/open")
@guard.coordinator
def open_case():
    who = guard.user()
    sid = request.form.get("referral") or ""
    parsed, db = guard.doc_scope_or_404(sid, ids.SUBMISSION)
    referral = records.read(db, sid)
    if referral is None or referral.get("form") != REFERRAL_FORM:
        raise NotFound("missing")
    risk = _choice("risk", cases.RISKS, required=True)
    if any(c.get("referral") == sid for c in cases.area_cases(db)):
        raise Conflict(_("A case was opened from this referral already."))
    author = referral.get("author")
    team = [author] if isinstance(author, str) and author != who.name and _works_in(author, parsed.scope) else []
    data = referral.get("data") if isinstance(referral.get("data"), dict) else {}
    # The id the gate would have given it (sync.referral_cases): opened by hand or not, one case.
    case = cases.new_case(parsed.scope, parsed.key, author=who.name, coordinator=who.name, risk=risk,
                          team=team, referral=sid, data=referral_cases.case_data(data))
    _save(who, db, None, case, "opened")
    return redirect(url_for("web.cases.detail", docid=case["_id"], saved=1))


def _works_in(name: str, area: str) -> bool:
    user = services().users.get(name)
    return (user is not None and not user.disabled and user.role in ("worker", "coordinator")
            and area in services().access.data_scopes(user))


def _case_or_404(docid: str) -> tuple[ids.DocId, object, dict]:
    parsed, db = guard.doc_scope_or_404(docid, ids.CASE)
    case = records.read(db, docid)
    if case is None or case.get("_deleted") or not cases.may_see(guard.user(), case):
        raise NotFound("missing")  # a case one may not see answers as one that does not exist
    return parsed, db, case


@bp.get("/cases/<docid>")
@guard.coordinator
def detail(docid: str):
    return _detail(docid)


def _detail(docid: str, *, error: str | None = None, status: int = 200):
    parsed, _db, case = _case_or_404(docid)
    who = guard.user()
    if status == 200:
        services().audit.record(actor=who.name, action="case.viewed", scope=parsed.scope, doc_id=docid)
    return render_template(
        "case.html", case=case, docid=docid, code=parsed.scope, area=services().areas.tree().areas.get(parsed.scope),
        overdue=cases.overdue(case, _today()), today=_today().isoformat(), error=error,
        saved=request.args.get("saved") == "1", may_change=cases.may_change(who, case),
        is_coordinator=who.is_admin or who.name == case.get("coordinator"),
        next_statuses=cases.TRANSITIONS.get(case.get("status"), ()), candidates=_candidates(parsed.scope),
        risks=cases.RISKS, closures=cases.CLOSURE_REASONS, modes=cases.MODES, concern_labels=_concern_labels(),
        **_names()), status


def _concern_labels() -> dict[str, dict]:
    """The referral form's labels of its concerns, per language (a case keeps the names)."""
    definition = services().forms.get(REFERRAL_FORM, 1) or {}
    return {c["name"]: c.get("label") or {} for c in (definition.get("choices") or {}).get("concern", [])}


def _candidates(area: str) -> list[str]:
    """Who may join a case's team: the workers and coordinators of its soum."""
    access = services().access
    return sorted(u.name for u in services().users.list()
                  if u.role in ("worker", "coordinator") and not u.disabled and area in access.data_scopes(u))


def _save(who: User, db, before: dict | None, after: dict, action: str) -> None:
    """The gate's rules first (403: who, 400: what), then the write through the gate itself."""
    denial = cases.write_denial(who, after, before)
    if denial is not None:
        raise Forbidden(denial)
    problems = cases.check_case(after, before)
    if problems:
        raise BadRequest("; ".join(f"{p['field']}: {in_language(p['message'])}" for p in problems))
    svc = services()
    result = svc.gate.write(who, db, [after], new_edits=True, hold_refused=False)[0]
    if result.get("error") == "conflict":
        raise Conflict(_("The case was changed meanwhile; open it again and repeat the change."))
    if "error" in result:
        raise BadRequest((result.get("messages") or {}).get(_lang()) or result.get("reason") or "refused")
    # What changed is in the case's own history: the audit trail, read more widely, names the action only.
    svc.audit.record(actor=who.name, action=f"case.{action}", scope=db.name, doc_id=after["_id"],
                     rev=result.get("rev"))


def _lang() -> str:
    from .i18n import lang

    return lang()


def _change(docid: str, make) -> object:
    """Apply ``make(case) -> (new revision, action)`` to the case as the page showed it."""
    who = guard.user()
    try:
        _parsed, db, case = _case_or_404(docid)
        if not cases.may_change(who, case):
            raise Forbidden(cases.message("not_team", docid=docid))
        if (request.form.get("rev") or "") != case["_rev"]:
            raise Conflict(_("The case was changed meanwhile; open it again and repeat the change."))
        after, action = make(case)
        _save(who, db, case, after, action)
    except (BadRequest, Forbidden, Conflict) as exc:
        return _detail(docid, error=in_language(exc.reason), status=exc.status)
    return redirect(url_for("web.cases.detail", docid=docid, saved=1))


def _note() -> str:
    note = (request.form.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        raise BadRequest(_("A note is at most %(most)d characters.", most=MAX_NOTE))
    return note


def _date(name: str, *, required: bool) -> str | None:
    value = (request.form.get(name) or "").strip()
    if not value and not required:
        return None
    try:
        if not DATE_RE.match(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise BadRequest(_("Dates are written as YYYY-MM-DD.")) from None
    return value


@bp.post("/cases/<docid>/status")
@guard.coordinator
def change_status(docid: str):
    who = guard.user()

    def make(case: dict):
        new = _choice("status", cases.STATUSES, required=True)
        note = _note()
        if new == "closed":
            reason = _choice("reason", cases.CLOSURE_REASONS)
            if reason is None:
                raise BadRequest(_("Say why the case is closed."))
            closure = {"reason": reason, "note": note, "closed_on": _today().isoformat()}
            return cases.changed(case, who.name, "status", status=new, closure=closure, note=note), "status"
        return cases.changed(case, who.name, "status", status=new, closure=None, note=note), "status"

    return _change(docid, make)


@bp.post("/cases/<docid>/risk")
@guard.coordinator
def change_risk(docid: str):
    who = guard.user()
    return _change(docid, lambda case: (cases.changed(case, who.name, "risk", risk=_choice(
        "risk", cases.RISKS, required=True), note=_note()), "risk"))


@bp.post("/cases/<docid>/team")
@guard.coordinator
def change_team(docid: str):
    who = guard.user()

    def make(case: dict):
        chosen = request.form.getlist("team")
        allowed = set(_candidates(case["_id"].split(":", 1)[0]))
        for name in chosen:
            if name not in allowed:
                raise BadRequest(_("“%(name)s” does not work in this soum.", name=name[:40]))
        return cases.changed(case, who.name, "team", team=sorted(set(chosen))), "team"

    return _change(docid, make)


@bp.post("/cases/<docid>/follow-ups")
@guard.coordinator
def add_follow_up(docid: str):
    who = guard.user()

    def make(case: dict):
        due = _date("due", required=True)
        mode = _choice("mode", cases.MODES, required=True)
        visits = [*((case.get("data") or {}).get("follow_ups") or []),
                  {"due": due, "done_on": None, "mode": mode, "notes": _note()}]
        return cases.changed(case, who.name, "follow_ups", follow_ups=visits), "follow_ups"

    return _change(docid, make)


@bp.post("/cases/<docid>/follow-ups/<int:n>/done")
@guard.coordinator
def follow_up_done(docid: str, n: int):
    who = guard.user()

    def make(case: dict):
        visits = [dict(v) for v in (case.get("data") or {}).get("follow_ups") or []]
        if not 0 <= n < len(visits):
            raise BadRequest(_("There is no such follow-up visit."))
        visits[n]["done_on"] = _date("done_on", required=True)
        note = _note()
        if note:
            visits[n]["notes"] = note
        return cases.changed(case, who.name, "follow_up_done", follow_ups=visits), "follow_up_done"

    return _change(docid, make)


@bp.post("/cases/<docid>/services")
@guard.coordinator
def add_service(docid: str):
    who = guard.user()

    def make(case: dict):
        kind = _choice("type", cases.SERVICE_TYPES, required=True)
        response = _choice("response", cases.RESPONSES, required=True)
        provider = (request.form.get("provider") or "").strip()
        if len(provider) > MAX_NOTE:
            raise BadRequest(_("The provider's name is at most %(most)d characters.", most=MAX_NOTE))
        service = {"type": kind, "provider": provider, "referred_at": _today().isoformat(), "response": response}
        due_by = _date("due_by", required=False)
        if due_by:
            service["due_by"] = due_by
        services_ = [*((case.get("data") or {}).get("services") or []), service]
        return cases.changed(case, who.name, "services", services=services_), "services"

    return _change(docid, make)

