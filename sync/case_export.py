"""A de-identified table of child protection cases: one row per case, for coordinators and admins.

The soum report already counts every case of a soum for every coordinator of
it (``sync.cases.counts``, ``report``); this is the same population as rows, so
that a coordinator can count what the report does not (by bag, by age band,
services by type) in a spreadsheet. It therefore lists every case of the
soums the reader coordinates, whether or not the reader is on the case: a row
says nothing a count over the soum would not, once the case cannot be named.

What a row never holds: the child's name or case code, the narrative, the
safety action, who reported (beyond the kind of source), contacts, providers,
notes, any free text (``concern_other``, follow-up notes, closure notes), the
document id, the referral's id, the author or team, any date of birth. The
child appears as sex and an age band at opening (the referral's age in whole
years); dates are reduced to days open and the day of the last follow-up.

The case's id in the table is a pseudonym: an HMAC of the case's document id
under a key derived from the server's secret (``FIELDSYNC_SECRET_KEY`` or the
store's signing key), so it is the same in every export of the same server
(rows can be followed from one month's table to the next) and nobody without
that secret can go from a row back to the case, or from a case to its row.

Left to do (docs/design.md): small-cell suppression. In a bag with few cases a
row's bag, sex, age band and concerns may single a child out to someone who
knows the bag; the export is only for those who coordinate the soum, and each
download is in the audit trail.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sync import cases, ids
from sync.referral_cases import referral_of_case
from sync.stores.base import Store

COLUMNS = ["case", "soum", "bag", "child_sex", "age_band", "risk", "status", "concerns", "source", "services",
           "services_pending_overdue", "follow_ups_done", "follow_ups_open", "follow_ups_overdue", "last_follow_up",
           "days_open", "closure_reason"]
AGE_BANDS = ((0, 4), (5, 9), (10, 14), (15, 17))  # whole years at the referral; 18 and over: "18+"
SEXES = ("girl", "boy")
SOURCES = ("police", "social_worker", "health", "school", "mdt", "one_stop", "self", "family", "neighbour",
           "teacher", "worker", "other")
CONCERNS = ("neglect", "physical", "sexual", "emotional", "labour", "out_of_school", "alone", "other")
_KEY_LABEL = b"fieldsync-case-export-pseudonym"


def pseudonym_key(secret: str | bytes) -> bytes:
    """The key of the pseudonyms, derived from the server's secret (never the secret itself)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, _KEY_LABEL, hashlib.sha256).digest()


def pseudonym(key: bytes, case_docid: str) -> str:
    """``CP-`` and 16 base32 characters (80 bits) of an HMAC of the case's id: stable, not reversible."""
    digest = hmac.new(key, case_docid.encode(), hashlib.sha256).digest()
    return "CP-" + base64.b32encode(digest[:10]).decode()


def age_band(age: Any) -> str:
    if isinstance(age, bool) or not isinstance(age, int | float) or age < 0:
        return ""
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}-{high}"
    return "18+"


def _days(first: str, last: str) -> int | str:
    try:
        return (date.fromisoformat(last[:10]) - date.fromisoformat(first[:10])).days
    except (TypeError, ValueError):
        return ""


# A bag as soums number them ("3-р баг", "bag 3"). The referral's `bag` is a free text answer, so
# anything else (a bag's own name, or an address typed there) is "other": no typed text is exported.
_BAG = re.compile(r"\d{1,2}\s*(?:-?\s*(?:р|r|th|st|nd|rd))?\s*(?:баг|bag)|(?:баг|bag)\s*\d{1,2}", re.IGNORECASE)


def bag(value: Any) -> str:
    """The referral's bag when it reads as a numbered bag, "other" for any other text, "" for none."""
    if not isinstance(value, str) or not value.strip():
        return ""
    value = " ".join(value.split())
    return value if _BAG.fullmatch(value) else "other"


def _coded(value: Any, allowed: tuple[str, ...]) -> str:
    """A value from its list, else ``other``: a device's free text never slips into a coded column."""
    if not isinstance(value, str) or not value:
        return ""
    return value if value in allowed else "other"


def row(case: dict, referral: dict | None, key: bytes, today: date) -> list:
    """One case as its de-identified row (``COLUMNS``)."""
    data = case.get("data") if isinstance(case.get("data"), dict) else {}
    answers = (referral or {}).get("data") if isinstance((referral or {}).get("data"), dict) else {}
    parsed = ids.parse_doc_id(case["_id"])
    closed = case.get("status") == "closed"
    closure = data.get("closure") if isinstance(data.get("closure"), dict) else {}
    services = [s for s in data.get("services") or [] if isinstance(s, dict)]
    late = {id(s) for s in cases.pending_past_due(case, today)}
    described = []
    for s in services:
        parts = [_coded(s.get("type"), cases.SERVICE_TYPES), _coded(s.get("response", "pending"), cases.RESPONSES)]
        if isinstance(s.get("due_by"), str) and cases.DATE_RE.match(s["due_by"]):
            parts.append(f"due {s['due_by']}")
        if id(s) in late:
            parts.append("overdue")
        described.append(":".join(parts))
    follow_ups = [f for f in data.get("follow_ups") or [] if isinstance(f, dict)]
    done = sorted(f["done_on"] for f in follow_ups
                  if isinstance(f.get("done_on"), str) and cases.DATE_RE.match(f["done_on"]))
    opened = str(case.get("opened_at") or "")[:10]
    ended = cases._closed_on(case, closure) if closed else today.isoformat()
    concerns = dict.fromkeys(_coded(c, CONCERNS) for c in data.get("concerns") or [] if isinstance(c, str))
    return [
        pseudonym(key, case["_id"]),
        parsed.scope if parsed else "",
        bag(answers.get("bag")),
        _coded(answers.get("child_sex"), SEXES),
        age_band(answers.get("child_age")),
        case.get("risk") if case.get("risk") in cases.RISKS else "",
        case.get("status") if case.get("status") in cases.STATUSES else "",
        ";".join(c for c in concerns if c),
        _coded(data.get("source"), SOURCES),
        "; ".join(described),
        len(late),
        len(done),
        sum(1 for f in follow_ups if not f.get("done_on")),
        len(cases.overdue(case, today)),
        done[-1] if done else "",
        _days(opened, ended) if opened and ended else "",
        _coded(closure.get("reason"), cases.CLOSURE_REASONS) if closed else "",
    ]


def rows(store: Store, areas: Iterable[str], key: bytes, today: date) -> Iterator[list]:
    """Every case of ``areas`` as its row, area by area (oldest case first); each case's referral
    (for the child's sex and age, and the bag) read beside it in one request per area."""
    for area in areas:
        if not store.exists(area):
            continue
        db = store.open(area)
        found = sorted(cases.area_cases(db), key=lambda c: c["_id"])
        wanted = {c["_id"]: c.get("referral") if isinstance(c.get("referral"), str) else referral_of_case(c["_id"])
                  for c in found}
        keys = sorted({r for r in wanted.values() if r})
        referrals = {r["key"]: r.get("doc") for r in db.all_docs(keys=keys, include_docs=True)} if keys else {}
        for case in found:
            referral = referrals.get(wanted[case["_id"]])
            yield row(case, referral if isinstance(referral, dict) and not referral.get("_deleted") else None,
                      key, today)
