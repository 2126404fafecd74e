"""The CouchDB backend: the shared conformance suite, plus what only CouchDB shows.

By default every test runs against pouchdb-server (``--in-memory``, started once
per session on a free port). Set ``FIELDSYNC_TEST_COUCHDB_URL`` to an Apache
CouchDB 3.x with admin credentials to run against it instead::

    FIELDSYNC_TEST_COUCHDB_URL=http://admin:secret@127.0.0.1:5984 \\
        .venv/bin/python -m pytest tests/test_store_couch.py

Each test gets its own database-name prefix and its databases are deleted
afterwards, so a shared CouchDB is left as it was found.

The backend is written to CouchDB 3's documented behaviour. Where
pouchdb-server 4.2 behaves otherwise, the conformance test is marked
``xfail(strict=True)`` for the pouchdb-server run only (``POUCHDB_SERVER_GAPS``
in ``tests/couch_gaps.py``, one reason per gap, shared with the protocol
tests), and the ``test_difference_*`` tests below record the differences that
do not fail a conformance test. Strict: when pouchdb-server
is fixed, the xfail turns into a failure and the entry must go.
"""

from __future__ import annotations

import functools
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import store_conformance
from couch_gaps import ON_COUCHDB, POUCHDB_SERVER_CRASHES, POUCHDB_SERVER_GAPS, PROTOCOL_GAPS
from eventual import wait_until
from servers import pouchdb_server
from store_conformance import *  # noqa: F403
from store_conformance import DB, PHOTO, VOICE, b64, changes, ids_of, md5_digest, put, write

from sync.errors import BadRequest, Conflict, NotFound, StoreUnavailable
from sync.stores.couchdb import CouchStore
from sync.stores.couchdb_http import CouchClient, attachment_path, doc_path
from sync.stores.couchdb_json import JsonStreamError, ObjectStream

# -- fixtures --------------------------------------------------------------------------


def _new_prefix() -> str:
    return f"t{secrets.token_hex(4)}-"


def _drop_all(store: CouchStore) -> None:
    for name in store.names():
        try:
            store.delete(name)
        except Exception:  # noqa: BLE001 - cleanup must not hide the test's own failure
            pass


@pytest.fixture
def store(couchdb_url, request, monkeypatch):
    """A fresh CouchStore: its own prefix on the session's server, emptied afterwards.

    On the cluster, the conformance suite's writes wait until three reads in a row
    show them (store_conformance.settle): a read may come from a copy that lags.
    """
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("couchdb_url") == "couchdb-cluster":
        monkeypatch.setattr(store_conformance, "STEADY_READS", 3)
    s = CouchStore(couchdb_url, prefix=_new_prefix())
    yield s
    _drop_all(s)
    s.close()


# -- where pouchdb-server is not CouchDB 3 -----------------------------------------------

def _expect_failure(test, reason: str, *, run: bool = True):
    """A copy of a shared conformance test marked xfail here only.

    The conformance functions are shared with the SQLite run: marking them in
    place would mark them there too, so the mark goes on a wrapper.
    """

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return test(*args, **kwargs)

    mark = pytest.mark.xfail(strict=True, run=run, reason=f"pouchdb-server: {reason}")
    wrapper.pytestmark = [*getattr(test, "pytestmark", []), mark.mark]
    return wrapper


if not ON_COUCHDB:
    for _reason, _names in POUCHDB_SERVER_GAPS.items():
        for _name in _names:
            globals()[_name] = _expect_failure(getattr(store_conformance, _name), _reason)
    for _name, _reason in POUCHDB_SERVER_CRASHES.items():
        globals()[_name] = _expect_failure(getattr(store_conformance, _name), _reason, run=False)


def test_every_listed_gap_names_a_conformance_test():
    """A renamed conformance test must not leave a stale entry behind."""
    listed = [n for names in POUCHDB_SERVER_GAPS.values() for n in names] + list(POUCHDB_SERVER_CRASHES)
    assert len(listed) == len(set(listed))
    assert all(callable(getattr(store_conformance, n, None)) for n in listed)


def test_every_listed_protocol_gap_names_a_protocol_test():
    import importlib

    listed = [n for names in PROTOCOL_GAPS.values() for n in names]
    assert len(listed) == len(set(listed))
    for entry in listed:
        module, _, name = entry.partition("::")
        assert callable(getattr(importlib.import_module(module), name, None)), entry


