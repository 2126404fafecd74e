"""A real PouchDB 9 replica pushes growth visits; the server's z-scores come back beside them.

The server is ``fieldsync serve`` on the demo data, so bolormaa (worker, Tes
soum), ganzorig (worker, Naranbulag soum) and oyunaa (coordinator, Uvs aimag)
exist and growth_visit is published. Bolormaa's device pushes three growth
visits; the server derives ``<area>:derived:<key>`` for each, and her next
pull brings them down without touching her own revisions. She then edits one
visit on the device (before or after pulling makes no difference: the server
never writes into her submission, so nothing conflicts), and the next sync
brings the recomputed values. The coordinator's replica gets them too, a
worker of another soum does not, and a forged derived document is refused.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import requests
from gate_helpers import PASSWORD, TES, new_key
from pouch import PouchReplica
from servers import BACKENDS, FieldsyncPeer, couch_url_for, fieldsync_demo_on

from programmes.growth_visit import derive
from sync.demo import growth_visit, submission
from sync.derived import derived_id

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=BACKENDS)
def demo_server(request) -> Iterator[FieldsyncPeer]:
    url = couch_url_for(request, request.param) if request.param != "sqlite" else None
    with fieldsync_demo_on(request.param, url) as peer:
        yield peer


def visit(seed: int, **answers) -> dict:
    data = growth_visit(random.Random(seed))
    data.update(answers)
    return submission(f"{TES}:sub:{new_key()}", "growth_visit", "bolormaa", data,
                      "2026-10-05T10:00:00+08:00")


def replica_url(peer: FieldsyncPeer, user: str) -> str:
    return f"http://{user}:{PASSWORD}@127.0.0.1:{peer.port}/sync/{user}"


def test_growth_visits_get_their_zscores_beside_them_on_every_replica(demo_server, new_replica):
    peer = demo_server
    url = replica_url(peer, "bolormaa")
    device: PouchReplica = new_replica()
    visits = [visit(1), visit(2), visit(3, oedema="yes")]
    written = device.bulk_docs(visits)
    revs = {r["id"]: r["rev"] for r in written}

    pushed = device.push(url, batch_size=50)
    assert pushed["errors"] == [] and pushed["denied"] == []
    assert pushed["result"]["docs_written"] == 3

    # On the server, read with her own credentials.
    server = requests.Session()
    server.auth = ("bolormaa", PASSWORD)
    for doc in visits:
        made = server.get(f"{peer.root}/sync/bolormaa/{derived_id(doc['_id'])}", timeout=30).json()
        assert made["about_rev"] == revs[doc["_id"]]
        assert made["derived"] == derive(doc["data"])
    sick = derive(visits[2]["data"])
    assert sick["zwei"] is None and sick["acute_malnutrition"] == "sam"

    # Her next pull brings the derived documents and leaves her revisions as they were.
    pulled = device.pull(url, batch_size=100)
    assert pulled["errors"] == [] and pulled["denied"] == []
    for doc in visits:
        on_device = device.get(doc["_id"], conflicts=True)
        assert on_device["_rev"] == revs[doc["_id"]] and "_conflicts" not in on_device
        assert "derived" not in on_device
        assert device.get(derived_id(doc["_id"]))["derived"] == derive(doc["data"])

    # She corrects a weight on the device and syncs: no conflict anywhere, new values.
    fixed = device.get(visits[0]["_id"])
    fixed["data"]["weight_kg"] = round(fixed["data"]["weight_kg"] + 1.2, 1)
    new_rev = device.put(fixed)["rev"]
    again = device.sync(url, batch_size=50)
    assert again["errors"] == [] and again["denied"] == []
    assert again["result"]["push"]["docs_written"] == 1
    again = device.pull(url, batch_size=100)  # what the server derived during that push
    on_device = device.get(visits[0]["_id"], conflicts=True)
    assert on_device["_rev"] == new_rev and "_conflicts" not in on_device
    derived = device.get(derived_id(visits[0]["_id"]), conflicts=True)
    assert "_conflicts" not in derived
    assert derived["about_rev"] == new_rev
    assert derived["derived"] == derive(fixed["data"])
    on_server = server.get(f"{peer.root}/sync/bolormaa/{visits[0]['_id']}?conflicts=true",
                           timeout=30).json()
    assert on_server["_rev"] == new_rev and "_conflicts" not in on_server

    # The soum's coordinator's replica has them; a worker of another soum's has none.
    coordinator = new_replica()
    assert coordinator.pull(replica_url(peer, "oyunaa"), batch_size=200)["errors"] == []
    for doc in visits:
        assert coordinator.get(derived_id(doc["_id"]))["about"] == doc["_id"]
    other = new_replica()
    assert other.pull(replica_url(peer, "ganzorig"), batch_size=200)["errors"] == []
    assert all(other.get_or_none(derived_id(doc["_id"])) is None for doc in visits)

    # A device cannot write derived values: PouchDB reports the refusal as denied.
    forged = device.get(derived_id(visits[1]["_id"]))
    forged["derived"] = {**forged["derived"], "stunting": "none", "zlen": 0.0}
    device.put(forged)
    report = device.push(url, batch_size=50)
    assert [d["id"] for d in report["denied"]] == [derived_id(visits[1]["_id"])]
    assert report["denied"][0]["reason"] == (
        "Derived values (such as z-scores) are computed by the server only.")
    truth = server.get(f"{peer.root}/sync/bolormaa/{derived_id(visits[1]['_id'])}", timeout=30).json()
    assert truth["derived"] == derive(visits[1]["data"])
