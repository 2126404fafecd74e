"""``/sync/<user>``: a worker's whole replica behind one URL.

The user (or an admin) replicates with it exactly as with a CouchDB database;
``sync.replica.union.UserReplica`` does the union, filtering and routing, and the
protocol handlers are the same ones ``/db/<scope>`` uses. Each request is
added to the user's sync log when its response has been sent.
"""

from __future__ import annotations

import logging

from flask import Blueprint, request

from sync.accounts.access import Access
from sync.accounts.users import check_name
from sync.errors import Forbidden, NotFound, PreconditionFailed, Unauthorized
from sync.replica.monitor import checkpoint_direction
from sync.replica.union import UserReplica

from ..auth import require_user
from ..jsonio import json_response
from ..paths import raw_segments
from ..services import services
from .replication import ALL, dispatch
from .root import welcome_body

bp = Blueprint("user_replica", __name__)


class CountingReplica(UserReplica):
    """Counts what a request moved, and which way, for the sync log.

    A request is part of a pull when it reads the changes feed or documents in
    bulk, of a push when it diffs or writes revisions; reading or writing a
    replication checkpoint tells which replication it belongs to. Anything else
    (a plain ``GET`` of the replica, one document) is no sync.
    """

    read = written = refused = 0
    refusals: tuple[dict, ...] = ()  # what was refused and why, for the sync monitor
    pushed = pulled = False
    checkpoint: tuple[str, str | None] | None = None

    def _checkpointed(self, docid: str, last_seq: object) -> None:
        direction = checkpoint_direction(last_seq)
        self.checkpoint = (docid, direction)
        if direction == "push":
            self.pushed = True
        elif direction == "pull":
            self.pulled = True

    def get_local(self, docid):
        try:
            doc = super().get_local(docid)
        except NotFound:
            self.checkpoint = (docid, None)
            raise
        self._checkpointed(docid, doc.get("last_seq"))
        return doc

    def put_local(self, docid, body):
        rev = super().put_local(docid, body)
        self._checkpointed(docid, body.get("last_seq") if isinstance(body, dict) else None)
        return rev

    def changes(self, *args, **kwargs):
        self.pulled = True
        return super().changes(*args, **kwargs)

    def revs_diff(self, request):
        self.pushed = True
        return super().revs_diff(request)

    def bulk_docs(self, docs, *, new_edits=True):
        self.pushed = True
        results = super().bulk_docs(docs, new_edits=new_edits)
        refusals = [{"id": r.get("id"), "reason": r.get("reason"), "messages": r.get("messages")}
                    for r in results if r.get("error") == "forbidden"]
        failed = sum(1 for r in results if "error" in r)
        self.refused += len(refusals)
        self.refusals += tuple(refusals)
        self.written += len(docs) - failed
        return results

    def bulk_get(self, items, **opts):
        self.pulled = True
        for result in super().bulk_get(items, **opts):
            self.read += sum(1 for d in result["docs"] if "ok" in d)
            yield result

    def open_revs(self, docid, revs, **opts):
        self.pulled = True
        found = super().open_revs(docid, revs, **opts)
        self.read += sum(1 for f in found if "ok" in f)
        return found


class _FormsOnce:
    """The form registry for one request: the sensitive forms looked up once.

    Every row of a worker's ``_changes`` and every document of a ``_bulk_get``
    asks whether its form is sensitive, and on SQLite each answer re-read the
    ``global`` scope's sequence (7% of the server's CPU in bench/crowd.py). A
    form made sensitive while a request runs applies from the next request.
    """

    def __init__(self, forms) -> None:  # type: ignore[no-untyped-def]
        self._forms = forms
        self._sensitive: frozenset[str] | None = None

    def sensitive_forms(self) -> frozenset[str]:
        if self._sensitive is None:
            self._sensitive = self._forms.sensitive_forms()
        return self._sensitive

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._forms, name)


def _request_access(access: Access) -> Access:
    once = Access.__new__(type(access))
    once.__dict__.update(access.__dict__)
    once.forms = _FormsOnce(access.forms)
    return once


def _replica(name: str) -> CountingReplica:
    svc = services()
    try:
        actor = require_user(svc.auth)
    except Unauthorized:
        retired = svc.auth.retired_owner(name) if name else None
        if retired is None:
            raise
        # A disabled account's own device: a replica with no areas takes them off it (server/auth.py).
        return CountingReplica(svc.store, retired, retired, _request_access(svc.access), svc.gate,
                               seal=svc.settings.secret_key.encode())
    if name:
        check_name(name)
    if actor.name != name and not actor.is_admin:
        raise Forbidden("You may only sync your own replica.")
    owner = actor if actor.name == name else svc.users.get(name)
    if owner is None:
        raise NotFound("Database does not exist.")
    if owner.disabled:
        raise Forbidden("This account is disabled.")
    return CountingReplica(svc.store, owner, actor, _request_access(svc.access), svc.gate,
                           seal=svc.settings.secret_key.encode())


def _recorder(replica: CountingReplica):  # type: ignore[no-untyped-def]
    svc = services()
    user_agent = request.headers.get("User-Agent")
    device = request.headers.get("X-Device-Id") or request.args.get("device_id")

    def record() -> None:
        try:
            svc.synclog.record(replica.owner.name, user_agent=user_agent, device_id=device,
                               read=replica.read, written=replica.written, refused=replica.refused,
                               refusals=list(replica.refusals),
                               pushed=replica.pushed, pulled=replica.pulled,
                               checkpoint=replica.checkpoint)
        except Exception:  # the log is bookkeeping; a failure must not fail the sync
            logging.getLogger("fieldsync").exception("sync log write failed")

    return record


def _logged(replica: CountingReplica, path: list[str]):
    """The request's answer; the sync log counts it once the answer is sent. A checkpoint a
    replicator looks for and has not written yet (404: its first run) is counted at once:
    the device has started a replication (``SyncLog.record``, ``sync.replica.receipts``)."""
    record = _recorder(replica)
    try:
        resp = dispatch(replica, path)
    except NotFound:
        if replica.checkpoint is not None:
            record()
        raise
    resp.call_on_close(record)
    return resp


@bp.route("/sync/", methods=["GET", "HEAD"])
def sync_root():
    return json_response(welcome_body())


@bp.route("/sync/<name>", methods=ALL)
@bp.route("/sync/<name>/", methods=ALL)
def replica_root(name: str):
    replica = _replica(name)
    if request.method == "PUT":
        raise PreconditionFailed("The database could not be created, the file already exists.")
    if request.method == "DELETE":
        raise Forbidden("A user's replica cannot be deleted.")
    return _logged(replica, [])


@bp.route("/sync/<name>/<anypath:rest>", methods=ALL)  # as /db/: a bad id gets its 400
def replica_path(name: str, rest: str):
    replica = _replica(name)
    return _logged(replica, raw_segments()[2:])
