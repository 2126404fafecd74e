"""A form definition laid out for reading: questions in order, in one language, with when each is asked.

The preview is what a worker's device will show, read-only, so an admin can
check labels, hints, choices and skip logic in Mongolian and in English
before publishing. A skip condition (``relevant``) is shown as written and
in words: each ``${name}`` replaced by that question's label, so "asked only
when «Has children under 5» = 'yes'" reads without knowing the names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from schemas.messages import pick_text

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)\}")


@dataclass
class Item:
    """One field of the form as the preview shows it."""

    name: str
    type: str
    label: str
    hint: str | None
    depth: int
    required: bool = False
    relevant: str | None = None  # the expression as written
    relevant_words: str | None = None
    constraint: str | None = None
    constraint_message: str | None = None
    limits: dict[str, Any] = field(default_factory=dict)  # min, max, min_length..., min_count...
    choices: list[tuple[str, str]] = field(default_factory=list)  # (name, label)
    children: list[Item] = field(default_factory=list)


def layout(definition: dict, lang: str) -> list[Item]:
    """The definition's fields as preview items in ``lang`` (English, then any, where it lacks one)."""
    labels = {name: pick_text(f.get("label"), lang) or name for name, f in _all_fields(definition.get("fields"))}
    return _items(definition.get("fields") or [], definition.get("choices") or {}, labels, lang, 0)


def in_words(expression: str, labels: dict[str, str]) -> str:
    """``expression`` with each ``${name}`` as «its label»: the condition as an admin reads it."""
    return _REF.sub(lambda m: f"«{labels.get(m.group(1), m.group(1))}»", expression)


def _items(fields: list[dict], choices: dict, labels: dict[str, str], lang: str, depth: int) -> list[Item]:
    out = []
    for f in fields:
        kind = f.get("type", "")
        item = Item(name=f["name"], type=kind, label=pick_text(f.get("label"), lang) or f["name"],
                    hint=pick_text(f.get("hint"), lang), depth=depth, required=bool(f.get("required")),
                    constraint=f.get("constraint"), constraint_message=pick_text(f.get("constraint_message"), lang))
        if f.get("relevant"):
            item.relevant = f["relevant"]
            item.relevant_words = in_words(f["relevant"], labels)
        item.limits = {k: f[k] for k in ("min", "max", "min_length", "max_length", "min_count", "max_count",
                                          "pattern") if k in f}
        if kind in ("select_one", "select_multiple"):
            item.choices = [(c["name"], pick_text(c.get("label"), lang) or c["name"])
                            for c in choices.get(f.get("list_name"), [])]
        if kind in ("group", "repeat"):
            item.children = _items(f.get("fields") or [], choices, labels, lang, depth + 1)
        out.append(item)
    return out


def _all_fields(fields: Any):
    for f in fields or ():
        if isinstance(f, dict) and isinstance(f.get("name"), str):
            yield f["name"], f
            yield from _all_fields(f.get("fields"))
