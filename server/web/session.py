"""Logging in and out of the web pages, and choosing their language.

The login is the server's one cookie session (``AuthSession``, the same that
``/_session`` gives replicators), so a coordinator's browser and a replicator
log in alike, and a password change or a disabled account ends both.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync.errors import BadRequest, TooManyRequests, Unauthorized

from ..auth import COOKIE, set_session_cookie
from ..services import services
from . import guard, i18n

bp = Blueprint("session", __name__)
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def safe_next(target: str | None, default: str | None = None) -> str:
    """Where to go after a form: a path of these pages only (never another site)."""
    default = default or url_for("web.home.index")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/web") or target.startswith("//"):
        return default
    return target


@bp.get("/login")
def login():
    if guard.user() is not None:
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", next=request.args.get("next", ""), name="")


@bp.post("/login")
def login_post():
    name = (request.form.get("name") or "").strip()
    password = request.form.get("password") or ""
    target = request.form.get("next", "")
    if not name or not password:
        message = _("Enter your user name and your password.")
        return render_template("login.html", next=target[:2000], name=name[:200], error=message), 400
    svc = services()
    try:
        user = svc.auth.login(name, password)
    except TooManyRequests as exc:
        message = _("Too many failed logins for this name; try again in %(seconds)s seconds.",
                    seconds=exc.headers["Retry-After"])
        return render_template("login.html", next=target[:2000], name=name[:200], error=message), 429, exc.headers
    except Unauthorized:
        message = _("The user name or the password is wrong.")
        return render_template("login.html", next=target[:2000], name=name[:200], error=message), 401
    svc.auth.logged_in(user)
    chosen = request.cookies.get(i18n.COOKIE)
    if user.lang is None and chosen in i18n.LANGUAGES:
        svc.users.set_language(user.name, chosen)  # the choice made before logging in follows the user
    resp = redirect(safe_next(target))
    set_session_cookie(resp, svc.auth.make_cookie(user), svc.settings.session_seconds)
    return resp


@bp.post("/logout")
def logout():
    resp = redirect(url_for("web.session.login"))
    resp.delete_cookie(COOKIE, path="/")
    return resp


@bp.post("/lang")
def choose_language():
    chosen = request.form.get("lang")
    if chosen not in i18n.LANGUAGES:
        raise BadRequest(_("Choose Mongolian or English."))
    who = guard.user()
    if who is not None and who.lang != chosen:
        services().users.set_language(who.name, chosen)
    g.lang_override = chosen
    resp = redirect(safe_next(request.form.get("next")))
    resp.set_cookie(i18n.COOKIE, chosen, max_age=LANG_COOKIE_SECONDS, samesite="Lax", path="/",
                    httponly=True)
    return resp
