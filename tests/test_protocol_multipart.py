# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""Documents with attachments the way the CouchDB 3 replicator moves them.

Pull: ``GET /db/<id>?revs=true&open_revs=[...]&latest=true`` with
``Accept: multipart/mixed``. The answer has one part per requested revision:
``application/json`` for a revision without attachment bytes, a nested
``multipart/related`` (the JSON with ``"follows": true`` attachments, then one
raw part per attachment) for one with bytes, and ``{"missing": rev}`` parts
for revisions the server does not have.

Push: ``PUT /db/<id>?new_edits=false`` with ``Content-Type: multipart/related``:
the JSON document first (``_revisions``, attachments ``"follows": true`` or
stubs), then the raw attachment bytes, each part naming its attachment in
``Content-Disposition``.

Responses are parsed with Python's ``email`` package, a MIME parser that shares
no code with the server.
"""

from __future__ import annotations

import gzip
import json

from eventual import assert_nothing_since
from protocol_helpers import (  # noqa: F401
    Couch,
    app,
    assert_error,
    b64,
    couch,
    db,
    md5_digest,
    parse_multipart,
    part_json,
    related_body,
)

# Bytes chosen to trip naive parsers: CRLFs, a fake boundary, NULs, high bytes.
PHOTO = b"\xff\xd8\xff\xe0JFIF\r\n--not-the-boundary\r\n\r\n\x00\x01" + bytes(range(256)) + b"\r\n"
NOTE = "Сайн байна уу\n".encode()


def _open_revs_mixed(couch: Couch, db: str, docid: str, query: str):
    resp = couch.get(f"{db}/{docid}?{query}", headers={"Accept": "multipart/mixed"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "multipart/mixed"
    assert "boundary" in resp.mimetype_params
    msg = parse_multipart(resp.headers["Content-Type"], resp.get_data())
    return msg.get_payload()


def _doc_from_related(part) -> tuple[dict, dict[str, bytes]]:
    """The JSON document and the attachment bytes of a ``multipart/related`` part."""
    assert part.get_content_type() == "multipart/related"
    first, *rest = part.get_payload()
    assert first.get_content_type() == "application/json"
    doc = part_json(first)
    data = {}
    for att_part in rest:
        name = att_part.get_param("filename", header="content-disposition")
        assert name is not None, "each attachment part names its attachment"
        data[name] = att_part.get_payload(decode=True)
        assert int(att_part["Content-Length"]) == len(data[name])
    return doc, data


def _doc_with_photo(couch: Couch, db: str) -> tuple[str, str]:
    """``d`` at rev 1 without attachments, rev 2 with PHOTO; returns both revs."""
    rev1 = couch.create_doc(db, {"_id": "d", "kind": "family"})
    rev2 = couch.put(f"{db}/d/photo.jpg?rev={rev1}", data=PHOTO, content_type="image/jpeg").json["rev"]
    return rev1, rev2


# -- pulling with open_revs -------------------------------------------------------------------
def test_replicator_pull_of_a_revision_with_attachments(couch: Couch, db: str) -> None:
    _, rev2 = _doc_with_photo(couch, db)
    parts = _open_revs_mixed(couch, db, "d", f'revs=true&open_revs=["{rev2}"]&latest=true')
    (part,) = parts
    doc, data = _doc_from_related(part)
    assert doc["_id"] == "d" and doc["_rev"] == rev2 and doc["kind"] == "family"
    assert doc["_revisions"]["start"] == 2 and len(doc["_revisions"]["ids"]) == 2
    meta = doc["_attachments"]["photo.jpg"]
    assert meta["follows"] is True
    assert "data" not in meta and "stub" not in meta
    assert meta["digest"] == md5_digest(PHOTO)
    assert meta["length"] == len(PHOTO)
    assert meta["content_type"] == "image/jpeg"
    assert meta["revpos"] == 2
    assert data == {"photo.jpg": PHOTO}


def test_revision_without_attachments_is_a_json_part(couch: Couch, db: str) -> None:
    rev = couch.create_doc(db, {"_id": "plain", "x": 1})
    (part,) = _open_revs_mixed(couch, db, "plain", f'revs=true&open_revs=["{rev}"]&latest=true')
    assert part.get_content_type() == "application/json"
    doc = part_json(part)
    assert doc["_rev"] == rev and doc["x"] == 1
    assert doc["_revisions"] == {"start": 1, "ids": [rev.split("-")[1]]}


def test_one_part_per_revision_in_order_with_missing_parts(couch: Couch, db: str) -> None:
    couch.bulk(db, [
        {"_id": "c", "_rev": "2-a", "v": "a", "_revisions": {"start": 2, "ids": ["a", "r"]}},
        {"_id": "c", "_rev": "2-b", "v": "b", "_revisions": {"start": 2, "ids": ["b", "r"]},
         "_attachments": {"n.txt": {"content_type": "text/plain", "data": b64(NOTE)}}},
    ], new_edits=False)
    parts = _open_revs_mixed(couch, db, "c", 'revs=true&open_revs=["2-a","3-gone","2-b"]')
    assert len(parts) == 3
    first, missing, third = parts
    assert first.get_content_type() == "application/json"
    assert part_json(first)["_rev"] == "2-a"
    assert missing.get_content_type() == "application/json"
    assert part_json(missing) == {"missing": "3-gone"}
    doc, data = _doc_from_related(third)
    assert doc["_rev"] == "2-b"
    assert data == {"n.txt": NOTE}


def test_open_revs_all_as_multipart(couch: Couch, db: str) -> None:
    couch.bulk(db, [
        {"_id": "c", "_rev": "1-a", "v": "a"},
        {"_id": "c", "_rev": "1-b", "v": "b"},
    ], new_edits=False)
    parts = _open_revs_mixed(couch, db, "c", "open_revs=all")
    revs = sorted(part_json(p)["_rev"] for p in parts)
    assert revs == ["1-a", "1-b"]


def test_latest_replaces_an_ancestor_by_its_leaf(couch: Couch, db: str) -> None:
    rev1, rev2 = _doc_with_photo(couch, db)
    (part,) = _open_revs_mixed(couch, db, "d", f'revs=true&open_revs=["{rev1}"]&latest=true')
    doc, data = _doc_from_related(part)
    assert doc["_rev"] == rev2
    assert data["photo.jpg"] == PHOTO


def test_atts_since_sends_stubs_for_what_the_client_has(couch: Couch, db: str) -> None:
    _, rev2 = _doc_with_photo(couch, db)
    doc = couch.get(f"{db}/d").json
    doc["_attachments"]["note.txt"] = {"content_type": "text/plain", "data": b64(NOTE)}
    rev3 = couch.put(f"{db}/d", json=doc).json["rev"]
    query = f'revs=true&open_revs=["{rev3}"]&latest=true&atts_since=["{rev2}"]'
    (part,) = _open_revs_mixed(couch, db, "d", query)
    doc, data = _doc_from_related(part)
    assert doc["_attachments"]["photo.jpg"].get("stub") is True
    assert "follows" not in doc["_attachments"]["photo.jpg"]
    assert doc["_attachments"]["note.txt"]["follows"] is True
    assert data == {"note.txt": NOTE}


def test_all_attachments_already_known_gives_a_json_part(couch: Couch, db: str) -> None:
    _, rev2 = _doc_with_photo(couch, db)
    query = f'open_revs=["{rev2}"]&atts_since=["{rev2}"]'
    (part,) = _open_revs_mixed(couch, db, "d", query)
    assert part.get_content_type() == "application/json"
    assert part_json(part)["_attachments"]["photo.jpg"]["stub"] is True


def test_missing_document_as_multipart(couch: Couch, db: str) -> None:
    (part,) = _open_revs_mixed(couch, db, "nope", 'open_revs=["1-abc"]&latest=true')
    assert part_json(part) == {"missing": "1-abc"}


def test_deleted_leaf_as_multipart(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "g"})
    rev2 = couch.delete(f"{db}/g?rev={rev1}").json["rev"]
    (part,) = _open_revs_mixed(couch, db, "g", f'revs=true&open_revs=["{rev2}"]&latest=true')
    doc = part_json(part)
    assert doc["_deleted"] is True and doc["_rev"] == rev2


def test_open_revs_json_when_multipart_is_not_accepted(couch: Couch, db: str) -> None:
    _, rev2 = _doc_with_photo(couch, db)
    resp = couch.get(f'{db}/d?open_revs=["{rev2}"]&attachments=true',
                     headers={"Accept": "application/json"})
    assert resp.mimetype == "application/json"
    (item,) = resp.json
    assert item["ok"]["_attachments"]["photo.jpg"]["data"] == b64(PHOTO)


def test_single_document_as_multipart_related(couch: Couch, db: str) -> None:
    _, rev2 = _doc_with_photo(couch, db)
    resp = couch.get(f"{db}/d?attachments=true", headers={"Accept": "multipart/related"})
    assert resp.status_code == 200
    assert resp.mimetype == "multipart/related"
    msg = parse_multipart(resp.headers["Content-Type"], resp.get_data())
    doc, data = _doc_from_related(msg)
    assert doc["_rev"] == rev2
    assert data == {"photo.jpg": PHOTO}


# -- pushing with multipart/related ------------------------------------------------------------
def test_replicator_push_with_attachments(couch: Couch, db: str) -> None:
    doc = {
        "_id": "household-01",
        "_rev": "2-bbbb",
        "_revisions": {"start": 2, "ids": ["bbbb", "aaaa"]},
        "type": "household_photo",
        "_attachments": {
            "photo.jpg": {"content_type": "image/jpeg", "revpos": 2, "digest": md5_digest(PHOTO),
                          "length": len(PHOTO), "follows": True},
            "note.txt": {"content_type": "text/plain", "revpos": 1, "digest": md5_digest(NOTE),
                         "length": len(NOTE), "follows": True},
        },
    }
    ctype, body = related_body(doc, [("photo.jpg", "image/jpeg", PHOTO), ("note.txt", "text/plain", NOTE)])
    resp = couch.put(f"{db}/household-01?new_edits=false", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.json["ok"] is True and resp.json["id"] == "household-01" and resp.json["rev"] == "2-bbbb"

    stored = couch.get(f"{db}/household-01?revs=true").json
    assert stored["_rev"] == "2-bbbb"
    assert stored["_revisions"] == {"start": 2, "ids": ["bbbb", "aaaa"]}
    atts = stored["_attachments"]
    assert atts["photo.jpg"]["digest"] == md5_digest(PHOTO)
    assert atts["photo.jpg"]["length"] == len(PHOTO)
    assert atts["photo.jpg"]["revpos"] == 2
    assert atts["note.txt"]["digest"] == md5_digest(NOTE)
    assert atts["note.txt"]["revpos"] == 1
    assert couch.get(f"{db}/household-01/photo.jpg").get_data() == PHOTO
    assert couch.get(f"{db}/household-01/note.txt").get_data() == NOTE

    # and it pulls back out byte for byte
    parts = _open_revs_mixed(couch, db, "household-01", 'revs=true&open_revs=["2-bbbb"]')
    pulled, data = _doc_from_related(parts[0])
    assert data == {"photo.jpg": PHOTO, "note.txt": NOTE}
    assert pulled["_attachments"]["photo.jpg"]["digest"] == md5_digest(PHOTO)


def test_push_matches_parts_by_filename_not_order(couch: Couch, db: str) -> None:
    doc = {"_id": "d", "_rev": "1-a", "_attachments": {
        "a.txt": {"content_type": "text/plain", "length": 1, "follows": True},
        "b.txt": {"content_type": "text/plain", "length": 2, "follows": True},
    }}
    ctype, body = related_body(doc, [("b.txt", "text/plain", b"bb"), ("a.txt", "text/plain", b"a")])
    resp = couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 201
    assert couch.get(f"{db}/d/a.txt").get_data() == b"a"
    assert couch.get(f"{db}/d/b.txt").get_data() == b"bb"


def test_push_a_child_revision_with_a_stub_for_a_known_attachment(couch: Couch, db: str) -> None:
    first = {"_id": "d", "_rev": "1-a", "_attachments": {
        "photo.jpg": {"content_type": "image/jpeg", "length": len(PHOTO), "follows": True}}}
    ctype, body = related_body(first, [("photo.jpg", "image/jpeg", PHOTO)])
    assert couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype}).status_code == 201

    child = {"_id": "d", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a"]}, "edited": True,
             "_attachments": {
                 "photo.jpg": {"stub": True, "content_type": "image/jpeg", "revpos": 1,
                               "digest": md5_digest(PHOTO), "length": len(PHOTO)},
                 "note.txt": {"content_type": "text/plain", "revpos": 2, "length": len(NOTE),
                              "follows": True},
             }}
    ctype, body = related_body(child, [("note.txt", "text/plain", NOTE)])
    resp = couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    stored = couch.get(f"{db}/d").json
    assert stored["_rev"] == "2-b" and stored["edited"] is True
    assert stored["_attachments"]["photo.jpg"]["revpos"] == 1
    assert stored["_attachments"]["photo.jpg"]["digest"] == md5_digest(PHOTO)
    assert couch.get(f"{db}/d/photo.jpg").get_data() == PHOTO
    assert couch.get(f"{db}/d/note.txt").get_data() == NOTE


def test_a_stub_cannot_borrow_another_documents_bytes(couch: Couch, db: str) -> None:
    """A digest is no permission: as in CouchDB, a replicated stub resolves against
    the document's own revisions, never against bytes another document holds."""
    couch.create_doc(db, {"_id": "other", "_attachments": {
        "p.jpg": {"content_type": "image/jpeg", "data": b64(PHOTO)}}})
    doc = {"_id": "d", "_rev": "3-c", "_revisions": {"start": 3, "ids": ["c", "b"]},
           "_attachments": {"p.jpg": {"stub": True, "content_type": "image/jpeg", "revpos": 2,
                                      "digest": md5_digest(PHOTO), "length": len(PHOTO)}}}
    ctype, body = related_body(doc, [])
    before = couch.info(db)["update_seq"]
    resp = couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype})
    assert_error(resp, 412, "missing_stub")
    assert_nothing_since(couch, db, before)


