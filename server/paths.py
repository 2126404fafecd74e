"""Splitting a request path into segments the way CouchDB does.

Document ids may contain ``/`` when sent as ``%2F``; WSGI decodes the path
before routing, so the raw URI (which gunicorn and werkzeug both pass on) is
split first and each segment decoded after.
"""

from __future__ import annotations

from urllib.parse import unquote

from flask import request


def raw_segments() -> list[str]:
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
        return [unquote(s) for s in path.split("/") if s != ""]
    return [s for s in request.path.split("/") if s != ""]
