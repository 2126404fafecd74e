"""What a form definition may say, and how a broken one is refused.

An admin fixing a definition gets every problem at once, each with the path of
the thing to change, so one upload is enough to see the whole list.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from schemas import FormDefinitionError, load_definition, submission_deadline


def label(en: str = "Question", mn: str = "Асуулт") -> dict:
    return {"en": en, "mn": mn}


YES_NO = [
    {"name": "yes", "label": label("Yes", "Тийм")},
    {"name": "no", "label": label("No", "Үгүй")},
]


def form(*fields: dict, **head: object) -> dict:
    return {
        "form": "household_visit",
        "version": 1,
        "title": label("Household visit", "Өрхийн айлчлал"),
        "choices": {"yes_no": copy.deepcopy(YES_NO)},
        "fields": list(fields),
        **head,
    }


def q(name: str, kind: str = "text", **extra: object) -> dict:
    return {"name": name, "type": kind, "label": label(), **extra}


def problems_of(definition: object) -> list[dict]:
    with pytest.raises(FormDefinitionError) as caught:
        load_definition(definition)
    return caught.value.problems


def paths(definition: object) -> set[str]:
    return {p["path"] for p in problems_of(definition)}


# -- what loads -------------------------------------------------------------------------------


def test_a_minimal_definition_is_normalized_with_its_defaults():
    loaded = load_definition(form(q("head_name")))
    assert loaded["status"] == "draft"
    assert loaded["sensitive"] is False
    assert loaded["fields"] == [q("head_name")]


def test_every_field_type_and_constraint_is_accepted():
    definition = form(
        q(
            "name",
            "text",
            required=True,
            min_length=2,
            max_length=50,
            pattern="[A-Za-z ]+",
            constraint_message=label("Letters only", "Зөвхөн үсэг"),
        ),
        q("age", "integer", min=0, max=120, constraint=". != 99"),
        q("weight", "decimal", min=0.5, max=35.5, hint=label("kg", "кг")),
        q("born", "date", min="2019-01-01", max="2026-12-31"),
        q("seen", "datetime", min="2024-01-01T00:00:00+08:00"),
        q("consent", "select_one", list_name="yes_no", required=True),
        q("many", "select_multiple", list_name="yes_no", appearance="minimal"),
        q("where", "geopoint"),
        q("photo", "image", relevant="${consent} = 'yes'"),
        q("intro", "note"),
        {"name": "dwelling", "type": "group", "fields": [q("walls", "integer")]},
        {
            "name": "members",
            "type": "repeat",
            "label": label(),
            "min_count": 1,
            "max_count": 20,
            "fields": [q("member_age", "integer", relevant="${consent} = 'yes'")],
        },
        status="published",
        sensitive=True,
    )
    assert load_definition(definition)["fields"] == definition["fields"]


def test_couchdb_metadata_is_ignored_and_dropped():
    loaded = load_definition(
        form(q("a"), _id="global:form:household_visit:1", _rev="1-abc", type="form")
    )
    assert "_id" not in loaded and "_rev" not in loaded
    assert loaded["type"] == "form"


def test_a_retired_form_says_until_when_it_accepts_submissions():
    loaded = load_definition(
        form(q("a"), status="retired", retired_at="2026-11-01T00:00:00Z", grace_days=30)
    )
    assert submission_deadline(loaded) == datetime(2026, 12, 1, tzinfo=UTC)
    assert submission_deadline(load_definition(form(q("a"), status="published"))) is None


# -- what is refused, with every problem listed ------------------------------------------------


def test_every_problem_is_listed_with_its_path():
    definition = form(
        q("age", "integer", min=10, max=5),
        q("age", "text"),
        q("choice", "select_one"),
        q("code", "text", pattern="[A-Z"),
        q("kids", "integer", relevant="${nobody} > 0"),
        q("score", "integer", constraint=". >"),
        q("typo", "text", requird=True),
        form="Household Visit",
        version=0,
    )
    found = problems_of(definition)
    by_path = {p["path"]: p["message"] for p in found}
    assert by_path["form"] == "A form id is 1 to 64 of a-z, 0-9, _ and -."
    assert by_path["version"] == "Versions are whole numbers from 1."
    assert by_path["fields[0].min"] == "min (10) is greater than max (5)."
    assert by_path["fields[1].name"].startswith("The name 'age' is already used at fields[0]")
    assert by_path["fields[2].list_name"].startswith("A select needs a list_name")
    assert by_path["fields[3].pattern"].startswith("Not a valid regular expression")
    assert (
        by_path["fields[4].relevant"]
        == "relevant: ${nobody} is not a question of this form (col 1)"
    )
    assert by_path["fields[5].constraint"].startswith("constraint: expected a value")
    assert by_path["fields[6].requird"].startswith("Unknown key")
    assert len(found) == 9


def test_problem_paths_reach_inside_groups_and_repeats():
    definition = form(
        {
            "name": "members",
            "type": "repeat",
            "fields": [
                q("member"),
                {
                    "name": "health",
                    "type": "group",
                    "fields": [q("weight", "decimal", min="heavy")],
                },
            ],
        },
    )
    assert paths(definition) == {"fields[0].fields[1].fields[0].min"}


def test_a_select_needs_an_existing_non_empty_choice_list():
    assert problems_of(form(q("water", "select_one", list_name="water"))) == [
        {
            "path": "fields[0].list_name",
            "message": "There is no choice list 'water' in the form's choices.",
        }
    ]
    definition = form(q("water", "select_one", list_name="water"))
    definition["choices"]["water"] = []
    assert paths(definition) == {"choices.water"}


def test_choice_names_are_unique_in_their_list():
    definition = form(q("a", "select_one", list_name="yes_no"))
    definition["choices"]["yes_no"].append({"name": "yes", "label": label()})
    assert problems_of(definition) == [
        {
            "path": "choices.yes_no[2].name",
            "message": "The choice 'yes' is already in list 'yes_no'.",
        }
    ]


@pytest.mark.parametrize(
    ("field", "path", "message"),
    [
        (q("n", "text", min=1), "fields[0].min", "A text field cannot have 'min'."),
        (
            q("n", "integer", pattern="x"),
            "fields[0].pattern",
            "A integer field cannot have 'pattern'.",
        ),
        (
            q("n", "note", required=True),
            "fields[0].required",
            "A note field cannot have 'required'.",
        ),
        (q("n", "integer", min=1.5), "fields[0].min", "Must be a whole number."),
        (q("n", "date", max="2026-02-30"), "fields[0].max", "Must be a date as YYYY-MM-DD."),
        (
            q("n", "datetime", min="2026-01-01T09:00:00+08:00", max="2026-01-01T00:30:00Z"),
            "fields[0].min",
            "min (2026-01-01T09:00:00+08:00) is greater than max (2026-01-01T00:30:00Z).",
        ),
        (
            q("n", "text", min_length=5, max_length=2),
            "fields[0].min_length",
            "min_length (5) is greater than max_length (2).",
        ),
        (q("n", "text", required="yes"), "fields[0].required", "Must be true or false."),
        (
            q("n", "photo"),
            "fields[0].type",
            "Unknown type 'photo'; use one of: text, integer, decimal, date, "
            "datetime, select_one, select_multiple, geopoint, image, note, group, repeat.",
        ),
        (
            {"name": "n", "type": "integer"},
            "fields[0].label",
            "A label is required, in every language of the form.",
        ),
        (
            {"name": "g", "type": "group", "fields": []},
            "fields[0].fields",
            "A group needs at least one field inside it.",
        ),
        (
            q("n", "text", constraint_message=label()),
            "fields[0].constraint_message",
            "There is no constraint or pattern for this message to explain.",
        ),
        (
            q("2n"),
            "fields[0].name",
            "A name starts with a letter or _ and has up to 64 letters, digits, _ or -.",
        ),
        (
            q("n.x"),
            "fields[0].name",
            "A name starts with a letter or _ and has up to 64 letters, digits, _ or -.",
        ),
    ],
)
def test_a_field_is_checked_against_its_type(field, path, message):
    assert {"path": path, "message": message} in problems_of(form(field))


def test_labels_cover_every_language_of_the_title():
    found = problems_of(
        form({"name": "a", "type": "text", "label": {"en": "Name"}, "hint": {"en": "x", "fr": "y"}})
    )
    assert found == [
        {
            "path": "fields[0].label",
            "message": "Missing the mn text; the form's title has these languages: en, mn.",
        },
        {
            "path": "fields[0].hint",
            "message": "Language(s) fr are not in the form's title (en, mn); add them to the title or remove them here.",
        },
    ]


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            q("a", relevant="${a} = 'x'"),
            "whether 'a' is shown cannot depend on its own answers (${a})",
        ),
        (q("b", relevant=". = 1"), "'.' (this answer) can only be used in a constraint"),
        (q("c", relevant="${members} > 0"), "${members} is a repeat; use count(${members})"),
        (
            q("d", relevant="${member_age} > 5"),
            "${member_age} is inside repeat 'members' and has one answer per entry",
        ),
        (q("e", relevant="${intro} = ''"), "${intro} is a note and has no answer"),
        (q("f", relevant="count(${intro}) > 0"), "count() takes a repeat, and ${intro} is a note"),
    ],
)
def test_expressions_may_only_read_questions_they_can_see(field, message):
    definition = form(
        q("intro", "note"),
        {"name": "members", "type": "repeat", "fields": [q("member_age", "integer")]},
        field,
    )
    (problem,) = problems_of(definition)
    assert problem["path"] == "fields[2].relevant"
    assert message in problem["message"]


def test_questions_inside_a_repeat_read_their_own_entry_and_the_questions_outside():
    definition = form(
        q("head_age", "integer"),
        {
            "name": "members",
            "type": "repeat",
            "relevant": "${head_age} > 0",
            "fields": [
                q("member_age", "integer", constraint=". < ${head_age}"),
                q("in_school", "select_one", list_name="yes_no", relevant="${member_age} >= 6"),
                {
                    "name": "visits",
                    "type": "repeat",
                    "fields": [
                        q("visit_note", relevant="${member_age} < 5 and count(${members}) > 1"),
                    ],
                },
            ],
        },
    )
    assert load_definition(definition)


def test_a_group_cannot_be_shown_depending_on_its_own_questions():
    definition = form(
        {"name": "g", "type": "group", "relevant": "${inner} = 'x'", "fields": [q("inner")]}
    )
    assert "cannot depend on its own answers (${inner})" in problems_of(definition)[0]["message"]


def test_retirement_fields_go_together():
    assert paths(form(q("a"), status="retired")) == {"retired_at"}
    assert paths(form(q("a"), retired_at="2026-01-01T00:00:00Z")) == {"retired_at"}
    assert paths(form(q("a"), status="retired", retired_at="soon")) == {"retired_at"}


@pytest.mark.parametrize("bad", [None, [], "form", 3])
def test_a_definition_must_be_an_object(bad):
    assert problems_of(bad) == [{"path": "", "message": "A form definition is a JSON object."}]


def test_versions_are_whole_numbers_not_strings_or_booleans():
    assert paths(form(q("a"), version="3")) == {"version"}
    assert paths(form(q("a"), version=True)) == {"version"}
    assert paths(form(q("a"), version=2.0)) == {"version"}


def test_absurd_nesting_is_refused_before_it_costs_anything():
    inner: dict = q("leaf")
    for level in range(5000):
        inner = {"name": f"g{level}", "type": "group", "fields": [inner]}
    found = problems_of(form(inner))
    assert found[0]["message"] == "Groups and repeats nest at most 10 deep."


def test_too_many_fields_are_refused():
    assert problems_of(form(*[q(f"q{i}") for i in range(2001)])) == [
        {"path": "fields", "message": "A form has at most 2000 fields."}
    ]


def test_the_input_is_not_modified():
    definition = form(q("a"), _rev="1-x")
    before = copy.deepcopy(definition)
    load_definition(definition)
    assert definition == before
