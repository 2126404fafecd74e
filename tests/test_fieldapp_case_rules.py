"""The field app's case rules against the server's (sync/cases.py check_case and write_denial).

``fieldapp/test/case_rules.json`` holds the server's answers to the cases of
tests/fieldapp_case_rules.py (the field app's Node tests check ``checkCase``
and ``writeDenial`` against it, and its follow-up against the revision
``cases.changed`` makes); here: the file is what the server says today, so a
change of a rule on the server shows up as a stale file. The same goes for the
family assessment's default indicators the app carries; and the app agrees
with the server on random revisions beyond the file.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import subprocess
from unittest import mock

import pytest
from fieldapp_case_rules import (
    CURRENT,
    INDICATORS,
    REPO,
    RULES,
    build,
    follow_up_revision,
    render,
    render_indicators,
)

from programmes import family_assessment
from sync import cases
from sync.accounts.users import User

CLI = REPO / "fieldapp" / "tools" / "check_case_cli.mjs"


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


def _node_answers(rows: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the field app's case rules (make install)")
    proc = subprocess.run([node, str(CLI)], input=json.dumps({"cases": rows}), capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(proc.stdout)


def _random_text(rng: random.Random) -> object:
    pieces = ["a", "Ө", "\U0001D400", " ", "\n", "0", "-"]
    return rng.choice(["".join(rng.choice(pieces) for _ in range(rng.choice([0, 1, 3, 3999, 4000, 4001]))), None, 5])


def _random_date(rng: random.Random) -> object:
    return rng.choice([
        "2026-12-05", f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}",
        f"{rng.randint(1999, 2030)}-02-{rng.randint(27, 30):02d}", "2026-12-05\n", "᠒᠐᠒᠖-᠑᠒-᠐᠕", None, "", 0, False,
        20261205])


def _mutate(rng: random.Random, doc: dict, old: dict) -> None:
    """One change a device, a bug or a hand might make to a case revision."""
    data = doc["data"]
    visits = [v for v in data["follow_ups"] if isinstance(v, dict)]
    history = [h for h in data["history"] if isinstance(h, dict)] if isinstance(data["history"], list) else []
    choice = rng.randrange(16)
    if choice == 0 and visits:
        rng.choice(visits)[rng.choice(["due", "done_on"])] = _random_date(rng)
    elif choice == 1 and visits:
        rng.choice(visits)["mode"] = rng.choice(["visit", "phone", "Visit", None, "sms", 1])
    elif choice == 2 and visits:
        rng.choice(visits)["notes"] = _random_text(rng)
    elif choice == 3 and visits:
        rng.choice(visits).pop(rng.choice(["due", "done_on", "mode", "notes"]), None)
    elif choice == 4:
        data["follow_ups"].append(rng.choice([{"due": _random_date(rng)}, "x", None, []]))
    elif choice == 5 and history:
        entry = rng.choice(history)
        entry[rng.choice(["by", "at", "n"])] = rng.choice([True, 1, 1.0, "1", None, "oyunaa"])
    elif choice == 6:
        data["history"] = rng.choice([history[1:], history[::-1], [], None, "x", [*history, {"n": True}]])
    elif choice == 7:
        doc["status"] = rng.choice(["open", "in_progress", "closed", "Closed", None])
        old["status"] = rng.choice(["open", "in_progress", "closed"])
    elif choice == 8:
        data["closure"] = rng.choice([None, {}, [], "", 0, {"reason": rng.choice(["moved", "lost", None])},
                                      {"reason": "goals_met", "note": _random_text(rng)}])
    elif choice == 9:
        doc["team"] = rng.choice([["bolormaa"], ["dulmaa", "bolormaa"], ["bolormaa", "bolormaa"], [], "x",
                                  [f"w{n}" for n in range(rng.choice([19, 20, 21]))], ["Bolormaa"], [3]])
    elif choice == 10:
        doc[rng.choice(["coordinator", "author"])] = rng.choice(["oyunaa", "dulmaa", "a" * 64, "a" * 65, None, ""])
    elif choice == 11:
        doc["former"] = rng.choice([[], ["tsetseg"], None, "x", [f"w{n}" for n in range(rng.choice([200, 201]))]])
    elif choice == 12 and data["services"]:
        service = rng.choice(data["services"])
        key = rng.choice(["type", "response", "referred_at", "due_by", "provider"])
        service[key] = (_random_date(rng) if key in ("referred_at", "due_by") else _random_text(rng)
                        if key == "provider" else rng.choice(["health", "police", "pending", None, "x"]))
    elif choice == 13:
        doc[rng.choice(["zeta", "_local_seq", "_deleted_conflicts", "risk_score"])] = 1
    elif choice == 14:
        doc["risk"] = rng.choice(["low", "medium", "high", "High", None])
    else:
        data[rng.choice(["narrative", "child_name", "safety_action"])] = _random_text(rng)


def test_app_agrees_with_the_server_on_random_revisions():
    rng = random.Random(19)
    rows = []
    for _ in range(1500):
        old = copy.deepcopy(CURRENT)
        doc = follow_up_revision()
        for _ in range(rng.choice([1, 1, 2, 3])):
            _mutate(rng, doc, old)
        user = rng.choice(["bolormaa", "bolormaa", "oyunaa", "tsetseg"])
        existing = rng.choice([old, old, old, None])
        rows.append({"doc": doc, "existing": existing, "user": user})
    app = _node_answers(rows)
    found = []
    real = cases.message

    def recording(key: str, **params):
        found.append(key)
        return real(key, **params)

    differ = []
    with mock.patch.object(cases, "message", recording):
        for row, answer in zip(rows, app, strict=True):
            found.clear()
            denied = cases.write_denial(User(name=row["user"], role="worker", areas=["uvs-tes"]), row["doc"],
                                        row["existing"])
            denial = found[0] if denied is not None else None
            found.clear()
            problems = [[p["field"], key] for p, key in
                        zip(cases.check_case(row["doc"], row["existing"]), found, strict=True)]
            if answer != {"denial": denial, "problems": problems}:
                differ.append((row, answer, denial, problems))
    assert not differ, f"{len(differ)} of {len(rows)} differ; first: {differ[0]}"
    # The random revisions reach the rules: refused and accepted ones, every kind of problem.
    assert sum(1 for a in app if not a["problems"] and a["denial"] is None) > 100
    assert {key for a in app for _, key in a["problems"]} >= {"date", "choice", "text", "history", "team", "list"}
