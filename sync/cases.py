"""Child protection cases: a referral opens a case that only its team may see.

A case is the document ``<area>:case:<ulid>`` (``type: "case"``). What the
access rules need stays beside the answers, in the clear: ``author`` (who
opened it), ``coordinator`` (the coordinator assigned), ``team`` (the user
names of the multidisciplinary team), ``status`` and ``risk``. Everything
about the child is in ``data`` (child, concerns, narrative, services referred
to, follow-up visits, closure, history), which ``sync.stores.encrypted``
seals at rest when the server has a key.

Need to know (``programmes.md`` section 7): the author, the assigned
coordinator and the team see a case, nobody else of the area, not the other
coordinators of the aimag either (they see counts: ``counts``); admins see
everything, as everywhere. A case never goes to an area-wide replica: the
worker's ``/sync/<user>`` shows it through ``Access.visible`` only to those.

The write gate checks every revision (``check_batch``), whichever way it
comes: the states are enumerated, the status moves along ``TRANSITIONS``
(``closed`` goes back to ``open``: a reopening), a closed case names its
reason, and only the team or the coordinator change a case; the team and the
coordinator are changed by the coordinator only. The history already written
cannot be rewritten, only added to. Refusals speak English and Mongolian.

Whoever is taken off a case (off the team, a coordinator replaced) is kept in
its ``former`` list: their replica's feed then gives their device a tombstone
of the case (``left_case``), so it leaves the devices of those who may no
longer see it, as a lost area's documents do (``sync.replica.revocation``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from sync import ids
from sync.accounts.users import User
from sync.clock import now_iso
from sync.gate.messages import Text
from sync.stores.base import Database

STATUSES = ("open", "in_progress", "closed")
TRANSITIONS = {  # status -> where it may go next (staying put is always allowed)
    "open": ("in_progress", "closed"),
    "in_progress": ("closed",),
    "closed": ("open",),  # reopened
}
RISKS = ("low", "medium", "high")
SERVICE_TYPES = ("health", "psychosocial", "police", "legal", "social_welfare", "education",
                 "family_mediation", "safehouse", "one_stop", "food", "other")  # after Primero's list
RESPONSES = ("pending", "accepted", "declined", "implemented")
CLOSURE_REASONS = ("goals_met", "transferred", "moved", "duplicate", "other")
MODES = ("visit", "phone")
MAX_TEAM = 20
MAX_TEXT = 4000
MAX_ITEMS = 200
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
CLEAR_FIELDS = {"type", "author", "coordinator", "team", "former", "status", "risk", "referral", "opened_at",
                "updated_at", "updated_by", "data"}
COUCH_FIELDS = {"_id", "_rev", "_revisions", "_deleted", "_conflicts", "_attachments"}

_TEXTS: dict[str, dict[str, str]] = {
    "type": {"en": "A case's type must be \"case\".", "mn": "Тохиолдлын баримтын төрөл (type) нь \"case\" байх ёстой."},
    "unknown_field": {"en": "A case has no field {name!r}; its answers go under data.",
                      "mn": "Тохиолдолд {name!r} гэсэн талбар байхгүй; хариултууд data дотор байна."},
    "status": {"en": "{value!r} is not a case status; use open, in_progress or closed.",
               "mn": "{value!r} гэсэн тохиолдлын төлөв байхгүй; open, in_progress эсвэл closed-ийг ашиглана уу."},
    "risk": {"en": "{value!r} is not a risk level; use low, medium or high.",
             "mn": "{value!r} гэсэн эрсдэлийн түвшин байхгүй; low, medium эсвэл high-ийг ашиглана уу."},
    "new_open": {"en": "A new case starts open, not {value!r}.",
                 "mn": "Шинэ тохиолдол {value!r} биш, нээлттэй (open) төлөвөөс эхэлнэ."},
    "transition": {"en": "A case cannot go from {old!r} to {new!r}; from {old!r} it goes to {allowed}.",
                   "mn": "Тохиолдол {old!r} төлөвөөс {new!r} руу шилжих боломжгүй; {old!r}-аас {allowed} руу шилжинэ."},
    "closure": {"en": "A closed case names its reason: {reasons}.",
                "mn": "Хаасан тохиолдол шалтгаанаа заана: {reasons}."},
    "closure_open": {"en": "Only a closed case has a closure; take it out when reopening.",
                     "mn": "Зөвхөн хаасан тохиолдолд хаалтын мэдээлэл байна; дахин нээхдээ үүнийг хасна уу."},
    "coordinator": {"en": "A case names its coordinator (a user name).",
                    "mn": "Тохиолдол хариуцсан зохицуулагчаа (хэрэглэгчийн нэр) заана."},
    "team": {"en": "The team is a list of at most {most} different user names.",
             "mn": "Баг нь ихдээ {most} өөр хэрэглэгчийн нэрийн жагсаалт байна."},
    "data": {"en": "A case's data must be an object.", "mn": "Тохиолдлын data нь объект байх ёстой."},
    "list": {"en": "{name} must be a list of at most {most} entries.",
             "mn": "{name} нь ихдээ {most} мөртэй жагсаалт байх ёстой."},
    "date": {"en": "{value!r} is not a date (YYYY-MM-DD).", "mn": "{value!r} нь огноо биш (ОООО-СС-ӨӨ)."},
    "choice": {"en": "{value!r} is not one of {allowed}.", "mn": "{value!r} нь {allowed}-ийн аль нэг биш."},
    "text": {"en": "At most {most} characters of text.", "mn": "Ихдээ {most} тэмдэгт бичнэ."},
    "history": {"en": "A case's history is only added to; entries already written stay as they were.",
                "mn": "Тохиолдлын түүхэнд зөвхөн нэмнэ; бичигдсэн мөрүүд хэвээр үлдэнэ."},
    "author_you": {"en": "A new case's author must be you ({user!r}).",
                   "mn": "Шинэ тохиолдлын зохиогч нь та ({user!r}) байх ёстой."},
    "not_team": {"en": "Only the case's team and its coordinator may change case {docid!r}.",
                 "mn": "{docid!r} тохиолдлыг зөвхөн түүний баг болон хариуцсан зохицуулагч өөрчилнө."},
    "team_by_coordinator": {"en": "Only the case's coordinator changes its team and its coordinator.",
                            "mn": "Тохиолдлын баг, зохицуулагчийг зөвхөн хариуцсан зохицуулагч өөрчилнө."},
    "author_fixed": {"en": "A case's author does not change.", "mn": "Тохиолдлын зохиогч өөрчлөгдөхгүй."},
    "no_delete": {"en": "A case is closed, not deleted.", "mn": "Тохиолдлыг устгахгүй, хаана."},
}


def message(key: str, **params: Any) -> Text:
    return Text({lang: t.format(**params) for lang, t in _TEXTS[key].items()})


def is_case_id(docid: str) -> bool:
    parsed = ids.parse_doc_id(docid)
    return parsed is not None and parsed.kind == ids.CASE


def members(doc: dict | None) -> set[str]:
    """Who may see the case: its author, its coordinator and its team."""
    if not isinstance(doc, dict):
        return set()
    team = doc.get("team") if isinstance(doc.get("team"), list) else []
    found = {doc.get("author"), doc.get("coordinator"), *team}
    return {n for n in found if isinstance(n, str) and n}


def left_case(name: str, docid: str, doc: dict | None) -> bool:
    """Whether ``name`` was taken off this case (its ``former`` members): their replica then
    sends the device a tombstone of it, so the case leaves the device as a lost area does."""
    if not isinstance(doc, dict) or f":{ids.CASE}:" not in docid:
        return False
    former = doc.get("former")
    return isinstance(former, list) and name in former and name not in members(doc)


def may_see(user: User, doc: dict | None) -> bool:
    return user.is_admin or user.name in members(doc)


def may_change(user: User, doc: dict | None) -> bool:
    """The team and the coordinator change a case (an author taken off the team only reads it)."""
    if user.is_admin:
        return True
    if not isinstance(doc, dict):
        return False
    team = doc.get("team") if isinstance(doc.get("team"), list) else []
    return user.name == doc.get("coordinator") or user.name in team


# -- the write gate ------------------------------------------------------------------------
def write_denial(user: User, doc: dict, existing: dict | None) -> Text | None:
    """Why ``user`` may not write this revision of a case (``Access.write_denial`` asks)."""
    if user.is_admin:
        return None
    if existing is None or existing.get("_deleted"):
        if doc.get("_deleted"):
            return message("no_delete")
        return None if doc.get("author") == user.name else message("author_you", user=user.name)
    if not may_change(user, existing):
        return message("not_team", docid=doc["_id"])
    if doc.get("_deleted"):
        return message("no_delete")
    if doc.get("author") != existing.get("author"):
        return message("author_fixed")
    if (doc.get("coordinator") != existing.get("coordinator") or _team(doc) != _team(existing)
            or _team(doc, "former") != _team(existing, "former")) and user.name != existing.get("coordinator"):
        return message("team_by_coordinator")
    return None


def _team(doc: dict, name: str = "team") -> list:
    team = doc.get(name)
    return sorted(t for t in team if isinstance(t, str)) if isinstance(team, list) else []


def check_case(doc: dict, existing: dict | None) -> list[dict]:
    """What is wrong with a case revision, field by field ({field, message}), given the current one."""
    if doc.get("_deleted"):
        return []
    problems: list[dict] = []

    def bad(field: str, key: str, **params: Any) -> None:
        problems.append({"field": field, "message": message(key, **params)})

    if doc.get("type") != "case":
        bad("type", "type")
    for name in sorted(set(doc) - CLEAR_FIELDS - COUCH_FIELDS):
        bad(name, "unknown_field", name=name)
    status, risk = doc.get("status"), doc.get("risk")
    if status not in STATUSES:
        bad("status", "status", value=status)
    if risk not in RISKS:
        bad("risk", "risk", value=risk)
    if not isinstance(doc.get("coordinator"), str) or not NAME_RE.match(doc["coordinator"]):
        bad("coordinator", "coordinator")
    former = doc.get("former", [])
    if not isinstance(former, list) or len(former) > MAX_ITEMS or not all(
            isinstance(t, str) and NAME_RE.match(t) for t in former):
        bad("former", "team", most=MAX_ITEMS)
    team = doc.get("team", [])
    if (not isinstance(team, list) or len(team) > MAX_TEAM or len(set(map(str, team))) != len(team)
            or not all(isinstance(t, str) and NAME_RE.match(t) for t in team)):
        bad("team", "team", most=MAX_TEAM)
    old = existing if isinstance(existing, dict) and not existing.get("_deleted") else None
    if status in STATUSES:
        if old is None and status != "open":
            bad("status", "new_open", value=status)
        elif old is not None and old.get("status") in STATUSES and status != old["status"] \
                and status not in TRANSITIONS[old["status"]]:
            bad("status", "transition", old=old["status"], new=status,
                allowed=" / ".join(TRANSITIONS[old["status"]]))
    data = doc.get("data", {})
    if not isinstance(data, dict):
        bad("data", "data")
        return problems
    _check_data(data, status, bad)
    old_history = ((old or {}).get("data") or {}).get("history") or []
    history = data.get("history") or []
    if isinstance(history, list) and history[:len(old_history)] != old_history:
        bad("data.history", "history")
    return problems


def _check_data(data: dict, status: Any, bad) -> None:
    for name in ("narrative", "child_name", "safety_action"):
        if name in data and (not isinstance(data[name], str) or len(data[name]) > MAX_TEXT):
            bad(f"data.{name}", "text", most=MAX_TEXT)
    lists = {"services": data.get("services", []), "follow_ups": data.get("follow_ups", []),
             "history": data.get("history", []), "concerns": data.get("concerns", [])}
    for name, value in lists.items():
        if not isinstance(value, list) or len(value) > MAX_ITEMS * 5 or (
                name != "history" and len(value) > MAX_ITEMS):
            bad(f"data.{name}", "list", name=name, most=MAX_ITEMS)
            lists[name] = []
    for n, item in enumerate(lists["services"]):
        where = f"data.services[{n}]"
        if not isinstance(item, dict):
            bad(where, "data")
            continue
        _choice(item.get("type"), SERVICE_TYPES, f"{where}.type", bad)
        _choice(item.get("response", "pending"), RESPONSES, f"{where}.response", bad)
        _date(item.get("referred_at"), f"{where}.referred_at", bad, required=False)
        _date(item.get("due_by"), f"{where}.due_by", bad, required=False)
        _text(item.get("provider", ""), f"{where}.provider", bad)
    for n, item in enumerate(lists["follow_ups"]):
        where = f"data.follow_ups[{n}]"
        if not isinstance(item, dict):
            bad(where, "data")
            continue
        _date(item.get("due"), f"{where}.due", bad, required=True)
        _date(item.get("done_on"), f"{where}.done_on", bad, required=False)
        _choice(item.get("mode", "visit"), MODES, f"{where}.mode", bad)
        _text(item.get("notes", ""), f"{where}.notes", bad)
    closure = data.get("closure")
    if status == "closed":
        if not isinstance(closure, dict) or closure.get("reason") not in CLOSURE_REASONS:
            bad("data.closure.reason", "closure", reasons=", ".join(CLOSURE_REASONS))
        else:
            _text(closure.get("note", ""), "data.closure.note", bad)
    elif closure not in (None, {}) and status in STATUSES:
        bad("data.closure", "closure_open")


def _choice(value: Any, allowed: tuple[str, ...], field: str, bad) -> None:
    if value not in allowed:
        bad(field, "choice", value=value, allowed=", ".join(allowed))


def _date(value: Any, field: str, bad, *, required: bool) -> None:
    if value in (None, "") and not required:
        return
    try:
        ok = isinstance(value, str) and DATE_RE.match(value) and date.fromisoformat(value)
    except ValueError:
        ok = False
    if not ok:
        bad(field, "date", value=value)


def _text(value: Any, field: str, bad) -> None:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        bad(field, "text", most=MAX_TEXT)


def check_batch(db: Database, docs: list[dict], which: list[int]) -> dict[int, list[dict]]:
    """``check_case`` for the cases at positions ``which`` of a batch; their current revisions in one read."""
    wanted = sorted({docs[i]["_id"] for i in which})
    current = {row["id"]: row["doc"] for row in db.all_docs(keys=wanted, include_docs=True) if row.get("doc")}
    out = {}
    for i in which:
        problems = check_case(docs[i], current.get(docs[i]["_id"]))
        if problems:
            out[i] = problems
    return out


# -- reading and changing (the coordinator's pages, the demo) ---------------------------------
def area_cases(db: Database) -> list[dict]:
    """Every case of one area (winning revisions, opened when sealed), newest first."""
    prefix = f"{db.name}:{ids.CASE}:"
    rows = db.all_docs(startkey=prefix, endkey=prefix + "\ufff0", include_docs=True)
    found = [r["doc"] for r in rows if isinstance(r.get("doc"), dict) and r["doc"].get("type") == "case"]
    return sorted(found, key=lambda d: d["_id"], reverse=True)


def overdue(case: dict, today: date) -> list[dict]:
    """Follow-up visits of an open case past their due date and not done."""
    if case.get("status") == "closed":
        return []
    out = []
    for f in (case.get("data") or {}).get("follow_ups") or []:
        if isinstance(f, dict) and not f.get("done_on") and isinstance(f.get("due"), str) and f["due"] < today.isoformat():
            out.append(f)
    return out


def next_due(case: dict) -> str | None:
    dues = [f["due"] for f in (case.get("data") or {}).get("follow_ups") or []
            if isinstance(f, dict) and not f.get("done_on") and isinstance(f.get("due"), str)]
    return min(dues) if dues else None


def counts(cases: Iterable[dict], today: date) -> dict[str, Any]:
    """Open (not closed) cases by risk and the overdue follow-ups: what anyone coordinating sees."""
    by_risk = dict.fromkeys(RISKS, 0)
    out = {"open": 0, "by_risk": by_risk, "overdue_cases": 0, "overdue_visits": 0, "closed": 0}
    for case in cases:
        if case.get("status") == "closed":
            out["closed"] += 1
            continue
        out["open"] += 1
        if case.get("risk") in by_risk:
            by_risk[case["risk"]] += 1
        late = overdue(case, today)
        out["overdue_visits"] += len(late)
        out["overdue_cases"] += bool(late)
    return out


def state_on(case: dict, day: str) -> tuple[str, str] | None:
    """A case's status and risk at the end of ``day`` (ISO), from its history (added to only, the gate
    checks): the opening and each change of status or risk up to that day. None if it was not open yet.
    A case without history (written around the gate) stands as it is now from its ``opened_at``."""
    history = [h for h in (case.get("data") or {}).get("history") or [] if isinstance(h, dict)]
    if not history:
        opened = str(case.get("opened_at") or "")[:10]
        return (case.get("status"), case.get("risk")) if opened and opened <= day else None
    status = risk = None
    seen = False
    for entry in history:
        if str(entry.get("at") or "")[:10] > day:
            break
        seen = True
        status = entry.get("status", status)
        risk = entry.get("risk", risk)
    if not seen:
        return None
    return status or "open", risk or case.get("risk")


def counts_on(cases: Iterable[dict], day: date) -> dict[str, Any]:
    """``counts`` as the cases stood at the end of a past ``day``: status and risk from each case's
    history (``state_on``); overdue follow-ups from the visits the cases hold now, due before the day
    and not done by it (the history says when the list changed, not how, so a visit added after the
    day with an earlier due date counts and one taken out since does not)."""
    iso = day.isoformat()
    by_risk = dict.fromkeys(RISKS, 0)
    out = {"open": 0, "by_risk": by_risk, "overdue_cases": 0, "overdue_visits": 0, "closed": 0}
    for case in cases:
        state = state_on(case, iso)
        if state is None:
            continue
        status, risk = state
        if status == "closed":
            out["closed"] += 1
            continue
        out["open"] += 1
        if risk in by_risk:
            by_risk[risk] += 1
        late = [f for f in (case.get("data") or {}).get("follow_ups") or []
                if isinstance(f, dict) and isinstance(f.get("due"), str) and f["due"] < iso
                and not (isinstance(f.get("done_on"), str) and f["done_on"] and f["done_on"] <= iso)]
        out["overdue_visits"] += len(late)
        out["overdue_cases"] += bool(late)
    return out


def month_bounds(month: str) -> tuple[str, str]:
    """``YYYY-MM`` -> its first day and the first day of the next month (ISO dates); ValueError if not a month."""
    if not re.match(r"^\d{4}-\d{2}\Z", month or ""):
        raise ValueError(month)
    first = date.fromisoformat(month + "-01")
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first.isoformat(), after.isoformat()


def pending_past_due(case: dict, today: date) -> list[dict]:
    """Services the case referred the child to, still waiting for an answer after their ``due_by``."""
    if case.get("status") == "closed":
        return []
    return [s for s in (case.get("data") or {}).get("services") or []
            if isinstance(s, dict) and s.get("response", "pending") == "pending"
            and isinstance(s.get("due_by"), str) and s["due_by"] and s["due_by"] < today.isoformat()]


def without_follow_up(case: dict, today: date, days: int) -> bool:
    """A high-risk case still open with no follow-up done in the last ``days`` days (nor since it
    opened, when it opened longer ago than that)."""
    if case.get("status") == "closed" or case.get("risk") != "high":
        return False
    since = date.fromordinal(today.toordinal() - days).isoformat()
    done = [f["done_on"] for f in (case.get("data") or {}).get("follow_ups") or []
            if isinstance(f, dict) and isinstance(f.get("done_on"), str) and f["done_on"]]
    if any(d >= since for d in done):
        return False
    return str(case.get("opened_at") or "")[:10] < since


def report(cases: Iterable[dict], today: date, month: str, follow_up_days: int) -> dict[str, Any]:
    """The coordinator's case report (programmes.md section 7) over an area's cases: new cases of
    ``month`` by source and by concern, services pending past their due date, high-risk cases
    without a recent follow-up, closures of ``month`` by reason. Counts only; ``ids`` says which
    cases make each alarm figure, for the page to name those its reader may see."""
    first, after = month_bounds(month)
    out: dict[str, Any] = {"new": 0, "by_source": {}, "by_concern": {}, "pending_services": 0,
                           "pending_cases": 0, "no_follow_up": 0, "closed": 0,
                           "by_reason": dict.fromkeys(CLOSURE_REASONS, 0),
                           "ids": {"pending": [], "no_follow_up": []}}
    for case in cases:
        data = case.get("data") if isinstance(case.get("data"), dict) else {}
        if first <= str(case.get("opened_at") or "")[:10] < after:
            out["new"] += 1
            source = data.get("source") if isinstance(data.get("source"), str) and data.get("source") else "unknown"
            out["by_source"][source] = out["by_source"].get(source, 0) + 1
            for concern in dict.fromkeys(c for c in data.get("concerns") or [] if isinstance(c, str)):
                out["by_concern"][concern] = out["by_concern"].get(concern, 0) + 1
        late = pending_past_due(case, today)
        if late:
            out["pending_services"] += len(late)
            out["pending_cases"] += 1
            out["ids"]["pending"].append(case["_id"])
        if without_follow_up(case, today, follow_up_days):
            out["no_follow_up"] += 1
            out["ids"]["no_follow_up"].append(case["_id"])
        closure = data.get("closure") if isinstance(data.get("closure"), dict) else {}
        if case.get("status") == "closed" and first <= _closed_on(case, closure) < after:
            out["closed"] += 1
            reason = closure.get("reason") if closure.get("reason") in CLOSURE_REASONS else "other"
            out["by_reason"][reason] += 1
    return out


def _closed_on(case: dict, closure: dict) -> str:
    """The closure's day: as the page wrote it, else the history's last closing (a device's edit)."""
    if isinstance(closure.get("closed_on"), str) and closure["closed_on"]:
        return closure["closed_on"][:10]
    closings = [h.get("at") for h in (case.get("data") or {}).get("history") or []
                if isinstance(h, dict) and h.get("status") == "closed" and isinstance(h.get("at"), str)]
    return closings[-1][:10] if closings else ""


def new_case(area: str, key: str, *, author: str, coordinator: str, risk: str, team: list[str] | None = None,
             referral: str | None = None, data: dict | None = None, at: str | None = None) -> dict:
    """A case as it is opened: ``open``, its first history entry saying who opened it."""
    at = at or now_iso()
    body = dict(data or {})
    body.setdefault("services", [])
    body.setdefault("follow_ups", [])
    body["history"] = [{"at": at, "by": author, "action": "opened", "status": "open", "risk": risk}]
    doc = {"_id": f"{area}:{ids.CASE}:{key}", "type": "case", "author": author, "coordinator": coordinator,
           "team": list(team or []), "status": "open", "risk": risk, "opened_at": at, "updated_at": at,
           "updated_by": author, "data": body}
    if referral:
        doc["referral"] = referral
    return doc


def changed(case: dict, by: str, action: str, *, at: str | None = None, **changes: Any) -> dict:
    """A new revision of ``case``: the clear fields in ``changes`` set, one history entry added.

    ``changes`` may name status, risk, team, coordinator (clear) and closure, follow_ups,
    services (in data); ``note`` goes into the history entry only.
    """
    at = at or now_iso()
    doc = {k: v for k, v in case.items() if k not in ("_conflicts", "_revisions")}
    data = dict(doc.get("data") or {})
    entry: dict[str, Any] = {"at": at, "by": by, "action": action}
    before = members(doc)
    for name in ("status", "risk", "team", "coordinator"):
        if name in changes:
            doc[name] = changes[name]
            entry[name] = changes[name]
    now = members(doc)
    if before - now or set(doc.get("former") or []) & now:  # whoever leaves is remembered, to be purged
        doc["former"] = sorted((set(doc.get("former") or []) | (before - now)) - now)
    for name in ("closure", "follow_ups", "services"):
        if name in changes:
            if changes[name] is None:
                data.pop(name, None)
            else:
                data[name] = changes[name]
    if changes.get("note"):
        entry["note"] = changes["note"]
    data["history"] = [*(data.get("history") or []), entry]
    doc["data"] = data
    doc["updated_at"], doc["updated_by"] = at, by
    return doc
