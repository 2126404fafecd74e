"""Request bodies collected by the worker's event loop before a thread is given the request.

A thread reading a body with blocking reads is held for as long as the body
lasts: forty clients sending a large body at just above the minimum rate
(``server.slow_clients``) held every thread of a worker, and every request
with a body waited behind them. So, as nginx buffers a body before passing
the request on, the worker's event loop reads it without a thread, under the
same progress rule as a thread's reads, and a thread only gets a request
whose body has arrived whole. Up to ``MEMORY_BYTES`` of a body stay in
memory (and bodies still arriving hold at most ``ALL_MEMORY_BYTES`` of a
worker's memory in all), the rest goes to an unlinked temporary file
(``TMPDIR``; ``ALL_DISK_BYTES`` per worker in all), which the thread then
reads as if it came from the socket.

Only bodies the app may accept are collected: one whose ``Content-Length``
is over the limit (``FIELDSYNC_MAX_BODY_BYTES``, or ``FIELDSYNC_MAX_BATCH_BYTES``
for ``_bulk_docs``, see ``server.oversize``) goes to a thread at once, which
answers 413 and reads and discards the body under the progress rule; a
chunked body is handed over as soon as it grows past the limit. Anything
this module does not understand (both ``Content-Length`` and
``Transfer-Encoding``, a transfer coding other than chunked, a malformed
chunk) is handed over as it is, for gunicorn's parser to refuse with 400
exactly as before.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from typing import IO

from gunicorn.http.unreader import SocketUnreader

# The most of one body kept in memory while it arrives; beyond it, a temporary file.
MEMORY_BYTES = 1024 * 1024
# The most that all bodies still arriving keep in one worker's memory; past it, new bytes spill.
ALL_MEMORY_BYTES = 64 * 1024 * 1024
# The most that all bodies still arriving keep in one worker's temporary files; past it, a body
# that must spill goes to a thread as it is, to be read from the socket (as before bodies were
# collected): many large slow bodies then hold threads again, but never fill the disk.
ALL_DISK_BYTES = 1024 * 1024 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LINE_MAX = 4096  # a chunk-size line (with extensions) or a trailer field
_TRAILER_MAX = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    max_batch_bytes: int  # a _bulk_docs body (server.oversize reads these up to here)

    def for_request(self, method: bytes, target: bytes) -> int:
        if method == b"POST" and target.split(b"?", 1)[0].endswith(b"/_bulk_docs"):
            return max(self.max_body_bytes, self.max_batch_bytes)
        return self.max_body_bytes


def head_end(buf: bytes | bytearray) -> int:
    """Where the request head ends (just past its blank line), or -1 if it has not ended."""
    crlf = buf.find(b"\r\n\r\n")
    lf = buf.find(b"\n\n")
    ends = [i + 4 for i in (crlf,) if i >= 0] + [i + 2 for i in (lf,) if i >= 0]
    return min(ends) if ends else -1


class _Length:
    def __init__(self, length: int) -> None:
        self.left = length

    def feed(self, data: bytes | memoryview) -> bool:
        self.left -= len(data)
        return self.left <= 0


class _Chunked:
    """Follows chunked framing (RFC 9112 7.1) to know where the body ends; keeps nothing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.state = "size"
        self.line = bytearray()
        self.left = 0
        self.total = 0
        self.trailer = 0
        self.finished = False

    def feed(self, data: bytes | memoryview) -> bool:
        view = memoryview(data)
        while view and not self.finished:
            if self.state == "data":
                take = min(self.left, len(view))
                self.left -= take
                view = view[take:]
                if not self.left:
                    self.state = "crlf"
                continue
            newline = bytes(view[:_LINE_MAX + 1]).find(b"\n")
            if newline < 0:
                self.line += view
                view = view[len(view):]
                if len(self.line) > _LINE_MAX:
                    self.finished = True  # malformed: gunicorn's parser says so
                continue
            self.line += view[:newline]
            view = view[newline + 1:]
            line = bytes(self.line).rstrip(b"\r")
            self.line.clear()
            self._line(line)
        return self.finished

    def _line(self, line: bytes) -> None:
        if self.state == "size":
            size = line.split(b";", 1)[0].strip()
            if not _HEX.fullmatch(size):
                self.finished = True
                return
            self.left = int(size, 16)
            self.total += self.left
            if self.total > self.limit:
                self.finished = True  # over the limit: a thread answers 413
            self.state = "data" if self.left else "trailer"
        elif self.state == "crlf":
            self.finished = bool(line)  # anything but CRLF after a chunk's data is malformed
            self.state = "size"
        else:  # trailer fields, until a blank line
            self.trailer += len(line) + 2
            self.finished = not line or self.trailer > _TRAILER_MAX


