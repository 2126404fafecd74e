"""Request bodies sent gzipped (``Content-Encoding: gzip``) are accepted, within the same limits.

On a 256 kbit/s link the field app's push is its bytes: PouchDB sends photos
base64 inline in ``_bulk_docs`` (a third more than the JPEG) and 300 visits of
JSON that compress five- to tenfold. Gzipped, base64 shrinks back to about the
JPEG's own size. Apache CouchDB takes gzipped request bodies too (and answers
415 to another coding); fieldsync says it does in an ``Accept-Encoding: gzip``
response header (RFC 7694), which the field app waits for before compressing.

The limits on a body apply to what it inflates to, so a few KB of gzip
inflating to gigabytes (a gzip bomb) is a 413 after at most the limit was
inflated, never a 500 or memory spent: the body is inflated in slices into a
temporary file that keeps its first ``MEMORY_BYTES`` in memory, and the app
then reads it as if it had come plain, with its inflated ``Content-Length``
(so ``server.oversize`` and the write gate judge it as any other batch).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from typing import IO, Any

try:
    from zlib_ng import zlib_ng as zlib
except ImportError:  # pragma: no cover - a platform zlib-ng has no wheel for
    import zlib  # type: ignore[no-redef]

from flask import Flask, Response
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import ClosingIterator

from .body_errors import GuardedInput
from .config import Settings
from .request_bodies import Limits

MEMORY_BYTES = 1024 * 1024
_SLICE = 64 * 1024
_GZIP = ("gzip", "x-gzip")


class _Refused(Exception):
    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


def inflate(raw: IO[bytes], length: int | None, limit: int) -> tuple[IO[bytes], int]:
    """The gzip body read from ``raw`` (``length`` bytes, or to its end), inflated into a
    temporary file, and its size; ``_Refused`` when it is not gzip or inflates past ``limit``."""
    out = tempfile.SpooledTemporaryFile(max_size=MEMORY_BYTES)
    size = 0
    inflater = zlib.decompressobj(31)
    left = length
    started = False
    try:
        while left is None or left > 0:
            chunk = raw.read(_SLICE if left is None else min(_SLICE, left))
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            while True:
                if inflater.eof:  # another gzip member follows (RFC 1952 allows several)
                    chunk = inflater.unused_data + chunk
                    if not chunk:
                        break
                    inflater = zlib.decompressobj(31)
                started = True
                data = inflater.decompress(chunk, _SLICE)
                chunk = inflater.unconsumed_tail
                size += len(data)
                if size > limit:
                    raise _Refused(413, "too_large", "The request body is larger than this server accepts "
                                   f"once inflated (at most {limit} bytes)")
                out.write(data)
                if not chunk and len(data) < _SLICE and not (inflater.eof and inflater.unused_data):
                    break  # all of this slice inflated (a full slice may have more waiting)
        if left:
            raise _Refused(400, "bad_request", "The request body ended before its announced length")
        if not started or not inflater.eof:
            raise _Refused(400, "bad_request", "The request body is not complete gzip data")
    except zlib.error:
        out.close()
        raise _Refused(400, "bad_request", "The request body is not valid gzip data") from None
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, size


def gunzip(wsgi_app: Callable[..., Any], limits: Limits) -> Callable[..., Any]:
    """``wsgi_app`` given gzipped request bodies inflated, with the limits on the inflated size."""

    def app(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        coding = environ.get("HTTP_CONTENT_ENCODING", "").strip().lower()
        if not coding or coding == "identity":
            return wsgi_app(environ, start_response)
        try:
            if coding not in _GZIP:
                raise _Refused(415, "bad_content_type",
                               f"{coding} is not a supported content encoding; gzip is")
            limit = limits.for_request(environ.get("REQUEST_METHOD", "").encode(),
                                       environ.get("PATH_INFO", "").encode("latin-1", "replace"))
            declared = environ.get("CONTENT_LENGTH", "").strip()
            length = int(declared) if (declared.isascii() and declared.isdigit()) else None
            if length is not None and length > limit:
                raise _Refused(413, "too_large", "The request body is larger than this server accepts")
            if length == 0 or (length is None and not environ.get("wsgi.input_terminated")):
                environ.pop("HTTP_CONTENT_ENCODING", None)  # no body (a GET, say): nothing to inflate
                return wsgi_app(environ, start_response)
            body, size = inflate(GuardedInput(environ["wsgi.input"]), length, limit)
        except _Refused as refused:
            return _answer(start_response, refused.status, refused.error, refused.reason)
        except HTTPException as exc:  # the body broke on the way (body_errors): the client's fault
            return _answer(start_response, exc.code or 400, "bad_request", exc.description or "bad body")
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(size)
        environ.pop("HTTP_CONTENT_ENCODING", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return ClosingIterator(wsgi_app(environ, start_response), body.close)

    return app


def _answer(start_response: Callable[..., Any], status: int, error: str, reason: str) -> list[bytes]:
    """CouchDB's error shape (``server.errors``), said before any of the app ran."""
    body = json.dumps({"error": error, "reason": reason}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               ("Accept-Encoding", "gzip")]
    names = {400: "Bad Request", 408: "Request Timeout", 413: "Request Entity Too Large",
             415: "Unsupported Media Type"}
    start_response(f"{status} {names.get(status, 'Error')}", headers)
    return [body]


def register(app: Flask, settings: Settings) -> None:
    """Inflate gzipped bodies before the app reads them, and say so on every answer."""

    @app.after_request
    def advertise(resp: Response) -> Response:
        resp.headers.setdefault("Accept-Encoding", "gzip")
        return resp

    app.wsgi_app = gunzip(app.wsgi_app, Limits(settings.max_body_bytes, settings.max_batch_bytes))  # type: ignore[method-assign]
