"""``/api/openapi.json``: the API's OpenAPI 3 description, and ``/api/docs``, where people read it.

Both are open to anyone: they describe what may be asked, not what is stored.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, url_for

from ..api_validation import operation
from ..jsonio import json_response
from ..openapi import describe

bp = Blueprint("api_description", __name__, url_prefix="/api")


@bp.get("/openapi.json")
@operation("This description (OpenAPI 3)", ok=(200, {"type": "object"}), tag="description")
def openapi_json():
    return json_response(describe(current_app), headers={"Cache-Control": "public, max-age=300"})


@bp.get("/docs")
@operation("The description as a web page (in the caller's language)", ok=(302, None), content_type="text/html",
           tag="description")
def docs():
    return redirect(url_for("web.api_docs.page"), 302)
