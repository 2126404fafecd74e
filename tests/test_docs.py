"""What ``check_doc`` lets through to a store, and what it refuses with a 400.

Every write is checked whole before anything is stored, so a refusal here is
what keeps a malformed document (or a path-like attachment name that would
travel to every replica and export) out of the system.
"""

from __future__ import annotations

import base64

import pytest

from sync.docs import check_doc, md5_digest
from sync.errors import BadRequest


def ok(doc: dict, *, new_edits: bool = True) -> dict:
    return check_doc(doc, new_edits=new_edits)


def refused(doc: object, *, new_edits: bool = True) -> BadRequest:
    with pytest.raises(BadRequest) as exc:
        check_doc(doc, new_edits=new_edits)
    assert exc.value.status == 400
    return exc.value


# -- ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("docid", [
    "uvs-tes:sub:01JDQ7ZK9M",
    "_design/app",
    "Өлзий",
    "a" * 512,
    "with space and/slash",
])
def test_accepted_ids(docid):
    assert ok({"_id": docid})["_id"] == docid


@pytest.mark.parametrize("docid", [
    "_foo", "_local/x", "_users", "_design", "_design/", "_",
])
def test_ids_starting_with_underscore_are_reserved(docid):
    """Only ``_design/<name>`` may start with an underscore in a normal write."""
    refused({"_id": docid})


@pytest.mark.parametrize("docid", [None, 1, 1.5, True, [], {}, b"abc", ""])
def test_ids_must_be_non_empty_strings(docid):
    refused({"_id": docid})


def test_id_is_required():
    refused({"v": 1})


@pytest.mark.parametrize("docid", ["a\x00b", "line\nbreak", "tab\there", "del\x7f", "c1\x9b"])
def test_ids_with_control_characters_are_refused(docid):
    refused({"_id": docid})


def test_overlong_ids_are_refused():
    refused({"_id": "a" * 513})


@pytest.mark.parametrize("doc", [[], "doc", 1, None])
def test_a_document_must_be_an_object(doc):
    refused(doc)


# -- _rev and _revisions -------------------------------------------------------------------


@pytest.mark.parametrize("rev", [
    "abc", "0-abc", "1-", "-1", "1-abc-def", 1, ["1-a"], "", "1-abc\n", "1-ab c", "x-abc",
])
def test_bad_rev_is_refused(rev):
    refused({"_id": "doc", "_rev": rev})


def test_good_rev_is_kept():
    assert ok({"_id": "doc", "_rev": "3-abc"})["_rev"] == "3-abc"


def test_new_edits_false_needs_a_rev():
    refused({"_id": "doc", "v": 1}, new_edits=False)


def test_new_edits_false_turns_revisions_into_a_path():
    doc = ok({"_id": "doc", "_rev": "3-c", "_revisions": {"start": 3, "ids": ["c", "b", "a"]}},
             new_edits=False)
    assert doc["_revisions"] == ["3-c", "2-b", "1-a"]


def test_new_edits_false_without_revisions_is_the_rev_alone():
    assert ok({"_id": "doc", "_rev": "5-e"}, new_edits=False)["_revisions"] == ["5-e"]


@pytest.mark.parametrize("revisions", [
    {"start": 2, "ids": ["c", "b"]},  # start does not match _rev's generation
    {"start": 3, "ids": ["x", "b"]},  # first id does not match _rev's hash
    {"start": 3, "ids": ["c", "b", "a", "z"]},  # more ids than generations
    {"start": 3, "ids": []},
    {"start": "3", "ids": ["c"]},
    "3-c",
])
def test_revisions_inconsistent_with_rev_are_refused(revisions):
    refused({"_id": "doc", "_rev": "3-c", "_revisions": revisions}, new_edits=False)


def test_new_edits_true_ignores_revisions():
    """An interactive edit makes its own history; a client's _revisions is dropped."""
    doc = ok({"_id": "doc", "_rev": "1-a", "_revisions": {"start": 9, "ids": ["zz"]}})
    assert "_revisions" not in doc


