"""Child protection cases through the write gate (real SQLite files, the demo's users).

Kharkhorin has two workers (tsetseg, batbold) and a coordinator (enkhjargal);
dolgor, added here, coordinates it too but is assigned to no case. Every
refusal leaves the scope as it was, says why in English and Mongolian, and
keeps no case answers in the quarantine (which every coordinator of the soum
reads). Replicators' writes (new_edits=false) pass the same rules.
"""

from __future__ import annotations

import copy
import random
import threading
from pathlib import Path

import pytest
from gate_helpers import as_sent, checked, copy_of, seed_template, services_at, state

from sync import cases
from sync.demo import protection_referral, submission
from sync.docs import check_doc
from sync.gate.quarantine_actions import release
from sync.referral_cases import need_to_know
from sync.stores.encrypted import SEALED, EncryptedStore, Keyring, new_key_entry

AREA = "ovr-kharkhorin"
EDITS = pytest.mark.parametrize("new_edits", [True, False], ids=["new_edits", "replicator"])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    data = seed_template(tmp_path_factory.mktemp("cases") / "data")
    svc = services_at(data)
    svc.users.add("dolgor", "coordinator", [AREA], "fieldsync-demo")
    svc.store.close()
    return data


@pytest.fixture
def svc(template, tmp_path):
    s = services_at(copy_of(template, tmp_path / "data"))
    yield s
    s.store.close()


def user(svc, name):
    return svc.users.get(name)


def write(svc, name: str, doc: dict, new_edits: bool = True, parents: list[str] = ()) -> dict:
    db = svc.store.ensure(AREA)
    sent = checked([as_sent(doc, new_edits, list(parents))], new_edits)
    results = svc.gate.write(user(svc, name), db, sent, new_edits=new_edits)
    return results[0] if results else {"ok": True}


def current(svc, docid: str) -> dict:
    return svc.store.open(AREA).get(docid)


def opened(svc, new_edits: bool = True) -> dict:
    """tsetseg opens a case with enkhjargal as coordinator; batbold is not on the team."""
    doc = cases.new_case(AREA, "01JCASE0000000000000000001", author="tsetseg", coordinator="enkhjargal",
                         risk="high", team=["tsetseg"], data={"child_name": "CP-1", "narrative": "Нууц түүх"})
    result = write(svc, "tsetseg", doc, new_edits)
    assert "error" not in result, result
    return current(svc, doc["_id"])


def edit(svc, name: str, case: dict, new_edits: bool, **changes) -> dict:
    after = cases.changed(case, name, "status", **changes)
    if new_edits:
        return write(svc, name, after, True)
    after.pop("_rev")
    path = svc.store.open(AREA).get(case["_id"], revs=True)["_revisions"]  # the device knows the whole path
    parents = [f"{path['start'] - n}-{h}" for n, h in enumerate(path["ids"])]
    return write(svc, name, after, False, parents=parents)


def refused(result: dict, *words: str) -> None:
    assert result.get("error") == "forbidden", result
    for w in words:
        assert w in result["reason"], result["reason"]
    assert result["messages"]["mn"] and result["messages"]["mn"] != result["messages"]["en"]


@EDITS
def test_the_team_moves_a_case_along_open_in_progress_closed_and_reopened(svc, new_edits):
    case = opened(svc, new_edits)
    for name, changes in (("tsetseg", {"status": "in_progress"}),
                          ("enkhjargal", {"status": "closed", "closure": {"reason": "goals_met", "note": ""}}),
                          ("enkhjargal", {"status": "open", "closure": None})):
        assert "error" not in edit(svc, name, case, new_edits, **changes)
        case = current(svc, case["_id"])
        assert case["status"] == changes["status"]
    assert [h.get("status") for h in case["data"]["history"]] == ["open", "in_progress", "closed", "open"]


@EDITS
@pytest.mark.parametrize("changes, words", [
    ({"status": "reviewed"}, ["'reviewed' is not a case status"]),
    ({"risk": "extreme"}, ["'extreme' is not a risk level"]),
    ({"status": "closed"}, ["A closed case names its reason"]),
    ({"status": "closed", "closure": {"reason": "bored"}}, ["A closed case names its reason"]),
    ({"follow_ups": [{"due": "2026-13-01"}]}, ["'2026-13-01' is not a date"]),
    ({"services": [{"type": "magic"}]}, ["'magic' is not one of"]),
    ({"services": [{"type": "health", "due_by": "soon"}]}, ["'soon' is not a date"]),
])
def test_bad_states_and_answers_are_refused_and_nothing_is_written(svc, new_edits, changes, words):
    case = opened(svc, new_edits)
    before = state(svc.store.open(AREA))
    refused(edit(svc, "tsetseg", case, new_edits, **changes), *words)
    assert state(svc.store.open(AREA)) == before


