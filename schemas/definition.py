"""What a form definition document is, as marshmallow schemas.

The schemas check the shape of each part (a field, a choice, the form head);
`schemas.consistency` then checks what needs the whole form at once (unique
names, expressions, choice lists).  `load_definition` runs both and reports every
problem together, because an admin fixing a spreadsheet wants the full list.

Format (see docs/forms.md for the full reference)::

    {"form": "child_growth", "version": 2, "status": "published",
     "title": {"en": "Child growth", "mn": "Хүүхдийн өсөлт"}, "sensitive": false,
     "choices": {"sex": [{"name": "f", "label": {"en": "Girl", "mn": "Охин"}}, ...]},
     "fields": [{"name": "weight_kg", "type": "decimal", "required": true,
                 "min": 1.5, "max": 35, "label": {"en": "Weight (kg)", "mn": "Жин (кг)"}},
                ...]}

Versions are whole numbers from 1: a published version never changes, a new
version gets the next number, and submissions name the number they were filled in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    pre_load,
    validate,
    validates_schema,
)
from marshmallow import fields as mf

from schemas.consistency import consistency_problems
from schemas.errors import FormDefinitionError
from schemas.evaluation import date_number
from schemas.vocabulary import (
    ALLOWED_KEYS,
    CHOICE_NAME,
    CONTAINER_TYPES,
    FIELD_NAME,
    FIELD_TYPES,
    FORM_ID,
    LANGUAGE,
    LIST_NAME,
    MAX_CHOICES,
    MAX_FIELDS,
    MAX_NESTING,
    MAX_PATTERN_LENGTH,
    RANGE_TYPES,
    STATUSES,
)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)


class StrictBoolean(mf.Field):
    """JSON true/false only: "yes" or 1 in a definition is a typo, not a flag."""

    default_error_messages = {"invalid": "Must be true or false."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if type(value) is not bool:
            raise self.make_error("invalid")
        return value


class WholeNumber(mf.Integer):
    """A JSON integer; refuses true/false, 3.0 and "3"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if type(value) is not int:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def _language_map(description: str, **kwargs: Any) -> mf.Dict:
    return mf.Dict(
        keys=mf.String(
            validate=validate.Regexp(
                LANGUAGE.pattern + "$", error="'{input}' is not a language code such as en or mn."
            )
        ),
        values=mf.String(validate=validate.Length(min=1, max=2000)),
        validate=validate.Length(min=1, error=f"Give the {description} in at least one language."),
        **kwargs,
    )


def _iso_datetime(value: str) -> None:
    if not (_DATETIME.fullmatch(value) or _DATE.fullmatch(value)):
        raise ValidationError("Must be an ISO 8601 date or date-time, e.g. 2026-11-01T00:00:00Z.")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("Not a real date or time.") from None


class ChoiceSchema(Schema):
    class Meta:
        unknown = RAISE

    name = mf.String(
        required=True,
        validate=validate.Regexp(
            CHOICE_NAME.pattern + "$", error="A choice name is 1 to 100 characters without spaces."
        ),
    )
    label = _language_map("choice label", required=True)