# -- recorded differences (pouchdb-server against CouchDB 3) ---------------------------------


def test_sequences_are_carried_unchanged(db):
    """CouchDB 3's sequences are opaque ``"<N>-<base64>"`` strings; pouchdb-server's
    are integers (a recorded difference). The backend carries either unchanged
    and never orders them: a position to resume from comes from the read itself.
    """
    put(db, {"_id": "a"})
    put(db, {"_id": "b"})
    seqs = [row["seq"] for row in changes(db)]
    if ON_COUCHDB:
        assert all(isinstance(s, str) and re.match(r"^\d+-", s) for s in seqs)
    else:
        assert all(isinstance(s, int) for s in seqs)
    assert all(db.parse_since(s) == s for s in seqs), "opaque sequences go back unchanged"


@pytest.fixture(scope="module")
def pouchdb_server_store():
    """A CouchStore on pouchdb-server, started here whatever the session's CouchDB is:
    the recorded differences below are checked against it on every run."""
    with pouchdb_server() as peer:
        s = CouchStore(peer.root, prefix=_new_prefix())
        yield s
        s.close()


def test_difference_pouchdb_server_bulk_get_shape(pouchdb_server_store):
    """CouchDB 3's ``_bulk_get`` answers each requested item in order, errors as
    ``{"error": {"id", "rev", "error", "reason"}}``. pouchdb-server groups items by
    id, drops an item without ``rev`` when the same id is also asked with one, and
    reports ``{"missing": rev}`` or ``{}``. The backend uses ``_bulk_get`` as
    CouchDB documents it (hence the xfails above), not per-document GETs.
    """
    store = pouchdb_server_store
    db = store.create(DB)
    put(db, {"_id": "a"})
    raw = store.client.json("POST", f"/{db.dbname}/_bulk_get", body={"docs": [
        {"id": "a"}, {"id": "ghost"}, {"id": "a", "rev": "9-" + "9" * 32},
    ]})["results"]
    assert [r["id"] for r in raw] != ["a", "ghost", "a"]
    assert not any("error" in d for r in raw for d in r["docs"])


def test_difference_pouchdb_server_longpoll_ignores_timeout(pouchdb_server_store):
    """CouchDB 3 ends a longpoll after ``timeout`` ms with empty results; pouchdb-server
    holds it open until a change. A long-poll read therefore bounds its own wait
    (the poll's length plus a second) instead of trusting the server, and then
    answers empty, resuming where it started.
    """
    db = pouchdb_server_store.create("longpoll")
    put(db, {"_id": "a"})
    since = changes(db)[-1]["seq"]
    started = time.monotonic()
    answer = db.changes(since, timeout=0.2)
    assert list(answer) == []
    assert time.monotonic() - started < 3
    put(db, {"_id": "b"})
    assert ids_of(changes(db, answer.last_seq)) == ["b"]


def test_local_docs_are_listed_where_the_server_can(db):
    """CouchDB 3 (2.2 and later) lists ``_local`` documents at ``/{db}/_local_docs``,
    which backups and migration use; pouchdb-server answers 404 (a recorded
    difference), so there ``local_docs`` says not_found rather than listing nothing.
    """
    for i in range(3):
        db.put_local(f"cp-{i}", {"n": i})
    if not ON_COUCHDB:
        with pytest.raises(NotFound):
            list(db.local_docs())
        return
    want = {f"_local/cp-{i}": i for i in range(3)}

    def listed() -> dict:
        got = {d["_id"]: d["n"] for d in db.local_docs()}
        return {k: v for k, v in got.items() if k.startswith("_local/cp-")}

    # On a cluster a listing may come from a copy that has not got the last write yet.
    assert wait_until(listed, lambda got: got == want, what="_local_docs lists the three") == want


def test_the_server_refuses_a_whole_batch_for_one_bad_stub(db):
    """Both CouchDB 3 and pouchdb-server answer a stub they cannot resolve with
    ``412 missing_stub`` for the whole ``_bulk_docs`` request (CouchDB throws in
    ``couch_doc:merge_stubs``), so the backend resends such a batch document by
    document to give the per-document answer the interface promises.
    """
    with pytest.raises(Exception) as exc:
        db.store.client.json("POST", f"/{db.dbname}/_bulk_docs", body={"docs": [
            {"_id": "ok"}, {"_id": "bad", "_attachments": {"x": {"stub": True}}},
        ]})
    assert exc.value.status == 412 and exc.value.error == "missing_stub"


