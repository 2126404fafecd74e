"""Random input never gets a 500: hypothesis throws JSON and query strings at the protocol.

Bodies are random JSON, and random JSON of roughly the right shape (so that
they get past the first checks and reach the store); query strings mix the
real parameter names with random and plausible values. Whatever comes back
must be below 500, a JSON error must have CouchDB's shape, and the whole
body must stream without raising. The app's feeds are capped at a fraction
of a second so that a random ``feed=continuous`` ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_helpers import BACKENDS, Couch, b64, close_app, make_backend_app

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
DB = "/db/fuzz"
IDS = ["a", "b", "c", "gone", "_design/app", "nope", "a/b"]
REVS = ["1-a", "2-b", "2-c", "3-x", "1-" + "f" * 32, "garbage", "0-a", "", "1-"]


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Couch]:
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("fuzz"), max_feed_seconds=0.05,
                           default_changes_timeout_ms=20)
    couch = Couch(app.test_client())
    assert couch.put(DB).status_code == 201
    couch.bulk(DB, [
        {"_id": "a", "_rev": "1-a"},
        {"_id": "a", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a"]}},
        {"_id": "a", "_rev": "2-c", "_revisions": {"start": 2, "ids": ["c", "a"]},
         "_attachments": {"p.txt": {"content_type": "text/plain", "data": b64(b"photo")}}},
        {"_id": "gone", "_rev": "1-a", "_deleted": True},
    ], new_edits=False)
    couch.bulk(DB, [{"_id": "b", "n": 1}, {"_id": "_design/app"}, {"_id": "a/b"}])
    yield couch
    close_app(app)


def check(resp) -> None:
    """Below 500, fully readable, and an error in CouchDB's shape."""
    body = resp.get_data()  # streams the whole body: a generator that raises fails here
    assert resp.status_code < 500, body[:500]
    if resp.status_code >= 400:
        err = json.loads(body)
        assert isinstance(err.get("error"), str) and isinstance(err.get("reason"), str), err


# -- strategies --------------------------------------------------------------------------------------
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
           | st.sampled_from(IDS + REVS))
json_values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8) | st.sampled_from(IDS), kids,
                                                              max_size=4),
    max_leaves=12,
)
b64_or_junk = st.one_of(st.binary(max_size=20).map(b64), st.text(max_size=10), json_values)
attachment = st.fixed_dictionaries({}, optional={
    "data": b64_or_junk, "stub": st.booleans() | json_values, "follows": st.booleans(),
    "content_type": st.sampled_from(["text/plain", "image/jpeg", "", "a\nb"]) | json_values,
    "digest": st.sampled_from(["md5-" + "A" * 22 + "==", "md5-x"]) | json_values,
    "length": st.integers(-2, 10) | json_values, "revpos": st.integers(-1, 4) | json_values,
})
revisions = st.fixed_dictionaries({}, optional={
    "start": st.integers(-1, 4) | json_values,
    "ids": st.lists(st.sampled_from(["a", "b", "c", "x", "", "a b"]) | json_values, max_size=4) | json_values,
})
doc = st.fixed_dictionaries({}, optional={
    "_id": st.sampled_from(IDS + ["_foo", "", "x" * 600]) | json_values,
    "_rev": st.sampled_from(REVS) | json_values,
    "_deleted": st.booleans() | json_values,
    "_revisions": revisions | json_values,
    "_attachments": st.dictionaries(st.sampled_from(["p.txt", "../x", "a/b", "_x", ""]) | st.text(max_size=6),
                                    attachment | json_values, max_size=3) | json_values,
    "_conflicts": json_values, "_local_seq": json_values, "_other": json_values,
    "field": json_values,
})
bulk_docs_bodies = json_values | st.fixed_dictionaries(
    {"docs": st.lists(doc | json_values, max_size=4) | json_values},
    optional={"new_edits": st.booleans() | json_values, "all_or_nothing": json_values},
)
revs_diff_bodies = json_values | st.dictionaries(
    st.sampled_from(IDS) | st.text(max_size=6),
    st.lists(st.sampled_from(REVS) | json_values, max_size=4) | json_values, max_size=4)
bulk_get_item = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(IDS) | json_values, "rev": st.sampled_from(REVS) | json_values,
    "atts_since": st.lists(st.sampled_from(REVS), max_size=3) | json_values,
})
bulk_get_bodies = json_values | st.fixed_dictionaries({"docs": st.lists(bulk_get_item | json_values, max_size=4)
                                                       | json_values})