# -- special members ---------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["_foo", "_local_seq_x", "_attachment", "_id_", "_"])
def test_unknown_special_members_are_doc_validation_errors(member):
    exc = refused({"_id": "doc", member: 1})
    assert exc.error == "doc_validation"


def test_read_only_specials_echoed_back_are_dropped():
    """Clients send back what they read (``_conflicts``…); CouchDB ignores those members."""
    doc = ok({
        "_id": "doc", "_conflicts": ["2-b"], "_deleted_conflicts": ["2-c"],
        "_revs_info": [], "_local_seq": 4, "v": 1,
    })
    assert doc == {"_id": "doc", "v": 1}


def test_deleted_must_be_boolean():
    assert ok({"_id": "doc", "_deleted": True})["_deleted"] is True
    exc = refused({"_id": "doc", "_deleted": "yes"})
    assert exc.error == "doc_validation"
    refused({"_id": "doc", "_deleted": 1})


def test_user_fields_are_untouched():
    body = {"_id": "doc", "name": "Түмэн", "nested": {"_under": 1}, "list": [None, 1.5]}
    assert ok(dict(body)) == body


# -- attachments --------------------------------------------------------------------------------


def att(data: bytes = b"hello", **extra) -> dict:
    return {"content_type": "text/plain", "data": base64.b64encode(data).decode(), **extra}


def test_inline_base64_is_decoded_to_bytes():
    doc = ok({"_id": "doc", "_attachments": {"a.txt": att("Сайн уу".encode())}})
    assert doc["_attachments"]["a.txt"]["data"] == "Сайн уу".encode()


def test_stubs_and_raw_bytes_pass_through():
    doc = ok({"_id": "doc", "_attachments": {
        "stub.jpg": {"stub": True, "digest": md5_digest(b"x")},
        "raw.bin": {"data": b"\x00\x01"},
        "multipart.jpg": {"follows": True, "data": b"\xff"},
    }})
    assert doc["_attachments"]["raw.bin"]["data"] == b"\x00\x01"
    assert doc["_attachments"]["stub.jpg"]["stub"] is True


@pytest.mark.parametrize("name", [
    "photo.jpg", "зураг.jpg", "dir/photo.jpg", "a b.png", "x" * 255, "a.b.c", "...x",
])
def test_accepted_attachment_names(name):
    ok({"_id": "doc", "_attachments": {name: att()}})


@pytest.mark.parametrize("name", [
    "../x", "a/../b", "a/..", "..", ".", "./x", "a/./b",
    "/etc/passwd", "a//b", "a/",
    "a\\b", "..\\..\\x", "C:\\x",
    "a\x00b", "a\nb", "\r", "tab\t", "bell\x07", "del\x7f", "csi\x9b[2J", "nel\x85",
    "_x", "_design", "",
    "x" * 256,
])
def test_attachment_names_with_path_tricks_are_refused(name):
    refused({"_id": "doc", "_attachments": {name: att()}})


@pytest.mark.parametrize("data", ["not base64!", "abc", "aGVsbG8", "aGVs bG8=", 123, None, ["aGk="]])
def test_bad_base64_is_refused(data):
    refused({"_id": "doc", "_attachments": {"a.txt": {"data": data}}})


def test_follows_without_a_part_is_refused():
    refused({"_id": "doc", "_attachments": {"a.txt": {"follows": True}}})


@pytest.mark.parametrize("attachments", [
    [],
    "a.txt",
    {"a.txt": "aGVsbG8="},
    {"a.txt": {"content_type": "text/plain"}},  # neither data nor stub
    {"a.txt": att(content_type=7)},
])
def test_malformed_attachments_are_refused(attachments):
    refused({"_id": "doc", "_attachments": attachments})


def test_md5_digest_is_couchdb_shaped():
    assert md5_digest(b"hello") == "md5-XUFAKrxLKna5cZ2REBfFkg=="
