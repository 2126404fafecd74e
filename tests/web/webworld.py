"""A demo world for the web pages' HTTP tests (Flask's test client, a real SQLite store)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.config import Settings
from server.services import Services
from sync.accounts.throttle import LoginThrottle
from sync.demo import DEMO_PASSWORD, seed_demo

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Web:
    app: Flask
    svc: Services
    data: Path

    def browser(self, lang: str = "en") -> FlaskClient:
        """A client that keeps cookies, as a browser does, asking for ``lang`` first."""
        client = self.app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
        return client

    def logged_in(self, name: str, lang: str = "en") -> FlaskClient:
        client = self.browser(lang)
        token = csrf(client)
        resp = client.post("/web/login", data={"name": name, "password": DEMO_PASSWORD, "csrf_token": token})
        assert resp.status_code == 302, resp.text
        return client


def csrf(client: FlaskClient, path: str = "/web/login") -> str:
    """The CSRF token a page gives this client (its web session's)."""
    page = client.get(path)
    found = CSRF_RE.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def build_web(data: Path) -> Web:
    """The demo (8 submissions a soum) on a fresh SQLite store, served by a test app."""
    app = create_app(Settings(data_dir=data))
    app.testing = True
    svc: Services = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, lock_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=8)
    return Web(app, svc, data)