all_docs_bodies = json_values | st.fixed_dictionaries({"keys": st.lists(st.sampled_from(IDS) | json_values,
                                                                        max_size=5) | json_values})
bool_query = st.sampled_from(["true", "false", "1", "0", "", "yes"])
changes_params = st.dictionaries(
    st.sampled_from(["since", "limit", "feed", "style", "include_docs", "conflicts", "attachments",
                     "heartbeat", "timeout", "seq_interval", "filter", "doc_ids", "descending", "bogus"]),
    st.one_of(
        st.text(max_size=12),
        st.integers(-5, 2**66).map(str),
        bool_query,
        st.sampled_from(["now", "normal", "longpoll", "continuous", "eventsource", "all_docs", "main_only",
                         "_doc_ids", '["a","b"]', "[1]", "{}", "3-g1AAAA", "true", "1e3"]),
    ),
    max_size=6,
)
doc_params = st.dictionaries(
    st.sampled_from(["rev", "revs", "revs_info", "open_revs", "latest", "conflicts", "deleted_conflicts",
                     "attachments", "atts_since", "local_seq", "meta"]),
    st.one_of(st.text(max_size=10), bool_query, st.sampled_from(REVS + ["all", '["2-b"]', '["1-a","9-z"]', "[]",
                                                                      '"1-a"', "[1]", "null"])),
    max_size=5,
)


def _post_json(couch: Couch, path: str, body) -> None:
    check(couch.post(path, data=json.dumps(body), content_type="application/json"))


# -- the fuzz tests --------------------------------------------------------------------------------------
@FUZZ
@given(body=bulk_docs_bodies)
def test_bulk_docs_never_500(fuzz: Couch, body) -> None:
    _post_json(fuzz, f"{DB}/_bulk_docs", body)


@FUZZ
@given(body=revs_diff_bodies)
def test_revs_diff_never_500(fuzz: Couch, body) -> None:
    _post_json(fuzz, f"{DB}/_revs_diff", body)


@FUZZ
@given(body=bulk_get_bodies, query=st.dictionaries(st.sampled_from(["revs", "latest", "attachments"]), bool_query))
def test_bulk_get_never_500(fuzz: Couch, body, query) -> None:
    _post_json(fuzz, f"{DB}/_bulk_get?{urlencode(query)}", body)


@FUZZ
@given(body=all_docs_bodies, query=st.dictionaries(
    st.sampled_from(["include_docs", "conflicts", "limit", "skip", "descending", "startkey", "endkey",
                     "inclusive_end", "key", "keys", "update_seq"]),
    st.text(max_size=8) | bool_query | st.sampled_from(['"a"', '"b"', "[]", "5", "-1"]), max_size=4))
def test_all_docs_never_500(fuzz: Couch, body, query) -> None:
    _post_json(fuzz, f"{DB}/_all_docs?{urlencode(query)}", body)
    check(fuzz.get(f"{DB}/_all_docs?{urlencode(query)}"))


@FUZZ
@given(params=changes_params, body=st.none() | json_values | st.fixed_dictionaries(
    {}, optional={"doc_ids": st.lists(st.sampled_from(IDS) | json_values, max_size=3) | json_values,
                  "since": json_values}))
def test_changes_never_500(fuzz: Couch, params, body) -> None:
    query = urlencode(params)
    check(fuzz.get(f"{DB}/_changes?{query}"))
    if body is not None:
        _post_json(fuzz, f"{DB}/_changes?{query}", body)


@FUZZ
@given(docid=st.sampled_from(IDS), params=doc_params,
       accept=st.sampled_from(["application/json", "multipart/mixed", "multipart/related", "*/*"]))
def test_document_reads_never_500(fuzz: Couch, docid: str, params, accept: str) -> None:
    path = f"{DB}/{docid.replace('/', '%2F') if not docid.startswith('_design/') else docid}"
    check(fuzz.get(f"{path}?{urlencode(params)}", headers={"Accept": accept}))


@FUZZ
@given(docid=st.sampled_from(IDS + ["new"]), body=doc | json_values,
       query=st.dictionaries(st.sampled_from(["new_edits", "rev"]), bool_query | st.sampled_from(REVS), max_size=2))
def test_document_writes_never_500(fuzz: Couch, docid: str, body, query) -> None:
    path = f"{DB}/{docid.replace('/', '%2F') if not docid.startswith('_design/') else docid}"
    check(fuzz.put(f"{path}?{urlencode(query)}", data=json.dumps(body), content_type="application/json"))
