"""Reviews on both stores: the write gate checks them from every entry point (a replica's
``_bulk_docs`` with and without ``new_edits``, ``PUT`` on a replica and on ``/db``,
``/api/reviews``, ``fieldsync review``), and the review loop runs through the API: a
coordinator flags a submission, the worker edits it, the server marks the review
``edited``, the coordinator approves. What is refused is answered with a clear 4xx and
never stored.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from gate_helpers import TES, basic
from protocol_helpers import ADMIN, close_app, make_backend_app
from servers import BACKENDS

from server.cli import main as cli
from sync import records
from sync.demo import seed_demo
from sync.errors import NotFound


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    data = tmp_path_factory.mktemp("reviews") / "data"
    app = make_backend_app(request, request.param, data)
    app.config["DATA_DIR"] = data
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=6)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client(use_cookies=False)


def q(docid: str) -> str:
    return quote(docid, safe="")


def submissions(app, scope: str = TES, form: str = "household_visit") -> list[dict]:
    db = app.extensions["fieldsync"].store.open(scope)
    return [r["doc"] for r in db.all_docs(startkey=f"{scope}:sub:", endkey=f"{scope}:sub:\uffff", include_docs=True)
            if r["doc"].get("form") == form]


def fresh_submission(app, scope: str = TES) -> dict:
    """A submission of ``scope`` nobody has reviewed yet (each test takes its own)."""
    db = app.extensions["fieldsync"].store.open(scope)
    for sub in submissions(app, scope):
        if records.read(db, sub["_id"].replace(":sub:", ":review:")) is None:
            return sub
    raise AssertionError("the demo ran out of unreviewed submissions")


def valid_review(sub: dict, by: str = "oyunaa", **changes) -> dict:
    doc = {"_id": sub["_id"].replace(":sub:", ":review:"), "type": "review", "submission": sub["_id"],
           "submission_author": sub["author"], "form": sub["form"], "status": "has_issues",
           "submission_rev": sub["_rev"],
           "comments": [{"by": by, "at": "2026-10-20T09:00:00Z", "text": "Өрхийн тэргүүний нас буруу байна."}]}
    doc.update(changes)
    return doc


def bad_reviews(sub: dict) -> dict[str, tuple[dict, str]]:
    """Reviews the gate must refuse, and a piece of the reason it gives."""
    ghost = {**sub, "_id": sub["_id"][:-6] + "ZZZZZZ"}
    return {
        "a state that does not exist": (valid_review(sub, status="banana-not-a-state"), "not a review state"),
        "a 100 KB comment": (valid_review(sub, comments=[{"by": "oyunaa", "at": "2026-10-20T09:00:00Z",
                                                          "text": "ы" * 100_000}]), "at most 4000"),
        "a comment without a time": (valid_review(sub, comments=[{"by": "oyunaa", "text": "no time"}]), "needs by"),
        "a comment in another's name": (valid_review(sub, comments=[{"by": "enkhjargal", "at": "2026-10-20T09:00:00Z",
                                                                     "text": "not mine"}]), "must be yours"),
        "no submission": (valid_review(ghost), "There is no submission"),
        "the wrong author": (valid_review(sub, submission_author="ganzorig"), "submission_author"),
        "an unknown field": (valid_review(sub, score=5), "no field 'score'"),
        "edited, by a person": (valid_review(sub, status="edited"), "set by the server"),
        "comments not a list": (valid_review(sub, comments="fine"), "comments must be a list"),
    }


def not_stored(app, docid: str) -> bool:
    db = app.extensions["fieldsync"].store.open(docid.split(":", 1)[0])
    try:
        db.get(docid)
    except NotFound:
        return True
    return False


@pytest.mark.parametrize("entry", ["bulk_docs", "bulk_docs new_edits=false", "PUT replica", "PUT /db as admin"])
def test_the_gate_refuses_bad_reviews_from_every_replication_entry_point(app, client, entry):
    sub = fresh_submission(app)
    for case, (doc, reason) in bad_reviews(sub).items():
        if entry == "bulk_docs":
            resp = client.post("/sync/oyunaa/_bulk_docs", json={"docs": [doc]}, headers=basic("oyunaa"))
            assert resp.status_code == 201, case
            [answer] = resp.json
        elif entry == "bulk_docs new_edits=false":
            sent = {**doc, "_rev": "1-" + "a" * 32, "_revisions": {"start": 1, "ids": ["a" * 32]}}
            resp = client.post("/sync/oyunaa/_bulk_docs", json={"docs": [sent], "new_edits": False},
                               headers=basic("oyunaa"))
            assert resp.status_code == 201, case
            [answer] = resp.json
        else:
            path, who = (("/sync/oyunaa/", basic("oyunaa")) if entry == "PUT replica"
                         else ("/db/uvs-tes/", basic(*ADMIN)))
            if entry == "PUT /db as admin" and case == "a comment in another's name":
                continue  # an admin may write any comment (restoring a thread, say)
            resp = client.put(path + q(doc["_id"]), json=doc, headers=who)
            assert resp.status_code == 403, (case, resp.json)
            answer = resp.json
        assert answer["error"] == "forbidden", case
        assert reason in answer["reason"], (case, answer["reason"])
        assert answer["messages"]["mn"] and answer["messages"]["mn"] != answer["messages"]["en"], case
        assert not_stored(app, doc["_id"]), case


def test_a_valid_review_is_stored_and_workers_and_other_aimags_are_refused(app, client):
    sub = fresh_submission(app)
    doc = valid_review(sub)
    worker = client.post("/sync/bolormaa/_bulk_docs", json={"docs": [doc]}, headers=basic("bolormaa"))
    assert worker.json[0]["reason"] == "Only coordinators review submissions."
    far = client.put(f"/sync/enkhjargal/{q(doc['_id'])}", json=doc, headers=basic("enkhjargal"))
    assert far.status_code == 403 and not_stored(app, doc["_id"])
    resp = client.put(f"/sync/oyunaa/{q(doc['_id'])}", json=doc, headers=basic("oyunaa"))
    assert resp.status_code == 201, resp.json


def api(client, method: str, docid: str, user: str = "oyunaa", body=None):
    return client.open(f"/api/reviews/{q(docid)}", method=method, headers=basic(*((user,) if user != "admin" else ADMIN)),
                       data=None if body is None else json.dumps(body), content_type="application/json")


def test_the_review_loop_through_the_api(app, client):
    sub = fresh_submission(app)
    subid = sub["_id"]
    flagged = api(client, "POST", subid, body={"status": "has_issues", "comment": "Гэрэл зураг бүдэг байна.",
                                                "review_rev": "", "submission_rev": sub["_rev"]})
    assert flagged.status_code == 201, flagged.json
    assert flagged.json["state"] == "has_issues"
    listed = client.get(f"/api/reviews?area={TES}&state=has_issues", headers=basic("oyunaa")).json["reviews"]
    assert subid in {r["submission"] for r in listed}

    # The worker fixes it on her device and pushes: the server marks the review edited.
    fixed = {**sub, "data": {**sub["data"], "remarks": "Зургийг дахин авсан."}}
    pushed = client.put(f"/sync/{sub['author']}/{q(subid)}", json=fixed, headers=basic(sub["author"]))
    assert pushed.status_code == 201, pushed.json
    shown = api(client, "GET", subid).json
    assert shown["state"] == "edited" and shown["review"]["history"][-1]["by"] == sub["author"]
    edited = client.get(f"/api/reviews?area={TES}&state=edited", headers=basic("oyunaa")).json["reviews"]
    assert subid in {r["submission"] for r in edited}

    # Approving what one read before the edit is refused; approving the new revision works.
    stale = api(client, "POST", subid, body={"status": "approved", "submission_rev": sub["_rev"]})
    assert stale.status_code == 409 and "changed this submission" in stale.json["reason"]
    approved = api(client, "POST", subid, body={"status": "approved", "submission_rev": pushed.json["rev"],
                                                 "review_rev": shown["review"]["_rev"]})
    assert approved.status_code == 201, approved.json
    history = [h["status"] for h in api(client, "GET", subid).json["review"]["history"]]
    assert history == ["has_issues", "edited", "approved"]
    # A further edit after the approval reopens it again.
    again = client.put(f"/sync/{sub['author']}/{q(subid)}", headers=basic(sub["author"]),
                       json={**fixed, "_rev": pushed.json["rev"], "data": {**fixed["data"], "remarks": "Дахин."}})
    assert again.status_code == 201
    assert api(client, "GET", subid).json["state"] == "edited"


@pytest.mark.parametrize("body, status, reason", [
    ({}, 400, "status is required when there is no comment (choose a state or write a comment)"),
    ({"status": "banana"}, 400, "status must be one of: has_issues, approved, rejected"),
    ({"status": "edited"}, 400, "status must be one of: has_issues, approved, rejected"),
    ({"comment": "ы" * 100_000}, 400, "comment must be at most 4000 characters long"),
    ({"comment": "   "}, 400, "status is required when there is no comment"),
    ({"status": 3}, 400, "status must be text"),
    ({"status": "approved", "colour": "red"}, 400, "colour is not something this request takes"),
    ({"status": "approved", "review_rev": "1-" + "0" * 32}, 409, "changed this review"),
    ({"status": "approved", "submission_rev": "9-" + "0" * 32}, 409, "changed this submission"),
])
def test_bad_api_input_gets_a_clear_4xx_and_writes_nothing(app, client, body, status, reason):
    sub = fresh_submission(app)
    resp = api(client, "POST", sub["_id"], body=body)
    assert resp.status_code == status, resp.json
    assert reason in resp.json["reason"]
    assert not_stored(app, sub["_id"].replace(":sub:", ":review:"))


def test_the_api_refuses_workers_and_hides_other_areas(app, client):
    sub = fresh_submission(app)
    assert api(client, "POST", sub["_id"], user="bolormaa", body={"status": "approved"}).status_code == 403
    far = api(client, "POST", sub["_id"], user="enkhjargal", body={"status": "approved"})
    assert far.status_code == 404 and far.json["reason"] == "missing"
    assert api(client, "GET", sub["_id"], user="enkhjargal").status_code == 404
    assert client.get(f"/api/reviews?area={TES}", headers=basic("enkhjargal")).status_code == 404
    assert api(client, "GET", f"{TES}:sub:01JZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
    assert client.get("/api/reviews?area=uvs-tes&state=banana", headers=basic("oyunaa")).status_code == 400
    assert not_stored(app, sub["_id"].replace(":sub:", ":review:"))


def test_fieldsync_review_on_the_servers_shell(app, monkeypatch):
    """The command on the server's shell, pointed at the app's own store: the data directory on
    SQLite, the CouchDB server (its URL and prefix, as ``fieldsync serve`` is) on the others."""
    settings = app.extensions["fieldsync"].settings
    for name in ("FIELDSYNC_STORE", "FIELDSYNC_COUCHDB_URL", "FIELDSYNC_COUCHDB_PREFIX", "FIELDSYNC_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    if settings.store == "couchdb":
        monkeypatch.setenv("FIELDSYNC_STORE", "couchdb")
        monkeypatch.setenv("FIELDSYNC_COUCHDB_URL", settings.couchdb_url)
        monkeypatch.setenv("FIELDSYNC_COUCHDB_PREFIX", settings.couchdb_prefix)
    sub = fresh_submission(app)
    data = str(app.config["DATA_DIR"])
    run = CliRunner().invoke
    done = run(cli, ["review", "set", sub["_id"], "--status", "has_issues", "--comment", "Утасны дугаар дутуу.",
                     "--by", "oyunaa", "--data", data])
    assert done.exit_code == 0, done.output
    assert "is has_issues" in done.output
    listed = run(cli, ["review", "list", "--area", TES, "--state", "has_issues", "--data", data])
    assert sub["_id"] in listed.output
    shown = json.loads(run(cli, ["review", "show", sub["_id"], "--data", data]).output)
    assert shown["review"]["comments"][-1]["text"] == "Утасны дугаар дутуу."
    for args, said in ((["--status", "banana", "--by", "oyunaa"], "Invalid value for '--status'"),
                       (["--comment", "ы" * 5000, "--by", "oyunaa"], "at most 4000"),
                       (["--status", "approved", "--by", "bolormaa"], "only coordinators and admins"),
                       (["--status", "approved", "--by", "enkhjargal"], "that enkhjargal may review"),
                       (["--status", "approved", "--by", "nobody"], "no enabled account")):
        refused = run(cli, ["review", "set", sub["_id"], *args, "--data", data])
        assert refused.exit_code != 0 and said in refused.output, (args, refused.output)
    assert json.loads(run(cli, ["review", "show", sub["_id"], "--data", data]).output)["state"] == "has_issues"
    # What the command wrote is in the app's store, not in a store of its own beside it.
    stored = records.read(app.extensions["fieldsync"].store.open(TES), sub["_id"].replace(":sub:", ":review:"))
    assert stored["status"] == "has_issues" and stored["comments"][-1]["text"] == "Утасны дугаар дутуу."


def test_a_replicated_edit_turns_the_review_edited_too(app, client):
    """A device pushes its edit as a replicator does (new_edits=false, the revision path)."""
    sub = fresh_submission(app)
    assert api(client, "POST", sub["_id"], body={"status": "rejected", "comment": "Давхардсан."}).status_code == 201
    gen, rev_id = sub["_rev"].split("-", 1)
    edit = {**sub, "_rev": f"{int(gen) + 1}-{'b' * 32}", "_revisions": {"start": int(gen) + 1, "ids": ["b" * 32, rev_id]},
            "data": {**sub["data"], "remarks": "Давхардаагүй, өөр өрх."}}
    resp = client.post(f"/sync/{sub['author']}/_bulk_docs", json={"docs": [edit], "new_edits": False},
                       headers=basic(sub["author"]))
    assert resp.status_code == 201 and resp.json == []
    review = api(client, "GET", sub["_id"]).json["review"]
    assert review["status"] == "edited" and review["history"][-1]["rev"] == edit["_rev"]
    # The same revision pushed again (a replicator retrying) marks nothing twice.
    client.post(f"/sync/{sub['author']}/_bulk_docs", json={"docs": [edit], "new_edits": False},
                headers=basic(sub["author"]))
    assert len(api(client, "GET", sub["_id"]).json["review"]["history"]) == 2