# -- CouchDB specifics ------------------------------------------------------------------------


def test_a_bad_stub_fails_only_its_own_document(db):
    results = write(
        db,
        {"_id": "before", "v": 1},
        {"_id": "bad", "_attachments": {"ghost.png": {"stub": True}}},
        {"_id": "after", "_attachments": {"p.png": {"content_type": "image/png", "data": b64(PHOTO)}}},
    )
    assert [r["id"] for r in results] == ["before", "bad", "after"]
    assert "error" not in results[0] and "error" not in results[2]
    assert results[1]["error"] == "missing_stub"
    assert db.get_attachment("after", "p.png")[1] == PHOTO
    with pytest.raises(NotFound):
        db.get("bad")


@pytest.mark.parametrize("docid", [
    "a/b", "uvs-tes:fam:01", "q?x=1&y=2", "hash#frag", "100%", "a+b c", "_design/a/b", "Өлзий/ү",
])
def test_ids_with_url_characters_round_trip(db, docid):
    r = put(db, {"_id": docid, "v": 1, "_attachments": {"a/b.txt": {"data": b64(VOICE)}}})
    assert db.get(docid)["_rev"] == r
    assert [x["ok"]["_rev"] for x in db.open_revs(docid, [r])] == [r]
    assert db.get_attachment(docid, "a/b.txt")[1] == VOICE
    assert ids_of(db.all_docs(keys=[docid])) == [docid]
    assert ids_of(changes(db, doc_ids=[docid])) == [docid]


def test_url_paths_quote_everything_but_design_and_local_prefixes():
    assert doc_path("a/b:c") == "a%2Fb%3Ac"
    assert doc_path("_design/x/y") == "_design/x%2Fy"
    assert doc_path("_local/cp") == "_local/cp"
    assert attachment_path("зураг/a b.jpg") == "%D0%B7%D1%83%D1%80%D0%B0%D0%B3/a%20b.jpg"


def test_system_scopes_live_under_the_prefix(store):
    store.create("_users")
    store.create("sys-users")
    assert store.dbname("_users") == store.prefix + "_users"
    assert store.names() == ["_users", "sys-users"]
    assert store.open("_users").info()["db_name"] == "_users"


def test_names_skip_databases_that_are_not_scopes(store):
    """Another application's database sharing the prefix is not a scope."""
    store.client.request("PUT", f"/{store.prefix}not$a(scope)").close()
    store.create("alpha")
    try:
        assert store.names() == ["alpha"]
    finally:
        store.client.request("DELETE", f"/{store.prefix}not%24a%28scope%29").close()


def test_a_prefix_must_make_valid_couchdb_names(couchdb_url):
    with pytest.raises(ValueError):
        CouchStore(couchdb_url, prefix="_bad")


def test_credentials_in_the_url_move_to_the_session():
    client = CouchClient("http://ad%40min:s3cret@127.0.0.1:5984/")
    try:
        assert client.root == "http://127.0.0.1:5984"
        assert client.session.auth == ("ad@min", "s3cret")
    finally:
        client.close()


def test_parse_since_keeps_couchdb_sequences_unchanged(db):
    seq = "12-g1AAAAFjeJzLYWBg4MhgTmHgzcvPy09JdcjLz8gvLskBCeexAEmGBiD1HwiyEhlwqEtkSKqHKMgCAHvTHBc"
    assert db.parse_since(seq) == seq
    assert db.parse_since("0") == 0
    for bad in ("-5", "x-1", "١٢-x", True, "9" * 30, 1 << 64):  # beyond 64 bits: no server issued it
        with pytest.raises(BadRequest):
            db.parse_since(bad)


def test_open_attachment_streams_the_bytes(db):
    big = bytes(range(256)) * 1024  # several network chunks
    put(db, {"_id": "sub", "_attachments": {"big.bin": {"data": b64(big)}}})
    meta, chunks = db.open_attachment("sub", "big.bin")
    assert meta["digest"] == md5_digest(big) and meta["length"] == len(big)
    assert b"".join(chunks) == big