class Body:
    """One request body while the event loop collects it."""

    def __init__(self, head_len: int, framing: _Length | _Chunked, expects_continue: bool) -> None:
        self.head_len = head_len
        self.framing = framing
        self.expects_continue = expects_continue
        self.spill: IO[bytes] | None = None
        self.spilled = 0

    @classmethod
    def start(cls, buf: bytearray, end: int, limits: Limits) -> Body | None:
        """The body still to come after the head ``buf[:end]`` (followed by what arrived of the
        body), or None when a thread should take the request now: no body, all of it here,
        over the limit, or framing only gunicorn should judge."""
        head = bytes(buf[:end])
        lower = head.lower()
        if b"content-length" not in lower and b"transfer-encoding" not in lower:
            return None
        lines = head.split(b"\n")
        request_line = lines[0].split()
        if len(request_line) != 3:
            return None
        method, target, version = request_line
        lengths, codings, expects = [], [], []
        for raw in lines[1:]:
            line = raw.rstrip(b"\r")
            if not line:
                continue
            name, colon, value = line.partition(b":")
            if not colon or line[:1] in (b" ", b"\t") or name != name.strip():
                return None
            name = name.lower()
            if name == b"content-length":
                lengths.append(value.strip())
            elif name == b"transfer-encoding":
                codings.append(value.strip().lower())
            elif name == b"expect":
                expects.append(value.strip().lower())
        limit = limits.for_request(method, target)
        framing: _Length | _Chunked
        if codings:
            if lengths or codings != [b"chunked"] or version != b"HTTP/1.1":
                return None
            framing = _Chunked(limit)
        else:
            if len(lengths) != 1 or not (lengths[0].isascii() and lengths[0].isdigit()):
                return None
            length = int(lengths[0])
            if length == 0 or length > limit:
                return None
            framing = _Length(length)
        if framing.feed(memoryview(buf)[end:]):
            return None
        return cls(end, framing, expects == [b"100-continue"] and version == b"HTTP/1.1")

    def drop_expect(self, buf: bytearray) -> None:
        """Take ``Expect: 100-continue`` out of the head: the loop answers it (the client
        waits for it before sending the body), and the thread must not answer it again."""
        lines = bytes(buf[:self.head_len]).split(b"\n")
        kept = [line for line in lines if line.split(b":", 1)[0].strip().lower() != b"expect"]
        head = b"\n".join(kept)
        buf[:self.head_len] = head
        self.head_len = len(head)

    def held(self, buf: bytearray) -> int:
        """How much of the body is in memory."""
        return len(buf) - self.head_len

    def take(self, data: bytes, buf: bytearray, crowded: bool = False, disk_full: bool = False) -> bool:
        """Keep what arrived of the body (in the file when ``crowded``: the worker holds too much
        in memory already); whether a thread should take the request now (also when it would
        spill and ``disk_full``: the thread then reads the rest from the socket)."""
        finished = self.framing.feed(data)
        if self.spill is None and (crowded or len(buf) - self.head_len + len(data) > MEMORY_BYTES):
            if disk_full:
                buf += data
                return True
            self.spill = tempfile.TemporaryFile()
            self.spilled = len(buf) - self.head_len
            self.spill.write(buf[self.head_len:])
            del buf[self.head_len:]
        if self.spill is not None:
            self.spill.write(data)
            self.spilled += len(data)
        else:
            buf += data
        return finished

    def hand_over(self) -> IO[bytes] | None:
        """The spilled part of the body, to be read after ``buf``; None if all is in memory."""
        if self.spill is not None:
            self.spill.seek(0)
        return self.spill

    def discard(self) -> None:
        if self.spill is not None:
            self.spill.close()
            self.spill = None


class Discard:
    """The rest of a body the app did not read (a refusal answered first), read and dropped by
    the event loop after the answer under the same progress rule, so that a client that writes
    its whole body before reading (PouchDB) gets the answer, and no thread waits for it."""

    expects_continue = False

    def __init__(self, length: int, keep: bool) -> None:
        self.left = length
        self.keep = keep  # the connection may carry another request once the body is past

    spilled = 0

    def held(self, buf: bytearray) -> int:
        return 0

    def take(self, data: bytes, buf: bytearray, crowded: bool = False, disk_full: bool = False) -> bool:
        if len(data) > self.left:
            buf += data[self.left:]  # the next request
        self.left = max(0, self.left - len(data))
        return not self.left

    def hand_over(self) -> None:
        return None

    def discard(self) -> None:
        pass


class SpillUnreader(SocketUnreader):
    """gunicorn's socket reader, reading a request's spilled body before the socket."""

    def __init__(self, sock, max_chunk: int = 8192) -> None:  # type: ignore[no-untyped-def]
        super().__init__(sock, max_chunk)
        self.spill: IO[bytes] | None = None

    def chunk(self, size_hint: int | None = None) -> bytes:
        if self.spill is not None:
            data = self.spill.read(max(size_hint or 0, self.max_body_chunk))
            if data:
                return data
            self.spill.close()
            self.spill = None
        return super().chunk(size_hint)

    def take_buffered(self) -> bytes:
        data = super().take_buffered()
        if self.spill is not None:  # a pipelined request that was spilled behind the body
            data += self.spill.read()
            self.spill.close()
            self.spill = None
        return data
