"""Real PouchDB 9 devices and child protection cases (issue 19.5), on SQLite and on CouchDB.

``fieldsync serve`` on the demo's areas, users and a few submissions a soum,
with the demo's cases opened from its referrals (sync/demo_cases.py) and one
more: in Kharkhorin tsetseg's high-risk case has batbold on its team, her
low-risk one does not. batbold works in the same soum (and in Bat-Ölzii):
after a full pull of his replica his device holds the first case and never
the second; dolgor, a second coordinator of Kharkhorin added here, assigned
to none, gets neither. A team member's edit pushed from the device is stored
and reaches the other member's next pull; a change of the team pushed by a
team member (not the coordinator) is denied with its reason and not stored; a member the coordinator
takes off the team loses the case from his device on his next pull.

A referral seen as its case is (sync.referral_cases, sync.replica.union): one
stored before its case opened, with a review, reaches every coordinator of
the soum; once its case opens, a coordinator off the case loses both from
his device on his next pull and a fresh device of his never gets them, the
author keeps them, a worker put on the team gets them and loses them (with
the case) when taken off; what the devices push back deletes nothing.
On every store: SQLite, one CouchDB node, a 3-node cluster.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from eventual import wait_until
from pouch import PouchReplica
from servers import (
    BACKENDS,
    FieldsyncPeer,
    couch_url_for,
    fieldsync_couchdb_server,
    fieldsync_server,
)

from sync import cases
from sync.demo import DEMO_PASSWORD, demo_ulid, protection_referral, seed_demo, submission
from sync.demo_cases import seed_cases

pytestmark = pytest.mark.interop
AREA = "ovr-kharkhorin"


@pytest.fixture(scope="module", params=BACKENDS)
def server(request) -> Iterator[FieldsyncPeer]:
    """A small demo (8 submissions a soum; ``fieldsync demo``'s programmes take half a minute)."""
    started = (fieldsync_server() if request.param == "sqlite"
               else fieldsync_couchdb_server(couch_url_for(request, request.param)))
    with started as peer:
        svc = peer.services()
        try:
            seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=8)
            assert seed_cases(svc.store, svc.areas.tree(), list(svc.users.list()), demo_ulid) > 0
            alone = cases.new_case(AREA, "01KCASEALONE00000000000001", author="tsetseg", coordinator="enkhjargal",
                                   risk="low", team=["tsetseg"], data={"narrative": "Нууц"})
            assert "rev" in svc.store.open(AREA).bulk_docs([alone])[0]
            svc.users.add("dolgor", "coordinator", [AREA], DEMO_PASSWORD)  # assigned to no case
        finally:
            svc.store.close()
        yield peer


def url(peer: FieldsyncPeer, user: str) -> str:
    return f"http://{user}:{DEMO_PASSWORD}@127.0.0.1:{peer.port}/sync/{user}"


def stored_cases(peer: FieldsyncPeer) -> dict[str, dict]:
    store = peer.open_store()
    try:
        return {c["_id"]: c for c in cases.area_cases(store.open(AREA))}
    finally:
        store.close()


def finished(report: dict, *, denied: int = 0) -> dict:
    assert report["errors"] == [], report["errors"]
    assert len(report["denied"]) == denied, report["denied"]
    assert report["result"]["status"] == "complete", report["result"]
    return report


def pulled(node_driver, tmp_path_factory, peer: FieldsyncPeer, user: str) -> PouchReplica:
    device = node_driver.open_replica(tmp_path_factory.mktemp(user) / "device")
    device.replicate_timeout = 90.0
    finished(device.pull(url(peer, user), batch_size=200))
    return device


