"""Who may see a page: the same rules as the replication endpoints (``sync.accounts.access``).

A page or action the user's role may not reach answers exactly as a missing
one does (404), so a coordinator of another aimag learns nothing, not even
that a submission exists. Nobody logged in is sent to the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, redirect, request, url_for

from sync import ids
from sync.accounts.users import User
from sync.errors import NotFound, Unauthorized
from sync.stores.base import Database

from ..services import services


def user() -> User | None:
    """The logged-in user (AuthSession cookie, as ``/_session`` makes it), or None."""
    if "web_user" in g:
        return g.web_user
    try:
        found = services().auth.current_user()
    except Unauthorized:  # an expired or forged cookie, or wrong Basic credentials
        found = None
        g.forget_session = True
    g.web_user = found
    return found


def login_page():
    target = request.full_path if request.method == "GET" else request.path
    return redirect(url_for("web.session.login", next=target.rstrip("?")))


def coordinator(view: Callable) -> Callable:
    """Coordinators and admins only; workers get 404 as for a page that does not exist."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        who = user()
        if who is None:
            return login_page()
        if who.role not in ("coordinator", "admin"):
            raise NotFound("missing")
        return view(*args, **kwargs)

    return wrapped


def admin(view: Callable) -> Callable:
    """Admins only; anyone else logged in gets 404 as for a page that does not exist."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        who = user()
        if who is None:
            return login_page()
        if not who.is_admin:
            raise NotFound("missing")
        return view(*args, **kwargs)

    return wrapped


def signed_in(view: Callable) -> Callable:
    """Any logged-in user (the home page tells each role where to go)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if user() is None:
            return login_page()
        return view(*args, **kwargs)

    return wrapped


def areas() -> list[str]:
    """The data areas the current user coordinates (all for an admin), sorted."""
    who = user()
    if who is None or who.role not in ("coordinator", "admin"):
        return []
    return services().access.data_scopes(who)


def area_or_404(code: str) -> str:
    if code not in areas():
        raise NotFound("missing")
    return code


def doc_scope_or_404(docid: str, kind: str | None = None) -> tuple[ids.DocId, Database]:
    """The parsed id and its area's database, when the user coordinates that area; else 404."""
    parsed = ids.parse_doc_id(docid)
    if parsed is None or (kind is not None and parsed.kind != kind) or parsed.scope not in areas():
        raise NotFound("missing")
    store = services().store
    if not store.exists(parsed.scope):
        raise NotFound("missing")
    return parsed, store.open(parsed.scope)
