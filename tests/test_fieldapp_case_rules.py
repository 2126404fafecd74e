"""The field app's case rules against the server's (sync/cases.py check_case and write_denial).

``fieldapp/test/case_rules.json`` holds the server's answers to the cases of
tests/fieldapp_case_rules.py (the field app's Node tests check ``checkCase``
and ``writeDenial`` against it, and its follow-up against the revision
``cases.changed`` makes); here: the file is what the server says today, so a
change of a rule on the server shows up as a stale file. The same goes for the
family assessment's default indicators the app carries.
"""

from __future__ import annotations

import json

from fieldapp_case_rules import INDICATORS, RULES, build, render, render_indicators

from programmes import family_assessment


def test_rules_file_is_what_the_server_answers():
    assert RULES.read_text(encoding="utf-8") == render(build()), (
        "fieldapp/test/case_rules.json is stale: run .venv/bin/python tests/fieldapp_case_rules.py")


def test_rules_file_holds_cases_each_rule_refuses():
    rows = {c["what"]: c for c in build()["cases"]}
    assert rows["a follow-up done, by the team"]["denial"] is None and rows["a follow-up done, by the team"]["problems"] == []
    assert {c["denial"] for c in rows.values()} >= {None, "not_team", "author_you", "no_delete", "author_fixed",
                                                    "team_by_coordinator"}
    keys = {key for c in rows.values() for _, key in c["problems"]}
    assert keys >= {"type", "unknown_field", "status", "risk", "new_open", "transition", "closure", "closure_open",
                    "coordinator", "team", "data", "list", "date", "choice", "text", "history"}
    # Where a JavaScript-minded rule would answer otherwise.
    assert rows["history: 1 kept as true (equal in Python)"]["problems"] == []
    assert rows["a visit notes 4000 letters beyond U+FFFF"]["problems"] == []
    assert rows["a visit done_on in Mongolian digits"]["problems"] == [["data.follow_ups[2].done_on", "date"]]


def test_default_indicators_are_the_servers():
    assert INDICATORS.read_text(encoding="utf-8") == render_indicators(), (
        "fieldapp/src/fes_indicators.json is stale: run .venv/bin/python tests/fieldapp_case_rules.py")
    assert [i["id"] for i in json.loads(INDICATORS.read_text(encoding="utf-8"))] == [
        i for i, *_ in family_assessment.DEFAULT_INDICATORS]
