"""A child protection referral opens its case as soon as the server accepts it.

Where this runs, and why there: the write gate calls ``after_write`` once a
batch's documents are stored, as it does for ``sync.derived``. Every accepted
revision passes the gate, whichever way it came (``/sync/<user>``,
``/db/<area>`` ``_bulk_docs``, the API), on either store, on whichever gunicorn
worker took the request; and the case exists by the time the device's push
is answered, so the worker's next pull brings it back and the coordinator's
replica never holds a referral whose case is still to come. The reports
follower (``sync.reports``) was the other candidate: it reads an area's feed
only when someone asks for a report, one app server at a time under a lease,
so a case would open whenever a coordinator happened to look, and nothing
would open it in an area nobody reports on.

Once, whatever the concurrency: the case's id is the referral's key in the
``case`` kind (``<area>:case:<referral key>``, ``case_id``), so two app
servers (or a device re-sending its push) that open the same case at once
meet at the store's revision check, which keeps one; the other gets a
``conflict``, which means "opened already". That check is the only thing
relied on, and SQLite and CouchDB (one node or a cluster) both make it. A
referral opened by hand before this existed (``/web/cases``, under another
key) is found by its ``referral`` field and not opened again. An edit of the
referral leaves its case alone: the case is the team's from the moment it
opens (they may have changed its risk or closed it).

What the case takes from the referral: its author is the referral's author (the
case worker, who sees it on the device); the coordinator is the one assigned
to the soum itself before one assigned to its aimag, then the one already
coordinating most of the soum's open cases, then the longest-standing account,
then by name (``coordinator_for``):
the soum has no setting naming its case coordinator yet, and a chosen
coordinator can hand the case on from its page. Risk follows the referral's
urgency (immediate danger or a child not safe tonight: high; 72 hours:
medium; routine: low). The answers the team needs (case code, concerns,
summary, safety action, who raised it) go into the case's ``data``, which the
encrypted store seals like the referral's.

Failing here never fails the write: the referral is stored, the cases page
lists referrals without a case, and opening one there uses the same id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sync import cases, ids
from sync.accounts.users import User
from sync.clock import now_iso
from sync.docs import check_doc
from sync.stores.base import Database

log = logging.getLogger("fieldsync.cases")
REFERRAL_FORM = "child_protection_referral"
RISK_OF_URGENCY = {"immediate": "high", "72h": "medium", "routine": "low"}


def case_id(referral_id: str) -> str | None:
    """``<area>:case:<key>`` of the referral ``<area>:sub:<key>``; None for any other id."""
    parsed = ids.parse_doc_id(referral_id)
    if parsed is None or parsed.kind != ids.SUBMISSION:
        return None
    return f"{parsed.scope}:{ids.CASE}:{parsed.key}"


def is_referral(doc: dict | None) -> bool:
    return isinstance(doc, dict) and doc.get("form") == REFERRAL_FORM and case_id(doc.get("_id", "")) is not None


def risk_of(answers: dict) -> str:
    if answers.get("safe_now") == "no":
        return "high"
    return RISK_OF_URGENCY.get(answers.get("urgency"), "medium")


def case_data(answers: dict) -> dict[str, Any]:
    """What of the referral's answers the team works from (the rest stays in the referral)."""
    def text(name: str) -> str:
        value = answers.get(name)
        return value[:cases.MAX_TEXT] if isinstance(value, str) else ""

    concerns = answers.get("concerns")
    data: dict[str, Any] = {
        "child_name": text("case_code"),
        "concerns": [c for c in concerns if isinstance(c, str)][:cases.MAX_ITEMS] if isinstance(concerns, list) else [],
        "narrative": text("summary"),
        "source": text("reported_by"),
        "urgency": text("urgency"),
    }
    if text("concern_other"):
        data["concern_other"] = text("concern_other")
    if text("safety_action"):
        data["safety_action"] = text("safety_action")
    return data


def coordinator_for(area: str, accounts: Iterable[dict], scopes_of: Callable[[User], list[str]],
                    existing: Iterable[dict] = ()) -> str | None:
    """The coordinator a new case of ``area`` is given (see the module docstring); None: nobody.

    ``accounts`` are the user documents (``_users``): their ``created_at`` says who has
    coordinated longest, the last tie-break before the name."""
    load: dict[str, int] = {}
    for case in existing:
        if case.get("status") != "closed" and isinstance(case.get("coordinator"), str):
            load[case["coordinator"]] = load.get(case["coordinator"], 0) + 1
    found = []
    for doc in accounts:
        if doc.get("role") != "coordinator" or doc.get("disabled") or not isinstance(doc.get("name"), str):
            continue
        who = User(doc["name"], "coordinator", tuple(doc.get("areas") or ()))
        if area in scopes_of(who):
            found.append((area not in who.areas, -load.get(who.name, 0), str(doc.get("created_at") or ""), who.name))
    return min(found)[-1] if found else None


def case_from(referral: dict, coordinator: str | None, at: str | None = None) -> dict:
    """The case a referral opens (its first revision)."""
    parsed = ids.parse_doc_id(referral["_id"])
    author = referral["author"]
    answers = referral.get("data") if isinstance(referral.get("data"), dict) else {}
    return cases.new_case(parsed.scope, parsed.key, author=author, coordinator=coordinator or author,
                          risk=risk_of(answers), team=[author], referral=referral["_id"],
                          data=case_data(answers), at=at or now_iso())


