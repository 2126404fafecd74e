"""The LQAS survey set-up: an admin's document in ``global`` (programmes.md 3.4).

The set-up is what the field team's paper tabulation takes for granted: the
indicators (question, who is eligible, what counts as correct, the target),
the supervision areas of each soum with their populations (the weights of the
soum's coverage estimate), and the sample size, 19 unless an admin says
otherwise for an area. The report (``sync.reports``) reads it on every view,
so a changed target or population shows at once; a changed rule changes what
each interview counts for, and the report index counts the soums again.

Catchment areas are what the coverage is pooled over. Each soum is one by
default (its listed supervision areas); the set-up may name others, each a
list of supervision areas that may come from several soums (an aimag-wide
survey) or be a part of one soum's bags. An area is put in a catchment from
its own row (the codes of its catchment areas), as a survey manager's sheet
has a column for it; an area may be in several.

Before an admin saves, the bundled survey (``programmes.lqas_survey``) with no
supervision areas listed is the set-up; ``fieldsync demo`` saves the demo's.
The document lives in ``global`` (``global:checklist:lqas_survey``), read by
every app server. A save names the revision it edited, so a second admin's
save in between is a conflict, not a silent overwrite; each save is in the
audit trail (``checklist.lqas_changed``, before and after), as the other admin
lists (``sync.checklists``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from programmes import lqas_survey
from programmes.lqas import DEFAULT_N
from programmes.lqas_survey import KEY_RE, MAX_LABEL, Indicator, SetupProblem, whole_number
from sync import records
from sync.audit import Audit
from sync.clock import now_iso
from sync.errors import Conflict
from sync.stores.base import Store

DOC_ID = "global:checklist:lqas_survey"
MAX_AREAS = 500
MAX_SA_NAME = 100  # as the report index keeps an interview's area name
MAX_SAMPLE = 60  # the form numbers respondents up to 60
MAX_POPULATION = 10_000_000
MAX_CATCHMENTS = 50


@dataclass(frozen=True)
class SupervisionArea:
    area: str  # the data area (soum) the interviews are in
    sa: str  # as the interviews name it (their ``sa`` answer)
    population: int
    sample_size: int | None = None  # None: the survey's default

    def to_json(self) -> dict[str, Any]:
        return {"area": self.area, "sa": self.sa, "population": self.population, "sample_size": self.sample_size}


@dataclass(frozen=True)
class Catchment:
    code: str
    name: dict[str, str]  # mn, en
    members: tuple[tuple[str, str], ...]  # (area, sa) of listed supervision areas, in the set-up's order

    @property
    def soums(self) -> set[str]:
        return {area for area, _ in self.members}

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": dict(self.name), "areas": [list(m) for m in self.members]}


@dataclass(frozen=True)
class Survey:
    sample_size: int
    indicators: tuple[Indicator, ...]
    areas: tuple[SupervisionArea, ...]
    rev: str | None = None
    catchments: tuple[Catchment, ...] = ()

    @property
    def fingerprint(self) -> str:
        return lqas_survey.rules_fingerprint(self.indicators)

    def areas_of(self, area: str) -> list[SupervisionArea]:
        return [a for a in self.areas if a.area == area]

    def find(self, area: str, sa: str) -> SupervisionArea | None:
        return next((a for a in self.areas if a.area == area and a.sa == sa), None)

    def sample_of(self, area: str, sa: str) -> int:
        found = self.find(area, sa)
        return found.sample_size if found and found.sample_size else self.sample_size

    def catchments_of(self, area: str, sa: str) -> list[str]:
        return [c.code for c in self.catchments if (area, sa) in c.members]

    def to_json(self) -> dict[str, Any]:
        return {"sample_size": self.sample_size, "indicators": [i.to_json() for i in self.indicators],
                "areas": [a.to_json() for a in self.areas], "catchments": [c.to_json() for c in self.catchments]}


DEFAULT = Survey(DEFAULT_N, lqas_survey.INDICATORS, ())


def check_setup(raw: dict[str, Any], questions: dict[str, dict[str, Any]], area_codes: Collection[str]) -> Survey:
    """The admin's set-up checked, or the first ``SetupProblem`` (rows of each list are 1-based)."""
    sample = whole_number(raw.get("sample_size"))
    if sample is None or not 1 <= sample <= MAX_SAMPLE:
        raise SetupProblem("bad_sample_size", None, {"max": MAX_SAMPLE})
    indicators = lqas_survey.check_indicators(list(raw.get("indicators") or []), questions)
    catchments = _check_catchments(list(raw.get("catchments") or []))
    members: dict[str, list[tuple[str, str]]] = {code: [] for code in catchments}
    areas = list(raw.get("areas") or [])
    if len(areas) > MAX_AREAS:
        raise SetupProblem("too_many_areas", None, {"max": MAX_AREAS})
    out: list[SupervisionArea] = []
    seen: set[tuple[str, str]] = set()
    for row, item in enumerate(areas, start=1):
        area = str(item.get("area") or "")
        if area not in area_codes:
            raise SetupProblem("bad_area", row)
        sa = " ".join(str(item.get("sa") or "").split())
        if not sa or len(sa) > MAX_SA_NAME:
            raise SetupProblem("bad_sa", row, {"max": MAX_SA_NAME})
        if (area, sa) in seen:
            raise SetupProblem("duplicate_sa", row, {"sa": sa})
        seen.add((area, sa))
        population = whole_number(item.get("population"))
        if population is None or not 1 <= population <= MAX_POPULATION:
            raise SetupProblem("bad_population", row, {"max": MAX_POPULATION})
        own = item.get("sample_size")
        own_n = None if own in (None, "") else whole_number(own)
        if own not in (None, "") and (own_n is None or not 1 <= own_n <= MAX_SAMPLE):
            raise SetupProblem("bad_area_sample", row, {"max": MAX_SAMPLE})
        out.append(SupervisionArea(area, sa, population, own_n))
        joined = item.get("catchments") or []
        names = joined if isinstance(joined, list) else str(joined).split(",")
        for code in dict.fromkeys(str(c).strip() for c in names if str(c).strip()):
            if code not in catchments:
                raise SetupProblem("unknown_catchment", row, {"code": code[:40]})
            members[code].append((area, sa))
    for number, item in enumerate(raw.get("catchments") or [], start=1):  # as to_json() writes them
        code = str(item.get("code") or "").strip()
        for member in item.get("areas") or []:
            pair = (str(member[0]), " ".join(str(member[1]).split())) if isinstance(member, list | tuple) \
                and len(member) == 2 else None
            if pair not in seen:
                raise SetupProblem("catchment_member_not_listed", number, {"code": code})
            if pair not in members[code]:
                members[code].append(pair)
    for number, code in enumerate(catchments, start=1):
        if not members[code]:
            raise SetupProblem("empty_catchment", number, {"code": code})
    return Survey(sample, indicators, tuple(out), None,
                  tuple(Catchment(code, name, tuple(members[code])) for code, name in catchments.items()))


