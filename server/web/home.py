"""The first page after logging in: a coordinator's areas, or a worker's replica address."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from ..indexes import submission_index
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
    # What the index holds (one read for all areas; each area's list page brings it up to date).
    counts = submission_index().counts_of([a.code for a in areas]) if areas else {}
    return render_template("home.html", areas=areas, tree=tree, counts=counts, state_labels=state_labels())


def state_labels() -> dict[str, str]:
    """The review states as the pages name them."""
    return {"received": _("Received"), "has_issues": _("Has issues"), "approved": _("Approved"),
            "rejected": _("Rejected"), "edited": _("Edited after review")}
