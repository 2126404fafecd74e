"""Reading CouchDB's big JSON answers one array item at a time.

``_changes``, ``_all_docs`` and ``_bulk_get`` answer with one JSON object whose
interesting member is an array (``results`` or ``rows``) that may hold
thousands of documents, attachments inlined as base64. Parsing the whole body
would hold all of it at once; this reader keeps only the item being read (plus
one network chunk) and hands each complete item to ``orjson``.

It does not tokenize JSON itself: it only finds where each value ends, by
tracking brackets outside strings, with ``re`` jumping over the long runs of
ordinary characters (base64 data) in C. CouchDB writes one row per line and
pouchdb-server all rows on one line; neither matters here.

Finding the ends costs Python work per string in the body, some twenty times
what ``orjson`` takes for the whole. So a body that turns out to be small
(``whole_below`` bytes, e.g. one page of ordinary documents) is parsed in one
``orjson`` call instead; only a larger one (attachments inlined) is read item
by item. Memory is bounded either way: by that size, or by one item.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

_STRUCTURE = re.compile(rb'[{}\[\]"]')
_IN_STRING = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[,\]}\s]")
_WHITESPACE = b" \t\r\n"
_COMPACT_AFTER = 1 << 16


class JsonStreamError(ValueError):
    """The body was not the JSON object expected (truncated or malformed)."""


class ObjectStream:
    """The members of one top-level JSON object, its array ``field`` item by item.

    Iterating yields the items of ``field``; every other member is parsed whole
    into ``extra`` (``last_seq``, ``total_rows``...), complete once iteration ends.
    """

    def __init__(self, chunks: Iterable[bytes], field: str, *, whole_below: int = 0):
        self._chunks = iter(chunks)
        self._field = field
        self._whole_below = whole_below
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self.extra: dict[str, Any] = {}

    # -- buffer ------------------------------------------------------------
    def _fill(self) -> bool:
        """Append the next network chunk; False at the end of the body."""
        if self._eof:
            return False
        for chunk in self._chunks:
            if chunk:
                self._buf += chunk
                return True
        self._eof = True
        return False

    def _compact(self) -> None:
        if self._pos > _COMPACT_AFTER:
            del self._buf[: self._pos]
            self._pos = 0

    def _peek(self) -> int:
        """The next non-blank byte (not consumed)."""
        while True:
            buf = self._buf
            while self._pos < len(buf) and buf[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(buf):
                return buf[self._pos]
            if not self._fill():
                raise JsonStreamError("JSON body ended early")

    def _expect(self, char: bytes) -> None:
        if self._peek() != char[0]:
            raise JsonStreamError(f"expected {char!r} at byte {self._pos}")
        self._pos += 1

    # -- values ------------------------------------------------------------
    def _string_end(self, i: int) -> int:
        """Index after the closing quote of a string whose body starts at ``i``."""
        while True:
            m = _IN_STRING.search(self._buf, i)
            if m is None:
                i = max(i, len(self._buf))  # i may sit past the end after a trailing backslash
                if not self._fill():
                    raise JsonStreamError("unterminated string")
                continue
            if m.group() == b"\\":
                i = m.end() + 1
                continue
            return m.end()

    def _value_end(self) -> int:
        """Index just after the JSON value starting at the current position."""
        first = self._peek()
        start = self._pos
        if first == ord('"'):
            return self._string_end(start + 1)
        if first not in b"{[":
            i = start
            while True:
                m = _SCALAR_END.search(self._buf, i)
                if m is not None:
                    return m.start()
                i = len(self._buf)
                if not self._fill():
                    return i
        depth, i = 0, start
        while True:
            m = _STRUCTURE.search(self._buf, i)
            if m is None:
                i = len(self._buf)
                if not self._fill():
                    raise JsonStreamError("JSON body ended inside a value")
                continue
            ch, i = m.group(), m.end()
            if ch == b'"':
                i = self._string_end(i)
            elif ch in b"{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return i

    def _value(self) -> Any:
        end = self._value_end()
        try:
            value = orjson.loads(self._buf[self._pos : end])
        except orjson.JSONDecodeError as exc:
            raise JsonStreamError(str(exc)) from None
        self._pos = end
        self._compact()
        return value

    # -- object ------------------------------------------------------------
    def __iter__(self) -> Iterator[Any]:
        if self._whole_below:
            while len(self._buf) <= self._whole_below:
                if not self._fill():
                    yield from self._whole()
                    return
        self._expect(b"{")
        if self._peek() == ord("}"):
            self._pos += 1
            return
        while True:
            key = self._value()
            self._expect(b":")
            if key == self._field and self._peek() == ord("["):
                self._pos += 1
                if self._peek() == ord("]"):
                    self._pos += 1
                else:
                    while True:
                        yield self._value()
                        nxt = self._peek()
                        self._pos += 1
                        if nxt == ord("]"):
                            break
                        if nxt != ord(","):
                            raise JsonStreamError(f"expected ',' or ']' at byte {self._pos - 1}")
            else:
                self.extra[key] = self._value()
            nxt = self._peek()
            self._pos += 1
            if nxt == ord("}"):
                return
            if nxt != ord(","):
                raise JsonStreamError(f"expected ',' or '}}' at byte {self._pos - 1}")

    def _whole(self) -> Iterator[Any]:
        """The complete (small) body in one ``orjson`` call: the same items and ``extra``."""
        try:
            body = orjson.loads(self._buf)
        except orjson.JSONDecodeError as exc:
            raise JsonStreamError(str(exc)) from None
        self._buf = bytearray()
        if not isinstance(body, dict):
            raise JsonStreamError("expected a JSON object")
        items = body.pop(self._field) if isinstance(body.get(self._field), list) else ()
        self.extra.update(body)
        yield from items
