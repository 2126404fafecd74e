"""The API description as a page people read: every ``/api`` operation with its parameters,
request body and answers, rendered on the server from ``/api/openapi.json`` (no script, no CDN).

Open to anyone, like the description itself. The headings are in the reader's
language; the operations' own words come from the schemas and stay in English.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, render_template
from markupsafe import Markup, escape

from ..openapi import describe

bp = Blueprint("api_docs", __name__)
_METHODS = ("get", "put", "post", "patch", "delete")
_CODE = re.compile(r"`{1,2}([^`]+)`{1,2}")


@bp.app_template_filter("code_spans")
def code_spans(text: str) -> Markup:
    """The description's `quoted` names as <code>, everything else escaped."""
    return Markup(_CODE.sub(lambda m: f"<code>{m[1]}</code>", str(escape(text))))


@bp.get("/api")
def page():
    spec = describe(current_app)
    schemas = spec.get("components", {}).get("schemas", {})
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in spec["paths"].items():
        for method in _METHODS:
            if method in item:
                op = _operation(path, method, item[method], schemas)
                groups.setdefault(op["tag"], []).append(op)
    return render_template("api_docs.html", groups=groups, info=spec["info"], version=spec["openapi"])


def _operation(path: str, method: str, op: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    body = op.get("requestBody")
    body_schema = body["content"]["application/json"]["schema"] if body else None
    return {
        "id": op["operationId"], "method": method.upper(), "path": path, "summary": op.get("summary", ""),
        "description": op.get("description", ""), "tag": (op.get("tags") or ["api"])[0],
        "open": not op.get("security"),
        "parameters": [{"name": p["name"], "in": p["in"], "type": type_words(p.get("schema", {})),
                        "required": p.get("required", False), "description": p.get("description", "")}
                       for p in op.get("parameters", [])],
        "body": _members(body_schema, schemas) if body_schema else None,
        "body_name": _ref_name(body_schema) if body_schema else None,
        "body_required": bool(body and body.get("required")),
        "responses": [{"status": status, "description": r.get("description", ""),
                       "content": [(ctype, type_words(c.get("schema", {}))) for ctype, c in r.get("content", {}).items()]}
                      for status, r in op["responses"].items()],
    }


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def _members(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    name = _ref_name(schema)
    schema = schemas.get(name, {}) if name else schema
    required = set(schema.get("required", ()))
    return [{"name": member, "type": type_words(prop), "required": member in required,
             "description": prop.get("description", "")}
            for member, prop in schema.get("properties", {}).items() if not prop.get("readOnly")]


def type_words(schema: dict[str, Any]) -> str:
    """A JSON Schema as a short phrase: ``list of text``, ``one of: a, b``, ``NewUser``."""
    if "$ref" in schema:
        return _ref_name(schema) or "object"
    if "enum" in schema:
        return "one of: " + ", ".join(str(v) for v in schema["enum"] if v is not None)
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = "/".join(k for k in kind if k != "null")
    words = {"string": "text", "integer": "whole number", "number": "number", "boolean": "true/false",
             "object": "object"}.get(kind, kind)
    if kind == "array":
        words = "list of " + type_words(schema.get("items", {}))
    if schema.get("format") == "binary":
        words = "file"
    bounds = [f"≥ {schema['minimum']}" if "minimum" in schema else "",
              f"≤ {schema['maximum']}" if "maximum" in schema else "",
              f"{schema['minLength']}-{schema.get('maxLength', '')} chars" if "minLength" in schema else
              (f"≤ {schema['maxLength']} chars" if "maxLength" in schema else "")]
    bounds = [b for b in bounds if b]
    if schema.get("nullable"):
        bounds.append("or null")
    return words + (f" ({', '.join(bounds)})" if bounds else "")
