"""``?as_of=YYYY-MM-DD``: the day a report is read as of (today when not given).

Shared by the soum report, the case counts, WASH and the scorecards, so a bad
day answers the same 400 in the page's language everywhere: not a date, a day
still to come, or one older than the report index keeps (``sync.reports``).
"""

from __future__ import annotations

import re
from datetime import date

from flask import request
from flask_babel import gettext as _

from sync.errors import BadRequest
from sync.reports import earliest_as_of

DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")


def as_of(today: date | None = None) -> date:
    """The requested day, checked; today when the parameter is absent or empty."""
    today = today or date.today()
    raw = (request.args.get("as_of") or "").strip()
    if not raw:
        return today
    try:
        if not DAY_RE.match(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(_("Write the day of the report as YYYY-MM-DD.")) from None
    if day > today:
        raise BadRequest(_("A report cannot be read as of a day still to come (%(day)s); today is %(today)s.",
                           day=day.isoformat(), today=today.isoformat()))
    first = earliest_as_of(today)
    if day < first:
        raise BadRequest(_("A report goes back to %(first)s at the earliest.", first=first.isoformat()))
    return day
