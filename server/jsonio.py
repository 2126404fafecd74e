"""JSON in and out, the CouchDB way: orjson, strict parsing, clear 4xx errors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from flask import Response, request

from sync.errors import BadRequest, UnsupportedMediaType

JSON_TYPE = "application/json"


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    resp = Response(orjson.dumps(body, default=_default) + b"\n", status=status, mimetype=JSON_TYPE)
    if headers:
        resp.headers.update(headers)
    return resp


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, default=_default)


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes | bytearray | memoryview):
        import base64

        return base64.b64encode(bytes(obj)).decode()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def stream_array(head: bytes, items: Iterable[Any], tail: bytes, chunk: int = 65536) -> Iterator[bytes]:
    """``head``, the items as a comma-separated JSON list body, ``tail``: in ~64 KB pieces.

    Large answers leave as they are produced, so memory stays flat however big
    the database, while small pieces are not sent one by one.
    """
    buf = bytearray(head)
    for i, item in enumerate(items):
        if i:
            buf += b",\n"
        buf += dumps(item)
        if len(buf) >= chunk:
            yield bytes(buf)
            buf.clear()
    buf += tail
    yield bytes(buf)


def parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("invalid UTF-8 JSON") from None


def read_json(*, require_type: bool = True, expect: type | None = dict) -> Any:
    """The request body as JSON; 415 for another content type, 400 when malformed."""
    ctype = (request.mimetype or "").lower()
    if require_type and ctype and ctype != JSON_TYPE:
        raise UnsupportedMediaType("Content-Type must be application/json")
    body = parse_json(request.get_data(cache=False))
    if expect is not None and not isinstance(body, expect):
        raise BadRequest(f"Request body must be a JSON {'object' if expect is dict else 'array'}")
    return body


def query_json(name: str, default: Any = None) -> Any:
    """A query parameter that CouchDB encodes as JSON (``open_revs``, ``keys``...)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(f"Query parameter {name!r} must be valid JSON") from None


def query_bool(name: str, default: bool = False) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0", ""):
        return False
    raise BadRequest(f"Query parameter {name!r} must be true or false")


def query_int(name: str, default: int | None = None, minimum: int = 0) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"Query parameter {name!r} must be an integer") from None
    if value < minimum:
        raise BadRequest(f"Query parameter {name!r} must be at least {minimum}")
    return value


def query_str_json(name: str) -> str | None:
    """``startkey``/``endkey``: JSON strings in CouchDB; bare strings are accepted too."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    if not isinstance(value, str):
        raise BadRequest(f"Query parameter {name!r} must be a JSON string")
    return value
