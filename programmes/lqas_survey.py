"""The bundled LQAS survey: which answers of ``lqas_interview`` make each indicator.

An indicator is a numerator rule over one interview's answers, the
respondents it applies to (eligibility), and the coverage target its decision
rule is looked up with (``programmes.lqas.DecisionRules``). Each answer gives
1 (correct), 0 (not) or None (not eligible, or no consent), which is what
``programmes.lqas.tabulate`` counts. Kept as code beside the form, since the
rules read several fields; a survey with other questions is another form and
another list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FORM = "lqas_interview"
CRITICAL_HANDWASH = {"after_toilet", "before_cooking", "before_feeding", "after_cleaning_child"}


@dataclass(frozen=True)
class Indicator:
    key: str
    label: dict[str, str]
    target: int  # percent
    value: Callable[[dict[str, Any]], int | None]


def _yes(field: str, *, eligible: Callable[[dict[str, Any]], bool] = lambda d: True):
    def value(data: dict[str, Any]) -> int | None:
        if data.get("consent") != "yes" or not eligible(data) or data.get(field) not in ("yes", "no"):
            return None
        return int(data[field] == "yes")
    return value


def _handwash(data: dict[str, Any]) -> int | None:
    if data.get("consent") != "yes":
        return None
    named = data.get("handwash_times") or []
    return int(len(CRITICAL_HANDWASH.intersection(named)) >= 2)


def _age_from_12(data: dict[str, Any]) -> bool:
    age = data.get("child_age_months")
    return isinstance(age, int) and age >= 12


INDICATORS: tuple[Indicator, ...] = (
    Indicator("fully_vaccinated", {"en": "Children 12-23 months fully vaccinated (card)",
                                   "mn": "12-23 сартай хүүхэд бүрэн вакцинжсан (карт)"},
              80, _yes("fully_vaccinated", eligible=_age_from_12)),
    Indicator("weighed_3_months", {"en": "Child weighed in the last 3 months",
                                   "mn": "Хүүхдийг сүүлийн 3 сард жинлүүлсэн"},
              85, _yes("weighed_3_months")),
    Indicator("knows_ors", {"en": "Mother knows how to prepare ORS",
                            "mn": "Эх ШНУ бэлтгэхийг мэддэг"},
              50, _yes("knows_ors")),
    Indicator("handwashing", {"en": "Mother names at least 2 critical times for handwashing",
                              "mn": "Эх гар угаах чухал 2-оос доошгүй үеийг нэрлэсэн"},
              60, _handwash),
)
BY_KEY = {i.key: i for i in INDICATORS}


def indicator_values(data: dict[str, Any]) -> dict[str, int | None]:
    """Each indicator's 1/0/None for one interview's answers."""
    return {i.key: i.value(data) for i in INDICATORS}
