# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""Bad input: CouchDB's JSON error, the right 4xx, and nothing half-written.

Field devices run old app versions, links cut requests short, and people
script against the API. Whatever arrives, the answer is ``{"error", "reason"}``
with a 4xx status a client can act on (400, 401, 404, 405, 409, 412, 413,
415), never a 500; and a refused request leaves the scope exactly as it was,
which every test checks by reading the scope back.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from eventual import assert_nothing_since
from protocol_helpers import (  # noqa: F401
    Couch,
    app,
    assert_error,
    b64,
    couch,
    db,
    new_app,
    related_body,
)


class State(NamedTuple):
    """What a scope holds, and two sequences naming when that was read."""

    doc_count: int
    rows: list  # every live document, whole
    leaves: list  # every leaf of every document (deletions and losing branches too), in feed order
    update_seq: Any  # opaque: only ever fed back as ``since``
    last_seq: Any


def _state(couch: Couch, db: str) -> State:
    """Everything a refused request must leave alone.

    Any write moves ``update_seq`` and shows in the ``style=all_docs`` feed
    (deletions and losing branches included), and the live documents are read
    back whole; ``doc_del_count`` would add nothing (and pouchdb-server, one of
    the CouchDB backend's test servers, does not report it). The test's own
    writes before it are already visible (``Couch.create_doc`` waits for that).
    """
    info = couch.info(db)
    feed = couch.get(f"{db}/_changes?style=all_docs").json
    rows = couch.get(f"{db}/_all_docs?include_docs=true").json["rows"]
    leaves = [(r["id"], r["changes"], r.get("deleted", False)) for r in feed["results"]]
    return State(info["doc_count"], rows, leaves, info["update_seq"], feed["last_seq"])


def _assert_unchanged(couch: Couch, db: str, before: State) -> None:
    """Nothing was written since ``before``: no change after either of its sequences (fed back,
    since a sequence is opaque: on a cluster two reads of one state give different strings), and
    the same documents, leaves and count."""
    for since in (before.update_seq, before.last_seq):
        assert_nothing_since(couch, db, since)
    after = _state(couch, db)
    assert (after.doc_count, after.rows, after.leaves) == (before.doc_count, before.rows, before.leaves)


@pytest.fixture
def seeded(couch: Couch, db: str) -> tuple[str, str]:
    """The scope holds ``keep`` (with an attachment); returns ``(db, its rev)``."""
    rev = couch.create_doc(db, {"_id": "keep", "n": 1, "_attachments": {
        "a.txt": {"content_type": "text/plain", "data": b64(b"keep")}}})
    return db, rev


# -- malformed and mistyped JSON ------------------------------------------------------------------
MALFORMED = [b"", b"{", b"{'a': 1}", b'{"a": }', b"nul", b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000,
             b'{"a": NaN}', b'{"a": "\\ud800"}', b'{"a": 1}{"b": 2}', b"1e999"]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_json_everywhere_is_400(couch: Couch, seeded, body: bytes) -> None:
    db, _ = seeded
    before = _state(couch, db)
    for method, path in [
        ("PUT", f"{db}/doc"), ("POST", db), ("POST", f"{db}/_bulk_docs"), ("POST", f"{db}/_revs_diff"),
        ("POST", f"{db}/_bulk_get"), ("POST", f"{db}/_all_docs"), ("PUT", f"{db}/_local/ck"),
        ("POST", f"{db}/_changes"), ("PUT", f"{db}/_design/app"),
    ]:
        if not body and path.endswith("_changes"):
            continue  # CouchDB reads an empty POST _changes as no options
        resp = couch.request(method, path, data=body, content_type="application/json")
        assert_error(resp, 400, "bad_request")
    _assert_unchanged(couch, db, before)


@pytest.mark.parametrize("body", [[], [{"_id": "x"}], "docs", 5, None, True])
def test_json_that_is_not_an_object_is_400(couch: Couch, seeded, body) -> None:
    db, _ = seeded
    before = _state(couch, db)
    for method, path in [
        ("PUT", f"{db}/doc"), ("POST", db), ("POST", f"{db}/_bulk_docs"), ("POST", f"{db}/_revs_diff"),
        ("POST", f"{db}/_bulk_get"), ("POST", f"{db}/_all_docs"), ("PUT", f"{db}/_local/ck"),
    ]:
        assert_error(couch.request(method, path, json=body), 400, "bad_request")
    _assert_unchanged(couch, db, before)


