"""Real PouchDB 9 replicas meet the server's conflict handling, on both stores.

Two devices hold the same family record (a worker's phone and her tablet,
both syncing ``/sync/bolormaa``). Out of coverage each edits it from the
same revision. When edits are disjoint the server merges them as the second
push arrives, and after the next sync both devices hold the merged revision
with no ``_conflicts``: the merge is a child of the winner they both know and
the losing branch arrives deleted, so PouchDB's own winner rule has nothing
to choose between. When edits overlap, the coordinator resolves the
conflict through ``/api/conflicts`` and both devices converge the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from gate_helpers import PASSWORD, TES
from pouch import PouchReplica
from servers import BACKENDS, FieldsyncPeer, couch_url_for, fieldsync_demo_on

from sync import ids

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=BACKENDS)
def demo_server(request) -> Iterator[FieldsyncPeer]:
    url = couch_url_for(request, request.param) if request.param != "sqlite" else None
    with fieldsync_demo_on(request.param, url) as peer:
        yield peer


def clean(report: dict) -> dict:
    assert report["errors"] == [] and report["denied"] == [], (report["errors"], report["denied"])
    return report


def two_devices(peer: FieldsyncPeer, new_replica) -> tuple[str, PouchReplica, PouchReplica, str]:
    """A phone and a tablet of bolormaa's, both holding the same family record."""
    url = f"http://bolormaa:{PASSWORD}@127.0.0.1:{peer.port}/sync/bolormaa"
    phone, tablet = new_replica(), new_replica()
    doc_id = f"{TES}:fam:{ids.new_ulid()}"
    phone.put({"_id": doc_id, "type": "family", "name": "Батбаярын гэр бүл", "bag": "2-р баг",
               "remarks": "Өвөлжөөндөө бэлтгэлтэй.", "members": 4})
    clean(phone.sync(url))
    clean(tablet.sync(url))
    assert tablet.get(doc_id)["_rev"] == phone.get(doc_id)["_rev"]
    return url, phone, tablet, doc_id


def change(replica: PouchReplica, doc_id: str, **fields) -> str:
    doc = replica.get(doc_id)
    doc.update(fields)
    return replica.put(doc)["rev"]


def converge(url: str, *devices: PouchReplica) -> None:
    """Sync each device twice: push and pull run at once, so one round may miss the other's."""
    for _ in range(2):
        for device in devices:
            clean(device.sync(url))


def test_disjoint_edits_merge_by_themselves_and_every_device_converges(demo_server, new_replica):
    url, phone, tablet, doc_id = two_devices(demo_server, new_replica)
    change(phone, doc_id, bag="3-р баг")
    change(tablet, doc_id, remarks="Намар зуслангаас нүүсэн.")
    clean(phone.push(url))
    clean(tablet.push(url))

    converge(url, phone, tablet)
    views = [phone.get(doc_id, conflicts=True), tablet.get(doc_id, conflicts=True)]
    server = requests.get(f"{demo_server.root}/sync/oyunaa/{doc_id}", params={"conflicts": "true"},
                          auth=("oyunaa", PASSWORD), timeout=30).json()
    for doc in [*views, server]:
        assert "_conflicts" not in doc, doc
        assert doc["_rev"] == server["_rev"] and doc["_rev"].startswith("3-")
        assert (doc["bag"], doc["remarks"]) == ("3-р баг", "Намар зуслангаас нүүсэн.")


def test_overlapping_edits_resolved_by_the_coordinator_reach_both_devices(demo_server, new_replica):
    url, phone, tablet, doc_id = two_devices(demo_server, new_replica)
    change(phone, doc_id, remarks="Утаснаас: 5 ам бүл.", members=5)
    tablet_rev = change(tablet, doc_id, remarks="Таблетаас: 6 ам бүл.")
    converge(url, phone, tablet)
    # Overlapping: the conflict is still there, on the devices too.
    assert phone.get(doc_id, conflicts=True).get("_conflicts")

    coordinator = requests.Session()
    coordinator.auth = ("oyunaa", PASSWORD)
    listed = coordinator.get(f"{demo_server.root}/api/conflicts", params={"area": TES, "limit": 200},
                             timeout=30).json()["conflicts"]
    assert doc_id in [e["doc_id"] for e in listed]
    view = coordinator.get(f"{demo_server.root}/api/conflicts/{doc_id}", timeout=30).json()
    resolved = coordinator.post(f"{demo_server.root}/api/conflicts/{doc_id}/resolve",
                                json={"revs": view["revs"], "picks": {"/remarks": tablet_rev}}, timeout=30)
    assert resolved.status_code == 200, resolved.text

    converge(url, phone, tablet)
    for device in (phone, tablet):
        doc = device.get(doc_id, conflicts=True)
        assert "_conflicts" not in doc, doc
        assert doc["_rev"] == resolved.json()["rev"]
        assert (doc["remarks"], doc["members"]) == ("Таблетаас: 6 ам бүл.", 5)
