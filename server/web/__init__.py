"""The coordinators' web pages: server-rendered HTML in Mongolian and English.

How a page is added (read this before writing one)
---------------------------------------------------

* **A module, a blueprint.** Each group of pages is one module here
  (``server/web/<name>.py``) with its own ``bp = Blueprint("<name>", __name__)``;
  add the module to the list in ``_pages()`` below. It is registered under the ``web``
  blueprint, so its URLs start with ``/web`` and its endpoints are
  ``web.<name>.<view>`` (``url_for("web.submissions.listing", area=...)``).
* **Templates** are in ``server/web/templates/``; a page extends ``base.html``
  (``{% extends "base.html" %}``, blocks ``title`` and ``content``) and gets
  the main menu, the language switch and the logout button from it. A new
  page adds its menu entry to ``MENU`` in ``nav.py`` (grouped; the group that
  holds the current page is decided there, by endpoint). CSS goes into the one
  small ``static/web.css`` (no JavaScript is needed so far, no CDN ever).
* **Access.** ``guard.py``: ``@guard.coordinator`` on a view lets in
  coordinators and admins (anyone else, workers included, gets the same 404 a
  missing page gets; nobody logged in goes to the login page); inside,
  ``guard.areas()`` are the data areas the user coordinates (an aimag covers
  its soums), ``guard.area_or_404(code)`` and ``guard.doc_scope_or_404(docid)``
  refuse everything else with 404. Use ``sync/`` objects through
  ``services()`` exactly as the API does: the rules are in
  ``sync/accounts/access.py`` and the write gate, never re-written here.
* **Forms** are plain HTML forms posted to the same blueprint. Every POST under
  ``/web`` is checked by Flask-WTF's ``CSRFProtect`` (the ``web`` blueprint's
  ``before_request``); put ``{{ csrf_field() }}`` inside each ``<form
  method="post">``. Bad input answers 4xx with the page and a message
  (``errors.py``: raise a ``sync.errors.CouchError`` or ``WebError`` and the
  error page is shown in the user's language; never a 500).
* **Translations**: wrap every text in ``_()`` (templates and Python,
  ``from flask_babel import gettext as _``), then
  ``make messages`` (pybabel extract + update) and fill in the Mongolian in
  ``translations/mn/LC_MESSAGES/messages.po``. The ``.po`` is committed; the
  ``.mo`` is compiled from it when the app starts (``i18n.compile_catalogs``).
  ``i18n.lang()`` is the current language (``mn`` or ``en``); labels that
  live in data (form labels, area names) are dicts per language: use the
  ``tr`` template filter (``{{ area.name|tr }}``).
* **Lists** page through the store's indexes: never read a whole scope (see
  ``sync/subindex.py`` for submissions).

The app is mounted at ``/web/``; ``/`` keeps answering CouchDB's welcome JSON
to replicators and redirects a browser (one that prefers ``text/html``) here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Blueprint, Flask, request, url_for
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect
from markupsafe import Markup

from . import errors, i18n

STATIC = Path(__file__).parent / "static"
csrf = CSRFProtect()


class WebBlueprint(Blueprint):
    """Static files are named with a digest of their content, so they can be cached for a year."""

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        return 365 * 24 * 3600 if request.args.get("v") else 300


bp = WebBlueprint("web", __name__, url_prefix="/web", template_folder="templates",
                  static_folder="static", static_url_path="/static")


@bp.before_request
def _protect_forms():
    """CSRF on every form post of the web pages only: the replication protocol and the JSON API
    (other blueprints, Basic or cookie authenticated by replicators) never see it."""
    csrf.protect()


@bp.after_request
def _forget_bad_session(resp):
    """A cookie that no longer logs in (expired, password changed) is dropped, not sent again."""
    from flask import g

    from ..auth import COOKIE

    if g.get("forget_session"):
        resp.delete_cookie(COOKIE, path="/")
    resp.headers.setdefault("Cache-Control", "private, no-cache")
    # No script runs on these pages, inline or from elsewhere; images and styles from here only.
    resp.headers.setdefault("Content-Security-Policy", "default-src 'none'; img-src 'self'; "
                            "style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.vary.add("Cookie")
    return resp


_static_digests: dict[str, str] = {}


def static_url(name: str) -> str:
    digest = _static_digests.get(name)
    if digest is None:
        digest = _static_digests[name] = hashlib.md5((STATIC / name).read_bytes()).hexdigest()[:10]
    return url_for("web.static", filename=name, v=digest)


def _csrf_field() -> Markup:
    from flask_wtf.csrf import generate_csrf

    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


def register(app: Flask, secret_key: str) -> None:
    """Mount the web pages on ``app`` (called by ``server.create_app``, once per app)."""
    from . import guard, modules_gate, nav

    app.secret_key = secret_key  # signs the web session cookie that carries the CSRF token
    app.config.update(
        SESSION_COOKIE_NAME="fieldsync_web", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_PATH="/web",
        WTF_CSRF_CHECK_DEFAULT=False,  # checked by the web blueprint only, see _protect_forms
        WTF_CSRF_TIME_LIMIT=None,  # valid for the browser session: a page left open still posts
        BABEL_TRANSLATION_DIRECTORIES=str(i18n.compile_catalogs()),
    )
    csrf.init_app(app)
    Babel(app, locale_selector=i18n.select_locale, default_locale="mn")
    app.register_blueprint(bp)
    errors.register_app(app)
    app.jinja_env.filters["tr"] = i18n.pick
    app.jinja_env.globals.update(static_url=static_url, csrf_field=_csrf_field, lang=i18n.lang,
                                 web_user=guard.user, languages=i18n.LANGUAGE_NAMES,
                                 main_menu=nav.main_menu, module_on=modules_gate.module_on)


def _pages() -> None:
    """The page modules, registered once under ``bp`` (add yours to the list)."""
    from . import (
        admin_forms,
        api_docs,
        conflicts,
        exports,
        home,
        monitor,
        quarantine,
        session,
        submissions,
    )

    for page in (session, api_docs, home, submissions, conflicts, quarantine, monitor, exports, admin_forms):
        bp.register_blueprint(page.bp)
    from . import admin_areas, admin_users, audit_log  # the admins' users and areas, the audit log

    for page in (admin_users, admin_areas, audit_log):
        bp.register_blueprint(page.bp)
    from . import scorecards, wash  # WASH in kindergartens, community scorecards (issue 19)

    for page in (wash, scorecards):
        bp.register_blueprint(page.bp)
    from . import (  # the programme reports, the LQAS set-up, a child's chart
        lqas_admin,
        lqas_rules_admin,
        reports,
    )

    bp.register_blueprint(reports.bp)
    bp.register_blueprint(lqas_admin.bp)  # the LQAS survey set-up
    bp.register_blueprint(lqas_rules_admin.bp)  # the LQAS decision-rule table
    from . import cases  # child protection cases (issue 19.5)

    bp.register_blueprint(cases.bp)
    from . import families  # the child register and the family card (issue 19.2)

    bp.register_blueprint(families.bp)
    from . import (  # programme modules switched on and off per deployment
        admin_modules,
        modules_gate,
    )

    bp.register_blueprint(admin_modules.bp)
    bp.before_request(modules_gate.refuse_switched_off)
    errors.register_blueprint(bp)


_pages()
