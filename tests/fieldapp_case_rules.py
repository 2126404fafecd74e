"""The case rules as the server answers them, for the field app to answer alike.

A worker records a follow-up visit of a child protection case on the device
(``fieldapp/src/cases.js``); the write gate checks the revision with
``sync.cases.write_denial`` and ``sync.cases.check_case`` when it is pushed,
maybe weeks later. The app checks the same rules first, so the worker learns
before the trip ends. This module lists revisions (a follow-up recorded by the
team, by someone off it, a history rewritten, dates and modes off their lists,
texts too long in code points, Python's ``==`` between JSON values...) and
writes ``fieldapp/test/case_rules.json`` with the server's answer to each:
which rule refuses it (``write_denial``) and which fields ``check_case`` finds
wrong, with the message each uses. It also writes the family assessment's
default indicator list (``programmes.family_assessment``) into
``fieldapp/src/fes_indicators.json``, which the app uses when no admin's list
is on the device:

    .venv/bin/python tests/fieldapp_case_rules.py

tests/test_fieldapp_case_rules.py checks both files are what the server says;
``fieldapp/test/cases.test.js`` checks the app gives the same answers.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from programmes import family_assessment  # noqa: E402
from sync import cases  # noqa: E402
from sync.accounts.users import User  # noqa: E402
from sync.replica.revocation import tombstone_rev  # noqa: E402

RULES = REPO / "fieldapp" / "test" / "case_rules.json"
INDICATORS = REPO / "fieldapp" / "src" / "fes_indicators.json"
WORKER = "bolormaa"
ID = "uvs-tes:case:01JDQ7Z3K8M2N4P6Q8R0S2T4V6"


def _current() -> dict:
    opened = cases.new_case("uvs-tes", ID.split(":")[2], author=WORKER, coordinator="oyunaa", risk="high",
                            team=[WORKER, "dulmaa"], referral="uvs-tes:sub:01JDQ7Z3K8M2N4P6Q8R0S2T4V6",
                            at="2026-10-12T09:00:00.000Z",
                            data={"child_name": "CP-2026-017", "concerns": ["neglect"], "narrative": "Ганцаараа."})
    planned = cases.changed(opened, "oyunaa", "follow_ups", at="2026-10-12T12:00:00.000Z", follow_ups=[
        {"due": "2026-10-20", "done_on": "2026-10-19", "mode": "visit", "notes": ""},
        {"due": "2026-11-10", "done_on": None, "mode": "phone", "notes": ""}])
    planned = cases.changed(planned, "oyunaa", "services", at="2026-10-12T13:00:00.000Z", services=[
        {"type": "police", "provider": "", "referred_at": "2026-10-12", "response": "pending", "due_by": "2026-10-26"}])
    planned["_rev"] = "3-a1b2c3"
    return planned


CURRENT = _current()


def follow_up_revision(**change: Any) -> dict:
    """The revision the app writes for a follow-up done on 2026-12-05, then ``change`` (None: take out;
    a dotted name: inside ``data``)."""
    visits = copy.deepcopy(CURRENT["data"]["follow_ups"])
    visits[1].update(done_on="2026-12-05", mode="visit", notes="Хүүхэдтэй уулзсан.")
    doc = copy.deepcopy(cases.changed(CURRENT, WORKER, "follow_up_done", at="2026-12-05T15:00:00+08:00",
                                      follow_ups=visits))
    doc["_rev"] = CURRENT["_rev"]
    for name, value in change.items():
        where, key = (doc["data"], name[5:]) if name.startswith("data_") else (doc, name)
        if value is ...:
            where.pop(key, None)
        else:
            where[key] = value
    return doc


def _with_visit(**fields: Any) -> dict:
    visit = {"due": "2026-12-05", "done_on": "2026-12-05", "mode": "visit", "notes": ""}
    for key, value in fields.items():
        if value is ...:
            visit.pop(key, None)
        else:
            visit[key] = value
    return follow_up_revision(data_follow_ups=[*follow_up_revision()["data"]["follow_ups"], visit])


def _with_service(**fields: Any) -> dict:
    service = {"type": "health", "provider": "", "referred_at": "2026-12-05", "response": "pending"}
    for key, value in fields.items():
        if value is ...:
            service.pop(key, None)
        else:
            service[key] = value
    return follow_up_revision(data_services=[*CURRENT["data"]["services"], service])


def _history(change) -> dict:
    doc = follow_up_revision()
    history = copy.deepcopy(doc["data"]["history"])
    change(history)
    doc["data"]["history"] = history
    return doc


def _status(status: str, before: str, closure: Any = ...) -> tuple[dict, dict]:
    old = dict(CURRENT, status=before)
    if before == "closed":
        old["data"] = dict(old["data"], closure={"reason": "goals_met", "note": ""})
    doc = follow_up_revision(status=status)
    doc["data"].pop("closure", None)
    if closure is not ...:
        doc["data"]["closure"] = closure
    return doc, old


def rows() -> list[tuple[str, dict, dict | None, str]]:
    """(what, revision, current revision or None, who writes it)."""
    new = {k: v for k, v in CURRENT.items() if k != "_rev"}
    astral = "\U0001D400"
    out: list[tuple[str, dict, dict | None, str]] = [
        ("a follow-up done, by the team", follow_up_revision(), CURRENT, WORKER),
        ("the same by the coordinator", follow_up_revision(), CURRENT, "oyunaa"),
        ("the same by a worker off the case", follow_up_revision(), CURRENT, "tsetseg"),
        ("the author taken off the team", follow_up_revision(team=["dulmaa"]), dict(CURRENT, team=["dulmaa"]), WORKER),
        ("a new case by its author", new, None, WORKER),
        ("a new case by someone else", new, None, "tsetseg"),
        ("a new case not open", dict(new, status="in_progress"), None, WORKER),
        ("a new case over a deleted one", new, dict(CURRENT, _deleted=True), WORKER),
        ("deleted by the team", {"_id": ID, "_rev": "3-a1b2c3", "_deleted": True}, CURRENT, WORKER),
        ("a new case deleted", {"_id": ID, "_deleted": True}, None, WORKER),
        ("_deleted [] is false in Python", follow_up_revision(_deleted=[]), CURRENT, WORKER),
        ("the author changed", follow_up_revision(author="dulmaa"), CURRENT, WORKER),
        ("the author taken out", follow_up_revision(author=...), CURRENT, WORKER),
        ("the team changed by the team", follow_up_revision(team=[WORKER]), CURRENT, WORKER),
        ("the team changed by the coordinator", follow_up_revision(team=[WORKER]), CURRENT, "oyunaa"),
        ("the team in another order", follow_up_revision(team=["dulmaa", WORKER]), CURRENT, WORKER),
        ("the coordinator changed by the team", follow_up_revision(coordinator="dulmaa"), CURRENT, WORKER),
        ("former added by the team", follow_up_revision(former=["tsetseg"]), CURRENT, WORKER),
        ("type submission", follow_up_revision(type="submission"), CURRENT, WORKER),
        ("type missing", follow_up_revision(type=...), CURRENT, WORKER),
        ("unknown fields in code-point order", follow_up_revision(**{"zeta": 1, "Alpha": 2, "\uffff": 3, "\U0001F600": 4,
                                                        "_deleted_conflicts": ["4-x"], "_local_seq": 5}), CURRENT, WORKER),
        ("risk High", follow_up_revision(risk="High"), CURRENT, WORKER),
        ("risk missing", follow_up_revision(risk=...), CURRENT, WORKER),
        ("risk null", follow_up_revision(risk=None), CURRENT, WORKER),
        ("status missing", follow_up_revision(status=...), CURRENT, WORKER),
        ("status 1", follow_up_revision(status=1), CURRENT, WORKER),
        ("coordinator upper case", follow_up_revision(coordinator="Oyunaa"), CURRENT, "oyunaa"),
        ("coordinator 64 characters", follow_up_revision(coordinator="a" * 64), CURRENT, "oyunaa"),
        ("coordinator 65 characters", follow_up_revision(coordinator="a" * 65), CURRENT, "oyunaa"),
        ("coordinator with a newline", follow_up_revision(coordinator="oyunaa\n"), CURRENT, "oyunaa"),
        ("team twice the same", follow_up_revision(team=[WORKER, WORKER]), CURRENT, "oyunaa"),
        ("team of 21", follow_up_revision(team=[f"w{n}" for n in range(21)]), CURRENT, "oyunaa"),
        ("team not a list", follow_up_revision(team="bolormaa"), CURRENT, "oyunaa"),
        ("team with a number", follow_up_revision(team=[WORKER, 7]), CURRENT, "oyunaa"),
        ("former null", follow_up_revision(former=None), CURRENT, "oyunaa"),
        ("former of 201", follow_up_revision(former=[f"w{n}" for n in range(201)]), CURRENT, "oyunaa"),
        ("data a list", follow_up_revision(data=[]), CURRENT, WORKER),
        ("data null", follow_up_revision(data=None), CURRENT, WORKER),
        ("narrative 4000 letters beyond U+FFFF", follow_up_revision(data_narrative=astral * 4000), CURRENT, WORKER),
        ("narrative 4001 letters", follow_up_revision(data_narrative="Ө" * 4001), CURRENT, WORKER),
        ("narrative a number", follow_up_revision(data_narrative=5), CURRENT, WORKER),
        ("child_name null", follow_up_revision(data_child_name=None), CURRENT, WORKER),
        ("services null", follow_up_revision(data_services=None), CURRENT, WORKER),
        ("concerns a string", follow_up_revision(data_concerns="neglect"), CURRENT, WORKER),
        ("follow_ups of 201", follow_up_revision(data_follow_ups=[{"due": "2026-12-01"}] * 201), CURRENT, WORKER),
        ("follow_ups a dict", follow_up_revision(data_follow_ups={}), CURRENT, WORKER),
        ("a service not an object", follow_up_revision(data_services=["police"]), CURRENT, WORKER),
        ("a service of no known type", _with_service(type="shelter"), CURRENT, WORKER),
        ("a service without a response", _with_service(response=...), CURRENT, WORKER),
        ("a service with response null", _with_service(response=None), CURRENT, WORKER),
        ("a service referred_at empty", _with_service(referred_at=""), CURRENT, WORKER),
        ("a service due 30 February", _with_service(due_by="2026-02-30"), CURRENT, WORKER),
        ("a service provider null", _with_service(provider=None), CURRENT, WORKER),
        ("a service without a provider", _with_service(provider=...), CURRENT, WORKER),
        ("a visit without due", _with_visit(due=...), CURRENT, WORKER),
        ("a visit due empty", _with_visit(due=""), CURRENT, WORKER),
        ("a visit due null", _with_visit(due=None), CURRENT, WORKER),
        ("a visit done_on null", _with_visit(done_on=None), CURRENT, WORKER),
        ("a visit done_on empty", _with_visit(done_on=""), CURRENT, WORKER),
        ("a visit done_on 0", _with_visit(done_on=0), CURRENT, WORKER),
        ("a visit done_on false", _with_visit(done_on=False), CURRENT, WORKER),
        ("a visit done_on with a newline", _with_visit(done_on="2026-12-05\n"), CURRENT, WORKER),
        ("a visit done_on in Mongolian digits", _with_visit(done_on="᠒᠐᠒᠖-᠑᠒-᠐᠕"), CURRENT, WORKER),
        ("a visit done on a leap day", _with_visit(done_on="2024-02-29"), CURRENT, WORKER),
        ("a visit done 29 February 2026", _with_visit(done_on="2026-02-29"), CURRENT, WORKER),
        ("a visit due year 0", _with_visit(due="0000-01-01"), CURRENT, WORKER),
        ("a visit without a mode", _with_visit(mode=...), CURRENT, WORKER),
        ("a visit by Visit", _with_visit(mode="Visit"), CURRENT, WORKER),
        ("a visit by sms", _with_visit(mode="sms"), CURRENT, WORKER),
        ("a visit mode null", _with_visit(mode=None), CURRENT, WORKER),
        ("a visit without notes", _with_visit(notes=...), CURRENT, WORKER),
        ("a visit notes null", _with_visit(notes=None), CURRENT, WORKER),
        ("a visit notes 4000 letters beyond U+FFFF", _with_visit(notes=astral * 4000), CURRENT, WORKER),
        ("a visit notes 4001 letters", _with_visit(notes="a" * 4001), CURRENT, WORKER),
        ("a visit not an object", follow_up_revision(data_follow_ups=[*CURRENT["data"]["follow_ups"], "2026-12-05"]), CURRENT,
         WORKER),
        ("history: an entry rewritten", _history(lambda h: h[0].update(by="dulmaa")), CURRENT, WORKER),
        ("history: an entry taken out", _history(lambda h: h.pop(0)), CURRENT, WORKER),
        ("history: an entry added between", _history(lambda h: h.insert(1, {"at": "x"})), CURRENT, WORKER),
        ("history: keys in another order", _history(lambda h: h.__setitem__(0, dict(reversed(h[0].items())))),
         CURRENT, WORKER),
        ("history: null", follow_up_revision(data_history=None), CURRENT, WORKER),
        ("history: empty", follow_up_revision(data_history=[]), CURRENT, WORKER),
        ("history: a string", follow_up_revision(data_history="x"), CURRENT, WORKER),
        ("history: 1000 entries", follow_up_revision(data_history=[*CURRENT["data"]["history"], *[{"n": 1}] * 997]), CURRENT,
         WORKER),
        ("history: 1001 entries", follow_up_revision(data_history=[*CURRENT["data"]["history"], *[{"n": 1}] * 998]), CURRENT,
         WORKER),
    ]
    # Python's == between JSON values: True == 1 and 1 == 1.0.
    old = copy.deepcopy(CURRENT)
    old["data"]["history"][0]["risk_score"] = 1
    doc = follow_up_revision()
    doc["data"]["history"][0]["risk_score"] = True
    out.append(("history: 1 kept as true (equal in Python)", doc, old, WORKER))
    doc = follow_up_revision()
    doc["data"]["history"][0]["risk_score"] = 1.5
    out.append(("history: 1 changed to 1.5", doc, old, WORKER))
    doc = follow_up_revision()
    doc["data"]["history"][0]["risk_score"] = "1"
    out.append(("history: 1 changed to '1'", doc, old, WORKER))
    for status, before, closure, what in [
        ("in_progress", "open", ..., "open to in_progress"), ("closed", "open", {"reason": "moved"}, "open to closed"),
        ("open", "in_progress", ..., "in_progress back to open"), ("open", "closed", ..., "closed reopened"),
        ("in_progress", "closed", ..., "closed to in_progress"), ("closed", "open", ..., "closed without a closure"),
        ("closed", "open", {"reason": "lost"}, "closed for no known reason"),
        ("closed", "open", {"reason": "goals_met", "note": None}, "closed with a note null"),
        ("closed", "open", [], "closed with a closure list"),
        ("open", "open", {"reason": "moved"}, "open with a closure"), ("open", "open", {}, "open with closure {}"),
        ("open", "open", None, "open with closure null"), ("open", "open", [], "open with closure []"),
        ("open", "open", "", "open with closure ''"), ("open", "open", 0, "open with closure 0"),
    ]:
        doc, old = _status(status, before, closure)
        out.append((f"status: {what}", doc, dict(old, status=before), "oyunaa"))
    return out


def build() -> dict:
    found = []
    real = cases.message

    def recording(key: str, **params: Any):
        found.append(key)
        return real(key, **params)

    out = []
    with mock.patch.object(cases, "message", recording):
        for what, doc, existing, user in rows():
            found.clear()
            denial = cases.write_denial(User(name=user, role="worker", areas=["uvs-tes"]), doc, existing)
            denied = found[0] if denial is not None else None
            found.clear()
            problems = cases.check_case(doc, existing)
            out.append({"what": what, "user": user, "doc": doc, "existing": existing, "denial": denied,
                        "problems": [[p["field"], key] for p, key in zip(problems, found, strict=True)]})
    # The deleted revision a device taken off the case receives (the app recognises it by its id).
    return {"cases": out, "tombstone": tombstone_rev(ID, CURRENT["_rev"])}


def render(rules: dict) -> str:
    """One case a line, so a change of a rule shows as the lines of the cases it changes."""
    lines = ",\n".join(f"  {json.dumps(c, ensure_ascii=True)}" for c in rules["cases"])
    return f'{{"cases": [\n{lines}\n],\n "tombstone": {json.dumps(rules["tombstone"])}}}\n'


def render_indicators() -> str:
    return json.dumps(family_assessment.default_indicators(), ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":
    RULES.write_text(render(build()), encoding="utf-8")
    INDICATORS.write_text(render_indicators(), encoding="utf-8")
    print(f"{RULES.relative_to(REPO)}: {len(build()['cases'])} cases; {INDICATORS.relative_to(REPO)}")
