"""``/api``: what admins and coordinators do over HTTP (the CLI's operations).

Real app, real SQLite files seeded with the demo's areas, users and forms.
"""

from __future__ import annotations

import pytest
from gate_helpers import PASSWORD, copy_of, seed_template, visit
from protocol_helpers import basic

from server import create_app
from server.config import Settings


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return seed_template(tmp_path_factory.mktemp("api-template") / "data")


@pytest.fixture
def client(template, tmp_path):
    app = create_app(Settings(data_dir=copy_of(template, tmp_path / "data"), admin=("admin", PASSWORD)))
    yield app.test_client()
    app.extensions["fieldsync"].store.close()


def as_(name: str) -> dict:
    return basic(name, PASSWORD)


def test_an_admin_adds_a_worker_who_can_then_sync(client):
    resp = client.post("/api/users", json={"name": "sarnai", "role": "worker", "areas": ["uvs-tes"],
                                           "password": "long-enough-1"}, headers=as_("admin"))
    assert resp.status_code == 201, resp.get_json()
    assert client.get("/sync/sarnai", headers=basic("sarnai", "long-enough-1")).status_code == 200
    names = [u["name"] for u in client.get("/api/users", headers=as_("admin")).get_json()]
    assert "sarnai" in names


def test_disabling_a_user_refuses_them_at_once(client):
    assert client.get("/sync/bolormaa", headers=as_("bolormaa")).status_code == 200
    resp = client.patch("/api/users/bolormaa", json={"disabled": True}, headers=as_("admin"))
    assert resp.status_code == 200 and resp.get_json()["disabled"] is True
    # Her replica has no areas left (it opens only so that her device's next sync takes them off).
    assert client.get("/sync/bolormaa", headers=as_("bolormaa")).json["members"] == ["global"]
    assert client.get("/db/uvs-tes", headers=as_("bolormaa")).status_code == 401


@pytest.mark.parametrize("body, status, field", [
    ({"name": "x1", "role": "chief", "areas": [], "password": "long-enough-1"}, 400, "role"),
    ({"name": "x1", "role": "worker", "areas": ["nowhere"], "password": "long-enough-1"}, 400, "areas"),
    ({"name": "x1", "role": "worker", "areas": ["uvs-tes"], "password": "short"}, 400, "password"),
    ({"name": "Bad Name", "role": "worker", "areas": ["uvs-tes"], "password": "long-enough-1"}, 400, "name"),
    ({"name": "bolormaa", "role": "worker", "areas": ["uvs-tes"], "password": "long-enough-1"}, 409, None),
    ({"role": "worker"}, 400, "name"),
])
def test_bad_user_requests_get_a_clear_4xx(client, body, status, field):
    resp = client.post("/api/users", json=body, headers=as_("admin"))
    assert resp.status_code == status
    if field is None:
        assert set(resp.get_json()) == {"error", "reason"}
    else:  # the 400 names each wrong member, in the reason and in ``fields``
        assert set(resp.get_json()) == {"error", "reason", "fields"}
        assert field in resp.get_json()["fields"] and field in resp.get_json()["reason"]
    assert client.get("/sync/x1", headers=basic("x1", "long-enough-1")).status_code == 401  # nothing stored


@pytest.mark.parametrize("path, body, words", [
    ("/api/users", {"role": "worker", "areas": ["uvs-tes"]}, {"name": "is required", "password": "is required"}),
    ("/api/users", {"name": 7, "role": "worker", "password": ["x"]},
     {"name": "must be text", "password": "must be text"}),
    ("/api/users", {"name": "x1", "role": "worker", "password": "long-enough-1", "areas": ["uvs-tes", 3]},
     {"areas.1": "must be text"}),
    ("/api/users", ["name", "x1"], {"body": "must be a JSON object"}),
    ("/api/areas", {"code": "new-bag", "name": "New bag"}, {"name": "must be a JSON object"}),
    ("/api/areas", {"code": "new-bag", "name": {"mn": "Шинэ"}, "colour": "red"},
     {"name.en": "is required", "colour": "is not something this request takes"}),
    ("/api/users/bolormaa", {"disabled": "yes"}, {"disabled": "must be true or false"}),
])
def test_a_wrong_body_gets_each_wrong_member_named_in_plain_words(client, path, body, words):
    method = client.patch if path.startswith("/api/users/") else client.post
    resp = method(path, json=body, headers=as_("admin"))
    assert resp.status_code == 400
    assert resp.get_json()["fields"] == words
    for name, said in words.items():
        assert f"{name} {said}" in resp.get_json()["reason"].replace("The request body", "body")


def test_a_discard_without_a_body_says_the_reason_is_required(client):
    bad = visit(household_size=0)
    client.post("/sync/bolormaa/_bulk_docs", json={"docs": [bad]}, headers=as_("bolormaa"))
    [entry] = [e for e in client.get("/api/quarantine", headers=as_("oyunaa")).get_json() if e["doc_id"] == bad["_id"]]
    resp = client.post(f"/api/quarantine/{entry['_id']}/discard", headers=as_("oyunaa"))
    assert resp.status_code == 400
    assert resp.get_json()["reason"] == "reason is required" and resp.get_json()["fields"] == {"reason": "is required"}
    still = client.get("/api/quarantine", headers=as_("oyunaa")).get_json()
    assert entry["_id"] in [e["_id"] for e in still]  # still held: nothing was decided


def test_only_admins_manage_users_and_forms(client):
    assert client.get("/api/users", headers=as_("oyunaa")).status_code == 403
    assert client.post("/api/forms", json={}, headers=as_("bolormaa")).status_code == 403
    assert client.get("/api/users").status_code == 401


def test_a_coordinator_decides_quarantined_documents_of_their_areas_only(client):
    bad = visit(household_size=0)
    client.post("/sync/bolormaa/_bulk_docs", json={"docs": [bad]}, headers=as_("bolormaa"))
    entries = client.get("/api/quarantine", headers=as_("oyunaa")).get_json()
    [entry] = [e for e in entries if e["doc_id"] == bad["_id"]]
    assert any(r["field"] == "household_size" for r in entry["reasons"])
    # enkhjargal coordinates Övörkhangai soums: the Uvs entry is not theirs to see or decide.
    assert bad["_id"] not in str(client.get("/api/quarantine", headers=as_("enkhjargal")).get_json())
    denied = client.post(f"/api/quarantine/{entry['_id']}/discard", json={"reason": "duplicate"},
                         headers=as_("enkhjargal"))
    assert denied.status_code == 404
    done = client.post(f"/api/quarantine/{entry['_id']}/discard", json={"reason": "Давхардсан"},
                       headers=as_("oyunaa"))
    assert done.status_code == 200 and done.get_json()["status"] == "discarded"
    assert client.get("/api/quarantine", headers=as_("bolormaa")).status_code == 403


def test_sync_status_lists_users_with_their_last_sync(client):
    feed = client.get("/sync/bolormaa/_changes", headers=as_("bolormaa"))
    feed.get_data()
    feed.close()  # the sync log is written once the answer has been sent
    rows = {r["name"]: r for r in client.get("/api/sync-status", headers=as_("oyunaa")).get_json()}
    assert rows["bolormaa"]["last_sync"] is not None
    assert rows["ganzorig"]["last_sync"] is None
    assert "tsetseg" not in rows  # another aimag's worker
