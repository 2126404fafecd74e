"""Running the app under gunicorn from our own command line.

Threads (gthread) rather than sync workers: a long-polling replica holds its
request open for up to a minute, and it must not starve the others.
"""

from __future__ import annotations

import os
import socket
import time

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker


class Worker(ThreadWorker):
    """gthread, telling the arbiter it is alive once a second instead of on every event.

    gunicorn's worker touches its heartbeat file on each turn of its event loop,
    several times per request; the arbiter only reads it to kill workers silent
    for ``timeout`` seconds, which threaded workers here switch off (a long-poll
    is silent on purpose). Measured with py-spy, the touch was 5% of a worker's
    CPU while proxying to CouchDB.
    """

    _notified = 0.0

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._notified >= 1.0:
            self._notified = now
            super().notify()


class GunicornServer(BaseApplication):
    def __init__(self, app_factory, options: dict):
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return self.app_factory()


def check_can_listen(host: str, port: int) -> None:
    """Fail in one line when the address is taken, rather than after gunicorn's five retries."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
            sock.bind(address)
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(app_factory, host: str, port: int, workers: int, threads: int, quiet: bool = False) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "server.serving.Worker",
        "timeout": 0 if threads > 1 else 120,
        "graceful_timeout": 2,
        "control_socket_disable": True,
        "keepalive": 5,
        "accesslog": None if quiet else "-",
        "access_log_format": os.environ.get("FIELDSYNC_ACCESS_LOG_FORMAT"),
        "errorlog": "-",
        "loglevel": "warning" if quiet else "info",
    }
    GunicornServer(app_factory, options).run()
