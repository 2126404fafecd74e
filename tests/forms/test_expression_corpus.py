"""The shared expression corpus, and the field app's evaluator against the server's.

``schemas/expression_corpus.json`` holds the server's answers to every case of
tests/forms/expression_corpus_cases.py; the field app's Node tests check its
JavaScript evaluator against the same file. Here: the file is what Python says
today (so a change of meaning on the server shows up as a stale corpus), and the
JavaScript evaluator agrees with Python on thousands of random expressions,
answers and date strings beyond the corpus.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest
from expression_corpus_cases import (
    ANSWERS,
    CORPUS,
    REPO,
    TODAY,
    build,
    encode,
    evaluate_case,
    random_expression,
    render,
)

CLI = REPO / "fieldapp" / "tools" / "evaluate_cli.mjs"


def test_corpus_is_what_the_server_answers():
    on_disk = CORPUS.read_text(encoding="utf-8")
    assert on_disk == render(build()), (
        "schemas/expression_corpus.json is stale: run .venv/bin/python tests/forms/expression_corpus_cases.py"
    )


def test_corpus_covers_the_language():
    cases = json.loads(CORPUS.read_text(encoding="utf-8"))["cases"]
    assert len(cases) >= 500
    exprs = " ".join(c["expr"] for c in cases)
    for needle in ("today()", "regex(", "count(${children})", "selected(", "0 div 0", "${blank}",
                   "${stamp}", "round(", "if(", "."):
        assert needle in exprs, needle
    assert sum("error" in c for c in cases) >= 50
    assert any(c.get("result") == {"number": "NaN"} for c in cases)


def _node_answers(cases: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the field app's evaluator (make install)")
    proc = subprocess.run([node, str(CLI)], input=json.dumps({"today": TODAY, "cases": cases}),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def _random_answers(rng: random.Random) -> dict:
    values = dict(ANSWERS)
    for key in ("age", "weight", "name", "blank", "birth", "visit", "stamp", "spaced", "age_text"):
        values[key] = rng.choice([
            rng.randint(-5, 100), round(rng.uniform(-50, 50), rng.randint(0, 6)), "", None, True, False,
            str(rng.randint(0, 99)), f" {rng.random()} ", "1e5", "-.5", "٣", "abc", "Өвөр",
            f"{rng.randint(1, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}",
            ["a", "b"], [], {"lat": rng.uniform(-90, 90), "lon": rng.uniform(-180, 180)},
            rng.choice([1e16, 1e-5, 123456789.123, 2.5e-300, 1 / 7]),
        ])
    return values


def test_app_evaluator_agrees_on_random_expressions():
    rng = random.Random(20261)
    cases, expected = [], []
    for _ in range(1500):
        expr = random_expression(rng)
        values = _random_answers(rng)
        cases.append({"expr": expr, "values": values})
        expected.append(evaluate_case(expr, values, None))
    answers = _node_answers(cases)
    differ = [(c["expr"], e, a) for c, e, a in zip(cases, expected, answers, strict=True)
              if ({"error": e["error"]} if "error" in e else {"result": e["result"]}) != a]
    assert differ == [], f"{len(differ)} differ, first: {differ[:5]}"


def _date_like(rng: random.Random) -> str:
    """Strings the server's date reading accepts the shape of (and many it then refuses)."""
    day = f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 31):02d}"
    if rng.random() < 0.2:
        return day
    time = "".join(rng.choice("0123456789:.") for _ in range(rng.randint(1, 16)))
    if rng.random() < 0.3:
        time = rng.choice(["12", "12:30", "1230", "12:30:45", "123045", "12:30:45.5", "23:59:59.9999999"])
    zone = rng.choice(["", "", "Z", "+08:00", "-0530", "+08", "+24:00", "-23:59:59.999999", "+1",
                       "+08:00:00.5", "-", "+0800.5", "+08:"])
    return rng.choice(["", " ", "\u3000"]) + day + "T" + time + zone + rng.choice(["", " \n"])


def test_app_evaluator_reads_dates_as_the_server_does():
    rng = random.Random(7)
    texts = [_date_like(rng) for _ in range(4000)]
    cases = [{"expr": "number(${d})", "values": {"d": text}} for text in texts]
    answers = _node_answers(cases)
    differ = []
    for case, text, answer in zip(cases, texts, answers, strict=True):
        want = evaluate_case(case["expr"], case["values"], None)["result"]
        if answer != {"result": want}:
            differ.append((text, want, answer))
    assert differ == [], f"{len(differ)} differ, first: {differ[:8]}"
    assert sum(1 for a in answers if a["result"] != {"number": "NaN"}) > 200  # not all refused


def test_app_evaluator_writes_numbers_as_the_server_does():
    rng = random.Random(3)
    numbers = [rng.choice([rng.uniform(-1, 1), rng.uniform(-1e20, 1e20), 10 ** rng.uniform(-320, 308),
                           rng.randint(-10**17, 10**17) / rng.choice([1, 3, 7, 1000])])
               for _ in range(3000)]
    cases = [{"expr": "string(${n})", "values": {"n": n}} for n in numbers]
    answers = _node_answers(cases)
    differ = [(n, a) for n, a in zip(numbers, answers, strict=True)
              if a != {"result": encode(evaluate_case("string(${n})", {"n": n}, None)["result"])}]
    assert differ == [], differ[:8]