class FieldSchema(Schema):
    """One question, note, group or repeat; groups and repeats nest `fields`."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "Unknown key; check its spelling (see docs/forms.md)."}

    name = mf.String(
        required=True,
        validate=validate.Regexp(
            FIELD_NAME.pattern + "$",
            error="A name starts with a letter or _ and has up to 64 letters, digits, _ or -.",
        ),
    )
    type = mf.String(
        required=True,
        validate=validate.OneOf(
            FIELD_TYPES, error="Unknown type '{input}'; use one of: {choices}."
        ),
    )
    label = _language_map("label")
    hint = _language_map("hint")
    appearance = mf.String(validate=validate.Length(max=200))
    required = StrictBoolean()
    relevant = mf.String(validate=validate.Length(min=1))
    constraint = mf.String(validate=validate.Length(min=1))
    constraint_message = _language_map("constraint message")
    min = mf.Raw()
    max = mf.Raw()
    min_length = WholeNumber(validate=validate.Range(min=0))
    max_length = WholeNumber(validate=validate.Range(min=1))
    pattern = mf.String(validate=validate.Length(min=1, max=MAX_PATTERN_LENGTH))
    list_name = mf.String(
        validate=validate.Regexp(LIST_NAME.pattern + "$", error="Not a valid choice list name.")
    )
    children = mf.List(mf.Nested(lambda: FieldSchema()), data_key="fields", attribute="fields")
    min_count = WholeNumber(validate=validate.Range(min=0))
    max_count = WholeNumber(validate=validate.Range(min=1))

    @validates_schema(skip_on_field_errors=False)
    def _fits_its_type(self, data: dict, **kwargs: Any) -> None:
        kind = data.get("type")
        if kind not in ALLOWED_KEYS:
            return
        errors: dict[str, list[str]] = {}

        def refuse(key: str, message: str) -> None:
            errors.setdefault(key, []).append(message)

        for key in sorted(set(data) - ALLOWED_KEYS[kind]):
            refuse(key, f"A {kind} field cannot have '{key}'.")
        if kind not in CONTAINER_TYPES and "label" not in data:
            refuse("label", "A label is required, in every language of the form.")
        if kind in CONTAINER_TYPES and not data.get("fields"):
            refuse("fields", f"A {kind} needs at least one field inside it.")
        if kind in ("select_one", "select_multiple") and "list_name" not in data:
            refuse("list_name", "A select needs a list_name naming one of the form's choice lists.")
        if kind in RANGE_TYPES:
            _check_range(kind, data, refuse)
        _check_order(data, "min_length", "max_length", refuse)
        _check_order(data, "min_count", "max_count", refuse)
        if "pattern" in data:
            try:
                re.compile(data["pattern"])
            except re.error as err:
                refuse("pattern", f"Not a valid regular expression: {err}.")
        if "constraint_message" in data and not ({"constraint", "pattern"} & set(data)):
            refuse(
                "constraint_message",
                "There is no constraint or pattern for this message to explain.",
            )
        if errors:
            raise ValidationError(errors)


def _check_range(kind: str, data: dict, refuse: Any) -> None:
    bounds = {}
    for key in ("min", "max"):
        if key not in data:
            continue
        value = data[key]
        if kind == "integer" and type(value) is not int:
            refuse(key, "Must be a whole number.")
        elif kind == "decimal" and type(value) not in (int, float):
            refuse(key, "Must be a number.")
        elif kind == "date" and not (isinstance(value, str) and _valid(_DATE, value)):
            refuse(key, "Must be a date as YYYY-MM-DD.")
        elif kind == "datetime" and not (isinstance(value, str) and _valid(_DATETIME, value)):
            refuse(key, "Must be an ISO 8601 date-time such as 2026-11-01T00:00:00+08:00.")
        else:
            bounds[key] = value
    if len(bounds) == 2:
        # Date-times may carry different offsets: compare instants, not text.
        low, high = (
            (date_number(bounds["min"]), date_number(bounds["max"]))
            if kind == "datetime"
            else (bounds["min"], bounds["max"])
        )
        if low > high:
            refuse("min", f"min ({bounds['min']}) is greater than max ({bounds['max']}).")


def _valid(pattern: re.Pattern, value: str) -> bool:
    if not pattern.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_order(data: dict, low: str, high: str, refuse: Any) -> None:
    if low in data and high in data and data[low] > data[high]:
        refuse(low, f"{low} ({data[low]}) is greater than {high} ({data[high]}).")


class StrictNumber(mf.Float):
    """A JSON number; refuses true/false and "0.7"."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if type(value) not in (int, float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class PhotoSchema(Schema):
    """How the field app resizes this form's photos before storing them (both optional).

    A camera's 3-4 MB JPEG costs minutes on a 2G link; 1280 px at quality 0.6
    (the app's defaults, about 80-100 KB) keeps a ger or a child's measuring
    board readable. A form that needs more detail (a document) asks for it here.
    """

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "Unknown key; photos takes max_side and quality."}

    max_side = WholeNumber(validate=validate.Range(
        min=320, max=4096, error="The longest side is {min} to {max} pixels."))
    quality = StrictNumber(validate=validate.Range(
        min=0.3, max=0.95, error="JPEG quality is {min} to {max}."))


