"""The LQAS survey's indicators: which answers of ``lqas_interview`` make each one.

An indicator is the respondents it applies to (eligibility), a numerator rule
over one interview's answer to one question, and the coverage target its
decision rule is looked up with (``programmes.lqas.DecisionRules``). Each
interview gives 1 (correct), 0 (not) or None (not eligible, no consent, or
not answered), which is what ``programmes.lqas.tabulate`` counts.

The rules are data, not code, so that an admin can set up a survey from the
web page (``sync.lqas_setup``) without a release: a question reference, the
answers that count as correct (for a multiple choice, how many of them the
respondent must name), and eligibility conditions ``field op value`` that must
all hold (each on any question of the form: "child 12-23 months *and* born in
the soum"). A survey whose numerator needs more than one question is another
form and another list. ``INDICATORS`` is the
bundled survey's list, used until an admin saves one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

FORM = "lqas_interview"
CRITICAL_HANDWASH = ("after_toilet", "before_cooking", "before_feeding", "after_cleaning_child")
YES_NO = ("yes", "no")
OPERATORS = ("=", "!=", ">=", "<=", ">", "<")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}\Z")
MAX_INDICATORS = 40
MAX_LABEL = 200
MAX_CONDITIONS = 8

Condition = tuple[str, str, Any]  # (field, operator, value)


@dataclass(frozen=True)
class Indicator:
    key: str
    label: dict[str, str]
    target: int  # percent
    question: str  # a field of the form
    correct: tuple[str, ...]  # the answers (choice names) that count as correct
    at_least: int = 1  # of ``correct`` a multiple-choice answer must name
    eligible: tuple[Condition, ...] = ()  # all must hold; consent is always required
    multiple: bool = False  # the question is a multiple choice
    choices: tuple[str, ...] = ()  # the question's answers: any other is taken as no answer

    def is_eligible(self, data: dict[str, Any]) -> bool:
        return data.get("consent") == "yes" and all(holds(c, data) for c in self.eligible)

    def value(self, data: dict[str, Any]) -> int | None:
        """1, 0, or None when the respondent is not eligible or (a single choice) did not answer."""
        if not self.is_eligible(data):
            return None
        answer = data.get(self.question)
        if self.multiple or isinstance(answer, list):  # none named (or left out) is wrong, not missing
            named = {a for a in answer if isinstance(a, str)} if isinstance(answer, list) else set()
            return int(len(named.intersection(self.correct)) >= self.at_least)
        if not isinstance(answer, str) or not answer or (self.choices and answer not in self.choices):
            return None
        return int(answer in self.correct)

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": dict(self.label), "target": self.target, "question": self.question,
                "correct": list(self.correct), "at_least": self.at_least,
                "eligible": [list(c) for c in self.eligible], "multiple": self.multiple,
                "choices": list(self.choices)}

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> Indicator:
        return cls(item["key"], dict(item["label"]), item["target"], item["question"], tuple(item["correct"]),
                   item.get("at_least", 1), conditions_of(item.get("eligible")),
                   bool(item.get("multiple", False)), tuple(item.get("choices") or ()))


def conditions_of(eligible: Any) -> tuple[Condition, ...]:
    """Both stored shapes: a set-up saved before several conditions were possible holds one
    ``[field, op, value]`` (or null); now a list of them."""
    if not eligible:
        return ()
    if isinstance(eligible[0], str):
        return ((eligible[0], eligible[1], eligible[2]),)
    return tuple((c[0], c[1], c[2]) for c in eligible)


def holds(condition: Condition, data: dict[str, Any]) -> bool:
    """One condition on one interview; an answer missing or of another type does not hold."""
    name, op, want = condition
    have = data.get(name)
    if isinstance(want, str):
        if not isinstance(have, str) or op not in ("=", "!="):
            return False
    elif isinstance(have, bool) or not isinstance(have, int | float):
        return False
    return {"=": have == want, "!=": have != want, ">=": have >= want, "<=": have <= want,
            ">": have > want, "<": have < want}[op]


INDICATORS: tuple[Indicator, ...] = (
    Indicator("fully_vaccinated", {"en": "Children 12-23 months fully vaccinated (card)",
                                   "mn": "12-23 сартай хүүхэд бүрэн вакцинжсан (карт)"},
              80, "fully_vaccinated", ("yes",), eligible=(("child_age_months", ">=", 12),),
              choices=YES_NO),
    Indicator("weighed_3_months", {"en": "Child weighed in the last 3 months",
                                   "mn": "Хүүхдийг сүүлийн 3 сард жинлүүлсэн"},
              85, "weighed_3_months", ("yes",), choices=YES_NO),
    Indicator("knows_ors", {"en": "Mother knows how to prepare ORS",
                            "mn": "Эх ШНУ бэлтгэхийг мэддэг"},
              50, "knows_ors", ("yes",), choices=YES_NO),
    Indicator("handwashing", {"en": "Mother names at least 2 critical times for handwashing",
                              "mn": "Эх гар угаах чухал 2-оос доошгүй үеийг нэрлэсэн"},
              60, "handwash_times", CRITICAL_HANDWASH, at_least=2, multiple=True,
              choices=(*CRITICAL_HANDWASH, "other")),
)
BY_KEY = {i.key: i for i in INDICATORS}


def indicator_values(data: dict[str, Any], indicators: tuple[Indicator, ...] = INDICATORS
                     ) -> dict[str, int | None]:
    """Each indicator's 1/0/None for one interview's answers."""
    return {i.key: i.value(data) for i in indicators}


def rules_fingerprint(indicators: tuple[Indicator, ...]) -> str:
    """What the per-interview values depend on (not targets or labels): when it changes, counts made
    with the old rules are wrong and the report index counts its areas again."""
    rules = [[i.key, i.question, list(i.correct), i.at_least, _eligible_print(i.eligible), i.multiple,
              list(i.choices)] for i in indicators]
    return hashlib.sha1(orjson.dumps(rules)).hexdigest()[:16]


def _eligible_print(conditions: tuple[Condition, ...]) -> Any:
    # None and one condition print as they did when one was the most, so an unchanged set-up keeps
    # its fingerprint (and the report index its counts) across the upgrade.
    if not conditions:
        return None
    if len(conditions) == 1:
        return list(conditions[0])
    return [list(c) for c in conditions]


# -- checking an admin's list ------------------------------------------------------------------------

@dataclass
class SetupProblem(ValueError):
    """Why a survey set-up cannot be saved: ``code`` names the rule (pages translate it), ``row`` is 1-based."""

    code: str
    row: int | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} (row {self.row}): {self.params}"


def whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", value):
        return int(value)
    return None


def check_indicators(items: list[dict[str, Any]], questions: dict[str, dict[str, Any]]) -> tuple[Indicator, ...]:
    """The admin's indicators as checked ``Indicator``s, or the first ``SetupProblem``.

    ``questions`` are the form's top-level fields by name (``{"type", "choices": [names]}``): a
    question must be a single or multiple choice, its correct answers among its choices; an
    eligibility field a number (compared with a number) or a single choice (= or != one of its
    choices). Items come as the page sends them: ``correct`` a list or a comma-separated text,
    numbers as text.
    """
    if not items:
        raise SetupProblem("no_indicators")
    if len(items) > MAX_INDICATORS:
        raise SetupProblem("too_many_indicators", None, {"max": MAX_INDICATORS})
    out: list[Indicator] = []
    seen: set[str] = set()
    for row, item in enumerate(items, start=1):
        key = str(item.get("key") or "").strip()
        if not KEY_RE.match(key):
            raise SetupProblem("bad_key", row)
        if key in seen:
            raise SetupProblem("duplicate_key", row, {"key": key})
        seen.add(key)
        label = {lang: " ".join(str((item.get("label") or {}).get(lang) or "").split()) for lang in ("mn", "en")}
        if not label["mn"] or not label["en"]:
            raise SetupProblem("missing_label", row)
        if any(len(t) > MAX_LABEL for t in label.values()):
            raise SetupProblem("label_too_long", row, {"max": MAX_LABEL})
        target = whole_number(item.get("target"))
        if target is None or not 1 <= target <= 99:
            raise SetupProblem("bad_target", row)
        question = str(item.get("question") or "").strip()
        spec = questions.get(question)
        if spec is None or spec["type"] not in ("select_one", "select_multiple"):
            raise SetupProblem("bad_question", row)
        raw = item.get("correct")
        names = raw if isinstance(raw, list) else str(raw or "").split(",")
        correct = tuple(dict.fromkeys(str(n).strip() for n in names if str(n).strip()))
        if not correct:
            raise SetupProblem("no_correct", row)
        unknown = [c for c in correct if c not in spec["choices"]]
        if unknown:
            raise SetupProblem("unknown_answer", row, {"answer": unknown[0][:40],
                                                       "choices": ", ".join(spec["choices"])})
        at_least = whole_number(item.get("at_least") if item.get("at_least") not in (None, "") else 1)
        if at_least is None or not 1 <= at_least <= len(correct) or (
                at_least > 1 and spec["type"] != "select_multiple"):
            raise SetupProblem("bad_at_least", row, {"most": len(correct) if spec["type"] == "select_multiple" else 1})
        out.append(Indicator(key, label, target, question, correct, at_least,
                             _check_eligible(row, item.get("eligible"), questions),
                             spec["type"] == "select_multiple", tuple(spec["choices"])))
    return tuple(out)


def _check_eligible(row: int, eligible: Any, questions: dict[str, dict[str, Any]]) -> tuple[Condition, ...]:
    """The conditions of one indicator (either stored shape; rows whose question is empty are left
    out), each checked; a problem names the indicator's row and the condition's (1-based)."""
    if not eligible:
        return ()
    if not isinstance(eligible, list | tuple):
        raise SetupProblem("bad_eligible_field", row, {"condition": 1})
    items = [eligible] if isinstance(eligible[0], str | None) else list(eligible)
    out: list[Condition] = []
    number = 0
    for item in items:
        if not isinstance(item, list | tuple) or len(item) != 3:
            raise SetupProblem("bad_eligible_field", row, {"condition": number + 1})
        if not str(item[0] or "").strip() and not str(item[1] or "").strip() and item[2] in (None, ""):
            continue  # an empty condition row
        number += 1
        if number > MAX_CONDITIONS:
            raise SetupProblem("too_many_conditions", row, {"max": MAX_CONDITIONS})
        out.append(_check_condition(row, number, item, questions))
    return tuple(out)


def _check_condition(row: int, number: int, item: Any, questions: dict[str, dict[str, Any]]) -> Condition:
    name, op, value = (str(item[0] or "").strip(), str(item[1] or "").strip(), item[2])
    where = {"condition": number}
    spec = questions.get(name)
    if spec is None or spec["type"] not in ("integer", "decimal", "select_one"):
        raise SetupProblem("bad_eligible_field", row, where)
    if op not in OPERATORS:
        raise SetupProblem("bad_operator", row, where)
    if spec["type"] == "select_one":
        value = str(value if value is not None else "").strip()
        if op not in ("=", "!=") or value not in spec["choices"]:
            raise SetupProblem("bad_eligible_choice", row, {**where, "choices": ", ".join(spec["choices"])})
        return (name, op, value)
    whole = whole_number(value)
    if whole is None:
        raise SetupProblem("bad_eligible_number", row, where)
    return (name, op, whole)


def form_questions(definitions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The top-level fields of the form's versions (the newest wins): ``name -> {"type", "choices"}``."""
    out: dict[str, dict[str, Any]] = {}
    for definition in sorted(definitions, key=lambda d: d.get("version", 0)):
        lists = definition.get("choices") or {}
        for f in definition.get("fields") or []:
            choices = [c["name"] for c in lists.get(f.get("list_name"), [])] if f.get("list_name") else []
            out[f["name"]] = {"type": f.get("type"), "choices": choices, "label": f.get("label") or {}}
    return out
