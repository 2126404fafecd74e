"""Single documents and their attachments: ``/{target}/{docid}[/{attname}]``."""

from __future__ import annotations

import base64

from flask import Response, request
from ulid import ULID

from sync.docs import check_attachment_name, check_doc, check_doc_id
from sync.errors import BadRequest, CouchError, NotFound, UnsupportedMediaType
from sync.revtree import parse_rev
from sync.stores.base import Database

from ..jsonio import JSON_TYPE, json_response, parse_json, query_bool, query_json, read_json
from ..multipart import (
    content_type_params,
    mixed_open_revs,
    new_boundary,
    parse_related_doc,
    related_parts,
)


def new_doc_id() -> str:
    return str(ULID()).lower()


def _not_allowed():
    from werkzeug.exceptions import MethodNotAllowed

    return MethodNotAllowed()


def _raise_result(result: dict) -> None:
    if "error" in result:
        status = {"conflict": 409, "forbidden": 403, "missing_stub": 412, "not_found": 404}.get(
            result["error"], 400
        )
        extra = {"messages": result["messages"]} if "messages" in result else None
        raise CouchError(result.get("reason", result["error"]), error=result["error"], status=status,
                         extra=extra)


def _write_one(db: Database, doc: dict, new_edits: bool) -> dict:
    check_doc(doc, new_edits=new_edits)
    results = db.bulk_docs([doc], new_edits=new_edits)
    if results:
        _raise_result(results[0])
    if new_edits:
        return results[0]
    return {"ok": True, "id": doc["_id"], "rev": doc["_rev"]}


def post_document(db: Database) -> Response:
    doc = read_json()
    doc.setdefault("_id", new_doc_id())
    result = _write_one(db, doc, True)
    return json_response({"ok": True, "id": result["id"], "rev": result["rev"]}, 201)


def document_or_attachment(db: Database, docid: str, rest: list[str]) -> Response:
    check_doc_id(docid)
    if rest:
        return attachment(db, docid, check_attachment_name("/".join(rest)))
    method = request.method
    if method in ("GET", "HEAD"):
        return get_document(db, docid)
    if method == "PUT":
        return put_document(db, docid)
    if method == "DELETE":
        return delete_document(db, docid)
    raise _not_allowed()


def _rev_param() -> str | None:
    rev = request.args.get("rev")
    if rev is None:
        match = request.headers.get("If-Match")
        rev = match.strip('"') if match else None
    if rev is not None:
        parse_rev(rev)
    return rev


def _accepts(mime: str) -> bool:
    return mime in request.headers.get("Accept", "")


def get_document(db: Database, docid: str) -> Response:
    attachments = query_bool("attachments")
    atts_since = query_json("atts_since")
    if atts_since is not None and (
        not isinstance(atts_since, list) or not all(isinstance(r, str) for r in atts_since)
    ):
        raise BadRequest("atts_since must be a JSON list of revisions")
    if atts_since is not None:
        attachments = True
    open_revs_raw = request.args.get("open_revs")
    if open_revs_raw is not None:
        if open_revs_raw == "all":
            revs = None
        else:
            revs = parse_json(open_revs_raw.encode())
            if not isinstance(revs, list) or not all(isinstance(r, str) for r in revs):
                raise BadRequest("open_revs must be `all` or a JSON list of revisions")
        multipart = _accepts("multipart/mixed")
        if multipart:
            # CouchDB always sends attachment bytes in a multipart answer (less
            # what atts_since says the client has): the replicator asks for no
            # attachments=true and expects them.
            attachments = True
        results = db.open_revs(
            docid, revs, latest=query_bool("latest"), revisions=query_bool("revs"),
            attachments=attachments, atts_since=atts_since,
        )
        if multipart:
            boundary = new_boundary()
            return Response(
                mixed_open_revs(results, boundary),
                content_type=f'multipart/mixed; boundary="{boundary}"',
            )
        return json_response(results)
    meta = query_bool("meta")
    doc = db.get(
        docid, rev=_rev_param(), revs=query_bool("revs"), revs_info=query_bool("revs_info") or meta,
        conflicts=query_bool("conflicts") or meta,
        deleted_conflicts=query_bool("deleted_conflicts") or meta,
        attachments=attachments, atts_since=atts_since, local_seq=query_bool("local_seq"),
    )
    etag = f'"{doc["_rev"]}"'
    if attachments and _accepts("multipart/related"):
        boundary = new_boundary()
        return Response(
            related_parts(doc, boundary),
            content_type=f'multipart/related; boundary="{boundary}"',
            headers={"ETag": etag},
        )
    return json_response(doc, headers={"ETag": etag})