def test_a_stub_resolves_against_another_branch_of_the_same_document(couch: Couch, db: str) -> None:
    """The replicator may name an ancestor whose body is gone; the bytes this
    document already holds in another branch still resolve its stub."""
    first = {"_id": "d", "_rev": "2-a", "_revisions": {"start": 2, "ids": ["a", "root"]},
             "_attachments": {"p.jpg": {"content_type": "image/jpeg", "data": b64(PHOTO)}}}
    assert couch.post(f"{db}/_bulk_docs", json={"new_edits": False, "docs": [first]}).status_code == 201
    branch = {"_id": "d", "_rev": "3-z", "_revisions": {"start": 3, "ids": ["z", "y"]},
              "_attachments": {"p.jpg": {"stub": True, "content_type": "image/jpeg", "revpos": 2,
                                         "digest": md5_digest(PHOTO), "length": len(PHOTO)}}}
    ctype, body = related_body(branch, [])
    resp = couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert couch.get(f"{db}/d/p.jpg?rev=3-z").get_data() == PHOTO


def test_stub_for_bytes_the_server_never_had_is_412(couch: Couch, db: str) -> None:
    doc = {"_id": "d", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a"]},
           "_attachments": {"p.jpg": {"stub": True, "revpos": 1, "digest": md5_digest(b"unknown"),
                                      "length": 7}}}
    ctype, body = related_body(doc, [])
    before = couch.info(db)["update_seq"]
    resp = couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype})
    assert_error(resp, 412, "missing_stub")
    assert_nothing_since(couch, db, before)
    assert_error(couch.get(f"{db}/d"), 404)


