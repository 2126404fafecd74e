# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""Single documents: ``PUT``, ``GET`` (and its query options), ``DELETE``.

These are the reads a replicator makes for one document (``revs``,
``open_revs``, ``latest``, ``atts_since``) and the writes a person's tools
make. JSON answers only here; multipart is in ``test_protocol_multipart.py``.
"""

from __future__ import annotations

from eventual import wait_until
from protocol_helpers import (  # noqa: F401
    Couch,
    app,
    assert_error,
    b64,
    couch,
    db,
    md5_digest,
)


def _conflicted(couch: Couch, db: str, docid: str = "doc") -> tuple[str, str, str]:
    """A document with two branches from ``1-a``: winner ``2-b``, loser ``2-a``."""
    couch.bulk(db, [
        {"_id": docid, "_rev": "2-a", "v": "left", "_revisions": {"start": 2, "ids": ["a", "root"]}},
        {"_id": docid, "_rev": "2-b", "v": "right", "_revisions": {"start": 2, "ids": ["b", "root"]}},
    ], new_edits=False)
    return "1-root", "2-a", "2-b"


# -- PUT / GET / DELETE -------------------------------------------------------------
def test_put_then_get(couch: Couch, db: str) -> None:
    resp = couch.put(f"{db}/uvs-tes:fam:01", json={"type": "family", "name": "Бат"})
    assert resp.status_code == 201
    body = resp.json
    assert body["ok"] is True and body["id"] == "uvs-tes:fam:01"
    assert body["rev"].startswith("1-")
    assert resp.headers["ETag"] == f'"{body["rev"]}"'
    got = couch.get(f"{db}/uvs-tes:fam:01")
    assert got.status_code == 200
    assert got.json == {"_id": "uvs-tes:fam:01", "_rev": body["rev"], "type": "family", "name": "Бат"}
    assert got.headers["ETag"] == f'"{body["rev"]}"'


def test_post_to_the_database_makes_an_id(couch: Couch, db: str) -> None:
    resp = couch.post(db, json={"a": 1})
    assert resp.status_code == 201
    docid = resp.json["id"]
    assert docid and not docid.startswith("_")
    assert couch.get(f"{db}/{docid}").json["a"] == 1


def test_update_needs_the_current_rev(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d", "n": 1})
    assert_error(couch.put(f"{db}/d", json={"n": 2}), 409, "conflict")
    resp = couch.put(f"{db}/d", json={"_rev": rev1, "n": 2})
    assert resp.status_code == 201
    rev2 = resp.json["rev"]
    assert rev2.startswith("2-")
    assert_error(couch.put(f"{db}/d", json={"_rev": rev1, "n": 3}), 409, "conflict")
    assert couch.get(f"{db}/d").json["n"] == 2


def test_rev_may_come_as_query_parameter(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d", "n": 1})
    resp = couch.put(f"{db}/d?rev={rev1}", json={"n": 2})
    assert resp.status_code == 201
    assert couch.get(f"{db}/d").json["n"] == 2


def test_id_in_body_must_match_url(couch: Couch, db: str) -> None:
    assert_error(couch.put(f"{db}/d", json={"_id": "other"}), 400, "bad_request")
    assert_error(couch.get(f"{db}/d"), 404)
    assert_error(couch.get(f"{db}/other"), 404)


def test_delete_leaves_a_tombstone(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d", "n": 1})
    resp = couch.delete(f"{db}/d?rev={rev1}")
    assert resp.status_code == 200
    assert resp.json["ok"] is True and resp.json["id"] == "d"
    rev2 = resp.json["rev"]
    assert rev2.startswith("2-")
    gone = assert_error(couch.get(f"{db}/d"), 404, "not_found")
    assert gone["reason"] == "deleted"
    tomb = couch.get(f"{db}/d?rev={rev2}")
    assert tomb.status_code == 200
    assert tomb.json == {"_id": "d", "_rev": rev2, "_deleted": True}


def test_delete_with_if_match_header(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d"})
    resp = couch.delete(f"{db}/d", headers={"If-Match": f'"{rev1}"'})
    assert resp.status_code == 200


def test_delete_without_rev_or_with_stale_rev_is_409(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d"})
    couch.put(f"{db}/d", json={"_rev": rev1, "n": 2})
    assert_error(couch.delete(f"{db}/d"), 409, "conflict")
    assert_error(couch.delete(f"{db}/d?rev={rev1}"), 409, "conflict")
    assert couch.get(f"{db}/d").json["n"] == 2


def test_delete_missing_document(couch: Couch, db: str) -> None:
    resp = couch.delete(f"{db}/nope?rev=1-abc")
    assert resp.status_code in (404, 409)
    assert_error(resp, resp.status_code)


def test_recreate_after_delete_without_rev(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d"})
    rev2 = couch.delete(f"{db}/d?rev={rev1}").json["rev"]
    resp = couch.put(f"{db}/d", json={"again": True})
    assert resp.status_code == 201
    assert resp.json["rev"].startswith("3-")
    assert couch.get(f"{db}/d").json["again"] is True
    revs = couch.get(f"{db}/d?revs=true").json["_revisions"]
    assert revs["start"] == 3
    assert [f"{3 - i}-{h}" for i, h in enumerate(revs["ids"])][1:] == [rev2, rev1]


def test_ids_with_encoded_slashes(couch: Couch, db: str) -> None:
    resp = couch.put(f"{db}/a%2Fb%2Fc", json={"x": 1})
    assert resp.status_code == 201
    assert resp.json["id"] == "a/b/c"
    assert couch.get(f"{db}/a%2Fb%2Fc").json["_id"] == "a/b/c"
    rows = couch.get(f"{db}/_all_docs").json["rows"]
    assert [r["id"] for r in rows] == ["a/b/c"]


def test_ids_with_unicode_and_colons(couch: Couch, db: str) -> None:
    docid = "uvs-tes:fam:Батбаяр"
    resp = couch.put(f"{db}/uvs-tes:fam:%D0%91%D0%B0%D1%82%D0%B1%D0%B0%D1%8F%D1%80", json={"x": 1})
    assert resp.status_code == 201
    assert resp.json["id"] == docid
    assert couch.get(f"{db}/_all_docs").json["rows"][0]["id"] == docid


def test_design_documents(couch: Couch, db: str) -> None:
    resp = couch.put(f"{db}/_design/forms", json={"language": "javascript", "views": {}})
    assert resp.status_code == 201
    assert resp.json["id"] == "_design/forms"
    got = couch.get(f"{db}/_design/forms")
    assert got.json["_id"] == "_design/forms"
    rev = got.json["_rev"]
    assert couch.get(f"{db}/_design%2Fforms").json["_rev"] == rev
    changes = couch.get(f"{db}/_changes").json["results"]
    assert [c["id"] for c in changes] == ["_design/forms"]
    resp = couch.put(f"{db}/_design/forms/logo.txt?rev={rev}", data=b"hi", content_type="text/plain")
    assert resp.status_code == 201
    assert couch.get(f"{db}/_design/forms/logo.txt").get_data() == b"hi"
    assert couch.delete(f"{db}/_design/forms?rev={resp.json['rev']}").status_code == 200


def test_special_members_are_not_stored(couch: Couch, db: str) -> None:
    rev = couch.create_doc(db, {"_id": "d", "_conflicts": ["1-x"], "_revs_info": [], "x": 1})
    assert couch.get(f"{db}/d").json == {"_id": "d", "_rev": rev, "x": 1}


def test_unknown_special_member_is_refused(couch: Couch, db: str) -> None:
    assert_error(couch.put(f"{db}/d", json={"_foo": 1}), 400, "doc_validation")
    assert_error(couch.get(f"{db}/d"), 404)


# -- GET options ----------------------------------------------------------------------
def test_get_an_older_rev_of_a_branch(couch: Couch, db: str) -> None:
    _, left, right = _conflicted(couch, db)
    assert couch.get(f"{db}/doc").json["_rev"] == right
    resp = couch.get(f"{db}/doc?rev={left}")
    assert resp.json["_rev"] == left and resp.json["v"] == "left"
    assert resp.headers["ETag"] == f'"{left}"'


def test_get_unknown_rev_is_404(couch: Couch, db: str) -> None:
    couch.create_doc(db, {"_id": "d"})
    assert_error(couch.get(f"{db}/d?rev=9-nope"), 404, "not_found")


def test_revs_lists_the_ancestry(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d", "n": 1})
    rev2 = couch.put(f"{db}/d", json={"_rev": rev1, "n": 2}).json["rev"]
    doc = couch.get(f"{db}/d?revs=true").json
    assert doc["_revisions"] == {"start": 2, "ids": [rev2.split("-")[1], rev1.split("-")[1]]}


def test_revs_info(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d", "n": 1})
    rev2 = couch.put(f"{db}/d", json={"_rev": rev1, "n": 2}).json["rev"]
    info = couch.get(f"{db}/d?revs_info=true").json["_revs_info"]
    # CouchDB keeps rev1's body until compaction ("available"), then "missing"; the
    # SQLite store keeps no body of an inner revision. Either way the status must
    # tell the truth about what GET ?rev= can still read.
    readable = couch.get(f"{db}/d?rev={rev1}").status_code == 200
    status1 = "available" if readable else "missing"
    assert info == [{"rev": rev2, "status": "available"}, {"rev": rev1, "status": status1}]


def test_conflicts_and_deleted_conflicts(couch: Couch, db: str) -> None:
    _, left, right = _conflicted(couch, db)
    assert "_conflicts" not in couch.get(f"{db}/doc").json
    doc = couch.get(f"{db}/doc?conflicts=true").json
    assert doc["_rev"] == right
    assert doc["_conflicts"] == [left]
    assert couch.delete(f"{db}/doc?rev={left}").status_code == 200
    # On a cluster the next read may come from a copy the deletion has not reached yet.
    doc = wait_until(lambda: couch.get(f"{db}/doc?conflicts=true&deleted_conflicts=true").json,
                     lambda d: "_deleted_conflicts" in d, what="the deleted branch", steady=couch.steady_reads)
    assert "_conflicts" not in doc
    assert len(doc["_deleted_conflicts"]) == 1
    assert doc["_deleted_conflicts"][0].startswith("3-")


def test_open_revs_all_lists_every_leaf(couch: Couch, db: str) -> None:
    _, left, right = _conflicted(couch, db)
    resp = couch.get(f"{db}/doc?open_revs=all")
    assert resp.status_code == 200
    revs = sorted(item["ok"]["_rev"] for item in resp.json)
    assert revs == sorted([left, right])


def test_open_revs_list_with_missing_revs(couch: Couch, db: str) -> None:
    _, left, _ = _conflicted(couch, db)
    resp = couch.get(f'{db}/doc?open_revs=["{left}","7-unknown"]&revs=true')
    assert resp.status_code == 200
    found, missing = resp.json
    assert found["ok"]["_rev"] == left
    assert found["ok"]["_revisions"] == {"start": 2, "ids": ["a", "root"]}
    assert missing == {"missing": "7-unknown"}


def test_open_revs_of_a_missing_document(couch: Couch, db: str) -> None:
    resp = couch.get(f'{db}/nope?open_revs=["1-abc"]')
    assert resp.status_code == 200
    assert resp.json == [{"missing": "1-abc"}]
    assert_error(couch.get(f"{db}/nope?open_revs=all"), 404, "not_found")


def test_open_revs_latest_follows_to_the_leaves(couch: Couch, db: str) -> None:
    root, left, right = _conflicted(couch, db)
    resp = couch.get(f'{db}/doc?open_revs=["{root}"]&latest=true')
    revs = [item["ok"]["_rev"] for item in resp.json]
    assert sorted(revs) == sorted([left, right])
    # without latest, the ancestor's body is gone (compacted): it is missing
    resp = couch.get(f'{db}/doc?open_revs=["{root}"]')
    assert resp.json == [{"missing": root}]


def test_open_revs_includes_deleted_leaves(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d"})
    rev2 = couch.delete(f"{db}/d?rev={rev1}").json["rev"]
    resp = couch.get(f'{db}/d?open_revs=["{rev2}"]')
    assert resp.json == [{"ok": {"_id": "d", "_rev": rev2, "_deleted": True}}]


def test_attachments_inline_as_base64(couch: Couch, db: str) -> None:
    data = bytes(range(256))
    rev = couch.create_doc(db, {"_id": "d", "_attachments": {
        "photo.jpg": {"content_type": "image/jpeg", "data": b64(data)}}})
    stub = couch.get(f"{db}/d").json["_attachments"]["photo.jpg"]
    assert stub == {"content_type": "image/jpeg", "digest": md5_digest(data), "length": 256,
                    "revpos": 1, "stub": True}
    full = couch.get(f"{db}/d?attachments=true").json["_attachments"]["photo.jpg"]
    assert full["data"] == b64(data)
    assert full["digest"] == md5_digest(data)
    assert "stub" not in full
    assert rev.startswith("1-")


def test_atts_since_sends_only_newer_attachments(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d", "_attachments": {
        "old.txt": {"content_type": "text/plain", "data": b64(b"old")}}})
    doc = couch.get(f"{db}/d").json
    doc["_attachments"]["new.txt"] = {"content_type": "text/plain", "data": b64(b"new")}
    rev2 = couch.put(f"{db}/d", json=doc).json["rev"]
    got = couch.get(f'{db}/d?atts_since=["{rev1}"]').json["_attachments"]
    assert got["old.txt"].get("stub") is True and "data" not in got["old.txt"]
    assert got["new.txt"]["data"] == b64(b"new")
    assert got["new.txt"]["revpos"] == 2
    # an unknown rev in atts_since means the client has nothing: everything is sent
    got = couch.get(f'{db}/d?atts_since=["1-unknown"]').json["_attachments"]
    assert got["old.txt"]["data"] == b64(b"old")
    got = couch.get(f'{db}/d?open_revs=["{rev2}"]&atts_since=["{rev1}"]').json[0]["ok"]
    assert got["_attachments"]["old.txt"].get("stub") is True
    assert got["_attachments"]["new.txt"]["data"] == b64(b"new")


def test_local_seq(couch: Couch, db: str) -> None:
    couch.create_doc(db, {"_id": "a"})
    couch.create_doc(db, {"_id": "b"})
    doc = couch.get(f"{db}/b?local_seq=true").json
    assert "_local_seq" in doc


def test_stubs_carry_attachments_over_to_the_next_revision(couch: Couch, db: str) -> None:
    couch.create_doc(db, {"_id": "d", "_attachments": {
        "a.txt": {"content_type": "text/plain", "data": b64(b"keep me")}}})
    doc = couch.get(f"{db}/d").json
    doc["n"] = 2
    resp = couch.put(f"{db}/d", json=doc)
    assert resp.status_code == 201
    att = couch.get(f"{db}/d").json["_attachments"]["a.txt"]
    assert att["revpos"] == 1 and att["digest"] == md5_digest(b"keep me")
    assert couch.get(f"{db}/d/a.txt").get_data() == b"keep me"


def test_stub_for_an_unknown_attachment_is_412(couch: Couch, db: str) -> None:
    rev = couch.create_doc(db, {"_id": "d"})
    resp = couch.put(f"{db}/d", json={"_rev": rev, "_attachments": {
        "x.txt": {"stub": True, "digest": md5_digest(b"never stored"), "length": 12}}})
    assert_error(resp, 412, "missing_stub")
    assert couch.get(f"{db}/d").json["_rev"] == rev


# -- a single attachment ------------------------------------------------------------
def test_put_get_delete_an_attachment(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d", "n": 1})
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    resp = couch.put(f"{db}/d/photo.png?rev={rev1}", data=data, content_type="image/png")
    assert resp.status_code == 201
    assert resp.json["ok"] is True and resp.json["id"] == "d"
    rev2 = resp.json["rev"]
    assert rev2.startswith("2-")

    got = couch.get(f"{db}/d/photo.png")
    assert got.status_code == 200
    assert got.get_data() == data
    assert got.mimetype == "image/png"
    assert int(got.headers["Content-Length"]) == len(data)
    digest = md5_digest(data)
    assert got.headers["ETag"] == '"' + digest.split("-", 1)[1] + '"'

    head = couch.head(f"{db}/d/photo.png")
    assert head.status_code == 200 and head.get_data() == b""

    doc = couch.get(f"{db}/d").json
    assert doc["n"] == 1
    assert doc["_attachments"]["photo.png"]["digest"] == digest
    assert doc["_attachments"]["photo.png"]["length"] == len(data)

    resp = couch.delete(f"{db}/d/photo.png?rev={rev2}")
    assert resp.status_code == 200
    assert resp.json["rev"].startswith("3-")
    assert_error(couch.get(f"{db}/d/photo.png"), 404, "not_found")
    assert "_attachments" not in couch.get(f"{db}/d").json
    # rev2 now has a child: CouchDB serves its attachment until compaction, the
    # SQLite store keeps no body of an inner revision (as after compaction)
    old = couch.get(f"{db}/d/photo.png?rev={rev2}")
    if old.status_code == 200:
        assert old.get_data() == data
    else:
        assert_error(old, 404, "not_found")


def test_attachment_creates_its_document(couch: Couch, db: str) -> None:
    resp = couch.put(f"{db}/new/a.txt", data=b"hello", content_type="text/plain")
    assert resp.status_code == 201
    assert couch.get(f"{db}/new/a.txt").get_data() == b"hello"


def test_attachment_put_needs_the_current_rev(couch: Couch, db: str) -> None:
    rev1 = couch.create_doc(db, {"_id": "d"})
    assert_error(couch.put(f"{db}/d/a.txt", data=b"x", content_type="text/plain"), 409, "conflict")
    couch.put(f"{db}/d", json={"_rev": rev1, "n": 2})
    assert_error(couch.put(f"{db}/d/a.txt?rev={rev1}", data=b"x", content_type="text/plain"), 409)
    assert "_attachments" not in couch.get(f"{db}/d").json


def test_attachment_names_with_slashes(couch: Couch, db: str) -> None:
    rev = couch.create_doc(db, {"_id": "d"})
    resp = couch.put(f"{db}/d/photos/1.jpg?rev={rev}", data=b"jpg", content_type="image/jpeg")
    assert resp.status_code == 201
    assert couch.get(f"{db}/d/photos/1.jpg").get_data() == b"jpg"
    assert "photos/1.jpg" in couch.get(f"{db}/d").json["_attachments"]


def test_missing_attachment_is_404(couch: Couch, db: str) -> None:
    rev = couch.create_doc(db, {"_id": "d"})
    assert_error(couch.get(f"{db}/d/none.txt"), 404, "not_found")
    assert_error(couch.get(f"{db}/nodoc/none.txt"), 404, "not_found")
    assert_error(couch.delete(f"{db}/d/none.txt?rev={rev}"), 404, "not_found")
