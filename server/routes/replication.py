"""The database-level replication protocol, for any replication target.

A target is anything with the ``sync.stores.base.Database`` interface: a scope
database at ``/db/<scope>`` (admins) and, from the users issue on, a user's
replica at ``/sync/<user>``. The handlers below never know which.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, g, request
from werkzeug.routing import PathConverter

from sync.accounts.standing import Standing
from sync.audit import AUDIT_SCOPE
from sync.docs import check_doc, check_local_id
from sync.errors import BadRequest, Forbidden, NotFound
from sync.gate.write_gate import GatedDatabase
from sync.revtree import parse_rev
from sync.scopes import check_scope_name
from sync.stores.base import Database

from ..auth import require_admin
from ..changes_feed import FeedOptions, open_body
from ..jsonio import (
    dumps,
    json_response,
    query_bool,
    query_int,
    query_json,
    query_str_json,
    read_json,
    stream_array,
)
from ..paths import raw_segments
from ..services import services
from . import documents

bp = Blueprint("replication", __name__)


class AnyPath(PathConverter):
    """A path that may hold line breaks too (werkzeug's ``path`` stops at them), so
    that a bad document id or attachment name gets its 400 rather than a 404."""

    regex = "[^/][\\s\\S]*?"


@bp.record_once
def _register_converter(state) -> None:  # runs before the routes below are added
    state.app.url_map.converters.setdefault("anypath", AnyPath)


ALL = ["GET", "HEAD", "PUT", "POST", "DELETE", "COPY"]


def resolve_scope(name: str) -> Database:
    """A scope database for an admin; its writes still pass the write gate."""
    svc = services()
    admin = require_admin(svc.auth)
    check_scope_name(name)
    return GatedDatabase(svc.store.open(name), svc.gate, admin)


# The audit trail is append-only: the server appends, nobody edits or deletes, admins included.
APPEND_ONLY = frozenset({AUDIT_SCOPE})
POSTED_READS = frozenset({"_all_docs", "_changes", "_bulk_get"})


def _refuse_writes(scope: str, segments: list[str]) -> None:
    if scope not in APPEND_ONLY or request.method in ("GET", "HEAD"):
        return
    if request.method == "POST" and len(segments) == 1 and segments[0] in POSTED_READS:
        return
    raise Forbidden("The audit trail cannot be changed through any endpoint.")


@bp.route("/db/<scope>", methods=ALL)
@bp.route("/db/<scope>/", methods=ALL)
def scope_root(scope: str):
    _refuse_writes(scope, [])
    svc = services()
    if request.method == "PUT":
        require_admin(svc.auth)
        check_scope_name(scope)
        svc.store.create(scope)
        return json_response({"ok": True}, 201)
    if request.method == "DELETE":
        require_admin(svc.auth)
        check_scope_name(scope)
        svc.store.delete(scope)
        return json_response({"ok": True})
    return database_root(resolve_scope(scope))


@bp.route("/db/<scope>/<anypath:rest>", methods=ALL)
def scope_path(scope: str, rest: str):
    segments = raw_segments()[2:]
    _refuse_writes(scope, segments)
    db = resolve_scope(scope)
    return dispatch(db, segments)


def database_root(db: Database) -> Response:
    if request.method in ("GET", "HEAD"):
        return json_response(db.info())
    if request.method == "POST":
        return documents.post_document(db)
    raise _not_allowed()


def _not_allowed():
    from werkzeug.exceptions import MethodNotAllowed

    return MethodNotAllowed()


def dispatch(db: Database, segments: list[str]) -> Response:
    """Route the part of the path after the database name."""
    if not segments:
        return database_root(db)
    head = segments[0]
    if head.startswith(("_design/", "_local/")):  # the prefix's slash sent as %2F
        segments = head.split("/", 1) + segments[1:]
        head = segments[0]
    handler = DB_HANDLERS.get(head)
    if handler is not None:
        if len(segments) != 1:
            raise NotFound("missing")
        return handler(db)
    if head == "_local":
        if len(segments) < 2:
            raise BadRequest("_local needs a document id")
        return local_document(db, check_local_id("/".join(segments[1:])))
    if head == "_design":
        if len(segments) < 2:
            raise NotFound("missing")
        docid = "_design/" + segments[1]
        return documents.document_or_attachment(db, docid, segments[2:])
    if head.startswith("_"):
        raise BadRequest("Only reserved document ids may start with underscore.")
    return documents.document_or_attachment(db, head, segments[1:])


# -- _changes ----------------------------------------------------------------
def changes(db: Database) -> Response:
    if request.method not in ("GET", "POST"):
        raise _not_allowed()
    body = read_json() if request.method == "POST" and request.content_length else {}
    args = request.args
    feed = args.get("feed", "normal")
    if feed not in ("normal", "longpoll", "continuous", "eventsource"):
        raise BadRequest("feed must be normal, longpoll or continuous")
    style = args.get("style", "main_only")
    if style not in ("main_only", "all_docs"):
        raise BadRequest("style must be main_only or all_docs")
    doc_ids = None
    filt = args.get("filter")
    if filt == "_doc_ids":
        doc_ids = body.get("doc_ids") if body else query_json("doc_ids")
        if not isinstance(doc_ids, list) or not all(isinstance(d, str) for d in doc_ids):
            raise BadRequest("filter=_doc_ids needs doc_ids, a JSON list of strings")
    elif filt:
        raise BadRequest(f"unsupported filter {filt!r}; only _doc_ids is served")
    settings = services().settings
    since_raw = args.get("since", body.get("since", 0) if isinstance(body, dict) else 0)
    # Checked here, before the response starts: an error in a stream cannot be a 400.
    # ``now`` is the database's update_seq, a position the store itself issued.
    since = db.update_seq() if since_raw == "now" else db.parse_since(since_raw)
    opts = FeedOptions(
        feed=feed,
        since=since,
        limit=query_int("limit", None, minimum=0),
        style=style,
        include_docs=query_bool("include_docs"),
        conflicts=query_bool("conflicts"),
        attachments=query_bool("attachments"),
        doc_ids=doc_ids,
        descending=query_bool("descending"),
        heartbeat_ms=_heartbeat(args.get("heartbeat")),
        timeout_ms=query_int("timeout", settings.default_changes_timeout_ms, minimum=0),
        seq_interval=query_int("seq_interval", None, minimum=1),
        max_seconds=settings.max_feed_seconds,
        standing=_standing(db) if feed != "normal" else None,
    )
    if opts.limit == 0:
        opts.limit = 1  # CouchDB treats limit=0 as 1
    # The store's first answer is read here, inside the request: its errors get their status.
    return Response(open_body(db, opts, since), mimetype="application/json")


def _standing(db: Database) -> Standing | None:
    """What a live feed re-checks while it runs: the asker's account and the replica owner's."""
    # A disabled account's own replica (server/auth.py, retired_owner) has no areas: nothing to re-check.
    users = [u for u in (g.get("user"), getattr(db, "owner", None)) if u is not None and not u.disabled]
    return Standing(services().users, users) if users else None


def _heartbeat(raw: str | None) -> int | None:
    if raw is None:
        return None
    if raw == "true":
        return 60_000
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("heartbeat must be a number of milliseconds or true") from None
    if value <= 0:
        raise BadRequest("heartbeat must be positive")
    return max(value, 100)


# -- writes --------------------------------------------------------------------
def bulk_docs(db: Database) -> Response:
    if request.method != "POST":
        raise _not_allowed()
    body = read_json()
    docs = body.get("docs")
    if not isinstance(docs, list):
        raise BadRequest("POST body must include `docs` parameter.")
    new_edits = body.get("new_edits", True)
    if not isinstance(new_edits, bool):
        raise BadRequest("new_edits must be a boolean")
    if body.get("all_or_nothing"):
        raise BadRequest("all_or_nothing is not supported")
    for doc in docs:
        if isinstance(doc, dict) and "_id" not in doc and new_edits:
            doc["_id"] = documents.new_doc_id()
        check_doc(doc, new_edits=new_edits)
    results = db.bulk_docs(docs, new_edits=new_edits)
    return json_response(results, 201)


def ensure_full_commit(db: Database) -> Response:
    if request.method != "POST":
        raise _not_allowed()
    # Every batch is committed with synchronous=FULL before we answer.
    return json_response({"ok": True, "instance_start_time": "0"}, 201)


def revs_diff(db: Database) -> Response:
    if request.method != "POST":
        raise _not_allowed()
    body = read_json()
    for docid, revs in body.items():
        if not isinstance(revs, list) or not all(isinstance(r, str) for r in revs):
            raise BadRequest(f"revisions of {docid!r} must be a list of strings")
        for rev in revs:
            parse_rev(rev)  # CouchDB: 400 "Invalid rev format"
    return json_response(db.revs_diff(body))


# -- reads ---------------------------------------------------------------------
def bulk_get(db: Database) -> Response:
    if request.method != "POST":
        raise _not_allowed()
    body = read_json()
    wanted = body.get("docs")
    if not isinstance(wanted, list):
        raise BadRequest("POST body must include `docs` parameter.")
    for item in wanted:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise BadRequest("each entry of docs needs an id")
        if "rev" in item and not isinstance(item["rev"], str):
            raise BadRequest("rev must be a string")
        if "atts_since" in item and not isinstance(item["atts_since"], list):
            raise BadRequest("atts_since must be a list")
    results = db.bulk_get(wanted, revisions=query_bool("revs"),
                          attachments=query_bool("attachments"), latest=query_bool("latest"))

    return Response(stream_array(b'{"results":[', results, b"]}\n"), mimetype="application/json")


def all_docs(db: Database) -> Response:
    if request.method not in ("GET", "POST", "HEAD"):
        raise _not_allowed()
    keys = query_json("keys")
    if request.method == "POST":
        body = read_json()
        keys = body.get("keys", keys)
    if keys is not None and not isinstance(keys, list):
        raise BadRequest("`keys` must be an array")
    startkey = query_str_json("startkey") or query_str_json("start_key")
    endkey = query_str_json("endkey") or query_str_json("end_key")
    if query_str_json("key") is not None:
        startkey = endkey = query_str_json("key")
    limit = query_int("limit", None, minimum=0)
    skip = query_int("skip", 0, minimum=0) or 0
    rows = db.all_docs(
        keys=keys, startkey=startkey, endkey=endkey,
        inclusive_end=query_bool("inclusive_end", True), descending=query_bool("descending"),
        limit=limit, skip=skip, include_docs=query_bool("include_docs"),
        conflicts=query_bool("conflicts"), attachments=query_bool("attachments"),
    )
    total = db.info()["doc_count"]
    update_seq = query_bool("update_seq")

    head = b'{"total_rows":' + dumps(total) + b',"offset":' + dumps(skip if keys is None else 0)
    if update_seq:
        head += b',"update_seq":' + dumps(db.update_seq())
    return Response(stream_array(head + b',"rows":[\n', rows, b"\n]}\n"), mimetype="application/json")


def revs_limit(db: Database) -> Response:
    if request.method == "GET":
        return json_response(getattr(db, "revs_limit", 1000))
    if request.method == "PUT":
        value = read_json(expect=int)
        if isinstance(value, bool) or value < 1:
            raise BadRequest("revs_limit must be a positive integer")
        db.revs_limit = value
        return json_response({"ok": True})
    raise _not_allowed()


# -- _local ----------------------------------------------------------------------
def local_document(db: Database, docid: str) -> Response:
    if request.method in ("GET", "HEAD"):
        return json_response(db.get_local(docid))
    if request.method == "PUT":
        body = read_json(require_type=False)
        rev = db.put_local(docid, body)
        return json_response({"ok": True, "id": f"_local/{docid}", "rev": rev}, 201)
    if request.method == "DELETE":
        rev = request.args.get("rev") or request.headers.get("If-Match", "").strip('"') or None
        db.delete_local(docid, rev)
        return json_response({"ok": True, "id": f"_local/{docid}", "rev": "0-0"})
    raise _not_allowed()


DB_HANDLERS: dict[str, Callable[[Database], Response]] = {
    "_changes": changes,
    "_bulk_docs": bulk_docs,
    "_bulk_get": bulk_get,
    "_revs_diff": revs_diff,
    "_all_docs": all_docs,
    "_ensure_full_commit": ensure_full_commit,
    "_revs_limit": revs_limit,
}
