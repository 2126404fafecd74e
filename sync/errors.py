"""Errors the sync engine raises, shaped like CouchDB's.

Every error carries the CouchDB ``error`` token, a ``reason`` a person can act
on, and the HTTP status CouchDB would answer with, so that the HTTP layer can
turn any of them into ``{"error", "reason"}`` without knowing where it came from.
"""

from __future__ import annotations


class CouchError(Exception):
    status: int = 500
    error: str = "unknown_error"

    def __init__(self, reason: str = "", *, error: str | None = None, status: int | None = None,
                 extra: dict | None = None):
        super().__init__(reason)
        self.reason = reason or self.error
        if error is not None:
            self.error = error
        if status is not None:
            self.status = status
        self.extra = extra  # members beside error and reason (a refusal's texts per language)

    def as_json(self) -> dict:
        body = {"error": self.error, "reason": self.reason}
        if self.extra:
            body.update({k: v for k, v in self.extra.items() if k not in body})
        return body


class BadRequest(CouchError):
    status = 400
    error = "bad_request"


class Unauthorized(CouchError):
    status = 401
    error = "unauthorized"


class Forbidden(CouchError):
    status = 403
    error = "forbidden"


class NotFound(CouchError):
    status = 404
    error = "not_found"

    def __init__(self, reason: str = "missing", **kw):
        super().__init__(reason, **kw)


class Conflict(CouchError):
    status = 409
    error = "conflict"

    def __init__(self, reason: str = "Document update conflict.", **kw):
        super().__init__(reason, **kw)


class PreconditionFailed(CouchError):
    status = 412
    error = "file_exists"


class TooLarge(CouchError):
    status = 413
    error = "too_large"


class UnsupportedMediaType(CouchError):
    status = 415
    error = "bad_content_type"


class StoreUnavailable(CouchError):
    """The backing store cannot be reached; the client should retry later."""

    status = 503
    error = "service_unavailable"


class TooManyRequests(CouchError):
    """Too many failed logins: try again after ``retry_after`` seconds."""

    status = 429
    error = "too_many_requests"

    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason)
        self.headers = {"Retry-After": str(max(int(retry_after), 1))}