def test_pushing_the_same_revision_twice_is_idempotent(couch: Couch, db: str) -> None:
    doc = {"_id": "d", "_rev": "1-a", "_attachments": {
        "n.txt": {"content_type": "text/plain", "length": len(NOTE), "follows": True}}}
    ctype, body = related_body(doc, [("n.txt", "text/plain", NOTE)])
    assert couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype}).status_code == 201
    couch.settle(db, {"d": "1-a"})
    seq = couch.info(db)["update_seq"]
    assert couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype}).status_code == 201
    assert_nothing_since(couch, db, seq)


def test_push_of_a_gzip_encoded_attachment(couch: Couch, db: str) -> None:
    """CouchDB keeps text attachments gzipped and its replicator sends them so."""
    text = "Малчин өрх, Увс аймаг, Тэс сум\n".encode() * 50
    packed = gzip.compress(text)
    doc = {"_id": "d", "_rev": "1-a", "_attachments": {"notes.txt": {
        "content_type": "text/plain", "revpos": 1, "digest": md5_digest(text), "length": len(text),
        "encoding": "gzip", "encoded_length": len(packed), "follows": True}}}
    ctype, body = related_body(doc, [("notes.txt", "text/plain", packed)])
    resp = couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert couch.get(f"{db}/d/notes.txt").get_data() == text
    meta = couch.get(f"{db}/d").json["_attachments"]["notes.txt"]
    assert meta["length"] == len(text) and meta["digest"] == md5_digest(text)
    assert "encoding" not in meta


