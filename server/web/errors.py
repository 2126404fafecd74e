"""Errors on the web pages: a page in the user's language with the right 4xx, never JSON.

The rest of the server answers CouchDB's ``{"error", "reason"}``; under
``/web`` the same errors become the error page. A refusal from ``sync/``
carries its Mongolian text (``sync.gate.messages.Text``), which is shown when
the page speaks Mongolian. Nobody logged in goes to the login page instead of
a 401.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from sync.errors import CouchError
from sync.gate.messages import texts_of

from .. import errors as json_errors
from . import i18n

log = logging.getLogger("fieldsync.web")


def page(status: int, message: str, title: str | None = None):
    titles = {
        400: _("The request could not be used"), 403: _("Not allowed"), 404: _("Not found"),
        405: _("Not allowed"), 409: _("Changed in the meantime"), 413: _("Too large"),
        429: _("Too many attempts"),
    }
    title = title or titles.get(status) or _("Something went wrong")
    return render_template("error.html", title=title, message=message, status=status), status


def in_language(reason: str) -> str:
    texts = texts_of(reason)
    return texts.get(i18n.lang()) or texts.get("en") or str(reason)


def register_blueprint(bp: Blueprint) -> None:
    @bp.errorhandler(CouchError)
    def couch_error(exc: CouchError):
        if exc.status == 401:
            from .guard import login_page

            return login_page()
        if exc.status == 404:
            return page(404, _("There is nothing at this address."))
        resp = page(exc.status, in_language(exc.reason))
        headers = getattr(exc, "headers", None)
        return (*resp, headers) if headers else resp

    @bp.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return page(400, _("This form has expired or did not come from this site. "
                           "Open the page again and repeat what you did."))

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 404:
            return page(404, _("There is nothing at this address."))
        if status == 413:
            return page(413, _("What you sent is larger than this server accepts."))
        if status == 405:
            return page(405, _("This address does not accept that kind of request."))
        return page(status, _("The request could not be used."))

    @bp.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error on a web page")
        return page(500, _("The server failed to do this; the failure was logged."))



def register_app(app: Flask) -> None:
    def outside_routes(exc: HTTPException):
        """No route matched (no blueprint is known then): HTML under /web, JSON elsewhere."""
        if request.path == "/web" or request.path.startswith("/web/"):
            if exc.code == 405:
                return page(405, _("This address does not accept that kind of request."))
            return page(404, _("There is nothing at this address."))
        return json_errors.http_error(exc)

    app.register_error_handler(404, outside_routes)
    app.register_error_handler(405, outside_routes)
