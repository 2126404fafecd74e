"""A refusal in the worker's language: English and Mongolian side by side.

The ``reason`` CouchDB clients read stays one English string; beside it,
``messages`` holds the texts per language, in the ``forbidden`` answer of a
push or a single write, in the quarantine entry and in the feedback
document the device pulls (``summary`` and each reason's ``messages``).
Where the form author wrote a ``constraint_message`` per language, that is
what the worker reads. Over HTTP, on both stores.
"""

from __future__ import annotations

import json

import pytest
from conflict_helpers import revision
from gate_helpers import PASSWORD, TES, basic, visit
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from sync import ids
from sync.demo import seed_demo


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("lang") / "data")
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app.test_client()
    close_app(app)


def push(client, docs: list[dict], user: str = "bolormaa") -> list[dict]:
    resp = client.post(f"/sync/{user}/_bulk_docs", headers=basic(user, PASSWORD),
                       data=json.dumps({"docs": docs, "new_edits": False}), content_type="application/json")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json


def test_a_broken_rule_is_told_in_the_forms_own_words_in_both_languages(client):
    members = visit()["data"]["members"]
    doc = revision(visit(household_size=len(members) - 1 if len(members) > 1 else 0))
    [answer] = push(client, [doc])
    assert answer["error"] == "forbidden"
    assert answer["reason"] == ("Form household_visit v1: household_size: "
                                "Fewer people than members listed below.")
    assert answer["messages"] == {
        "en": answer["reason"],
        "mn": "Маягт household_visit v1: household_size: Доор бүртгэсэн гишүүдийн тооноос бага байна."}

    fid = ids.feedback_id(doc["_id"])
    feedback = client.get(f"/sync/bolormaa/{fid}", headers=basic("bolormaa", PASSWORD)).json
    assert feedback["summary"] == answer["messages"]
    assert feedback["reasons"][0]["messages"]["mn"] == "Доор бүртгэсэн гишүүдийн тооноос бага байна."


def test_the_catalogue_speaks_mongolian_where_the_form_is_silent(client):
    [answer] = push(client, [revision(visit(household_size="many"))])
    assert answer["messages"]["mn"].endswith("household_size: Бүхэл тоо оруулна уу, жишээ нь 12.")


def test_access_denials_come_in_both_languages(client):
    review = {"_id": f"{TES}:review:{ids.new_ulid()}", "type": "review", "state": "approved"}
    [answer] = push(client, [revision(review)])
    assert answer["reason"] == "Only coordinators review submissions."
    assert answer["messages"]["mn"] == "Илгээлтийг зөвхөн зохицуулагч хянана."
    elsewhere = revision(visit("uvs-naranbulag"))
    [answer] = push(client, [elsewhere])
    assert answer["messages"] == {"en": "You are not assigned to area 'uvs-naranbulag'.",
                                  "mn": "Таныг 'uvs-naranbulag' нутагт хуваарилаагүй байна."}


def test_a_single_refused_write_carries_both_languages_too(client):
    doc = visit(version=9)
    resp = client.put(f"/sync/bolormaa/{doc['_id']}", headers=basic("bolormaa", PASSWORD),
                      data=json.dumps({k: v for k, v in doc.items() if k != "_id"}),
                      content_type="application/json")
    assert resp.status_code == 403
    body = resp.json
    assert body["error"] == "forbidden"
    assert body["reason"] == ("Form household_visit v9: form_version: "
                              "Form 'household_visit' has no published version 9.")
    assert body["messages"]["mn"] == ("Маягт household_visit v9: form_version: "
                                      "'household_visit' маягтад нийтлэгдсэн 9-р хувилбар байхгүй.")
