"""The field app's child rule against the server's (sync/families.py check_child).

``fieldapp/test/child_rules.json`` holds the server's answers to the cases of
tests/fieldapp_child_rules.py (the field app's Node tests check ``checkChild``
against it); here: the file is what the server says today, so a change of the
rule on the server shows up as a stale file, and the app agrees with the
server on thousands of random children beyond it.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from fieldapp_child_rules import FAM, GOOD, REPO, RULES, build, render

from sync import families

CLI = REPO / "fieldapp" / "tools" / "check_child_cli.mjs"


def test_rules_file_is_what_the_server_answers():
    assert RULES.read_text(encoding="utf-8") == render(build()), (
        "fieldapp/test/child_rules.json is stale: run .venv/bin/python tests/fieldapp_child_rules.py")


def test_rules_file_holds_cases_where_the_languages_differ():
    rows = {c["what"]: c["fields"] for c in build()["cases"]}
    assert rows["name: BOM (JS space, not Python)"] == []  # JavaScript's trim() would refuse it
    assert rows["name: NEL (Python space, not JS)"] == ["name"]  # and accept this one
    assert rows["name: 200 letters beyond U+FFFF (400 UTF-16 units)"] == []
    assert rows["_deleted [] is false in Python"] != []
    assert rows["unknown fields in code-point order"] == ["Alpha", "_local_seq", "zeta", "\uffff", "\U0001F600"]
    assert rows["family: NEL in the key (Python space, not JS)"] == ["family"]
    assert rows["family: BOM in the key (JS space, not Python)"] == []
    assert rows["dob: Mongolian digits"] == ["dob"] and rows["dob: leap day"] == []


def _node_fields(cases: list[dict]) -> list[list[str]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the field app's child rule (make install)")
    proc = subprocess.run([node, str(CLI)], input=json.dumps({"cases": cases}), capture_output=True, text=True,
                          timeout=120, check=True)
    return json.loads(proc.stdout)


def _random_text(rng: random.Random) -> str:
    pieces = [" ", "\t", "\x85", "\x1c", "\ufeff", "\u3000", "\xa0", "\u180e", "Ө", "a", ":", "\U0001D400",
              "K", "-", "\n", "0", "\u2028"]
    return "".join(rng.choice(pieces) for _ in range(rng.choice([0, 1, 2, 3, 5, 199, 200, 201, 202])))


def _random_date(rng: random.Random, today: date) -> object:
    near = today + timedelta(days=rng.randint(-3, 3))
    return rng.choice([
        near.isoformat(), f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}",
        f"{rng.randint(1999, 2030)}-02-{rng.randint(27, 30):02d}", near.isoformat() + rng.choice(["", " ", "\n"]),
        None, 20240101, "",
    ])


def _random_value(rng: random.Random, key: str, today: date) -> object:
    if key == "name":
        return rng.choice([_random_text(rng), None, 3])
    if key == "sex":
        return rng.choice(["f", "m", "F", "", None, "x"])
    if key == "dob":
        return _random_date(rng, today)
    if key == "family":
        return rng.choice([FAM, "uvs-tes:fam:" + _random_text(rng), "uvs-naran:fam:X", "uvs-tes:kg:X", None])
    if key == "type":
        return rng.choice(["child", "family", None])
    return _random_text(rng) if key == "bag" else 1


def test_app_agrees_with_the_server_on_random_children():
    rng = random.Random(19)
    cases = []
    for _ in range(3000):
        today = date(2026, 1, 1) + timedelta(days=rng.randint(0, 800))
        doc = dict(GOOD)
        for key in rng.sample(["name", "sex", "dob", "family", "type", "bag", "extra"], k=rng.randint(0, 4)):
            doc[key] = _random_value(rng, key, today)
        if rng.random() < 0.05:
            doc["_deleted"] = rng.choice([True, [], {}, 0, "x", [0]])
        cases.append({"doc": doc, "today": today.isoformat()})
    answers = _node_fields(cases)
    differ = []
    for case, answer in zip(cases, answers, strict=True):
        want = [p["field"] for p in families.check_child(case["doc"], date.fromisoformat(case["today"]))]
        if answer != want:
            differ.append((case, want, answer))
    assert differ == [], f"{len(differ)} differ, first: {differ[:3]}"
    assert sum(1 for a in answers if a == []) > 100  # not all refused
