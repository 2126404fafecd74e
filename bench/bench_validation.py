"""How many submissions per second one core validates, against a plain marshmallow peer.

The write gate validates every submission a device sends, and a soum's backlog
of weeks arrives in one sync, so validation must stay far from the bottleneck.
This prints figures; it asserts nothing (timings belong in benchmarks, not tests).

    .venv/bin/python bench/bench_validation.py [--seconds 2]

The typical submission: 30 questions (text, numbers, selects, dates, a
geopoint, a photo, skip logic and constraints) and one repeat of 4 entries.  The
peer is the schema an engineer would write by hand with marshmallow fields for
the same form (Nested group, List(Nested) repeat, validators, a
@validates_schema for skip logic).  Both are run on the same documents, in the
same process, so the ratio is meaningful on any machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from schemas import compile_form  # noqa: E402

LABEL = {"en": "Question", "mn": "Асуулт"}


def _q(name: str, kind: str, **extra: object) -> dict:
    return {"name": name, "type": kind, "label": LABEL, **extra}


def typical_form() -> dict:
    yes_no = [{"name": n, "label": {"en": n, "mn": n}} for n in ("yes", "no")]
    needs = [
        {"name": n, "label": {"en": n, "mn": n}}
        for n in ("food", "fuel", "health", "school", "other")
    ]
    water = [{"name": n, "label": {"en": n, "mn": n}} for n in ("well", "river", "piped", "truck")]
    sex = [{"name": n, "label": {"en": n, "mn": n}} for n in ("f", "m")]
    fields_ = [
        _q("visit_date", "date", required=True, min="2020-01-01"),
        _q("location", "geopoint", required=True),
        _q("bag", "text", required=True, max_length=60),
        _q("head_name", "text", required=True, min_length=2, max_length=100),
        _q("head_age", "integer", required=True, min=15, max=110),
        _q("head_sex", "select_one", list_name="sex", required=True),
        _q("phone", "text", pattern="[0-9]{8}"),
        _q(
            "household_size",
            "integer",
            required=True,
            min=1,
            max=30,
            constraint=". >= count(${members})",
            constraint_message={"en": "fewer than listed"},
        ),
        _q("herder", "select_one", list_name="yn", required=True),
        _q("sheep", "integer", min=0, max=5000, relevant="${herder} = 'yes'"),
        _q("goats", "integer", min=0, max=5000, relevant="${herder} = 'yes'"),
        _q("cattle", "integer", min=0, max=2000, relevant="${herder} = 'yes'"),
        _q("horses", "integer", min=0, max=2000, relevant="${herder} = 'yes'"),
        _q("camels", "integer", min=0, max=1000, relevant="${herder} = 'yes'"),
        _q("water", "select_one", list_name="water", required=True),
        _q("water_km", "decimal", min=0, max=50, relevant="${water} != 'piped'"),
        _q("needs", "select_multiple", list_name="needs"),
        _q("needs_other", "text", relevant="selected(${needs}, 'other')", required=True),
        _q("income", "integer", min=0, max=100000000),
        _q("welfare", "select_one", list_name="yn"),
        _q("disability", "select_one", list_name="yn"),
        _q("school_kids", "integer", min=0, max=15),
        _q("school_far", "select_one", list_name="yn", relevant="${school_kids} > 0"),
        _q("photo", "image"),
        _q("note_end", "note"),
        _q("remarks", "text", max_length=1000),
        {
            "name": "dwelling",
            "type": "group",
            "fields": [
                _q("ger_walls", "integer", min=4, max=12),
                _q("stove", "select_one", list_name="yn"),
                _q("insulated", "select_one", list_name="yn"),
            ],
        },
        {
            "name": "members",
            "type": "repeat",
            "max_count": 30,
            "fields": [
                _q("member_name", "text", required=True),
                _q("member_sex", "select_one", list_name="sex", required=True),
                _q("member_age", "integer", required=True, min=0, max=110),
                _q(
                    "in_school",
                    "select_one",
                    list_name="yn",
                    relevant="${member_age} >= 6 and ${member_age} <= 18",
                ),
                _q("member_needs", "select_multiple", list_name="needs"),
            ],
        },
    ]
    return {
        "form": "bench_household",
        "version": 1,
        "title": {"en": "Bench", "mn": "Бенч"},
        "status": "published",
        "choices": {"yn": yes_no, "needs": needs, "water": water, "sex": sex},
        "fields": fields_,
    }


def typical_submission(i: int) -> dict:
    return {
        "visit_date": "2026-10-14",
        "location": {"lat": 49.98, "lon": 92.07, "accuracy": 8.0},
        "bag": "3-р баг",
        "head_name": f"Батбаяр {i}",
        "head_age": 30 + i % 40,
        "head_sex": "m",
        "phone": "99112233",
        "household_size": 5,
        "herder": "yes",
        "sheep": 120 + i % 50,
        "goats": 80,
        "cattle": 12,
        "horses": 9,
        "camels": 0,
        "water": "well",
        "water_km": 1.5,
        "needs": ["fuel", "health"],
        "income": 850000,
        "welfare": "yes",
        "disability": "no",
        "school_kids": 2,
        "school_far": "yes",
        "photo": "ger.jpg",
        "remarks": "Өвөлжөө рүү нүүхээр бэлтгэж байна.",
        "dwelling": {"ger_walls": 5, "stove": "yes", "insulated": "no"},
        "members": [
            {"member_name": "Батбаяр", "member_sex": "m", "member_age": 41},
            {"member_name": "Сарантуяа", "member_sex": "f", "member_age": 38},
            {
                "member_name": "Тэмүүлэн",
                "member_sex": "m",
                "member_age": 12,
                "in_school": "yes",
                "member_needs": ["school"],
            },
            {"member_name": "Номин", "member_sex": "f", "member_age": 7, "in_school": "yes"},
        ],
    }


ATTACHMENTS = {"ger.jpg": {"content_type": "image/jpeg", "stub": True, "length": 81234}}


def _choice(*names: str) -> fields.String:
    return fields.String(validate=validate.OneOf(names))


class PeerDwelling(Schema):
    ger_walls = fields.Integer(strict=True, validate=validate.Range(4, 12))
    stove = _choice("yes", "no")
    insulated = _choice("yes", "no")


class PeerMember(Schema):
    member_name = fields.String(required=True)
    member_sex = _choice("f", "m")
    member_age = fields.Integer(strict=True, required=True, validate=validate.Range(0, 110))
    in_school = _choice("yes", "no")
    member_needs = fields.List(_choice("food", "fuel", "health", "school", "other"))

    @validates_schema
    def skip_logic(self, data: dict, **kwargs: object) -> None:
        if "in_school" in data and not 6 <= data.get("member_age", -1) <= 18:
            raise ValidationError("not relevant", "in_school")


class PeerGeopoint(Schema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    alt = fields.Float()
    accuracy = fields.Float(validate=validate.Range(min=0))


class PeerSubmission(Schema):
    """The hand-written marshmallow schema for the same form."""

    visit_date = fields.Date(required=True)
    location = fields.Nested(PeerGeopoint, required=True)
    bag = fields.String(required=True, validate=validate.Length(max=60))
    head_name = fields.String(required=True, validate=validate.Length(2, 100))
    head_age = fields.Integer(strict=True, required=True, validate=validate.Range(15, 110))
    head_sex = _choice("f", "m")
    phone = fields.String(validate=validate.Regexp(r"[0-9]{8}\Z"))
    household_size = fields.Integer(strict=True, required=True, validate=validate.Range(1, 30))
    herder = _choice("yes", "no")
    sheep = fields.Integer(strict=True, validate=validate.Range(0, 5000))
    goats = fields.Integer(strict=True, validate=validate.Range(0, 5000))
    cattle = fields.Integer(strict=True, validate=validate.Range(0, 2000))
    horses = fields.Integer(strict=True, validate=validate.Range(0, 2000))
    camels = fields.Integer(strict=True, validate=validate.Range(0, 1000))
    water = _choice("well", "river", "piped", "truck")
    water_km = fields.Float(validate=validate.Range(0, 50))
    needs = fields.List(_choice("food", "fuel", "health", "school", "other"))
    needs_other = fields.String()
    income = fields.Integer(strict=True, validate=validate.Range(0, 100000000))
    welfare = _choice("yes", "no")
    disability = _choice("yes", "no")
    school_kids = fields.Integer(strict=True, validate=validate.Range(0, 15))
    school_far = _choice("yes", "no")
    photo = fields.String()
    remarks = fields.String(validate=validate.Length(max=1000))
    dwelling = fields.Nested(PeerDwelling)
    members = fields.List(fields.Nested(PeerMember), validate=validate.Length(max=30))

    @validates_schema
    def skip_logic(self, data: dict, **kwargs: object) -> None:
        errors = {}
        if data.get("herder") != "yes":
            for name in ("sheep", "goats", "cattle", "horses", "camels"):
                if name in data:
                    errors[name] = ["not relevant"]
        if "other" in data.get("needs", []) and not data.get("needs_other"):
            errors["needs_other"] = ["required"]
        if data.get("household_size", 0) < len(data.get("members", [])):
            errors["household_size"] = ["fewer than listed"]
        if errors:
            raise ValidationError(errors)


def rate(check: Callable[[dict], object], documents: list[dict], seconds: float) -> float:
    """Documents per second, best of three runs of about `seconds` / 3 each."""
    for document in documents[:50]:
        check(document)
    best = 0.0
    for _ in range(3):
        done, start = 0, time.perf_counter()
        deadline = start + seconds / 3
        while time.perf_counter() < deadline:
            for document in documents:
                check(document)
            done += len(documents)
        best = max(best, done / (time.perf_counter() - start))
    return best


def _lookup_us(form: dict) -> float:
    compile_form(form)
    start = time.perf_counter()
    for _ in range(2000):
        compile_form(form)
    return (time.perf_counter() - start) / 2000 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()

    form = typical_form()
    documents = [typical_submission(i) for i in range(200)]
    validator = compile_form(form)
    peer = PeerSubmission()
    broken = validator.validate(documents[0], ATTACHMENTS)
    assert broken == [], broken
    assert peer.validate(documents[0]) == {}, peer.validate(documents[0])

    lookup_us = _lookup_us(form)
    stored = dict(form, _id="global:form:bench_household:1", _rev="3-a1b2c3")
    stored_lookup_us = _lookup_us(stored)

    ours = rate(lambda d: validator.validate(d, ATTACHMENTS), documents, args.seconds)
    ours_mn = rate(lambda d: validator.validate(d, ATTACHMENTS, lang="mn"), documents, args.seconds)
    faulty = [
        dict(d, head_age=3.5, sheep=-1, members=d["members"] + [{"member_age": "x"}])
        for d in documents
    ]
    ours_faulty = rate(lambda d: validator.validate(d, ATTACHMENTS), faulty, args.seconds)
    theirs = rate(peer.validate, documents, args.seconds)

    print(f"form: 30 questions + repeat of 4 entries x 5 questions; {os.cpu_count()} cpus, 1 used")
    print(
        f"fieldsync compiled validator   : {ours:10,.0f} submissions/s  ({1e6 / ours:6.1f} us each)"
    )
    print(f"  same, Mongolian messages     : {ours_mn:10,.0f} submissions/s")
    print(f"  same, 4 problems per document: {ours_faulty:10,.0f} submissions/s")
    print(
        f"hand-written marshmallow peer  : {theirs:10,.0f} submissions/s  ({1e6 / theirs:6.1f} us each)"
    )
    print(f"ratio fieldsync / peer         : {ours / theirs:10.1f}x")
    print(
        f"compile_form cache hit         : {lookup_us:10.1f} us by content hash, "
        f"{stored_lookup_us:.1f} us by _rev (a definition read from the store)"
    )


if __name__ == "__main__":
    main()
