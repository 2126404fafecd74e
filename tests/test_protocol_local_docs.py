# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""``_local/<id>`` documents: where replicators keep their checkpoints.

Local documents never replicate and never appear in ``_changes`` or
``_all_docs``. Their revisions are ``0-N``: the first write makes ``0-1``, each
update with the current ``_rev`` adds one, a stale ``_rev`` is a 409.
"""

from __future__ import annotations

from eventual import assert_nothing_since, wait_until
from protocol_helpers import Couch, app, assert_error, couch, db  # noqa: F401

CHECKPOINT = {
    "session_id": "8f0e3c",
    "source_last_seq": "12",
    "replication_id_version": 3,
    "history": [{"session_id": "8f0e3c", "recorded_seq": "12"}],
}


def _gone(couch: Couch, path: str):
    """GET ``path`` until it answers 404, as a client checking a deletion would: on a
    cluster CouchDB answers a ``_local`` read from any copy still holding the document
    (fabric_doc_open never repairs local documents), for a moment after its deletion."""
    return wait_until(lambda: couch.get(path), lambda resp: resp.status_code == 404,
                      what=f"{path} deleted", steady=3)


def test_missing_local_doc_is_404(couch: Couch, db: str) -> None:
    assert_error(couch.get(f"{db}/_local/abc"), 404, "not_found")


def test_first_put_creates_rev_0_1(couch: Couch, db: str) -> None:
    resp = couch.put(f"{db}/_local/abc", json=CHECKPOINT)
    assert resp.status_code == 201
    assert resp.json == {"ok": True, "id": "_local/abc", "rev": "0-1"}
    doc = couch.get(f"{db}/_local/abc").json
    assert doc["_id"] == "_local/abc"
    assert doc["_rev"] == "0-1"
    assert doc["history"] == CHECKPOINT["history"]
    assert doc["source_last_seq"] == "12"


def test_updates_count_up_with_the_current_rev(couch: Couch, db: str) -> None:
    couch.put(f"{db}/_local/abc", json=CHECKPOINT)
    for n in range(2, 6):
        body = {**CHECKPOINT, "_rev": f"0-{n - 1}", "source_last_seq": str(n)}
        resp = couch.put(f"{db}/_local/abc", json=body)
        assert resp.status_code == 201
        assert resp.json["rev"] == f"0-{n}"
    doc = couch.get(f"{db}/_local/abc").json
    assert doc["_rev"] == "0-5"
    assert doc["source_last_seq"] == "5"


def test_stale_rev_is_409_and_keeps_the_document(couch: Couch, db: str) -> None:
    couch.put(f"{db}/_local/abc", json=CHECKPOINT)
    couch.put(f"{db}/_local/abc", json={**CHECKPOINT, "_rev": "0-1", "source_last_seq": "20"})
    resp = couch.put(f"{db}/_local/abc", json={**CHECKPOINT, "_rev": "0-1", "source_last_seq": "99"})
    assert_error(resp, 409, "conflict")
    doc = couch.get(f"{db}/_local/abc").json
    assert doc["_rev"] == "0-2"
    assert doc["source_last_seq"] == "20"


def test_update_without_rev_is_409(couch: Couch, db: str) -> None:
    couch.put(f"{db}/_local/abc", json=CHECKPOINT)
    assert_error(couch.put(f"{db}/_local/abc", json=CHECKPOINT), 409, "conflict")


def test_delete_with_current_rev(couch: Couch, db: str) -> None:
    couch.put(f"{db}/_local/abc", json=CHECKPOINT)
    assert_error(couch.delete(f"{db}/_local/abc?rev=0-7"), 409, "conflict")
    resp = couch.delete(f"{db}/_local/abc?rev=0-1")
    assert resp.status_code == 200
    assert resp.json["ok"] is True
    assert resp.json["id"] == "_local/abc"
    assert_error(_gone(couch, f"{db}/_local/abc"), 404, "not_found")
    assert_error(couch.delete(f"{db}/_local/abc?rev=0-1"), 404, "not_found")


def test_recreated_after_delete_starts_again(couch: Couch, db: str) -> None:
    couch.put(f"{db}/_local/abc", json=CHECKPOINT)
    assert couch.delete(f"{db}/_local/abc?rev=0-1").status_code == 200
    _gone(couch, f"{db}/_local/abc")
    resp = couch.put(f"{db}/_local/abc", json=CHECKPOINT)
    assert resp.status_code == 201
    assert resp.json["rev"] == "0-1"


def test_local_ids_may_hold_slashes_and_encoded_slashes(couch: Couch, db: str) -> None:
    # The CouchDB replicator's checkpoint ids are hex; PouchDB's contain no slash,
    # but CouchDB itself keeps everything after "_local/" as the id.
    resp = couch.put(f"{db}/_local/a%2Fb", json={"x": 1})
    assert resp.status_code == 201
    assert resp.json["id"] == "_local/a/b"
    assert couch.get(f"{db}/_local/a%2Fb").json["x"] == 1


def test_local_docs_stay_out_of_changes_and_all_docs(couch: Couch, db: str) -> None:
    before = couch.info(db)
    couch.put(f"{db}/_local/abc", json=CHECKPOINT)
    after = couch.info(db)
    assert_nothing_since(couch, db, before["update_seq"])
    assert after["doc_count"] == 0
    assert couch.get(f"{db}/_changes").json["results"] == []
    assert couch.get(f"{db}/_all_docs").json["rows"] == []


def test_local_doc_body_must_be_an_object(couch: Couch, db: str) -> None:
    assert_error(couch.put(f"{db}/_local/abc", json=[1, 2]), 400, "bad_request")
    assert_error(couch.put(f"{db}/_local/abc", data=b"{nope", content_type="application/json"), 400)
    assert_error(couch.get(f"{db}/_local/abc"), 404)


def test_local_without_id_is_400(couch: Couch, db: str) -> None:
    assert_error(couch.get(f"{db}/_local"), 400)
    assert_error(couch.get(f"{db}/_local/"), 400)


def test_local_methods(couch: Couch, db: str) -> None:
    assert_error(couch.post(f"{db}/_local/abc", json={}), 405)
