"""The quarantine: what a coordinator does with documents the write gate refused.

An entry is listed with who sent it, when and why; it is released (validated
again, against the version it names or a chosen one, and stored) or discarded
with a reason. Either way the feedback document tells the worker's device. A
release against another version keeps the device's revision as it came and
puts a server revision on top naming the new version, so the device's next
pull brings the fix as a plain update, never a conflict.

Real SQLite stores (a copy of the demo data per test) and the real command
line (click's CliRunner on ``fieldsync``).
"""

from __future__ import annotations

import copy

import orjson
import pytest
from click.testing import CliRunner
from gate_helpers import (
    EDITS,
    PHOTO,
    TES,
    as_sent,
    checked,
    copy_of,
    feedback_id,
    seed_template,
    services_at,
    visit,
    with_photo,
)

from schemas import bundled_forms
from server.cli import main
from sync import records
from sync.errors import BadRequest, Conflict, NotFound
from sync.gate.quarantine_actions import discard, release
from sync.replica.union import UserReplica


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return seed_template(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture
def data(template, tmp_path, monkeypatch):
    # The CLI writes --data into the environment; keep that change inside the test.
    monkeypatch.setenv("FIELDSYNC_DATA_DIR", str(tmp_path / "data"))
    return copy_of(template, tmp_path / "data")


@pytest.fixture
def svc(data):
    services = services_at(data)
    yield services
    services.store.close()


def refuse(svc, doc: dict, new_edits: bool = False, user: str = "bolormaa") -> str:
    """Send ``doc`` through the gate; it must be refused. Returns its quarantine entry id."""
    [answer] = svc.gate.write(svc.users.get(user), svc.store.open(TES), checked([doc], new_edits),
                              new_edits=new_edits)
    assert answer["error"] == "forbidden", answer
    return answer["quarantine"]


def household_visit_v(version: int, extra_field: bool = False) -> dict:
    """The bundled household visit as another version (optionally with one more question)."""
    form = copy.deepcopy(next(f for f in bundled_forms() if f["form"] == "household_visit"))
    form["version"] = version
    if extra_field:
        form["fields"].append({"name": "winter_camp", "type": "text",
                               "label": {"en": "Winter camp", "mn": "Өвөлжөө"}})
    return form


def stored(svc, docid: str) -> dict | None:
    return records.read(svc.store.open(TES), docid)


def release_it(svc, eid: str, **kw) -> dict:
    return release(svc.store, svc.forms, svc.quarantine, eid, by="oyunaa", **kw)


# -- listing ---------------------------------------------------------------------------------


def test_entries_are_listed_with_who_when_and_why(svc):
    first = refuse(svc, as_sent(visit(household_size="many"), False))
    second = refuse(svc, as_sent(visit(version=9), False))

    held = {e["_id"]: e for e in svc.quarantine.list()}
    assert set(held) == {first, second}
    assert held[first]["user"] == "bolormaa"
    assert held[first]["received_at"]
    assert held[first]["reasons"] == [{"field": "household_size", "message": "Enter a whole number, such as 12.",
                                       "messages": {"en": "Enter a whole number, such as 12.",
                                                    "mn": "Бүхэл тоо оруулна уу, жишээ нь 12."}}]
    assert held[second]["reasons"] == [
        {"field": "form_version", "message": "Form 'household_visit' has no published version 9.",
         "messages": {"en": "Form 'household_visit' has no published version 9.",
                      "mn": "'household_visit' маягтад нийтлэгдсэн 9-р хувилбар байхгүй."}}]

    discard(svc.store, svc.quarantine, second, by="oyunaa", reason="Sent twice.")
    assert [e["_id"] for e in svc.quarantine.list()] == [first]
    assert [e["_id"] for e in svc.quarantine.list("discarded")] == [second]
    assert {e["_id"] for e in svc.quarantine.list(None)} == {first, second}


# -- releasing -------------------------------------------------------------------------------


@EDITS
def test_released_once_the_version_it_names_is_published(svc, new_edits):
    doc = with_photo(visit(version=2))
    sent = as_sent(doc, new_edits)
    eid = refuse(svc, sent, new_edits)
    svc.forms.publish(household_visit_v(2))

    done = release_it(svc, eid)

    assert (done["id"], done["scope"]) == (doc["_id"], TES)
    kept = stored(svc, doc["_id"])
    assert kept["_rev"] == done["rev"]
    if not new_edits:
        assert done["rev"] == sent["_rev"]  # the device's own revision, as it came
    assert kept["form_version"] == 2 and kept["data"] == doc["data"]
    assert svc.store.open(TES).get_attachment(doc["_id"], "dwelling.jpg")[1] == PHOTO
    entry = svc.quarantine.get(eid)
    assert (entry["status"], entry["decided_by"], entry["released_rev"]) == ("released", "oyunaa", done["rev"])
    assert stored(svc, feedback_id(doc["_id"]))["status"] == "released"

    with pytest.raises(Conflict, match="already released"):
        release_it(svc, eid)


def test_a_refused_edit_is_released_on_top_of_the_revision_it_edited(svc):
    original = visit()
    [ok] = svc.gate.write(svc.users.get("bolormaa"), svc.store.open(TES), checked([original], True),
                          new_edits=True)
    edit = {**copy.deepcopy(original), "_rev": ok["rev"], "form_version": 2}  # the device has a newer form
    eid = refuse(svc, edit, new_edits=True)
    svc.forms.publish(household_visit_v(2))

    done = release_it(svc, eid)

    kept = svc.store.open(TES).get(original["_id"], revs=True)
    assert kept["_rev"] == done["rev"] and done["rev"].startswith("2-")
    assert kept["_revisions"]["ids"][1] == ok["rev"].split("-", 1)[1]
    assert kept["form_version"] == 2


@EDITS
def test_released_against_another_version_the_device_gets_the_fix_on_its_next_pull(svc, new_edits):
    # Filled on a device that had a newer draft of the form: v1 has no "winter_camp".
    doc = with_photo(visit(winter_camp="Хар ус"))
    sent = as_sent(doc, new_edits)
    eid = refuse(svc, sent, new_edits)
    assert svc.quarantine.get(eid)["reasons"][0]["field"] == "winter_camp"
    svc.forms.publish(household_visit_v(2, extra_field=True))

    done = release_it(svc, eid, form_version=2)

    db = svc.store.open(TES)
    kept = db.get(doc["_id"], revs=True)
    assert kept["_rev"] == done["rev"]
    assert kept["form_version"] == 2
    assert kept["data"] == doc["data"]
    assert db.get_attachment(doc["_id"], "dwelling.jpg")[1] == PHOTO
    assert svc.quarantine.get(eid)["form_version"] == 2
    if new_edits:
        return
    # The device's revision is stored as sent, and the server's revision sits on top of it...
    assert done["rev"].startswith("2-")
    assert kept["_revisions"]["ids"][1] == sent["_rev"].split("-", 1)[1]
    # ...so the device, which holds the sent revision, pulls the fix as a plain update.
    worker = svc.users.get("bolormaa")
    replica = UserReplica(svc.store, worker, worker, svc.access, svc.gate)
    rows = [r for r in replica.changes(0) if r["id"] == doc["_id"]]
    assert [c["rev"] for c in rows[0]["changes"]] == [done["rev"]]
    assert replica.revs_diff({doc["_id"]: [sent["_rev"], done["rev"]]}) == {}


def test_releasing_a_document_still_invalid_says_why_and_keeps_it_held(svc):
    doc = visit(household_size="many")
    eid = refuse(svc, as_sent(doc, False))

    with pytest.raises(BadRequest) as caught:
        release_it(svc, eid)
    assert caught.value.reason == (
        "Still invalid: Form household_visit v1: household_size: Enter a whole number, such as 12.")
    with pytest.raises(BadRequest, match="has no published version 5"):
        release_it(svc, eid, form_version=5)

    assert svc.quarantine.get(eid)["status"] == "held"
    assert stored(svc, doc["_id"]) is None
    assert stored(svc, feedback_id(doc["_id"]))["status"] == "refused"


def test_an_unknown_entry_is_not_found(svc):
    with pytest.raises(NotFound):
        release_it(svc, "q:uvs-tes:sub:nope:1-a")


# -- discarding ------------------------------------------------------------------------------


def test_discarded_with_a_reason_the_device_is_told(svc):
    doc = visit(household_size="many")
    eid = refuse(svc, as_sent(doc, False))

    with pytest.raises(BadRequest, match="say why"):
        discard(svc.store, svc.quarantine, eid, by="oyunaa", reason="  ")
    entry = discard(svc.store, svc.quarantine, eid, by="oyunaa", reason="A test visit; nobody lives there.")

    assert (entry["status"], entry["note"], entry["decided_by"]) == (
        "discarded", "A test visit; nobody lives there.", "oyunaa")
    feedback = stored(svc, feedback_id(doc["_id"]))
    assert (feedback["status"], feedback["note"]) == ("discarded", "A test visit; nobody lives there.")
    assert stored(svc, doc["_id"]) is None
    with pytest.raises(Conflict, match="already discarded"):
        release_it(svc, eid)
    with pytest.raises(Conflict, match="already discarded"):
        discard(svc.store, svc.quarantine, eid, by="oyunaa", reason="again")


# -- the command line ------------------------------------------------------------------------


def fieldsync(data, *args: str):
    return CliRunner().invoke(main, [*args, "--data", str(data)])


def test_the_quarantine_commands(svc, data):
    bad = visit(household_size="many")
    later = visit(winter_camp="Хар ус")
    spam = visit(household_size=-1)
    bad_eid = refuse(svc, as_sent(bad, False))
    later_eid = refuse(svc, as_sent(later, False))
    spam_eid = refuse(svc, as_sent(spam, False))

    listed = fieldsync(data, "quarantine", "list")
    assert listed.exit_code == 0, listed.output
    for eid in (bad_eid, later_eid, spam_eid):
        assert eid in listed.output
    assert "held  from bolormaa" in listed.output
    assert "household_size: Enter a whole number, such as 12." in listed.output

    shown = fieldsync(data, "quarantine", "show", bad_eid)
    assert shown.exit_code == 0
    assert orjson.loads(shown.output)["doc"]["data"] == bad["data"]

    still_bad = fieldsync(data, "quarantine", "release", bad_eid)
    assert still_bad.exit_code == 1
    assert still_bad.stderr == (
        "Error: Still invalid: Form household_visit v1: household_size: Enter a whole number, such as 12.\n")

    svc.forms.publish(household_visit_v(2, extra_field=True))
    released = fieldsync(data, "quarantine", "release", later_eid, "--form-version", "2", "--by", "oyunaa")
    assert released.exit_code == 0, released.output
    rev = stored(svc, later["_id"])["_rev"]
    assert released.output == f"released {later['_id']} as {rev} into {TES}\n"

    no_reason = fieldsync(data, "quarantine", "discard", spam_eid)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    discarded = fieldsync(data, "quarantine", "discard", spam_eid, "--reason", "Not a real household.")
    assert discarded.exit_code == 0
    assert svc.quarantine.get(spam_eid)["note"] == "Not a real household."

    held = fieldsync(data, "quarantine", "list")
    assert bad_eid in held.output and later_eid not in held.output and spam_eid not in held.output
    every = fieldsync(data, "quarantine", "list", "--status", "all")
    assert all(eid in every.output for eid in (bad_eid, later_eid, spam_eid))

    missing = fieldsync(data, "quarantine", "show", "q:nope")
    assert missing.exit_code == 1
    assert missing.stderr == "Error: no quarantine entry 'q:nope'\n"


def test_an_empty_quarantine_says_so(data):
    result = fieldsync(data, "quarantine", "list")
    assert result.exit_code == 0
    assert result.output == "No held entries.\n"
