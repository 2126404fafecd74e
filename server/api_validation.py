"""Each ``/api`` view states its request once, as marshmallow schemas; the same schemas
validate the request and describe it in the OpenAPI document (``server.openapi``).

A view is marked with ``@operation(...)`` (under its route decorator) and reads
its input with ``request_body()`` / ``request_query()``, which find the schemas
through that mark, so what is documented is what is checked. A route without
the mark is left out of the description, and ``tests/test_api_description.py``
names it.

A wrong request gets one ``400`` listing every wrong member in plain words:
``{"error": "bad_request", "reason": "name is required; areas.0 must be text",
"fields": {"name": "is required", "areas.0": "must be text"}}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from flask import current_app, request
from marshmallow import Schema, ValidationError

from sync.errors import BadRequest, UnsupportedMediaType

from .jsonio import JSON_TYPE

# What each error status means when an operation does not say more.
STATUS_WORDS = {
    200: "done", 201: "created", 302: "moved: follow Location",
    400: "a member of the request is wrong; `fields` names each one",
    401: "not logged in (HTTP Basic or the session cookie)",
    403: "logged in, but this role may not do this",
    404: "no such thing, or not in the caller's areas",
    409: "the thing changed or exists already",
    413: "the request body is larger than this server accepts",
    415: "the body is not sent as application/json",
}
BODY = "body"  # the name a wrong request body as a whole goes by in ``fields``


@dataclass(frozen=True)
class Operation:
    """What one view takes and answers; ``server.openapi`` turns it into an OpenAPI operation."""

    summary: str
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    ok: tuple[int, Any] = (200, None)  # success status and the schema (instance or class) of its body
    errors: Mapping[int, str] = field(default_factory=dict)
    body_required: bool = True
    content_type: str = JSON_TYPE  # of the success answer
    description: str = ""
    tag: str | None = None  # the group it is listed in (default: the first segment after /api/)

    def responses(self) -> dict[int, str]:
        return {self.ok[0]: STATUS_WORDS.get(self.ok[0], "done"), **self.errors}


def operation(summary: str, *, body: type[Schema] | None = None, query: type[Schema] | None = None,
              ok: tuple[int, Any] = (200, None), errors: Mapping[int, str] | tuple[int, ...] = (),
              body_required: bool = True, content_type: str = JSON_TYPE, tag: str | None = None) -> Callable:
    """Mark a view with what it takes and answers. ``errors`` are the 4xx it can give:
    statuses (described by ``STATUS_WORDS``) or status -> words. A body adds 400, 413 and 415."""
    described = {s: STATUS_WORDS[s] for s in errors} if not isinstance(errors, Mapping) else dict(errors)
    if body is not None:
        for status in (400, 413, 415):
            described.setdefault(status, STATUS_WORDS[status])
    if query is not None:
        described.setdefault(400, STATUS_WORDS[400])

    def mark(view: Callable) -> Callable:
        view.api_operation = Operation(summary, body, query, ok, dict(sorted(described.items())),
                                       body_required, content_type, (view.__doc__ or "").strip(), tag)
        return view

    return mark


def operation_of(view: Callable) -> Operation | None:
    return getattr(view, "api_operation", None)


def _current() -> Operation:
    op = operation_of(current_app.view_functions[request.endpoint])
    if op is None:
        raise LookupError(f"{request.endpoint} has no @operation: mark it before reading its input")
    return op


def request_body() -> dict:
    """The body, checked by the operation's ``body`` schema. No body at all reads as ``{}``,
    so a missing member is reported by name rather than as unreadable JSON."""
    op = _current()
    schema = op.body()
    data = request_json(schema)
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise invalid(flatten(exc.messages), schema) from None


def request_json(schema: Schema | None = None) -> dict:
    """The body as a JSON object, for a view that checks it further itself (a form definition):
    415 for another content type, and a 400 naming ``body`` when it is not JSON or not an object."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        return {}
    ctype = (request.mimetype or "").lower()
    if ctype and ctype != JSON_TYPE:
        raise UnsupportedMediaType("Content-Type must be application/json")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid({BODY: "is not valid UTF-8 JSON"}, schema) from None
    if schema is None and not isinstance(data, dict):
        raise invalid({BODY: "must be a JSON object"})
    return data


def request_query() -> dict:
    """The query parameters, checked by the operation's ``query`` schema (the first of repeats)."""
    schema = _current().query()
    try:
        return schema.load(request.args.to_dict(flat=True))
    except ValidationError as exc:
        raise invalid(flatten(exc.messages), schema) from None


def flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``{"areas.0": "must be text"}``."""
    if isinstance(messages, list | tuple):
        words = " and ".join(dict.fromkeys(str(m) for m in messages if not isinstance(m, dict)))
        out = {prefix or BODY: words} if words else {}
        for m in messages:
            if isinstance(m, dict):
                out.update(flatten(m, prefix))
        return out
    if isinstance(messages, dict):
        out: dict[str, str] = {}
        for key, inner in messages.items():
            key = str(key)
            if key == "_schema":
                path = prefix or BODY
            elif key == "value" and prefix:  # a Dict field's value: the entry itself is at fault
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else key
            out.update(flatten(inner, path))
        return out
    return {prefix or BODY: str(messages)}


def invalid(fields: dict[str, str], schema: Schema | None = None) -> BadRequest:
    """One 400 naming every wrong member; a body that is not an object lists what it should hold."""
    parts = []
    for path, words in fields.items():
        if path == BODY and schema is not None and schema.fields:
            expected = ", ".join(f.data_key or name for name, f in schema.fields.items())
            parts.append(f"The request body {words} (with {expected})")
        elif path == BODY:
            parts.append(f"The request body {words}")
        else:
            parts.append(f"{path} {words}")
    return BadRequest("; ".join(parts), extra={"fields": fields})


@contextmanager
def blame(*names: str) -> Iterator[None]:
    """A ``BadRequest`` from ``sync/`` about the named member(s) gets them in ``fields``
    (sync/ speaks in sentences and knows nothing of request bodies)."""
    try:
        yield
    except BadRequest as exc:
        if not names or exc.extra and "fields" in exc.extra:
            raise
        reason = exc.reason
        if not all(n.lower() in reason.lower() for n in names):
            reason = f"{', '.join(names)}: {reason}"
        raise BadRequest(reason, extra={**(exc.extra or {}), "fields": {n: exc.reason for n in names}}) from None
