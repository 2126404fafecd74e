# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""The replication batch endpoints: ``_revs_diff``, ``_bulk_docs``, ``_bulk_get``.

A push asks ``_revs_diff`` which revisions the target lacks, then sends them
with ``_bulk_docs`` and ``new_edits: false`` (the revisions are stored as made
by the source); a pull fetches revisions with ``_bulk_get``. Every batch is
idempotent, so a sync cut off half way can simply be repeated.
"""

from __future__ import annotations

from eventual import assert_nothing_since, changes_since
from protocol_helpers import (  # noqa: F401
    Couch,
    app,
    assert_error,
    b64,
    couch,
    db,
    md5_digest,
)


def _replicated(docid: str, rev: str, ancestors: list[str] = (), **body) -> dict:
    """A document as a replicator sends it: ``_rev`` plus ``_revisions``."""
    gen, rid = rev.split("-")
    ids = [rid] + [a.split("-")[1] for a in ancestors]
    return {"_id": docid, "_rev": rev, "_revisions": {"start": int(gen), "ids": ids}, **body}


# -- _revs_diff --------------------------------------------------------------------------
def test_revs_diff_reports_only_what_is_missing(couch: Couch, db: str) -> None:
    couch.bulk(db, [_replicated("a", "2-b", ["1-a"]), _replicated("b", "1-x")], new_edits=False)
    resp = couch.post(f"{db}/_revs_diff", json={
        "a": ["2-b", "3-c"],
        "b": ["1-x"],
        "new": ["1-n", "2-m"],
    })
    assert resp.status_code == 200
    body = resp.json
    assert set(body) == {"a", "new"}
    assert body["a"]["missing"] == ["3-c"]
    assert body["a"]["possible_ancestors"] == ["2-b"]
    assert body["new"] == {"missing": ["1-n", "2-m"]}


def test_revs_diff_possible_ancestors_are_older_leaves(couch: Couch, db: str) -> None:
    couch.bulk(db, [
        _replicated("d", "2-l", ["1-r"]), _replicated("d", "3-m", ["2-k", "1-r"]),
    ], new_edits=False)
    body = couch.post(f"{db}/_revs_diff", json={"d": ["4-z", "1-r"]}).json
    assert body["d"]["missing"] == ["4-z"]
    assert sorted(body["d"]["possible_ancestors"]) == ["2-l", "3-m"]


def test_revs_diff_empty(couch: Couch, db: str) -> None:
    resp = couch.post(f"{db}/_revs_diff", json={})
    assert resp.status_code == 200
    assert resp.json == {}


def test_revs_diff_bad_bodies(couch: Couch, db: str) -> None:
    for body in ([], {"a": "1-x"}, {"a": [1]}, {"a": None}, {"a": [["1-x"]]}):
        assert_error(couch.post(f"{db}/_revs_diff", json=body), 400, "bad_request")
    resp = couch.post(f"{db}/_revs_diff", json={"a": ["not-a-rev"]})
    assert_error(resp, 400, "bad_request")


# -- _bulk_docs, new_edits=true ------------------------------------------------------------
def test_bulk_docs_creates_and_answers_201(couch: Couch, db: str) -> None:
    resp = couch.post(f"{db}/_bulk_docs", json={"docs": [{"_id": "a", "n": 1}, {"_id": "b", "n": 2}]})
    assert resp.status_code == 201
    results = resp.json
    assert [r["id"] for r in results] == ["a", "b"]
    assert all(r["ok"] is True and r["rev"].startswith("1-") for r in results)
    assert couch.get(f"{db}/b").json["n"] == 2


def test_bulk_docs_makes_ids_when_missing(couch: Couch, db: str) -> None:
    (result,) = couch.bulk(db, [{"n": 1}])
    assert result["ok"] is True and result["id"]
    assert couch.get(f"{db}/{result['id']}").json["n"] == 1


def test_bulk_docs_conflict_is_per_document(couch: Couch, db: str) -> None:
    rev = couch.create_doc(db, {"_id": "a", "n": 1})
    before = couch.info(db)["update_seq"]
    resp = couch.post(f"{db}/_bulk_docs", json={"docs": [
        {"_id": "a", "n": 2},                   # no rev on an existing doc
        {"_id": "b", "n": 1},                   # new
        {"_id": "a", "_rev": "1-stale", "n": 3},  # unknown rev
        {"_id": "c", "_rev": "1-abc"},          # rev on a new doc
    ]})
    assert resp.status_code == 201
    results = resp.json
    assert results[0] == {"id": "a", "error": "conflict", "reason": "Document update conflict."}
    assert results[1]["ok"] is True and results[1]["id"] == "b"
    assert results[2]["error"] == "conflict"
    assert results[3]["error"] == "conflict"
    assert couch.get(f"{db}/a").json["_rev"] == rev
    assert couch.get(f"{db}/b").json["n"] == 1
    assert_error(couch.get(f"{db}/c"), 404)
    couch.settle(db, {"b": results[1]["rev"]})
    assert [r["id"] for r in changes_since(couch, db, before)] == ["b"]


def test_bulk_docs_updates_and_deletes(couch: Couch, db: str) -> None:
    r1 = couch.bulk(db, [{"_id": "a", "n": 1}, {"_id": "b"}])
    r2 = couch.bulk(db, [
        {"_id": "a", "_rev": r1[0]["rev"], "n": 2},
        {"_id": "b", "_rev": r1[1]["rev"], "_deleted": True},
    ])
    assert r2[0]["rev"].startswith("2-") and r2[1]["rev"].startswith("2-")
    assert couch.get(f"{db}/a").json["n"] == 2
    assert_error(couch.get(f"{db}/b"), 404)
    info = couch.info(db)
    assert (info["doc_count"], info["doc_del_count"]) == (1, 1)


def test_bulk_docs_with_inline_attachments(couch: Couch, db: str) -> None:
    data = "Сайн уу".encode()
    couch.bulk(db, [{"_id": "a", "_attachments": {
        "note.txt": {"content_type": "text/plain; charset=utf-8", "data": b64(data)}}}])
    att = couch.get(f"{db}/a").json["_attachments"]["note.txt"]
    assert att["digest"] == md5_digest(data) and att["length"] == len(data)
    assert couch.get(f"{db}/a/note.txt").get_data() == data


def test_bulk_docs_empty_batch(couch: Couch, db: str) -> None:
    resp = couch.post(f"{db}/_bulk_docs", json={"docs": []})
    assert resp.status_code == 201
    assert resp.json == []


# -- _bulk_docs, new_edits=false ---------------------------------------------------------------
def test_replicated_revisions_are_stored_as_given(couch: Couch, db: str) -> None:
    resp = couch.post(f"{db}/_bulk_docs", json={"new_edits": False, "docs": [
        _replicated("a", "3-c", ["2-b", "1-a"], v=3),
    ]})
    assert resp.status_code == 201
    assert resp.json == []
    doc = couch.get(f"{db}/a?revs=true").json
    assert doc["_rev"] == "3-c" and doc["v"] == 3
    assert doc["_revisions"] == {"start": 3, "ids": ["c", "b", "a"]}


def test_replicating_twice_is_harmless(couch: Couch, db: str) -> None:
    docs = [_replicated("a", "2-b", ["1-a"], v=1), _replicated("z", "1-z")]
    couch.bulk(db, docs, new_edits=False)
    seq = couch.info(db)["update_seq"]
    couch.bulk(db, docs, new_edits=False)
    assert_nothing_since(couch, db, seq)
    assert len(couch.get(f"{db}/_changes").json["results"]) == 2


def test_replicated_branches_make_a_conflict(couch: Couch, db: str) -> None:
    couch.bulk(db, [_replicated("a", "2-x", ["1-a"]), _replicated("a", "2-y", ["1-a"])], new_edits=False)
    doc = couch.get(f"{db}/a?conflicts=true").json
    assert doc["_rev"] == "2-y"
    assert doc["_conflicts"] == ["2-x"]


def test_replicated_without_revisions_is_a_root(couch: Couch, db: str) -> None:
    couch.bulk(db, [{"_id": "a", "_rev": "5-e", "v": 1}], new_edits=False)
    doc = couch.get(f"{db}/a?revs=true").json
    assert doc["_revisions"] == {"start": 5, "ids": ["e"]}


def test_replicated_deletion(couch: Couch, db: str) -> None:
    couch.bulk(db, [_replicated("a", "1-a")], new_edits=False)
    couch.bulk(db, [_replicated("a", "2-d", ["1-a"], _deleted=True)], new_edits=False)
    assert_error(couch.get(f"{db}/a"), 404)
    (row,) = couch.get(f"{db}/_changes").json["results"]
    assert row["deleted"] is True and row["changes"] == [{"rev": "2-d"}]


# -- _bulk_get -------------------------------------------------------------------------------
def test_bulk_get_revisions_and_errors(couch: Couch, db: str) -> None:
    couch.bulk(db, [_replicated("a", "2-b", ["1-a"], v=2), _replicated("c", "1-c", v=1)], new_edits=False)
    resp = couch.post(f"{db}/_bulk_get?revs=true", json={"docs": [
        {"id": "a", "rev": "2-b"},
        {"id": "c"},
        {"id": "a", "rev": "9-zz"},
        {"id": "nope", "rev": "1-x"},
        {"id": "nope"},
    ]})
    assert resp.status_code == 200
    results = resp.json["results"]
    assert [r["id"] for r in results] == ["a", "c", "a", "nope", "nope"]

    (ok,) = results[0]["docs"]
    assert ok["ok"]["_rev"] == "2-b" and ok["ok"]["v"] == 2
    assert ok["ok"]["_revisions"] == {"start": 2, "ids": ["b", "a"]}
    assert results[1]["docs"][0]["ok"]["_id"] == "c"

    (err,) = results[2]["docs"]
    assert err["error"]["id"] == "a" and err["error"]["rev"] == "9-zz"
    assert err["error"]["error"] == "not_found"
    assert isinstance(err["error"]["reason"], str)
    assert results[3]["docs"][0]["error"]["error"] == "not_found"
    assert results[3]["docs"][0]["error"]["rev"] == "1-x"
    assert results[4]["docs"][0]["error"]["error"] == "not_found"


def test_bulk_get_latest_follows_to_the_leaves(couch: Couch, db: str) -> None:
    couch.bulk(db, [_replicated("a", "2-x", ["1-a"]), _replicated("a", "2-y", ["1-a"])], new_edits=False)
    results = couch.post(f"{db}/_bulk_get?latest=true", json={"docs": [{"id": "a", "rev": "1-a"}]}).json
    revs = sorted(d["ok"]["_rev"] for d in results["results"][0]["docs"])
    assert revs == ["2-x", "2-y"]


def test_bulk_get_attachments_and_atts_since(couch: Couch, db: str) -> None:
    r1 = couch.create_doc(db, {"_id": "a", "_attachments": {"one.txt": {"content_type": "text/plain",
                                                                          "data": b64(b"1")}}})
    doc = couch.get(f"{db}/a").json
    doc["_attachments"]["two.txt"] = {"content_type": "text/plain", "data": b64(b"22")}
    r2 = couch.put(f"{db}/a", json=doc).json["rev"]

    stubs = couch.post(f"{db}/_bulk_get", json={"docs": [{"id": "a", "rev": r2}]}).json
    atts = stubs["results"][0]["docs"][0]["ok"]["_attachments"]
    assert all(a.get("stub") for a in atts.values())

    full = couch.post(f"{db}/_bulk_get?attachments=true", json={"docs": [{"id": "a", "rev": r2}]}).json
    atts = full["results"][0]["docs"][0]["ok"]["_attachments"]
    assert atts["one.txt"]["data"] == b64(b"1") and atts["two.txt"]["data"] == b64(b"22")

    since = couch.post(f"{db}/_bulk_get?attachments=true", json={"docs": [
        {"id": "a", "rev": r2, "atts_since": [r1]}]}).json
    atts = since["results"][0]["docs"][0]["ok"]["_attachments"]
    assert atts["one.txt"].get("stub") is True
    assert atts["two.txt"]["data"] == b64(b"22")


def test_bulk_get_bad_bodies(couch: Couch, db: str) -> None:
    for body in ([], {}, {"docs": "a"}, {"docs": [1]}, {"docs": [{"rev": "1-a"}]},
                 {"docs": [{"id": 5}]}, {"docs": [{"id": "a", "rev": 1}]},
                 {"docs": [{"id": "a", "atts_since": "1-a"}]}):
        assert_error(couch.post(f"{db}/_bulk_get", json=body), 400, "bad_request")
    assert_error(couch.post(f"{db}/_bulk_get?revs=perhaps", json={"docs": []}), 400)
