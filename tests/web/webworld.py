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

DEVICE = "PouchDB/9.0.0 (Tes tablet)"  # the user agent submit_with_photo pushes with
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


def jpeg(width: int = 1600, height: int = 1200, colour: tuple[int, int, int] = (180, 120, 60)) -> bytes:
    """A real photo-sized JPEG (a gradient, so it does not compress to nothing)."""
    import io

    from PIL import Image

    img = Image.new("RGB", (width, height), colour)
    pixels = img.load()
    for x in range(0, width, 4):
        for y in range(0, height, 4):
            pixels[x, y] = ((x * 7) % 256, (y * 3) % 256, (x + y) % 256)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def submit_with_photo(web: Web, author: str = "bolormaa", area: str = "uvs-tes", remarks: str = "Зурагтай айлчлал") -> dict:
    """A household visit with a dwelling photo, pushed through the write gate as its author."""
    import base64
    import random

    from sync import ids
    from sync.demo import household_visit, submission

    data = household_visit(random.Random(7))
    data["dwelling_photo"] = "ger.jpg"
    data["remarks"] = remarks
    doc = submission(f"{area}:sub:{ids.new_ulid()}", "household_visit", author, data, "2026-11-20T11:30:00+08:00")
    doc["_attachments"] = {"ger.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(jpeg()).decode()}}
    client = web.app.test_client(use_cookies=False)
    auth = base64.b64encode(f"{author}:{DEMO_PASSWORD}".encode()).decode()
    resp = client.post(f"/sync/{author}/_bulk_docs", json={"docs": [doc]},
                       headers={"Authorization": f"Basic {auth}", "User-Agent": DEVICE})
    assert resp.status_code == 201 and "rev" in resp.json[0], resp.json
    resp.close()  # the sync log records a request when its answer is closed
    return web.svc.store.open(area).get(doc["_id"])