def test_changes_pages_with_attachments_resume_between_pages(db, request):
    """Documents with inline attachments come in smaller pages; none is lost between them.

    One node lists them in the order written. A cluster keeps three copies of the shard,
    each with its own order (a copy that missed a write gets it later from another), and
    a page may come from any of them: there every document arrives, in some order, and a
    page resumed on another copy may give a few again (as CouchDB's own feed does).
    """
    from sync.stores import couchdb as couch_store

    n = couch_store.ATT_PAGE + 7
    want = [f"d{i:03d}" for i in range(n)]
    write(db, *({"_id": f"d{i:03d}", "_attachments": {"a": {"data": b64(b"x" * i)}}} for i in range(n)))
    rows = changes(db, include_docs=True, attachments=True)
    data = {r["id"]: r["doc"]["_attachments"]["a"]["data"] for r in rows}
    assert data == {f"d{i:03d}": b"x" * i for i in range(n)}
    if request.node.callspec.params.get("couchdb_url") == "couchdb-cluster":
        assert sorted(set(ids_of(rows))) == want
    else:
        assert ids_of(rows) == want


def test_conflict_on_a_local_document_carries_couchdb_status(db):
    db.put_local("cp", {"v": 1})
    with pytest.raises(Conflict) as exc:
        db.put_local("cp", {"v": 2})
    assert exc.value.status == 409 and exc.value.error == "conflict"


# -- the JSON stream reader --------------------------------------------------------------------


def _bytewise(text: str) -> list[bytes]:
    data = text.encode()
    return [data[i : i + 1] for i in range(len(data))]


def test_object_stream_reads_items_across_any_chunking():
    body = ('{"total_rows": 3, "rows": [ {"id": "a\\"]}", "v": [1, {"x": "}"}]},\n'
            '{"id": "\\\\", "v": null}, 7, "s", true ], "last_seq": "5-abc", "pending": 0}')
    for chunks in ([body.encode()], _bytewise(body)):
        stream = ObjectStream(chunks, "rows")
        assert list(stream) == [{"id": 'a"]}', "v": [1, {"x": "}"}]}, {"id": "\\", "v": None}, 7, "s", True]
        assert stream.extra == {"total_rows": 3, "last_seq": "5-abc", "pending": 0}


def test_object_stream_refuses_a_truncated_body():
    with pytest.raises(JsonStreamError):
        list(ObjectStream([b'{"results": [{"id": "a"}, {"id": '], "results"))


# -- HTTP behaviour: retries and errors ------------------------------------------------------------


class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 to the first ``fail`` requests of each path, then 200; a 400 for /bad, and
    a cluster's 412 ``nodedown`` instead of the 503s for /nodedown..."""

    hits: dict[str, int] = {}
    fail = 2

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        n = self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path.startswith("/bad"):
            status, body = 400, b'{"error":"bad_request","reason":"nope"}'
        elif self.path.startswith("/nodedown") and n <= self.fail:
            # What a cluster node answers while a shard range has no live copy it can reach.
            status, body = 412, b'{"error":"nodedown","reason":"progress not possible"}'
        elif n <= self.fail:
            status, body = 503, b'{"error":"service_unavailable","reason":"busy"}'
        else:
            status, body = 200, b'{"ok":true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass


@pytest.fixture
def flaky_url():
    _Flaky.hits = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_5xx_is_retried_for_safe_requests(flaky_url):
    client = CouchClient(flaky_url, backoff=0.01)
    assert client.json("GET", "/read") == {"ok": True}
    assert _Flaky.hits["/read"] == 3


def test_5xx_is_not_retried_for_an_interactive_write(flaky_url):
    client = CouchClient(flaky_url, backoff=0.01)
    with pytest.raises(StoreUnavailable):
        client.json("POST", "/write", body={"docs": []}, idempotent=False)
    assert _Flaky.hits["/write"] == 1


def test_4xx_is_never_retried_and_keeps_couchdbs_error(flaky_url):
    client = CouchClient(flaky_url, backoff=0.01)
    with pytest.raises(BadRequest) as exc:
        client.json("GET", "/bad")
    assert exc.value.as_json() == {"error": "bad_request", "reason": "nope"}
    assert _Flaky.hits["/bad"] == 1


