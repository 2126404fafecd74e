"""Demo child protection cases, so the cases page and its counts are filled in.

Each case is opened from one of the soum's seeded ``child_protection_referral``
submissions, by its author, with the soum's coordinator assigned. In
Kharkhorin, where two workers share the soum, tsetseg's high-risk case has
batbold on its team and her closed one does not: the page and the replicas
show who sees which.
Dates are fixed (not today's), so a second run writes nothing new; follow-ups
due in November 2026 are overdue from then on.
"""

from __future__ import annotations

from datetime import date, timedelta

from sync import cases, ids
from sync.accounts.users import User
from sync.docs import check_doc
from sync.errors import NotFound
from sync.referral_cases import case_data
from sync.stores.base import Store

PLANS = [
    # risk, status after the steps, services, follow-ups (due, done on), team beyond the author, closure
    ("high", "in_progress", [("police", "accepted"), ("health", "implemented")],
     [("2026-10-20", "2026-10-19"), ("2026-11-10", None), ("2027-01-15", None)], ["batbold"], None),
    ("low", "closed", [("social_welfare", "implemented")], [("2026-10-28", "2026-10-27")], [], "goals_met"),
    ("medium", "open", [("psychosocial", "pending")], [("2026-11-25", None)], [], None),
]


def seed_cases(store: Store, tree, users: list[User], demo_ulid=None) -> int:
    """Open up to three cases per soum from its referrals; returns how many were written.

    ``demo_ulid`` is no longer used: a case's id is its referral's key, as the gate gives it."""
    written = 0
    for code in tree.data_scopes():
        coordinator = next((u.name for u in users if u.role == "coordinator" and code in tree.data_scopes(u.areas)),
                           None)
        if coordinator is None or not store.exists(code):
            continue
        db = store.open(code)
        prefix = f"{code}:{ids.SUBMISSION}:"
        referrals = [r["doc"] for r in db.all_docs(startkey=prefix, endkey=prefix + "\ufff0", include_docs=True)
                     if r["doc"].get("form") == "child_protection_referral"]
        docs = []
        for referral, plan in zip(referrals, PLANS, strict=False):
            # The id the gate gives a referral's case (sync.referral_cases): never a second one.
            steps = _case(code, referral, coordinator, plan, ids.parse_doc_id(referral["_id"]).key, users, tree)
            doc = steps[-1]
            try:
                db.get(doc["_id"])
                continue  # seeded before
            except NotFound:
                pass
            # The demo holds only what the write gate would accept, step by step.
            problems = [p for before, after in zip([None, *steps], steps, strict=False)
                        for p in cases.check_case(after, before)]
            if problems:
                raise ValueError(f"demo case {doc['_id']} is invalid: {problems}")
            docs.append(check_doc(doc, new_edits=True))
        written += sum(1 for r in db.bulk_docs(docs) if "rev" in r) if docs else 0
    return written


def _case(code: str, referral: dict, coordinator: str, plan: tuple, key: str, users: list[User],
          tree) -> list[dict]:
    """The case's revisions as its team would have written them, one step each."""
    risk, status, services, follow_ups, team, closure = plan
    answers = referral["data"]
    author = referral["author"]
    # Only users working in the soum join its team (the cases page allows no one else either).
    local = {u.name for u in users if u.role != "admin" and code in tree.data_scopes(u.areas)}
    team = [author, *(t for t in team if t in local and t != author)]
    opened = answers["referral_time"][:10]
    steps = [cases.new_case(code, key, author=author, coordinator=coordinator, risk=risk, team=[author],
                          referral=referral["_id"], at=f"{opened}T09:00:00.000Z",
                          data=case_data(answers))]
    if team != [author]:
        steps.append(cases.changed(steps[-1], coordinator, "team", team=team, at=f"{opened}T10:00:00.000Z"))
    steps.append(cases.changed(steps[-1], author, "services", at=f"{opened}T11:00:00.000Z", services=[
        # A service still waiting for its answer was due two weeks after the referral (the report counts it).
        {"type": t, "provider": "", "referred_at": opened, "response": r,
         **({"due_by": (date.fromisoformat(opened) + timedelta(days=14)).isoformat()} if r == "pending" else {})}
        for t, r in services]))
    steps.append(cases.changed(steps[-1], author, "follow_ups", at=f"{opened}T12:00:00.000Z", follow_ups=[
        {"due": due, "done_on": done, "mode": "visit", "notes": ""} for due, done in follow_ups]))
    if status in ("in_progress", "closed"):
        steps.append(cases.changed(steps[-1], coordinator, "status", status="in_progress",
                                   at="2026-10-21T09:00:00.000Z"))
    if status == "closed":
        steps.append(cases.changed(steps[-1], coordinator, "status", status="closed", at="2026-11-02T09:00:00.000Z",
                                   closure={"reason": closure, "note": "", "closed_on": "2026-11-02"}))
    return steps
