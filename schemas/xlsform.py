"""XLSForm spreadsheets (survey, choices, settings sheets) as form definitions.

pyxform reads the workbook and resolves its structure (type aliases, groups,
language columns such as `label::Mongolian (mn)`); this module maps pyxform's
JSON onto fieldsync's definition format.  A feature fieldsync cannot honour
(calculate, choice_filter, or_other, files, audio, defaults, ...) is reported as
a problem with its sheet and row, never dropped: an admin must not believe a
rule is enforced when it is not.  Problems are raised together with the
definition's own problems, translated to spreadsheet rows.

XLSForm expressions are kept as written when they are in fieldsync's language
(`${name}`, `.`, selected(), count-selected(), string-length(), if(), regex(),
today(), arithmetic and comparisons); anything else (paths like /data/x,
pulldata(), position(..)...) is reported with the reason.

Settings read: form_id, version (a whole number), form_title (and translations
as `form_title::Mongolian (mn)`), default_language, and fieldsync's own
`sensitive` (yes/no).  Imported forms start as drafts.
"""

from __future__ import annotations

import os
import re
import zipfile
from typing import IO, TYPE_CHECKING, Any

from schemas.definition import load_definition
from schemas.errors import FormDefinitionError

if TYPE_CHECKING:
    from pyxform.xls2json_backends import DefinitionData

_TYPES = {
    "text": "text",
    "integer": "integer",
    "decimal": "decimal",
    "date": "date",
    "dateTime": "datetime",
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "geopoint": "geopoint",
    "photo": "image",
    "note": "note",
    "group": "group",
    "repeat": "repeat",
}
_WHY_NOT = {
    "calculate": "calculated values are not recomputed on the server",
    "hidden": "hidden values are not supported",
    "rank": "rank questions are not supported",
    "audio": "audio attachments are not supported (only image)",
    "video": "video attachments are not supported (only image)",
    "background-audio": "audio attachments are not supported (only image)",
    "file": "file attachments are not supported (only image)",
    "range": "use an integer or decimal question with min and max",
    "acknowledge": "use a select_one with a single choice",
}
_METADATA = "device metadata is not collected as answers; fieldsync records the author and created_at of every submission"
_KNOWN_SETTINGS = {"form_title", "form_id", "version", "default_language", "sensitive"}
_YES = {"yes", "true", "true()", "1"}
_NO = {"no", "false", "false()", "0", ""}
_LANGUAGE_CODE = re.compile(r"\(([a-z]{2,3})\)\s*$")
_LANGUAGE_NAMES = {"english": "en", "mongolian": "mn", "монгол": "mn", "монгол хэл": "mn"}
_QUESTION_KEYS = {
    "type",
    "name",
    "label",
    "hint",
    "bind",
    "control",
    "children",
    "choices",
    "list_name",
    "itemset",
    "parameters",
}


def read_xlsform(source: str | os.PathLike | bytes | IO[bytes]) -> dict:
    """Read an .xlsx XLSForm into a checked, normalized form definition.

    Raises FormDefinitionError listing every problem: unreadable file,
    unsupported features, and whatever `load_definition` refuses.
    """
    workbook, survey = _parse(source)
    importer = _Importer(workbook, survey)
    definition = importer.definition()
    problems = list(importer.problems)
    try:
        normalized = load_definition(definition)
    except FormDefinitionError as err:
        problems.extend(importer.locate(p) for p in err.problems)
        normalized = None
    if problems:
        raise FormDefinitionError(problems)
    return normalized


def _parse(source: Any) -> tuple[DefinitionData, dict]:
    # pyxform takes a fifth of a second to import: only pay for it when importing.
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    try:
        workbook = get_xlsform(xlsform=source)
        survey = workbook_to_json(
            workbook_dict=workbook, fallback_form_name=workbook.fallback_form_name, warnings=[]
        )
    # SyntaxError: a workbook whose XML parts are broken (ElementTree's ParseError is one).
    except (PyXFormError, zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, SyntaxError) as err:
        raise FormDefinitionError(
            [{"path": "xlsform", "message": f"Cannot read the XLSForm: {err}"}]
        ) from None
    return workbook, survey


