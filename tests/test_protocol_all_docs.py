# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""``_all_docs``: every live document by id, or the ones named in ``keys``.

Keys are raw document ids in byte order; ``startkey``/``endkey`` are JSON
strings; ``descending`` walks backwards (so ``startkey`` is the high end).
Deleted documents are left out of ranges, but a ``keys`` lookup reports them
with ``"deleted": true``, and unknown keys with ``"error": "not_found"``.
"""

from __future__ import annotations

from eventual import assert_nothing_since, changes_since
from protocol_helpers import Couch, app, assert_error, couch, db  # noqa: F401

IDS = ["a", "b", "c", "d", "e"]


def _fill(couch: Couch, db: str) -> dict[str, str]:
    results = couch.bulk(db, [{"_id": i, "v": i.upper()} for i in reversed(IDS)])
    return {r["id"]: r["rev"] for r in results}


def _ids(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return [row["id"] for row in resp.json["rows"]]


def test_all_rows_in_id_order(couch: Couch, db: str) -> None:
    revs = _fill(couch, db)
    body = couch.get(f"{db}/_all_docs").json
    assert body["total_rows"] == 5
    assert body["offset"] == 0
    assert body["rows"] == [{"id": i, "key": i, "value": {"rev": revs[i]}} for i in IDS]


def test_include_docs(couch: Couch, db: str) -> None:
    revs = _fill(couch, db)
    rows = couch.get(f"{db}/_all_docs?include_docs=true").json["rows"]
    assert rows[0]["doc"] == {"_id": "a", "_rev": revs["a"], "v": "A"}


def test_startkey_endkey_as_json_strings(couch: Couch, db: str) -> None:
    _fill(couch, db)
    assert _ids(couch.get(f'{db}/_all_docs?startkey="b"&endkey="d"')) == ["b", "c", "d"]
    assert _ids(couch.get(f'{db}/_all_docs?start_key="b"&end_key="d"')) == ["b", "c", "d"]
    assert _ids(couch.get(f'{db}/_all_docs?startkey="bb"')) == ["c", "d", "e"]
    assert _ids(couch.get(f'{db}/_all_docs?key="c"')) == ["c"]


def test_inclusive_end(couch: Couch, db: str) -> None:
    _fill(couch, db)
    assert _ids(couch.get(f'{db}/_all_docs?endkey="c"&inclusive_end=false')) == ["a", "b"]
    assert _ids(couch.get(f'{db}/_all_docs?endkey="c"&inclusive_end=true')) == ["a", "b", "c"]


def test_descending(couch: Couch, db: str) -> None:
    _fill(couch, db)
    assert _ids(couch.get(f"{db}/_all_docs?descending=true")) == IDS[::-1]
    assert _ids(couch.get(f'{db}/_all_docs?descending=true&startkey="d"&endkey="b"')) == ["d", "c", "b"]
    assert _ids(couch.get(
        f'{db}/_all_docs?descending=true&startkey="d"&endkey="b"&inclusive_end=false')) == ["d", "c"]


def test_limit_and_skip(couch: Couch, db: str) -> None:
    _fill(couch, db)
    assert _ids(couch.get(f"{db}/_all_docs?limit=2")) == ["a", "b"]
    body = couch.get(f"{db}/_all_docs?limit=2&skip=2").json
    assert [r["id"] for r in body["rows"]] == ["c", "d"]
    assert body["offset"] == 2
    assert _ids(couch.get(f"{db}/_all_docs?skip=4")) == ["e"]
    assert _ids(couch.get(f"{db}/_all_docs?skip=9")) == []
    assert _ids(couch.get(f"{db}/_all_docs?limit=0")) == []
    assert _ids(couch.get(f"{db}/_all_docs?descending=true&limit=2&skip=1")) == ["d", "c"]


def test_paging_with_startkey_and_skip_one(couch: Couch, db: str) -> None:
    """How PouchDB and scripts page: the last id as startkey, skip=1."""
    _fill(couch, db)
    seen: list[str] = []
    query = "limit=2"
    for _ in range(5):
        rows = couch.get(f"{db}/_all_docs?{query}").json["rows"]
        if not rows:
            break
        seen += [r["id"] for r in rows]
        query = f'limit=2&skip=1&startkey="{rows[-1]["id"]}"'
    assert seen == IDS


def test_deleted_documents_are_left_out_of_ranges(couch: Couch, db: str) -> None:
    revs = _fill(couch, db)
    couch.settle(db, {"c": couch.delete(f"{db}/c?rev={revs['c']}").json["rev"]})
    body = couch.get(f"{db}/_all_docs").json
    assert [r["id"] for r in body["rows"]] == ["a", "b", "d", "e"]
    assert body["total_rows"] == 4


def test_post_keys(couch: Couch, db: str) -> None:
    revs = _fill(couch, db)
    deleted = couch.delete(f"{db}/c?rev={revs['c']}").json["rev"]
    couch.settle(db, {"c": deleted})
    resp = couch.post(f"{db}/_all_docs?include_docs=true", json={"keys": ["e", "zz", "c", "a", "e"]})
    assert resp.status_code == 200
    rows = resp.json["rows"]
    assert [r["key"] for r in rows] == ["e", "zz", "c", "a", "e"]
    assert rows[0]["doc"]["v"] == "E"
    assert rows[1] == {"key": "zz", "error": "not_found"}
    assert rows[2]["id"] == "c"
    assert rows[2]["value"] == {"rev": deleted, "deleted": True}
    assert rows[2]["doc"] is None
    assert rows[3]["value"] == {"rev": revs["a"]}


def test_get_keys_as_json(couch: Couch, db: str) -> None:
    _fill(couch, db)
    assert _ids(couch.get(f'{db}/_all_docs?keys=["d","b"]')) == ["d", "b"]


def test_conflicts_with_include_docs(couch: Couch, db: str) -> None:
    couch.bulk(db, [{"_id": "x", "_rev": "1-a"}, {"_id": "x", "_rev": "1-b"}], new_edits=False)
    (row,) = couch.get(f"{db}/_all_docs?include_docs=true&conflicts=true").json["rows"]
    assert row["doc"]["_rev"] == "1-b"
    assert row["doc"]["_conflicts"] == ["1-a"]


def test_design_docs_are_listed_local_docs_are_not(couch: Couch, db: str) -> None:
    _fill(couch, db)
    couch.create_doc(db, {"_id": "_design/app"})
    couch.put(f"{db}/_local/ck", json={})
    ids = _ids(couch.get(f"{db}/_all_docs"))
    assert "_design/app" in ids
    assert not any(i.startswith("_local") for i in ids)


def test_update_seq(couch: Couch, db: str) -> None:
    """The database's current sequence, as ``GET /{db}`` gives it: nothing comes after
    either, and the next write is exactly what comes after both (sequences are opaque:
    they are compared by feeding them back)."""
    _fill(couch, db)
    body = couch.get(f"{db}/_all_docs?update_seq=true").json
    info_seq = couch.info(db)["update_seq"]
    for seq in (body["update_seq"], info_seq):
        assert_nothing_since(couch, db, seq)
    couch.create_doc(db, {"_id": "f"})
    for seq in (body["update_seq"], info_seq):
        assert [r["id"] for r in changes_since(couch, db, seq)] == ["f"]


def test_bad_parameters(couch: Couch, db: str) -> None:
    _fill(couch, db)
    for query in ("limit=abc", "limit=-1", "skip=x", "skip=-2", "descending=perhaps",
                  "keys=notjson", 'keys={"a":1}', "startkey=5", "endkey=[1]", "include_docs=2"):
        assert_error(couch.get(f"{db}/_all_docs?{query}"), 400, "bad_request")
    for body in ([], {"keys": "a"}, {"keys": {"a": 1}}):
        assert_error(couch.post(f"{db}/_all_docs", json=body), 400, "bad_request")
    assert_error(couch.post(f"{db}/_all_docs", data=b"{", content_type="application/json"), 400)