def _check_catchments(items: list[Any]) -> dict[str, dict[str, str]]:
    """Code -> name of the admin's catchment areas (rows 1-based, in the problem's ``row``)."""
    if len(items) > MAX_CATCHMENTS:
        raise SetupProblem("too_many_catchments", None, {"max": MAX_CATCHMENTS})
    out: dict[str, dict[str, str]] = {}
    for row, item in enumerate(items, start=1):
        code = str(item.get("code") or "").strip()
        if not KEY_RE.match(code):
            raise SetupProblem("bad_catchment_code", row)
        if code in out:
            raise SetupProblem("duplicate_catchment", row, {"code": code})
        name = {lang: " ".join(str((item.get("name") or {}).get(lang) or "").split()) for lang in ("mn", "en")}
        if not name["mn"] or not name["en"] or any(len(t) > MAX_LABEL for t in name.values()):
            raise SetupProblem("bad_catchment_name", row, {"max": MAX_LABEL})
        out[code] = name
    return out


def from_doc(doc: dict[str, Any] | None) -> Survey:
    if not doc:
        return DEFAULT
    return Survey(doc["sample_size"], tuple(Indicator.from_json(i) for i in doc["indicators"]),
                  tuple(SupervisionArea(a["area"], a["sa"], a["population"], a.get("sample_size"))
                        for a in doc.get("areas", [])), doc.get("_rev"),
                  tuple(Catchment(c["code"], dict(c["name"]), tuple((m[0], m[1]) for m in c["areas"]))
                        for c in doc.get("catchments") or []))


class LqasSetup:
    """Reads and saves the set-up document."""

    def __init__(self, store: Store, audit: Audit | None = None) -> None:
        self.store = store
        self.audit = audit or Audit(store)

    def doc(self) -> dict[str, Any] | None:
        return records.read(self.store.ensure("global"), DOC_ID)

    @staticmethod
    def default() -> Survey:
        return DEFAULT

    def get(self) -> Survey:
        """The saved set-up, or the bundled survey with no supervision areas before the first save."""
        return from_doc(self.doc())

    def save(self, raw: dict[str, Any], *, actor: str, rev: str | None, questions: dict[str, dict[str, Any]],
             area_codes: Collection[str]) -> str:
        """Write the checked set-up over revision ``rev`` (None: the first save); the new revision.
        Nothing is written when a check fails."""
        survey = check_setup(raw, questions, area_codes)
        current = self.doc()
        if (current or {}).get("_rev") != (rev or None):
            raise Conflict("The LQAS set-up was changed by someone else in the meantime.")
        doc = {"_id": DOC_ID, "type": "checklist", "name": "lqas_survey", **survey.to_json(),
               "changed_by": actor, "changed_at": now_iso()}
        if rev:
            doc["_rev"] = rev
        result = self.store.ensure("global").bulk_docs([doc], new_edits=True)[0]
        if "error" in result:
            raise Conflict("The LQAS set-up was changed by someone else in the meantime.")
        self.audit.record(actor=actor, action="checklist.lqas_changed", scope="global", doc_id=DOC_ID,
                          before=from_doc(current).to_json(), after=survey.to_json())
        return result["rev"]
