"""Running the app under gunicorn from our own command line.

Threads (gthread) rather than sync workers: a long-polling replica holds its
request open for up to a minute, and it must not starve the others.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import io
import json
import os
import select
import selectors
import socket
import threading
import time
from collections import deque
from functools import partial

from gunicorn import http, util
from gunicorn.app.base import BaseApplication
from gunicorn.http import message
from gunicorn.http.body import LengthReader
from gunicorn.workers import gthread
from gunicorn.workers.gthread import ThreadWorker

from sync.accounts.verified import share_between_processes

from .config import Settings
from .request_bodies import (
    ALL_DISK_BYTES,
    ALL_MEMORY_BYTES,
    CONTINUE,
    Body,
    Discard,
    Limits,
    SpillUnreader,
    head_end,
)
from .slow_clients import MAX_HEAD, ClientSocket, Deadlines, head_complete

# handle()'s answer when the thread has closed the connection itself.
_CLOSED = object()
# handle()'s answer when the rest of an unread body is to be discarded by the event loop.
_DRAIN = object()


class Worker(ThreadWorker):
    """gthread, changed so that slow clients cannot starve it, and where a
    replicator's stream of small requests pays for it.

    A thread is only given a request whose head (request line and headers) and
    body have arrived whole: the main thread's event loop reads both without
    blocking, with deadlines (``server.slow_clients``, ``server.request_bodies``;
    issue 17: twenty connections dripping header bytes, or forty sending large
    bodies just above the minimum rate, used to hold every thread), and answers
    are cut only when the client stops making progress. One address holds a
    bounded number of connections. A body the app did not read (a refusal
    answered first) is read and discarded before the connection closes, so a
    client that writes its whole body before reading, as PouchDB does, gets
    the answer rather than a reset.

    PouchDB in Node.js (node-fetch 2, no agent) sends ``Connection: close`` and
    opens a new connection for every request; the CouchDB replicator and
    ``requests`` keep theirs alive. Both patterns were measured with strace and
    py-spy against plain gthread (bench/small_requests.py, bench/replication.py):

    * A new connection is accepted by one worker, not all. Every worker
      process polls the shared listening socket, and plain epoll woke them all
      for each connection (all but one got EAGAIN from accept):
      ``EPOLLEXCLUSIVE`` wakes one.
    * A thread that has answered a connection's last request closes it
      itself. Plain gthread handed every connection back to the main thread
      to be closed (a pipe wake-up per request), and closed it gracefully
      there: half-close, then block until the client's FIN, so the next
      connection waited to be accepted. When the client asked to close and
      sent nothing more, a plain close is enough (nothing unread, so no RST);
      otherwise the graceful close happens in the thread, never in the main
      loop.
    * A new connection's request is read at once when it came with the
      connection (PouchDB writes it right after connecting); only otherwise
      does the connection wait in the poller.
    * A thread that has answered a request on a kept-alive connection waits
      up to ``LINGER`` seconds for the next request on it and, when its whole
      head has come, serves that too,
      instead of handing the connection back to the main thread's poller: each
      hand-back cost a pipe wake-up, two poller registrations and a
      thread-pool round trip, about a third of the CPU of a small request. A
      thread only lingers while another thread of the pool is free, so a
      waiting connection never holds up a new one.
    * It tells the arbiter it is alive once a second instead of on every turn
      of its event loop (the arbiter only reads the heartbeat to kill workers
      silent for ``timeout`` seconds, which threaded workers here switch off: a
      long-poll is silent on purpose). The touch was 5% of a worker's CPU.
    * What the app allocates while loading is frozen out of garbage collection.
    * Per connection and per request, what never changes is worked out once:
      the settings (read through ``Config.__getattr__`` some twenty times a
      request), whether a client address may set X-Forwarded-* headers, and
      the listening socket's family, type and address (``accept`` asked the
      kernel and built enums for them every time). Together 15% of a small
      request's CPU (bench/small_requests.py).
    """

    LINGER = 0.1

    _notified = 0.0

    def init_process(self) -> None:
        if self.cfg.is_ssl:
            raise RuntimeError("fieldsync's worker reads request heads itself and does not "
                               "terminate TLS: put the reverse proxy in front (docs/deploy.md)")
        _freeze_settings(self.cfg)
        _remember_trusted_peers()
        self.deadlines = Deadlines.from_env()
        settings = Settings.from_env()
        self.limits = Limits(settings.max_body_bytes, settings.max_batch_bytes)
        self._body_memory = 0  # bytes of bodies still arriving held in memory, all connections
        self._body_disk = 0  # and in temporary files
        self._busy = 0
        self._busy_lock = threading.Lock()
        # What accept() needs of each listening socket, which never changes.
        self._listeners = {sock: (int(sock.family), int(sock.type), sock.proto, sock.getsockname())
                           for sock in self.sockets}
        # Connections closed by threads, counted off by the main thread, the only one
        # that touches nr_conns and the per-address counts (a `-= 1` from two threads
        # can lose one).
        self._closed_by_threads: deque = deque()
        # Connections in the poller waiting for (the rest of) a request head, and
        # how many connections each address holds.
        self._waiting: dict = {}
        self._per_address: dict[str, int] = {}
        self._next_sweep = 0.0
        super().init_process()

    def notify(self) -> None:
        # Called at the top of every turn of the main loop, before it decides
        # whether it may accept more connections.
        while self._closed_by_threads:
            self._gone(self._closed_by_threads.popleft())
        now = time.monotonic()
        if now - self._notified >= 1.0:
            self._notified = now
            super().notify()

    def run(self) -> None:
        # The app is loaded: what exists now lives as long as the worker. Frozen,
        # it is no longer scanned by every full collection (py-spy: about 1 ms of
        # each batch of 100 pushed documents went to collecting ~40,000 objects
        # that could never be garbage).
        gc.collect()
        gc.freeze()
        poller = _one_wakes_per_connection(self.sockets)
        if poller is not None:
            self.poller.close()
            self.poller = poller
        super().run()

    # -- connections, in the main thread ------------------------------------------------
    def accept(self, listener) -> None:  # type: ignore[no-untyped-def]
        # gthread's accept, minus what a connection of PouchDB (one per request)
        # paid on each: socket.accept() reads the listener's family and type back
        # as enums to build the new socket, and gthread asked the kernel for the
        # listener's own address (getsockname) every time (7% of a small request).
        try:
            fd, addr = listener._accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        family, kind, proto, name = self._listeners[listener]
        ip = addr[0] if isinstance(addr, tuple) and addr else "local"
        bound = self.deadlines.per_address
        if bound and self._per_address.get(ip, 0) >= bound and not self._drop_idle_of(ip):
            _refuse(socket.socket(family, kind, proto, fileno=fd), _TOO_MANY)
            return
        client = ClientSocket(family, kind, proto, fileno=fd)
        self.nr_conns += 1
        self._per_address[ip] = self._per_address.get(ip, 0) + 1
        conn = gthread.TConn(self.cfg, client, addr, name)  # non-blocking until a thread takes it
        conn.ip = ip
        conn.head = bytearray()
        conn.eof = False
        conn.body = None
        conn.spill = None
        # The request is usually there already (PouchDB writes it right after connecting).
        if self._pull_head(conn):
            self._head_arrived(conn)
        elif conn.eof:
            self._close(conn)
        else:
            self._wait_for_head(conn)

    def _drop_idle_of(self, ip: str) -> bool:
        """Close one of the address's connections kept alive with no request on it (the one idle
        longest, as the poller saw them), to make room.

        Devices behind one address (a crowd in a test, a carrier's NAT, a school's
        router) keep connections open between requests; a new connection with a request
        to make is worth more than an idle one, which its client may open again (nginx
        drains idle keep-alive connections the same way). Connections that never
        finished a request (a flood of silent ones) are not dropped: they still meet
        the bound.
        """
        for conn in self._waiting:
            if conn.ip == ip and conn.initialized and not conn.head and conn.body is None:
                self._stop_waiting(conn)
                self._close(conn)
                return True
        return False

    def _stop_waiting(self, conn) -> None:  # type: ignore[no-untyped-def]
        """Out of ``_waiting`` and the poller (which may have dropped it already)."""
        del self._waiting[conn]
        try:
            self.poller.unregister(conn.sock)
        except (OSError, KeyError, ValueError):
            pass

    def _wait_for_head(self, conn) -> None:  # type: ignore[no-untyped-def]
        """The poller waits for the connection's request head, no thread held."""
        now = time.monotonic()
        if conn.head:
            conn.deadline = now + self.deadlines.header_seconds
        elif conn.initialized:  # kept alive after a request
            conn.deadline = now + self.cfg.keepalive
        else:
            conn.deadline = now + self.deadlines.idle_seconds
        if not self.alive:
            conn.deadline = min(conn.deadline, now + gthread.STOP_KEEPALIVE_LINGER)
        self._waiting[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable_head, conn))

    def _readable_head(self, conn, _sock) -> None:  # type: ignore[no-untyped-def]
        had = len(conn.head)
        if not self._pull_head(conn) and not conn.eof:
            if not had and conn.head:  # the first bytes of a head: it has header_seconds from now
                conn.deadline = time.monotonic() + self.deadlines.header_seconds
            return
        self.poller.unregister(conn.sock)
        del self._waiting[conn]
        if conn.eof:
            self._close(conn)
        else:
            self._head_arrived(conn)

    def _head_arrived(self, conn) -> None:  # type: ignore[no-untyped-def]
        """A whole request head is here: a thread takes the request once its body is here too."""
        end = head_end(conn.head)
        body = Body.start(conn.head, end, self.limits) if end >= 0 else None
        if body is None:
            self.enqueue_req(conn)
            return
        if body.expects_continue:  # the client waits for this before sending the body
            body.drop_expect(conn.head)
            try:
                conn.sock.send(CONTINUE, socket.MSG_DONTWAIT)
            except OSError:
                self._close(conn)
                return
        conn.body = body
        self._body_memory += body.held(conn.head)
        conn.deadline = time.monotonic() + self.deadlines.stall_seconds
        conn.moved = 0
        self._waiting[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable_body, conn))

    def _readable_body(self, conn, _sock) -> None:  # type: ignore[no-untyped-def]
        """More of a body, under the progress rule of ``server.slow_clients``: every
        ``stall_seconds`` at least ``stall_seconds * min_rate`` bytes, or the client is cut."""
        try:
            data = conn.sock.recv(_BODY_READ, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        body = conn.body
        if data:
            held, spilled = body.held(conn.head), body.spilled
            finished = body.take(data, conn.head, crowded=self._body_memory > ALL_MEMORY_BYTES,
                                 disk_full=self._body_disk > ALL_DISK_BYTES)
            self._body_memory += body.held(conn.head) - held
            self._body_disk += body.spilled - spilled
            conn.moved += len(data)
            if conn.moved >= self.deadlines.stall_seconds * self.deadlines.min_rate:
                conn.moved = 0
                conn.deadline = time.monotonic() + self.deadlines.stall_seconds
            if not finished:
                return
        # Whole, or the client stopped sending (a half-close may still read the answer: the
        # thread finds the body short, as gunicorn always did).
        self.poller.unregister(conn.sock)
        del self._waiting[conn]
        self._body_memory -= body.held(conn.head)
        self._body_disk -= body.spilled
        conn.body = None
        if isinstance(body, Discard):
            if not data or not body.keep:
                self._close(conn)
            elif head_complete(conn.head, 0):
                self._head_arrived(conn)
            else:
                self._wait_for_head(conn)
            return
        conn.spill = body.hand_over()
        self.enqueue_req(conn)

    def _discard_rest(self, conn) -> None:  # type: ignore[no-untyped-def]
        """The rest of a body nobody read, answered already: read and dropped here."""
        conn.sock.setblocking(False)
        conn.body = Discard(*conn.drain)
        conn.deadline = time.monotonic() + self.deadlines.stall_seconds
        conn.moved = 0
        self._waiting[conn] = None
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable_body, conn))

    def _pull_head(self, conn) -> bool:  # type: ignore[no-untyped-def]
        """Read what has arrived, without blocking; whether a whole request head is held.

        ``conn.eof`` is set when the client closed or the connection failed.
        """
        try:
            data = conn.sock.recv(65536, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return head_complete(conn.head, len(conn.head)) if conn.head else False
        except OSError:
            conn.eof = True
            return False
        if not data:
            conn.eof = True
            return False
        had = len(conn.head)
        conn.head += data
        return head_complete(conn.head, had) or len(conn.head) > MAX_HEAD

    def murder_keepalived(self, force: bool = False) -> None:
        """Close connections whose head did not come in time (all of them when forced)."""
        now = time.monotonic()
        if not force and now < self._next_sweep:
            return
        self._next_sweep = now + 0.25
        expired = [c for c in self._waiting if force or c.deadline <= now]
        for conn in expired:
            self._stop_waiting(conn)
            if conn.body is not None:
                self._body_memory -= conn.body.held(conn.head)
                self._body_disk -= conn.body.spilled
                conn.body.discard()
                draining, conn.body = isinstance(conn.body, Discard), None
                if force or draining:  # (a refusal being drained was answered already)
                    self._close(conn)
                else:  # a body too slow: say so, then close
                    _refuse(conn.sock, _BODY_TIMED_OUT)
                    self._gone(conn)
            elif conn.head and not force:
                _refuse(conn.sock, _TIMED_OUT)  # headers too slow: say so, then close
                self._gone(conn)
            else:
                self._close(conn)

    def murder_pending(self) -> None:
        """Nothing: connections waiting for data are in ``_waiting`` (``murder_keepalived``)."""

    def _close(self, conn) -> None:  # type: ignore[no-untyped-def]
        try:
            conn.sock.close()
        except OSError:
            pass
        self._gone(conn)

    def _gone(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.nr_conns -= 1
        left = self._per_address.get(conn.ip, 1) - 1
        if left > 0:
            self._per_address[conn.ip] = left
        else:
            self._per_address.pop(conn.ip, None)

    def enqueue_req(self, conn) -> None:  # type: ignore[no-untyped-def]
        done = self.tpool.submit(self.handle, conn)
        done.add_done_callback(lambda fut: self._handled(conn, fut))

    def _handled(self, conn, fut) -> None:  # type: ignore[no-untyped-def]
        if not fut.cancelled() and fut.exception() is None and fut.result() is _CLOSED:
            self._closed_by_threads.append(conn)
        else:
            self.method_queue.defer(self.finish_request, conn, fut)

    def finish_request(self, conn, fut) -> None:  # type: ignore[no-untyped-def]
        try:
            keep = fut.result() if not fut.cancelled() else False
            if keep is _DRAIN:
                self._discard_rest(conn)
                return
            if keep is True:
                conn.sock.setblocking(False)
                if head_complete(conn.head, 0):
                    self._head_arrived(conn)  # the next request came with the last one
                else:
                    self._wait_for_head(conn)
                return
        except Exception:
            pass
        self._close(conn)

    # -- requests, in the pool's threads ----------------------------------------------------
    def handle(self, conn):  # type: ignore[no-untyped-def]
        with self._busy_lock:
            self._busy += 1
        try:
            keep = self._serve(conn)
            while keep is True and self._next_request_comes(conn):
                keep = self._serve(conn)
            if keep is _DRAIN:
                return _DRAIN
            if conn.eof:
                keep = False
            if keep is not True and not conn.is_http2:
                conn.sock.unwatch()
                if _client_is_done(conn):
                    conn.sock.close()
                else:
                    util.close_graceful(conn.sock)
                return _CLOSED
            return keep
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _serve(self, conn):  # type: ignore[no-untyped-def]
        """One request whose head has arrived; whether the connection stays open."""
        req = None
        sock = conn.sock
        try:
            sock.setblocking(True)
            conn.init()
            unreader = conn.parser.unreader
            if not isinstance(unreader, SpillUnreader):
                unreader = conn.parser.unreader = SpillUnreader(sock, unreader.mxchunk)
            if conn.spill is not None:  # the body, beyond what is in conn.head
                unreader.spill, conn.spill = conn.spill, None
            if conn.head:
                conn.parser.unreader.unread(bytes(conn.head))
                conn.head = bytearray()
            sock.watch(self.deadlines)
            req = next(conn.parser)
            if not req:
                return False
            keep = self.handle_request(req, conn)
            if not keep or sock.cut:
                return False
            # A body the app did not read (a refusal such as 413 sent first) is read and
            # discarded under the progress rule, up to a bound, before anything else:
            # closing with it unread would reset the connection, and a client that writes
            # its whole body before reading (PouchDB) would never see the answer. What is
            # still to come from the client is discarded by the event loop, not a thread.
            to_come = _still_to_come(conn.parser)
            if to_come:
                conn.drain = (min(to_come, _DRAIN_BYTES), to_come <= _DRAIN_BYTES)
                sock.unwatch()
                return _DRAIN
            try:
                drained = conn.parser.finish_body(max_bytes=_DRAIN_BYTES)
            except Exception:  # broken chunking in a body nobody read: the answer is sent
                drained = False
            if not drained:
                return False
            sock.unwatch()
            leftover = conn.parser.unreader.take_buffered()
            if leftover:
                conn.head = bytearray(leftover)
            return True
        except TimeoutError:
            self.log.info("cut %s: no progress for %ss", conn.client, self.deadlines.stall_seconds)
        except http.errors.NoMoreData as exc:
            self.log.debug("Ignored premature client disconnection. %s", exc)
        except StopIteration as exc:
            self.log.debug("Closing connection. %s", exc)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.exception("Socket error processing request.")
        except Exception as exc:
            sock.unwatch()
            self.handle_error(req, sock, conn.client, exc)
        return False

    def _next_request_comes(self, conn) -> bool:  # type: ignore[no-untyped-def]
        """Whether this thread should serve the connection's next request itself:
        only when its whole head is here (a head still arriving waits in the poller)."""
        if not self.alive or conn.is_http2 or self._busy >= self.cfg.threads:
            return False
        if conn.head and head_complete(conn.head, 0):
            return self._body_is_here(conn)
        if not _readable(conn.sock, self.LINGER):
            return False
        conn.sock.setblocking(False)
        complete = self._pull_head(conn)
        if conn.eof:
            conn.head = bytearray()
            return False  # handle() closes it: nothing more will come
        return complete and self._body_is_here(conn)

    def _body_is_here(self, conn) -> bool:  # type: ignore[no-untyped-def]
        """Whether the request whose head is in ``conn.head`` may be served now; if its body
        is still to come, the event loop collects it (the thread hands the connection back)."""
        end = head_end(conn.head)
        return end < 0 or Body.start(conn.head, end, self.limits) is None


# Answers given without a thread, before closing: a connection over the
# per-address bound, and a request whose headers took too long.
def _canned(status: str, error: str, reason: str, *extra: str) -> bytes:
    body = json.dumps({"error": error, "reason": reason}).encode() + b"\n"
    head = [f"HTTP/1.1 {status}", "Connection: close", *extra, "Content-Type: application/json",
            f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


_TOO_MANY = _canned("503 Service Unavailable", "too_many_connections",
                    "Too many connections from your address.", "Retry-After: 5")
_TIMED_OUT = _canned("408 Request Timeout", "request_timeout", "The request headers took too long.")
_BODY_TIMED_OUT = _canned("408 Request Timeout", "request_timeout", "The request body came too slowly.")
# The most read of a body at a time by the event loop.
_BODY_READ = 256 * 1024
# The most of an unread body drained after answering (see Worker._serve).
_DRAIN_BYTES = 512 * 1024 * 1024


def _refuse(sock: socket.socket, answer: bytes) -> None:
    try:
        sock.send(answer, socket.MSG_DONTWAIT)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        sock.close()


def _freeze_settings(cfg) -> None:  # type: ignore[no-untyped-def]
    """Every setting as a plain attribute of ``cfg``.

    gunicorn reads its settings through ``Config.__getattr__``, a dict lookup
    and a method call per read, some twenty reads per request (5% of a small
    request's CPU, py-spy). A worker's settings never change after the fork,
    so each is read once here; properties of the class keep working as before.
    """
    for name, setting in cfg.settings.items():
        if not hasattr(type(cfg), name):
            object.__setattr__(cfg, name, setting.get())


def _remember_trusted_peers() -> None:
    """Decide once per client address whether it may set X-Forwarded-* headers.

    gunicorn parses the peer's address and tests it against every network of
    ``forwarded_allow_ips`` on each request (4% of a small request's CPU); the
    answer only depends on the address and the (fixed) setting.
    """
    decide = getattr(message, "_ip_in_allow_list", None)
    if decide is None or getattr(decide, "remembers", False):
        return
    known: dict[tuple, bool] = {}

    def remembered(ip: str, allow_list, networks) -> bool:  # type: ignore[no-untyped-def]
        key = (ip, id(allow_list), id(networks))
        found = known.get(key)
        if found is None:
            if len(known) >= 4096:
                known.clear()
            found = known[key] = decide(ip, allow_list, networks)
        return found

    remembered.remembers = True  # type: ignore[attr-defined]
    message._ip_in_allow_list = remembered


def _readable(sock: socket.socket, timeout: float) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    try:
        return bool(poller.poll(timeout * 1000))
    except OSError:
        return False


def _still_to_come(parser) -> int:  # type: ignore[no-untyped-def]
    """How much of the request's unread body (with a length) has not arrived yet; that much
    will be discarded by the event loop, so what is buffered of it is dropped now."""
    reader = getattr(parser.mesg.body, "reader", None)
    unreader = parser.unreader
    if not isinstance(reader, LengthReader) or getattr(unreader, "spill", None) is not None:
        return 0
    to_come = reader.length - len(unreader.buf.getvalue())
    if to_come <= 0:
        return 0  # all of it is here (and perhaps the next request): the thread reads past it
    unreader.buf = io.BytesIO()  # all body
    reader.length = 0
    return to_come


def _client_is_done(conn) -> bool:  # type: ignore[no-untyped-def]
    """Whether closing now cannot cut off the response: the client asked to close,
    its whole request was read, and nothing more has arrived (closing a socket
    with unread bytes sends RST, which may destroy the response in flight)."""
    req = conn.parser.mesg if conn.parser is not None else None
    if req is None or not req.should_close():
        return False
    reader = getattr(req.body, "reader", None)
    unreader = conn.parser.unreader
    if (not isinstance(reader, LengthReader) or reader.length or unreader.buf.getvalue()
            or getattr(unreader, "spill", None) is not None):
        return False
    try:
        return not conn.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False


def _one_wakes_per_connection(listeners: list) -> selectors.BaseSelector | None:
    """gthread's poller with the listening sockets registered ``EPOLLEXCLUSIVE``
    (Linux); None where there is no such flag, and gthread keeps its own."""
    if not hasattr(selectors, "EpollSelector") or not hasattr(select, "EPOLLEXCLUSIVE"):
        return None
    exclusive = {id(sock) for sock in listeners}

    class Poller(selectors.EpollSelector):
        def register(self, fileobj, events, data=None):  # type: ignore[no-untyped-def]
            key = super().register(fileobj, events, data)
            if id(fileobj) in exclusive:
                # The flag can only be given when a descriptor is added.
                self._selector.unregister(key.fd)
                self._selector.register(key.fd, select.EPOLLIN | select.EPOLLEXCLUSIVE)
            return key

    return Poller()


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


def _tune_malloc() -> None:
    """glibc's allocator as a threaded server needs it, set before the fork (workers inherit it).

    By default glibc gives each thread that allocates at once an arena of its own, up
    to 8 per core, and each arena keeps what it freed; and a freed block over its mmap
    threshold raises the threshold (up to 32 MB), so later request bodies and answers
    of a few hundred KB come from the arenas too and stay there. With 200 devices
    syncing at once fieldsync peaked at 760 MB (bench/crowd.py); two arenas and a
    fixed 128 KB threshold (large buffers mapped and unmapped, given back at once):
    300 MB, at no measurable CPU cost. ``MALLOC_ARENA_MAX`` or
    ``MALLOC_MMAP_THRESHOLD_`` in the environment win.
    """
    if os.environ.get("MALLOC_ARENA_MAX") or os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return  # not glibc
    m_mmap_threshold, m_arena_max = -3, -8  # <malloc.h>
    mallopt(m_arena_max, 2)
    mallopt(m_mmap_threshold, 128 * 1024)


def serve(app_factory, host: str, port: int, workers: int, threads: int, quiet: bool = False) -> None:
    # Before the fork: a password one worker has checked is known to all of them.
    share_between_processes()
    _tune_malloc()
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "server.serving.Worker",
        "logger_class": "server.access_log.AccessLogger",
        "timeout": 0 if threads > 1 else 120,
        "graceful_timeout": 2,
        "control_socket_disable": True,
        # Idle kept-alive connections cost a file descriptor, no thread. Longer than the
        # idle timeout of the clients' pools (Node's agent: 5 s), so a client does not send a
        # request on a connection the server is closing at that moment ("socket hang up":
        # 1 device in 200 of bench/crowd.py with gunicorn's 5 s).
        "keepalive": 15,
        "accesslog": None if quiet else "-",
        "access_log_format": os.environ.get("FIELDSYNC_ACCESS_LOG_FORMAT"),
        "errorlog": "-",
        "loglevel": "warning" if quiet else "info",
    }
    GunicornServer(app_factory, options).run()
