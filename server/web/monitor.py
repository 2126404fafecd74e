"""The sync monitor: the workers of a coordinator's areas, their devices, and who has gone quiet.

Per worker and device: last push, last pull, documents up and down, refusals,
and for each pull replication the backlog (what waits on the server for its
next pull), from ``sync.replica.monitor``, as ``/api/sync-status`` and
``fieldsync sync-status`` show it. Workers with no push or pull for the
chosen number of days (``FIELDSYNC_STALE_DAYS`` by default) stand out. A
page is 25 users, so backlogs are counted for those only.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from sync.errors import BadRequest
from sync.replica.monitor import SyncMonitor

from ..services import services
from . import guard

bp = Blueprint("monitor", __name__)
PAGE = 25


@bp.get("/sync")
@guard.coordinator
def status():
    svc = services()
    raw = (request.args.get("days") or "").strip()
    days = svc.settings.stale_days
    if raw:
        try:
            days = float(raw)
        except ValueError:
            raise BadRequest(_("The number of days must be a number.")) from None
        if not 0 <= days <= 36500:
            raise BadRequest(_("The number of days must be between 0 and 36500."))
    area = request.args.get("area") or None
    mine = set([guard.area_or_404(area)] if area else guard.areas())
    after = request.args.get("after") or ""
    role = request.args.get("role") or "worker"
    if role not in ("worker", "all"):
        raise BadRequest(_("Unknown role."))
    users = [u for u in sorted(svc.users.list(), key=lambda u: u.name)
             if u.name > after and (role == "all" or u.role == "worker")
             and set(svc.access.data_scopes(u)) & mine]
    more = users[PAGE:]
    users = users[:PAGE]
    rows = SyncMonitor(svc.store, svc.synclog, svc.access).status(users, stale_days=days)
    tree = svc.areas.tree()
    return render_template("monitor.html", rows=rows, days=days, area=area, role=role,
                           areas=[tree.areas[c] for c in guard.areas() if c in tree.areas],
                           next_after=users[-1].name if more else None)