@pytest.mark.parametrize("body", [
    {}, {"docs": {}}, {"docs": "a"}, {"docs": None}, {"docs": 5},
    {"docs": [{"_id": "x"}], "new_edits": "false"}, {"docs": [{"_id": "x"}], "new_edits": 0},
    {"docs": [5]}, {"docs": [None]}, {"docs": [[]]}, {"docs": ["x"]},
])
def test_bulk_docs_of_wrong_shape_is_400(couch: Couch, seeded, body) -> None:
    db, _ = seeded
    before = _state(couch, db)
    assert_error(couch.post(f"{db}/_bulk_docs", json=body), 400, "bad_request")
    _assert_unchanged(couch, db, before)


def test_integers_beyond_64_bits(couch: Couch, seeded) -> None:
    db, _ = seeded
    resp = couch.put(f"{db}/big", data=b'{"n": 123456789012345678901234567890}', content_type="application/json")
    if resp.status_code == 201:
        assert couch.get(f"{db}/big").status_code == 200
    else:
        assert_error(resp, 400)


# -- documents that are not well-formed -------------------------------------------------------------
BAD_DOCS = {
    "id not a string": {"_id": 5},
    "empty id": {"_id": ""},
    "id with underscore": {"_id": "_users"},
    "id _design/ alone": {"_id": "_design/"},
    "id with control character": {"_id": "a\nb"},
    "id too long": {"_id": "x" * 600},
    "rev not a string": {"_id": "x", "_rev": 1},
    "rev without dash": {"_id": "x", "_rev": "abc"},
    "rev generation zero": {"_id": "x", "_rev": "0-abc"},
    "rev without hash": {"_id": "x", "_rev": "1-"},
    "rev with spaces": {"_id": "x", "_rev": "1-a b"},
    "rev negative": {"_id": "x", "_rev": "-1-abc"},
    "deleted not boolean": {"_id": "x", "_deleted": "yes"},
    "unknown special member": {"_id": "x", "_private": 1},
    "attachments not object": {"_id": "x", "_attachments": []},
    "attachment not object": {"_id": "x", "_attachments": {"a.txt": "hello"}},
    "attachment without data or stub": {"_id": "x", "_attachments": {"a.txt": {"content_type": "text/plain"}}},
    "attachment data not base64": {"_id": "x", "_attachments": {"a.txt": {"data": "!!not base64!!"}}},
    "attachment data bad padding": {"_id": "x", "_attachments": {"a.txt": {"data": "abc"}}},
    "attachment data not a string": {"_id": "x", "_attachments": {"a.txt": {"data": 5}}},
    "attachment follows without multipart": {"_id": "x", "_attachments": {"a.txt": {"follows": True}}},
    "content type not a string": {"_id": "x", "_attachments": {"a.txt": {"data": "", "content_type": 5}}},
    "content type with newline": {"_id": "x", "_attachments": {
        "a.txt": {"data": "", "content_type": "text/plain\r\nSet-Cookie: a=b"}}},
}
BAD_ATT_NAMES = ["../etc/passwd", "/etc/passwd", "a\\b", "a\x00b", "a\nb", "a\x7fb", "_design", "a//b",
                 "a/./b", "a/../b", "..", ".", "", "x" * 300]


@pytest.mark.parametrize("label", sorted(BAD_DOCS))
def test_malformed_document_is_400_everywhere(couch: Couch, seeded, label: str) -> None:
    db, _ = seeded
    doc = BAD_DOCS[label]
    before = _state(couch, db)
    resp = couch.post(f"{db}/_bulk_docs", json={"docs": [{"_id": "good", "n": 1}, doc]})
    assert_error(resp, 400)
    assert_error(couch.post(db, json=doc), 400)
    if doc["_id"] == "x":  # the fault is in the body: PUT it to a good URL
        body = {k: v for k, v in doc.items() if k != "_id"}
        assert_error(couch.put(f"{db}/x", json=body), 400)
    _assert_unchanged(couch, db, before)
    assert_error(couch.get(f"{db}/good"), 404)