@EDITS
def test_a_transition_outside_the_workflow_is_refused(svc, new_edits):
    case = opened(svc, new_edits)
    assert "error" not in edit(svc, "tsetseg", case, new_edits, status="in_progress")
    case = current(svc, case["_id"])
    before = state(svc.store.open(AREA))
    refused(edit(svc, "tsetseg", case, new_edits, status="open"),
            "cannot go from 'in_progress' to 'open'", "closed")
    assert state(svc.store.open(AREA)) == before


def test_a_new_case_starts_open_and_is_written_by_its_author(svc):
    doc = cases.new_case(AREA, "01JCASE0000000000000000002", author="tsetseg", coordinator="enkhjargal", risk="low")
    refused(write(svc, "batbold", doc), "author must be you")
    refused(write(svc, "tsetseg", {**doc, "status": "closed"}), "A new case starts open")
    assert next(iter(svc.store.open(AREA).all_docs(keys=[doc["_id"]]))).get("error") == "not_found"


@EDITS
def test_only_the_team_and_coordinator_change_a_case_and_only_the_coordinator_its_team(svc, new_edits):
    case = opened(svc, new_edits)
    before = state(svc.store.open(AREA))
    refused(edit(svc, "batbold", case, new_edits, risk="low"), "Only the case's team and its coordinator")
    refused(edit(svc, "dolgor", case, new_edits, risk="low"), "Only the case's team and its coordinator")
    refused(edit(svc, "tsetseg", case, new_edits, team=["tsetseg", "batbold"]), "Only the case's coordinator")
    refused(edit(svc, "tsetseg", case, new_edits, coordinator="dolgor"), "Only the case's coordinator")
    assert state(svc.store.open(AREA)) == before
    assert "error" not in edit(svc, "enkhjargal", case, new_edits, team=["tsetseg", "batbold"])
    case = current(svc, case["_id"])
    assert "error" not in edit(svc, "batbold", case, new_edits, risk="medium")  # on the team now


def test_history_is_only_added_to_and_a_case_is_not_deleted(svc):
    case = opened(svc)
    rewritten = copy.deepcopy(case)
    rewritten["data"]["history"][0]["by"] = "someone"
    refused(write(svc, "tsetseg", rewritten), "history is only added to")
    refused(write(svc, "enkhjargal", {"_id": case["_id"], "_rev": case["_rev"], "_deleted": True}),
            "closed, not deleted")
    assert current(svc, case["_id"])["_rev"] == case["_rev"]


def test_a_refused_case_is_quarantined_without_its_answers(svc):
    case = opened(svc)
    refused(edit(svc, "batbold", case, True, risk="low"))
    entries = [e for e in svc.quarantine.list(None) if e["doc_id"] == case["_id"]]
    assert len(entries) == 1
    held = svc.quarantine.original(entries[0]["_id"])
    assert held.get("withheld") is True and "data" not in held and "team" not in held
    assert "Нууц" not in str(entries[0])


def test_visible_only_to_author_coordinator_and_team(svc):
    case = opened(svc)
    see = {n: svc.access.visible(user(svc, n), AREA, case, case["_id"])
           for n in ("tsetseg", "batbold", "enkhjargal", "dolgor", "oyunaa", "admin")}
    assert see == {"tsetseg": True, "batbold": False, "enkhjargal": True, "dolgor": False, "oyunaa": False,
                   "admin": True}
    assert not svc.access.visible(user(svc, "enkhjargal"), AREA, None, case["_id"])  # body unread: hidden
    from sync.replica.facts import facts_of
    assert svc.access.visible(user(svc, "tsetseg"), AREA, facts_of(case), case["_id"])
    assert not svc.access.visible(user(svc, "batbold"), AREA, facts_of(case), case["_id"])


def test_a_case_is_sealed_at_rest(tmp_path: Path):
    from sync.stores.sqlite import SQLiteStore

    inner = SQLiteStore(tmp_path / "data")
    store = EncryptedStore(inner, Keyring.parse(new_key_entry("k1")), lambda: ())
    db = store.ensure(AREA)
    doc = cases.new_case(AREA, "01JCASE0000000000000000003", author="tsetseg", coordinator="enkhjargal",
                         risk="high", data={"narrative": "Нууц түүх"})
    assert "error" not in db.bulk_docs([doc])[0]
    raw = inner.open(AREA).get(doc["_id"])
    assert SEALED in raw and "data" not in raw and raw["team"] == [] and raw["status"] == "open"
    assert db.get(doc["_id"])["data"]["narrative"] == "Нууц түүх"
    store.close()
    files = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.is_file())
    assert "Нууц түүх".encode() not in files


def test_who_leaves_a_case_is_remembered_and_only_the_coordinator_changes_that(svc):
    case = opened(svc)
    assert "error" not in edit(svc, "enkhjargal", case, True, team=["tsetseg", "batbold"])
    case = current(svc, case["_id"])
    assert "former" not in case
    assert "error" not in edit(svc, "enkhjargal", case, True, team=["tsetseg"])
    case = current(svc, case["_id"])
    assert case["former"] == ["batbold"]
    assert cases.left_case("batbold", case["_id"], case) and not cases.left_case("tsetseg", case["_id"], case)
    refused(write(svc, "tsetseg", {**case, "former": []}), "Only the case's coordinator")
    assert "error" not in edit(svc, "enkhjargal", case, True, team=["tsetseg", "batbold"])
    case = current(svc, case["_id"])
    assert case["former"] == [] and not cases.left_case("batbold", case["_id"], case)



