"""Checks that need the whole form: names, choice lists, languages, expressions.

They read the raw definition defensively (anything of the wrong shape is the
definition schema's to report), so that one upload lists shape problems and
consistency problems together.
"""

from __future__ import annotations

from typing import Any

from schemas.evaluation import compile_condition
from schemas.expressions import ExpressionError, parse, references
from schemas.scope import FieldInfo, ScopeResolver, index_fields, read_current
from schemas.vocabulary import SELECT_TYPES


def consistency_problems(raw: dict) -> list[dict[str, str]]:
    index, problems = index_fields(raw.get("fields"))
    choices = raw.get("choices") if isinstance(raw.get("choices"), dict) else {}
    title = raw.get("title")
    languages = sorted(k for k in title if isinstance(k, str)) if isinstance(title, dict) else []
    problems.extend(_choice_problems(choices, languages))
    for info in index.values():
        problems.extend(_field_problems(info, index, choices, languages))
    return problems


def _choice_problems(choices: dict, languages: list[str]) -> list[dict[str, str]]:
    problems = []
    for list_name, items in choices.items():
        if not isinstance(items, list):
            continue
        seen: set[str] = set()
        for i, choice in enumerate(items):
            if not isinstance(choice, dict):
                continue
            path = f"choices.{list_name}[{i}]"
            name = choice.get("name")
            if isinstance(name, str):
                if name in seen:
                    problems.append(
                        {
                            "path": f"{path}.name",
                            "message": f"The choice '{name}' is already in list '{list_name}'.",
                        }
                    )
                seen.add(name)
            problems.extend(_missing_languages(choice.get("label"), languages, f"{path}.label"))
    return problems


def _field_problems(
    info: FieldInfo, index: dict[str, FieldInfo], choices: dict, languages: list[str]
) -> list[dict[str, str]]:
    field, path = info.definition, info.path
    problems = []
    if "label" in field:
        problems.extend(_missing_languages(field["label"], languages, f"{path}.label"))
    for key in ("hint", "constraint_message"):
        problems.extend(_extra_languages(field.get(key), languages, f"{path}.{key}"))
    list_name = field.get("list_name")
    if info.type in SELECT_TYPES and isinstance(list_name, str) and list_name not in choices:
        problems.append(
            {
                "path": f"{path}.list_name",
                "message": f"There is no choice list '{list_name}' in the form's choices.",
            }
        )
    for key in ("relevant", "constraint"):
        text = field.get(key)
        if not isinstance(text, str) or not text:
            continue
        problem = _expression_problem(text, key, info, index)
        if problem:
            problems.append({"path": f"{path}.{key}", "message": problem})
    return problems


def _expression_problem(
    text: str, key: str, info: FieldInfo, index: dict[str, FieldInfo]
) -> str | None:
    current = read_current if key == "constraint" else None
    try:
        compile_condition(text, ScopeResolver(index, info.repeats, current))
    except ExpressionError as err:
        return f"{key}: {err}"
    if key == "relevant":
        loops = sorted(
            n for n in references(parse(text)) if n == info.name or info.name in index[n].containers
        )
        if loops:
            return (
                f"relevant: whether '{info.name}' is shown cannot depend on its own answers "
                f"({', '.join('${' + n + '}' for n in loops)}); use a constraint instead"
            )
    return None


def _missing_languages(texts: Any, languages: list[str], path: str) -> list[dict[str, str]]:
    if not isinstance(texts, dict):
        return []
    missing = [lang for lang in languages if lang not in texts]
    if not missing:
        return _extra_languages(texts, languages, path)
    return [
        {
            "path": path,
            "message": f"Missing the {', '.join(missing)} text; the form's title has these languages: {', '.join(languages)}.",
        }
    ]


def _extra_languages(texts: Any, languages: list[str], path: str) -> list[dict[str, str]]:
    if not isinstance(texts, dict) or not languages:
        return []
    extra = sorted(str(lang) for lang in texts if lang not in languages)
    if not extra:
        return []
    return [
        {
            "path": path,
            "message": f"Language(s) {', '.join(extra)} are not in the form's title ({', '.join(languages)}); add them to the title or remove them here.",
        }
    ]
