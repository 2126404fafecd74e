"""The sync monitor sees a real PouchDB 9 device as it syncs, on both stores.

PouchDB keeps one checkpoint per replication on the server: its pull's holds
a sequence of the user's replica, its push's the device's own. The monitor
shows both under the device, with the pull's backlog: zero right after a
sync, then what the coordinator wrote since, until the device pulls it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from gate_helpers import PASSWORD, TES
from pouch import wait_until
from servers import BACKENDS, FieldsyncPeer, couch_url_for, fieldsync_demo_on

from sync import ids

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=BACKENDS)
def demo_server(request) -> Iterator[FieldsyncPeer]:
    url = couch_url_for(request, request.param) if request.param != "sqlite" else None
    with fieldsync_demo_on(request.param, url) as peer:
        yield peer


def my_device(peer: FieldsyncPeer) -> dict | None:
    rows = requests.get(f"{peer.root}/api/sync-status", auth=("oyunaa", PASSWORD), timeout=60).json()
    [me] = [r for r in rows if r["name"] == "bolormaa"]
    return me["devices"][0] if len(me["devices"]) == 1 else None


def pull_backlog(peer: FieldsyncPeer, expected: int) -> int | None:
    """The pull replication's backlog once it is ``expected`` (another server process
    writes its share of the sync log within ``SyncLog.flush_seconds``, 5 s), else the
    last one seen."""
    seen = None

    def check() -> bool:
        nonlocal seen
        device = my_device(peer)
        pulls = [r for r in (device or {}).get("replications", []) if r["direction"] == "pull"]
        seen = pulls[0]["backlog"] if len(pulls) == 1 else None
        return seen == expected

    try:
        wait_until(check, timeout=10)
    except TimeoutError:
        pass  # the assertion shows what was seen
    return seen


def settled_device(peer: FieldsyncPeer, ok: Callable[[dict], bool]) -> dict | None:
    """The device's row once ``ok`` holds of it, within the sync log's flush; else the last seen."""
    seen = None

    def check() -> bool:
        nonlocal seen
        seen = my_device(peer)
        return seen is not None and ok(seen)

    try:
        wait_until(check, timeout=10)
    except TimeoutError:
        pass  # the assertions show what was seen
    return seen


def test_a_pouchdb_devices_push_pull_and_backlog(demo_server, new_replica):
    url = f"http://bolormaa:{PASSWORD}@127.0.0.1:{demo_server.port}/sync/bolormaa"
    device = new_replica()
    device.put({"_id": f"{TES}:fam:{ids.new_ulid()}", "type": "family", "name": "Дорж"})
    report = device.sync(url)
    assert report["errors"] == [] and report["denied"] == []
    report = device.sync(url)  # one more round: the pull has seen the push
    assert report["errors"] == []

    assert pull_backlog(demo_server, 0) == 0
    # The push may have been counted by the other gunicorn worker: its share arrives within
    # flush_seconds, like the backlog above.
    seen = settled_device(demo_server, lambda d: d["docs_up"] == 1)
    assert seen["user_agent"]
    assert seen["last_push"] and seen["last_pull"] and seen["docs_up"] == 1
    assert sorted(r["direction"] for r in seen["replications"]) == ["pull", "push"]

    coordinator = requests.post(
        f"{demo_server.root}/sync/oyunaa/_bulk_docs", auth=("oyunaa", PASSWORD), timeout=30,
        json={"docs": [{"_id": f"{TES}:fam:{ids.new_ulid()}", "type": "family", "name": n}
                       for n in ("Бат", "Болд", "Сүх")]})
    assert coordinator.status_code == 201
    assert pull_backlog(demo_server, 3) == 3

    assert device.pull(url)["errors"] == []
    assert pull_backlog(demo_server, 0) == 0
