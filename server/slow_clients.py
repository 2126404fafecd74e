"""Deadlines that cut clients making no progress, never clients on a slow link.

Twenty connections that sent half a request line and then a byte every few
seconds used to hold every thread of the server: gunicorn's threads read a
request's headers with a blocking ``recv`` and no deadline. Now (see
``server.serving.Worker``):

* A request's headers are collected by the worker's event loop, without a
  thread, and only a request whose headers are complete is given to a
  thread. Headers must be complete ``header_seconds`` after their first byte
  (a 408, then the connection is closed); a new connection that sends nothing
  is closed after ``idle_seconds``. Headers are a few hundred bytes: on a
  256 kbit/s link with a 600 ms round trip they take well under two seconds.
* While a body is collected (by the event loop too, ``server.request_bodies``;
  so is the rest of a body refused unread) or a thread writes an answer, what
  counts is progress, not total time: in every ``stall_seconds`` spent waiting on the client it
  must move at least ``stall_seconds * min_rate`` bytes, or the connection is
  cut. A worker's phone pushing photos at 256 kbit/s moves some 30 KB a second,
  sixty times the default minimum (500 B/s), however long the push takes; a
  client dripping a byte every five seconds is cut within ``stall_seconds``.
  Time the app spends working (a long-poll waiting for changes) is not
  waiting on the client and does not count.
* One address holds at most ``per_address`` connections of each worker
  process; more are answered 503 and closed (behind a reverse proxy, which
  the server sees as one address, the bound is off unless set: the proxy's
  own, such as nginx ``limit_conn``, applies).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

# Largest request head (request line and headers) collected before a thread
# takes over; gunicorn's own limits (request line 4094 bytes, 100 fields of
# 8190) then refuse it with 400/431.
MAX_HEAD = 128 * 1024


@dataclass(frozen=True)
class Deadlines:
    header_seconds: float = 20.0
    idle_seconds: float = 30.0
    stall_seconds: float = 30.0
    min_rate: int = 500  # bytes per second waited on the client
    per_address: int = 256  # connections of one address per worker process; 0: no bound

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Deadlines:
        env = dict(os.environ if env is None else env)
        behind_proxy = _number(env, "FIELDSYNC_TRUSTED_PROXIES", 0) > 0
        return cls(
            header_seconds=_number(env, "FIELDSYNC_HEADER_SECONDS", cls.header_seconds),
            idle_seconds=_number(env, "FIELDSYNC_IDLE_SECONDS", cls.idle_seconds),
            stall_seconds=_number(env, "FIELDSYNC_STALL_SECONDS", cls.stall_seconds),
            min_rate=int(_number(env, "FIELDSYNC_MIN_BYTES_PER_SECOND", cls.min_rate)),
            per_address=int(_number(env, "FIELDSYNC_MAX_CONNECTIONS_PER_ADDRESS",
                                    0 if behind_proxy else cls.per_address)),
        )


def _number(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} cannot be negative")
    return value


class ClientSocket(socket.socket):
    """A client's socket whose blocking reads and writes end when the client stalls.

    ``watch()`` starts the progress rule for one request (a thread serving it);
    ``unwatch()`` ends it, so gunicorn's own timed closes work as before. Once
    cut, every further read or write fails at once: the connection is done.
    """

    __slots__ = ("_window", "_need", "_waited", "_moved", "cut")

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._window = 0.0
        self._need = 0
        self._waited = 0.0
        self._moved = 0
        self.cut = False

    def watch(self, deadlines: Deadlines) -> None:
        self._window = deadlines.stall_seconds
        self._need = int(deadlines.stall_seconds * deadlines.min_rate)
        self._waited = 0.0
        self._moved = 0

    def unwatch(self) -> None:
        if self._window:
            self._window = 0.0
            self.settimeout(None)  # blocking again; a timeout would make MSG_DONTWAIT wait

    def _allowed(self) -> float:
        if self.cut:
            raise TimeoutError("the client made no progress; connection cut")
        if self._moved >= self._need:
            self._waited, self._moved = 0.0, 0  # enough moved: a new window begins
        left = self._window - self._waited
        if left <= 0:
            self.cut = True
            raise TimeoutError("the client made no progress; connection cut")
        return left

    def _count(self, started: float, moved: int) -> None:
        self._waited += time.monotonic() - started
        self._moved += moved

    def recv(self, size: int, flags: int = 0) -> bytes:  # type: ignore[override]
        if not self._window:
            return super().recv(size, flags)
        while True:
            self.settimeout(self._allowed())
            started = time.monotonic()
            try:
                data = super().recv(size, flags)
            except TimeoutError:
                self._count(started, 0)
                continue  # _allowed() decides whether the window is spent
            self._count(started, len(data))
            return data

    def sendall(self, data, flags: int = 0) -> None:  # type: ignore[no-untyped-def, override]
        if not self._window:
            return super().sendall(data, flags)
        view = memoryview(data).cast("B")
        while view:
            self.settimeout(self._allowed())
            started = time.monotonic()
            try:
                sent = self.send(view, flags)
            except TimeoutError:
                self._count(started, 0)
                continue
            self._count(started, sent)
            view = view[sent:]
        return None


def head_complete(head: bytes | bytearray, start: int) -> bool:
    """Whether ``head`` holds a whole request head (searching from ``start``, the old length)."""
    begin = max(0, start - 3)
    return head.find(b"\r\n\r\n", begin) >= 0 or head.find(b"\n\n", begin) >= 0
