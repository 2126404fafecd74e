"""Every failure becomes CouchDB's ``{"error", "reason"}`` with its status.

Clients (PouchDB, the CouchDB replicator) branch on these tokens, so even
Flask's own 404/405/413 are reshaped; an unexpected exception is logged and
answered as a 500 in the same shape (and is a bug to fix).
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.exceptions import HTTPException

from sync.errors import CouchError

from .jsonio import json_response

log = logging.getLogger("fieldsync")

_HTTP_ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    412: "precondition_failed",
    413: "too_large",
    415: "bad_content_type",
    416: "requested_range_not_satisfiable",
    429: "too_many_requests",
}


def register(app: Flask) -> None:
    @app.errorhandler(CouchError)
    def couch_error(exc: CouchError):
        headers = getattr(exc, "headers", None)
        if exc.status == 401:
            headers = {"WWW-Authenticate": 'Basic realm="fieldsync"', **(headers or {})}
        return json_response(exc.as_json(), exc.status, headers)

    app.register_error_handler(HTTPException, http_error)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return json_response({"error": "unknown_error", "reason": "internal error"}, 500)


def http_error(exc: HTTPException):
    """Flask's own errors (no route, wrong method, body too large) in CouchDB's shape."""
    status = exc.code or 500
    error = _HTTP_ERRORS.get(status, "unknown_error")
    reason = exc.description or error
    if status == 404:
        reason = "missing"
    if status == 413:
        reason = "The request body is larger than this server accepts"
    resp = json_response({"error": error, "reason": reason}, status)
    if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        resp.headers["Allow"] = ", ".join(exc.valid_methods)
    return resp