def test_only_the_team_gets_a_case_and_a_team_members_edit_reaches_the_team(server, node_driver,
                                                                            tmp_path_factory) -> None:
    found = stored_cases(server)
    shared = next(i for i, c in found.items() if c["author"] == "tsetseg" and "batbold" in c["team"])
    alone = f"{AREA}:case:01KCASEALONE00000000000001"
    assert "batbold" not in found[alone]["team"]
    devices = {u: pulled(node_driver, tmp_path_factory, server, u) for u in ("batbold", "tsetseg", "dolgor")}
    try:
        held = {u: set(d.revs()) for u, d in devices.items()}
        assert any(i.startswith(f"{AREA}:sub:") for i in held["batbold"])  # his soum's other documents he has
        assert shared in held["batbold"] and alone not in held["batbold"]
        assert devices["batbold"].get_or_none(alone) is None
        assert {shared, alone} <= held["tsetseg"]
        assert not any(":case:" in i for i in held["dolgor"]) and any(i.startswith(AREA) for i in held["dolgor"])

        # tsetseg closes the shared case on her phone; batbold's next pull brings it
        mine = devices["tsetseg"].get(shared)
        closed = cases.changed(mine, "tsetseg", "status", status="closed",
                               closure={"reason": "goals_met", "note": "", "closed_on": "2026-12-01"})
        assert devices["tsetseg"].put(closed)["ok"]
        finished(devices["tsetseg"].push(url(server, "tsetseg")))
        wait_until(lambda: stored_cases(server)[shared]["status"], lambda s: s == "closed", what="the case closed")
        pull_until(devices["batbold"], server, "batbold", lambda: devices["batbold"].get(shared)["status"] == "closed",
                   "the closed case on batbold's device")
        assert devices["batbold"].get_or_none(alone) is None

        # tsetseg, on the team, may not change the team: denied with its reason, nothing stored
        hers = devices["tsetseg"].get(shared)
        before = stored_cases(server)[shared]["_rev"]
        assert devices["tsetseg"].put(cases.changed(hers, "tsetseg", "team", team=["tsetseg"]))["ok"]
        report = finished(devices["tsetseg"].push(url(server, "tsetseg")), denied=1)
        assert "Only the case's coordinator" in report["denied"][0]["reason"]
        assert stored_cases(server)[shared]["_rev"] == before

        # the coordinator takes batbold off the team: the case leaves his device, not tsetseg's
        svc = server.services()
        try:
            current = svc.store.open(AREA).get(shared)
            result = svc.gate.write(svc.users.get("enkhjargal"), svc.store.open(AREA),
                                    [cases.changed(current, "enkhjargal", "team", team=["tsetseg"])], new_edits=True)[0]
            assert "error" not in result, result
        finally:
            svc.store.close()
        wait_until(lambda: stored_cases(server)[shared].get("former"), lambda f: f == ["batbold"],
                   what="batbold among the former members")
        pull_until(devices["batbold"], server, "batbold", lambda: devices["batbold"].get_or_none(shared) is None,
                   "the case gone from batbold's device")
        assert any(i.startswith(f"{AREA}:sub:") for i in devices["batbold"].revs())
        finished(devices["tsetseg"].pull(url(server, "tsetseg"), batch_size=200))
        assert devices["tsetseg"].get_or_none(shared) is not None
        # his device sends nothing of it back, and the server keeps the case as it was
        finished(devices["batbold"].push(url(server, "batbold")))
        assert stored_cases(server)[shared]["team"] == ["tsetseg"]
    finally:
        for device in devices.values():
            device.close()


