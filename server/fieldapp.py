"""``/app``: the worker's offline field app, served as the static files its build made.

The app (fieldapp/ in the repository, built by ``make fieldapp`` into
fieldapp/dist/) is a page, a bundle and a service worker; everything else it
does goes through the replication and session endpoints. Files are sent with a
validator (ETag) so a phone on a thin link revalidates instead of downloading,
and the service worker and page are never cached blindly: a new build reaches
devices on their next visit with a network. ``FIELDSYNC_FIELDAPP_DIR`` points
elsewhere (a build kept beside a deployment).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from pathlib import Path

from flask import Blueprint, Response, redirect, request

from sync.errors import CouchError, NotFound

bp = Blueprint("fieldapp", __name__)

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "fieldapp" / "dist"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
          ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml", ".png": "image/png",
          ".json": "application/json"}
_cache: dict[Path, tuple[float, bytes, str]] = {}


def app_dir() -> Path:
    configured = os.environ.get("FIELDSYNC_FIELDAPP_DIR")
    return Path(configured) if configured else DEFAULT_DIR


def _read(path: Path) -> tuple[bytes, str]:
    """The file's bytes and ETag, re-read only when it changes (a rebuild while serving)."""
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        body = path.read_bytes()
        cached = (mtime, body, hashlib.blake2b(body, digest_size=12).hexdigest())
        _cache[path] = cached
    return cached[1], cached[2]


@bp.get("/app")
def app_root():
    return redirect("/app/", code=301)


@bp.get("/app/", defaults={"name": "index.html"})
@bp.get("/app/<path:name>")
def app_file(name: str):
    root = app_dir()
    if not (root / "index.html").is_file():
        raise CouchError("The field app is not built: run `make fieldapp` (or `make install`).",
                         error="service_unavailable", status=503)
    if "/" in name or name.startswith("."):
        raise NotFound("missing")
    path = root / name
    if not path.is_file():
        raise NotFound("missing")
    body, etag = _read(path)
    suffix = path.suffix
    resp = Response(body, mimetype=_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream")
    resp.set_etag(etag)
    if name in ("index.html", "sw.js", "version.json", "manifest.webmanifest"):
        resp.headers["Cache-Control"] = "no-cache"
    else:
        # Versioned by the page's ?v=; icons change rarely. The service worker holds them offline anyway.
        resp.headers["Cache-Control"] = "public, max-age=86400"
    if name == "sw.js":
        resp.headers["Service-Worker-Allowed"] = "/app/"
    if name == "index.html":
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; worker-src 'self'; manifest-src 'self'")
    return resp.make_conditional(request)