@pytest.mark.parametrize("name", BAD_ATT_NAMES, ids=range(len(BAD_ATT_NAMES)))
def test_attachment_names_with_path_tricks_are_400(couch: Couch, seeded, name: str) -> None:
    db, rev = seeded
    before = _state(couch, db)
    doc = {"_id": "x", "_attachments": {name: {"content_type": "text/plain", "data": b64(b"x")}}}
    assert_error(couch.post(f"{db}/_bulk_docs", json={"docs": [doc]}), 400)
    assert_error(couch.put(f"{db}/x", json={"_attachments": doc["_attachments"]}), 400)
    keep = couch.get(f"{db}/keep").json
    keep["_attachments"][name] = {"content_type": "text/plain", "data": b64(b"x")}
    assert_error(couch.put(f"{db}/keep", json=keep), 400)
    _assert_unchanged(couch, db, before)


@pytest.mark.parametrize("path", ["..%2Fetc%2Fpasswd", "%2Fetc", "a%5Cb", "a%00b", "a%0Ab", "%2E%2E", "_x",
                                  "a/%2E%2E/b", "a%2F%2Fb"])
def test_attachment_urls_with_path_tricks_are_400(couch: Couch, seeded, path: str) -> None:
    db, rev = seeded
    before = _state(couch, db)
    resp = couch.put(f"{db}/keep/{path}?rev={rev}", data=b"x", content_type="text/plain")
    assert_error(resp, 400)
    assert_error(couch.get(f"{db}/keep/{path}"), 400)
    _assert_unchanged(couch, db, before)


def test_one_malformed_document_refuses_the_whole_batch(couch: Couch, seeded) -> None:
    db, rev = seeded
    before = _state(couch, db)
    batch = [{"_id": "new1"}, {"_id": "keep", "_rev": rev, "n": 2}, {"_id": "bad", "_rev": "nope"}, {"_id": "new2"}]
    assert_error(couch.post(f"{db}/_bulk_docs", json={"docs": batch}), 400, "bad_request")
    replicated = [{"_id": "r1", "_rev": "1-a"}, {"_id": "r2"}]
    assert_error(couch.post(f"{db}/_bulk_docs", json={"docs": replicated, "new_edits": False}), 400)
    _assert_unchanged(couch, db, before)


def test_ids_with_underscore_in_urls(couch: Couch, seeded) -> None:
    db, _ = seeded
    before = _state(couch, db)
    for docid in ("_foo", "_users", "_designs/x", "_localx", "_all_docsx"):
        assert_error(couch.put(f"{db}/{docid}", json={}), 400, "bad_request")
    assert_error(couch.get(f"{db}/_foo"), 400, "bad_request")
    _assert_unchanged(couch, db, before)


# -- revisions --------------------------------------------------------------------------------------
def test_missing_or_stale_rev_on_update_is_409(couch: Couch, seeded) -> None:
    db, rev = seeded
    couch.create_doc(db, {**couch.get(f"{db}/keep").json, "n": 2})
    before = _state(couch, db)
    assert_error(couch.put(f"{db}/keep", json={"n": 3}), 409, "conflict")
    assert_error(couch.put(f"{db}/keep", json={"_rev": rev, "n": 3}), 409, "conflict")
    assert_error(couch.put(f"{db}/keep", json={"_rev": "1-0000", "n": 3}), 409, "conflict")
    assert_error(couch.delete(f"{db}/keep?rev={rev}"), 409, "conflict")
    assert_error(couch.delete(f"{db}/keep"), 409, "conflict")
    _assert_unchanged(couch, db, before)


def test_invalid_rev_strings_in_urls_are_400(couch: Couch, seeded) -> None:
    db, _ = seeded
    before = _state(couch, db)
    for rev in ("garbage", "1-", "0-a", "1-a%20b", "x-1"):
        assert_error(couch.get(f"{db}/keep?rev={rev}"), 400, "bad_request")
        assert_error(couch.delete(f"{db}/keep?rev={rev}"), 400, "bad_request")
        assert_error(couch.put(f"{db}/keep?rev={rev}", json={"n": 5}), 400, "bad_request")
        assert_error(couch.get(f"{db}/keep/a.txt?rev={rev}"), 400, "bad_request")
        assert_error(couch.put(f"{db}/keep/b.txt?rev={rev}", data=b"x", content_type="text/plain"), 400)
        assert_error(couch.delete(f"{db}/keep/a.txt?rev={rev}"), 400, "bad_request")
    assert_error(couch.get(f"{db}/keep", headers={"If-Match": '"nonsense"'}), 400)
    _assert_unchanged(couch, db, before)


