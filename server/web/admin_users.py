"""The admins' user pages: accounts, their areas, and their devices' last sync.

Every change goes through ``sync.accounts.user_changes``, as ``/api/users``
does, so the same rules hold and the audit trail records it either way. A
password the server makes up is shown once, on the answer to the form that
made it, and never stored in clear or put in a link.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync.accounts import user_changes
from sync.accounts.users import ROLES, User
from sync.errors import BadRequest, Conflict, NotFound
from sync.replica.monitor import SyncMonitor

from ..services import services
from . import guard
from .errors import in_language

bp = Blueprint("admin_users", __name__)
PAGE = 50
MAX_FIELD = 1024


def role_names() -> dict[str, str]:
    return {"worker": _("Worker"), "coordinator": _("Coordinator"), "admin": _("Admin")}


def made_up_password() -> str:
    """Twelve characters a person can copy onto paper for a worker (no 0/O, 1/l)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def _text(name: str, limit: int = MAX_FIELD) -> str:
    value = (request.form.get(name) or "").strip()
    if len(value) > limit:
        raise BadRequest(_("A field is longer than %(n)s characters.", n=limit))
    return value


def _area_options() -> list[tuple[object, int]]:
    """Every area with its depth in the tree, parents before children."""
    tree = services().areas.tree()
    out: list[tuple[object, int]] = []

    def walk(code: str, depth: int) -> None:
        out.append((tree.areas[code], depth))
        for child in tree.children.get(code, ()):
            walk(child, depth + 1)

    for root in tree.roots():
        walk(root, 0)
    return out


def _user_or_404(name: str) -> User:
    user = services().users.get(name) if len(name) <= 64 else None
    if user is None:
        raise NotFound("missing")
    return user


@bp.get("/admin/users")
@guard.admin
def listing():
    svc = services()
    after = request.args.get("after") or ""
    role = request.args.get("role") or ""
    if role and role not in ROLES:
        raise BadRequest(_("Unknown role."))
    users = [u for u in sorted(svc.users.list(), key=lambda u: u.name)
             if u.name > after and (not role or u.role == role)]
    more = len(users) > PAGE
    users = users[:PAGE]
    rows = SyncMonitor(svc.store, svc.synclog, svc.access).status(users, stale_days=svc.settings.stale_days,
                                                                   backlog=False)
    return render_template("admin_users.html", rows=rows, role=role, roles=role_names(),
                           next_after=users[-1].name if more else None)


@bp.get("/admin/users/new")
@guard.admin
def new():
    return _new_page({})


def _new_page(form: dict, error: str | None = None, status: int = 200):
    return render_template("admin_user_new.html", form=form, error=error, roles=role_names(),
                           areas=_area_options()), status


@bp.post("/admin/users")
@guard.admin
def add():
    svc = services()
    form = {"name": "", "role": "", "areas": request.form.getlist("area")}
    try:
        form["name"], form["role"] = _text("name", 64), _text("role", 32)
        chosen = _text("password")
        if not form["name"]:
            raise BadRequest(_("Enter a user name."))
        if form["role"] not in ROLES:
            raise BadRequest(_("Choose a role."))
        password = chosen or made_up_password()
        user = user_changes.add_user(svc.users, svc.areas, svc.audit, by=guard.user().name,
                                     name=form["name"], role=form["role"], areas=form["areas"],
                                     password=password)
    except (BadRequest, Conflict) as exc:
        return _new_page(form, in_language(exc.reason), exc.status)
    if chosen:
        flash(_("Added %(name)s with the password you chose.", name=user.name))
        return redirect(url_for("web.admin_users.detail", name=user.name))
    return render_template("admin_password.html", user=user, password=password, added=True)


@bp.get("/admin/users/<name>")
@guard.admin
def detail(name: str):
    return _detail_page(_user_or_404(name))


def _detail_page(user: User, error: str | None = None, status: int = 200):
    svc = services()
    [sync] = SyncMonitor(svc.store, svc.synclog, svc.access).status([user], stale_days=svc.settings.stale_days)
    return render_template("admin_user.html", user=user, sync=sync, error=error, roles=role_names(),
                           areas=_area_options(), me=guard.user().name), status


def _change(name: str, **changes):
    svc = services()
    user = _user_or_404(name)
    try:
        return user_changes.change_user(svc.users, svc.areas, svc.audit, by=guard.user().name, name=name,
                                        **changes), None
    except (BadRequest, Conflict) as exc:
        return None, _detail_page(user, in_language(exc.reason), exc.status)


@bp.post("/admin/users/<name>/areas")
@guard.admin
def assign(name: str):
    role = (request.form.get("role") or "").strip()
    if role not in ROLES:
        return _detail_page(_user_or_404(name), _("Choose a role."), 400)
    done, failed = _change(name, role=role, areas=request.form.getlist("area"))
    if failed:
        return failed
    flash(_("Saved: %(name)s is %(role)s of %(areas)s.", name=done.name, role=role_names()[done.role],
            areas=", ".join(done.areas) or "—"))
    return redirect(url_for("web.admin_users.detail", name=name))


@bp.post("/admin/users/<name>/disable")
@guard.admin
def disable(name: str):
    done, failed = _change(name, disabled=True)
    if failed:
        return failed
    flash(_("%(name)s is disabled: their devices and sessions are refused from now on.", name=name))
    return redirect(url_for("web.admin_users.detail", name=name))


@bp.post("/admin/users/<name>/enable")
@guard.admin
def enable(name: str):
    done, failed = _change(name, disabled=False)
    if failed:
        return failed
    flash(_("%(name)s may log in and sync again.", name=name))
    return redirect(url_for("web.admin_users.detail", name=name))


@bp.post("/admin/users/<name>/password")
@guard.admin
def reset_password(name: str):
    user = _user_or_404(name)
    try:
        chosen = _text("password")
    except BadRequest as exc:
        return _detail_page(user, in_language(exc.reason), 400)
    password = chosen or made_up_password()
    done, failed = _change(name, password=password)
    if failed:
        return failed
    if chosen:
        flash(_("The password of %(name)s is changed; their open sessions have ended.", name=name))
        return redirect(url_for("web.admin_users.detail", name=name))
    return render_template("admin_password.html", user=done, password=password, added=False)
