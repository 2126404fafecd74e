"""Documents between the Store interface's shapes and CouchDB's JSON.

The interface carries attachment data as ``bytes`` and a replicated
document's ``_revisions`` as the newest-first list ``sync.docs.check_doc``
makes; CouchDB's JSON carries base64 strings and ``{"start", "ids"}``. These
two functions are the only places the shapes meet.
"""

from __future__ import annotations

import base64
from typing import Any

from sync.revtree import rev_gen


def replicated_revpos(revpos: Any, gen: int) -> int:
    """The revpos a replicated attachment is stored with: the sender's when it
    can be true (1..gen), else the revision's generation.

    CouchDB keeps a missing revpos as 0 under ``new_edits=false``, after which
    no child's stub (which names revpos 1 or more) matches it; the SQLite store
    applies this same rule, so a revision means the same on both.
    """
    if isinstance(revpos, int) and not isinstance(revpos, bool) and 0 < revpos <= gen:
        return revpos
    return gen


def to_couch(doc: dict[str, Any], *, new_edits: bool) -> dict[str, Any]:
    """A checked document as CouchDB's ``_bulk_docs`` takes it (the input is not changed)."""
    out = dict(doc)
    path = None if new_edits else (doc.get("_revisions") or [doc["_rev"]])
    atts = doc.get("_attachments")
    if atts:
        encoded = {}
        for name, att in atts.items():
            att = dict(att)
            att.pop("follows", None)  # the bytes came in a multipart part: inline them
            data = att.get("data")
            if isinstance(data, bytes | bytearray | memoryview):
                att["data"] = base64.b64encode(data).decode("ascii")
                # CouchDB's own default, said out loud so every server stores the same
                att.setdefault("content_type", "application/octet-stream")
                if isinstance(path, list):
                    att["revpos"] = replicated_revpos(att.get("revpos"), rev_gen(path[0]))
            encoded[name] = att
        out["_attachments"] = encoded
    if path is None:
        out.pop("_revisions", None)
    else:
        if isinstance(path, list):
            out["_revisions"] = {"start": rev_gen(path[0]), "ids": [r.split("-", 1)[1] for r in path]}
        out["_rev"] = out.get("_rev") or path[0]
    return out


def from_couch(doc: Any) -> Any:
    """A document CouchDB sent, attachment data decoded to ``bytes`` (in place).

    Stubs stay stubs; inlined data gets the ``length`` CouchDB leaves out when it
    sends the bytes, so both backends return the same metadata.
    """
    if not isinstance(doc, dict):
        return doc
    atts = doc.get("_attachments")
    if atts:
        for att in atts.values():
            data = att.get("data")
            if isinstance(data, str):
                raw = base64.b64decode(data)
                att["data"] = raw
                att.setdefault("length", len(raw))
    return doc