def test_new_edits_false_needs_a_rev(couch: Couch, seeded) -> None:
    db, _ = seeded
    before = _state(couch, db)
    resp = couch.post(f"{db}/_bulk_docs", json={"new_edits": False, "docs": [{"_id": "x", "v": 1}]})
    assert_error(resp, 400, "bad_request")
    assert_error(couch.put(f"{db}/x?new_edits=false", json={"v": 1}), 400, "bad_request")
    _assert_unchanged(couch, db, before)


@pytest.mark.parametrize("revisions", [
    "2-a", [], {"start": 2}, {"ids": ["a"]}, {"start": "2", "ids": ["b", "a"]}, {"start": 2, "ids": []},
    {"start": 2, "ids": "ba"}, {"start": 2, "ids": ["x", "a"]}, {"start": 3, "ids": ["b", "a"]},
    {"start": 1, "ids": ["b", "a"]}, {"start": 2, "ids": ["b", 5]}, {"start": 2, "ids": ["b", "a b"]},
    {"start": True, "ids": ["b"]},
])
def test_revisions_that_disagree_with_rev_are_400(couch: Couch, seeded, revisions) -> None:
    db, _ = seeded
    before = _state(couch, db)
    doc = {"_id": "x", "_rev": "2-b", "_revisions": revisions}
    assert_error(couch.post(f"{db}/_bulk_docs", json={"new_edits": False, "docs": [doc]}), 400)
    _assert_unchanged(couch, db, before)


# -- query parameters --------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "open_revs=notjson", 'open_revs={"a":1}', "open_revs=[1]", 'open_revs=["garbage"]', "open_revs=5",
    "revs=maybe", "conflicts=2", "open_revs=all&latest=yes", "attachments=on", "atts_since=notjson",
    'atts_since="1-a"', "atts_since=[1]", "revs_info=x", "meta=x", "local_seq=x",
])
def test_invalid_document_query_parameters_are_400(couch: Couch, seeded, query: str) -> None:
    db, _ = seeded
    assert_error(couch.get(f"{db}/keep?{query}"), 400, "bad_request")
    assert_error(couch.get(f"{db}/keep?{query}", headers={"Accept": "multipart/mixed"}), 400, "bad_request")


def test_invalid_write_query_parameters_are_400(couch: Couch, seeded) -> None:
    db, _ = seeded
    before = _state(couch, db)
    assert_error(couch.put(f"{db}/x?new_edits=maybe", json={"_rev": "1-a"}), 400, "bad_request")
    _assert_unchanged(couch, db, before)


def test_since_beyond_any_sequence(couch: Couch, seeded) -> None:
    db, _ = seeded
    huge = "9" * 30
    resp = couch.get(f"{db}/_changes?since={huge}")
    if resp.status_code == 200:
        assert resp.json["results"] == []
    else:
        assert_error(resp, 400)
    resp = couch.get(f"{db}/_changes?since={huge}&feed=longpoll&timeout=10")
    assert resp.status_code in (200, 400)
    resp.get_data()


# -- content types and sizes ------------------------------------------------------------------------------
@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                   "application/xml"])
def test_wrong_content_type_is_415(couch: Couch, seeded, ctype: str) -> None:
    db, _ = seeded
    before = _state(couch, db)
    body = b'{"docs": [{"_id": "x"}]}'
    for method, path in [("POST", f"{db}/_bulk_docs"), ("POST", f"{db}/_revs_diff"), ("POST", f"{db}/_bulk_get"),
                         ("POST", f"{db}/_all_docs"), ("PUT", f"{db}/x"), ("POST", db)]:
        assert_error(couch.request(method, path, data=body, content_type=ctype), 415, "bad_content_type")
    _assert_unchanged(couch, db, before)