def test_push_with_broken_or_unknown_encoding_is_400(couch: Couch, db: str) -> None:
    for encoding, data in (("gzip", b"not gzip at all"), ("gzip", gzip.compress(b"abc")[:-6]),
                           ("br", b"abc")):
        doc = {"_id": "d", "_rev": "1-a", "_attachments": {"n.txt": {
            "content_type": "text/plain", "length": 3, "encoding": encoding, "follows": True}}}
        ctype, body = related_body(doc, [("n.txt", "text/plain", data)])
        resp = couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype})
        assert_error(resp, 400)
    assert_error(couch.get(f"{db}/d"), 404)


def test_multipart_put_with_new_edits(couch: Couch, db: str) -> None:
    doc = {"_id": "d", "title": "x", "_attachments": {
        "n.txt": {"content_type": "text/plain", "follows": True}}}
    ctype, body = related_body(doc, [("n.txt", "text/plain", NOTE)])
    resp = couch.put(f"{db}/d", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 201
    assert resp.json["rev"].startswith("1-")
    assert couch.get(f"{db}/d/n.txt").get_data() == NOTE


def test_unquoted_boundary_and_bare_newlines(couch: Couch, db: str) -> None:
    doc = {"_id": "d", "_rev": "1-a", "_attachments": {
        "n.txt": {"content_type": "text/plain", "length": 3, "follows": True}}}
    body = (b"--zz\nContent-Type: application/json\n\n" + json.dumps(doc).encode()
            + b"\n--zz\nContent-Disposition: attachment; filename=n.txt\n\nabc\n--zz--\n")
    resp = couch.put(f"{db}/d?new_edits=false", data=body,
                     headers={"Content-Type": "multipart/related; boundary=zz"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert couch.get(f"{db}/d/n.txt").get_data() == b"abc"


# -- malformed multipart ------------------------------------------------------------------------
def test_malformed_multipart_bodies_are_400(couch: Couch, db: str) -> None:
    good_doc = {"_id": "d", "_rev": "1-a", "_attachments": {
        "n.txt": {"content_type": "text/plain", "length": 3, "follows": True}}}
    _, good = related_body(good_doc, [("n.txt", "text/plain", b"abc")], boundary="B")
    cases = {
        "no boundary parameter": ("multipart/related", good),
        "wrong boundary": ('multipart/related; boundary="other"', good),
        "empty body": ('multipart/related; boundary="B"', b""),
        "no closing boundary": ('multipart/related; boundary="B"', good[: good.rfind(b"--B--")]),
        "first part not JSON": ('multipart/related; boundary="B"',
                                b"--B\r\nContent-Type: application/json\r\n\r\nnot json\r\n--B--"),
        "first part a JSON list": ('multipart/related; boundary="B"',
                                   b"--B\r\nContent-Type: application/json\r\n\r\n[1]\r\n--B--"),
        "attachment part missing": related_body(good_doc, [], boundary="B"),
        "one part too many": related_body(good_doc, [("n.txt", "text/plain", b"abc"),
                                                     ("x.txt", "text/plain", b"x")], boundary="B"),
        "length disagrees": related_body(good_doc, [("n.txt", "text/plain", b"abcd")], boundary="B"),
        "headers never end": ('multipart/related; boundary="B"', b"--B\r\nContent-Type: application/json"),
    }
    before = couch.info(db)["update_seq"]
    for label, (ctype, body) in cases.items():
        resp = couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype})
        assert resp.status_code == 400, (label, resp.status_code, resp.get_data(as_text=True))
        assert_error(resp, 400)
    assert_nothing_since(couch, db, before)
    assert_error(couch.get(f"{db}/d"), 404)


def test_multipart_push_with_bad_attachment_name_is_400(couch: Couch, db: str) -> None:
    doc = {"_id": "d", "_rev": "1-a", "_attachments": {
        "../etc/passwd": {"content_type": "text/plain", "length": 3, "follows": True}}}
    ctype, body = related_body(doc, [("../etc/passwd", "text/plain", b"abc")])
    assert_error(couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype}), 400)
    assert_error(couch.get(f"{db}/d"), 404)


def test_multipart_push_without_rev_is_400(couch: Couch, db: str) -> None:
    doc = {"_id": "d", "_attachments": {"n.txt": {"content_type": "text/plain", "follows": True}}}
    ctype, body = related_body(doc, [("n.txt", "text/plain", b"abc")])
    assert_error(couch.put(f"{db}/d?new_edits=false", data=body, headers={"Content-Type": ctype}), 400)
    assert_error(couch.get(f"{db}/d"), 404)
