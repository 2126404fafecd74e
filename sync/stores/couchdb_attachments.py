"""Attachments on CouchDB as the interface has them: one digest, stubs from any branch.

Two things CouchDB 3 does on its own that would make a revision mean other
bytes than on the SQLite store:

* **Compression at rest.** CouchDB gzips attachments whose type matches
  ``[attachments] compressible_types`` (``text/*``, JSON, XML... by default) and
  reports as ``digest`` the MD5 of the *gzipped* bytes (``couch_db:with_stream``),
  which depends on CouchDB's zlib and level. The SQLite store, PouchDB and the
  tests take the MD5 of the bytes themselves. ``ensure_identity_storage`` sets
  ``compressible_types`` to match no type on every node, so CouchDB keeps the
  bytes as sent and its digest is theirs (see docs/design.md, "Attachment
  digests"). Parts a replicator sends gzip-encoded are decoded before they get
  here (``server/multipart.py``), so they are stored, and digested, as bytes too.
* **Stubs resolve only against the nearest ancestor with a body.** Under
  ``new_edits=false`` CouchDB looks a stub up by name in the first ancestor of
  the pushed path that still has a body (``make_first_doc_on_disk``), and
  answers ``412 missing_stub`` otherwise. A replica may name an ancestor this
  server never had, or one compaction dropped, while the bytes live on in
  another branch of the same document; the SQLite store then takes them from
  there, by digest. ``inline_known_stubs`` does the same here: such stubs are
  sent again with their bytes, read from the branch that holds them. On a
  cluster the same answer comes from a copy that has not received the
  ancestor yet, and the same remedy applies.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any

from sync.errors import BadRequest, CouchError, Forbidden, NotFound, Unauthorized
from sync.revtree import rev_gen
from sync.stores.couchdb_docs import replicated_revpos
from sync.stores.couchdb_http import CouchClient, doc_path

log = logging.getLogger("fieldsync")

# Matches no MIME type. Not "": CouchDB drops an empty value when it reads its ini
# files again, so the default (compress text/*) would come back at the next restart.
NO_COMPRESSIBLE_TYPES = ","

RECHECK_SECONDS = 60.0  # after a pass that could not reach every node


class CompressionStaysOn(CouchError):
    """CouchDB compresses attachments and this process may not change that."""

    status = 500


_checked: dict[str, float] = {}  # server root -> when to look again (inf: every node is set)
_lock = threading.Lock()


def _compresses(value: Any) -> bool:
    return not isinstance(value, str) or any(t.strip() for t in value.split(","))


def ensure_identity_storage(client: CouchClient) -> None:
    """Make every node of the server keep attachment bytes uncompressed (once per process).

    A server without ``/_membership`` or ``/_node/*/_config`` (pouchdb-server)
    does not compress. A
    CouchDB that compresses and will not let this process change it is an
    error: writing attachments there would give them digests no other store
    gives. A node that is down is set when a later write finds it up (its
    setting, once made, is in its ini file); the writes go on meanwhile, as
    the cluster does.
    """
    with _lock:
        if _checked.get(client.root, 0.0) > time.monotonic():
            return
        try:
            membership = client.json("GET", "/_membership")
        except (NotFound, BadRequest):
            membership = {}
        except (Unauthorized, Forbidden) as exc:
            raise CompressionStaysOn(
                "fieldsync cannot check that CouchDB stores attachments uncompressed ([attachments] "
                "compressible_types = , on every node, docs/design.md): it is not a server admin. "
                f"CouchDB said: {exc.reason}", error="couchdb_compresses_attachments",
            ) from None
        nodes = membership.get("cluster_nodes") or []
        up = set(membership.get("all_nodes") or [])
        complete = True
        for node in nodes:
            if node in up:
                try:
                    _set_on(client, node)
                    continue
                except CompressionStaysOn:
                    raise
                except CouchError as exc:
                    if exc.status < 500:
                        raise
            complete = False
            log.warning("CouchDB node %s is not reachable: its attachments compression is checked later",
                        node)
        _checked[client.root] = math.inf if complete else time.monotonic() + RECHECK_SECONDS


def _set_on(client: CouchClient, node: str) -> None:
    path = f"/_node/{doc_path(node)}/_config/attachments/compressible_types"
    current = None  # not set: CouchDB's default, which compresses text
    try:
        try:
            current = client.json("GET", path)
        except NotFound:
            pass
        if not _compresses(current):
            return
        client.json("PUT", path, body=NO_COMPRESSIBLE_TYPES)
    except NotFound:
        return  # no configuration API: not CouchDB (pouchdb-server keeps bytes as they are)
    except (Unauthorized, Forbidden) as exc:
        raise CompressionStaysOn(
            f"CouchDB node {node} compresses attachments ([attachments] compressible_types "
            f"= {current or 'its default'}), which would give them digests of other bytes, "
            "and fieldsync may not change it: set compressible_types = , on every node "
            f"(docs/design.md). CouchDB said: {exc.reason}",
            error="couchdb_compresses_attachments",
        ) from None
    log.info("CouchDB node %s: [attachments] compressible_types set to %r (was %r), so "
             "attachment digests are those of their bytes", node, NO_COMPRESSIBLE_TYPES, current)


def has_attachment_data(docs: list[dict]) -> bool:
    return any("data" in att for doc in docs for att in (doc.get("_attachments") or {}).values())


def inline_known_stubs(db: Any, doc: dict) -> dict | None:
    """``doc`` (replicated, refused for a stub) with every stub replaced by its bytes.

    A stub's bytes are those of the same name in the nearest stored ancestor
    of its path when its revpos agrees (what CouchDB looks for), else those of
    its digest in one of the document's leaves. Another document's bytes are
    never lent: a digest is no permission. ``None`` when a stub resolves
    neither way (CouchDB's ``missing_stub`` stands).

    A stub that resolves by name was refused by a copy of the shard that had
    not received the ancestor yet: on a cluster each copy checks stubs against
    its own disk, and one copy's ``missing_stub`` fails the whole request
    (``fabric_doc_update``). With the bytes inline no copy needs the ancestor.
    """
    atts = doc.get("_attachments") or {}
    stubs = {name: att for name, att in atts.items() if att.get("stub")}
    if not stubs:
        return None
    path = doc.get("_revisions") or [doc["_rev"]]
    gen = rev_gen(path[0])
    parent_rev, parent = _nearest_stored(db, doc["_id"], path[1:])
    by_digest = {}
    out = dict(atts)
    for name, att in stubs.items():
        meta = parent.get(name)
        if meta is not None and att.get("revpos") in (None, meta.get("revpos")):
            _, data = db.get_attachment(doc["_id"], name, parent_rev)
            out[name] = {"content_type": meta.get("content_type"), "data": data, "revpos": meta.get("revpos")}
        elif isinstance(att.get("digest"), str):
            by_digest[name] = att
        else:
            return None
    holders = _leaves_holding(db, doc["_id"], {att["digest"] for att in by_digest.values()}) if by_digest else {}
    for name, att in by_digest.items():
        holder = holders.get(att["digest"])
        if holder is None:
            return None
        rev, held_as = holder
        _, data = db.get_attachment(doc["_id"], held_as, rev)
        out[name] = {  # the stub's own metadata, as the SQLite store keeps it
            "content_type": att.get("content_type") or "application/octet-stream",
            "data": data,
            "revpos": replicated_revpos(att.get("revpos"), gen),
        }
    return {**doc, "_attachments": out}


def _nearest_stored(db: Any, docid: str, ancestors: list[str], page: int = 20) -> tuple[str | None, dict]:
    """The first ancestor (newest first) that still has a body, and its attachments."""
    for start in range(0, len(ancestors), page):
        for entry in db.open_revs(docid, ancestors[start : start + page]):
            if "ok" in entry:
                return entry["ok"]["_rev"], entry["ok"].get("_attachments") or {}
    return None, {}


def _leaves_holding(db: Any, docid: str, digests: set[str]) -> dict[str, tuple[str, str]]:
    """Per digest wanted, a leaf of the document holding it: (its rev, the name there)."""
    try:
        leaves = db._json("GET", "/" + doc_path(docid), params={"open_revs": "all"})
    except NotFound:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for entry in leaves:
        body = entry.get("ok") or {}
        for name, meta in (body.get("_attachments") or {}).items():
            if meta.get("digest") in digests:
                out.setdefault(meta["digest"], (body["_rev"], name))
    return out

