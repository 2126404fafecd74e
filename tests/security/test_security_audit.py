"""The audit trail cannot be written through any endpoint, by anyone: admins included.

The server appends to ``_audit``; nothing else may. Every write route of the
replication protocol on ``/db/_audit`` (the only path that names a system
scope) is tried by the admin, a coordinator, a worker and nobody logged in,
with the ways a path can be spelt; each is answered ``403`` and the trail is
exactly as it was (its update sequence, the entry's revision and body). The
admin may still read it (a backup replicates it); nobody else may.
"""

from __future__ import annotations

import pytest
from conftest import ADMIN, World, basic

from sync.audit import AUDIT_SCOPE

WHO = {
    "the admin": lambda: basic(*ADMIN),
    "a coordinator": lambda: basic("oyunaa"),
    "a worker": lambda: basic("bolormaa"),
    "nobody": lambda: {},
}


@pytest.fixture(scope="module")
def entry(world: World) -> dict:
    eid = world.svc.audit.record(actor="oyunaa", action="quarantine.discarded", scope="uvs-tes",
                                 doc_id="uvs-tes:sub:x", reason="MARKER-AUDIT")
    return world.svc.store.open(AUDIT_SCOPE).get(eid)


def writes(eid: str, rev: str) -> dict[str, tuple[str, str, dict]]:
    forged = {"_id": eid, "_rev": rev, "type": "audit", "actor": "mallory", "action": "nothing"}
    gen, rev_id = rev.split("-", 1)
    pushed = {**forged, "_rev": f"{int(gen) + 1}-{'e' * 32}", "_revisions": {"start": int(gen) + 1,
                                                                              "ids": ["e" * 32, rev_id]}}
    return {
        "PUT a document over an entry": ("PUT", f"/db/_audit/{eid}", {"json": forged}),
        "DELETE an entry": ("DELETE", f"/db/_audit/{eid}?rev={rev}", {}),
        "_bulk_docs": ("POST", "/db/_audit/_bulk_docs", {"json": {"docs": [forged]}}),
        "_bulk_docs as a replicator": ("POST", "/db/_audit/_bulk_docs", {"json": {"docs": [pushed],
                                                                                  "new_edits": False}}),
        "_bulk_docs deleting": ("POST", "/db/_audit/_bulk_docs", {"json": {"docs": [{**forged, "_deleted": True}]}}),
        "POST a new entry": ("POST", "/db/_audit", {"json": {"type": "audit", "actor": "mallory"}}),
        "POST a new entry, trailing slash": ("POST", "/db/_audit/", {"json": {"type": "audit"}}),
        "PUT a new entry of another area": ("PUT", "/db/_audit/ovr-kharkhorin:01KZZZZZZZZZZZZZZZZZZZZZZZ", {"json": {"a": 1}}),
        "PUT an attachment": ("PUT", f"/db/_audit/{eid}/note.txt?rev={rev}",
                              {"data": b"x", "content_type": "text/plain"}),
        "PUT a _local document": ("PUT", "/db/_audit/_local/x", {"json": {"a": 1}}),
        "PUT a _local document, slash encoded": ("PUT", "/db/_audit/_local%2Fx", {"json": {"a": 1}}),
        "DELETE a _local document": ("DELETE", "/db/_audit/_local/fieldsync-epoch", {}),
        "PUT a design document": ("PUT", "/db/_audit/_design/x", {"json": {"views": {}}}),
        "_revs_diff (a push's first step)": ("POST", "/db/_audit/_revs_diff", {"json": {eid: ["9-abc"]}}),
        "_ensure_full_commit": ("POST", "/db/_audit/_ensure_full_commit", {}),
        "DELETE the scope": ("DELETE", "/db/_audit", {}),
        "DELETE the scope, trailing slash": ("DELETE", "/db/_audit/", {}),
        "PUT the scope": ("PUT", "/db/_audit", {}),
        "COPY an entry": ("COPY", f"/db/_audit/{eid}", {"headers": {"Destination": "copied"}}),
    }


ATTEMPTS = list(writes("e", "1-a"))


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("attempt", ATTEMPTS)
def test_nobody_writes_the_audit_trail(world: World, entry: dict, who: str, attempt: str) -> None:
    db = world.svc.store.open(AUDIT_SCOPE)
    seq, names = db.update_seq(), world.svc.store.names()
    method, path, kw = writes(entry["_id"], entry["_rev"])[attempt]
    headers = {**WHO[who](), **kw.pop("headers", {})}
    resp = world.client().open(path, method=method, headers=headers, **kw)
    assert resp.status_code == 403, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.get_json()["error"] == "forbidden"
    assert db.update_seq() == seq and world.svc.store.names() == names
    assert db.get(entry["_id"]) == entry


@pytest.mark.parametrize("who, status", [("a coordinator", 403), ("a worker", 403), ("nobody", 401)])
def test_only_the_admin_reads_it(world: World, entry: dict, who: str, status: int) -> None:
    client = world.client()
    assert client.get(f"/db/_audit/{entry['_id']}", headers=WHO[who]()).status_code == status
    assert client.post("/db/_audit/_all_docs", json={"keys": [entry["_id"]]},
                       headers=WHO[who]()).status_code == status
    mine = client.post("/db/_audit/_all_docs?include_docs=true", json={"keys": [entry["_id"]]},
                       headers=WHO["the admin"]())
    assert mine.status_code == 200 and mine.get_json()["rows"][0]["doc"]["reason"] == "MARKER-AUDIT"
    changes = client.get("/db/_audit/_changes?limit=1", headers=WHO["the admin"]())
    assert changes.status_code == 200
