"""Revocation with Apache CouchDB's own replicator, not only PouchDB.

``POST /_replicate`` pulls a worker's ``/sync/<user>`` into a CouchDB database (a
CouchDB-based device, or an office copy), the worker is moved to another soum, and
the next replication takes the old soum's documents off that database; replicating
back sends nothing and deletes nothing. The replicator speaks to fieldsync over
HTTP whatever store fieldsync keeps, and the PouchDB tests
(``test_user_replica_pouchdb.py``) run the same mechanism on every store, so this
one runs on the SQLite store only (CouchDB's replicator being the point here).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
import requests
from servers import FieldsyncPeer, fieldsync_demo_on
from test_user_replica_pouchdb import server_docs, url, visible_revs

from sync.demo import DEMO_PASSWORD

pytestmark = pytest.mark.interop
ADMIN = ("admin", DEMO_PASSWORD)


@pytest.fixture(scope="module")
def server() -> Iterator[FieldsyncPeer]:
    with fieldsync_demo_on("sqlite") as peer:
        yield peer


def test_the_couchdb_replicator_takes_a_lost_soum_off_its_target_too(server: FieldsyncPeer, couchdb_node_url) -> None:
    """The same mechanism for CouchDB's own replicator (``POST /_replicate``) pulling the replica
    into a CouchDB database, as a CouchDB-based device or an office copy would."""
    name = f"tumen{random.randrange(10**6)}"
    made = requests.post(f"{server.root}/api/users", auth=ADMIN, json={
        "name": name, "role": "worker", "areas": ["uvs-tes"], "password": DEMO_PASSWORD})
    assert made.status_code == 201, made.text
    couch = couchdb_node_url.rstrip("/")
    target = f"copy_{name}"
    assert requests.put(f"{couch}/{target}").status_code in (201, 202)
    parts = requests.utils.urlparse(couch)
    job = {"source": url(server, name), "target": f"{parts.scheme}://{parts.netloc}/{target}"}

    def run(body: dict) -> requests.Response:
        done = requests.post(f"{couch}/_replicate", json=body, timeout=120)
        if done.status_code == 500 and "sel_conn_closed" in done.text:
            # The replicator logs in at /_session over a pooled connection the server closed
            # while idle, and does not retry that POST (a transport matter, not revocation's):
            # run the job again, as CouchDB's _replicator database would.
            done = requests.post(f"{couch}/_replicate", json=body, timeout=120)
        return done

    def replicate() -> dict:
        done = run(job)
        assert done.status_code == 200 and done.json().get("ok"), done.text
        return {r["id"]: r["value"]["rev"] for r in requests.get(f"{couch}/{target}/_all_docs").json()["rows"]}

    try:
        held = replicate()
        tes = {i: r for i, r in visible_revs(server, name).items() if i.startswith("uvs-tes:")}
        assert tes and {i: held.get(i) for i in tes} == tes
        on_server = server_docs(server, "uvs-tes")
        moved = requests.patch(f"{server.root}/api/users/{name}", json={"areas": ["uvs-zavkhan"]}, auth=ADMIN)
        assert moved.status_code == 200, moved.text
        held = replicate()
        assert not any(i.startswith("uvs-tes:") for i in held)
        assert {i: r for i, r in held.items() if i.startswith("uvs-zavkhan:")} == \
            {i: r for i, r in visible_revs(server, name).items() if i.startswith("uvs-zavkhan:")}
        # Replicated back, the tombstones are known to the replica: nothing is sent, nothing deleted.
        back = run({"source": job["target"], "target": job["source"]})
        assert back.status_code == 200 and back.json().get("ok"), back.text
        answer = back.json()
        assert answer.get("no_changes") or answer["history"][0]["docs_written"] == 0, answer
        assert server_docs(server, "uvs-tes") == on_server
    finally:
        requests.delete(f"{couch}/{target}")
