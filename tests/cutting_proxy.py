"""A TCP proxy that cuts connections at random byte offsets, as a 2G link in a soum does.

A field device's sync must finish exactly once over a link that drops in
the middle of anything: a request half sent, an answer half received, a
photo half uploaded. Unit tests of the retry code cannot show that; a real
PouchDB replica talking through this proxy to a real server can.

Every accepted connection is paired with a fresh one to the upstream server.
With probability ``cut_probability`` the connection is given a byte budget
in each direction (device to server, server to device); once that many bytes
have passed in either direction, both sockets are closed
at once with an RST, mid-message, as a dropped link looks to both ends. The
budget is log-uniform in ``[1, max_offset]``: most cuts fall early (in
headers, small requests, the first bytes of an answer), and now and then a
connection lives long enough to carry a batch of photos, so the work can
progress. Devices keep connections alive, so one connection carries many
requests and a cut can fall in any of them. ``max_cuts`` bounds the damage so that a test
knows its run ends: past it, connections pass untouched.
"""

from __future__ import annotations

import math
import random
import select
import selectors
import socket
import struct
import threading
from dataclasses import dataclass, field
from types import TracebackType

CHUNK = 16384


@dataclass
class CutStats:
    """What the proxy did, for the test's assertions and the benchmark's table."""

    connections: int = 0
    cuts_upstream: int = 0  # device -> server bytes cut short
    cuts_downstream: int = 0  # server -> device bytes cut short
    bytes_up: int = 0
    bytes_down: int = 0
    offsets: list[int] = field(default_factory=list)

    @property
    def cuts(self) -> int:
        return self.cuts_upstream + self.cuts_downstream


class CuttingProxy:
    """Listens on a free loopback port and forwards to ``upstream`` (host, port)."""

    def __init__(self, upstream: tuple[str, int], *, cut_probability: float = 1.0, max_offset: int = 400_000,
                 max_cuts: int | None = None, seed: int = 0) -> None:
        self.upstream = upstream
        self.cut_probability = cut_probability
        self.max_offset = max_offset
        self.max_cuts = max_cuts
        self.rng = random.Random(seed)
        self.stats = CutStats()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True, name="cutting-proxy")

    @property
    def cutting(self) -> bool:
        return self.max_cuts is None or self.stats.cuts < self.max_cuts

    def url(self, scheme_and_credentials: str = "http://") -> str:
        """``http://[user:pw@]127.0.0.1:<port>``: the server as the device sees it."""
        return f"{scheme_and_credentials}127.0.0.1:{self.port}"

    def start(self) -> CuttingProxy:
        self._accepter.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._accepter.join(timeout=5)
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    def __enter__(self) -> CuttingProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- plumbing ---------------------------------------------------------------------------

    def _plan(self) -> tuple[int | None, int | None]:
        """Byte budgets (up, down) of one new connection; None: not cut that way."""
        with self._lock:
            self.stats.connections += 1
            if not self.cutting or self.rng.random() >= self.cut_probability:
                return None, None
            return self._offset(), self._offset()

    def _offset(self) -> int:
        return max(1, int(math.exp(self.rng.uniform(0.0, math.log(self.max_offset)))))

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True, name="cutting-proxy-conn")
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _reset(client)
            return
        budgets = list(self._plan())  # [up, down]
        ends = (client, server)
        selector = selectors.DefaultSelector()
        for index, sock in enumerate(ends):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, index)
        half_closed = [False, False]
        try:
            while not self._stopping.is_set() and not all(half_closed):
                for key, _ in selector.select(timeout=0.2):
                    source = key.data  # 0: device -> server (up), 1: server -> device (down)
                    if half_closed[source]:
                        continue
                    try:
                        data = ends[source].recv(CHUNK)
                    except BlockingIOError:
                        continue
                    except OSError:
                        return
                    if not data:
                        half_closed[source] = True
                        selector.unregister(ends[source])
                        try:
                            ends[1 - source].shutdown(socket.SHUT_WR)
                        except OSError:
                            return
                        continue
                    budget = budgets[source]
                    if budget is not None and len(data) >= budget:
                        if self._cut(ends[1 - source], data[:budget - 1], source):
                            return
                        # The quota ran out meanwhile: nothing was sent, so all of it passes on.
                        # (It used to drop the head here, and TCP never loses bytes mid-stream:
                        # a request or an answer missing its first bytes desynchronised the two
                        # ends of a kept-alive connection, and a device then took one answer for
                        # another.)
                        budgets[source] = None
                    elif budget is not None:
                        budgets[source] = budget - len(data)
                    if not _send_all(ends[1 - source], data):
                        return
                    self._count(source, len(data))
        finally:
            selector.close()
            for sock in ends:
                _reset(sock)

    def _cut(self, target: socket.socket, head: bytes, source: int) -> bool:
        """Pass ``head`` on, then drop the link; False when the cut quota ran out meanwhile."""
        with self._lock:
            if not self.cutting:
                return False
            if source == 0:
                self.stats.cuts_upstream += 1
            else:
                self.stats.cuts_downstream += 1
            self.stats.offsets.append(len(head))
        if head:
            _send_all(target, head)
            self._count(source, len(head))
        return True

    def _count(self, source: int, n: int) -> None:
        with self._lock:
            if source == 0:
                self.stats.bytes_up += n
            else:
                self.stats.bytes_down += n


def _send_all(sock: socket.socket, data: bytes) -> bool:
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            select.select([], [sock], [], 1.0)
            continue
        except OSError:
            return False
        view = view[sent:]
    return True


def _reset(sock: socket.socket) -> None:
    """Close with an RST (linger 0): a dropped link, not a polite goodbye."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