def test_a_referral_pushed_from_a_device_opens_one_case_that_only_its_people_pull(server, node_driver,
                                                                                  tmp_path_factory) -> None:
    key = "01KPOUCHREFERRAL0000000001"
    referral = submission(f"{AREA}:sub:{key}", "child_protection_referral", "tsetseg",
                          {**protection_referral(random.Random(7)), "urgency": "72h", "reported_by": "neighbour"},
                          "2026-11-22T09:00:00+08:00")
    phone = node_driver.open_replica(tmp_path_factory.mktemp("tsetseg-referral") / "device")
    phone.replicate_timeout = 90.0
    devices = [phone]
    try:
        assert phone.put(referral)["ok"]
        finished(phone.push(url(server, "tsetseg")))
        opened = wait_until(lambda: [c for c in stored_cases(server).values() if c.get("referral") == referral["_id"]],
                            what="the referral's case opened")
        assert [c["_id"] for c in opened] == [f"{AREA}:case:{key}"]
        case = opened[0]
        assert (case["author"], case["coordinator"], case["team"], case["risk"], case["data"]["source"]) == \
            ("tsetseg", "enkhjargal", ["tsetseg"], "medium", "neighbour")

        # Her phone gets the case on its next pull; the soum's coordinator gets both; dolgor, who
        # coordinates the soum too but not this case, gets neither the case nor the referral.
        pull_until(phone, server, "tsetseg", lambda: phone.get_or_none(case["_id"]) is not None, "her case")
        assert phone.get(case["_id"])["referral"] == referral["_id"]
        for who, sees in (("enkhjargal", True), ("dolgor", False)):
            device = pulled(node_driver, tmp_path_factory, server, who)
            devices.append(device)
            held = set(device.revs())
            assert ({case["_id"], referral["_id"]} <= held) if sees else not ({case["_id"], referral["_id"]} & held)

        # An edit of the referral on the phone, pushed, opens no second case and leaves this one alone.
        mine = phone.get(referral["_id"])
        assert phone.put({**mine, "data": {**mine["data"], "summary": "Дахин шалгаж, тайлбарыг засав."}})["ok"]
        finished(phone.push(url(server, "tsetseg")))
        again = [c for c in stored_cases(server).values() if c.get("referral") == referral["_id"]]
        assert [(c["_id"], c["_rev"]) for c in again] == [(case["_id"], case["_rev"])]
    finally:
        for device in devices:
            device.close()


def pull_until(device: PouchReplica, peer: FieldsyncPeer, user: str, ok, what: str) -> None:
    """Pull until the device shows ``ok`` (a cluster may answer a read from a copy that lags)."""
    wait_until(lambda: finished(device.pull(url(peer, user), batch_size=200)) and ok(), what=what)


def stored(peer: FieldsyncPeer, docids: list[str]) -> dict[str, str | None]:
    store = peer.open_store()
    try:
        rows = store.open(AREA).all_docs(keys=docids)
        return {r["key"]: (None if "value" not in r or r["value"].get("deleted") else r["value"]["rev"]) for r in rows}
    finally:
        store.close()


