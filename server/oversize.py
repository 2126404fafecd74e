"""A replicator's batch over the body limit is read anyway (up to a bound), to be answered per document.

PouchDB pushes photos inline, base64, in ``_bulk_docs``: one 60 MB photo makes
an 80 MB batch, over ``max_body_bytes``. Refused whole with 413, the batch is
sent again and again (PouchDB retries a failed batch forever, and cannot split
it), and the worker never learns which document is at fault. So a
``_bulk_docs`` body up to ``max_batch_bytes`` is read all the same, and the
write gate refuses the documents whose attachments are over
``max_attachment_bytes``, each with a ``forbidden`` answer, a feedback
document and its place in the sync monitor, while the others are stored.

Only a batch that is over the limit *because of* such attachments is read
this way: without them it must fit ``max_body_bytes``, else it is refused
whole with 413 as any other body over the limit (the attachments' base64 runs
are measured in the raw body, before any parsing). Only a known user's batch
is read (anyone else gets their 401 first). Reading such a batch holds it in
memory, so each process reads one at a time: another arriving meanwhile gets
the 413 (which the client reads, see ``server.serving``) and is sent again
later. Over ``max_batch_bytes`` a batch is refused whole.
"""

from __future__ import annotations

import re
import threading

from flask import Flask, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from .config import Settings
from .services import services


def register(app: Flask, settings: Settings) -> None:
    one_at_a_time = threading.BoundedSemaphore(1)

    @app.before_request
    def read_a_big_batch() -> None:
        length = request.content_length
        if (length is None or length <= settings.max_body_bytes or length > settings.max_batch_bytes
                or request.method != "POST" or not request.path.endswith("/_bulk_docs")):
            return
        if services().auth.current_user() is None or not one_at_a_time.acquire(blocking=False):
            return  # anonymous (401 comes first), or another big batch is being read: 413
        g.big_batch = one_at_a_time
        request.max_content_length = settings.max_batch_bytes
        body = request.get_data(cache=True)  # the view reads this same copy
        # Inline attachments are base64 strings: 4 characters for every 3 bytes.
        shortest = settings.max_attachment_bytes * 4 // 3 + 1
        oversize = sum(len(m.group(1)) for m in _inline_data(shortest).finditer(body))
        if len(body) - oversize > settings.max_body_bytes:
            raise RequestEntityTooLarge()

    @app.teardown_request
    def done(_exc: BaseException | None) -> None:
        held = g.pop("big_batch", None)
        if held is not None:
            held.release()


_PATTERNS: dict[int, re.Pattern[bytes]] = {}


def _inline_data(shortest: int) -> re.Pattern[bytes]:
    """``"data": "<base64>"`` with at least ``shortest`` characters of base64."""
    found = _PATTERNS.get(shortest)
    if found is None:
        found = _PATTERNS[shortest] = re.compile(rb'"data"\s*:\s*"([A-Za-z0-9+/=]{%d,})"' % shortest)
    return found