def test_a_clusters_nodedown_is_a_passing_fault_not_a_precondition(flaky_url):
    """CouchDB answers 412 ``nodedown`` while a node is down: asked again, and if it lasts,
    a 503 for the device (PouchDB stops for good on a 412 but retries a 503)."""
    client = CouchClient(flaky_url, backoff=0.01)
    assert client.json("GET", "/nodedown") == {"ok": True}
    assert _Flaky.hits["/nodedown"] == 3
    with pytest.raises(StoreUnavailable) as exc:
        CouchClient(flaky_url, retries=0).json("GET", "/nodedown/still")
    assert exc.value.status == 503
    assert exc.value.as_json() == {"error": "nodedown", "reason": "progress not possible"}
    with pytest.raises(StoreUnavailable):
        client.json("POST", "/nodedown/write", body={"docs": []}, idempotent=False)
    assert _Flaky.hits["/nodedown/write"] == 1


def test_a_node_answering_nodedown_is_left_for_the_next(flaky_url, monkeypatch):
    """A node that cannot reach its peers (or is in maintenance mode) answers nodedown to
    every read: the next node, which can, answers instead and stays in use."""
    monkeypatch.setattr(_Flaky, "fail", 0)

    class _Down(_Flaky):
        fail = 10**6  # /nodedown... answered nodedown for good

    down = ThreadingHTTPServer(("127.0.0.1", 0), _Down)
    threading.Thread(target=down.serve_forever, daemon=True).start()
    try:
        client = CouchClient(f"http://127.0.0.1:{down.server_address[1]},{flaky_url}", retries=0,
                             backoff=0.01)
        assert client.json("GET", "/nodedown/read") == {"ok": True}
        assert client.root == flaky_url
    finally:
        down.shutdown()
        down.server_close()


def test_connections_are_pooled_and_a_closed_client_opens_new_ones(flaky_url, monkeypatch):
    """One server, one pool: the adapter keeps it rather than looking it up per
    request, and must not hand out a pool that was closed meanwhile."""
    monkeypatch.setattr(_Flaky, "fail", 0)
    client = CouchClient(flaky_url, backoff=0.01, retries=0)
    assert [client.json("GET", f"/ok{i}", params={"n": str(i)}) for i in range(3)] == [{"ok": True}] * 3
    adapter = client.session.get_adapter(flaky_url + "/")
    (pool,) = adapter._pools.values()
    assert pool.num_connections == 1  # three requests, one connection
    client.close()
    assert client.json("GET", "/again") == {"ok": True}
    assert _Flaky.hits == {"/ok0?n=0": 1, "/ok1?n=1": 1, "/ok2?n=2": 1, "/again": 1}


def test_an_unreachable_server_is_store_unavailable():
    from servers import free_port

    client = CouchClient(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01)
    with pytest.raises(StoreUnavailable) as exc:
        client.json("GET", "/")
    assert exc.value.status == 503


# -- several nodes: failover -------------------------------------------------------------------------


def test_several_node_urls_share_one_set_of_credentials():
    client = CouchClient(" http://ad%40min:pw@10.0.0.1:5984/ , http://10.0.0.2:5984,http://10.0.0.1:5984")
    assert client.roots == ["http://10.0.0.1:5984", "http://10.0.0.2:5984"]
    assert client.root == "http://10.0.0.1:5984"
    assert client.session.auth == ("ad@min", "pw")
    with pytest.raises(ValueError, match="different credentials"):
        CouchClient("http://a:1@h1:5984,http://a:2@h2:5984")
    with pytest.raises(ValueError, match="mix http and https"):
        CouchClient("http://h1:5984,https://h2:6984")
    with pytest.raises(ValueError):
        CouchClient(" , ")


def test_a_dead_node_fails_over_to_the_next_which_stays_in_use(flaky_url, monkeypatch):
    """An app server given every node needs no restart when its node dies: the request
    goes to the next node at once (no retries are configured here), and so do later ones."""
    from servers import free_port

    monkeypatch.setattr(_Flaky, "fail", 0)
    client = CouchClient(f"http://127.0.0.1:{free_port()},{flaky_url}", retries=0, backoff=10)
    started = time.monotonic()
    assert client.json("GET", "/read") == {"ok": True}
    # An interactive write refused a connection was never sent: it goes on too.
    assert client.json("POST", "/write", body={"docs": []}, idempotent=False) == {"ok": True}
    assert time.monotonic() - started < 5, "no backoff while a node is left to try"
    assert client.root == flaky_url
    assert _Flaky.hits == {"/read": 1, "/write": 1}


