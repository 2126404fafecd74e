"""The first page after logging in: a coordinator's areas, or a worker's replica address."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..services import services
from . import guard

bp = Blueprint("home", __name__)


@bp.get("/")
@guard.signed_in
def index():
    who = guard.user()
    if who.role not in ("coordinator", "admin"):
        # Workers sync from their device; the pages are for coordinators.
        replica = request.host_url.rstrip("/") + f"/sync/{who.name}"
        return render_template("worker.html", replica=replica)
    tree = services().areas.tree()
    areas = [tree.areas[code] for code in guard.areas()]
    return render_template("home.html", areas=areas, tree=tree)
