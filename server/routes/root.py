"""Server-level endpoints: the welcome document and health checks."""

from __future__ import annotations

import uuid

from flask import Blueprint, redirect, request

from ..jsonio import json_response, query_int
from ..services import services

bp = Blueprint("root", __name__)
VERSION = "0.1.0"


def welcome_body() -> dict:
    """What CouchDB answers at ``/``; replicators read ``version`` and ``uuid``.

    PouchDB builds its replication ids from the server ``uuid`` when it finds
    one, so it must be stable (kept in the store) for checkpoints to survive a
    device reaching the server under another host name.
    """
    return {
        "couchdb": "Welcome",
        "version": "3.3.3",
        "uuid": server_uuid(),
        "vendor": {"name": "fieldsync", "version": VERSION},
        "features": ["partitioned"],
    }


def server_uuid() -> str:
    return services().identity()


@bp.get("/")
def root():
    """CouchDB's welcome to replicators; a browser (it prefers HTML) is sent to the web pages."""
    accept = request.accept_mimetypes
    resp = redirect("/web/") if accept["text/html"] > accept["application/json"] else json_response(welcome_body())
    resp.vary.add("Accept")
    return resp


@bp.get("/db/")
def welcome():
    return json_response(welcome_body())


@bp.get("/_up")
def up():
    store = services().store
    store.names()
    return json_response({"status": "ok"})


@bp.get("/_uuids")
def uuids():
    count = min(query_int("count", 1, minimum=1) or 1, 1000)
    return json_response({"uuids": [uuid.uuid4().hex for _ in range(count)]})
