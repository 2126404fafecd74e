"""Every problem the definition checks report has plain English and a Mongolian translation.

The corpus below makes the checks produce each kind of message (schema,
consistency, expressions, XLSForm import); a message added to a check without
a pattern in ``schemas.problem_words`` fails here instead of reaching an admin
in English on a Mongolian page.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from schemas import FormDefinitionError, load_definition, read_xlsform
from schemas.problem_words import explain, known, plain, translate, where

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from xlsforms import BAD_RELEVANT, CHOICES, SETTINGS, survey, xlsform  # noqa: E402

L = {"en": "A", "mn": "А"}
BASE = {"form": "x", "version": 1, "title": {"en": "X", "mn": "Х"}}


def q(name: str, kind: str = "integer", **more) -> dict:
    return {"name": name, "type": kind, "label": L, **more}


DEFINITIONS = [
    {}, [], {"form": "x", "version": 1},
    {"form": "X Y", "version": 0, "title": "x", "fields": [{}], "status": "bogus", "zzz": 1, "type": "f"},
    {**BASE, "version": "1", "sensitive": "yes", "fields": "x"},
    {**BASE, "fields": []},
    {**BASE, "status": "retired", "fields": [q("a")]},
    {**BASE, "retired_at": "2026-13-40", "grace_days": 5, "fields": [q("a")]},
    {**BASE, "photos": {"max_side": 10, "quality": "x", "q": 1}, "fields": [q("a")]},
    {**BASE, "choices": {"l": [{"name": "a", "label": L}, {"name": "a", "label": {"fr": "x"}}], "m": [],
                         "bad name": [{"name": "a b", "label": {}}]},
     "fields": [q("a", "note", required=True, hint={"fr": "x"}), q("s", "select_one"),
                q("t", "select_multiple", list_name="nope")]},
    {**BASE, "fields": [q("a", min=5, max=2, relevant="${b} > "), q("a", "wrong"), {"name": "g", "type": "group"},
                        q("d", "date", min="2026-01-40", max="x"), q("e", "datetime", min="now"),
                        q("f", "decimal", min="1"), q("h", "text", pattern="(", min_length=5, max_length=2,
                                                          constraint_message=L),
                        {"name": "n", "type": "text"}, q("1bad"), q("m", "text", label={"en": "M"})]},
    {**BASE, "fields": [
        q("r", "repeat", fields=[q("b")]), q("c", relevant="${b} = 1"), q("c2", relevant="${r} > 1"),
        q("c3", relevant="${a} = 1 && x"), q("c4", relevant="foo(1)"), q("c5", relevant="if(1, 2)"),
        q("c6", relevant="'abc"), q("c7", relevant="${c7} > 1"), q("c8", relevant="x = 1"),
        q("c9", relevant="regex(${c}, ${c})"), q("c10", relevant="regex(${c}, '(')"),
        q("c11", relevant="count(${c})"), q("c12", relevant=". > 1"), q("c13", relevant="/data/x = 1"),
        q("c14", relevant="${c} == 1"), q("c15", relevant="${c} ! 1"), q("c16", relevant="${c} | 1"),
        q("c17", relevant="../c = 1"), q("c18", relevant="$c = 1"), q("c19", relevant="${c = 1"),
        q("c20", relevant="1 # 2"), q("c21", relevant="${c} @ 1"), q("c22", relevant="${c}[1]"),
        q("c23", relevant="(1"), q("c24", relevant="1 1"), q("c25", relevant=""), q("c26", relevant="count(1)"),
        q("g2", "group", fields=[q("in")]), q("c27", relevant="${g2} = 1"), q("nt", "note"),
        q("c28", relevant="${nt} = 1"), q("c29", relevant="1" * 40), q("c30", relevant="x" * 2001),
        q("c31", relevant="(" * 60 + "1" + ")" * 60), q("c32", relevant="${c} && ${c}")]},
]


def xlsforms() -> list[bytes]:
    rows = survey(BAD_RELEVANT)
    rows[0]["type"] = "select_one yn or_other"
    odd = [
        {"type": "calculate", "name": "calc", "calculation": "1 + 1"},
        {"type": "audio", "name": "voice", "label::English (en)": "Voice", "label::Mongolian (mn)": "Дуу"},
        {"type": "range", "name": "rng", "label::English (en)": "R", "label::Mongolian (mn)": "Р"},
        {"type": "start", "name": "started"},
        {"type": "text", "name": "ro", "label::English (en)": "T", "label::Mongolian (mn)": "Т", "read_only": "yes",
         "required": "${x} = 1", "default": "a", "label::Klingon": "Q"},
        {"type": "begin_repeat", "name": "rep", "label::English (en)": "R", "label::Mongolian (mn)": "Р",
         "repeat_count": "${x}"},
        {"type": "integer", "name": "in_rep", "label::English (en)": "I", "label::Mongolian (mn)": "И"},
        {"type": "end_repeat"},
        {"type": "select_one_from_file wells.csv", "name": "fromfile", "label::English (en)": "F",
         "label::Mongolian (mn)": "Ф"},
    ]
    settings = {**SETTINGS, "version": "v2", "sensitive": "maybe", "instance_name": "x"}
    del settings["form_title::Mongolian (mn)"]
    choices = [*CHOICES, {"list_name": "yn", "name": "maybe", "label::English (en)": "Maybe",
                          "label::Mongolian (mn)": "Магадгүй", "filter": "x"}]
    return [xlsform(rows), xlsform(odd, choices, settings), b"not a workbook"]


def problems() -> list[dict]:
    found = []
    for definition in DEFINITIONS:
        with pytest.raises(FormDefinitionError) as caught:
            load_definition(definition)
        found.extend(caught.value.problems)
    for data in xlsforms():
        with pytest.raises(FormDefinitionError) as caught:
            read_xlsform(io.BytesIO(data))
        found.extend(caught.value.problems)
    return found


def test_every_problem_the_checks_report_has_mongolian():
    found = problems()
    assert len({p["message"] for p in found}) > 70  # the corpus reaches most of the checks' messages
    unknown = sorted({plain(p["message"]) for p in found if not known(p["message"])})
    assert unknown == []
    untranslated = [p["message"] for p in found if translate(p["message"], "mn") == plain(p["message"])]
    assert untranslated == []


def test_plain_words_replace_marshmallows_wording():
    assert plain("Not a valid mapping type.") == "Must be an object of keys and values (in JSON: { ... })."
    assert translate("Missing data for required field.", "mn") == "Заавал байх ёстой боловч алга байна."
    assert translate("relevant: ${b} is not a question of this form (col 1)", "mn") == (
        "relevant: ${b} энэ маягтын асуулт биш (1-р тэмдэгт)")
    assert translate("A message no check writes.", "mn") == "A message no check writes."
    assert not known("A message no check writes.")


def test_where_a_problem_is():
    assert where("survey row 3, column relevant") == {"sheet": "survey", "row": 3, "column": "relevant"}
    assert where("settings, column version") == {"sheet": "settings", "row": None, "column": "version"}
    assert where("choices row 7, column label") == {"sheet": "choices", "row": 7, "column": "label"}
    assert where("fields[2].fields[0].relevant") == {"path": "fields[2].fields[0].relevant"}
    shown = explain([{"path": "survey row 3, column type", "message": "Not a valid string."}], "mn")
    assert shown == [{"sheet": "survey", "row": 3, "column": "type", "message": "Текст байх ёстой.",
                      "english": "Must be text."}]
