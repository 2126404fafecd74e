"""What changed between two versions of a form: fields added, removed and changed.

Field names are unique in a whole form (``schemas.scope``), so a field is the
same field in both versions when its name is; moving it into another group
or repeat is a change of its place. A select's choices count as part of the
field: a choice added to its list changes what the question accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_COMPARED = ("type", "label", "hint", "required", "relevant", "constraint", "constraint_message", "min", "max",
             "min_length", "max_length", "pattern", "min_count", "max_count", "appearance", "list_name")


@dataclass
class FieldChange:
    name: str
    change: str  # "added", "removed" or "changed"
    place: str  # where the field is: its groups and repeats, "/"-joined ("" at the top)
    keys: list[str] = field(default_factory=list)  # what changed ("place" and "choices" included)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


@dataclass
class FormDiff:
    fields: list[FieldChange]
    form_keys: list[str]  # title, sensitive, photos... that differ

    @property
    def added(self) -> list[FieldChange]:
        return [c for c in self.fields if c.change == "added"]

    @property
    def removed(self) -> list[FieldChange]:
        return [c for c in self.fields if c.change == "removed"]

    @property
    def changed(self) -> list[FieldChange]:
        return [c for c in self.fields if c.change == "changed"]


def flatten(fields: list[dict], place: tuple[str, ...] = ()) -> dict[str, tuple[str, dict]]:
    """Every field of a definition by name: (its place, the field)."""
    out: dict[str, tuple[str, dict]] = {}
    for f in fields or ():
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            continue
        out[f["name"]] = ("/".join(place), f)
        if f.get("type") in ("group", "repeat"):
            out.update(flatten(f.get("fields") or [], (*place, f["name"])))
    return out


def compare(old: dict, new: dict) -> FormDiff:
    """The changes from definition ``old`` to definition ``new``, in ``new``'s order (removed last)."""
    before, after = flatten(old.get("fields") or []), flatten(new.get("fields") or [])
    old_choices, new_choices = old.get("choices") or {}, new.get("choices") or {}
    changes: list[FieldChange] = []
    for name, (place, f) in after.items():
        if name not in before:
            changes.append(FieldChange(name, "added", place, after=_shown(f)))
            continue
        old_place, g = before[name]
        keys = [k for k in _COMPARED if g.get(k) != f.get(k)]
        if old_place != place:
            keys.append("place")
        if f.get("list_name") and old_choices.get(g.get("list_name")) != new_choices.get(f.get("list_name")):
            keys.append("choices")
        if keys:
            shown_keys = [k for k in keys if k != "place"]
            changes.append(FieldChange(name, "changed", place, keys,
                                       before={k: _value(g, k, old_choices) for k in shown_keys},
                                       after={k: _value(f, k, new_choices) for k in shown_keys}))
    for name, (place, g) in before.items():
        if name not in after:
            changes.append(FieldChange(name, "removed", place, before=_shown(g)))
    form_keys = [k for k in ("title", "sensitive", "photos") if old.get(k) != new.get(k)]
    return FormDiff(changes, form_keys)


def _shown(f: dict) -> dict[str, Any]:
    return {k: f[k] for k in _COMPARED if k in f}


def _value(f: dict, key: str, choices: dict) -> Any:
    if key == "choices":
        return [c.get("name") for c in choices.get(f.get("list_name"), [])]
    return f.get(key)
