"""A TCP proxy that behaves like a slow mobile link: limited bandwidth and a long round trip.

Each direction delivers what it read ``rtt / 2`` seconds later and no faster
than ``bits_per_second``; it holds at most ``window`` bytes in flight, so a
side that writes faster than the link carries is made to wait, as TCP would
make it (the server's writes block, its reads see the bytes trickle in).
Used to show that fieldsync's deadlines against slow clients
(server/slow_clients.py) never cut a real sync on such a link.
"""

from __future__ import annotations

import queue
import socket
import threading
import time

CHUNK = 1460  # about one TCP segment


class SlowLink:
    def __init__(self, upstream: tuple[str, int], *, bits_per_second: int = 256_000, rtt: float = 0.6,
                 window: int = 64 * 1024) -> None:
        self.upstream = upstream
        self.rate = bits_per_second / 8
        self.delay = rtt / 2
        self.window = window
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.carried = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def url(self, credentials: str = "") -> str:
        return f"http://{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"

    def __enter__(self) -> SlowLink:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for source, target in ((client, server), (server, client)):
                pending: queue.Queue = queue.Queue(maxsize=max(1, self.window // CHUNK))
                threading.Thread(target=self._read, args=(source, pending), daemon=True).start()
                threading.Thread(target=self._deliver, args=(target, pending), daemon=True).start()

    def _read(self, source: socket.socket, pending: queue.Queue) -> None:
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            pending.put((time.monotonic() + self.delay, data))  # blocks while the window is full
            if not data:
                return

    def _deliver(self, target: socket.socket, pending: queue.Queue) -> None:
        free_at = time.monotonic()
        while True:
            due, data = pending.get()
            if not data:
                try:
                    target.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            free_at = max(free_at, due) + len(data) / self.rate
            wait = free_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                target.sendall(data)
            except OSError:
                return
            with self._lock:
                self.carried += len(data)
