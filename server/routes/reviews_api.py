"""``/api/reviews``: coordinators' decisions and comments on submissions (the JSON twin of the
web pages' review form and of ``fieldsync review``).

* ``GET /api/reviews?area=<code>&state=&form=&author=&after=&limit=``: the area's
  submissions with their review state, newest first (the submission index),
  ``{"reviews": [...], "next": <after of the next page or null>}``;
* ``GET /api/reviews/<submission id>``: ``{"submission", "state", "review"}``;
* ``POST /api/reviews/<submission id>`` with ``{"status"?: "has_issues" |
  "approved" | "rejected", "comment"?: text, "review_rev"?: the review's _rev
  you read ("" when there was none), "submission_rev"?: the submission's _rev
  you read}``: ``201`` with the stored review; ``400`` for a state that does
  not exist or a bad comment, ``409`` when either revision changed since.

A submission outside the user's areas, or hidden from them, answers ``404``
as a missing one does; workers get ``403``. The review is written through the
write gate, which checks it again, as it checks a review replicated from a
coordinator's device.
"""

from __future__ import annotations

from flask import Blueprint

from sync.accounts.users import User
from sync.errors import Forbidden, NotFound
from sync.reviews import state_of
from sync.subindex import Filters

from ..api_schemas import reviews as schemas
from ..api_validation import blame, operation, request_body, request_query
from ..auth import require_user
from ..indexes import reviews, submission_index
from ..jsonio import json_response
from ..services import services

bp = Blueprint("reviews_api", __name__, url_prefix="/api")
MAX_PAGE = 200


def _coordinator() -> User:
    user = require_user(services().auth)
    if user.role not in ("coordinator", "admin"):
        raise Forbidden("Only coordinators and admins review submissions.")
    return user


@bp.get("/reviews")
@operation("An area's submissions with their review state, newest first", query=schemas.ReviewsQuery,
           ok=(200, schemas.ReviewListing),
           errors={401: "not logged in", 403: "not a coordinator or admin", 404: "not one of the caller's areas"})
def list_reviews():
    user = _coordinator()
    query = request_query()
    area = query["area"]
    if area not in services().access.data_scopes(user):
        raise NotFound("missing")
    limit = min(query["limit"], MAX_PAGE)
    index = submission_index()
    index.refresh(area)
    page = index.page(area, Filters(state=query.get("state"), form=query.get("form"), author=query.get("author")),
                      after=query.get("after"), limit=limit)
    rows = [{"submission": f"{area}:sub:{r['k']}", "form": r["f"], "form_version": r["v"], "author": r["a"],
             "state": r["st"], "created_at": r.get("at"), "comments": r.get("n", 0)} for r in page.rows]
    return json_response({"reviews": rows, "next": page.after})


@bp.get("/reviews/<docid>")
@operation("A submission's review state and review", ok=(200, schemas.ReviewShown),
           errors={401: "not logged in", 403: "not a coordinator or admin",
                   404: "no such submission in the caller's areas"})
def show_review(docid: str):
    user = _coordinator()
    review = reviews().get(user, docid)
    return json_response({"submission": docid, "state": state_of(review), "review": review})


@bp.post("/reviews/<docid>")
@operation("Record a decision and/or a comment on a submission", body=schemas.ReviewDecision,
           ok=(201, schemas.ReviewRecorded),
           errors={401: "not logged in", 403: "not a coordinator or admin",
                   404: "no such submission in the caller's areas",
                   409: "the review or the submission changed since they were read"})
def record_review(docid: str):
    user = _coordinator()
    body = request_body()
    with blame("status", "comment"):
        done = reviews().record(user, docid, status=body.get("status"), comment=body.get("comment"),
                                 review_rev=body.get("review_rev"), submission_rev=body.get("submission_rev"))
    return json_response({"ok": True, "id": done.review["_id"], "rev": done.review["_rev"],
                          "state": done.review["status"], "review": done.review}, 201)
