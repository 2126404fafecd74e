"""Area changes an admin makes, checked in both languages and written to the audit trail.

``POST /api/areas`` and the admin pages call these, so an area added or edited
either way is checked alike and recorded with what it was before.
"""

from __future__ import annotations

from typing import Any

from sync.area_csv import CODE_RE, LEVELS, message
from sync.areas import Area, AreaRegistry
from sync.audit import Audit
from sync.errors import BadRequest, Conflict, NotFound
from sync.gate.messages import Text

MESSAGES: dict[str, dict[str, str]] = {
    "exists": {"en": "area {code!r} already exists", "mn": "{code!r} кодтой нутаг аль хэдийн байна."},
    "parent_missing": {"en": "parent area {parent!r} does not exist",
                       "mn": "{parent!r} гэсэн дээд нутаг алга."},
    "missing": {"en": "no area {code!r}", "mn": "{code!r} кодтой нутаг алга."},
    "inside": {"en": "{parent!r} is inside {code!r}: an area cannot be its own ancestor.",
               "mn": "{parent!r} нь {code!r} нутгийн дотор байна: нутаг өөрийнхөө дээд нутаг болж болохгүй."},
    "stops_data": {"en": "Area {code!r} holds data; it keeps holding it.",
                   "mn": "{code!r} нутагт өгөгдөл хадгалагддаг; үүнийг болиулах боломжгүй."},
}


def _message(key: str, **params: Any) -> Text:
    return Text({lang: template.format(**params) for lang, template in MESSAGES[key].items()})


def _state(area: Area) -> dict:
    return {"name": dict(area.name), "parent": area.parent, "level": area.level, "holds_data": area.holds_data}


def _check(registry: AreaRegistry, code: str, name_en: str | None, parent: str | None,
           level: str | None) -> None:
    if not isinstance(code, str) or not CODE_RE.match(code) or code == "global":
        raise BadRequest(message("bad_code", code=code))
    if not (name_en or "").strip():
        raise BadRequest(message("no_name"))
    if level is not None and level not in LEVELS:
        raise BadRequest(message("level", level=level, levels=", ".join(LEVELS)))
    tree = registry.tree()
    if parent is not None:
        if parent not in tree.areas:
            raise NotFound(_message("parent_missing", parent=parent))
        if code in tree.areas and parent in tree.covered([code]):
            raise BadRequest(_message("inside", parent=parent, code=code))


def add_area(registry: AreaRegistry, audit: Audit, *, by: str, code: str, name_en: str,
             name_mn: str | None = None, parent: str | None = None, level: str | None = None,
             holds_data: bool = False) -> Area:
    _check(registry, code, name_en, parent, level)
    if code in registry.tree().areas:
        raise Conflict(_message("exists", code=code))
    area = registry.add(code, name_en=name_en.strip(), name_mn=(name_mn or "").strip() or None, parent=parent,
                        level=level, holds_data=holds_data)
    audit.record(actor=by, action="area.added", area=code, after=_state(area))
    return area


def edit_area(registry: AreaRegistry, audit: Audit, *, by: str, code: str, name_en: str,
              name_mn: str | None = None, parent: str | None = None, level: str | None = None,
              holds_data: bool = False) -> Area:
    """Change an area's names, parent, level; an area may start holding data, never stop
    (its database and every device's copy of it stay as they are)."""
    before = registry.tree().areas.get(code)
    if before is None:
        raise NotFound(_message("missing", code=code))
    _check(registry, code, name_en, parent, level)
    if before.holds_data and not holds_data:
        raise BadRequest(_message("stops_data", code=code))
    area = registry.add(code, name_en=name_en.strip(), name_mn=(name_mn or "").strip() or None, parent=parent,
                        level=level, holds_data=holds_data, replace=True)
    old, new = _state(before), _state(area)
    differs = [k for k in old if old[k] != new[k]]
    if differs:
        audit.record(actor=by, action="area.changed", area=code, before={k: old[k] for k in differs},
                     after={k: new[k] for k in differs})
    return area


def import_areas(registry: AreaRegistry, audit: Audit, *, by: str, text: str, filename: str | None = None) -> int:
    """A CSV of areas (``sync.area_csv``): all stored, or none when any row has a problem."""
    before = set(registry.tree().areas)
    count = registry.import_csv(text)
    after = registry.tree().areas
    audit.record(actor=by, action="area.imported", file=filename, rows=count,
                 added=sorted(set(after) - before)[:500])
    return count
