"""The facility register: health centres, schools and kindergartens that community scorecards score.

A facility is a register document of its area, ``<area>:fac:<key>`` (``type:
"facility"``, ``name``, ``facility_type``, optional ``bag``), written by the
area's workers (from a device, as families and kindergartens are) and by its
coordinators (the scorecard page), always through the write gate, which
applies ``check_facility``. A scorecard form names its facility by the
document's id (the field ``facility``, ``appearance: register:facility``), so
cycles typed with different spellings of the name stay one facility.

Facility types are those of the scorecard forms' ``facility_type`` list: a
register entry and a cycle's own answer then speak the same words.
"""

from __future__ import annotations

from typing import Any

from sync import ids, records
from sync.gate.messages import Text
from sync.stores.base import Store

TYPES = ("health_centre", "family_health_centre", "school", "kindergarten")
MAX_NAME, MAX_BAG = 150, 100
FIELDS = {"type", "name", "facility_type", "bag", "author", "created_at", "updated_at"}
COUCH_FIELDS = {"_id", "_rev", "_deleted", "_revisions", "_attachments", "_conflicts"}

_TEXTS: dict[str, dict[str, str]] = {
    "type": {"en": "The document's type must be 'facility'.", "mn": "Баримтын төрөл 'facility' байх ёстой."},
    "unknown_field": {"en": "{name!r} is not a field of a facility.", "mn": "{name!r} нь байгууллагын талбар биш."},
    "name": {"en": "The facility's name is required (at most {most} characters).",
             "mn": "Байгууллагын нэрийг бичнэ үү (ихдээ {most} тэмдэгт)."},
    "facility_type": {"en": "The type of facility must be one of {types}.",
                      "mn": "Байгууллагын төрөл нь {types}-ийн аль нэг байх ёстой."},
    "bag": {"en": "The bag must be text of at most {most} characters.",
            "mn": "Баг нь ихдээ {most} тэмдэгттэй бичвэр байх ёстой."},
    "attachments": {"en": "A facility has no attachments.", "mn": "Байгууллагын бүртгэлд хавсралт байхгүй."},
}


def message(key: str, **params: Any) -> Text:
    return Text({lang: t.format(**params) for lang, t in _TEXTS[key].items()})


def is_facility(doc: dict) -> bool:
    parsed = ids.parse_doc_id(doc["_id"])
    return parsed is not None and parsed.kind == ids.FACILITY


def check_facility(doc: dict) -> list[dict]:
    """What is wrong with a facility's register document, field by field (a deletion: nothing)."""
    if doc.get("_deleted"):
        return []
    problems: list[dict] = []

    def bad(field: str, key: str, **params: Any) -> None:
        problems.append({"field": field, "message": message(key, **params)})

    if doc.get("type") != "facility":
        bad("type", "type")
    for name in sorted(set(doc) - FIELDS - COUCH_FIELDS):
        bad(name, "unknown_field", name=name)
    if doc.get("_attachments"):
        bad("_attachments", "attachments")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        bad("name", "name", most=MAX_NAME)
    if doc.get("facility_type") not in TYPES:
        bad("facility_type", "facility_type", types=", ".join(TYPES))
    bag = doc.get("bag")
    if bag is not None and (not isinstance(bag, str) or len(bag) > MAX_BAG):
        bad("bag", "bag", most=MAX_BAG)
    return problems


def new_facility(area: str, *, name: str, facility_type: str, bag: str, author: str, now: str) -> dict:
    """A new register document as a coordinator's page makes it (the gate checks it)."""
    doc = {"_id": f"{area}:{ids.FACILITY}:{ids.new_ulid()}", "type": "facility",
           "name": " ".join(name.split()), "facility_type": facility_type, "author": author, "created_at": now}
    if bag.strip():
        doc["bag"] = " ".join(bag.split())
    return doc


def facilities(store: Store, area: str) -> dict[str, dict]:
    """``{id: document}`` of the area's registered facilities (tens per soum: one key range)."""
    if not store.exists(area):
        return {}
    return {d["_id"]: d for d in records.iter_docs(store.open(area), f"{area}:{ids.FACILITY}:")}
