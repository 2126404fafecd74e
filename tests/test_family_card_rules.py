"""The family card's and the child register's rules (sync/families.py), one by one, without a server."""

from __future__ import annotations

from datetime import date

from sync import families

FAM = "uvs-tes:fam:01JFAM00000000000000000001"
CARD = "uvs-tes:fes:01JFAM00000000000000000001"
CODES = {"wash", "growth"}


def card(**areas) -> dict:
    return {"_id": CARD, "type": "fes", "family": FAM, "areas": areas}


def entry(*steps: str) -> dict:
    return {"status": steps[-1], "history": [{"status": s, "date": f"2026-0{i + 1}-01"} for i, s in enumerate(steps)]}


def fields(problems: list[dict]) -> list[str]:
    return [p["field"] for p in problems]


def test_each_allowed_step_and_the_refused_ones():
    assert families.check_card(card(wash=entry("awareness", "assessment", "action", "awareness")), None, CODES) == []
    assert families.check_card(card(wash=entry("awareness", "awareness", "assessment")), None, CODES) == []
    for bad in (("assessment",), ("awareness", "action"), ("awareness", "assessment", "action", "assessment")):
        problems = families.check_card(card(wash=entry(*bad)), None, CODES)
        assert fields(problems) == ["areas.wash"] and "next step" in problems[0]["message"], bad


def test_the_status_is_the_newest_entrys_and_states_are_enumerated():
    wrong = entry("awareness", "assessment") | {"status": "awareness"}
    assert "newest entry" in families.check_card(card(wash=wrong), None, CODES)[0]["message"]
    assert fields(families.check_card(card(wash={"status": "done", "history": []}), None, CODES)) == ["areas.wash"]
    assert "history" in families.check_card(card(wash=entry("awareness") | {"extra": 1}), None, CODES)[0]["message"]
    bad_date = {"status": "awareness", "history": [{"status": "awareness", "date": "2026-02-30"}]}
    assert fields(families.check_card(card(wash=bad_date), None, CODES)) == ["areas.wash"]
    long_note = {"status": "awareness", "history": [{"status": "awareness", "date": "2026-02-01", "note": "x" * 1001}]}
    assert fields(families.check_card(card(wash=long_note), None, CODES)) == ["areas.wash"]


def test_history_only_grows_from_the_stored_revision():
    stored = card(wash=entry("awareness", "assessment"))
    grown = card(wash=entry("awareness", "assessment", "action"))
    assert families.check_card(grown, stored, CODES) == []
    shrunk = card(wash=entry("awareness"))
    assert "cannot be changed" in families.check_card(shrunk, stored, CODES)[0]["message"]
    # The next step is judged from the stored state, not from the start.
    skip = card(wash={"status": "awareness", "history": [*stored["areas"]["wash"]["history"],
                                                         {"status": "awareness", "date": "2026-05-01"}]})
    assert "From assessment" in families.check_card(skip, stored, CODES)[0]["message"]


def test_an_area_taken_off_the_list_stays_on_a_card_unchanged_but_takes_no_new_step():
    stored = card(gardening=entry("awareness"), wash=entry("awareness"))
    kept = card(gardening=entry("awareness"), wash=entry("awareness", "assessment"))
    assert families.check_card(kept, stored, CODES) == []  # "gardening" is no longer configured
    stepped = card(gardening=entry("awareness", "assessment"), wash=entry("awareness"))
    problems = families.check_card(stepped, stored, CODES)
    assert fields(problems) == ["areas.gardening"] and "not a programme area" in problems[0]["message"]


def test_a_card_belongs_to_a_family_of_its_area_under_the_familys_key():
    assert "family" in fields(families.check_card({**card(), "family": "ovr-kharkhorin:fam:X"}, None, CODES))
    other = {**card(), "_id": "uvs-tes:fes:SOMETHINGELSE"}
    assert fields(families.check_card(other, None, CODES)) == ["_id"]
    assert fields(families.check_card({**card(), "colour": "red"}, None, CODES)) == ["colour"]
    assert families.check_card({"_id": CARD, "_deleted": True}, None, CODES) == []


def test_a_childs_register_document():
    good = {"_id": "uvs-tes:child:01JCHILD", "type": "child", "name": "Бат", "sex": "f", "dob": "2024-01-31",
            "family": FAM}
    assert families.check_child(good, date(2026, 12, 6)) == []
    assert fields(families.check_child({**good, "dob": "2026-12-07"}, date(2026, 12, 6))) == ["dob"]
    assert fields(families.check_child({**good, "name": "  "}, date(2026, 12, 6))) == ["name"]
    assert fields(families.check_child({**good, "family": "uvs-tes:kg:01J"}, date(2026, 12, 6))) == ["family"]
    problems = families.check_child({**good, "sex": "x"}, date(2026, 12, 6))
    assert problems[0]["message"].texts["mn"] == "Хүйс f эсвэл m байх ёстой."


def test_programme_areas_are_checked_before_saving():
    for items, rule in (([], "empty"), ([{"code": "A", "text": {"mn": "а", "en": "a"}}], "bad_code"),
                        ([{"code": "a", "text": {"mn": "а", "en": "a"}}] * 2, "duplicate_code"),
                        ([{"code": "a", "text": {"mn": "", "en": "a"}}], "missing_text")):
        try:
            families.check_areas(items)
        except families.AreaProblem as problem:
            assert problem.code == rule
        else:
            raise AssertionError(f"{items} passed")
    assert [a["code"] for a in families.default_areas()] == [c for c, *_ in families.DEFAULT_AREAS]
    assert len(families.default_areas()) == 13
