"""Running the app under gunicorn from our own command line.

Threads (gthread) rather than sync workers: a long-polling replica holds its
request open for up to a minute, and it must not starve the others.
"""

from __future__ import annotations

import gc
import os
import select
import socket
import threading
import time

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker


class Worker(ThreadWorker):
    """gthread, with three changes that matter to a replicator's stream of small requests.

    * It tells the arbiter it is alive once a second instead of on every event.
      gunicorn touches its heartbeat file on each turn of its event loop,
      several times per request; the arbiter only reads it to kill workers
      silent for ``timeout`` seconds, which threaded workers here switch off (a
      long-poll is silent on purpose). Measured with py-spy, the touch was 5% of
      a worker's CPU while proxying to CouchDB.
    * A thread that has answered a request on a kept-alive connection waits up
      to ``LINGER`` seconds for the next request on it and serves that too,
      instead of handing the connection back to the main thread's poller. A
      replicator sends its next request within milliseconds (revs_diff,
      bulk_docs, then the checkpoint's GET and PUT, batch after batch); each
      hand-back cost a pipe wake-up, two poller registrations and a thread-pool
      round trip, about a third of the CPU of a small request (py-spy, see
      bench/replication.py). A thread only lingers while another thread of the
      pool is free, so a waiting connection never holds up a new one.
    * What the app allocates while loading is frozen out of garbage collection.
    """

    LINGER = 0.1

    _notified = 0.0

    def notify(self) -> None:
        now = time.monotonic()
        if now - self._notified >= 1.0:
            self._notified = now
            super().notify()

    def init_process(self) -> None:
        self._busy = 0
        self._busy_lock = threading.Lock()
        super().init_process()

    def run(self) -> None:
        # The app is loaded: what exists now lives as long as the worker. Frozen,
        # it is no longer scanned by every full collection (py-spy: about 1 ms of
        # each batch of 100 pushed documents went to collecting ~40,000 objects
        # that could never be garbage).
        gc.collect()
        gc.freeze()
        super().run()

    def handle(self, conn):  # type: ignore[no-untyped-def]
        with self._busy_lock:
            self._busy += 1
        try:
            keep = super().handle(conn)
            while keep is True and self._next_request_comes(conn):
                keep = super().handle(conn)
            return keep
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _next_request_comes(self, conn) -> bool:  # type: ignore[no-untyped-def]
        """Whether this thread should serve the connection's next request itself."""
        if not self.alive or conn.is_http2 or self._busy >= self.cfg.threads:
            return False
        if conn.parser.unreader.buf.getvalue():
            return True  # read ahead while draining the last body
        poller = select.poll()
        poller.register(conn.sock, select.POLLIN)
        try:
            return bool(poller.poll(self.LINGER * 1000))
        except OSError:
            return False


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
