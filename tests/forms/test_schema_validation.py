"""Validating submissions against the form version they name.

Each problem names the answer to fix (`household.children[2].age`) and says
what to do in words a field worker understands, in English or Mongolian.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError
from marshmallow.experimental.context import Context

from schemas import FormDefinitionError, compile_form
from schemas.compiler import clear_cache

LABEL = {"en": "Question", "mn": "Асуулт"}
YES_NO = [
    {"name": "yes", "label": {"en": "Yes", "mn": "Тийм"}},
    {"name": "no", "label": {"en": "No", "mn": "Үгүй"}},
]
NEEDS = [{"name": n, "label": {"en": n, "mn": n}} for n in ("food", "fuel", "health", "other")]
PHOTO = {"ger.jpg": {"content_type": "image/jpeg", "stub": True, "length": 1000}}


def q(name: str, kind: str, **extra: object) -> dict:
    return {"name": name, "type": kind, "label": LABEL, **extra}


def validator_for(*fields: dict):
    return compile_form(
        {
            "form": "test_form",
            "version": 1,
            "title": {"en": "Test", "mn": "Тест"},
            "choices": {"yes_no": copy.deepcopy(YES_NO), "needs": copy.deepcopy(NEEDS)},
            "fields": list(fields),
        }
    )


def problems(validator, data, attachments=None, lang="en") -> dict[str, str]:
    found = validator.validate(data, attachments, lang=lang)
    return {p["field"]: p["message"] for p in found}


# -- types --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "good", "bad", "message"),
    [
        (q("x", "text"), ["Болд", "a"], [3, True, ["a"], {"a": 1}], "Enter text."),
        (
            q("x", "integer"),
            [0, -4, 120],
            [3.5, "3", True, 3.0, [1]],
            "Enter a whole number, such as 12.",
        ),
        (
            q("x", "decimal"),
            [0, 3.5, -2, 10**3],
            ["3.5", False, [1.0], {"v": 1}],
            "Enter a number, such as 12.5.",
        ),
        (
            q("x", "date"),
            ["2025-10-14", "2024-02-29"],
            ["2025-02-29", "14/10/2025", "2025-10-14T10:00:00", "20251014", 20251014],
            "Enter a date as YYYY-MM-DD, such as 2026-11-01.",
        ),
        (
            q("x", "datetime"),
            [
                "2025-10-14T10:30:00+08:00",
                "2025-10-14T10:30Z",
                "2025-10-14T10:30:00.123456789+0800",
                "2025-10-14T10:30:05",
            ],
            ["2025-10-14", "2025-10-14 10:30", "2025-10-14T25:00:00Z", "yesterday"],
            "Enter a date and time, such as 2026-11-01T14:30:00+08:00.",
        ),
        (
            q("x", "select_one", list_name="yes_no"),
            ["yes", "no"],
            [["yes"], 1, True],
            "Choose one option from the list.",
        ),
        (
            q("x", "select_multiple", list_name="needs"),
            [["food"], ["fuel", "health"]],
            ["food fuel", "food", [1], [["food"]]],
            "Choose options from the list (a list of choice names).",
        ),
        (
            q("x", "geopoint"),
            [
                {"lat": 49.98, "lon": 92.07},
                {"lat": -90, "lon": 180, "alt": 1200.5, "accuracy": 4},
                "49.98 92.07",
                "49.98 92.07 939 6.5",
            ],
            [
                {"lat": 91, "lon": 0},
                {"lat": 0, "lon": -181},
                {"lat": 1},
                {"lat": 1, "lon": 2, "speed": 3},
                {"lat": "49", "lon": 92},
                {"lat": 1, "lon": 2, "accuracy": -1},
                {"lat": True, "lon": 2},
                "49.98",
                "north",
                "1 2 3 4 5",
                [49.98, 92.07],
                {"lat": 10**400, "lon": 0},
                "1e999 0",
                "9" * 400 + " 0",
            ],
            "Record the location again: it needs a latitude between -90 and 90 and a longitude between -180 and 180.",
        ),
        (q("x", "image"), ["ger.jpg"], [3, ["ger.jpg"]], "Take or attach a photo."),
    ],
)
def test_each_type_accepts_its_json_form_and_refuses_others(field, good, bad, message):
    validator = validator_for(field)
    for value in good:
        assert validator.validate({"x": value}, PHOTO) == [], value
    for value in bad:
        assert validator.validate({"x": value}, PHOTO) == [{"field": "x", "message": message}], (
            value
        )


def test_empty_answers_are_missing_answers():
    validator = validator_for(q("x", "integer"), q("y", "select_multiple", list_name="needs"))
    for empty in (None, ""):
        assert validator.validate({"x": empty, "y": empty}) == []
    assert validator.validate({"y": []}) == []
    assert validator.validate({}) == []


# -- constraints --------------------------------------------------------------------------------


def test_required_questions_must_be_answered():
    validator = validator_for(q("name", "text", required=True), q("age", "integer", required=True))
    assert problems(validator, {"name": "", "age": None}) == {
        "name": "This question is required.",
        "age": "This question is required.",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (q("x", "integer", min=0, max=120), -1, "Must be at least 0."),
        (q("x", "integer", min=0, max=120), 121, "Must be at most 120."),
        (q("x", "decimal", min=1.5, max=35), 1.4, "Must be at least 1.5."),
        (q("x", "decimal", min=1.5, max=35), 35.01, "Must be at most 35."),
        (q("x", "date", min="2024-01-01"), "2023-12-31", "Must be on or after 2024-01-01."),
        (q("x", "date", max="2026-12-31"), "2027-01-01", "Must be on or before 2026-12-31."),
        (
            q("x", "datetime", min="2025-01-01T00:00:00+08:00"),
            "2024-12-31T15:59:59Z",
            "Must be on or after 2025-01-01T00:00:00+08:00.",
        ),
        (q("x", "text", min_length=2), "a", "Must be at least 2 characters long."),
        (q("x", "text", max_length=3), "Болор", "Must be at most 3 characters long."),
        (q("x", "text", pattern="[0-9]{8}"), "9911223", "Does not have the expected format."),
        (q("x", "text", pattern="[0-9]{8}"), "99112233x", "Does not have the expected format."),
        (
            q("x", "select_one", list_name="yes_no"),
            "maybe",
            "'maybe' is not one of the choices; choose one of: yes, no.",
        ),
        (
            q("x", "select_multiple", list_name="needs"),
            ["food", "toys"],
            "'toys' is not one of the choices; choose one of: food, fuel, health, other.",
        ),
        (
            q("x", "select_multiple", list_name="needs"),
            ["food", "food"],
            "'food' is chosen more than once.",
        ),
        (q("x", "integer", constraint=". mod 5 = 0"), 12, "This answer breaks a rule of the form."),
    ],
)
def test_limits_are_enforced_with_a_message_saying_what_to_do(field, value, message):
    assert validator_for(field).validate({"x": value}) == [{"field": "x", "message": message}]


def test_bounds_are_inclusive():
    validator = validator_for(
        q("x", "integer", min=0, max=120), q("d", "datetime", min="2025-01-01T00:00:00+08:00")
    )
    assert validator.validate({"x": 0, "d": "2024-12-31T16:00:00Z"}) == []
    assert validator.validate({"x": 120}) == []


def test_the_forms_own_message_explains_a_constraint_or_pattern():
    validator = validator_for(
        q(
            "phone",
            "text",
            pattern="[0-9]{8}",
            constraint_message={
                "en": "A mobile number has 8 digits.",
                "mn": "Гар утасны дугаар 8 оронтой.",
            },
        ),
        q(
            "size",
            "integer",
            constraint=". >= 1",
            constraint_message={"en": "At least the head lives here."},
        ),
    )
    assert problems(validator, {"phone": "123", "size": 0}) == {
        "phone": "A mobile number has 8 digits.",
        "size": "At least the head lives here.",
    }
    assert problems(validator, {"phone": "123", "size": 0}, lang="mn") == {
        "phone": "Гар утасны дугаар 8 оронтой.",
        "size": "At least the head lives here.",
    }


def test_constraints_are_not_checked_on_empty_or_mistyped_answers():
    validator = validator_for(q("x", "integer", constraint=". > 10"))
    assert validator.validate({"x": None}) == []
    assert problems(validator, {"x": "11"}) == {"x": "Enter a whole number, such as 12."}


def test_a_constraint_can_compare_with_other_answers():
    validator = validator_for(
        q("birth", "date"),
        q(
            "visit",
            "date",
            constraint=". >= ${birth}",
            constraint_message={"en": "The visit is before the birth."},
        ),
    )
    assert validator.validate({"birth": "2024-03-02", "visit": "2025-10-14"}) == []
    assert problems(validator, {"birth": "2024-03-02", "visit": "2023-10-14"}) == {
        "visit": "The visit is before the birth."
    }


# -- skip logic ---------------------------------------------------------------------------------


def household_with_skip_logic():
    return validator_for(
        q("herder", "select_one", list_name="yes_no", required=True),
        q("sheep", "integer", required=True, min=0, relevant="${herder} = 'yes'"),
        q("needs", "select_multiple", list_name="needs"),
        q("needs_other", "text", required=True, relevant="selected(${needs}, 'other')"),
        q("intro", "note"),
    )


def test_a_hidden_question_is_not_required():
    assert household_with_skip_logic().validate({"herder": "no"}) == []


def test_a_shown_question_is_required_as_usual():
    assert problems(household_with_skip_logic(), {"herder": "yes", "needs": ["other"]}) == {
        "sheep": "This question is required.",
        "needs_other": "This question is required.",
    }


def test_a_hidden_question_must_be_empty():
    found = problems(
        household_with_skip_logic(), {"herder": "no", "sheep": 120, "needs_other": "boots"}
    )
    message = "This question does not apply to this case (its skip condition is not met), so it must be left empty."
    assert found == {"sheep": message, "needs_other": message}


def test_a_hidden_question_may_be_sent_empty():
    assert (
        household_with_skip_logic().validate({"herder": "no", "sheep": None, "needs_other": ""})
        == []
    )


def test_a_note_takes_no_answer():
    assert problems(household_with_skip_logic(), {"herder": "no", "intro": "read"}) == {
        "intro": "This is a note; it takes no answer."
    }


def test_skip_logic_on_a_group_hides_everything_in_it():
    validator = validator_for(
        q("herder", "select_one", list_name="yes_no"),
        {
            "name": "livestock",
            "type": "group",
            "relevant": "${herder} = 'yes'",
            "fields": [q("sheep", "integer", required=True), q("goats", "integer", required=True)],
        },
    )
    assert validator.validate({"herder": "no"}) == []
    assert validator.validate({"herder": "no", "livestock": {"sheep": None}}) == []
    assert problems(validator, {"herder": "no", "livestock": {"sheep": 5}}) == {
        "livestock": "This question does not apply to this case (its skip condition is not met), so it must be left empty."
    }
    assert problems(validator, {"herder": "yes", "livestock": {"sheep": 5}}) == {
        "livestock.goats": "This question is required."
    }


# -- groups and repeats -------------------------------------------------------------------------------


def household_with_members():
    return validator_for(
        q("household_size", "integer", required=True, constraint=". >= count(${children})"),
        {
            "name": "household",
            "type": "group",
            "fields": [
                q("head_name", "text", required=True),
                {
                    "name": "children",
                    "type": "repeat",
                    "min_count": 1,
                    "max_count": 4,
                    "fields": [
                        q("child_name", "text", required=True),
                        q("age", "integer", required=True, min=0, max=17),
                        q(
                            "in_school",
                            "select_one",
                            list_name="yes_no",
                            required=True,
                            relevant="${age} >= 6",
                        ),
                    ],
                },
            ],
        },
    )


def test_answers_in_groups_and_repeats_are_named_by_their_path():
    data = {
        "household_size": 4,
        "household": {
            "head_name": "Болд",
            "children": [
                {"child_name": "Тэмүүлэн", "age": 9, "in_school": "yes"},
                {"child_name": "Номин", "age": 4},
                {"child_name": "Анар", "age": 19, "in_school": "maybe"},
            ],
        },
    }
    assert problems(household_with_members(), data) == {
        "household.children[2].age": "Must be at most 17.",
        "household.children[2].in_school": "'maybe' is not one of the choices; choose one of: yes, no.",
    }


def test_skip_logic_inside_a_repeat_reads_the_same_entry():
    data = {
        "household_size": 2,
        "household": {
            "head_name": "Болд",
            "children": [
                {"child_name": "Тэмүүлэн", "age": 9},
                {"child_name": "Номин", "age": 4, "in_school": "no"},
            ],
        },
    }
    message = "This question does not apply to this case (its skip condition is not met), so it must be left empty."
    assert problems(household_with_members(), data) == {
        "household.children[0].in_school": "This question is required.",
        "household.children[1].in_school": message,
    }


def test_repeat_counts_and_constraints_over_repeats():
    too_many = [{"child_name": f"Хүүхэд {i}", "age": 3} for i in range(5)]
    assert problems(
        household_with_members(),
        {"household_size": 3, "household": {"head_name": "Болд", "children": too_many}},
    ) == {
        "household_size": "This answer breaks a rule of the form.",
        "household.children": "Too many entries: at most 4 are allowed.",
    }
    assert problems(
        household_with_members(), {"household_size": 3, "household": {"head_name": "Болд"}}
    ) == {"household.children": "Add more entries: at least 1 are needed."}


def test_groups_must_be_objects_and_repeats_lists_of_objects():
    assert problems(household_with_members(), {"household_size": 1, "household": ["Болд"]}) == {
        "household": "The answers of this section must be grouped together (an object)."
    }
    data = {
        "household_size": 1,
        "household": {"head_name": "Болд", "children": {"child_name": "Номин"}},
    }
    assert problems(household_with_members(), data) == {
        "household.children": "The entries of this section must be a list."
    }
    data["household"]["children"] = ["Номин"]
    assert problems(household_with_members(), data) == {
        "household.children[0]": "Each entry of this section must be a group of answers (an object)."
    }


def test_a_missing_group_is_an_empty_group():
    assert problems(household_with_members(), {"household_size": 1}) == {
        "household.head_name": "This question is required.",
        "household.children": "Add more entries: at least 1 are needed.",
    }


def test_answers_to_questions_the_form_does_not_have_are_refused():
    found = problems(
        household_with_members(),
        {
            "household_size": 1,
            "househod_size": 1,
            "household": {
                "head_name": "Болд",
                "children": [{"child_name": "Номин", "age": 3, "weight": 14}],
            },
        },
    )
    assert found == {
        "househod_size": "This version of the form has no question 'househod_size'; remove the answer or use the right form version.",
        "household.children[0].weight": "This version of the form has no question 'weight'; remove the answer or use the right form version.",
    }


# -- photos -----------------------------------------------------------------------------------------


def test_a_photo_answer_names_an_attachment_of_the_submission():
    validator = validator_for(q("photo", "image", required=True))
    assert validator.validate({"photo": "ger.jpg"}, PHOTO) == []
    assert problems(validator, {"photo": "ger.jpg"}) == {
        "photo": "The photo 'ger.jpg' did not arrive with the submission; attach it again and sync."
    }
    assert problems(
        validator, {"photo": "ger.jpg"}, {"ger.jpg": {"content_type": "application/pdf"}}
    ) == {"photo": "The attachment 'ger.jpg' is not a photo (application/pdf)."}


# -- languages --------------------------------------------------------------------------------------------


def test_messages_in_mongolian():
    found = problems(household_with_members(), {"household_size": 2.5, "x": 1}, lang="mn")
    assert found == {
        "x": "Маягтын энэ хувилбарт 'x' гэсэн асуулт байхгүй; хариултыг хасах эсвэл маягтын зөв хувилбарыг ашиглана уу.",
        "household_size": "Бүхэл тоо оруулна уу, жишээ нь 12.",
        "household.head_name": "Энэ асуултад заавал хариулна.",
        "household.children": "Хамгийн багадаа 1 бичлэг нэмнэ үү.",
    }


def test_an_unknown_language_falls_back_to_english():
    assert problems(household_with_members(), {"household_size": 2.5}, lang="fr")[
        "household_size"
    ] == ("Enter a whole number, such as 12.")


# -- the whole submission -------------------------------------------------------------------------


@pytest.mark.parametrize("data", [None, [], "answers", 3])
def test_data_must_be_an_object(data):
    assert household_with_members().validate(data) == [
        {"field": "", "message": "The submission's data must be an object of answers."}
    ]


def test_hostile_nesting_in_answers_does_not_exhaust_the_stack():
    deep: object = "x"
    for _ in range(100_000):
        deep = [deep]
    validator = household_with_skip_logic()
    assert problems(validator, {"herder": "no", "sheep": deep})["sheep"].startswith(
        "This question does not apply"
    )
    assert problems(validator, {"herder": "yes", "sheep": deep}) == {
        "sheep": "Enter a whole number, such as 12."
    }


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["household_size", "household", "x"]), _JSON))
def test_any_json_gets_a_list_of_problems_never_an_exception(data):
    found = household_with_members().validate(data)
    assert all(set(p) == {"field", "message"} for p in found)


def every_type():
    return validator_for(
        q("t", "text", pattern="[a-z]+", max_length=5, constraint="string-length(.) > 1"),
        q("i", "integer", min=0, max=10, constraint=". != ${d}"),
        q("d", "decimal", min=-1.5, max=1e6),
        q("day", "date", min="2020-01-01", constraint=". <= today()"),
        q("at", "datetime", max="2030-01-01T00:00:00Z"),
        q("one", "select_one", list_name="yes_no", relevant="${i} > 2"),
        q("many", "select_multiple", list_name="needs", constraint="count-selected(.) < 3"),
        q("where", "geopoint", constraint="${one} = 'yes' or . != ''"),
        q("photo", "image"),
        q("note", "note"),
        {
            "name": "g",
            "type": "group",
            "relevant": "not(${t} = 'x')",
            "fields": [
                {
                    "name": "r",
                    "type": "repeat",
                    "max_count": 3,
                    "fields": [q("ri", "integer", constraint=". < ${i}")],
                },
            ],
        },
    )


_NAMES = st.sampled_from(
    ["t", "i", "d", "day", "at", "one", "many", "where", "photo", "note", "g", "other"]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_NAMES, _JSON), st.dictionaries(st.text(max_size=8), _JSON, max_size=3))
def test_any_answers_to_every_type_get_problems_never_an_exception(data, attachments):
    for lang in ("en", "mn"):
        found = every_type().validate(data, attachments, lang=lang)
        assert all(set(p) == {"field", "message"} and p["message"] for p in found)


# -- the generated marshmallow schema and the cache -------------------------------------------------------


def test_the_validator_is_a_generated_marshmallow_schema():
    validator = household_with_members()
    assert isinstance(validator.schema, Schema)
    assert validator.schema_class.__name__ == "Submission_test_form_v1"
    with pytest.raises(ValidationError) as caught:
        validator.schema.load({"household_size": "two"})
    assert caught.value.messages["household_size"] == ["Enter a whole number, such as 12."]
    valid = {
        "household_size": 1,
        "household": {"head_name": "Болд", "children": [{"child_name": "Номин", "age": 3}]},
    }
    assert validator.schema.validate(valid) == {}
    assert validator.schema.load(valid) == valid  # every answer, as sent


def test_another_librarys_marshmallow_context_does_not_confuse_the_schema():
    validator = household_with_members()
    with Context({"request_id": "abc"}):
        assert validator.schema.validate({"household_size": "two"}) == {
            "household_size": ["Enter a whole number, such as 12."],
            "household.head_name": ["This question is required."],
            "household.children": ["Add more entries: at least 1 are needed."],
        }


def test_a_form_version_is_compiled_once():
    clear_cache()
    first = household_with_members()
    assert household_with_members() is first
    changed = copy.deepcopy(first.definition)
    changed["fields"][0]["required"] = False
    assert compile_form(changed) is not first


def test_a_stored_definition_is_found_by_its_revision():
    clear_cache()
    stored = copy.deepcopy(household_with_members().definition) | {
        "_id": "global:form:test_form:1",
        "_rev": "2-ab",
    }
    first = compile_form(stored)
    assert compile_form(stored) is first
    assert compile_form(stored | {"_rev": "3-cd"}) is first  # same content, new revision


def test_an_invalid_definition_is_not_compiled():
    with pytest.raises(FormDefinitionError):
        validator_for(q("x", "integer", min=5, max=1))


def test_a_batch_is_checked_in_one_pass_with_each_submission_its_own_attachments():
    """The write gate checks a pushed batch per form version with validate_many:
    the answers must be exactly what validate gives each submission alone."""
    validator = validator_for(q("x", "integer", required=True), q("photo", "image"))
    good = {"x": 3, "photo": "ger.jpg"}
    batch = [
        (good, PHOTO),
        ({"x": "three"}, None),
        (good, {}),  # the same answers, but this submission carries no photo
        ("not an object", PHOTO),
        (good, PHOTO),
        ({"y": 1}, PHOTO),
    ]
    alone = [validator.validate(data, atts) for data, atts in batch]
    assert validator.validate_many(batch) == alone
    assert alone[0] == alone[4] == []
    assert [problem["field"] for problem in alone[2]] == ["photo"]
    assert [bool(problems) for problems in alone] == [False, True, True, True, False, True]
    assert validator.validate_many([]) == []
