"""``/api/conflicts``: documents of a coordinator's areas whose edits overlap,
and a person's resolution of one (the JSON twin of the conflicts page).

Disjoint edits never show up here: the server merged them when they arrived
(``sync.conflicts``). A document outside the user's areas answers ``404``,
as a missing one does.

* ``GET /api/conflicts?area=&after=&limit=``: ``{"conflicts": [...], "next"}``;
  ``next`` is the ``after`` of the following page.
* ``GET /api/conflicts/<doc id>``: the live revisions side by side, field by
  field (JSON pointers), with the base they share and the value the merge rule
  suggests where it can.
* ``POST /api/conflicts/<doc id>/resolve`` with ``{"revs": [the revisions
  compared], "picks": {"/data/bag": "<rev>", ...}, "note"?}``: every field
  without a suggestion needs a pick; ``409`` when the document changed since
  ``revs`` were read.
"""

from __future__ import annotations

from flask import Blueprint

from sync import ids, records
from sync.accounts.users import User
from sync.errors import Conflict, Forbidden, NotFound
from sync.referral_cases import may_read
from sync.stores.base import Database

from ..api_schemas import conflicts as schemas
from ..api_validation import blame, operation, request_body, request_query
from ..auth import require_user
from ..jsonio import json_response
from ..services import services

bp = Blueprint("conflicts_api", __name__, url_prefix="/api")
MAX_PAGE = 200


def _coordinator() -> User:
    user = require_user(services().auth)
    if user.role not in ("coordinator", "admin"):
        raise Forbidden("Only coordinators and admins resolve conflicts.")
    return user


def scopes_of(user: User, area: str | None = None) -> list[str]:
    """The data areas the user coordinates, or the one asked for (404 outside them)."""
    mine = services().access.data_scopes(user)
    if area is None:
        return mine
    if area not in mine:
        raise NotFound("missing")
    return [area]


def scope_db(user: User, docid: str) -> Database:
    """The area scope of ``docid`` when the user coordinates it and may read the document (a
    case, or a referral whose case is open, only by its people: ``may_read``); 404 otherwise."""
    parsed = ids.parse_doc_id(docid)
    svc = services()
    if parsed is None or parsed.scope not in svc.access.data_scopes(user) or not svc.store.exists(parsed.scope):
        raise NotFound("missing")
    db = svc.store.open(parsed.scope)
    if not may_read(user, docid, records.read(db, docid), lambda cid: records.read(db, cid)):
        raise NotFound("missing")
    return db


def readable(user: User):
    """The listing's filter: what ``scope_db`` would open for ``user``."""
    store = services().store
    return lambda docid, doc: may_read(user, docid, doc,
                                       lambda cid: records.read(store.open(docid.split(":", 1)[0]), cid))


@bp.get("/conflicts")
@operation("List documents with overlapping edits in the caller's areas", query=schemas.ConflictsQuery,
           ok=(200, schemas.ConflictListing),
           errors={401: "not logged in", 403: "not a coordinator or admin", 404: "not one of the caller's areas"})
def list_conflicts():
    user = _coordinator()
    query = request_query()
    limit = min(query["limit"], MAX_PAGE)
    entries = services().conflicts.listing(scopes_of(user, query.get("area")), after=query.get("after"),
                                           limit=limit + 1, visible=readable(user))
    more = len(entries) > limit
    entries = entries[:limit]
    shown = [{k: e.get(k) for k in ("doc_id", "scope", "winner", "conflicts", "overlapping", "reason",
                                     "noted_at", "by")} for e in entries]
    return json_response({"conflicts": shown, "next": entries[-1]["_id"] if more else None})


@bp.get("/conflicts/<path:docid>")
@operation("The live revisions of a document side by side, field by field", ok=(200, schemas.ConflictView),
           errors={401: "not logged in", 403: "not a coordinator or admin",
                   404: "no conflict on that document in the caller's areas"})
def show_conflict(docid: str):
    user = _coordinator()
    try:
        view = services().conflicts.view(scope_db(user, docid), docid)
    except Conflict as exc:  # no conflict (any more): nothing to show at this address
        raise NotFound(exc.reason) from None
    body = view.to_json()
    body["docs"] = {leaf.rev: leaf.doc for leaf in view.leaves}
    return json_response(body)


@bp.post("/conflicts/<path:docid>/resolve")
@operation("Resolve a conflict: a revision for each field where they differ", body=schemas.Resolution,
           ok=(200, schemas.Resolved),
           errors={401: "not logged in", 403: "not a coordinator or admin",
                   404: "no such document in the caller's areas",
                   409: "the document changed since `revs` were read"})
def resolve_conflict(docid: str):
    user = _coordinator()
    db = scope_db(user, docid)
    body = request_body()
    with blame("picks"):
        done = services().conflicts.resolve(db, docid, revs=body["revs"], picks=body["picks"],
                                            by=user.name, note=body.get("note"))
    return json_response(done)