def test_5xx_fails_over_only_for_safe_requests(flaky_url, monkeypatch):
    other = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(_Flaky, "fail", 1)  # each path: a 503 first (from whichever node), then 200
        client = CouchClient(f"{flaky_url},http://127.0.0.1:{other.server_address[1]}", retries=0,
                             backoff=0.01)
        assert client.json("GET", "/read") == {"ok": True}
        assert client.root.endswith(str(other.server_address[1]))
        with pytest.raises(StoreUnavailable):
            client.json("POST", "/write", body={"docs": []}, idempotent=False)
        assert _Flaky.hits == {"/read": 2, "/write": 1}
    finally:
        other.shutdown()
        other.server_close()


class _CutOff(BaseHTTPRequestHandler):
    """Starts a chunked 200 answer and drops the connection half way, as a node killed mid-answer."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b'10\r\n{"results": [{"i')
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args) -> None:
        pass


def test_an_answer_cut_off_half_way_is_asked_again_of_the_next_node(flaky_url, monkeypatch):
    """A node dying while it sends an answer ends the body early (requests' ChunkedEncodingError):
    a read is asked again of the next node, never let out as an unexpected error (a 500)."""
    monkeypatch.setattr(_Flaky, "fail", 0)
    cut = ThreadingHTTPServer(("127.0.0.1", 0), _CutOff)
    threading.Thread(target=cut.serve_forever, daemon=True).start()
    try:
        cut_url = f"http://127.0.0.1:{cut.server_address[1]}"
        assert CouchClient(f"{cut_url},{flaky_url}", retries=0).json("GET", "/read") == {"ok": True}
        with pytest.raises(StoreUnavailable):
            CouchClient(cut_url, retries=1, backoff=0.01).json("GET", "/read")
    finally:
        cut.shutdown()
        cut.server_close()


def test_every_node_dead_is_store_unavailable_after_each_was_tried():
    from servers import free_port

    client = CouchClient(f"http://127.0.0.1:{free_port()},http://127.0.0.1:{free_port()}", retries=1,
                         backoff=0.01)
    with pytest.raises(StoreUnavailable) as exc:
        client.json("GET", "/")
    assert exc.value.status == 503


# -- how scope databases are laid out ---------------------------------------------------------------


def test_area_scopes_keep_one_shard_and_checkpoints_are_spread(store):
    """An area's feed must come in write order, so its database has one shard. The users'
    checkpoints are written by every device after every batch and never read as a feed:
    spread over SPREAD_SHARDS shards, a crowd's checkpoint writes do not queue on one writer."""
    from sync.scopes import CHECKPOINTS
    from sync.stores.couchdb import SPREAD_SHARDS

    area, checkpoints = store.create("soum-a"), store.create(CHECKPOINTS)
    checkpoints.put_local("naraa/cp", {"last_seq": "7"})
    assert checkpoints.get_local("naraa/cp")["last_seq"] == "7"
    if not ON_COUCHDB:
        return  # pouchdb-server has no shards to count; it must still take both databases
    shards = {name: store.client.json("GET", f"/{store.dbname(name)}/_shards")["shards"]
              for name in (area.name, CHECKPOINTS)}
    assert len(shards["soum-a"]) == 1
    assert len(shards[CHECKPOINTS]) == SPREAD_SHARDS


# -- choosing the backend -------------------------------------------------------------------------


def test_fieldsync_serves_from_couchdb_when_configured(couchdb_url, monkeypatch, tmp_path):
    """``FIELDSYNC_STORE=couchdb FIELDSYNC_COUCHDB_URL=...``: the app keeps its data there."""
    from protocol_helpers import ADMIN, basic

    from server import create_app

    prefix = _new_prefix()
    monkeypatch.setenv("FIELDSYNC_STORE", "couchdb")
    monkeypatch.setenv("FIELDSYNC_COUCHDB_URL", couchdb_url)
    monkeypatch.setenv("FIELDSYNC_COUCHDB_PREFIX", prefix)
    monkeypatch.setenv("FIELDSYNC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FIELDSYNC_ADMIN", ":".join(ADMIN))
    monkeypatch.setenv("FIELDSYNC_SECRET_KEY", secrets.token_hex(16))
    app = create_app()
    store = app.extensions["fieldsync"].store
    try:
        assert isinstance(store, CouchStore) and store.prefix == prefix
        client = app.test_client()
        auth = basic(*ADMIN)
        assert client.put("/db/x", headers=auth).status_code == 201
        resp = client.put("/db/x/doc1", json={"v": "Өө"}, headers=auth)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        rev = resp.json["rev"]
        got = client.get("/db/x/doc1", headers=auth)
        assert got.status_code == 200
        assert got.json == {"_id": "doc1", "_rev": rev, "v": "Өө"}
        assert store.open("x").get("doc1")["_rev"] == rev, "the document is in CouchDB"
    finally:
        _drop_all(store)
        store.close()


class _CutsEachListFirst(BaseHTTPRequestHandler):
    """Passes requests on to CouchDB, but cuts the first answer to each ``_all_docs`` and
    ``_bulk_get`` request half way (its Content-Length promised more), as a node killed
    while it answers."""

    protocol_version = "HTTP/1.1"
    upstream = ""
    cut: set[tuple[str, str]] = set()

    def _answer(self) -> None:
        import requests

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        passed = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
        resp = requests.request(self.command, self.upstream + self.path, data=body or None, headers=passed,
                                timeout=30)
        self.send_response(resp.status_code)
        self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(resp.content)))
        self.end_headers()
        key = (self.command, self.path.split("?")[0].rsplit("/", 1)[-1])
        if key[1] in ("_all_docs", "_bulk_get") and key not in self.cut:
            self.cut.add(key)
            self.wfile.write(resp.content[: len(resp.content) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(resp.content)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, *args) -> None:
        pass


def test_lists_cut_off_half_way_go_on_from_where_they_broke(couchdb_url, store):
    """A cluster node dying while it lists documents (``_all_docs`` by range or by keys,
    ``_bulk_get``) broke a replicator's pull with a 503 (test_cluster's node-death test).
    Each list is asked again for what it had not yet answered: every row once, in order."""
    from urllib.parse import urlsplit

    direct = store.create(DB)
    ids = [f"d{n:03d}" for n in range(80)]
    for docid in ids:
        put(direct, {"_id": docid, "n": docid, "pad": "x" * 200})
    expected_range = list(direct.all_docs(include_docs=True))
    expected_keys = list(direct.all_docs(keys=[*ids[::-1], "nope"], include_docs=True))
    items = [{"id": i} for i in ids]
    expected_get = list(direct.bulk_get(items))

    _CutsEachListFirst.upstream = f"{urlsplit(couchdb_url).scheme}://{urlsplit(couchdb_url).netloc.rsplit('@', 1)[-1]}"
    _CutsEachListFirst.cut = set()
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _CutsEachListFirst)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    parts = urlsplit(couchdb_url)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    through = CouchStore(f"http://{userinfo}127.0.0.1:{proxy.server_address[1]}", prefix=store.prefix, retries=0)
    try:
        db = through.open(DB)
        assert list(db.all_docs(include_docs=True)) == expected_range
        assert list(db.all_docs(keys=[*ids[::-1], "nope"], include_docs=True)) == expected_keys
        assert list(db.bulk_get(items)) == expected_get
        assert _CutsEachListFirst.cut == {("GET", "_all_docs"), ("POST", "_all_docs"), ("POST", "_bulk_get")}
    finally:
        through.close()
        proxy.shutdown()
        proxy.server_close()


def test_difference_pouchdb_server_info_has_no_deleted_count(pouchdb_server_store):
    """CouchDB 3's ``GET /db`` carries ``doc_del_count``; pouchdb-server leaves it out.
    The store answers 0 rather than no key: a coordinator's replica sums it over its
    members and answered 500 on pouchdb-server."""
    store = pouchdb_server_store
    db = store.create("info")
    put(db, {"_id": "a"})
    raw = store.client.json("GET", f"/{db.dbname}")
    assert "doc_del_count" not in raw
    info = db.info()
    assert info["doc_del_count"] == 0 and info["doc_count"] == 1 and info["db_name"] == "info"
