"""WASH in ger-kindergartens: JMP service levels from a visit, and the soum tallies.

The ladders are JMP's for schools (``../shared/programmes.md`` section 4.1),
which cover pre-primary: each service is ``basic``, ``limited`` or ``none``
from the core questions W1-W2, S1-S3 and H1-H2:

- drinking water: improved source with water available now = basic; improved
  source without water now = limited; unimproved or no source = none;
- sanitation: improved toilets, single-sex and usable (at least one usable) =
  basic; improved but not single-sex or none usable = limited; unimproved or
  no toilets = none;
- hygiene: a handwashing facility with water and soap = basic; a facility
  without soap or without water = limited; no facility = none.

Which sources and toilets count as improved is data (``IMPROVED_WATER``,
``IMPROVED_TOILETS``), as programmes.md asks. JMP lets a country define an
``advanced`` level above basic; Mongolia's definition was not found, so
``ADVANCED`` is fieldsync's proposal from the ger-kindergarten questions (water
treated and stored clean; latrine safe for small children and usable in
winter; handwashing near the toilet and the eating place, warm water in winter):
basic plus all of them. It is one table, to replace when the national
definition is known.

The national norms (the 2015 decree's items, whose text was not found) are an
admin's checklist (``global:checklist:wash_norms``, ``sync.checklists``); a
visit answers each item met / not met / not applicable, and
``norms_met_pct`` = met / (met + not met), N/A left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FORM = "kindergarten_wash_visit"
METHOD = {"name": "jmp-wins-ladder", "version": 1,
          "rules": "JMP core questions for WASH in schools (2016/2018); advanced: fieldsync proposal"}

SERVICES = ("water", "sanitation", "hygiene")
LEVELS = ("advanced", "basic", "limited", "none")  # best first
RANK = {level: i for i, level in enumerate(reversed(LEVELS))}  # none 0 ... advanced 3

WATER_SOURCES = ("piped", "protected_well", "tanker_truck", "water_kiosk", "unprotected_well",
                 "surface", "none")
IMPROVED_WATER = frozenset({"piped", "protected_well", "tanker_truck", "water_kiosk"})
TOILETS = ("flush", "pit_with_slab", "container_unit", "pit_without_slab", "open", "none")
IMPROVED_TOILETS = frozenset({"flush", "pit_with_slab", "container_unit"})
SOAP_WATER = ("water_and_soap", "water_only", "soap_only", "neither")

# Advanced = basic and every one of these answered "yes" (fieldsync's proposal, see above).
ADVANCED: dict[str, tuple[str, ...]] = {
    "water": ("water_treated", "storage_clean"),
    "sanitation": ("child_safe", "usable_in_winter"),
    "hygiene": ("near_toilet", "near_eating", "warm_water"),
}

COLUMNS = ("kindergarten", "visit_date", "facility_type", "water_service", "sanitation_service", "hygiene_service",
           "overall_service", "norms_met", "norms_not_met", "norms_na", "norms_met_pct")

NORM_STATUSES = ("met", "not_met", "na")


def _yes(value: Any) -> bool:
    return value == "yes"


def water_service(water: Mapping[str, Any]) -> str:
    """JMP drinking-water level from W1 (``source``) and W2 (``available_now``)."""
    if water.get("source") not in IMPROVED_WATER:
        return "none"
    if not _yes(water.get("available_now")):
        return "limited"
    return _advanced_or_basic(water, "water")


def sanitation_service(sanitation: Mapping[str, Any]) -> str:
    """JMP sanitation level from S1 (``toilet_type``), S2 (``single_sex``), S3 (``usable_count``)."""
    if sanitation.get("toilet_type") not in IMPROVED_TOILETS:
        return "none"
    usable = sanitation.get("usable_count")
    if not _yes(sanitation.get("single_sex")) or not isinstance(usable, int) or usable < 1:
        return "limited"
    return _advanced_or_basic(sanitation, "sanitation")


def hygiene_service(hygiene: Mapping[str, Any]) -> str:
    """JMP hygiene level from H1 (``facility``) and H2 (``soap_water``)."""
    if not _yes(hygiene.get("facility")):
        return "none"
    if hygiene.get("soap_water") != "water_and_soap":
        return "limited"
    return _advanced_or_basic(hygiene, "hygiene")


def _advanced_or_basic(answers: Mapping[str, Any], service: str) -> str:
    return "advanced" if all(_yes(answers.get(q)) for q in ADVANCED[service]) else "basic"


def lowest(levels: Iterable[str]) -> str:
    """The worst of several levels (a kindergarten is as good as its weakest service)."""
    return min(levels, key=lambda level: RANK[level])


def norms_tally(norms: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    """Counts of the checklist answers and ``norms_met_pct`` (None when no item applies)."""
    counts = {status: 0 for status in NORM_STATUSES}
    for row in norms or ():
        status = row.get("norm_status")
        if status in counts:
            counts[status] += 1
    applicable = counts["met"] + counts["not_met"]
    pct = round(100 * counts["met"] / applicable, 1) if applicable else None
    return {"norms_met": counts["met"], "norms_not_met": counts["not_met"], "norms_na": counts["na"],
            "norms_met_pct": pct}


def derive(data: dict[str, Any]) -> dict[str, Any]:
    """``derived`` of one kindergarten_wash_visit: the three levels, the overall, the norms."""
    if not data.get("kindergarten") or not data.get("visit_date"):
        raise ValueError("a WASH visit names its kindergarten and its date")
    levels = {
        "water_service": water_service(data.get("water") or {}),
        "sanitation_service": sanitation_service(data.get("sanitation") or {}),
        "hygiene_service": hygiene_service(data.get("hygiene") or {}),
    }
    unmet = [row.get("norm_item") for row in data.get("norms") or ()
             if row.get("norm_status") == "not_met" and row.get("norm_item")]
    return {"kindergarten": data["kindergarten"], "visit_date": data["visit_date"],
            "facility_type": data.get("facility_type"), **levels,
            "overall_service": lowest(levels.values()), **norms_tally(data.get("norms")),
            "unmet_norms": unmet}


def latest_per_kindergarten(visits: Iterable[Mapping[str, Any]]) -> dict[str, list[dict]]:
    """Each kindergarten's visits' derived values, oldest first (by visit date, then id)."""
    out: dict[str, list[dict]] = {}
    for v in sorted(visits, key=lambda v: (str(v.get("visit_date")), str(v.get("about", "")))):
        out.setdefault(v["kindergarten"], []).append(dict(v))
    return out


def tally(latest: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Kindergartens per service and level from each one's latest visit.

    ``{"kindergartens": n, "levels": {service: {level: count}}, "basic_or_better": {service: pct}}``
    with ``overall`` among the services (the weakest of the three).
    """
    rows = list(latest)
    levels = {s: {level: 0 for level in LEVELS} for s in (*SERVICES, "overall")}
    for row in rows:
        for s in levels:
            level = row.get(f"{s}_service")
            if level in levels[s]:
                levels[s][level] += 1
    better = {s: (round(100 * (c["advanced"] + c["basic"]) / len(rows), 1) if rows else None)
              for s, c in levels.items()}
    return {"kindergartens": len(rows), "levels": levels, "basic_or_better": better}


def tally_by_type(latest: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``tally`` per facility type (ger-kindergarten, kindergarten, ...), as the soum view asks."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in latest:
        groups.setdefault(str(row.get("facility_type") or "unknown"), []).append(row)
    return {kind: tally(rows) for kind, rows in sorted(groups.items())}
