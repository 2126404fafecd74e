"""The field app checks answers as the server does: same problems, same words, same order.

A worker sees the app's messages while typing; the server's write gate decides.
If the two disagree, a form that looked complete on the phone is refused after
the trip. Here the app's validator (fieldapp/src/form/validate.js, run by Node)
and the server's (schemas.compile_form) check the same answers: every bundled
form, with answers made at random from each definition (valid ones, blanks,
wrong types, out-of-range numbers, unknown keys, answers to skipped questions),
in English and Mongolian.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from schemas import bundled_forms, compile_form
from schemas import evaluation as ev
from schemas.messages import CATALOG
from sync.demo import child_growth, household_visit, protection_referral

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "fieldapp" / "tools" / "validate_cli.mjs"
TODAY = "2026-05-10"


def test_app_messages_are_the_servers():
    app = json.loads((REPO / "fieldapp" / "src" / "form" / "messages.json").read_text(encoding="utf-8"))
    assert app == CATALOG


def _answer(field: dict, choices: dict, rng: random.Random, depth: int = 0):
    kind = field["type"]
    junk = [None, "", [], 0, -1, 3.5, "abc", True, {"x": 1}, ["x"], "2026-13-01", 10**6]
    if rng.random() < 0.15:
        return rng.choice(junk)
    if kind == "text":
        text = rng.choice(["Батбаяр", "ab", "9911223", "99112233", "x" * rng.randint(0, 120), " ", "é🏠"])
        return text
    if kind == "integer":
        low, high = field.get("min", -5), field.get("max", 200)
        return rng.randint(low - 2, high + 2)
    if kind == "decimal":
        low, high = field.get("min", -5), field.get("max", 200)
        return round(rng.uniform(low - 1, high + 1), rng.randint(0, 3))
    if kind == "date":
        return rng.choice(["2026-05-09", "2026-05-11", "2023-12-31", "2024-02-29", "2025-02-29",
                           "2026-1-01", f"20{rng.randint(10, 30)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"])
    if kind == "datetime":
        return rng.choice(["2026-05-10T10:00:00+08:00", "2026-05-10T10:00Z", "2026-05-10T25:00:00",
                           "2026-05-10T10:00:00.123456789+0800", "2026-05-10", "2026-05-10T10:00:00+24:00"])
    if kind == "select_one":
        return rng.choice([c["name"] for c in choices[field["list_name"]]] + ["nope"])
    if kind == "select_multiple":
        names = [c["name"] for c in choices[field["list_name"]]]
        picked = rng.sample(names, k=rng.randint(0, min(4, len(names))))
        if rng.random() < 0.1:
            picked.append(picked[0] if picked else "nope")
        return picked
    if kind == "geopoint":
        return rng.choice([{"lat": 47.9, "lon": 106.9, "accuracy": 10}, {"lat": 95, "lon": 0},
                           "47.9 106.9", "47.9 106.9 1200 5", "47.9", {"lat": 1, "lon": 2, "x": 3},
                           {"lat": 47.9, "lon": 106.9, "accuracy": -1}])
    if kind == "image":
        return rng.choice(["photo.jpg", "missing.jpg", "notes.txt"])
    if kind == "note":
        return rng.choice([None, None, "text"])
    if kind == "group":
        return _answers(field["fields"], choices, rng, depth + 1)
    if kind == "repeat":
        if depth > 2:
            return []
        return [_answers(field["fields"], choices, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    raise AssertionError(kind)


def _answers(fields: list[dict], choices: dict, rng: random.Random, depth: int = 0) -> dict:
    out = {}
    for field in fields:
        if rng.random() < 0.85:
            out[field["name"]] = _answer(field, choices, rng, depth)
    if rng.random() < 0.05:
        out["not_a_question"] = 1
    return out


@pytest.fixture(scope="module")
def node():
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is needed to run the field app's validator (make install)")
    return found


def test_app_validates_as_the_server_does(node):
    rng = random.Random(2026)
    forms = {f"{d['form']}:{d['version']}": d for d in bundled_forms()}
    attachments = {"photo.jpg": {"content_type": "image/jpeg", "stub": True},
                   "notes.txt": {"content_type": "text/plain", "stub": True}}
    cases = []
    for key, definition in forms.items():
        for i in range(150):
            data = _answers(definition["fields"], definition["choices"], rng)
            if i % 10 == 0:
                data = rng.choice([data, [], "x", None])
            cases.append({"form": key, "data": data, "attachments": attachments, "lang": rng.choice(["en", "mn"])})
    demo = {"household_visit:1": household_visit, "child_growth:1": child_growth,
            "child_protection_referral:1": protection_referral}
    for key, make in demo.items():
        for _ in range(60):
            data = make(rng)
            if rng.random() < 0.5:  # one answer changed: most often still valid, or one problem
                name = rng.choice(list(data))
                field = next((f for f in forms[key]["fields"] if f["name"] == name), None)
                if field is not None:
                    data[name] = _answer(field, forms[key]["choices"], rng)
            cases.append({"form": key, "data": data, "attachments": attachments, "lang": rng.choice(["en", "mn"])})
    saved = list(ev._today)
    ev._today[:] = [math.inf, TODAY]
    try:
        expected = [compile_form(forms[c["form"]]).validate(c["data"], c["attachments"], lang=c["lang"])
                    for c in cases]
    finally:
        ev._today[:] = saved
    proc = subprocess.run([node, str(CLI)], input=json.dumps({"today": TODAY, "forms": forms, "cases": cases}),
                          capture_output=True, text=True, timeout=120, check=True)
    answers = json.loads(proc.stdout)
    differ = [(c["form"], c["data"], e, a) for c, e, a in zip(cases, expected, answers, strict=True) if e != a]
    assert differ == [], f"{len(differ)} of {len(cases)} differ; first: {differ[:2]}"
    assert sum(1 for e in expected if e == []) >= 30  # many valid ones, not only refusals
    assert sum(len(e) for e in expected) > 1000


def test_a_form_may_say_how_the_app_resizes_its_photos():
    from schemas import FormDefinitionError, load_definition

    definition = next(d for d in bundled_forms() if d["form"] == "household_visit")
    loaded = load_definition({**definition, "photos": {"max_side": 1600, "quality": 0.6}})
    assert loaded["photos"] == {"max_side": 1600, "quality": 0.6}
    assert "photos" not in load_definition(definition)  # the app's defaults then
    for bad, where in [({"max_side": 100}, "photos.max_side"), ({"quality": "0.7"}, "photos.quality"),
                       ({"quality": True}, "photos.quality"), ({"max_side": 1280.0}, "photos.max_side"),
                       ({"dpi": 300}, "photos.dpi"), ("large", "photos")]:
        with pytest.raises(FormDefinitionError) as caught:
            load_definition({**definition, "photos": bad})
        assert [p["path"] for p in caught.value.problems] == [where], bad
