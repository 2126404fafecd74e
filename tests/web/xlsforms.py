"""A small bilingual XLSForm (water points of a bag) written with openpyxl, with or without a mistake."""

from __future__ import annotations

import io

import openpyxl

EN, MN = "label::English (en)", "label::Mongolian (mn)"
SETTINGS = {"form_id": "water_point", "version": "1", "form_title": "Water point",
            "form_title::Mongolian (mn)": "Усны цэг", "default_language": "English (en)"}
CHOICES = [
    {"list_name": "yn", "name": "yes", EN: "Yes", MN: "Тийм"},
    {"list_name": "yn", "name": "no", EN: "No", MN: "Үгүй"},
]
GOOD_RELEVANT = "${has_well} = 'yes'"
BAD_RELEVANT = "${has_well} = 'yes' and"  # row 3, column relevant: ends where a value is expected


def survey(relevant: str = GOOD_RELEVANT) -> list[dict]:
    return [
        {"type": "select_one yn", "name": "has_well", EN: "Is there a well?", MN: "Худаг байна уу?",
         "required": "yes"},
        {"type": "integer", "name": "depth_m", EN: "Depth (m)", MN: "Гүн (м)", "relevant": relevant,
         "hint::English (en)": "In whole metres", "hint::Mongolian (mn)": "Бүтэн метрээр",
         "constraint": ". > 0 and . < 300"},
        {"type": "begin_repeat", "name": "buckets", EN: "Buckets drawn", MN: "Татсан хувин"},
        {"type": "integer", "name": "litres", EN: "Litres", MN: "Литр", "required": "yes"},
        {"type": "end_repeat"},
    ]


def xlsform(rows: list[dict], choices: list[dict] = CHOICES, settings: dict = SETTINGS) -> bytes:
    """The workbook's bytes: survey, choices and settings sheets, columns from the dicts' keys."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, sheet_rows in (("survey", rows), ("choices", choices), ("settings", [settings])):
        sheet = book.create_sheet(title)
        columns = list(dict.fromkeys(key for row in sheet_rows for key in row))
        sheet.append(columns)
        for row in sheet_rows:
            sheet.append([row.get(column) for column in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
