"""The write gate: what a worker's device may write, and what happens to the rest.

Every submission must match the exact form version it names. A refused
document gets CouchDB's per-document ``forbidden`` error with a reason that
names fields and problems, is kept in the quarantine (one entry per revision,
attachments included), and a feedback document in its area tells the device
why; the valid documents of the same batch are stored all the same. Access
comes first: workers never write another area, reviews, feedback, ``global``,
design documents or someone else's submissions.

Each test runs on its own copy of the demo data (real SQLite files), through
``WriteGate`` / ``UserReplica`` as the server wires them, or over HTTP with a
real app. ``new_edits`` is parametrized: True is a plain client, False is a
replicator (PouchDB, CouchDB) sending revisions it made itself.
"""

from __future__ import annotations

import copy
import random
import time

import pytest
from gate_helpers import (
    EDITS,
    PHOTO,
    TES,
    as_sent,
    basic,
    checked,
    copy_of,
    entries_for,
    feedback_id,
    key_of,
    new_key,
    quarantine_db,
    seed_template,
    services_at,
    settings,
    state,
    visit,
    with_photo,
)

from schemas import bundled_forms
from server import create_app
from sync import records
from sync.clock import now_iso
from sync.demo import protection_referral, submission
from sync.errors import NotFound
from sync.replica.union import UserReplica


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return seed_template(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture
def data(template, tmp_path):
    return copy_of(template, tmp_path / "data")


@pytest.fixture
def svc(data):
    services = services_at(data)
    yield services
    services.store.close()


def write(svc, user: str, docs: list[dict], new_edits: bool, scope: str = TES) -> list[dict]:
    """A batch through the gate into one scope, as the server hands it over."""
    return svc.gate.write(svc.users.get(user), svc.store.open(scope), checked(docs, new_edits),
                          new_edits=new_edits)


def replica_write(svc, user: str, docs: list[dict], new_edits: bool) -> list[dict]:
    """A batch on ``/sync/<user>``: routed to scopes by id prefix, every part through the gate."""
    who = svc.users.get(user)
    replica = UserReplica(svc.store, who, who, svc.access, svc.gate)
    return replica.bulk_docs(checked(docs, new_edits), new_edits=new_edits)


def stored(svc, docid: str, scope: str = TES) -> dict | None:
    return records.read(svc.store.open(scope), docid)


def by_id(results: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in results}


def hv_definition(version: int, **changes) -> dict:
    form = copy.deepcopy(next(f for f in bundled_forms() if f["form"] == "household_visit"))
    return {**form, "version": version, **changes}


# -- a batch of valid and invalid submissions -------------------------------------------


@EDITS
def test_a_mixed_batch_stores_the_valid_and_refuses_the_invalid_field_by_field(svc, new_edits):
    good1, good2 = visit(seed=1), visit(seed=2)
    bad_size = visit(seed=3, household_size="many", dwelling="castle")
    no_date = visit(seed=4)
    del no_date["data"]["visit_date"]
    batch = [as_sent(d, new_edits) for d in (good1, bad_size, good2, no_date)]

    results = write(svc, "bolormaa", batch, new_edits)

    refused = {bad_size["_id"], no_date["_id"]}
    errors = [r for r in results if "error" in r]
    assert {r["id"] for r in errors} == refused
    if new_edits:  # one answer per document, in order
        assert [r["id"] for r in results] == [d["_id"] for d in batch]
        assert all(r.get("ok") for r in results if r["id"] not in refused)
    else:  # a replicator is only told about failures, with the revision it sent
        assert len(results) == 2
        assert {r["id"]: r["rev"] for r in results} == {d["_id"]: d["_rev"] for d in batch
                                                      if d["_id"] in refused}
    answers = by_id(errors)
    assert all(r["error"] == "forbidden" for r in errors)
    assert answers[bad_size["_id"]]["reason"] == (
        "Form household_visit v1: dwelling: 'castle' is not one of the choices; choose one of: "
        "ger, house, apartment, winter_shelter.; household_size: Enter a whole number, such as 12.")
    assert answers[no_date["_id"]]["reason"] == (
        "Form household_visit v1: visit_date: This question is required.")

    # The valid documents are stored as sent; the refused ones are not in the area.
    for doc in (good1, good2):
        assert stored(svc, doc["_id"])["data"] == doc["data"]
    for doc in (bad_size, no_date):
        assert stored(svc, doc["_id"]) is None

    # Each refused revision is in the quarantine, whole, with who, when and every reason.
    for doc, fields in ((bad_size, ["dwelling", "household_size"]), (no_date, ["visit_date"])):
        [entry] = entries_for(svc, doc["_id"])
        assert entry["_id"] == answers[doc["_id"]]["quarantine"]
        assert entry["status"] == "held"
        assert (entry["user"], entry["scope"]) == ("bolormaa", TES)
        assert entry["received_at"][:4] == now_iso()[:4]
        assert [r["field"] for r in entry["reasons"]] == fields
        assert entry["doc"]["data"] == doc["data"]
        assert entry["rev"] == (None if new_edits else
                                next(d["_rev"] for d in batch if d["_id"] == doc["_id"]))

        # ...and a feedback document in the area tells the device why.
        feedback = stored(svc, feedback_id(doc["_id"]))
        assert feedback["type"] == "feedback"
        assert feedback["about"] == doc["_id"]
        assert feedback["author"] == "bolormaa"
        assert feedback["status"] == "refused"
        assert feedback["reasons"] == entry["reasons"]
        assert feedback["quarantine"] == entry["_id"]
    assert stored(svc, feedback_id(good1["_id"])) is None


@EDITS
def test_the_same_refused_revision_sent_again_is_quarantined_once(svc, new_edits):
    bad = as_sent(visit(household_size=-3), new_edits)
    first = write(svc, "bolormaa", [bad], new_edits)
    feedback = stored(svc, feedback_id(bad["_id"]))

    # A sync that died half way sends the same batch again.
    again = write(svc, "bolormaa", [bad], new_edits)
    assert again == first
    assert len(entries_for(svc, bad["_id"])) == 1
    assert stored(svc, feedback_id(bad["_id"]))["_rev"] == feedback["_rev"]  # nothing new to tell

    # Another revision, still wrong, is another entry; the feedback moves on to it.
    other = as_sent(visit(key=key_of(bad["_id"]), household_size=-4), new_edits)
    [answer] = write(svc, "bolormaa", [other], new_edits)
    entries = entries_for(svc, bad["_id"])
    assert len(entries) == 2
    assert stored(svc, feedback_id(bad["_id"]))["quarantine"] == answer["quarantine"] != first[0]["quarantine"]


@EDITS
def test_a_fixed_revision_is_accepted_and_the_feedback_says_so(svc, new_edits):
    bad = visit(household_size="many")
    sent = as_sent(bad, new_edits)
    [refusal] = write(svc, "bolormaa", [sent], new_edits)
    assert refusal["error"] == "forbidden"

    fixed = copy.deepcopy(bad)
    fixed["data"]["household_size"] = 4
    fixed = as_sent(fixed, new_edits, parents=[] if new_edits else [sent["_rev"]])
    results = write(svc, "bolormaa", [fixed], new_edits)

    assert [r for r in results if "error" in r] == []
    doc = stored(svc, bad["_id"])
    assert doc["data"]["household_size"] == 4
    if not new_edits:
        assert doc["_rev"] == fixed["_rev"]
    feedback = stored(svc, feedback_id(bad["_id"]))
    assert feedback["status"] == "accepted"
    assert feedback["rev"] == doc["_rev"]
    [entry] = entries_for(svc, bad["_id"])  # the refused revision is still kept...
    assert entry["status"] == "superseded"  # ...but needs no coordinator's decision any more


# -- which form version --------------------------------------------------------------------


@pytest.mark.parametrize("change, reason", [
    ({"form": "sheep_census"}, "form_version: Form 'sheep_census' has no published version 1."),
    ({"form_version": 7}, "form_version: Form 'household_visit' has no published version 7."),
    ({"form_version": 2}, "form_version: Form 'household_visit' has no published version 2."),  # a draft
    ({"form_version": "1"}, "form_version: A submission must name its form version (a whole number)."),
    ({"form": None}, "form: A submission must name its form."),
], ids=["unknown-form", "unknown-version", "draft-version", "version-as-text", "no-form"])
def test_a_submission_must_name_a_published_form_version(svc, change, reason):
    svc.forms.publish(hv_definition(2), status="draft")
    doc = {**visit(), **change}
    [answer] = write(svc, "bolormaa", [doc], True)
    assert answer["error"] == "forbidden"
    assert answer["reason"].endswith(reason)
    assert stored(svc, doc["_id"]) is None
    assert len(entries_for(svc, doc["_id"])) == 1


def test_a_published_version_is_used_once_the_draft_is_published(svc):
    svc.forms.publish(hv_definition(2), status="draft")
    [refused] = write(svc, "bolormaa", [visit(version=2)], True)
    assert refused["error"] == "forbidden"
    svc.forms.publish(hv_definition(2))
    [accepted] = write(svc, "bolormaa", [visit(version=2)], True)
    assert accepted.get("ok") is True


def test_a_retired_version_is_accepted_during_its_grace_period(svc):
    svc.forms.retire("household_visit", 1, grace_days=30)
    after_retirement = visit(created_at=now_iso())
    [answer] = write(svc, "bolormaa", [after_retirement], True)
    assert answer.get("ok") is True


def test_after_the_grace_period_only_submissions_already_in_flight_are_accepted(svc):
    [retired] = svc.forms.retire("household_visit", 1, grace_days=0)
    time.sleep(0.01)  # the grace period (none) is over
    filled_before = visit(created_at="2026-10-05T10:00:00+08:00")  # on a device, offline
    filled_after = visit(created_at=now_iso())  # on a device that never got the new form
    assert filled_before["created_at"] < retired["retired_at"] < filled_after["created_at"]

    results = by_id(write(svc, "bolormaa", [filled_before, filled_after], True))

    assert results[filled_before["_id"]].get("ok") is True
    assert results[filled_after["_id"]]["error"] == "forbidden"
    assert results[filled_after["_id"]]["reason"] == (
        f"Form household_visit v1: form_version: Form 'household_visit' version 1 was retired on "
        f"{retired['retired_at'][:10]}; update the form on the device.")


# -- attachments ----------------------------------------------------------------------------


def referral(consent_form: str | None) -> dict:
    data = protection_referral(random.Random(1))
    data["consent_obtained"] = "yes"
    if consent_form:
        data["consent_form"] = consent_form
    return submission(f"{TES}:sub:{new_key()}", "child_protection_referral", "bolormaa", data,
                      "2026-10-12T10:00:00+08:00")


@EDITS
def test_an_image_field_needs_its_photo_attached(svc, new_edits):
    no_answer = referral(None)
    not_attached = referral("consent.jpg")
    not_a_photo = with_photo(referral("consent.jpg"), "consent.jpg", "text/plain", field=None)
    complete = with_photo(referral("consent.jpg"), "consent.jpg", field=None)
    batch = [as_sent(d, new_edits) for d in (no_answer, not_attached, not_a_photo, complete)]

    results = by_id(write(svc, "bolormaa", batch, new_edits))

    prefix = "Form child_protection_referral v1: consent_form: "
    assert results[no_answer["_id"]]["reason"] == prefix + "This question is required."
    assert results[not_attached["_id"]]["reason"] == (
        prefix + "The photo 'consent.jpg' did not arrive with the submission; attach it again and sync.")
    assert results[not_a_photo["_id"]]["reason"] == (
        prefix + "The attachment 'consent.jpg' is not a photo (text/plain).")
    assert complete["_id"] not in results or results[complete["_id"]].get("ok")
    _, body = svc.store.open(TES).get_attachment(complete["_id"], "consent.jpg")
    assert body == PHOTO


@EDITS
def test_a_refused_documents_photos_are_kept_in_the_quarantine(svc, new_edits):
    doc = with_photo(visit(household_size="many"))
    [answer] = write(svc, "bolormaa", [as_sent(doc, new_edits)], new_edits)
    assert answer["error"] == "forbidden"

    entry = svc.quarantine.get(answer["quarantine"])
    assert entry["doc"]["_attachments"]["dwelling.jpg"]["content_type"] == "image/jpeg"
    info, body = quarantine_db(svc).get_attachment(entry["_id"], "dwelling.jpg")
    assert body == PHOTO
    assert info["content_type"] == "image/jpeg"
    original = svc.quarantine.original(entry["_id"])
    assert original["_attachments"]["dwelling.jpg"]["data"] == PHOTO
    assert original["data"] == doc["data"]


# -- access: what a worker may not write ------------------------------------------------------


@pytest.fixture
def field_data(svc):
    """bolormaa has a stored and a refused submission in uvs-tes; tsetseg (whose soum
    batbold also works in) has a stored one in ovr-kharkhorin."""
    mine = visit()
    refused = visit(household_size="many")
    theirs = visit("ovr-kharkhorin", "tsetseg")
    write(svc, "bolormaa", [mine, refused], True)
    write(svc, "tsetseg", [theirs], True, scope="ovr-kharkhorin")
    assert stored(svc, feedback_id(refused["_id"]))["status"] == "refused"
    return {"mine": stored(svc, mine["_id"]), "refused": refused,
            "theirs": stored(svc, theirs["_id"], "ovr-kharkhorin")}


def _other_area(d):
    return "bolormaa", visit("uvs-naranbulag", "bolormaa"), "You are not assigned to area 'uvs-naranbulag'."


def _review(d):
    key = key_of(d["refused"]["_id"])  # a review shares its submission's key, as feedback does
    return ("bolormaa", {"_id": f"{TES}:review:{key}", "type": "review", "status": "approved"},
            "Only coordinators review submissions.")


def _feedback(d):
    return ("bolormaa", {"_id": feedback_id(d["refused"]["_id"]), "type": "feedback", "status": "accepted"},
            "Feedback documents are written by the server only.")


def _global(d):
    form = hv_definition(1, _id="global:form:household_visit:1", type="form", status="published")
    return "bolormaa", form, "Forms and areas are changed by admins only."


def _design(d):
    return ("bolormaa", {"_id": "_design/mine", "views": {}},
            "Only admins write design documents, into a scope at /db/<scope>.")


def _someone_elses(d):
    theirs = copy.deepcopy(d["theirs"])
    theirs["author"] = "batbold"
    theirs["data"]["remarks"] = "changed by batbold"
    return ("batbold", theirs,
            f"Submission {theirs['_id']!r} belongs to another user; you cannot change it.")


def _unknown_kind(d):
    return "bolormaa", {"_id": f"{TES}:note:{new_key()}"}, "Unknown document kind 'note'; use sub, fam, kg, child, fes or case."


@EDITS
@pytest.mark.parametrize("case", [_other_area, _review, _feedback, _global, _design, _someone_elses,
                                  _unknown_kind],
                         ids=["other-area", "review", "feedback", "global", "design", "someone-elses",
                              "unknown-kind"])
def test_a_worker_cannot_write_what_is_not_theirs(svc, field_data, case, new_edits):
    user, doc, reason = case(field_data)
    scopes = ["global", TES, "uvs-naranbulag", "ovr-kharkhorin"]
    before = {s: state(svc.store.open(s)) for s in scopes}
    parents = [doc.pop("_rev")] if "_rev" in doc and not new_edits else []
    sent = as_sent(doc, new_edits, parents=parents)  # an edit: a child of the stored revision

    [answer] = replica_write(svc, user, [sent], new_edits)

    assert answer["error"] == "forbidden"
    assert answer["id"] == doc["_id"]
    assert answer["reason"] == reason
    assert {s: state(svc.store.open(s)) for s in scopes} == before  # not a byte written anywhere
    [entry] = entries_for(svc, doc["_id"])
    assert entry["user"] == user
    [held] = entry["reasons"]
    assert (held["field"], held["message"], held["messages"]["en"]) == ("", reason, reason)
    # The worker's device gets the same in Mongolian, beside the reason CouchDB clients read.
    assert held["messages"]["mn"] and held["messages"]["mn"] != reason
    assert answer["messages"] == {"en": reason, "mn": held["messages"]["mn"]}


def test_a_submission_signed_with_another_name_is_refused_and_its_sender_told(svc):
    doc = visit("ovr-kharkhorin", "tsetseg")
    [answer] = replica_write(svc, "batbold", [doc], True)
    assert answer["reason"] == "A submission's author must be you ('batbold'), not 'tsetseg'."
    assert stored(svc, doc["_id"], "ovr-kharkhorin") is None
    feedback = stored(svc, feedback_id(doc["_id"]), "ovr-kharkhorin")
    assert (feedback["author"], feedback["status"]) == ("batbold", "refused")


def test_the_gate_refuses_an_id_of_another_area_in_a_scope(svc):
    doc = visit("uvs-naranbulag", "bolormaa")
    [answer] = write(svc, "bolormaa", [doc], True)  # straight into uvs-tes, bypassing routing
    assert answer["reason"] == "Document 'uvs-naranbulag:sub:" + key_of(doc["_id"]) + \
        "' belongs to area 'uvs-naranbulag', not 'uvs-tes'."
    with pytest.raises(NotFound):
        svc.store.open(TES).get(doc["_id"])


# -- over HTTP: /sync/<worker> ------------------------------------------------------------------


@pytest.fixture
def client(data):
    app = create_app(settings(data))
    app.testing = True
    return app.test_client()


def bulk(client, user: str, docs: list[dict], new_edits: bool):
    return client.post(f"/sync/{user}/_bulk_docs", json={"docs": docs, "new_edits": new_edits},
                       headers=basic(user))


def get(client, user: str, docid: str):
    return client.get(f"/sync/{user}/{docid}", headers=basic(user))


@EDITS
def test_bulk_docs_on_a_workers_replica_over_http(client, new_edits):
    good = visit(seed=1)
    bad = with_photo(visit(seed=2, household_size="many"))
    elsewhere = visit("uvs-naranbulag", "bolormaa", seed=3)
    batch = [as_sent(d, new_edits) for d in (good, bad, elsewhere)]

    response = bulk(client, "bolormaa", batch, new_edits)

    assert response.status_code == 201
    answers = by_id(response.get_json())
    assert set(answers) == ({good["_id"]} if new_edits else set()) | {bad["_id"], elsewhere["_id"]}
    assert answers[bad["_id"]]["error"] == "forbidden"
    assert answers[bad["_id"]]["reason"] == (
        "Form household_visit v1: household_size: Enter a whole number, such as 12.")
    assert answers[elsewhere["_id"]]["reason"] == "You are not assigned to area 'uvs-naranbulag'."
    if not new_edits:
        assert answers[bad["_id"]]["rev"] == batch[1]["_rev"]

    assert get(client, "bolormaa", good["_id"]).status_code == 200
    assert get(client, "bolormaa", bad["_id"]).status_code == 404

    # The author pulls the feedback; the worker of another soum cannot see it.
    fid = feedback_id(bad["_id"])
    feedback = get(client, "bolormaa", fid).get_json()
    assert (feedback["status"], feedback["about"]) == ("refused", bad["_id"])
    assert feedback["reasons"] == [{"field": "household_size", "message": "Enter a whole number, such as 12.",
                                    "messages": {"en": "Enter a whole number, such as 12.",
                                                 "mn": "Бүхэл тоо оруулна уу, жишээ нь 12."}}]
    assert feedback["summary"] == {
        "en": "Form household_visit v1: household_size: Enter a whole number, such as 12.",
        "mn": "Маягт household_visit v1: household_size: Бүхэл тоо оруулна уу, жишээ нь 12."}
    changes = client.get("/sync/bolormaa/_changes", headers=basic("bolormaa")).get_json()
    assert fid in {row["id"] for row in changes["results"]}
    assert get(client, "ganzorig", fid).status_code == 404
    assert client.get(f"/sync/oyunaa/{fid}", headers=basic("oyunaa")).status_code == 200  # coordinator

    # The worker fixes the visit on the device and syncs again.
    fixed = copy.deepcopy(bad)
    fixed["data"]["household_size"] = 5
    fixed = as_sent(fixed, new_edits, parents=[] if new_edits else [batch[1]["_rev"]])
    again = bulk(client, "bolormaa", [fixed], new_edits).get_json()
    assert [a for a in again if "error" in a] == []
    assert get(client, "bolormaa", bad["_id"]).get_json()["data"]["household_size"] == 5
    assert get(client, "bolormaa", fid).get_json()["status"] == "accepted"


def test_an_admin_writing_a_scope_directly_passes_the_gate_too(client):
    bad = visit(household_size="many")
    response = client.post(f"/db/{TES}/_bulk_docs", json={"docs": [bad]}, headers=basic("admin"))
    assert response.status_code == 201
    [answer] = response.get_json()
    assert answer["error"] == "forbidden"
    assert client.get(f"/db/{TES}/{bad['_id']}", headers=basic("admin")).status_code == 404