class DefinitionSchema(Schema):
    """The whole form definition document."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "Unknown key; check its spelling (see docs/forms.md)."}

    type = mf.String(validate=validate.Equal("form"))
    form = mf.String(
        required=True,
        validate=validate.Regexp(
            FORM_ID.pattern + "$", error="A form id is 1 to 64 of a-z, 0-9, _ and -."
        ),
    )
    version = WholeNumber(
        required=True, validate=validate.Range(min=1, error="Versions are whole numbers from 1.")
    )
    title = _language_map("title", required=True)
    status = mf.String(load_default="draft", validate=validate.OneOf(STATUSES))
    sensitive = StrictBoolean(load_default=False)
    retired_at = mf.String(validate=_iso_datetime)
    closed_at = mf.String(validate=_iso_datetime)  # closed while its programme module is off (sync.modules)
    grace_days = WholeNumber(validate=validate.Range(min=0, max=3650))
    photos = mf.Nested(PhotoSchema)
    choices = mf.Dict(
        keys=mf.String(
            validate=validate.Regexp(LIST_NAME.pattern + "$", error="Not a valid choice list name.")
        ),
        values=mf.List(
            mf.Nested(ChoiceSchema),
            validate=validate.Length(
                min=1, max=MAX_CHOICES, error="A choice list has 1 to {max} choices."
            ),
        ),
        load_default=dict,
    )
    children = mf.List(
        mf.Nested(FieldSchema),
        data_key="fields",
        attribute="fields",
        required=True,
        validate=validate.Length(min=1, error="A form needs at least one field."),
    )

    @pre_load
    def _drop_store_metadata(self, data: Any, **kwargs: Any) -> Any:
        # _id, _rev, _attachments... belong to the stored document, not the form.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("_"))}
        return data

    @validates_schema(skip_on_field_errors=False)
    def _retirement(self, data: dict, **kwargs: Any) -> None:
        status = data.get("status")
        if status == "retired" and "retired_at" not in data:
            raise ValidationError("A retired form needs retired_at.", "retired_at")
        if status != "retired" and "retired_at" in data:
            raise ValidationError("retired_at is only for a retired form.", "retired_at")
        if status == "closed" and "closed_at" not in data:
            raise ValidationError("A closed form needs closed_at.", "closed_at")
        if status != "closed" and "closed_at" in data:
            raise ValidationError("closed_at is only for a closed form.", "closed_at")
        if "grace_days" in data and "retired_at" not in data:
            raise ValidationError(
                "grace_days counts from retired_at, which is missing.", "grace_days"
            )


def load_definition(raw: Any) -> dict:
    """Check a form definition and return it normalized, or raise FormDefinitionError.

    Normalized means: CouchDB metadata keys (`_id`, `_rev`...) removed and
    `status` ("draft"), `sensitive` (false) and `choices` ({}) filled in.
    """
    if not isinstance(raw, dict):
        raise FormDefinitionError([{"path": "", "message": "A form definition is a JSON object."}])
    too_big = _size_problems(raw.get("fields"))
    if too_big:
        raise FormDefinitionError(too_big)
    problems: list[dict[str, str]] = []
    normalized: dict = {}
    try:
        normalized = DefinitionSchema().load(raw)
    except ValidationError as err:
        problems.extend(flatten_messages(err.messages))
    problems.extend(consistency_problems(raw))
    if problems:
        raise FormDefinitionError(_unique(problems))
    return normalized


def submission_deadline(definition: dict) -> datetime | None:
    """When a retired version stops accepting submissions (None: not retired).

    Devices can hold filled forms for weeks without network, so retiring a
    version keeps accepting it for `grace_days` after `retired_at`.
    """
    if definition.get("status") != "retired" or "retired_at" not in definition:
        return None
    moment = datetime.fromisoformat(definition["retired_at"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment + timedelta(days=definition.get("grace_days", 0))


def _size_problems(field_list: Any) -> list[dict[str, str]]:
    """Refuse absurd nesting or size before the recursive schemas see it."""
    count = 0
    stack = [(field_list, "fields", 1)]
    while stack:
        items, path, depth = stack.pop()
        if not isinstance(items, list):
            continue
        if depth > MAX_NESTING:
            return [
                {"path": path, "message": f"Groups and repeats nest at most {MAX_NESTING} deep."}
            ]
        count += len(items)
        if count > MAX_FIELDS:
            return [{"path": "fields", "message": f"A form has at most {MAX_FIELDS} fields."}]
        for i, item in enumerate(items):
            if isinstance(item, dict) and "fields" in item:
                stack.append((item["fields"], f"{path}[{i}].fields", depth + 1))
    return []


def flatten_messages(messages: Any, path: str = "") -> list[dict[str, str]]:
    """Turn marshmallow's nested error dict into path/message pairs."""
    problems: list[dict[str, str]] = []
    stack = [(messages, path)]
    while stack:
        node, where = stack.pop(0)
        if isinstance(node, str):
            problems.append({"path": where, "message": node})
        elif isinstance(node, list):
            stack[0:0] = [(item, where) for item in node]
        elif isinstance(node, dict):
            # A Dict field reports {"<key>": {"key": [...], "value": [...]}}.
            collapse = set(node) <= {"key", "value"} and bool(node)
            children = []
            for key, value in node.items():
                if collapse or key == "_schema":
                    children.append((value, where))
                elif isinstance(key, int):
                    children.append((value, f"{where}[{key}]"))
                else:
                    children.append((value, f"{where}.{key}" if where else str(key)))
            stack[0:0] = children
    return problems


def _unique(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for problem in problems:
        key = (problem["path"], problem["message"])
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
