"""Programme modules switched off and on again, on every store: the setting, the forms, the gate.

SQLite, Apache CouchDB (and the cluster when the session has one). The setting
(``global:settings:modules``) refuses anything but every module on or off and a
stale revision, writing nothing then; a save is audited. Switching WASH off
closes ``kindergarten_wash_visit`` (and only it): a device's new visit pushed
through ``/sync/<user>`` is refused in English and Mongolian, a visit started
before the switch (a draft finished on the trip) and an edit of an older one are
accepted, every visit already made stays and is exported. A new version
published meanwhile is closed at once. Switching it on again publishes the
versions again and new visits are accepted.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from eventual import wait_until
from gate_helpers import TES, basic, new_key, push_as
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from sync import form_admin, records
from sync.demo import DEMO_PASSWORD, seed_demo, submission
from sync.demo_facilities import wash_visit
from sync.errors import BadRequest, Conflict
from sync.modules import DOC_ID, MODULES, ModuleSwitch

WASH = "kindergarten_wash_visit"


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("modules") / "data")
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    yield app
    close_app(app)




def visit(created_at: str) -> dict:
    day = created_at[:10]
    data = wash_visit(random.Random(created_at), f"{TES}:kg:KG0", day, quality=0.6, n=0)
    data["location"] = {"lat": 49.63, "lon": 95.81, "accuracy": 8}
    return submission(f"{TES}:sub:{new_key()}", WASH, "bolormaa", data, created_at)


def audited(app, action: str) -> list[dict]:
    return [d for d in records.iter_docs(app.extensions["fieldsync"].store.ensure("_audit"), "global:")
            if d.get("action") == action]


def exported_ids(app) -> set[str]:
    resp = app.test_client().get(f"/api/exports/{WASH}", query_string={"area": TES, "format": "csv"},
                                 headers=basic("oyunaa", DEMO_PASSWORD))  # Tes's coordinator
    assert resp.status_code == 200, resp.text[:300]
    with zipfile.ZipFile(io.BytesIO(resp.data)) as z:
        rows = list(csv.DictReader(io.StringIO(z.read(f"{WASH}.csv").decode("utf-8-sig"))))
    return {r.get("_id") or r.get("id") or r.get("submission_id") for r in rows}


def test_the_setting_refuses_bad_saves_and_writes_nothing(app):
    svc = app.extensions["fieldsync"]
    switch = ModuleSwitch(svc.store, svc.forms, svc.audit)
    assert switch.get() == {} and all(switch.states().values())  # a fresh deployment: everything on
    everything = {m.name: True for m in MODULES}
    with pytest.raises(BadRequest, match="bogus is not a programme module"):
        switch.save({**everything, "bogus": False}, actor="admin", rev=None)
    with pytest.raises(BadRequest, match="Every programme module is switched on or off"):
        switch.save({"wash": False}, actor="admin", rev=None)
    with pytest.raises(BadRequest):
        switch.save({**everything, "wash": "off"}, actor="admin", rev=None)
    with pytest.raises(Conflict):
        switch.save({**everything, "wash": False}, actor="admin", rev="1-stale")
    assert switch.get() == {} and not audited(app, "module.switched")  # (nothing was written to lag behind)
    assert {f["status"] for f in svc.forms.versions(WASH)} == {"published"}


def test_a_module_off_closes_its_forms_and_on_again_reopens_them(app):
    svc = app.extensions["fieldsync"]
    switch = ModuleSwitch(svc.store, svc.forms, svc.audit)
    now = datetime.now(UTC)
    before = visit((now - timedelta(days=2)).isoformat(timespec="seconds"))
    assert "rev" in push_as(app, "bolormaa", [before])[0]

    rev = switch.save({m.name: m.name != "wash" for m in MODULES}, actor="admin", rev=switch.get().get("_rev"))
    assert switch.off() == {"wash"} and switch.get()["_rev"] == rev
    wash = wait_until(lambda: svc.forms.versions(WASH), lambda vs: {f["status"] for f in vs} == {"closed"},
                      what="the WASH form closed")  # a range read: a cluster's copy may lag
    assert all(f["closed_at"] for f in wash)
    others = [f for m in MODULES if m.name != "wash" for name in m.forms for f in svc.forms.versions(name)]
    assert others and {f["status"] for f in others} == {"published"}
    (entry,) = wait_until(lambda: audited(app, "module.switched"), lambda es: len(es) == 1,
                          what="the switch in the audit trail")  # a range read: a cluster's copy may lag
    assert entry["actor"] == "admin" and entry["before"]["wash"] is True and entry["after"]["wash"] is False
    wait_until(lambda: [e["form"] for e in audited(app, "form.closed")], lambda forms: forms == [WASH],
               what="the form's closing in the audit trail")
    with pytest.raises(Conflict):  # a second admin's page, read before the switch
        switch.save({m.name: True for m in MODULES}, actor="admin", rev=None)

    # a device's new visit is refused; one started before the switch and an edit of an older one are not
    late = visit((datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds"))
    in_flight = visit((now - timedelta(hours=1)).isoformat(timespec="seconds"))
    db = svc.store.open(TES)
    edited = {**records.read(db, before["_id"]), "data": {**before["data"], "issues": "Ус хөлдсөн."}}
    out = push_as(app, "bolormaa", [late, in_flight, edited])
    assert out[0]["error"] == "forbidden", out
    assert f"Form '{WASH}' version 1 is closed since {date.today().isoformat()}" in out[0]["reason"]
    assert "хөтөлбөрийн модулийг нь энэ системд унтраасан" in out[0]["messages"]["mn"]
    assert "rev" in out[1] and "rev" in out[2], out
    assert records.read(db, late["_id"]) is None
    assert records.read(db, before["_id"])["data"]["issues"] == "Ус хөлдсөн."
    assert {before["_id"], in_flight["_id"]} <= exported_ids(app)  # kept and exported while off

    # a new version published while the module is off is closed at once
    v2 = {**{k: v for k, v in svc.forms.get(WASH, 1).items()
             if not k.startswith("_") and k not in ("closed_at", "published_at", "updated_at", "type")},
          "version": 2, "status": "draft"}
    doc = form_admin.publish(svc.forms, svc.audit, v2, by="admin")
    assert doc["status"] == "closed" and records.read(svc.forms.db(), doc["_id"])["status"] == "closed"

    switch.save({m.name: True for m in MODULES}, actor="admin", rev=switch.get()["_rev"])
    assert switch.off() == set()
    wash = wait_until(lambda: svc.forms.versions(WASH),
                      lambda vs: len(vs) == 2 and {f["status"] for f in vs} == {"published"},
                      what="both WASH versions published again")
    assert not any("closed_at" in f for f in wash)
    wait_until(lambda: sorted(e["version"] for e in audited(app, "form.reopened")), lambda vs: vs == [1, 2],
               what="both versions' reopening in the audit trail")
    again = visit(datetime.now(UTC).isoformat(timespec="seconds"))
    assert "rev" in push_as(app, "bolormaa", [again])[0]
    assert {before["_id"], in_flight["_id"], again["_id"]} <= exported_ids(app)
    assert records.read(svc.store.open("global"), DOC_ID)["on"]["wash"] is True


def test_fieldsync_demo_switches_every_module_on(app):
    svc = app.extensions["fieldsync"]
    switch = ModuleSwitch(svc.store, svc.forms, svc.audit)
    switch.save({m.name: m.name != "cases" for m in MODULES}, actor="admin", rev=switch.get().get("_rev"))
    assert switch.off() == {"cases"}
    assert records.read(svc.forms.db(), "global:form:child_protection_referral:1")["status"] == "closed"
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    assert switch.off() == set()
    assert records.read(svc.forms.db(), "global:form:child_protection_referral:1")["status"] == "published"
    wait_until(lambda: audited(app, "module.switched"), lambda es: es and es[-1]["actor"] == "demo",
               what="the demo's switch in the audit trail")
