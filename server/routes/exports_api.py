"""``/api/exports``: a form's submissions as a download (the HTTP twin of ``fieldsync export``).

``GET /api/exports/<form>?format=csv|xlsx&version=N&area=<code>&area=...&from=YYYY-MM-DD
&to=YYYY-MM-DD&state=<review state>&labels=name|mn|en&photos=0|1``

* ``format=csv`` (the default): a zip with ``<form>.csv`` and one
  ``<form>-<repeat>.csv`` per repeat group, UTF-8 with a byte-order mark;
  ``photos=1`` adds ``photos/<area>/<key>/<name>`` and the image cells name those files;
* ``format=xlsx``: one workbook, a sheet per table (with ``photos=1``, a zip of the
  workbook and the photos).

The body is streamed as it is made. Every parameter is checked before anything is
read: a wrong one answers ``400`` with ``"parameter"`` naming it. Coordinators
export their areas: another area, like a form or version that does not exist,
answers ``404``; workers get ``403``. Each export is in the audit trail.

``GET /api/case-exports?format=csv|xlsx&area=<code>&area=...``: the
de-identified table of child protection cases (``sync.case_export``), one CSV
file or an XLSX sheet, for the same people and areas.
"""

from __future__ import annotations

from flask import Blueprint, request

from sync.errors import BadRequest, Forbidden
from sync.export_query import parse
from sync.gate.messages import texts_of

from .. import case_exports
from ..api_schemas import exports as schemas
from ..api_validation import operation
from ..auth import require_user
from ..exports import download, prepare
from ..services import services

bp = Blueprint("exports_api", __name__, url_prefix="/api")


@bp.get("/exports/<form>")
@operation("A form's submissions as a CSV zip or an XLSX workbook, streamed", query=schemas.ExportQuery,
           content_type="application/zip",
           errors={401: "not logged in", 403: "a worker", 404: "no such form or version, or an area that is "
                   "not the caller's"})
def export(form: str):
    """The ``parameter`` member of a 400 names the wrong parameter, as ``fields`` does."""
    user = require_user(services().auth)
    if user.role not in ("coordinator", "admin"):
        raise Forbidden("Only coordinators and admins export submissions.")
    params = parse(request.args.get, request.args.getlist)
    lay, query = prepare(user, form, params)
    return download(user, lay, query, params)


@bp.get("/case-exports")
@operation("Child protection cases de-identified, one row per case, as CSV or XLSX", query=schemas.CaseExportQuery,
           content_type="text/csv",
           errors={401: "not logged in", 403: "a worker", 404: "an area that is not the caller's"})
def export_cases():
    """Another export parameter (version, from, to, state, labels, photos) is a 400 naming it; a 400
    carries ``messages``, its reason in English and Mongolian, as the gate's refusals do."""
    user = require_user(services().auth)
    if user.role not in ("coordinator", "admin"):
        raise Forbidden("Only coordinators and admins export cases.")
    try:
        params = parse(request.args.get, request.args.getlist)
        case_exports.check_applicable([k for k in request.args if request.args.get(k)])
    except BadRequest as exc:
        raise BadRequest(exc.reason, extra={**(exc.extra or {}), "messages": texts_of(exc.reason)}) from None
    return case_exports.download(user, params)
