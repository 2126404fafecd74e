"""Exports of a form's submissions (``GET /api/exports/<form>``).

The parameters are read by ``sync.export_query.parse`` (the same reading as the
export page and ``fieldsync export``: ``area`` repeats); this schema describes them.
"""

from __future__ import annotations

from sync.export_query import FORMATS, LABELS
from sync.reviews import STATES

from .base import ApiQuery, QueryFlag, Text, matching, one_of


class ExportQuery(ApiQuery):
    format = Text(validate=one_of(FORMATS), metadata={"description": "csv (a zip of tables, the default) or xlsx"})
    version = Text(validate=matching(r"^(all|[1-9][0-9]{0,5})$", "must be a whole number from 1, or all"),
                   metadata={"description": "one form version; all versions when left out"})
    area = Text(metadata={"description": "an area code, repeated for several; an aimag covers its soums; "
                                         "left out: every area the caller may export"})
    from_ = Text(data_key="from", validate=matching(r"^\d{4}-\d{2}-\d{2}$", "must be a date YYYY-MM-DD"),
                 metadata={"description": "created on or after this day"})
    to = Text(validate=matching(r"^\d{4}-\d{2}-\d{2}$", "must be a date YYYY-MM-DD"),
              metadata={"description": "created on or before this day"})
    state = Text(validate=one_of(STATES), metadata={"description": "only submissions in this review state"})
    labels = Text(validate=one_of(LABELS), metadata={"description": "headers: field names, or mn/en labels"})
    photos = QueryFlag(metadata={"description": "put the photos into the zip (XLSX then comes zipped with them)"})


class CaseExportQuery(ApiQuery):
    format = Text(validate=one_of(FORMATS), metadata={"description": "csv (one file, the default) or xlsx"})
    area = Text(metadata={"description": "an area code, repeated for several; an aimag covers its soums; "
                                         "left out: every area the caller may export"})
