"""A real PouchDB 9 replica meets the write gate, as a worker's phone does after a trip.

The server is ``fieldsync serve`` on the demo data (``fieldsync demo``), so the
worker bolormaa of Tes soum exists and the bundled forms are published. Her
device pushes a batch mixing valid and invalid submissions to
``/sync/bolormaa``: the valid ones are stored, each invalid one is refused
with a reason PouchDB reports as ``denied``, kept in the quarantine, and a
feedback document reaches the device on its next pull. Once she fixes a
document on the device and syncs again, it is accepted and the feedback says so.

The server's side is read over HTTP with her own credentials and, for the
quarantine (a system scope no worker reads), from the store directly. It runs
on both stores: SQLite files and the CouchDB store (on the session's
CouchDB-compatible server).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import requests
from gate_helpers import PASSWORD, PHOTO, TES, feedback_id, visit
from pouch import PouchReplica
from servers import BACKENDS, FieldsyncPeer, couch_url_for, fieldsync_demo_on

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=BACKENDS)
def demo_server(request) -> Iterator[FieldsyncPeer]:
    """`fieldsync demo` then `fieldsync serve` on the same store."""
    url = couch_url_for(request, request.param) if request.param != "sqlite" else None
    with fieldsync_demo_on(request.param, url) as peer:
        yield peer


def quarantined(peer: FieldsyncPeer, doc_id: str) -> list[dict]:
    svc = peer.services()
    try:
        return [e for e in svc.quarantine.list(None) if e["doc_id"] == doc_id]
    finally:
        svc.store.close()


def test_a_worker_pushes_a_mixed_batch_is_told_why_and_fixes_it(demo_server, new_replica):
    peer = demo_server
    url = f"http://bolormaa:{PASSWORD}@127.0.0.1:{peer.port}/sync/bolormaa"
    server = requests.Session()
    server.auth = ("bolormaa", PASSWORD)

    def on_server(doc_id: str) -> requests.Response:
        return server.get(f"{peer.root}/sync/bolormaa/{doc_id}", timeout=30)

    device: PouchReplica = new_replica()
    valid = [visit(seed=n) for n in range(4)]
    bad_size = visit(seed=10, household_size="many")
    bad_version = visit(seed=11, version=9)
    no_photo = visit(seed=12, dwelling_photo="ger.jpg")  # answered, but the photo is not attached
    invalid = [bad_size, bad_version, no_photo]
    written = device.bulk_docs(valid + invalid)
    assert all(r.get("ok") for r in written), written
    revs = {r["id"]: r["rev"] for r in written}

    report = device.push(url, batch_size=50)

    reasons = {
        bad_size["_id"]: "Form household_visit v1: household_size: Enter a whole number, such as 12.",
        bad_version["_id"]: "Form household_visit v9: form_version: Form 'household_visit' has no "
                            "published version 9.",
        no_photo["_id"]: "Form household_visit v1: dwelling_photo: The photo 'ger.jpg' did not arrive "
                         "with the submission; attach it again and sync.",
    }
    assert report["errors"] == []
    assert {d["id"]: d["reason"] for d in report["denied"]} == reasons
    assert {d["error"] for d in report["denied"]} == {"forbidden"}
    assert report["result"]["status"] == "complete"
    assert report["result"]["docs_written"] == len(valid)
    assert report["result"]["doc_write_failures"] == len(invalid)

    # The valid submissions are on the server with the device's revisions; the invalid are not.
    for doc in valid:
        response = on_server(doc["_id"])
        assert response.status_code == 200
        assert response.json()["_rev"] == revs[doc["_id"]]
    for doc in invalid:
        assert on_server(doc["_id"]).status_code == 404
        [entry] = quarantined(peer, doc["_id"])
        assert (entry["status"], entry["user"], entry["rev"]) == ("held", "bolormaa", revs[doc["_id"]])
        assert reasons[doc["_id"]].endswith(entry["reasons"][0]["message"])

    # On the next pull the device learns why, document by document.
    pulled = device.pull(url, batch_size=100)
    assert pulled["errors"] == [] and pulled["denied"] == []
    for doc in invalid:
        feedback = device.get(feedback_id(doc["_id"]))
        assert (feedback["type"], feedback["status"], feedback["about"]) == ("feedback", "refused", doc["_id"])
        assert feedback["rev"] == revs[doc["_id"]]
        assert reasons[doc["_id"]].endswith(feedback["reasons"][0]["message"])

    # She fixes two of them on the device and syncs again.
    fixed = device.get(bad_size["_id"])
    fixed["data"]["household_size"] = 9  # at least the members listed
    size_rev = device.put(fixed)["rev"]
    with_photo = device.get(no_photo["_id"])
    with_photo["_attachments"] = {"ger.jpg": {"content_type": "image/jpeg",
                                              "data": base64.b64encode(PHOTO).decode()}}
    photo_rev = device.put(with_photo)["rev"]

    again = device.sync(url, batch_size=50)
    assert again["errors"] == [] and again["denied"] == []
    assert again["result"]["push"]["docs_written"] == 2

    assert on_server(bad_size["_id"]).json()["_rev"] == size_rev
    assert on_server(no_photo["_id"]).json()["_rev"] == photo_rev
    photo = server.get(f"{peer.root}/sync/bolormaa/{no_photo['_id']}/ger.jpg", timeout=30)
    assert photo.content == PHOTO

    device.pull(url, batch_size=100)
    assert device.get(feedback_id(bad_size["_id"]))["status"] == "accepted"
    assert device.get(feedback_id(bad_size["_id"]))["rev"] == size_rev
    assert device.get(feedback_id(no_photo["_id"]))["status"] == "accepted"
    assert device.get(feedback_id(bad_version["_id"]))["status"] == "refused"  # still to be fixed
    assert all(doc_id.startswith(f"{TES}:") or doc_id.startswith("global:")
               for doc_id in device.revs())


def test_a_refusal_reaches_pouchdb_in_english_and_mongolian(demo_server, new_replica):
    """PouchDB keeps an error's other members: ``denied`` carries the texts per language."""
    url = f"http://bolormaa:{PASSWORD}@127.0.0.1:{demo_server.port}/sync/bolormaa"
    device: PouchReplica = new_replica()
    bad = visit(seed=20, household_size="many")
    device.bulk_docs([bad])
    report = device.push(url)
    [denied] = report["denied"]
    assert denied["reason"] == "Form household_visit v1: household_size: Enter a whole number, such as 12."
    assert denied["messages"] == {
        "en": denied["reason"],
        "mn": "Маягт household_visit v1: household_size: Бүхэл тоо оруулна уу, жишээ нь 12."}
    device.pull(url)
    feedback = device.get(feedback_id(bad["_id"]))
    assert feedback["summary"] == denied["messages"]
    assert feedback["reasons"][0]["messages"]["mn"] == "Бүхэл тоо оруулна уу, жишээ нь 12."
