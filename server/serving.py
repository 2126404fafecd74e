"""Running the app under gunicorn from our own command line.

Threads (gthread) rather than sync workers: a long-polling replica holds its
request open for up to a minute, and it must not starve the others.
"""

from __future__ import annotations

import os
import socket

from gunicorn.app.base import BaseApplication


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
        "worker_class": "gthread",
        "timeout": 0 if threads > 1 else 120,
        "graceful_timeout": 2,
        "control_socket_disable": True,
        "keepalive": 5,
        # Workers touch a heartbeat file on every loop; in memory that costs nothing.
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        "accesslog": None if quiet else "-",
        "access_log_format": os.environ.get("FIELDSYNC_ACCESS_LOG_FORMAT"),
        "errorlog": "-",
        "loglevel": "warning" if quiet else "info",
    }
    GunicornServer(app_factory, options).run()