# -- a referral opens its case (sync.referral_cases) ------------------------------------------------
def referral(key: str, author: str = "tsetseg", **answers) -> dict:
    data = {**protection_referral(random.Random(key)), **answers}
    return submission(f"{AREA}:sub:{key}", "child_protection_referral", author, data, "2026-11-21T10:00:00+08:00")


def cases_of(svc, referral_id: str) -> list[dict]:
    return [c for c in cases.area_cases(svc.store.open(AREA)) if c.get("referral") == referral_id]


@EDITS
def test_a_referral_written_through_the_gate_opens_one_case_and_its_edit_none(svc, new_edits):
    sent = referral("01KREFGATE0000000000000001", urgency="immediate", safe_now="no",
                    safety_action="Эмээгийнд нь түр байрлуулсан.", referred_to=["police", "mdt"])
    assert "error" not in write(svc, "tsetseg", sent, new_edits)
    [case] = cases_of(svc, sent["_id"])
    assert case["_id"] == f"{AREA}:case:01KREFGATE0000000000000001"
    assert (case["author"], case["coordinator"], case["team"], case["risk"], case["status"]) == \
        ("tsetseg", "enkhjargal", ["tsetseg"], "high", "open")
    assert case["data"]["safety_action"] == "Эмээгийнд нь түр байрлуулсан."
    assert cases.check_case(case, None) == []
    stored = current(svc, sent["_id"])
    edited = {**stored, "data": {**stored["data"], "urgency": "routine", "safe_now": "yes"}}
    edited["data"].pop("safety_action")
    if new_edits:
        assert "error" not in write(svc, "tsetseg", edited, True)
    else:
        edited.pop("_rev")
        assert "error" not in write(svc, "tsetseg", edited, False, parents=[stored["_rev"]])
    assert current(svc, sent["_id"])["_rev"].startswith("2-")
    assert [c["_rev"] for c in cases_of(svc, sent["_id"])] == [case["_rev"]]  # the team's case, untouched


def test_the_referral_is_seen_as_its_case_once_open(svc):
    sent = referral("01KREFSEEN0000000000000001")
    assert "error" not in write(svc, "tsetseg", sent)
    stored = current(svc, sent["_id"])
    db = svc.store.open(AREA)

    def read(cid: str):
        return next((r["doc"] for r in db.all_docs(keys=[cid], include_docs=True) if r.get("doc")), None)

    see = {n: svc.access.visible(user(svc, n), AREA, stored, sent["_id"])
           and need_to_know(user(svc, n), sent["_id"], stored, read)
           for n in ("tsetseg", "batbold", "enkhjargal", "dolgor", "admin")}
    assert see == {"tsetseg": True, "batbold": False, "enkhjargal": True, "dolgor": False, "admin": True}
    # Without a case (stored before referrals opened them), every coordinator of the soum still sees it,
    # so that one can open its case.
    assert need_to_know(user(svc, "dolgor"), sent["_id"], stored, lambda cid: None)


def test_two_app_servers_opening_the_same_case_at_once_make_one(svc, template, tmp_path):
    sent = referral("01KREFRACE0000000000000001")
    db = svc.store.open(AREA)
    assert "rev" in db.bulk_docs([check_doc(copy.deepcopy(sent), new_edits=True)])[0]  # stored, no case yet
    other = services_at(svc.settings.data_dir)  # a second app server on the same files
    try:
        servers = [svc, other]
        start = threading.Barrier(2)
        opened: list[list[str]] = [[], []]

        def run(n: int) -> None:
            start.wait()
            opened[n] = servers[n].gate.referral_cases.open(servers[n].store.open(AREA), [sent["_id"]])

        threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.store.close()
    assert sorted(len(o) for o in opened) == [0, 1]  # both may ask; the store keeps one, the other hears so
    [case] = cases_of(svc, sent["_id"])
    assert case["_rev"].startswith("1-")
    assert svc.gate.referral_cases.open(db, [sent["_id"]]) == []  # asked again later: nothing


def test_a_released_referral_opens_its_case(svc):
    sent = {**referral("01KREFHELD0000000000000001"), "form_version": 9}
    result = write(svc, "tsetseg", sent)
    assert result.get("error") == "forbidden"
    assert cases_of(svc, sent["_id"]) == []
    [entry] = [e for e in svc.quarantine.list(None) if e["doc_id"] == sent["_id"]]
    release(svc.store, svc.forms, svc.quarantine, entry["_id"], by="admin", form_version=1,
            referral_cases=svc.gate.referral_cases)
    assert [c["author"] for c in cases_of(svc, sent["_id"])] == ["tsetseg"]
