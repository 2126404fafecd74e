"""Random input to a worker's replica never gets a 500 (issue 17.3): ``/sync/<user>``, as a device.

``tests/test_protocol_fuzz.py`` throws its random JSON and query strings at
``/db/<scope>`` as the admin; a worker's replica is another road in (the
union of her areas, the write gate with its forms, reviews and registers,
revocation's signed sequences), taken by every device. Here the same
strategies, with ids of the replica's own areas and kinds so that documents
get past routing into the gate, go to ``/sync/bolormaa`` with her
credentials, on every store. Whatever comes back must be below 500, read
through, and an error in CouchDB's shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from protocol_helpers import BACKENDS, Couch, close_app, make_backend_app
from test_protocol_fuzz import (
    FUZZ,
    bool_query,
    bulk_get_bodies,
    changes_params,
    check,
    doc_params,
    json_values,
    revisions,
    revs_diff_bodies,
)

from sync.demo import DEMO_PASSWORD, seed_demo

REPLICA = "/sync/bolormaa"
IDS = ["uvs-tes:sub:01KFUZZ0000000000000000001", "uvs-tes:review:01KFUZZ0000000000000000001",
       "uvs-tes:fam:01KFUZZ0000000000000000001", "uvs-tes:child:01KFUZZ0000000000000000001",
       "uvs-tes:kg:01KFUZZ0000000000000000001", "uvs-tes:case:01KFUZZ0000000000000000001",
       "uvs-tes:feedback:01KFUZZ0000000000000000001", "uvs-naranbulag:sub:01KFUZZ0000000000000000001",
       "global:form:household_visit:1", "uvs-tes:sub:", "nope", "_design/x", "_local/ckpt"]
FORMS = ["household_visit", "growth_visit", "child_protection_referral", "nope"]
submission_like = st.fixed_dictionaries({}, optional={
    "_id": st.sampled_from(IDS) | json_values, "_rev": st.sampled_from(["1-a", "2-b", "garbage"]) | json_values,
    "_deleted": st.booleans(), "_revisions": revisions | json_values,
    "type": st.sampled_from(["submission", "review", "family", "child", "case", "feedback"]) | json_values,
    "form": st.sampled_from(FORMS) | json_values, "form_version": st.integers(-1, 3) | json_values,
    "author": st.sampled_from(["bolormaa", "ganzorig", ""]) | json_values,
    "created_at": st.sampled_from(["2026-11-01T10:00:00+08:00", "yesterday", ""]) | json_values,
    "data": st.dictionaries(st.sampled_from(["consent", "bag", "household_size", "visit_date", "members",
                                             "child_id", "summary", "x"]), json_values, max_size=5) | json_values,
    "status": st.sampled_from(["approved", "has_issues", "banana"]) | json_values,
    "submission": st.sampled_from(IDS) | json_values, "comments": json_values,
})
bulk_docs_bodies = json_values | st.fixed_dictionaries(
    {"docs": st.lists(submission_like | json_values, max_size=4) | json_values},
    optional={"new_edits": st.booleans() | json_values})


@pytest.fixture(scope="module", params=BACKENDS)
def device(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Couch]:
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("replicafuzz"), max_feed_seconds=0.05,
                           default_changes_timeout_ms=20)
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=2)
    yield Couch(app.test_client(), ("bolormaa", DEMO_PASSWORD))
    close_app(app)


def _post_json(device: Couch, path: str, body) -> None:
    check(device.post(path, data=json.dumps(body), content_type="application/json"))


@FUZZ
@given(body=bulk_docs_bodies)
def test_a_devices_bulk_docs_never_500(device: Couch, body) -> None:
    _post_json(device, f"{REPLICA}/_bulk_docs", body)


@FUZZ
@given(body=revs_diff_bodies | st.dictionaries(st.sampled_from(IDS), st.lists(st.sampled_from(["1-a", "x"]))))
def test_a_devices_revs_diff_never_500(device: Couch, body) -> None:
    _post_json(device, f"{REPLICA}/_revs_diff", body)


@FUZZ
@given(body=bulk_get_bodies | st.fixed_dictionaries({"docs": st.lists(st.fixed_dictionaries(
    {"id": st.sampled_from(IDS)}, optional={"rev": st.sampled_from(["1-a", "2-b"]) | json_values}), max_size=4)}),
       query=st.dictionaries(st.sampled_from(["revs", "latest", "attachments"]), bool_query))
def test_a_devices_bulk_get_never_500(device: Couch, body, query) -> None:
    _post_json(device, f"{REPLICA}/_bulk_get?{urlencode(query)}", body)


@FUZZ
@given(params=changes_params, since=st.none() | st.sampled_from(["0", "now", "1-eyJ9", "1-" + "e" * 40])
       | st.text(max_size=30))
def test_a_devices_changes_never_500(device: Couch, params, since) -> None:
    if since is not None:
        params = {**params, "since": since}
    check(device.get(f"{REPLICA}/_changes?{urlencode(params)}"))


@FUZZ
@given(docid=st.sampled_from(IDS), params=doc_params, body=submission_like | json_values,
       query=st.dictionaries(st.sampled_from(["new_edits", "rev"]), bool_query, max_size=2))
def test_a_devices_document_reads_and_writes_never_500(device: Couch, docid: str, params, body, query) -> None:
    path = f"{REPLICA}/{docid if docid.startswith(('_design/', '_local/')) else docid.replace('/', '%2F')}"
    check(device.get(f"{path}?{urlencode(params)}"))
    check(device.put(f"{path}?{urlencode(query)}", data=json.dumps(body), content_type="application/json"))
