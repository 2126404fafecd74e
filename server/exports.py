"""An export download over HTTP, shared by ``/api/exports`` and the export page.

Who may export what is decided here once: admins any area, coordinators the
areas they coordinate (an area outside them answers as a missing one does),
versions not yet published only for admins. Each export is written to the
audit trail before the first byte goes out, once per area it covers (so an
area's trail shows who took its data), with the filters it was asked with.
"""

from __future__ import annotations

from datetime import date

from flask import Response

from sync.accounts.users import User
from sync.errors import NotFound
from sync.export import Layout, Query, audit, layout
from sync.export_files import CONTENT_TYPES, file_name, stream
from sync.export_query import Params

from .services import services


def scopes_for(user: User, params: Params) -> list[str]:
    """The data areas an export by ``user`` reads: hers, or those under ``params.areas``
    when she may export all of them; NotFound for any other area."""
    svc = services()
    tree = svc.areas.tree()
    allowed = set(svc.access.data_scopes(user))
    if not params.areas:
        return sorted(allowed)
    scopes: set[str] = set()
    for code in params.areas:
        covered = set(tree.data_scopes([code])) if code in tree.areas else set()
        if code not in tree.areas or not (user.is_admin or (covered and covered <= allowed)):
            raise NotFound("missing")
        scopes |= covered
    return sorted(scopes)


def prepare(user: User, form: str, params: Params) -> tuple[Layout, Query]:
    """The tables and the query of an export ``user`` may make; NotFound for anything else."""
    svc = services()
    lay = layout(svc.forms, form, params.version, drafts=user.is_admin)
    return lay, Query(form, params.version, scopes_for(user, params), params.date_from, params.date_to, params.state,
                      params.labels, params.photos, reader=None if user.is_admin else user)


def download(user: User, lay: Layout, query: Query, params: Params) -> Response:
    """The streamed response, after the export is in the audit trail."""
    svc = services()
    audit(svc.audit, user.name, query, params.fmt, query.areas or [])
    name = file_name(lay, params.fmt, params.photos)
    stem, ext = name.rsplit(".", 1)
    kind = CONTENT_TYPES[ext]
    body = stream(svc.store, lay, query, params.fmt)
    return Response(body, mimetype=kind, headers={
        "Content-Disposition": f'attachment; filename="{stem}-{date.today().isoformat()}.{ext}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
