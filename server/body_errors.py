"""A request body the client broke is the client's error (400), never a 500.

gunicorn parses the transfer encoding while the app reads the body, so a bad
chunk size (``zz``), a missing chunk terminator, or a body that ends before
its ``Content-Length`` (the client half-closed or went away) surface as
exceptions inside whatever route was reading. Every route would have to catch
them; instead the body stream itself turns them into werkzeug's ``BadRequest``
(a 408 for a client that stopped sending, see ``server.serving``), which the
JSON and the web error handlers already answer in their own shape.
"""

from __future__ import annotations

from typing import Any

from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import BadRequest, RequestTimeout


class _Unusable(BadRequest):
    description = "The request body could not be read: {}"

    def __init__(self, why: str) -> None:
        super().__init__(self.description.format(why))


def _translated(exc: BaseException) -> Exception:
    if isinstance(exc, TimeoutError):
        return RequestTimeout("The request body stopped arriving; it was not used.")
    if isinstance(exc, NoMoreData):
        return _Unusable("it ended before its announced length")
    return _Unusable(str(exc) or type(exc).__name__)


_BROKEN = (ParseException, NoMoreData, TimeoutError)


class GuardedInput:
    """``wsgi.input`` whose transport failures are 4xx errors."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, *args: Any) -> bytes:
        try:
            return self._inner.read(*args)
        except _BROKEN as exc:
            raise _translated(exc) from None

    def readline(self, *args: Any) -> bytes:
        try:
            return self._inner.readline(*args)
        except _BROKEN as exc:
            raise _translated(exc) from None

    def readlines(self, *args: Any) -> list[bytes]:
        try:
            return self._inner.readlines(*args)
        except _BROKEN as exc:
            raise _translated(exc) from None

    def __iter__(self) -> GuardedInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def guard(wsgi_app: Any) -> Any:
    """``wsgi_app`` with its request bodies read through ``GuardedInput``."""

    def app(environ: dict, start_response: Any) -> Any:
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = GuardedInput(stream)
        return wsgi_app(environ, start_response)

    return app
