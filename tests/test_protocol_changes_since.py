# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""A ``since`` the store cannot resume from is a clear answer before the feed starts.

Apache CouchDB 3 takes back only the sequences it issued: ``since=1`` is a 400
(``Malformed sequence supplied in 'since' parameter.``), while SQLite's and
pouchdb-server's sequences are plain integers. Such an error used to surface
from the first store read, inside the streamed body, after fieldsync had
already answered 200: the client got a broken response instead of the 400.
The feed now makes its first store read before the response starts.

The per-user replica cannot ask every member scope before it starts: a member
sequence its store refuses (only a hand-made composite holds one) is read from
that scope's beginning, which re-sends what the device may have and loses
nothing.
"""

from __future__ import annotations

import json

import pytest
from eventual import wait_until
from protocol_helpers import Couch, app, assert_error, couch, db  # noqa: F401
from servers import on_apache_couchdb

from sync.replica.union import UserReplica

FEEDS = ["normal", "longpoll", "continuous"]


def _refuses_integers(app) -> bool:
    """Whether the app's store is Apache CouchDB, whose sequences are never bare integers."""
    return app.config["FIELDSYNC_BACKEND"] != "sqlite" and on_apache_couchdb()


@pytest.mark.parametrize("feed", FEEDS)
def test_a_since_the_store_refuses_is_a_400_before_the_body_starts(app, couch: Couch, db: str,
                                                                   feed: str) -> None:
    couch.bulk(db, [{"_id": "a"}])
    resp = couch.get(f"{db}/_changes?since=1&feed={feed}&timeout=50")
    if _refuses_integers(app):
        body = assert_error(resp, 400, "bad_request")
        assert "since" in body["reason"]
    else:
        assert resp.status_code == 200
        text = resp.get_data(as_text=True)  # the whole body streams
        last = json.loads(text if feed != "continuous" else text.strip().splitlines()[-1])
        assert "last_seq" in last


def test_a_refused_member_sequence_reads_that_scope_from_its_beginning(app, couch: Couch) -> None:
    svc = app.extensions["fieldsync"]
    svc.areas.add("sa", name_en="Area sa", level="soum", holds_data=True, replace=True)
    if svc.users.get("since-walker") is None:
        svc.users.add("since-walker", "worker", ["sa"], "walker-password-1")
    worker = svc.users.get("since-walker")
    couch.bulk("/db/sa", [{"_id": f"sa:fam:{n:02d}", "type": "family"} for n in range(3)])
    replica = UserReplica(svc.store, worker, worker, svc.access, svc.gate)
    made_up = replica._encode({"sa": 1})  # a composite no feed issued on CouchDB
    device = Couch(app.test_client(), auth=("since-walker", "walker-password-1"))

    def ids_since_made_up() -> set[str]:
        resp = device.get(f"/sync/since-walker/_changes?since={made_up}")
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        return {row["id"] for row in resp.json["results"]}

    if _refuses_integers(app):
        # On a cluster the writes show a moment later: poll as a device would.
        wait_until(ids_since_made_up, lambda ids: {f"sa:fam:{n:02d}" for n in range(3)} <= ids,
                   what="the scope read from its beginning")
    else:
        ids_since_made_up()
