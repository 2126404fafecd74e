# ruff: noqa: F811 - the app, couch and db fixtures come from protocol_helpers
"""The server root and scope databases: ``GET /``, ``PUT/GET/HEAD/DELETE /db/<scope>``.

A replicator starts every session with ``GET /`` (to learn it talks to a
CouchDB) and ``GET /<db>`` (to learn the database exists and its update
sequence); it may ``PUT /<db>`` to create a target. Status codes follow CouchDB:
201 created, 412 ``file_exists``, 404 ``not_found``, 400 ``illegal_database_name``.
"""

from __future__ import annotations

from eventual import assert_nothing_since, wait_until
from protocol_helpers import ADMIN, Couch, app, assert_error, basic, couch, db  # noqa: F401


def test_welcome_says_couchdb_and_a_version(couch: Couch) -> None:
    resp = couch.get("/")
    assert resp.status_code == 200
    body = resp.json
    assert body["couchdb"] == "Welcome"
    major = int(body["version"].split(".")[0])
    assert major >= 2  # replicators switch on protocol features by version
    assert "vendor" in body


def test_welcome_needs_no_credentials(app) -> None:
    resp = app.test_client().get("/")
    assert resp.status_code == 200
    assert resp.json["couchdb"] == "Welcome"


def test_create_database_answers_201_then_412(couch: Couch) -> None:
    resp = couch.put("/db/uvs-tes")
    assert resp.status_code == 201
    assert resp.json == {"ok": True}
    again = couch.put("/db/uvs-tes")
    assert_error(again, 412, "file_exists")


def test_new_database_info(couch: Couch, db: str) -> None:
    resp = couch.get(db)
    assert resp.status_code == 200
    info = resp.json
    assert info["db_name"] == "s"
    assert info["doc_count"] == 0
    assert info["doc_del_count"] == 0
    assert info["update_seq"] is not None
    assert "instance_start_time" in info


def test_database_info_with_trailing_slash(couch: Couch, db: str) -> None:
    resp = couch.get(db + "/")
    assert resp.status_code == 200
    assert resp.json["db_name"] == "s"


def test_info_counts_documents_and_deletions(couch: Couch, db: str) -> None:
    couch.create_doc(db, {"_id": "a"})
    rev = couch.create_doc(db, {"_id": "b"})
    couch.delete(f"{db}/b?rev={rev}")
    # A cluster sums the counts of whichever shard copies answer first: they come to agree.
    info = wait_until(lambda: couch.info(db), lambda i: (i["doc_count"], i["doc_del_count"]) == (1, 1),
                      what="one document and one deletion counted")
    assert info["doc_count"] == 1
    assert info["doc_del_count"] == 1


def test_head_database(couch: Couch, db: str) -> None:
    resp = couch.head(db)
    assert resp.status_code == 200
    assert resp.get_data() == b""
    assert couch.head("/db/nope").status_code == 404


def test_unknown_database_is_404(couch: Couch) -> None:
    assert_error(couch.get("/db/nope"), 404, "not_found")
    assert_error(couch.get("/db/nope/_changes"), 404, "not_found")
    assert_error(couch.get("/db/nope/some-doc"), 404, "not_found")
    assert_error(couch.post("/db/nope/_bulk_docs", json={"docs": []}), 404, "not_found")


def test_delete_database(couch: Couch, db: str) -> None:
    couch.create_doc(db, {"_id": "a"})
    resp = couch.delete(db)
    assert resp.status_code == 200
    assert resp.json == {"ok": True}
    assert_error(couch.get(db), 404, "not_found")
    assert_error(couch.delete(db), 404, "not_found")


def test_recreated_database_is_empty(couch: Couch, db: str) -> None:
    couch.create_doc(db, {"_id": "a"})
    assert couch.delete(db).status_code == 200
    assert couch.put(db).status_code == 201
    assert couch.info(db)["doc_count"] == 0
    assert_error(couch.get(f"{db}/a"), 404, "not_found")


