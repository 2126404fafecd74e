"""The de-identified case export over HTTP, shared by ``/api/case-exports`` and the export page.

Who may take it: coordinators (the soums they coordinate) and admins (every
soum); an area outside them answers as a missing one does (404), as for the
other exports. It lists every case of those soums, whether or not the reader is
on it: the rows hold nothing the soum report's counts do not, once the case has
a pseudonym instead of its id (``sync.case_export``). Only ``format`` and
``area`` apply; any other export parameter is a 400 naming it, rather than a
filter silently not applied. The download is in the audit trail, once per
area, before the first byte goes out.
"""

from __future__ import annotations

from datetime import date

from flask import Response

from sync.accounts.users import User
from sync.case_export import COLUMNS, pseudonym_key, rows
from sync.export_query import Params, bad

from .exports import scopes_for
from .services import services
from .web.table_download import table_response

NOT_APPLICABLE = ("version", "from", "to", "state", "labels", "photos")


def check_applicable(present: list[str]) -> None:
    """A 400 for the first export parameter that means nothing to the case export."""
    for name in NOT_APPLICABLE:
        if name in present:
            raise bad(name, "does not apply to the case export (only format and area do).",
                      "тохиолдлын экспортод хамаарахгүй (зөвхөн format, area хамаарна).")


def download(user: User, params: Params) -> Response:
    """The table as CSV or XLSX, after the export is in the audit trail."""
    svc = services()
    scopes = scopes_for(user, params)
    today = date.today()
    table = list(rows(svc.store, scopes, pseudonym_key(svc.settings.secret_key), today))
    for scope in scopes or [None]:
        svc.audit.record(actor=user.name, action="export.downloaded", scope=scope, form=None,
                         export="cases_deidentified", format=params.fmt, areas=scopes, rows=len(table))
    response = table_response(f"cases-deidentified-{today.isoformat()}", COLUMNS, table, params.fmt)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
