"""``/_session``: CouchDB's cookie login, as replicators and the web pages use it."""

from __future__ import annotations

from flask import Blueprint, g, request

from sync.errors import BadRequest, Unauthorized, UnsupportedMediaType

from ..auth import COOKIE, basic_credentials, set_session_cookie
from ..jsonio import json_response, parse_json
from ..services import services

bp = Blueprint("session", __name__)


def _user_ctx(user) -> dict:
    return {"name": user.name if user else None, "roles": list(user.roles) if user else []}


@bp.post("/_session")
def login():
    if request.mimetype == "application/x-www-form-urlencoded":
        name, password = request.form.get("name"), request.form.get("password")
        device = False
    elif request.mimetype in ("application/json", ""):
        body = parse_json(request.get_data(cache=False) or b"{}")
        if not isinstance(body, dict):
            raise BadRequest("Request body must be a JSON object")
        name, password = body.get("name"), body.get("password")
        # The field app asks for a device session (server/auth.py): long, and for its replica only.
        device = body.get("device") is True
    else:
        raise UnsupportedMediaType("Content-Type must be application/json or a form")
    if not isinstance(name, str) or not isinstance(password, str) or not name:
        raise Unauthorized("Name or password is incorrect.")
    svc = services()
    user = svc.auth.login(name, password)
    svc.auth.logged_in(user)
    resp = json_response({"ok": True, "name": user.name, "roles": list(user.roles)})
    set_session_cookie(resp, svc.auth.make_cookie(user, device=device), svc.auth.lifetime(device))
    return resp


@bp.get("/_session")
def whoami():
    svc = services()
    stale = False
    try:
        user = svc.auth.current_user()
    except Unauthorized:
        if basic_credentials() is not None:
            raise  # wrong Basic credentials are an error, as in CouchDB
        user, stale = None, True  # an expired cookie: CouchDB answers with an anonymous session
    resp = json_response({
        "ok": True,
        "userCtx": _user_ctx(user),
        "info": {"authentication_handlers": ["cookie", "default"],
                 **({"authenticated": g.get("auth_method")} if user else {})},
    })
    if stale:
        resp.delete_cookie(COOKIE, path="/")
    return resp


@bp.delete("/_session")
def logout():
    resp = json_response({"ok": True})
    resp.delete_cookie(COOKIE, path="/")
    return resp
