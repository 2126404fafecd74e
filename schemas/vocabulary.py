"""Names shared by the definition schema, the checks and the compiler.

Kept apart so that what a field type may carry is written down once: the
definition schema refuses keys a type cannot use, and the compiler relies on it.
"""

from __future__ import annotations

import re

FORM_ID = re.compile(r"[a-z0-9_-]{1,64}")
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
LIST_NAME = FIELD_NAME
LANGUAGE = re.compile(r"[a-z]{2,3}")
CHOICE_NAME = re.compile(r"\S{1,100}")

STATUSES = ("draft", "published", "retired", "closed")

QUESTION_TYPES = (
    "text",
    "integer",
    "decimal",
    "date",
    "datetime",
    "select_one",
    "select_multiple",
    "geopoint",
    "image",
)
CONTAINER_TYPES = ("group", "repeat")
FIELD_TYPES = QUESTION_TYPES + ("note",) + CONTAINER_TYPES
SELECT_TYPES = ("select_one", "select_multiple")
RANGE_TYPES = ("integer", "decimal", "date", "datetime")

_COMMON = {"name", "type", "label", "hint", "relevant", "appearance"}
_ANSWERED = _COMMON | {"required", "constraint", "constraint_message"}

# The keys each field type may carry; anything else is refused, never ignored.
ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "text": frozenset(_ANSWERED | {"min_length", "max_length", "pattern"}),
    "integer": frozenset(_ANSWERED | {"min", "max"}),
    "decimal": frozenset(_ANSWERED | {"min", "max"}),
    "date": frozenset(_ANSWERED | {"min", "max"}),
    "datetime": frozenset(_ANSWERED | {"min", "max"}),
    "select_one": frozenset(_ANSWERED | {"list_name"}),
    "select_multiple": frozenset(_ANSWERED | {"list_name"}),
    "geopoint": frozenset(_ANSWERED),
    "image": frozenset(_COMMON | {"required"}),
    "note": frozenset(_COMMON),
    "group": frozenset(_COMMON | {"fields"}),
    "repeat": frozenset(_COMMON | {"fields", "min_count", "max_count"}),
}

# Limits that keep a hostile or broken definition from costing unbounded work.
MAX_FIELDS = 2000
MAX_NESTING = 10
MAX_CHOICES = 10000
MAX_PATTERN_LENGTH = 500
