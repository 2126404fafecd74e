# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""``/db/<scope>/_changes``: what every replication starts from.

A replicator reads the feed from its checkpoint (``since``), in batches
(``limit``, ``seq_interval``), with every leaf (``style=all_docs``); PouchDB
then long-polls or keeps a continuous feed open. Each document appears once,
at its newest change; ``last_seq`` is where to resume without losing anything.
"""

from __future__ import annotations

import gzip
import json
import threading
import time

from eventual import assert_at_end, assert_nothing_since, assert_same_point, changes_since
from protocol_helpers import Couch, app, assert_error, couch, db, new_app  # noqa: F401


def _fill(couch: Couch, db: str, n: int) -> list[str]:
    ids = [f"doc{i:02d}" for i in range(n)]
    couch.bulk(db, [{"_id": i, "n": k} for k, i in enumerate(ids)])
    return ids


def _write_later(app, db: str, doc: dict, delay: float) -> threading.Thread:
    """Another client writes ``doc`` after ``delay`` seconds."""
    other = Couch(app.test_client())

    def run() -> None:
        time.sleep(delay)
        other.bulk(db, [doc])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.split(b"\n") if line.strip()]


# -- normal feed ------------------------------------------------------------------------
def test_empty_feed(couch: Couch, db: str) -> None:
    resp = couch.get(f"{db}/_changes")
    assert resp.status_code == 200
    body = resp.json
    assert body["results"] == []
    assert body["pending"] == 0
    assert_at_end(couch, db, body["last_seq"])


def test_every_document_once_at_its_latest_change(couch: Couch, db: str) -> None:
    _fill(couch, db, 3)
    rev = couch.get(f"{db}/doc00").json["_rev"]
    new_rev = couch.create_doc(db, {"_id": "doc00", "_rev": rev, "n": 10})
    results = couch.get(f"{db}/_changes").json["results"]
    assert [r["id"] for r in results] == ["doc01", "doc02", "doc00"]
    assert results[-1]["changes"] == [{"rev": new_rev}]
    for i, row in enumerate(results):  # each row's seq is where the rows after it start
        assert [r["id"] for r in changes_since(couch, db, row["seq"])] == ["doc01", "doc02", "doc00"][i + 1:]


def test_last_seq_equals_the_update_seq(couch: Couch, db: str) -> None:
    _fill(couch, db, 4)
    body = couch.get(f"{db}/_changes").json
    assert_at_end(couch, db, body["last_seq"], body["results"][-1]["seq"], couch.info(db)["update_seq"])


def test_deleted_documents_are_flagged(couch: Couch, db: str) -> None:
    rev = couch.create_doc(db, {"_id": "gone"})
    couch.settle(db, {"gone": couch.delete(f"{db}/gone?rev={rev}").json["rev"]})
    (row,) = couch.get(f"{db}/_changes").json["results"]
    assert row["id"] == "gone"
    assert row["deleted"] is True
    assert row["changes"][0]["rev"].startswith("2-")


def test_since_a_returned_seq_gives_the_rest(couch: Couch, db: str) -> None:
    _fill(couch, db, 5)
    results = couch.get(f"{db}/_changes").json["results"]
    since = results[1]["seq"]
    rest = couch.get(f"{db}/_changes?since={since}").json
    assert [r["id"] for r in rest["results"]] == [r["id"] for r in results[2:]]
    assert_at_end(couch, db, rest["last_seq"], results[-1]["seq"])


def test_since_zero_and_since_now(couch: Couch, db: str) -> None:
    _fill(couch, db, 3)
    assert len(couch.get(f"{db}/_changes?since=0").json["results"]) == 3
    now = couch.get(f"{db}/_changes?since=now").json
    assert now["results"] == []
    assert_at_end(couch, db, now["last_seq"], couch.info(db)["update_seq"])


def test_limit_and_resume_loses_nothing(couch: Couch, db: str) -> None:
    ids = _fill(couch, db, 7)
    seen: list[str] = []
    since = 0
    for _ in range(10):
        body = couch.get(f"{db}/_changes?limit=3&since={since}").json
        assert len(body["results"]) <= 3
        if not body["results"]:
            break
        seen += [r["id"] for r in body["results"]]
        assert_same_point(couch, db, body["last_seq"], body["results"][-1]["seq"])
        since = body["last_seq"]
    assert seen == ids
    assert_nothing_since(couch, db, since)


def test_limit_zero_acts_as_one(couch: Couch, db: str) -> None:
    _fill(couch, db, 3)
    assert len(couch.get(f"{db}/_changes?limit=0").json["results"]) == 1


def test_descending(couch: Couch, db: str) -> None:
    ids = _fill(couch, db, 4)
    results = couch.get(f"{db}/_changes?descending=true").json["results"]
    assert [r["id"] for r in results] == ids[::-1]


def test_style_all_docs_lists_every_leaf_winner_first(couch: Couch, db: str) -> None:
    couch.bulk(db, [
        {"_id": "c", "_rev": "2-a", "_revisions": {"start": 2, "ids": ["a", "r"]}},
        {"_id": "c", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "r"]}},
    ], new_edits=False)
    (main,) = couch.get(f"{db}/_changes").json["results"]
    assert main["changes"] == [{"rev": "2-b"}]
    (every,) = couch.get(f"{db}/_changes?style=all_docs").json["results"]
    assert every["changes"] == [{"rev": "2-b"}, {"rev": "2-a"}]


def test_include_docs_and_conflicts(couch: Couch, db: str) -> None:
    couch.bulk(db, [
        {"_id": "c", "_rev": "2-a", "v": 1, "_revisions": {"start": 2, "ids": ["a", "r"]}},
        {"_id": "c", "_rev": "2-b", "v": 2, "_revisions": {"start": 2, "ids": ["b", "r"]}},
    ], new_edits=False)
    (row,) = couch.get(f"{db}/_changes?include_docs=true").json["results"]
    assert row["doc"] == {"_id": "c", "_rev": "2-b", "v": 2}
    (row,) = couch.get(f"{db}/_changes?include_docs=true&conflicts=true").json["results"]
    assert row["doc"]["_conflicts"] == ["2-a"]


def test_include_docs_of_a_deleted_document(couch: Couch, db: str) -> None:
    rev = couch.create_doc(db, {"_id": "gone", "x": 1})
    couch.settle(db, {"gone": couch.delete(f"{db}/gone?rev={rev}").json["rev"]})
    (row,) = couch.get(f"{db}/_changes?include_docs=true").json["results"]
    assert row["doc"]["_deleted"] is True
    assert row["doc"]["_id"] == "gone"


def test_filter_doc_ids_get(couch: Couch, db: str) -> None:
    _fill(couch, db, 5)
    resp = couch.get(f'{db}/_changes?filter=_doc_ids&doc_ids=["doc03","doc01","nope"]')
    assert resp.status_code == 200
    assert [r["id"] for r in resp.json["results"]] == ["doc01", "doc03"]


def test_filter_doc_ids_post(couch: Couch, db: str) -> None:
    _fill(couch, db, 5)
    resp = couch.post(f"{db}/_changes?filter=_doc_ids", json={"doc_ids": ["doc04", "doc00"]})
    assert resp.status_code == 200
    assert [r["id"] for r in resp.json["results"]] == ["doc00", "doc04"]
    resp = couch.post(f"{db}/_changes?filter=_doc_ids&since=now", json={"doc_ids": ["doc00"]})
    assert resp.json["results"] == []


def test_post_without_filter_is_the_plain_feed(couch: Couch, db: str) -> None:
    _fill(couch, db, 2)
    resp = couch.post(f"{db}/_changes", json={})
    assert [r["id"] for r in resp.json["results"]] == ["doc00", "doc01"]


def test_seq_interval_blanks_seqs_between_intervals(couch: Couch, db: str) -> None:
    ids = _fill(couch, db, 7)
    body = couch.get(f"{db}/_changes?seq_interval=3").json
    results = body["results"]
    assert [r["id"] for r in results] == ids
    for i, row in enumerate(results, start=1):
        if i % 3 and i != len(results):
            assert row["seq"] is None, (i, row)
        else:
            assert row["seq"] is not None, (i, row)
    # every seq given is a place to resume from
    third = results[2]["seq"]
    rest = couch.get(f"{db}/_changes?since={third}").json["results"]
    assert [r["id"] for r in rest] == ids[3:]
    assert_at_end(couch, db, results[-1]["seq"], body["last_seq"])


def test_seq_interval_with_limit_as_pouchdb_batches(couch: Couch, db: str) -> None:
    _fill(couch, db, 5)
    body = couch.get(f"{db}/_changes?seq_interval=2&limit=2&style=all_docs").json
    assert len(body["results"]) == 2
    assert body["results"][-1]["seq"] is not None
    assert_same_point(couch, db, body["last_seq"], body["results"][-1]["seq"])
    assert [r["id"] for r in changes_since(couch, db, body["last_seq"])] == ["doc02", "doc03", "doc04"]


def test_gzip_when_accepted(couch: Couch, db: str) -> None:
    _fill(couch, db, 40)
    plain = couch.get(f"{db}/_changes?include_docs=true")
    assert "Content-Encoding" not in plain.headers
    zipped = couch.get(f"{db}/_changes?include_docs=true", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    raw = zipped.get_data()
    assert len(raw) < len(plain.get_data())
    unzipped, plain = json.loads(gzip.decompress(raw)), plain.json
    # The same answer; its sequences are opaque (two reads of a cluster give other
    # strings for the same point), so they are compared by feeding them back.
    assert _without_seqs(unzipped) == _without_seqs(plain)
    assert_same_point(couch, db, unzipped["last_seq"], plain["last_seq"])
    assert_same_point(couch, db, unzipped["results"][19]["seq"], plain["results"][19]["seq"])


def _without_seqs(body: dict) -> dict:
    return {**{k: v for k, v in body.items() if k != "last_seq"},
            "results": [{k: v for k, v in row.items() if k != "seq"} for row in body["results"]]}


def test_gzip_of_a_continuous_feed(couch: Couch, db: str) -> None:
    _fill(couch, db, 3)
    resp = couch.get(f"{db}/_changes?feed=continuous&timeout=50", headers={"Accept-Encoding": "gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"
    lines = _lines(gzip.decompress(resp.get_data()))
    assert [row["id"] for row in lines[:-1]] == ["doc00", "doc01", "doc02"]
    assert "last_seq" in lines[-1]


# -- longpoll ----------------------------------------------------------------------------
def test_longpoll_answers_at_once_when_changes_exist(couch: Couch, db: str) -> None:
    _fill(couch, db, 2)
    started = time.monotonic()
    body = couch.get(f"{db}/_changes?feed=longpoll&timeout=5000").json
    assert time.monotonic() - started < 2
    assert len(body["results"]) == 2


def test_longpoll_waits_for_another_writer(app, couch: Couch, db: str) -> None:
    _fill(couch, db, 2)
    since = couch.info(db)["update_seq"]
    writer = _write_later(app, db, {"_id": "late"}, 0.3)
    started = time.monotonic()
    resp = couch.get(f"{db}/_changes?feed=longpoll&since={since}&heartbeat=100")
    raw = resp.get_data()  # the body streams: reading it is what waits
    elapsed = time.monotonic() - started
    writer.join()
    assert resp.status_code == 200
    body = json.loads(raw)  # heartbeat newlines are JSON whitespace
    assert [r["id"] for r in body["results"]] == ["late"]
    assert 0.25 < elapsed < 5
    assert_at_end(couch, db, body["last_seq"], body["results"][0]["seq"])


def test_longpoll_since_now_waits_for_the_next_change(app, couch: Couch, db: str) -> None:
    _fill(couch, db, 2)
    writer = _write_later(app, db, {"_id": "next"}, 0.2)
    resp = couch.get(f"{db}/_changes?feed=longpoll&since=now&timeout=5000")
    writer.join()
    assert [r["id"] for r in resp.json["results"]] == ["next"]


def test_longpoll_timeout_returns_empty(couch: Couch, db: str) -> None:
    _fill(couch, db, 2)
    since = couch.info(db)["update_seq"]
    started = time.monotonic()
    resp = couch.get(f"{db}/_changes?feed=longpoll&since={since}&timeout=200")
    body = json.loads(resp.get_data())
    elapsed = time.monotonic() - started
    assert resp.status_code == 200
    assert body["results"] == []
    assert 0.15 < elapsed < 3
    assert_at_end(couch, db, body["last_seq"], since)


# -- continuous ----------------------------------------------------------------------------
def test_continuous_feed_one_line_per_change_then_last_seq(couch: Couch, db: str) -> None:
    ids = _fill(couch, db, 3)
    resp = couch.get(f"{db}/_changes?feed=continuous&timeout=100")
    assert resp.status_code == 200
    lines = _lines(resp.get_data())
    assert [row["id"] for row in lines[:-1]] == ids
    assert_at_end(couch, db, lines[-1]["last_seq"], lines[-2]["seq"])


def test_continuous_feed_with_limit_ends(couch: Couch, db: str) -> None:
    _fill(couch, db, 5)
    lines = _lines(couch.get(f"{db}/_changes?feed=continuous&limit=2").get_data())
    assert [row.get("id") for row in lines] == ["doc00", "doc01", None]
    assert_same_point(couch, db, lines[-1]["last_seq"], lines[1]["seq"])
    assert [r["id"] for r in changes_since(couch, db, lines[-1]["last_seq"])] == ["doc02", "doc03", "doc04"]


def test_continuous_feed_sends_heartbeats_and_new_changes(app, couch: Couch, db: str) -> None:
    _fill(couch, db, 1)
    writer = _write_later(app, db, {"_id": "live"}, 0.35)
    resp = couch.get(f"{db}/_changes?feed=continuous&heartbeat=100", buffered=False)
    assert resp.status_code == 200
    received = b""
    deadline = time.monotonic() + 5
    chunks = iter(resp.response)
    try:
        for chunk in chunks:
            received += chunk
            if b'"live"' in received or time.monotonic() > deadline:
                break
    finally:
        resp.close()
    writer.join()
    ids = [row["id"] for row in _lines(received)]
    assert ids == ["doc00", "live"]
    between = received.split(b'"doc00"', 1)[1].split(b'"live"', 1)[0]
    assert b"\n\n" in between  # at least one empty heartbeat line while idle


def test_continuous_feed_since_now(app, couch: Couch, db: str) -> None:
    _fill(couch, db, 3)
    writer = _write_later(app, db, {"_id": "only"}, 0.1)
    resp = couch.get(f"{db}/_changes?feed=continuous&since=now&limit=1&timeout=5000")
    writer.join()
    lines = _lines(resp.get_data())
    assert [row.get("id") for row in lines] == ["only", None]


def test_continuous_doc_ids_filter(couch: Couch, db: str) -> None:
    _fill(couch, db, 4)
    resp = couch.post(f"{db}/_changes?feed=continuous&filter=_doc_ids&timeout=50",
                      json={"doc_ids": ["doc02"]})
    lines = _lines(resp.get_data())
    assert [row.get("id") for row in lines] == ["doc02", None]


def test_feeds_end_after_max_feed_seconds_whatever_the_heartbeat(new_app, tmp_path) -> None:
    """No request lives forever: a server-side cap ends even heartbeat-kept feeds."""
    capped = new_app(tmp_path / "capped", max_feed_seconds=0.3)
    couch = Couch(capped.test_client())
    couch.put("/db/s")
    for feed in ("continuous", "longpoll"):
        started = time.monotonic()
        resp = couch.get(f"/db/s/_changes?feed={feed}&since=now&heartbeat=3600000")
        raw = resp.get_data()
        assert time.monotonic() - started < 3, feed
        last = _lines(raw)[-1] if feed == "continuous" else json.loads(raw)
        assert "last_seq" in last, feed


# -- bad parameters ------------------------------------------------------------------------
def test_bad_parameters_are_400(couch: Couch, db: str) -> None:
    _fill(couch, db, 2)
    before = couch.info(db)["update_seq"]
    for query in (
        "limit=abc", "limit=-1", "since=garbage", "since=%5B1%5D", "feed=sideways",
        "style=some", "heartbeat=abc", "heartbeat=-5", "timeout=soon", "seq_interval=0",
        "include_docs=maybe", "descending=yes", "filter=_doc_ids", "filter=_doc_ids&doc_ids=notjson",
        'filter=_doc_ids&doc_ids={"a":1}', "filter=_doc_ids&doc_ids=[1,2]", "filter=app/f",
    ):
        assert_error(couch.get(f"{db}/_changes?{query}"), 400, "bad_request")
    assert_nothing_since(couch, db, before)


def test_bad_post_bodies_are_400(couch: Couch, db: str) -> None:
    for body in (b"{nope", b"[]", b'"doc_ids"', b'{"doc_ids": "doc00"}'):
        resp = couch.post(f"{db}/_changes?filter=_doc_ids", data=body, content_type="application/json")
        assert_error(resp, 400, "bad_request")
    resp = couch.post(f"{db}/_changes", data=b"x", content_type="text/plain")
    assert_error(resp, 415, "bad_content_type")
