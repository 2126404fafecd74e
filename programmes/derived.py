"""Which forms have values the server derives, and how.

One entry per form: the function from a submission's ``data`` to its
``derived`` values, and the method it states (stored beside the values, so a
result says which rules and tables made it). ``sync.derived`` writes them into
the store; exports and reports read them from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from programmes import family_assessment, growth_visit, scorecards, wash


@dataclass(frozen=True)
class Derivation:
    form: str
    derive: Callable[[dict[str, Any]], dict[str, Any]]
    method: dict[str, Any]
    columns: tuple[str, ...]  # the derived values, in the order exports show them


DERIVATIONS: dict[str, Derivation] = {
    d.form: d for d in (
        Derivation(growth_visit.FORM, growth_visit.derive, growth_visit.METHOD, growth_visit.COLUMNS),
        Derivation(wash.FORM, wash.derive, wash.METHOD, wash.COLUMNS),
        Derivation(scorecards.CYCLE_FORM, scorecards.summarise_cycle, scorecards.METHOD,
                   scorecards.CYCLE_COLUMNS),
        Derivation(scorecards.FOLLOWUP_FORM, scorecards.summarise_followup, scorecards.METHOD,
                   scorecards.FOLLOWUP_COLUMNS),
        Derivation(scorecards.INPUTS_FORM, scorecards.summarise_inputs, scorecards.METHOD,
                   scorecards.INPUTS_COLUMNS),
        Derivation(family_assessment.FORM, family_assessment.derive, family_assessment.METHOD,
                   family_assessment.COLUMNS),
        Derivation(family_assessment.SESSION_FORM, family_assessment.summarise_session,
                   family_assessment.TRIPLE_A_METHOD, family_assessment.SESSION_COLUMNS),
        Derivation(family_assessment.PROJECT_FORM, family_assessment.summarise_project,
                   family_assessment.TRIPLE_A_METHOD, family_assessment.PROJECT_COLUMNS),
    )
}


def derivation_for(form: Any) -> Derivation | None:
    """The derivation of ``form``, or None for a form without derived values."""
    return DERIVATIONS.get(form) if isinstance(form, str) else None
