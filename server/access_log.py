"""gunicorn's access log, each line's fields worked out only when the format names them.

For every request gunicorn's own logger builds all of its atoms: the date,
the user (base64-decoding the Authorization header), one entry per request
header, response header and WSGI environ variable (some sixty), then copies
them all again to escape quotes, and ``logging`` walks the stack to find the
caller's file and line, which the access format never prints. The default
format reads nine atoms. A replicator sends four small requests per batch,
so this was an eighth of a small request's CPU (py-spy, bench/small_requests.py).

The lines are the same as gunicorn's for any ``access_log_format``
(tests/test_access_log.py compares them); they still go through the
``gunicorn.access`` logger, so ``--access-logfile``, syslog and ``logconfig``
work as before.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from gunicorn import glogging

_MISSING = "-"


class RequestAtoms:
    """One request's atoms, looked up by ``%``-formatting as gunicorn's ``SafeAtoms``
    answers them: ``{name}i/o/e`` case-insensitive, ``-`` for what is absent,
    double quotes in text escaped."""

    __slots__ = ("_logger", "_resp", "_req", "_environ", "_time")

    def __init__(self, logger: glogging.Logger, resp: Any, req: Any, environ: dict, request_time: timedelta):
        self._logger, self._resp, self._req = logger, resp, req
        self._environ, self._time = environ, request_time

    def __getitem__(self, key: str) -> Any:
        value = self._braced(key.lower()) if key.startswith("{") else self._atom(key)
        return value.replace('"', '\\"') if isinstance(value, str) else value

    def _atom(self, key: str) -> Any:
        environ, took = self._environ, self._time
        if key == "h":
            return environ.get("REMOTE_ADDR", _MISSING)
        if key == "u":
            return self._logger._get_user(environ) or _MISSING
        if key == "t":
            return self._logger.now()
        if key == "r":
            return f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        if key == "s":
            status = self._resp.status
            return status.split(None, 1)[0] if isinstance(status, str) else status
        if key in ("b", "B"):
            sent = getattr(self._resp, "sent", None)
            if key == "B":
                return sent
            return sent is not None and str(sent) or _MISSING
        if key in _FROM_ENVIRON:
            name, default = _FROM_ENVIRON[key]
            return environ.get(name, default)
        if key == "T":
            return took.seconds
        if key == "D":
            return took.seconds * 1000000 + took.microseconds
        if key == "M":
            return took.seconds * 1000 + int(took.microseconds / 1000)
        if key == "L":
            return f"{took.seconds:d}.{took.microseconds:06d}"
        if key == "p":
            return f"<{os.getpid()}>"
        return _MISSING  # "l" (always "-"), and names gunicorn does not know

    def _braced(self, key: str) -> Any:
        """``{name}i`` (request header), ``{name}o`` (response header), ``{name}e`` (environ).

        gunicorn keys them all lower-cased and, for repeated headers, keeps the last.
        """
        name, kind = key[1:-2], key[-2:]
        if kind == "}e":
            pairs: Any = self._environ.items()
        elif kind == "}i":
            pairs = getattr(self._req, "headers", self._req)
        elif kind == "}o":
            pairs = self._resp.headers
        else:
            return _MISSING
        if hasattr(pairs, "items"):
            pairs = pairs.items()
        found = _MISSING
        for header, value in pairs:
            if header.lower() == name:
                found = value
        return found


# Atoms read straight from the WSGI environ: (key, default when absent).
_FROM_ENVIRON = {
    "m": ("REQUEST_METHOD", None),
    "U": ("PATH_INFO", None),
    "q": ("QUERY_STRING", None),
    "H": ("SERVER_PROTOCOL", None),
    "f": ("HTTP_REFERER", _MISSING),
    "a": ("HTTP_USER_AGENT", _MISSING),
}


class AccessLogger(glogging.Logger):
    """gunicorn's logger with a cheaper ``access``; errors are logged as before."""

    def access_line(self, resp: Any, req: Any, environ: dict, request_time: timedelta) -> str:
        return self.cfg.access_log_format % RequestAtoms(self, resp, req, environ, request_time)

    def access(self, resp: Any, req: Any, environ: dict, request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        log = self.access_log
        if not log.isEnabledFor(logging.INFO):
            return
        try:
            line = self.access_line(resp, req, environ, request_time)
            # The record logging.info would make, without looking up the caller's
            # source file and line: the access format has no place for them.
            log.handle(log.makeRecord(log.name, logging.INFO, "(access)", 0, line, None, None))
        except Exception:
            self.exception("access log line failed")
