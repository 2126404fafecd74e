"""Server-level endpoints: the welcome document and health checks."""

from __future__ import annotations

import uuid

from flask import Blueprint

from ..jsonio import json_response, query_int
from ..services import services

bp = Blueprint("root", __name__)
VERSION = "0.1.0"


@bp.get("/")
def welcome():
    # Replicators read "couchdb" and "version" to decide which protocol features to use.
    return json_response({
        "couchdb": "Welcome",
        "version": "3.3.3",
        "vendor": {"name": "fieldsync", "version": VERSION},
        "features": ["partitioned"],
        "fieldsync": {"version": VERSION},
    })


@bp.get("/_up")
def up():
    store = services().store
    store.names()
    return json_response({"status": "ok"})


@bp.get("/_uuids")
def uuids():
    count = min(query_int("count", 1, minimum=1) or 1, 1000)
    return json_response({"uuids": [uuid.uuid4().hex for _ in range(count)]})
