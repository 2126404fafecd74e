"""Family assessment (Family Empowerment Strategy, CBSS Mongolia): the family score and the soum's coverage.

A ``family_assessment`` submission answers the admins' indicator list
(``global:checklist:fes_indicators``, ``sync.families.IndicatorList``) item by
item: ``yes`` (met), ``no`` (not met) or ``na`` (does not apply to this family,
e.g. no child of 3-5 years), with how the worker knows it (card seen,
observed, reported). The family-level indicator list used by the programme
was not found (``../shared/programmes.md`` section 5), so ``DEFAULT_INDICATORS``
are fieldsync's defaults built from the CBSS areas, **to be confirmed by the
programme**; an admin replaces them.

``family_score = met / applicable`` (applicable = met + not met; N/A left
out). Items in ``FLAGS`` are not scored: a "yes" there is a concern to route
(child protection, section 7), not an achievement, and scoring it would either
reward a concern or punish a family for a worker's honest note. The flag is
kept in the derived values (``concerns``) without any details.

The soum view compares rounds: each family counts at its baseline and at its
newest follow-up; coverage of an indicator in a bag is met / applicable over
those families.

The rest of the Triple-A cycle has forms of its own: ``awareness_session``
(date, programme area, topic, attendees, the register's families who came) and
``community_project`` (a community-identified project: programme area, the
assessment indicators it should improve, budget, responsible, status; its
status is changed by editing the submission). Their derived values are the
few fields the soum's list needs (``summarise_session``, ``summarise_project``),
so that page reads them from the facility index, not every submission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FORM = "family_assessment"
SESSION_FORM = "awareness_session"
PROJECT_FORM = "community_project"
METHOD = {"name": "fes-family-score", "version": 1,
          "rules": "family_score = met / (met + not met); N/A and flag items left out"}
COLUMNS = ("family_id", "round", "date", "met", "not_met", "na", "applicable", "family_score", "concerns")
TRIPLE_A_METHOD = {"name": "fes-triple-a", "version": 1, "rules": "the fields the soum's lists show"}
SESSION_COLUMNS = ("date", "area", "bag", "attendees", "families_reached")
PROJECT_COLUMNS = ("project_name", "area", "bag", "start_date", "status", "status_date", "budget_mnt",
                   "responsible")
PROJECT_STATUSES = ("in_progress", "planned", "done", "dropped")  # the order the soum's list shows

ROUNDS = ("baseline", "follow_up")
ANSWERS = ("yes", "no", "na")
APPLIES_TO = ("family", "child_0_59m", "child_3_5y", "pregnant_woman")
# Items whose "yes" is a concern to route, not an achievement: never counted in the score.
FLAGS = frozenset({"protection_concern"})

# (id, English, Mongolian, applies to). To be confirmed by the programme: the real list was not found.
DEFAULT_INDICATORS: tuple[tuple[str, str, str, str], ...] = (
    ("growth_monitored", "Growth monitored in the last 3 months (growth chart seen)",
     "Сүүлийн 3 сард өсөлтийг хянасан (өсөлтийн график үзсэн)", "child_0_59m"),
    ("micronutrients", "Micronutrient supplement received",
     "Бичил тэжээлийн нэмэлт авсан", "child_0_59m"),
    ("immunisation", "Immunisation up to date for age (card seen)",
     "Насандаа тохирох дархлаажуулалтад бүрэн хамрагдсан (карт үзсэн)", "child_0_59m"),
    ("ecd_attendance", "Child of 3-5 years attends kindergarten, ger-kindergarten or outreach ECD",
     "3-5 насны хүүхэд цэцэрлэг, гэр цэцэрлэг эсвэл явуулын сургалтад хамрагддаг", "child_3_5y"),
    ("improved_water", "Improved drinking-water source",
     "Сайжруулсан ундны усны эх үүсвэртэй", "family"),
    ("improved_latrine", "Improved latrine",
     "Сайжруулсан жорлонтой", "family"),
    ("handwashing_soap", "Handwashing with soap observed",
     "Савантай гар угааж буйг ажигласан", "family"),
    ("home_garden", "Kitchen or home garden",
     "Гэрийн хүнсний ногооны талбайтай", "family"),
    ("fes_session", "Parents attended a Family Empowerment Strategy session",
     "Эцэг эх гэр бүлийг чадавхжуулах стратегийн сургалтад оролцсон", "family"),
    ("protection_concern", "Child protection concern noted (no details here: refer it as a child protection case)",
     "Хүүхэд хамгааллын асуудал ажиглагдсан (дэлгэрэнгүйг энд бичихгүй: хүүхэд хамгааллын тохиолдлоор шилжүүлнэ)",
     "family"),
)


def default_indicators() -> list[dict[str, Any]]:
    return [{"id": i, "label_en": en, "label_mn": mn, "applies_to": applies}
            for i, en, mn, applies in DEFAULT_INDICATORS]


def derive(data: dict[str, Any]) -> dict[str, Any]:
    """``derived`` of one family_assessment: the tally of the answers and ``family_score``.

    Raises ValueError for an indicator answered twice: which answer counts
    would be a guess, and the coordinator should see why there is no score.
    """
    family, when, rnd = data.get("family_id"), data.get("date"), data.get("round")
    if not family or not when or rnd not in ROUNDS:
        raise ValueError("a family assessment names its family, its date and its round")
    answers: dict[str, str] = {}
    for row in data.get("indicators") or ():
        code, answer = row.get("indicator"), row.get("answer")
        if not code or answer not in ANSWERS:
            continue
        if code in answers:
            raise ValueError(f"indicator {code!r} is answered twice")
        answers[code] = answer
    scored = {c: a for c, a in answers.items() if c not in FLAGS}
    met = sum(1 for a in scored.values() if a == "yes")
    not_met = sum(1 for a in scored.values() if a == "no")
    applicable = met + not_met
    return {"family_id": family, "round": rnd, "date": when, "met": met, "not_met": not_met,
            "na": sum(1 for a in scored.values() if a == "na"), "applicable": applicable,
            "family_score": round(met / applicable, 4) if applicable else None,
            "concerns": sorted(c for c, a in answers.items() if c in FLAGS and a == "yes"),
            "answers": answers}


def _order(row: Mapping[str, Any]) -> tuple[str, str]:
    return (str(row.get("date") or ""), str(row.get("about") or ""))


def by_round(assessments: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, dict]]:
    """Per round, each family's assessment that counts: its baseline, its newest follow-up.

    A family assessed twice at baseline (a repeat visit) counts with the newer one.
    ``{"baseline": {family: row}, "latest": {family: row}}``.
    """
    out: dict[str, dict[str, dict]] = {"baseline": {}, "latest": {}}
    for row in sorted(assessments, key=_order):
        key = "baseline" if row.get("round") == "baseline" else "latest"
        out[key][str(row["family_id"])] = dict(row)
    return out


def coverage(rows: Iterable[Mapping[str, Any]], bag_of: Mapping[str, str],
             indicators: Iterable[str]) -> dict[str, dict[str, dict[str, int]]]:
    """``{indicator: {bag: {"met", "applicable"}}}`` over one row per family; bag ``""`` when unknown.

    A flag item's "applicable" counts the families asked, "met" those with the concern.
    """
    codes = list(indicators)
    table: dict[str, dict[str, dict[str, int]]] = {c: {} for c in codes}
    for row in rows:
        bag = bag_of.get(str(row.get("family_id")), "")
        for code, answer in (row.get("answers") or {}).items():
            if code not in table or answer not in ("yes", "no"):
                continue
            cell = table[code].setdefault(bag, {"met": 0, "applicable": 0})
            cell["applicable"] += 1
            cell["met"] += answer == "yes"
    return table


def lowest(assessments: Iterable[Mapping[str, Any]], n: int) -> list[dict]:
    """The ``n`` families with the lowest score at their newest assessment (any round), lowest first.

    Families whose newest assessment has no applicable item are left out: there is nothing to rank.
    """
    newest: dict[str, dict] = {}
    for row in sorted(assessments, key=_order):
        newest[str(row["family_id"])] = dict(row)
    scored = [r for r in newest.values() if r.get("family_score") is not None]
    scored.sort(key=lambda r: (r["family_score"], r["family_id"]))
    return scored[:n]


def _plain(text: Any) -> str:
    return " ".join(str(text or "").split())


def summarise_session(data: Mapping[str, Any]) -> dict[str, Any]:
    """``derived`` of one awareness_session: its area, attendees and the distinct families reached."""
    if not data.get("date") or not data.get("area"):
        raise ValueError("an awareness session has its date and its programme area")
    fams = sorted({str(r["family_id"]) for r in data.get("families") or () if r.get("family_id")})
    return {"date": data["date"], "area": data["area"], "bag": _plain(data.get("bag")), "topic": _plain(data.get("topic")),
            "attendees": int(data.get("attendees_women") or 0) + int(data.get("attendees_men") or 0),
            "families": fams, "families_reached": len(fams)}


def summarise_project(data: Mapping[str, Any]) -> dict[str, Any]:
    """``derived`` of one community_project at its current revision (its status as last edited)."""
    if not data.get("project_name") or not data.get("area") or data.get("status") not in PROJECT_STATUSES:
        raise ValueError("a community project has its name, its programme area and a status")
    targets = list(dict.fromkeys(str(r["indicator"]) for r in data.get("targets") or () if r.get("indicator")))
    return {"project_name": _plain(data["project_name"]), "area": data["area"], "bag": _plain(data.get("bag")),
            "start_date": data.get("start_date"), "status": data["status"], "status_date": data.get("status_date"),
            "budget_mnt": data.get("budget_mnt"), "responsible": _plain(data.get("responsible")), "targets": targets}


def triple_a(sessions: Iterable[Mapping[str, Any]], projects: Iterable[Mapping[str, Any]],
             areas: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per programme area: sessions held, attendees, distinct families reached, projects per status.

    Areas named by sessions or projects but not in ``areas`` come after them (an area since taken off).
    """
    order = list(areas)
    out: dict[str, dict[str, Any]] = {}

    def entry(code: str) -> dict[str, Any]:
        if code not in out:
            out[code] = {"sessions": 0, "attendees": 0, "families": set(),
                         "projects": dict.fromkeys(PROJECT_STATUSES, 0)}
        return out[code]

    for code in order:
        entry(code)
    for s in sessions:
        e = entry(str(s.get("area")))
        e["sessions"] += 1
        e["attendees"] += int(s.get("attendees") or 0)
        e["families"].update(s.get("families") or ())
    for p in projects:
        if p.get("status") in PROJECT_STATUSES:
            entry(str(p.get("area")))["projects"][p["status"]] += 1
    return {code: {**e, "families": len(e["families"])} for code, e in out.items()}


def project_list(projects: Iterable[Mapping[str, Any]]) -> list[dict]:
    """The soum's projects: open ones first (in progress, planned), then done, dropped; oldest start first."""
    rank = {s: i for i, s in enumerate(PROJECT_STATUSES)}
    return sorted((dict(p) for p in projects),
                  key=lambda p: (rank.get(p.get("status"), 9), str(p.get("start_date") or ""),
                                 str(p.get("about") or "")))
