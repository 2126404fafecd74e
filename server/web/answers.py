"""A submission's answers laid out by the exact form version it names, in the page's language.

Groups become sections, repeats one section per entry, select answers show
their choice labels, photos their thumbnails. Questions without an answer are
not shown: the write gate refuses answers to questions whose skip condition
is not met, so an empty question is a skipped one (or an optional one left
empty). Answers the form version does not know (it should not happen: the
gate checks them) are listed at the end under their names, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import i18n


@dataclass
class Item:
    kind: str  # answer, photo (inside an ``answers`` run), answers, group, repeat
    label: str
    value: str = ""
    name: str = ""  # a photo's attachment name
    items: list[Item] = field(default_factory=list)  # a group's or a run's
    entries: list[list[Item]] = field(default_factory=list)  # a repeat's


def lay_out(definition: dict | None, data: dict, attachments: dict | None) -> list[Item]:
    """The display tree of ``data`` under ``definition`` (None: the raw answers by name), in the
    form's order; runs of plain answers are gathered into ``answers`` items (one list each)."""
    if not isinstance(data, dict):
        return []
    choices = (definition or {}).get("choices") or {}
    fields = (definition or {}).get("fields") or []
    items = _fields(fields, data, choices, attachments or {})
    known = {f.get("name") for f in fields if isinstance(f, dict)}
    extra = [Item("answer", str(k), _plain(v)) for k, v in data.items() if k not in known and _present(v)]
    return _runs(items + extra)


def _runs(items: list[Item]) -> list[Item]:
    out: list[Item] = []
    for item in items:
        if item.kind in ("answer", "photo"):
            if not out or out[-1].kind != "answers":
                out.append(Item("answers", ""))
            out[-1].items.append(item)
        else:
            out.append(item)
    return out


def _fields(fields: list, data: dict, choices: dict, attachments: dict) -> list[Item]:
    out = []
    for f in fields:
        if not isinstance(f, dict) or f.get("type") == "note":
            continue
        name = f.get("name")
        value = data.get(name) if isinstance(data, dict) else None
        if not _present(value):
            continue
        label = i18n.pick(f.get("label"), name)
        kind = f.get("type")
        if kind == "group" and isinstance(value, dict):
            inner = _fields(f.get("fields") or [], value, choices, attachments)
            if inner:
                out.append(Item("group", label, items=_runs(inner)))
        elif kind == "repeat" and isinstance(value, list):
            entries = [_runs(_fields(f.get("fields") or [], v, choices, attachments))
                       for v in value if isinstance(v, dict)]
            if any(entries):
                out.append(Item("repeat", label, entries=entries))
        elif kind == "image" and isinstance(value, str):
            out.append(Item("photo" if value in attachments else "answer", label, value, name=value))
        else:
            out.append(Item("answer", label, _shown(f, value, choices)))
    return out


def _present(value) -> bool:
    return value not in (None, "", [], {})


def _shown(f: dict, value, choices: dict) -> str:
    kind = f.get("type")
    if kind in ("select_one", "select_multiple"):
        options = {c.get("name"): i18n.pick(c.get("label"), c.get("name"))
                   for c in choices.get(f.get("list_name"), []) if isinstance(c, dict)}
        picked = value if isinstance(value, list) else [value]
        return ", ".join(options.get(v, str(v)) for v in picked)
    if kind == "geopoint" and isinstance(value, dict):
        where = f"{value.get('lat')}, {value.get('lon')}"
        return where + (f" (±{value['accuracy']} m)" if value.get("accuracy") is not None else "")
    return _plain(value)


def _plain(value) -> str:
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)