def test_bodies_over_the_limit_are_413(new_app, tmp_path: Path) -> None:
    small = new_app(tmp_path / "small", max_body_bytes=2048)
    couch = Couch(small.test_client())
    assert couch.put("/db/s").status_code == 201
    db = "/db/s"
    rev = couch.create_doc(db, {"_id": "keep"})
    before = _state(couch, db)
    big = "x" * 4096
    assert_error(couch.put(f"{db}/x", json={"big": big}), 413, "too_large")
    assert_error(couch.post(db, json={"big": big}), 413, "too_large")
    assert_error(couch.post(f"{db}/_bulk_docs", json={"docs": [{"_id": "x", "big": big}]}), 413, "too_large")
    assert_error(couch.put(f"{db}/keep/a.bin?rev={rev}", data=b"\0" * 4096,
                           content_type="application/octet-stream"), 413, "too_large")
    assert_error(couch.put(f"{db}/_local/ck", json={"big": big}), 413, "too_large")
    ctype, body = related_body({"_id": "x", "_rev": "1-a", "_attachments": {
        "a.bin": {"follows": True, "content_type": "application/octet-stream"}}},
        [("a.bin", "application/octet-stream", b"\0" * 4096)])
    assert_error(couch.put(f"{db}/x?new_edits=false", data=body, headers={"Content-Type": ctype}), 413)
    assert_error(couch.post(f"{db}/_revs_diff", json={"x": ["1-" + "a" * 32] * 100}), 413)
    # a gzip-encoded part that inflates past the limit (a "zip bomb") is refused too
    bomb = gzip.compress(b"\0" * 1_000_000)
    assert len(bomb) < 2048
    ctype, body = related_body({"_id": "x", "_rev": "1-a", "_attachments": {"a.txt": {
        "follows": True, "content_type": "text/plain", "encoding": "gzip"}}}, [("a.txt", "text/plain", bomb)])
    assert_error(couch.put(f"{db}/x?new_edits=false", data=body, headers={"Content-Type": ctype}), 413)
    _assert_unchanged(couch, db, before)


# -- attachments ------------------------------------------------------------------------------------------
def test_attachment_requests_on_missing_documents(couch: Couch, seeded) -> None:
    db, _ = seeded
    before = _state(couch, db)
    assert_error(couch.put(f"{db}/nodoc/a.txt?rev=1-abc", data=b"x", content_type="text/plain"), 409)
    assert_error(couch.delete(f"{db}/nodoc/a.txt?rev=1-abc"), 409)
    assert_error(couch.delete(f"{db}/keep/a.txt"), 409)
    _assert_unchanged(couch, db, before)


def test_stub_metadata_cannot_corrupt_a_document(couch: Couch, seeded) -> None:
    """A stub naming bytes the server holds: its metadata must be sane, or refused."""
    db, _ = seeded
    digest = couch.get(f"{db}/keep").json["_attachments"]["a.txt"]["digest"]
    for meta in ({"revpos": "x"}, {"length": "long"}, {"content_type": 5}, {"revpos": [1]},
                 {"content_type": "a\r\nb: c"}, {"length": -1}, {"revpos": 99}):
        doc = {"_id": "x", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a"]},
               "_attachments": {"a.txt": {"stub": True, "digest": digest, **meta}}}
        resp = couch.post(f"{db}/_bulk_docs", json={"new_edits": False, "docs": [doc]})
        if resp.status_code == 201 and resp.json:
            # Refused per document (CouchDB's answer when the stub is not the
            # document's own): an error a client can read, and nothing stored.
            [error] = resp.json
            assert error["id"] == "x" and error["error"] == "missing_stub", (meta, error)
            assert_error(couch.get(f"{db}/x"), 404)
        elif resp.status_code == 201:
            for query in ("", "?attachments=true", '?open_revs=["2-b"]&revs=true'):
                read = couch.get(f"{db}/x{query}", headers={"Accept": "multipart/mixed"})
                assert read.status_code == 200, (meta, read.get_data(as_text=True))
                read.get_data()
            got = couch.get(f"{db}/x/a.txt")
            assert got.status_code == 200 and got.get_data() == b"keep", meta
            couch.delete(db)
            couch.put(db)
            couch.create_doc(db, {"_id": "keep", "_attachments": {
                "a.txt": {"content_type": "text/plain", "data": b64(b"keep")}}})
        else:
            assert_error(resp, resp.status_code)
            assert 400 <= resp.status_code < 500


def test_revs_limit(couch: Couch, seeded) -> None:
    db, _ = seeded
    assert couch.get(f"{db}/_revs_limit").status_code == 200
    for body in (b'"abc"', b"0", b"-3", b"true", b"{}", b"1.5"):
        assert_error(couch.put(f"{db}/_revs_limit", data=body, content_type="application/json"), 400)
