"""Reading the audit trail page by page: by area, by time, by who and what.

The trail can grow without end, so nothing here reads it through. Entry ids
end in a ULID, whose first ten characters are the time in milliseconds, so an
area's entries of a date range are one key range of ``<area>:``, and all
entries of a range one key range of ``~all:`` (``sync.audit``). A page walks
that range newest first; who and what are checked on the rows read, at most
``budget`` rows a page: a page that runs out of budget says how far back it
searched and continues from there, as the submissions list does.

A coordinator's several areas are several ranges merged by their ULIDs (each
read a page's worth at a time), never the ``~all:`` copy, which holds every
area's entries.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sync.audit import ALL, Audit
from sync.errors import BadRequest

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_CHARS = 26  # a ULID
CHUNK = 200  # rows read from the store at once


def time_key(moment: datetime) -> str:
    """The first ten ULID characters of ``moment`` (every entry made from then on sorts after)."""
    ms = max(0, int(moment.timestamp() * 1000))
    out = []
    for _ in range(10):
        ms, rest = divmod(ms, 32)
        out.append(CROCKFORD[rest])
    return "".join(reversed(out))


def parse_day(raw: str | None, what: str) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{what} must be a date (YYYY-MM-DD)") from None


@dataclass
class AuditFilter:
    actor: str | None = None  # exactly this user name
    action: str | None = None  # an action (``user.changed``) or its kind (``user``)
    day_from: date | None = None  # inclusive, UTC
    day_to: date | None = None  # inclusive, UTC

    def accepts(self, entry: dict) -> bool:
        if self.actor and entry.get("actor") != self.actor:
            return False
        if self.action:
            action = entry.get("action") or ""
            if action != self.action and not action.startswith(self.action + "."):
                return False
        return True

    def key_range(self) -> tuple[str, str]:
        """(lowest, highest) ULID prefix of the dates, highest exclusive."""
        low = time_key(_midnight(self.day_from)) if self.day_from else ""
        high = time_key(_midnight(self.day_to + timedelta(days=1))) if self.day_to else "\uffff"
        return low, high


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class AuditPage:
    entries: list[dict]
    before: str | None = None  # the ULID to continue from (None: nothing older matches)
    searched_to: str | None = None  # the budget ran out at this entry's time
    scanned: int = 0


def key_of(entry_id: str) -> str:
    return entry_id.rsplit(":", 1)[-1]


def _range(audit: Audit, prefix: str, low: str, high: str) -> Iterator[dict]:
    """Entries of ``prefix`` with ULIDs in [low, high), newest first, read a chunk at a time."""
    db = audit.db()
    start, skip_first = prefix + high, False
    end = prefix + low
    while True:
        rows = list(db.all_docs(startkey=start, endkey=end, descending=True, include_docs=True,
                                limit=CHUNK + (1 if skip_first else 0)))
        if skip_first and rows and rows[0]["id"] == start:
            rows = rows[1:]
        for row in rows:
            doc = row.get("doc")
            if doc and row["id"] != prefix + high:
                yield doc
        if len(rows) < CHUNK:
            return
        start, skip_first = rows[-1]["id"], True


def matching(audit: Audit, scopes: list[str] | None, filt: AuditFilter,
             before: str | None = None) -> Iterator[dict]:
    """Every entry of ``scopes`` (None: all) older than ``before``, newest first, unfiltered
    by who and what (the caller counts what it reads)."""
    low, high = filt.key_range()
    if before:
        high = min(high, before)
    if scopes is None:
        return _range(audit, f"{ALL}:", low, high)
    streams = [_range(audit, f"{scope}:", low, high) for scope in sorted(set(scopes))]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=lambda e: key_of(e["_id"]), reverse=True)


def page(audit: Audit, scopes: list[str] | None, filt: AuditFilter, *, before: str | None = None,
         limit: int = 50, budget: int = 2000) -> AuditPage:
    """One page of the entries that pass ``filt``, newest first."""
    if before is not None and (len(before) != KEY_CHARS or any(c not in CROCKFORD for c in before)):
        raise BadRequest("the page position is not valid")
    out: list[dict] = []
    scanned = 0
    for entry in matching(audit, scopes, filt, before):
        scanned += 1
        if filt.accepts(entry):
            out.append(entry)
            if len(out) > limit:
                out.pop()
                return AuditPage(out, key_of(out[-1]["_id"]), scanned=scanned)
        if scanned >= budget:
            return AuditPage(out, key_of(entry["_id"]), searched_to=entry.get("at"), scanned=scanned)
    return AuditPage(out, None, scanned=scanned)


def stream(audit: Audit, scopes: list[str] | None, filt: AuditFilter) -> Iterator[dict]:
    """Every entry that passes ``filt``, newest first, read a chunk at a time (the CSV download)."""
    for entry in matching(audit, scopes, filt):
        if filt.accepts(entry):
            yield entry
