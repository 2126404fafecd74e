"""The OpenAPI 3 description of ``/api``, made from the routes the app really has.

Each ``/api`` rule of ``app.url_map`` whose view carries an ``@operation`` mark
(``server.api_validation``) becomes an operation; its request body and query
are the marshmallow schemas that validate them, turned into JSON Schema by
apispec's marshmallow plugin, so the description cannot drift from the checks.
A rule without the mark is left out here and named by
``tests/test_api_description.py``.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from werkzeug.routing import Rule

from .api_schemas.base import Error
from .api_validation import JSON_TYPE, Operation, operation_of
from .auth import COOKIE

PREFIX = "/api"
_ARG = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_INTRO = (
    "The JSON API admins and coordinators use: users, areas, forms, quarantine, conflicts, reviews, "
    "exports and sync status. Log in with HTTP Basic or the `AuthSession` cookie of `POST /_session`. "
    "Every failure is CouchDB's `{\"error\", \"reason\"}`; a 400 adds `fields`, naming each wrong member "
    "of the request (a dotted path; `body` for the body as a whole) with what is wrong with it."
)


def api_rules(app: Flask) -> list[Rule]:
    return sorted((r for r in app.url_map.iter_rules() if r.rule == PREFIX or r.rule.startswith(PREFIX + "/")),
                  key=lambda r: (r.rule, sorted(r.methods or ())))


def methods_of(rule: Rule) -> list[str]:
    return sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})


def openapi_path(rule: Rule) -> str:
    """``/api/users/<name>`` as ``/api/users/{name}``."""
    return _ARG.sub(lambda m: "{" + m["name"] + "}", rule.rule)


def describe(app: Flask) -> dict[str, Any]:
    """The description as a dict (made once per app: the routes do not change while it runs)."""
    cached = app.extensions.get("openapi")
    if cached is None:
        cached = app.extensions["openapi"] = _build(app)
    return cached


def _build(app: Flask) -> dict[str, Any]:
    spec = APISpec(title="fieldsync API", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], info={"description": _INTRO})
    spec.components.schema("Error", schema=Error)
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": COOKIE})
    for rule in api_rules(app):
        op = operation_of(app.view_functions[rule.endpoint])
        if op is None:
            continue
        methods = methods_of(rule)
        for method in methods:
            op_id = rule.endpoint if len(methods) == 1 else f"{rule.endpoint}.{method.lower()}"
            spec.path(path=openapi_path(rule), operations={method.lower(): _operation(rule, op, op_id)})
    return spec.to_dict()


def _operation(rule: Rule, op: Operation, op_id: str) -> dict[str, Any]:
    tag = op.tag or rule.rule.removeprefix(PREFIX + "/").split("/")[0] or "api"
    out: dict[str, Any] = {"operationId": op_id, "summary": op.summary, "tags": [tag],
                           "parameters": _path_parameters(rule), "responses": {}}
    if op.description:
        out["description"] = op.description
    if op.query is not None:
        out["parameters"].append({"in": "query", "schema": op.query})
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required, "content": {JSON_TYPE: {"schema": op.body}}}
    if 401 in op.errors:
        out["security"] = [{"basic": []}, {"session": []}]
    else:
        out["security"] = []  # open to anyone
    for status, words in op.responses().items():
        response: dict[str, Any] = {"description": words}
        if status == op.ok[0]:
            if op.ok[1] is not None:
                response["content"] = {op.content_type: {"schema": op.ok[1]}}
            elif op.content_type != JSON_TYPE:
                response["content"] = {op.content_type: {"schema": {"type": "string", "format": "binary"}}}
        elif status >= 400:
            response["content"] = {JSON_TYPE: {"schema": "Error"}}
        out["responses"][str(status)] = response
    return out


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    found = []
    for m in _ARG.finditer(rule.rule):
        words = "may contain `/`" if m["converter"] == "path" else ""
        kind = "integer" if m["converter"] == "int" else "string"
        found.append({"in": "path", "name": m["name"], "required": True, "schema": {"type": kind},
                      **({"description": words} if words else {})})
    return found
