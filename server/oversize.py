"""A replicator's batch over the body limit is read anyway (up to a bound), to be answered per document.

PouchDB pushes photos inline, base64, in ``_bulk_docs``: one 60 MB photo makes
an 80 MB batch, over ``max_body_bytes``. Refused whole with 413, the batch is
sent again and again (PouchDB retries a failed batch forever, and cannot split
it), and the worker never learns which document is at fault. So a
``_bulk_docs`` body up to ``max_batch_bytes`` is read all the same, and the
write gate refuses the documents whose attachments are over
``max_attachment_bytes``, each with a ``forbidden`` answer, a feedback
document and its place in the sync monitor, while the others are stored.

Reading such a batch holds it in memory, so each process reads one at a time:
another arriving meanwhile gets the 413 (which the client reads, see
``server.serving``) and is sent again later. Over ``max_batch_bytes`` a batch
is refused whole.
"""

from __future__ import annotations

import threading

from flask import Flask, g, request

from .config import Settings


def register(app: Flask, settings: Settings) -> None:
    one_at_a_time = threading.BoundedSemaphore(1)

    @app.before_request
    def read_a_big_batch() -> None:
        length = request.content_length
        if (length is None or length <= settings.max_body_bytes or length > settings.max_batch_bytes
                or request.method != "POST" or not request.path.endswith("/_bulk_docs")):
            return
        if one_at_a_time.acquire(blocking=False):
            g.big_batch = one_at_a_time
            request.max_content_length = settings.max_batch_bytes

    @app.teardown_request
    def done(_exc: BaseException | None) -> None:
        held = g.pop("big_batch", None)
        if held is not None:
            held.release()
