"""Derived values beside growth submissions (sync/derived.py), through the write gate as wired.

A growth_visit submission stored by the gate gets ``<area>:derived:<key>``
with its z-scores and classes; the submission itself stays exactly the
worker's revision. An edit recomputes, a deletion deletes, a replay of a
revision the server has changes nothing, a server merge of a conflict is
followed by values of the merged winner. Workers may not write derived
documents, and see one exactly when they see its submission.

Each test runs on its own copy of the demo data (real SQLite files); the
writes go through ``WriteGate`` as the server wires it (``Services``).
"""

from __future__ import annotations

import copy
import random

import pytest
from gate_helpers import (
    EDITS,
    TES,
    as_sent,
    checked,
    copy_of,
    new_key,
    seed_template,
    services_at,
    visit,  # a household visit: a form without derived values
)

from programmes.growth_visit import METHOD, derive
from sync import records
from sync.demo import growth_visit, submission
from sync.derived import DerivedValues, derived_id
from sync.replica.union import UserReplica


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return seed_template(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture
def svc(template, tmp_path):
    services = services_at(copy_of(template, tmp_path / "data"))
    yield services
    services.store.close()


def growth(seed: int = 0, author: str = "bolormaa", **answers) -> dict:
    data = growth_visit(random.Random(seed))
    data.update(answers)
    return submission(f"{TES}:sub:{new_key()}", "growth_visit", author, data,
                      "2026-10-05T10:00:00+08:00")


def write(svc, docs: list[dict], new_edits: bool, user: str = "bolormaa") -> list[dict]:
    return svc.gate.write(svc.users.get(user), svc.store.open(TES), checked(docs, new_edits),
                          new_edits=new_edits)


def read(svc, docid: str) -> dict | None:
    return records.read(svc.store.open(TES), docid)


@EDITS
def test_a_stored_growth_submission_gets_its_derived_document(svc, new_edits):
    doc = growth(seed=1)
    sent = as_sent(doc, new_edits)
    results = write(svc, [sent, as_sent(visit(seed=2), new_edits)], new_edits)
    assert all("error" not in r for r in results)

    stored = read(svc, doc["_id"])
    assert stored["data"] == doc["data"] and "derived" not in stored  # the worker's, untouched
    if not new_edits:
        assert stored["_rev"] == sent["_rev"]  # still the device's revision, nothing on top
    assert stored["_rev"].startswith("1-")

    made = read(svc, derived_id(doc["_id"]))
    assert made["type"] == "derived" and made["about"] == doc["_id"]
    assert made["about_rev"] == stored["_rev"]
    assert (made["form"], made["form_version"], made["submission_author"]) == (
        "growth_visit", 1, "bolormaa")
    assert made["method"] == METHOD
    assert made["derived"] == derive(doc["data"])
    assert made["derived"]["zlen"] is not None
    # A household visit has no derived values.
    assert not [d for d in records.iter_docs(svc.store.open(TES), f"{TES}:derived:")
                if d["about"] != doc["_id"]]


@EDITS
def test_an_edit_recomputes_and_a_deletion_deletes(svc, new_edits):
    doc = growth(seed=3)
    first = as_sent(doc, new_edits)
    write(svc, [first], new_edits)
    rev1 = read(svc, doc["_id"])["_rev"]
    before = read(svc, derived_id(doc["_id"]))

    edited = copy.deepcopy(doc)
    edited["data"]["weight_kg"] = round(doc["data"]["weight_kg"] + 1.5, 1)
    if new_edits:
        edited["_rev"] = rev1
    sent = as_sent(edited, new_edits, parents=[rev1]) if not new_edits else edited
    write(svc, [sent], new_edits)
    rev2 = read(svc, doc["_id"])["_rev"]
    assert rev2.startswith("2-")

    after = read(svc, derived_id(doc["_id"]))
    assert after["about_rev"] == rev2 and after["_rev"] != before["_rev"]
    assert after["derived"] == derive(edited["data"])
    assert after["derived"]["zwei"] > before["derived"]["zwei"]

    # The device sends its first revision again (a replica that resumed): nothing changes.
    if not new_edits:
        write(svc, [first], new_edits)
        assert read(svc, derived_id(doc["_id"]))["_rev"] == after["_rev"]

    gone = ({"_id": doc["_id"], "_rev": rev2, "_deleted": True} if new_edits
            else as_sent({"_id": doc["_id"], "_deleted": True}, False, parents=[rev2, rev1]))
    write(svc, [gone], new_edits)
    assert read(svc, doc["_id"]) is None
    assert read(svc, derived_id(doc["_id"])) is None
    tombstone = svc.store.open(TES).open_revs(derived_id(doc["_id"]), None)[0]["ok"]
    assert tombstone["_deleted"] and tombstone["submission_author"] == "bolormaa"


def test_the_merged_winner_of_a_conflict_is_what_is_derived(svc):
    doc = growth(seed=4)
    base = as_sent(doc, False)
    write(svc, [base], False)
    one, two = copy.deepcopy(doc), copy.deepcopy(doc)
    one["data"]["weight_kg"] = round(doc["data"]["weight_kg"] + 1.0, 1)  # device A: the weight
    two["data"]["notes"] = "Дахин хэмжинэ."  # device B: a note
    write(svc, [as_sent(one, False, parents=[base["_rev"]])], False)
    write(svc, [as_sent(two, False, parents=[base["_rev"]])], False)

    winner = svc.store.open(TES).get(doc["_id"], conflicts=True)
    assert "_conflicts" not in winner  # merged by the server: disjoint edits
    assert winner["data"]["weight_kg"] == one["data"]["weight_kg"] and winner["data"]["notes"]
    made = read(svc, derived_id(doc["_id"]))
    assert made["about_rev"] == winner["_rev"]
    assert made["derived"] == derive(winner["data"])


@EDITS
def test_workers_may_not_write_derived_values(svc, new_edits):
    doc = growth(seed=5)
    write(svc, [as_sent(doc, new_edits)], new_edits)
    current = read(svc, derived_id(doc["_id"]))
    forged = {**current, "derived": {**current["derived"], "zlen": 0.0, "stunting": "none"}}
    if not new_edits:
        forged = as_sent({k: v for k, v in forged.items() if k != "_rev"}, False,
                         parents=[current["_rev"]])
    [answer] = [r for r in write(svc, [forged], new_edits) if r["id"] == forged["_id"]]
    assert answer["error"] == "forbidden"
    assert answer["reason"] == "Derived values (such as z-scores) are computed by the server only."
    assert answer["messages"]["mn"].startswith("Тооцоолсон утгыг")
    assert read(svc, derived_id(doc["_id"]))["_rev"] == current["_rev"]
    # A coordinator may not either: only the server writes them.
    [answer] = write(svc, [as_sent({"_id": f"{TES}:derived:{new_key()}", "derived": {}}, new_edits)],
                     new_edits, user="oyunaa")
    assert answer["error"] == "forbidden"


def test_a_worker_sees_a_derived_document_exactly_when_the_submission(svc):
    doc = growth(seed=6)
    write(svc, [doc], True)
    did = derived_id(doc["_id"])
    made = read(svc, did)
    worker = svc.users.get("bolormaa")
    assert svc.access.visible(worker, TES, made, did)
    replica = UserReplica(svc.store, worker, worker, svc.access, svc.gate)
    assert replica.get(did)["derived"] == made["derived"]
    # Were it about a sensitive form's submission by someone else, she would not see it.
    sensitive = {**made, "form": "child_protection_referral", "submission_author": "tsetseg"}
    assert not svc.access.visible(worker, TES, sensitive, did)
    assert svc.access.visible(worker, TES, {**sensitive, "submission_author": "bolormaa"}, did)
    assert not svc.access.visible(worker, TES, {"_id": did, "_deleted": True}, did)
    assert svc.access.visible(svc.users.get("oyunaa"), TES, sensitive, did)


def test_an_invalid_growth_submission_gets_no_derived_document(svc):
    doc = growth(seed=7, lenhei_cm=80.25)
    [answer] = write(svc, [doc], True)
    assert answer["error"] == "forbidden"
    assert read(svc, derived_id(doc["_id"])) is None


def test_backfill_derives_submissions_stored_around_the_gate(svc):
    db = svc.store.open(TES)
    docs = [growth(seed=10 + i) for i in range(5)] + [visit(seed=20)]
    assert all("error" not in r for r in db.bulk_docs(checked(docs, True), new_edits=True))
    assert read(svc, derived_id(docs[0]["_id"])) is None

    counts = DerivedValues().backfill(db, batch=2)
    assert counts == {"written": 5}
    for doc in docs[:5]:
        assert read(svc, derived_id(doc["_id"]))["derived"] == derive(doc["data"])
    assert DerivedValues().backfill(db) == {"unchanged": 5}


def test_a_derived_document_written_meanwhile_is_read_again(svc):
    """Another app server writes the derived document between our read and our write: the
    conflict is read again and settled, not lost."""
    doc = growth(seed=30)
    db = svc.store.open(TES)
    db.bulk_docs(checked([doc], True), new_edits=True)
    did = derived_id(doc["_id"])
    DerivedValues().refresh(db, [doc["_id"]])
    records.write(db, {**read(svc, did), "derived": None, "error": "from an older server"})

    class Racing:
        """The scope, with another server's write slipped in before our first write."""

        def __init__(self, db):
            self.db, self.name, self.raced = db, db.name, 0

        def bulk_docs(self, docs, new_edits=True):
            if not self.raced:
                self.raced += 1
                records.write(self.db, {**read(svc, did), "error": "raced"})
            return self.db.bulk_docs(docs, new_edits=new_edits)

        def __getattr__(self, name):
            return getattr(self.db, name)

    racing = Racing(db)
    done = DerivedValues().refresh(racing, [doc["_id"]])
    assert racing.raced == 1
    assert done == {did: "written"}
    final = read(svc, did)
    assert "error" not in final and final["derived"] == derive(doc["data"])
    assert final["_rev"].startswith("4-")  # ours, on top of the racing write


def test_a_submission_whose_values_cannot_be_derived_records_why(svc):
    doc = growth(seed=40)
    db = svc.store.open(TES)
    broken = copy.deepcopy(doc)
    broken["data"]["sex"] = "x"  # not through the gate: the form would refuse it
    db.bulk_docs(checked([broken], True), new_edits=True)
    DerivedValues().refresh(db, [doc["_id"]])
    made = read(svc, derived_id(doc["_id"]))
    assert made["derived"] is None and "sex must be m or f" in made["error"]


def test_the_export_carries_the_derived_values_of_the_exported_revision(svc):
    from programmes.growth_visit import COLUMNS
    from sync.export import build_tables

    docs = [growth(seed=50 + i) for i in range(4)]
    write(svc, docs + [visit(seed=60)], True)
    db = svc.store.open(TES)
    # One changed around the gate (a restore, say): its derived values describe an older revision.
    stale = read(svc, docs[1]["_id"])
    stale["data"]["weight_kg"] = round(stale["data"]["weight_kg"] + 2, 1)
    records.write(db, stale)
    # One stored around the gate: no derived document at all.
    lone = growth(seed=70)
    db.bulk_docs(checked([lone], True), new_edits=True)

    [main, *_] = build_tables(svc.store, "growth_visit", areas=[TES])
    derived_cols = [f"derived/{c}" for c in COLUMNS]
    assert main.columns[-len(COLUMNS):] == derived_cols
    rows = {row[0]: dict(zip(main.columns, row, strict=True)) for row in main.rows}
    assert set(rows) == {d["_id"] for d in docs} | {lone["_id"]}
    for doc in (docs[0], docs[2], docs[3]):
        expected = derive(doc["data"])
        got = rows[doc["_id"]]
        assert got["derived/zlen"] == expected["zlen"] and got["derived/stunting"] == expected["stunting"]
        assert got["derived/age_days"] == expected["age_days"]
        assert got["derived/referral_needed"] is expected["referral_needed"]
    for docid in (docs[1]["_id"], lone["_id"]):
        assert all(rows[docid][c] == "" for c in derived_cols)
    # A form without derived values keeps its columns as they were.
    [household, *_] = build_tables(svc.store, "household_visit", areas=[TES])
    assert not [c for c in household.columns if c.startswith("derived/")]


def test_the_deletion_of_derived_values_reaches_the_worker_s_replica(svc):
    doc = growth(seed=80)
    write(svc, [doc], True)
    rev = read(svc, doc["_id"])["_rev"]
    worker = svc.users.get("bolormaa")
    replica = UserReplica(svc.store, worker, worker, svc.access, svc.gate)
    did = derived_id(doc["_id"])
    before = {row["id"]: row for row in replica.changes(0)}
    assert did in before and not before[did].get("deleted")

    write(svc, [{"_id": doc["_id"], "_rev": rev, "_deleted": True}], True)
    after = {row["id"]: row for row in replica.changes(0)}
    # The derived tombstone names whom it concerns, so it reaches her replica (a bare tombstone
    # of the submission itself does not: docs/design.md, "Visibility details").
    assert after[did].get("deleted") is True
    assert replica.open_revs(did, None)[0]["ok"]["submission_author"] == "bolormaa"


def test_a_person_s_resolution_of_a_conflict_is_followed_by_its_values(svc):
    doc = growth(seed=90)
    base = as_sent(doc, False)
    write(svc, [base], False)
    one, two = copy.deepcopy(doc), copy.deepcopy(doc)
    one["data"]["weight_kg"] = round(doc["data"]["weight_kg"] + 1.0, 1)  # both change the weight:
    two["data"]["weight_kg"] = round(doc["data"]["weight_kg"] + 2.0, 1)  # a person decides
    sent_one = as_sent(one, False, parents=[base["_rev"]])
    sent_two = as_sent(two, False, parents=[base["_rev"]])
    write(svc, [sent_one], False)
    write(svc, [sent_two], False)
    db = svc.store.open(TES)
    assert db.get(doc["_id"], conflicts=True).get("_conflicts")
    revs = svc.conflicts.view(db, doc["_id"]).to_json()["revs"]
    loser = next(r for r in revs if r != db.get(doc["_id"])["_rev"])
    done = svc.conflicts.resolve(db, doc["_id"], revs=revs, picks={"/data/weight_kg": loser},
                                 by="oyunaa")
    winner = db.get(doc["_id"])
    assert winner["_rev"] == done["rev"]
    made = read(svc, derived_id(doc["_id"]))
    assert made["about_rev"] == winner["_rev"] and made["derived"] == derive(winner["data"])


def test_a_released_growth_visit_gets_its_values(svc):
    from sync.gate.quarantine_actions import release

    doc = growth(seed=95)
    doc["form_version"] = 7  # no such version: held in the quarantine
    [answer] = write(svc, [doc], True)
    assert answer["error"] == "forbidden"
    assert read(svc, derived_id(doc["_id"])) is None
    release(svc.store, svc.forms, svc.quarantine, answer["quarantine"], by="oyunaa", form_version=1)
    stored = read(svc, doc["_id"])
    made = read(svc, derived_id(doc["_id"]))
    assert made["about_rev"] == stored["_rev"] and made["derived"] == derive(doc["data"])