def test_a_referral_and_its_review_leave_the_devices_of_those_off_its_case(server, node_driver,
                                                                           tmp_path_factory) -> None:
    key = "01KREFTAKENBACK00000000001"
    rid, review, cid = f"{AREA}:sub:{key}", f"{AREA}:review:{key}", f"{AREA}:case:{key}"
    referral = submission(rid, "child_protection_referral", "tsetseg",
                          {**protection_referral(random.Random(11)), "summary": "Нууц тайлбар"},
                          "2026-11-20T09:00:00+08:00")
    at = "2026-11-20T12:00:00+08:00"
    comment = {"by": "enkhjargal", "at": at, "text": "Гэр бүлтэй нь дахин уулз."}
    reviewed = {"_id": review, "type": "review", "submission": rid, "submission_author": "tsetseg",
                "form": "child_protection_referral", "form_version": 1, "status": "has_issues",
                "comments": [comment], "history": [{"status": "has_issues", "by": "enkhjargal", "at": at}],
                "created_at": at, "updated_at": at, "updated_by": "enkhjargal"}
    svc = server.services()
    try:
        # Stored as before referrals opened their cases: no case yet, every coordinator sees both.
        assert all("rev" in r for r in svc.store.open(AREA).bulk_docs([referral, reviewed]))
    finally:
        svc.store.close()
    wait_until(lambda: stored(server, [rid, review]), lambda f: all(f.values()), what="the referral stored")
    devices: dict[str, PouchReplica] = {}
    try:
        for who in ("dolgor", "tsetseg", "batbold"):
            devices[who] = node_driver.open_replica(tmp_path_factory.mktemp(who) / "device")
            devices[who].replicate_timeout = 90.0
        for who in ("dolgor", "tsetseg"):
            pull_until(devices[who], server, who, lambda who=who: {rid, review} <= set(devices[who].revs()),
                       f"{who}'s device has the referral and its review")
        finished(devices["batbold"].pull(url(server, "batbold"), batch_size=200))
        assert not ({rid, review} & set(devices["batbold"].revs()))  # another worker's sensitive form

        # The case opens (as /web/cases opens one by hand): enkhjargal coordinates it, tsetseg's team,
        # then enkhjargal puts batbold on it.
        svc = server.services()
        try:
            db = svc.store.open(AREA)
            assert svc.gate.referral_cases.open(db, [rid]) == [cid]
            opened = wait_until(lambda: stored_cases(server).get(cid), what="the case opened")
            assert (opened["coordinator"], opened["team"]) == ("enkhjargal", ["tsetseg"])
            result = svc.gate.write(svc.users.get("enkhjargal"), db,
                                    [cases.changed(opened, "enkhjargal", "team", team=["tsetseg", "batbold"])],
                                    new_edits=True)[0]
            assert "error" not in result, result
        finally:
            svc.store.close()
        wait_until(lambda: stored_cases(server)[cid]["team"], lambda t: t == ["tsetseg", "batbold"],
                   what="batbold on the team")
        before = stored(server, [rid, review])

        # dolgor, off the case, loses the referral and its review on his next pull; nothing else of the soum.
        pull_until(devices["dolgor"], server, "dolgor",
                   lambda: devices["dolgor"].get_or_none(rid) is None and devices["dolgor"].get_or_none(review) is None,
                   "the referral gone from dolgor's device")
        assert devices["dolgor"].get_or_none(cid) is None
        assert any(i.startswith(f"{AREA}:sub:") for i in devices["dolgor"].revs())
        # The author keeps them, with her case; batbold, now on the team, gets the three.
        pull_until(devices["tsetseg"], server, "tsetseg", lambda: cid in devices["tsetseg"].revs(), "her case")
        assert {rid, review} <= set(devices["tsetseg"].revs())
        pull_until(devices["batbold"], server, "batbold", lambda: {cid, rid, review} <= set(devices["batbold"].revs()),
                   "batbold has the case, the referral and its review")
        assert devices["batbold"].get(rid)["data"]["summary"] == "Нууц тайлбар"

        # A fresh device of dolgor's never gets them: the old review reaches only those who see the referral.
        fresh = pulled(node_driver, tmp_path_factory, server, "dolgor")
        devices["dolgor-fresh"] = fresh
        assert not ({rid, review, cid} & set(fresh.revs()))
        assert fresh.get_or_none(rid) is None and fresh.get_or_none(review) is None

        # enkhjargal takes batbold off the case: case, referral and review leave his device.
        svc = server.services()
        try:
            db = svc.store.open(AREA)
            result = svc.gate.write(svc.users.get("enkhjargal"), db,
                                    [cases.changed(db.get(cid), "enkhjargal", "team", team=["tsetseg"])],
                                    new_edits=True)[0]
            assert "error" not in result, result
        finally:
            svc.store.close()
        pull_until(devices["batbold"], server, "batbold",
                   lambda: not ({cid, rid, review} & set(devices["batbold"].revs())),
                   "case, referral and review gone from batbold's device")
        assert any(i.startswith(f"{AREA}:sub:") for i in devices["batbold"].revs())
        finished(devices["tsetseg"].pull(url(server, "tsetseg"), batch_size=200))
        assert {cid, rid, review} <= set(devices["tsetseg"].revs())

        # Their devices push what they hold back (the tombstones among it): nothing is deleted on the server.
        for who in ("dolgor", "batbold"):
            finished(devices[who].push(url(server, who)))
        assert stored(server, [rid, review]) == before
        case_now = stored_cases(server)[cid]
        assert (case_now["team"], case_now["former"]) == (["tsetseg"], ["batbold"])
    finally:
        for device in devices.values():
            device.close()