class ReferralCases:
    """Opens the case of each referral the gate stored (``Services.build`` gives it the user documents)."""

    def __init__(self, accounts: Callable[[], Iterable[dict]], scopes_of: Callable[[User], list[str]]) -> None:
        self.accounts = accounts
        self.scopes_of = scopes_of

    def after_write(self, db: Database, docs: list[dict], stored: list[dict]) -> None:
        """The gate's step after ``db.bulk_docs(docs)`` answered ``stored``; never raises."""
        failed = {r.get("id") for r in stored if "error" in r}
        wanted = [d["_id"] for d in docs if is_referral(d) and not d.get("_deleted") and d["_id"] not in failed]
        if wanted:
            self.open_quietly(db, wanted)

    def open_quietly(self, db: Database, referral_ids: Iterable[str]) -> list[str]:
        """``open`` for a write that bypassed the gate (a quarantine release) too; never raises."""
        try:
            return self.open(db, referral_ids)
        except Exception:  # the referral is stored; the cases page opens its case by hand
            log.exception("could not open the cases of referrals in %s", db.name)
            return []

    def open(self, db: Database, referral_ids: Iterable[str]) -> list[str]:
        """Open the case of each referral that has none; returns the ids of the cases opened here."""
        wanted = list(dict.fromkeys(r for r in referral_ids if case_id(r)))
        if not wanted:
            return []
        found: dict[str, dict | None] = {}
        for row in db.all_docs(keys=[*wanted, *(case_id(r) for r in wanted)], include_docs=True):
            found[row["key"]] = row.get("doc")
        todo = [r for r in wanted if found.get(case_id(r)) is None and is_referral(found.get(r))
                and isinstance(found[r].get("author"), str)]
        if not todo:
            return []
        existing = cases.area_cases(db)  # cases opened by hand, under other keys, and who coordinates
        named = {c.get("referral") for c in existing}
        todo = [r for r in todo if r not in named]
        if not todo:
            return []
        coordinator = coordinator_for(db.name, self.accounts(), self.scopes_of, existing)
        docs = []
        for rid in todo:
            case = case_from(found[rid], coordinator)
            problems = cases.check_case(case, None)
            if problems:  # never expected: the referral passed its form; logged, not written
                log.error("the case of %s would be invalid: %s", rid, problems)
                continue
            docs.append(check_doc(case, new_edits=True))
        opened = []
        for doc, result in zip(docs, db.bulk_docs(docs, new_edits=True) if docs else [], strict=True):
            if "error" not in result:
                opened.append(doc["_id"])
            elif result["error"] != "conflict":  # conflict: another app server opened it meanwhile
                log.error("could not open case %s: %s", doc["_id"], result)
        return opened


def need_to_know(user: User, docid: str, doc: dict | None, read: Callable[[str], dict | None]) -> bool:
    """Whether ``user``, whom ``Access.visible`` lets see this document, may see it as a referral.

    A referral holds what its case holds (the child, the concern, the summary)
    and more (where the child is, the contacts). Today's rule for sensitive
    forms lets every coordinator of the soum read it, which would undo the
    case's need to know: so once its case is open, a referral is seen by its
    author and that case's author, coordinator and team (and admins), as the
    case is. Without a case (one stored before cases opened themselves, or
    whose opening failed) the old rule stands, so that a coordinator can open
    its case from the cases page. ``read(case id)`` gives the case's winning
    revision, or None.
    """
    if (user.is_admin or not isinstance(doc, dict) or doc.get("form") != REFERRAL_FORM or doc.get("_deleted")
            or doc.get("author") == user.name):
        return True
    cid = case_id(docid)
    if cid is None:
        return True
    case = read(cid)
    if case is None or case.get("_deleted"):
        return True
    return user.name in cases.members(case)


def referral_about(docid: str, doc: dict | None) -> tuple[str, Any] | None:
    """``(referral id, its author)`` when ``doc`` is a referral, or the review or derived document
    of one (their ``form`` and ``submission_author`` say so, as the gate checks); None otherwise.

    What a referral tells, its review and its derived values tell too (the reviewer's comments
    quote it): all three are seen exactly as the referral is."""
    if not isinstance(doc, dict) or doc.get("form") != REFERRAL_FORM:
        return None
    parsed = ids.parse_doc_id(docid)
    if parsed is None:
        return None
    if parsed.kind == ids.SUBMISSION:
        return docid, doc.get("author")
    if parsed.kind in (ids.REVIEW, ids.DERIVED):
        return f"{parsed.scope}:{ids.SUBMISSION}:{parsed.key}", doc.get("submission_author")
    return None


def may_read(user: User, docid: str, doc: dict | None, read: Callable[[str], dict | None]) -> bool:
    """Whether ``user``, who coordinates the document's area, may read it past the area rule:
    a case only by its people, a referral (its review, its derived values) as its case is.

    For the pages and endpoints that show any document of an area (the conflicts), so that
    they keep the need to know the submission pages and the replicas keep."""
    parsed = ids.parse_doc_id(docid)
    if parsed is not None and parsed.kind == ids.CASE:
        return cases.may_see(user, doc)
    about = referral_about(docid, doc)
    if about is None:
        return True
    referral, author = about
    return need_to_know(user, referral, {"form": REFERRAL_FORM, "author": author}, read)


def family(referral_id: str) -> list[str]:
    """The referral and the documents beside it that tell what it tells: its review, its derived values."""
    parsed = ids.parse_doc_id(referral_id)
    if parsed is None or parsed.kind != ids.SUBMISSION:
        return []
    return [referral_id, f"{parsed.scope}:{ids.REVIEW}:{parsed.key}", f"{parsed.scope}:{ids.DERIVED}:{parsed.key}"]


def referral_of_case(case_docid: str) -> str | None:
    """The referral whose case this is by its key (``case_id``'s inverse); None for another id."""
    parsed = ids.parse_doc_id(case_docid)
    if parsed is None or parsed.kind != ids.CASE:
        return None
    return f"{parsed.scope}:{ids.SUBMISSION}:{parsed.key}"