class _Importer:
    """One conversion: pyxform's JSON in, a definition and the problems found out."""

    def __init__(self, workbook: DefinitionData, survey: dict) -> None:
        self.workbook = workbook
        self.survey = survey
        self.problems: list[dict[str, str]] = []
        self.rows = {
            row["name"]: i + 2 for i, row in enumerate(workbook.survey or []) if row.get("name")
        }
        self.raw = {row["name"]: row for row in workbook.survey or [] if row.get("name")}
        self.settings = (workbook.settings or [{}])[0]
        self.default_language = self._default_language()
        self.languages: set[str] = set()
        self.field_rows: dict[str, int] = {}  # definition path -> survey row
        self.choice_rows: dict[str, int] = {}  # "choices.list[i]" -> choices row

    def problem(self, where: str, message: str) -> None:
        self.problems.append({"path": where, "message": message})

    def definition(self) -> dict:
        for sheet in ("external_choices", "entities", "osm"):
            if getattr(self.workbook, sheet, None):
                self.problem(sheet, f"The {sheet} sheet is not supported by fieldsync.")
        self._unsupported_settings()
        fields = self._fields(self.survey.get("children", []), "fields")
        choices = self._choices()  # before the title, which needs every language seen
        return {
            "form": str(self.survey.get("id_string") or ""),
            "version": self._version(),
            "title": self._title(),
            "status": "draft",
            "sensitive": self._sensitive(),
            "choices": choices,
            "fields": fields,
        }

    # --- settings -------------------------------------------------------------

    def _default_language(self) -> str:
        declared = self.settings.get("default_language")
        if not declared:
            return "en"
        return self._language(declared, "settings, column default_language") or "en"

    def _language(self, name: str, where: str) -> str | None:
        if name == "default":
            return self.default_language
        match = _LANGUAGE_CODE.search(name)
        if match:
            return match.group(1)
        code = _LANGUAGE_NAMES.get(name.strip().lower())
        if code is None:
            self.problem(
                where,
                f"Cannot tell the language code of '{name}'; write it as 'Name (code)', e.g. 'Mongolian (mn)'.",
            )
        return code

    def _version(self) -> Any:
        version = str(self.settings.get("version") or "").strip()
        if not re.fullmatch(r"[1-9][0-9]{0,17}", version):
            self.problem(
                "settings, column version",
                f"The version must be a whole number from 1 (found '{version}'); fieldsync counts versions 1, 2, 3...",
            )
            return 1
        return int(version)

    def _sensitive(self) -> bool:
        value = str(self.settings.get("sensitive") or "").strip().lower()
        if value in _YES:
            return True
        if value not in _NO:
            self.problem(
                "settings, column sensitive", f"sensitive must be yes or no, not '{value}'."
            )
        return False

    def _unsupported_settings(self) -> None:
        for column in sorted(self.settings):
            if column in _KNOWN_SETTINGS or column.startswith("form_title::"):
                continue
            self.problem(
                f"settings, column {column}",
                f"The setting '{column}' is not supported by fieldsync.",
            )

    def _title(self) -> dict[str, str]:
        default = str(self.settings.get("form_title") or self.survey.get("id_string") or "")
        title = {self.default_language: default}
        for column, value in self.settings.items():
            if column.startswith("form_title::") and value:
                code = self._language(column.split("::", 1)[1], f"settings, column {column}")
                if code:
                    title[code] = str(value)
        missing = sorted(self.languages - set(title))
        if missing:
            self.problem(
                "settings, column form_title",
                f"The title has no {', '.join(missing)} translation; add a column such as form_title::Mongolian (mn).",
            )
            # Reported once here, rather than once per label by load_definition.
            title.update({code: default for code in missing})
        return title

    # --- survey -----------------------------------------------------------------

    def _texts(self, value: Any, where: str) -> dict[str, str] | None:
        if value is None or value == "" or value == {}:
            return None
        if isinstance(value, str):
            texts = {self.default_language: value}
        else:
            texts = {}
            for name, text in value.items():
                code = self._language(str(name), where)
                if code and text:
                    texts[code] = str(text)
        self.languages.update(texts)
        return texts or None

    def _fields(self, children: list[dict], path: str) -> list[dict]:
        fields = []
        for child in children:
            name = child.get("name", "")
            if name not in self.rows:
                # Added by pyxform itself (meta/instanceID, or_other, repeat_count
                # helpers); the feature that caused it is reported from its own row.
                continue
            where = f"{path}[{len(fields)}]"
            converted = self._field(child, where)
            if converted is not None:
                self.field_rows[where] = self.rows[name]
                fields.append(converted)
        return fields

    def _field(self, element: dict, path: str) -> dict | None:
        name = element["name"]
        row = f"survey row {self.rows[name]}"
        raw = self.raw[name]
        kind = _TYPES.get(element.get("type"))
        raw_type = str(raw.get("type", ""))
        if "or_other" in raw_type.split():
            self.problem(
                f"{row}, column type",
                f"'{name}': or_other is not supported; add an 'other' choice and a text question with relevant selected(${{{name}}}, 'other').",
            )
            return None
        if kind is None:
            why = _WHY_NOT.get(
                element.get("type"),
                _METADATA if "label" not in element else "this type is not supported",
            )
            self.problem(f"{row}, column type", f"'{name}' has type '{raw_type}': {why}.")
            return None
        field: dict[str, Any] = {"name": name, "type": kind}
        for key, target in (("label", "label"), ("hint", "hint")):
            texts = self._texts(element.get(key), f"{row}, column {key}")
            if texts:
                field[target] = texts
        bind = element.get("bind") or {}
        if element.get("parameters"):
            # pyxform turns parameters into orx: binds; the parameters are reported below.
            bind = {k: v for k, v in bind.items() if not k.startswith("orx:")}
        self._bind(bind, field, row)
        self._control(element.get("control") or {}, field, row, raw)
        if kind in ("select_one", "select_multiple"):
            if element.get("itemset") != element.get("list_name") or not element.get("list_name"):
                self.problem(
                    f"{row}, column type",
                    f"'{name}' takes its choices from a file ({element.get('itemset')}); only choices on the choices sheet are supported.",
                )
                return None
            field["list_name"] = element["list_name"]
        if element.get("parameters"):
            self.problem(
                f"{row}, column parameters",
                f"'{name}': parameters are not supported ({element['parameters']}).",
            )
        for key in sorted(set(element) - _QUESTION_KEYS):
            self.problem(
                f"{row}, column {key}", f"'{name}': the {key} column is not supported by fieldsync."
            )
        if kind in ("group", "repeat"):
            field["fields"] = self._fields(element.get("children", []), f"{path}.fields")
        return field

    def _bind(self, bind: dict, field: dict, row: str) -> None:
        for key, value in bind.items():
            if key == "required":
                flag = str(value).strip().lower()
                if flag in _YES:
                    field["required"] = True
                elif flag not in _NO:
                    self.problem(
                        f"{row}, column required",
                        f"required must be yes or no; a condition ('{value}') is not supported, use relevant instead.",
                    )
            elif key in ("relevant", "constraint"):
                field[key] = str(value)
            elif key == "jr:constraintMsg":
                texts = self._texts(value, f"{row}, column constraint_message")
                if texts:
                    field["constraint_message"] = texts
            else:
                column = {"jr:requiredMsg": "required_message", "readonly": "read_only"}.get(
                    key, key
                )
                self.problem(
                    f"{row}, column {column}",
                    f"'{field['name']}': {column} is not supported by fieldsync.",
                )

    def _control(self, control: dict, field: dict, row: str, raw: dict) -> None:
        for key, value in control.items():
            if key == "appearance":
                field["appearance"] = str(value)
            elif key == "jr:count":
                count = str(raw.get("repeat_count", "")).strip()
                if re.fullmatch(r"[0-9]{1,4}", count) and int(count) > 0:
                    field["min_count"] = field["max_count"] = int(count)
                else:
                    self.problem(
                        f"{row}, column repeat_count",
                        f"'{field['name']}': only a fixed number of entries is supported, not '{count}'.",
                    )
            else:
                self.problem(
                    f"{row}, column {key}",
                    f"'{field['name']}': {key} is not supported by fieldsync.",
                )

    # --- choices -----------------------------------------------------------------

    def _choices(self) -> dict[str, list[dict]]:
        rows = {}
        for i, row in enumerate(self.workbook.choices or []):
            rows[(row.get("list_name"), row.get("name"))] = i + 2
        choices: dict[str, list[dict]] = {}
        for list_name, items in (self.survey.get("choices") or {}).items():
            converted = []
            for item in items:
                number = rows.get((list_name, item.get("name")))
                where = f"choices row {number}" if number else f"choices list {list_name}"
                if number is None:
                    continue  # the 'other' choice pyxform adds for or_other
                self.choice_rows[f"choices.{list_name}[{len(converted)}]"] = number
                for key in sorted(set(item) - {"name", "label"}):
                    self.problem(
                        f"{where}, column {key}",
                        f"Choice '{item.get('name')}': the {key} column is not supported by fieldsync.",
                    )
                choice = {"name": str(item.get("name", ""))}
                label = self._texts(item.get("label"), f"{where}, column label")
                if label:
                    choice["label"] = label
                converted.append(choice)
            choices[list_name] = converted
        return choices

    # --- problems --------------------------------------------------------------------

    def locate(self, problem: dict[str, str]) -> dict[str, str]:
        """Say where a definition problem is in the spreadsheet."""
        path = problem["path"]
        for table, sheet in ((self.field_rows, "survey"), (self.choice_rows, "choices")):
            for prefix in sorted(table, key=len, reverse=True):
                if path == prefix or path.startswith(prefix + "."):
                    rest = path[len(prefix) + 1 :]
                    where = f"{sheet} row {table[prefix]}" + (f", column {rest}" if rest else "")
                    return {"path": where, "message": problem["message"]}
        top = {
            "form": "settings, column form_id",
            "version": "settings, column version",
            "title": "settings, column form_title",
        }
        for key, where in top.items():
            if path == key or path.startswith(key + "."):
                return {"path": where, "message": problem["message"]}
        return problem