def put_document(db: Database, docid: str) -> Response:
    ctype = request.headers.get("Content-Type", "")
    main, _ = content_type_params(ctype) if ctype else ("", {})
    if main == "multipart/related":
        doc = parse_related_doc(request.get_data(cache=False), ctype)
    elif main in ("", JSON_TYPE):
        doc = read_json(require_type=False)
    else:
        raise UnsupportedMediaType("Content-Type must be application/json or multipart/related")
    if doc.get("_id", docid) != docid:
        raise BadRequest("Document id in the body does not match the URL")
    doc["_id"] = docid
    if "_rev" not in doc and request.args.get("rev"):
        doc["_rev"] = request.args["rev"]
    new_edits = query_bool("new_edits", True)
    result = _write_one(db, doc, new_edits)
    return json_response({"ok": True, "id": docid, "rev": result["rev"]}, 201,
                         headers={"ETag": f'"{result["rev"]}"'})


def delete_document(db: Database, docid: str) -> Response:
    rev = _rev_param()
    if rev is None:
        raise CouchError("Document update conflict.", error="conflict", status=409)
    result = _write_one(db, {"_id": docid, "_rev": rev, "_deleted": True}, True)
    return json_response({"ok": True, "id": docid, "rev": result["rev"]})


def attachment(db: Database, docid: str, name: str) -> Response:
    method = request.method
    if method in ("GET", "HEAD"):
        meta, data = db.get_attachment(docid, name, _rev_param())
        resp = Response(data if method == "GET" else b"", content_type=meta.get("content_type"))
        resp.headers["Content-Length"] = str(meta.get("length", len(data)))
        # CouchDB: the ETag is the quoted base64 MD5, without the "md5-" prefix.
        md5 = meta["digest"].split("-", 1)[1]
        resp.headers["ETag"] = f'"{md5}"'
        resp.headers["Content-MD5"] = md5
        return resp
    if method == "PUT":
        rev = _rev_param()
        doc = _current_for_edit(db, docid, rev)
        doc.setdefault("_attachments", {})[name] = {
            "content_type": request.headers.get("Content-Type") or "application/octet-stream",
            "data": request.get_data(cache=False),
        }
        result = _write_one(db, doc, True)
        return json_response({"ok": True, "id": docid, "rev": result["rev"]}, 201)
    if method == "DELETE":
        rev = _rev_param()
        if rev is None:
            raise CouchError("Document update conflict.", error="conflict", status=409)
        doc = _current_for_edit(db, docid, rev)
        if name not in (doc.get("_attachments") or {}):
            raise NotFound("Document is missing attachment")
        del doc["_attachments"][name]
        if not doc["_attachments"]:
            del doc["_attachments"]  # the last one gone: no member, as CouchDB shows such a document
        result = _write_one(db, doc, True)
        return json_response({"ok": True, "id": docid, "rev": result["rev"]})
    raise _not_allowed()


def _current_for_edit(db: Database, docid: str, rev: str | None) -> dict:
    """The revision an attachment edit builds on, with its other attachments as stubs."""
    if rev is None:
        try:
            db.get(docid)
        except NotFound:
            return {"_id": docid}
        raise CouchError("Document update conflict.", error="conflict", status=409)
    try:
        doc = db.get(docid, rev=rev)
    except NotFound:
        raise CouchError("Document update conflict.", error="conflict", status=409) from None
    doc.pop("_deleted", None)
    for att in (doc.get("_attachments") or {}).values():
        att.pop("data", None)
        att["stub"] = True
    return doc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
