"""``/api/conflicts`` over HTTP, on both stores: a worker's devices push
conflicting revisions to ``/sync/<user>``; disjoint ones are merged before the
push is answered, overlapping ones are listed for the area's coordinator, who
resolves them per field. Another aimag's coordinator gets ``404`` for all of
it; bad input gets a clear ``4xx`` and changes nothing.
"""

from __future__ import annotations

import json

import pytest
from conflict_helpers import edited, family, revision
from gate_helpers import PASSWORD, TES, basic
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from sync.demo import seed_demo


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("capi") / "data")
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


def call(client, method: str, path: str, user: str, body=None, **kw):
    headers = basic(user, PASSWORD)
    if body is not None:
        kw["data"] = json.dumps(body)
        kw.setdefault("content_type", "application/json")
    return client.open(path, method=method, headers=headers, **kw)


def push(client, docs: list[dict], user: str = "bolormaa") -> None:
    resp = call(client, "POST", f"/sync/{user}/_bulk_docs", user, {"docs": docs, "new_edits": False})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.json == [], resp.json


def server_doc(client, docid: str) -> dict:
    resp = call(client, "GET", f"/sync/oyunaa/{docid}?conflicts=true", "oyunaa")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json


def conflicted(client) -> tuple[dict, dict, dict]:
    first = revision(family())
    push(client, [first])
    a = edited(first, remarks="Бат: малаа тоолсон.", bag="4-р баг")
    b = edited(first, remarks="Dorj: moved to the autumn camp.")
    push(client, [a])
    push(client, [b])
    return first, a, b


def test_disjoint_edits_pushed_to_a_replica_are_merged_before_the_answer(client):
    first = revision(family())
    push(client, [first])
    push(client, [edited(first, bag="3-р баг")])
    push(client, [edited(first, members=7)])
    doc = server_doc(client, first["_id"])
    assert "_conflicts" not in doc and doc["bag"] == "3-р баг" and doc["members"] == 7


def test_overlapping_edits_are_listed_shown_and_resolved(client):
    first, a, b = conflicted(client)
    listed = call(client, "GET", "/api/conflicts?limit=200", "oyunaa").json
    [entry] = [e for e in listed["conflicts"] if e["doc_id"] == first["_id"]]
    assert entry["overlapping"] == ["/remarks"] and entry["scope"] == TES

    view = call(client, "GET", f"/api/conflicts/{first['_id']}", "oyunaa")
    assert view.status_code == 200
    fields = {f["field"]: f for f in view.json["fields"]}
    assert fields["/bag"]["suggested"] == a["_rev"] and fields["/remarks"]["suggested"] is None
    assert set(view.json["docs"]) == {a["_rev"], b["_rev"]}

    resp = call(client, "POST", f"/api/conflicts/{first['_id']}/resolve", "oyunaa",
                {"revs": view.json["revs"], "picks": {"/remarks": b["_rev"]}, "note": "Цэцэг асуусан"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    doc = server_doc(client, first["_id"])
    assert "_conflicts" not in doc and doc["_rev"] == resp.json["rev"]
    assert doc["remarks"] == b["remarks"] and doc["bag"] == "4-р баг"
    after = call(client, "GET", "/api/conflicts?limit=200", "oyunaa").json["conflicts"]
    assert first["_id"] not in [e["doc_id"] for e in after]
    assert call(client, "GET", f"/api/conflicts/{first['_id']}", "oyunaa").status_code == 404


def test_the_list_pages(client):
    made = {conflicted(client)[0]["_id"] for _ in range(3)}
    seen, after = [], None
    while True:
        url = "/api/conflicts?limit=2" + (f"&after={after}" if after else "")
        page = call(client, "GET", url, "oyunaa").json
        seen += [e["doc_id"] for e in page["conflicts"]]
        after = page["next"]
        if after is None:
            break
    assert made <= set(seen) and len(seen) == len(set(seen)) and seen == sorted(seen)


def test_another_aimags_coordinator_gets_404_for_everything(client):
    first, a, b = conflicted(client)
    other = "enkhjargal"  # Övörkhangai
    listed = call(client, "GET", "/api/conflicts?limit=200", other).json["conflicts"]
    assert first["_id"] not in [e["doc_id"] for e in listed]
    assert call(client, "GET", f"/api/conflicts?area={TES}", other).status_code == 404
    assert call(client, "GET", f"/api/conflicts/{first['_id']}", other).status_code == 404
    resp = call(client, "POST", f"/api/conflicts/{first['_id']}/resolve", other,
                {"revs": [a["_rev"], b["_rev"]], "picks": {"/remarks": a["_rev"]}})
    assert resp.status_code == 404
    assert "_conflicts" in server_doc(client, first["_id"])
    # A worker is not a coordinator at all.
    assert call(client, "GET", "/api/conflicts", "bolormaa").status_code == 403


@pytest.mark.parametrize("body, status", [
    ("not json", 400),
    ([], 400),
    ({"revs": "x", "picks": {}}, 400),
    ({"revs": ["STALE"], "picks": {"/remarks": "A"}}, 409),
    ({"revs": "OK", "picks": {"/remarks": "A"}, "colour": "red"}, 400),
    ({"revs": "OK", "picks": {"/remarks": "A"}, "note": "x" * 100_000}, 400),
    ({"revs": "OK", "picks": {"/remarks": "A"}, "note": 5}, 400),
    ({"revs": "OK", "picks": {"/nope": "A"}}, 400),
    ({"revs": "OK", "picks": "A"}, 400),
    ({"revs": "OK"}, 400),
])
def test_bad_resolutions_get_a_clear_4xx_and_change_nothing(client, body, status):
    first, a, b = conflicted(client)
    revs = [a["_rev"], b["_rev"]]

    def fill(value):
        if value == "OK":
            return revs
        if value == ["STALE"]:
            return [a["_rev"], "2-" + "f" * 32]
        if value == "A":
            return a["_rev"]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    before = server_doc(client, first["_id"])
    kw = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {}
    resp = call(client, "POST", f"/api/conflicts/{first['_id']}/resolve", "oyunaa",
                None if isinstance(body, str) else fill(body), **kw)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.json["error"] and resp.json["reason"]
    assert server_doc(client, first["_id"]) == before


def test_bad_list_parameters_are_400(client):
    for query in ("limit=0", "limit=abc", "limit=-3"):
        assert call(client, "GET", f"/api/conflicts?{query}", "oyunaa").status_code == 400
    assert call(client, "GET", "/api/conflicts/not-an-id", "oyunaa").status_code == 404
