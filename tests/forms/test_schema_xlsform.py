"""Importing XLSForm spreadsheets, as admins build them in Excel or LibreOffice.

The workbooks are written with openpyxl and read back through pyxform.  What
fieldsync supports maps one to one; what it does not is reported with its sheet,
row and column, never dropped.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from schemas import FormDefinitionError, compile_form, read_xlsform

EN, MN = "label::English (en)", "label::Mongolian (mn)"


def write_xlsform(
    path: Path, survey: list[dict], choices: list[dict] = (), settings: dict | None = None
) -> Path:
    """An .xlsx with survey, choices and settings sheets; columns from the dict keys."""
    workbook = openpyxl.Workbook()
    sheets = [("survey", survey), ("choices", list(choices))]
    if settings is not None:
        sheets.append(("settings", [settings]))
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        columns = list(dict.fromkeys(key for row in rows for key in row)) or [
            "list_name",
            "name",
            EN,
        ]
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(column) for column in columns])
    workbook.save(path)
    return path


SETTINGS = {
    "form_id": "child_growth",
    "version": "4",
    "form_title": "Child growth",
    "form_title::Mongolian (mn)": "Хүүхдийн өсөлт",
    "default_language": "English (en)",
}
CHOICES = [
    {"list_name": "sex", "name": "female", EN: "Girl", MN: "Охин"},
    {"list_name": "sex", "name": "male", EN: "Boy", MN: "Хүү"},
    {"list_name": "foods", "name": "breastmilk", EN: "Breast milk", MN: "Хөхний сүү"},
    {"list_name": "foods", "name": "meat", EN: "Meat", MN: "Мах"},
    {"list_name": "foods", "name": "dairy", EN: "Dairy", MN: "Сүүн бүтээгдэхүүн"},
]
SURVEY = [
    {
        "type": "date",
        "name": "measure_date",
        EN: "Date",
        MN: "Огноо",
        "required": "yes",
        "constraint": ". <= today()",
        "constraint_message::English (en)": "Not in the future",
        "constraint_message::Mongolian (mn)": "Ирээдүйн огноо биш",
    },
    {"type": "dateTime", "name": "measured_at", EN: "Time", MN: "Цаг"},
    {"type": "geopoint", "name": "location", EN: "Location", MN: "Байршил", "required": "true()"},
    {
        "type": "select_one sex",
        "name": "child_sex",
        EN: "Sex",
        MN: "Хүйс",
        "required": "yes",
        "appearance": "horizontal",
    },
    {
        "type": "integer",
        "name": "age_months",
        EN: "Age (months)",
        MN: "Нас (сар)",
        "required": "yes",
        "constraint": ". >= 0 and . <= 59",
        "hint::English (en)": "Completed months",
        "hint::Mongolian (mn)": "Бүтэн сараар",
    },
    {"type": "decimal", "name": "weight_kg", EN: "Weight (kg)", MN: "Жин (кг)", "required": "no"},
    {
        "type": "select_multiple foods",
        "name": "foods",
        EN: "Foods",
        MN: "Хоол",
        "relevant": "${age_months} < 24",
    },
    {"type": "begin_group", "name": "card", EN: "Growth card", MN: "Өсөлтийн карт"},
    {"type": "image", "name": "card_photo", EN: "Photo", MN: "Зураг"},
    {"type": "note", "name": "card_note", EN: "Return the card", MN: "Картыг буцааж өгнө"},
    {"type": "end_group"},
    {"type": "begin_repeat", "name": "visits", EN: "Visits", MN: "Үзлэгүүд", "repeat_count": "3"},
    {
        "type": "text",
        "name": "visit_note",
        EN: "Note",
        MN: "Тэмдэглэл",
        "constraint": "string-length(.) <= 200",
    },
    {"type": "end_repeat"},
]


def test_a_bilingual_xlsform_becomes_a_definition(tmp_path):
    definition = read_xlsform(
        write_xlsform(tmp_path / "child_growth.xlsx", SURVEY, CHOICES, SETTINGS)
    )
    assert definition["form"] == "child_growth"
    assert definition["version"] == 4
    assert definition["status"] == "draft"
    assert definition["title"] == {"en": "Child growth", "mn": "Хүүхдийн өсөлт"}
    assert definition["choices"]["sex"] == [
        {"name": "female", "label": {"en": "Girl", "mn": "Охин"}},
        {"name": "male", "label": {"en": "Boy", "mn": "Хүү"}},
    ]
    fields = {f["name"]: f for f in definition["fields"]}
    assert [f["name"] for f in definition["fields"]] == [
        "measure_date",
        "measured_at",
        "location",
        "child_sex",
        "age_months",
        "weight_kg",
        "foods",
        "card",
        "visits",
    ]
    assert fields["measure_date"] == {
        "name": "measure_date",
        "type": "date",
        "label": {"en": "Date", "mn": "Огноо"},
        "required": True,
        "constraint": ". <= today()",
        "constraint_message": {"en": "Not in the future", "mn": "Ирээдүйн огноо биш"},
    }
    assert fields["measured_at"]["type"] == "datetime"
    assert fields["location"]["required"] is True
    assert fields["child_sex"] | {} == {
        "name": "child_sex",
        "type": "select_one",
        "list_name": "sex",
        "required": True,
        "appearance": "horizontal",
        "label": {"en": "Sex", "mn": "Хүйс"},
    }
    assert fields["age_months"]["hint"] == {"en": "Completed months", "mn": "Бүтэн сараар"}
    assert "required" not in fields["weight_kg"]
    assert (
        fields["foods"]["type"] == "select_multiple"
        and fields["foods"]["relevant"] == "${age_months} < 24"
    )
    assert [(f["name"], f["type"]) for f in fields["card"]["fields"]] == [
        ("card_photo", "image"),
        ("card_note", "note"),
    ]
    assert fields["visits"]["min_count"] == fields["visits"]["max_count"] == 3


def test_an_imported_form_validates_submissions(tmp_path):
    validator = compile_form(
        read_xlsform(write_xlsform(tmp_path / "f.xlsx", SURVEY, CHOICES, SETTINGS))
    )
    data = {
        "measure_date": "2025-10-14",
        "location": "49.98 92.07",
        "child_sex": "female",
        "age_months": 30,
        "foods": ["meat"],
        "card": {"card_photo": "card.jpg"},
        "visits": [{"visit_note": "ok"}, {}, {}],
    }
    assert validator.validate(data, {"card.jpg": {"content_type": "image/jpeg"}}) == [
        {
            "field": "foods",
            "message": "This question does not apply to this case (its skip condition is not met), so it must be left empty.",
        }
    ]


def test_reading_from_bytes_works_for_uploads(tmp_path):
    path = write_xlsform(tmp_path / "f.xlsx", SURVEY, CHOICES, SETTINGS)
    assert read_xlsform(path.read_bytes())["form"] == "child_growth"


def problems_of(tmp_path, survey, choices=CHOICES, settings=SETTINGS) -> dict[str, str]:
    with pytest.raises(FormDefinitionError) as caught:
        read_xlsform(write_xlsform(tmp_path / "form.xlsx", survey, choices, settings))
    return {p["path"]: p["message"] for p in caught.value.problems}


def test_every_unsupported_feature_is_reported_with_its_row(tmp_path):
    survey = SURVEY[:5] + [
        {"type": "calculate", "name": "age_days", "calculation": "${age_months} * 30"},
        {
            "type": "select_one sex or_other",
            "name": "carer_sex",
            EN: "Carer",
            MN: "Асран хамгаалагч",
        },
        {
            "type": "select_multiple foods",
            "name": "foods2",
            EN: "Foods",
            MN: "Хоол",
            "choice_filter": "name != 'meat'",
        },
        {"type": "audio", "name": "voice", EN: "Voice", MN: "Дуу"},
        {"type": "start", "name": "started"},
        {"type": "integer", "name": "siblings", EN: "Siblings", MN: "Ах дүү", "default": "0"},
        {
            "type": "text",
            "name": "carer",
            EN: "Carer",
            MN: "Асран хамгаалагч",
            "required": "${age_months} < 12",
        },
        {
            "type": "select_one_from_file villages.csv",
            "name": "village",
            EN: "Village",
            MN: "Тосгон",
        },
        {
            "type": "begin_repeat",
            "name": "visits",
            EN: "Visits",
            MN: "Үзлэг",
            "repeat_count": "${siblings}",
        },
        {"type": "text", "name": "visit_note", EN: "Note", MN: "Тэмдэглэл"},
        {"type": "end_repeat"},
    ]
    found = problems_of(tmp_path, survey, settings=SETTINGS | {"instance_name": "concat(${carer})"})
    assert found == {
        "settings, column instance_name": "The setting 'instance_name' is not supported by fieldsync.",
        "survey row 7, column type": "'age_days' has type 'calculate': calculated values are not recomputed on the server.",
        "survey row 8, column type": "'carer_sex': or_other is not supported; add an 'other' choice and a text "
        "question with relevant selected(${carer_sex}, 'other').",
        "survey row 9, column choice_filter": "'foods2': the choice_filter column is not supported by fieldsync.",
        "survey row 10, column type": "'voice' has type 'audio': audio attachments are not supported (only image).",
        "survey row 11, column type": "'started' has type 'start': device metadata is not collected as answers; "
        "fieldsync records the author and created_at of every submission.",
        "survey row 12, column default": "'siblings': the default column is not supported by fieldsync.",
        "survey row 13, column required": "required must be yes or no; a condition ('${age_months} < 12') is not "
        "supported, use relevant instead.",
        "survey row 14, column type": "'village' takes its choices from a file (villages.csv); only choices on the "
        "choices sheet are supported.",
        "survey row 15, column repeat_count": "'visits': only a fixed number of entries is supported, not '${siblings}'.",
    }


def test_expressions_outside_the_language_are_reported_at_their_row(tmp_path):
    survey = [
        {"type": "integer", "name": "age", EN: "Age", MN: "Нас"},
        {
            "type": "text",
            "name": "school",
            EN: "School",
            MN: "Сургууль",
            "relevant": "/data/age >= 6",
        },
        {
            "type": "text",
            "name": "code",
            EN: "Code",
            MN: "Код",
            "constraint": "pulldata('codes', 'c', 'k', .)",
        },
        {
            "type": "integer",
            "name": "older",
            EN: "Older",
            MN: "Ах",
            "relevant": "${age} > 3 and position(..) > 1",
        },
    ]
    found = problems_of(tmp_path, survey)
    assert found == {
        "survey row 3, column relevant": "relevant: unexpected character '/': use div to divide; paths such as "
        "/data/x are not supported, write ${x} (col 1)",
        "survey row 4, column constraint": found["survey row 4, column constraint"],
        "survey row 5, column relevant": "relevant: '..': parent paths are not supported, write ${name} (col 25)",
    }
    assert found["survey row 4, column constraint"].startswith(
        "constraint: unknown function pulldata();"
    )


def test_pyxforms_own_errors_are_passed_on(tmp_path):
    survey = [{"type": "text", "name": "a", EN: "A", MN: "А", "relevant": "${nope} = 1"}]
    assert problems_of(tmp_path, survey) == {
        "xlsform": "Cannot read the XLSForm: [row : 2] On the 'survey' sheet, the 'relevant' value is invalid. "
        "Reference variables must contain a name from the 'survey' sheet. Could not find the name 'nope'."
    }


def test_a_missing_translation_is_reported_once(tmp_path):
    settings = {k: v for k, v in SETTINGS.items() if k != "form_title::Mongolian (mn)"}
    survey = [
        {"type": "text", "name": "a", EN: "A", MN: "А"},
        {"type": "text", "name": "b", EN: "B"},
    ]
    assert problems_of(tmp_path, survey, settings=settings) == {
        "settings, column form_title": "The title has no mn translation; add a column such as form_title::Mongolian (mn).",
        "survey row 3, column label": "Missing the mn text; the form's title has these languages: en, mn.",
    }


def test_version_must_be_a_whole_number(tmp_path):
    found = problems_of(tmp_path, SURVEY, settings=SETTINGS | {"version": "2026-11-01"})
    assert found == {
        "settings, column version": "The version must be a whole number from 1 (found '2026-11-01'); "
        "fieldsync counts versions 1, 2, 3..."
    }


def test_languages_need_a_code(tmp_path):
    survey = [{"type": "text", "name": "a", "label::English": "A", "label::Français": "A"}]
    settings = {"form_id": "f", "version": "1", "form_title": "F"}
    found = problems_of(tmp_path, survey, choices=(), settings=settings)
    assert found == {
        "survey row 2, column label": "Cannot tell the language code of 'Français'; write it as 'Name (code)', e.g. 'Mongolian (mn)'."
    }


def test_a_form_without_translations_is_english(tmp_path):
    survey = [{"type": "text", "name": "remarks", "label": "Remarks"}]
    definition = read_xlsform(
        write_xlsform(
            tmp_path / "f.xlsx",
            survey,
            (),
            {"form_id": "notes", "version": "1", "form_title": "Notes"},
        )
    )
    assert definition["title"] == {"en": "Notes"}
    assert definition["fields"] == [{"name": "remarks", "type": "text", "label": {"en": "Remarks"}}]


def test_the_sensitive_setting_marks_a_sensitive_form(tmp_path):
    definition = read_xlsform(
        write_xlsform(tmp_path / "f.xlsx", SURVEY, CHOICES, SETTINGS | {"sensitive": "yes"})
    )
    assert definition["sensitive"] is True


def test_a_file_that_is_not_a_spreadsheet_is_refused(tmp_path):
    path = tmp_path / "form.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FormDefinitionError) as caught:
        read_xlsform(path)
    (problem,) = caught.value.problems
    assert problem["path"] == "xlsform"
    assert problem["message"].startswith("Cannot read the XLSForm:")
