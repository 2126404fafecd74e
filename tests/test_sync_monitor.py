"""The sync monitor over HTTP (``/api/sync-status``) and on the command line, on both stores.

Devices talk to ``/sync/<user>`` with the requests a PouchDB replicator makes:
a pull reads its checkpoint, the changes feed and documents in bulk, then
writes its checkpoint with the replica's sequence; a push reads its own
checkpoint, diffs, writes revisions and writes its checkpoint with the
device's sequence. The monitor tells devices apart by user agent (or
``X-Device-Id``) and, under one user agent, by their checkpoint ids; counts
what each moved; and counts the backlog of each pull replication: what the
server holds for it since its checkpoint, as its next pull would see it. A
plain ``GET`` of the replica URL is no sync.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conflict_helpers import family, revision
from gate_helpers import PASSWORD, TES, basic
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from server.cli import main
from sync.demo import seed_demo


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("mon") / "data")
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app
    close_app(app)


class Device:
    """One replica of ``user`` as PouchDB drives it, over Flask's test client."""

    def __init__(self, client, user: str, agent: str, pull_id: str, push_id: str):
        self.client, self.user, self.agent = client, user, agent
        self.pull_id, self.push_id = pull_id, push_id
        self.local_seq = 0

    def call(self, method: str, path: str, body=None):
        kw = {"headers": {**basic(self.user, PASSWORD), "User-Agent": self.agent}}
        if body is not None:
            kw["data"] = json.dumps(body)
            kw["content_type"] = "application/json"
        resp = self.client.open(f"/sync/{self.user}{path}", method=method, **kw)
        resp.get_data()
        resp.close()  # the sync log counts a request once its answer is sent
        return resp

    def checkpoint(self, rid: str, last_seq) -> None:
        found = self.call("GET", f"/_local/{rid}")
        body = {"last_seq": last_seq, "session_id": "s", "history": []}
        if found.status_code == 200:
            body["_rev"] = found.json["_rev"]
        assert self.call("PUT", f"/_local/{rid}", body).status_code == 201

    def pull(self) -> int:
        found = self.call("GET", f"/_local/{self.pull_id}")
        since = found.json["last_seq"] if found.status_code == 200 else 0
        feed = self.call("GET", f"/_changes?style=all_docs&since={since}").json
        wanted = [{"id": r["id"], "rev": c["rev"]} for r in feed["results"] for c in r["changes"]]
        if wanted:
            assert self.call("POST", "/_bulk_get?revs=true", {"docs": wanted}).status_code == 200
        self.checkpoint(self.pull_id, feed["last_seq"])
        return len(wanted)

    def push(self, docs: list[dict]) -> None:
        self.call("GET", f"/_local/{self.push_id}")
        self.call("POST", "/_revs_diff", {d["_id"]: [d["_rev"]] for d in docs})
        assert self.call("POST", "/_bulk_docs", {"docs": docs, "new_edits": False}).status_code == 201
        self.local_seq += len(docs)
        self.checkpoint(self.push_id, self.local_seq)


def status(client, viewer: str = "oyunaa", query: str = "") -> dict[str, dict]:
    resp = client.get(f"/api/sync-status{query}", headers=basic(viewer, PASSWORD))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {row["name"]: row for row in resp.json}


def test_devices_their_pushes_pulls_and_backlogs(app):
    client = app.test_client()
    phone = Device(client, "bolormaa", "PouchDB/9 (phone)", "pull-phone", "push-phone")
    twin = Device(client, "bolormaa", "PouchDB/9 (phone)", "pull-twin", "push-twin")  # same model
    phone.push([revision(family()), revision(family())])  # a sync: push, then pull
    phone.pull()
    twin.pull()
    # A plain look at the replica is no sync, whatever its user agent.
    looker = Device(client, "ganzorig", "curl/8", "-", "-")
    assert looker.call("GET", "").status_code == 200

    # Meanwhile the coordinator writes two records of Tes, and one of another soum.
    coordinator = Device(client, "oyunaa", "Firefox", "c-pull", "c-push")
    coordinator.push([revision(family()), revision(family()), revision(family("uvs-naranbulag"))])
    twin.pull()  # the twin is up to date again; the phone is not

    rows = status(client)
    me = rows["bolormaa"]
    assert me["stale"] is False and me["last_sync"]
    [device] = me["devices"]  # one user agent ...
    assert device["user_agent"] == "PouchDB/9 (phone)"
    assert device["docs_up"] == 2 and device["docs_down"] >= 2 and device["refused"] == 0
    assert device["last_push"] and device["last_pull"] and device["last_pull"] >= device["last_push"]
    reps = {r["id"]: r for r in device["replications"]}  # ... two replicas
    assert {r: reps[r]["direction"] for r in reps} == {
        "pull-phone": "pull", "push-phone": "push", "pull-twin": "pull"}
    assert reps["pull-phone"]["backlog"] == 2  # the coordinator's two Tes records
    assert reps["pull-twin"]["backlog"] == 0
    assert reps["push-phone"]["backlog"] is None

    assert rows["ganzorig"]["devices"] == [] and rows["ganzorig"]["last_sync"] is None
    assert rows["ganzorig"]["stale"] is True
    assert all(row["stale"] for row in status(client, query="?days=0").values())
    assert status(client, query="?backlog=false")["bolormaa"]["devices"][0]["replications"][0]["backlog"] is None

    phone.pull()
    after = {r["id"]: r for r in status(client)["bolormaa"]["devices"][0]["replications"]}
    assert after["pull-phone"]["backlog"] == 0


def test_a_coordinator_sees_only_the_workers_of_their_areas(app):
    client = app.test_client()
    assert "bolormaa" in status(client, "oyunaa")
    theirs = status(client, "enkhjargal")
    assert "bolormaa" not in theirs and "tsetseg" in theirs
    resp = client.get("/api/sync-status", headers=basic("bolormaa", PASSWORD))
    assert resp.status_code == 403


@pytest.mark.parametrize("query", ["days=abc", "days=-1", "days=nan", "limit=0", "limit=x", "backlog=maybe"])
def test_bad_parameters_are_400(app, query):
    resp = app.test_client().get(f"/api/sync-status?{query}", headers=basic("oyunaa", PASSWORD))
    assert resp.status_code == 400 and resp.json["error"] == "bad_request"


def test_the_command_line_shows_devices_and_backlogs(app, monkeypatch):
    settings = app.extensions["fieldsync"].settings
    if settings.store == "couchdb":  # the command finds the app's store where the environment says
        monkeypatch.setenv("FIELDSYNC_STORE", "couchdb")
        monkeypatch.setenv("FIELDSYNC_COUCHDB_URL", settings.couchdb_url)
        monkeypatch.setenv("FIELDSYNC_COUCHDB_PREFIX", settings.couchdb_prefix)
    client = app.test_client()
    lagging = Device(client, "bolormaa", "PouchDB/9 (tablet)", "pull-tablet", "push-tablet")
    lagging.pull()
    Device(client, "oyunaa", "Firefox", "c2-pull", "c2-push").push([revision(family(TES))])
    app.extensions["fieldsync"].synclog.flush()
    data = str(app.extensions["fieldsync"].settings.data_dir)
    monkeypatch.setenv("FIELDSYNC_DATA_DIR", data)
    result = CliRunner().invoke(main, ["sync-status", "--data", data, "--days", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("bolormaa "))
    block = "\n".join(lines[at:at + 12])
    assert "PouchDB/9 (tablet)" in block
    assert any("pull-tablet" in line and "backlog 1" in line for line in lines)
    assert any(line.startswith("ganzorig ") and "<- not synced yet" in line for line in lines)
