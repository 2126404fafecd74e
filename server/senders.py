"""Who is sending: what a request says of its device, for the receipts of the revisions it writes.

The write gate and the conflict resolver tell the sync log of every submission
revision they store (``sync.replica.receipts``); they know the user, not the
request. A device is told apart as the sync log tells it (``X-Device-Id``, else
the user agent); ``via`` is the entry point (a replica under ``/sync``, an area
under ``/db``, the JSON API, a web page), ``server`` outside any request (the
command line), ``merge`` for the server's own merge of disjoint edits.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import has_request_context, request

from sync.audit import SERVER
from sync.replica.receipts import Sender
from sync.replica.synclog import SyncLog

_VIAS = (("/sync/", "sync"), ("/db/", "db"), ("/api/", "api"), ("/web/", "web"))


def request_sender() -> Sender:
    if not has_request_context():
        return Sender()
    via = next((name for prefix, name in _VIAS if request.path.startswith(prefix)), "db")
    return Sender(device_id=request.headers.get("X-Device-Id") or request.args.get("device_id"),
                  user_agent=request.headers.get("User-Agent"), via=via)


def receipts_to(synclog: SyncLog) -> Callable[[str, list[tuple[str, str]]], None]:
    """The callback the gate and the resolver call with ``(user, [(doc id, rev)])``."""

    def received(user: str, revisions: list[tuple[str, str]]) -> None:
        sender = Sender(via="merge") if user == SERVER else request_sender()
        synclog.received(user, revisions, sender)

    return received