def test_illegal_database_names_are_400(couch: Couch) -> None:
    for name in ("UPPER", "-dash-first", "has.dot", "has%20space", "x" * 200, "caf%C3%A9"):
        assert_error(couch.put(f"/db/{name}"), 400, "illegal_database_name")
        assert_error(couch.get(f"/db/{name}"), 400, "illegal_database_name")
        assert_error(couch.delete(f"/db/{name}"), 400, "illegal_database_name")


def test_database_names_may_be_area_codes(couch: Couch) -> None:
    for name in ("uvs-tes", "ub-1", "global", "a"):
        assert couch.put(f"/db/{name}").status_code == 201


def test_ensure_full_commit(couch: Couch, db: str) -> None:
    resp = couch.post(f"{db}/_ensure_full_commit", json={})
    assert resp.status_code == 201
    assert resp.json["ok"] is True
    assert "instance_start_time" in resp.json


def test_ensure_full_commit_without_body(couch: Couch, db: str) -> None:
    resp = couch.post(f"{db}/_ensure_full_commit", headers={"Content-Type": "application/json"})
    assert resp.status_code == 201


# -- credentials -------------------------------------------------------------------
def test_no_credentials_is_401_with_a_challenge(app) -> None:
    client = Couch(app.test_client(), auth=None)
    resp = client.get("/db/s")
    assert_error(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].lower().startswith("basic")


def test_wrong_password_is_401(app) -> None:
    client = Couch(app.test_client(), auth=(ADMIN[0], "wrong"))
    assert_error(client.put("/db/x"), 401, "unauthorized")
    assert_error(client.get("/db/x"), 401, "unauthorized")


def test_unknown_user_is_401(app) -> None:
    client = Couch(app.test_client(), auth=("mallory", "secret"))
    assert_error(client.get("/db/x"), 401, "unauthorized")


def test_malformed_basic_header_is_401(app) -> None:
    client = app.test_client()
    for header in ("Basic !!!notbase64", "Basic " + "bm9jb2xvbg==", "Basic"):
        resp = client.get("/db/x", headers={"Authorization": header})
        assert_error(resp, 401, "unauthorized")


def test_unauthenticated_requests_write_nothing(app, couch: Couch, db: str) -> None:
    anon = Couch(app.test_client(), auth=None)
    before = couch.info(db)["update_seq"]
    assert_error(anon.post(f"{db}/_bulk_docs", json={"docs": [{"_id": "x"}]}), 401)
    assert_error(anon.put(f"{db}/x", json={"a": 1}), 401)
    assert_error(anon.delete(db), 401)
    assert_error(anon.put("/db/other"), 401)
    assert_nothing_since(couch, db, before)
    assert_error(couch.get("/db/other"), 404)


def test_credentials_are_checked_on_every_path(app, db: str) -> None:
    anon = Couch(app.test_client(), auth=None)
    for path in ("_changes", "_all_docs", "_local/x", "doc", "doc/att.txt", "_design/d"):
        assert_error(anon.get(f"{db}/{path}"), 401, "unauthorized")
    assert basic("a", "b")["Authorization"].startswith("Basic ")


# -- methods ------------------------------------------------------------------------
def test_unknown_methods_are_405(couch: Couch, db: str) -> None:
    assert_error(couch.request("PATCH", db), 405)
    assert_error(couch.request("PUT", f"{db}/_changes"), 405)
    assert_error(couch.request("DELETE", f"{db}/_all_docs"), 405)
    assert_error(couch.get(f"{db}/_bulk_docs"), 405)
    assert_error(couch.get(f"{db}/_revs_diff"), 405)
    assert_error(couch.get(f"{db}/_bulk_get"), 405)
    assert_error(couch.get(f"{db}/_ensure_full_commit"), 405)
    assert_error(couch.post("/"), 405)
    assert_error(couch.request("PATCH", f"{db}/doc"), 405)
    assert_error(couch.request("POST", f"{db}/doc"), 405)


def test_unknown_paths_are_404(couch: Couch, db: str) -> None:
    assert_error(couch.get("/nowhere"), 404, "not_found")
    assert_error(couch.get(f"{db}/_changes/extra"), 404, "not_found")
    assert_error(couch.get(f"{db}/no-such-doc"), 404, "not_found")
