"""What a well-formed document is, checked before anything touches a store.

Checking a whole request up front is what lets a bad batch be refused with a
400 while nothing of it is written: a store only ever sees documents that
passed here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from sync.errors import BadRequest
from sync.revtree import parse_rev, path_from_revisions

# Special members CouchDB accepts in a written document. The read-only ones are
# ignored (clients echo them back), anything else starting with "_" is refused.
WRITABLE_SPECIALS = {"_id", "_rev", "_deleted", "_attachments", "_revisions"}
IGNORED_SPECIALS = {"_conflicts", "_deleted_conflicts", "_revs_info", "_local_seq"}
MAX_ID_LENGTH = 512
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1 controls


def check_doc_id(docid: object) -> str:
    if not isinstance(docid, str) or not docid:
        raise BadRequest("Document id must be a non-empty string", error="bad_request")
    if len(docid) > MAX_ID_LENGTH:
        raise BadRequest(f"Document id is longer than {MAX_ID_LENGTH} characters")
    if _CONTROL.search(docid):
        raise BadRequest("Document id must not contain control characters")
    if docid.startswith("_") and not (docid.startswith("_design/") and len(docid) > 8):
        raise BadRequest("Only reserved document ids may start with underscore.", error="bad_request")
    return docid


def check_local_id(name: object) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_ID_LENGTH or _CONTROL.search(name):
        raise BadRequest("Invalid _local document id")
    return name


def check_attachment_name(name: object) -> str:
    """Refuse names that could be read as paths or hide control characters.

    Attachments are stored by digest, never by name, but names travel to other
    replicas and to exports, so they are kept to what is safe everywhere.
    """
    if not isinstance(name, str) or not name or len(name) > 255:
        raise BadRequest("Attachment name must be a non-empty string of at most 255 characters")
    if name.startswith("_"):
        raise BadRequest("Attachment name can't start with '_'")
    if _CONTROL.search(name) or "\\" in name or name.startswith("/"):
        raise BadRequest(f"Invalid attachment name: {name!r}")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise BadRequest(f"Invalid attachment name: {name!r}")
    return name


def md5_digest(data: bytes) -> str:
    """The digest CouchDB reports: ``md5-`` and the base64 MD5 of the bytes."""
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def decode_base64(data: object, name: str) -> bytes:
    if not isinstance(data, str):
        raise BadRequest(f"Attachment {name!r}: data must be a base64 string")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"Attachment {name!r}: data is not valid base64") from None


def check_doc(doc: object, *, new_edits: bool) -> dict:
    """Validate one document of a write and normalise its attachments.

    Inline base64 attachment data is decoded to bytes here, so stores only deal
    in bytes. Returns the same dict (modified in place).
    """
    if not isinstance(doc, dict):
        raise BadRequest("Document must be a JSON object")
    for key in list(doc):
        if key.startswith("_") and key not in WRITABLE_SPECIALS:
            if key in IGNORED_SPECIALS:
                del doc[key]
            else:
                raise BadRequest(f"Bad special document member: {key}", error="doc_validation")
    check_doc_id(doc.get("_id"))
    if "_deleted" in doc and not isinstance(doc["_deleted"], bool):
        raise BadRequest("_deleted must be a boolean", error="doc_validation")
    rev = doc.get("_rev")
    if not new_edits:
        if rev is None:
            raise BadRequest("new_edits=false needs a _rev on every document", error="bad_request")
        doc["_revisions"] = path_from_revisions(doc.get("_revisions"), rev)  # checks _rev too
    else:
        if rev is not None:
            parse_rev(rev)
        doc.pop("_revisions", None)
    atts = doc.get("_attachments")
    if atts is not None:
        if not isinstance(atts, dict):
            raise BadRequest("_attachments must be an object", error="doc_validation")
        for name, att in atts.items():
            check_attachment_name(name)
            if not isinstance(att, dict):
                raise BadRequest(f"Attachment {name!r} must be an object", error="doc_validation")
            ct = att.get("content_type", "application/octet-stream")
            # served back as a Content-Type header: ASCII, no line breaks
            if not isinstance(ct, str) or not ct.isascii() or _CONTROL.search(ct):
                raise BadRequest(f"Attachment {name!r}: content_type must be a printable ASCII string")
            if att.get("stub"):
                continue
            if att.get("follows"):
                if not isinstance(att.get("data"), bytes | bytearray):
                    raise BadRequest(f"Attachment {name!r} follows but no part carried it")
                continue
            if "data" not in att:
                raise BadRequest(f"Attachment {name!r} has neither data nor stub", error="doc_validation")
            if not isinstance(att["data"], bytes | bytearray):
                att["data"] = decode_base64(att["data"], name)
    return doc
