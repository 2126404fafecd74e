"""Nutrition classes of one child from WHO z-scores and MUAC, with their names in mn and en.

Every cut-off is in ``CUTOFFS`` below, with its source. The classes are meant
to be counted directly for prevalence, the way WHO R ``anthro`` counts
(``R/prevalence.R``): strict inequalities, a flagged z-score gives no class
(it is excluded), and bilateral oedema counts as below -3 SD for the weight
indicators (so ``wasting`` and ``underweight`` are ``severe``, and
``weight_for_length`` is ``none``). A class is None when it cannot be said:
the z-score is missing or flagged, or the child is outside the class's ages.
"""

from __future__ import annotations

from typing import Any

# The cut-offs, in one place. A z-score strictly below (or above, for the upper
# classes) the limit is in the class; WHO R anthro uses strict inequalities
# (generate_cutoffs in R/prevalence.R). One NLiS page version writes "<= -2":
# the software is followed.
CUTOFFS: dict[str, Any] = {
    # HAZ < -2 moderate(-or-severe) stunting, < -3 severe: WHO Nutrition Landscape
    # Information System (NLiS), help topic 391 (apps.who.int/nutrition/landscape/help.aspx?helpid=391).
    "stunting": {"z": "zlen", "moderate": -2.0, "severe": -3.0},
    # WHZ < -2 / < -3: NLiS, as above.
    "wasting": {"z": "zwfl", "moderate": -2.0, "severe": -3.0},
    # WAZ < -2 / < -3: NLiS, as above.
    "underweight": {"z": "zwei", "moderate": -2.0, "severe": -3.0},
    # WHZ > +2 overweight (NLiS), > +3 obese (WHO R anthro's ">+3" prevalence column, R/prevalence.R).
    "weight_for_length": {"z": "zwfl", "overweight": 2.0, "obese": 3.0},
    # MUAC < 115 mm SAM: WHO/UNICEF Joint Statement 2009, "WHO child growth standards and the
    # identification of severe acute malnutrition in infants and children" (raised from 110 mm).
    # 115 <= MUAC < 125 mm MAM: WHO eLENA, "Supplementary foods for the management of moderate
    # acute malnutrition". Both for children of 6-59 months.
    "muac": {"sam_below_mm": 115, "mam_below_mm": 125, "from_months": 6, "below_months": 60},
    # Acute malnutrition: SAM when WHZ < -3, MUAC < 115 mm or bilateral pitting oedema (Joint
    # Statement 2009); MAM when -3 <= WHZ < -2 and/or 115 <= MUAC < 125 mm (eLENA). MUAC counts
    # from 6 months only; under 6 months WHZ and oedema decide.
    "acute": {"sam_whz_below": -3.0, "mam_whz_below": -2.0},
}

NONE, MODERATE, SEVERE = "none", "moderate", "severe"
OVERWEIGHT, OBESE = "overweight", "obese"
SAM, MAM, NORMAL = "sam", "mam", "normal"

# What each class and each value is called, for exports, reports and the device.
LABELS: dict[str, dict[str, str]] = {
    "stunting": {"en": "Stunting", "mn": "Өсөлтийн хоцрогдол"},
    "wasting": {"en": "Wasting", "mn": "Туранхай"},
    "underweight": {"en": "Underweight", "mn": "Жингийн дутагдал"},
    "weight_for_length": {"en": "Overweight", "mn": "Илүүдэл жин"},
    "muac_class": {"en": "MUAC", "mn": "Бугалганы тойрог (MUAC)"},
    "acute_malnutrition": {"en": "Acute malnutrition", "mn": "Цочмог хоол тэжээлийн дутагдал"},
    "referral_needed": {"en": "Referral needed", "mn": "Илгээх шаардлагатай"},
}
VALUE_LABELS: dict[str, dict[str, str]] = {
    NONE: {"en": "None", "mn": "Байхгүй"},
    MODERATE: {"en": "Moderate", "mn": "Дунд зэрэг"},
    SEVERE: {"en": "Severe", "mn": "Хүнд"},
    OVERWEIGHT: {"en": "Overweight", "mn": "Илүүдэл жинтэй"},
    OBESE: {"en": "Obese", "mn": "Таргалалттай"},
    SAM: {"en": "Severe acute malnutrition (SAM)",
          "mn": "Хүнд хэлбэрийн цочмог хоол тэжээлийн дутагдал (SAM)"},
    MAM: {"en": "Moderate acute malnutrition (MAM)",
          "mn": "Дунд зэргийн цочмог хоол тэжээлийн дутагдал (MAM)"},
    NORMAL: {"en": "Normal", "mn": "Хэвийн"},
}
FLAG_OF = {"zlen": "flen", "zwei": "fwei", "zwfl": "fwfl", "zbmi": "fbmi", "zac": "fac"}


def label(name: str, value: Any = None, lang: str = "en") -> str:
    """The name of a class (``value`` None) or of one of its values, in ``lang``."""
    table = LABELS[name] if value is None else VALUE_LABELS[value]
    return table.get(lang) or table["en"]


def usable(z: dict, name: str) -> float | None:
    """A z-score that may be counted: present and not flagged."""
    value = z.get(name)
    return None if value is None or z.get(FLAG_OF[name]) == 1 else value


def _below(name: str, value: float | None, oedema_severe: bool) -> str | None:
    cut = CUTOFFS[name]
    if oedema_severe:
        return SEVERE
    if value is None:
        return None
    if value < cut["severe"]:
        return SEVERE
    return MODERATE if value < cut["moderate"] else NONE


def muac_class(muac_mm: float | None, age_months: float | None) -> str | None:
    """``sam | mam | normal`` for 6-59 months; None outside those ages or without a MUAC."""
    cut = CUTOFFS["muac"]
    if muac_mm is None or age_months is None:
        return None
    if not cut["from_months"] <= age_months < cut["below_months"]:
        return None
    if muac_mm < cut["sam_below_mm"]:
        return SAM
    return MAM if muac_mm < cut["mam_below_mm"] else NORMAL


def classify(z: dict, *, muac_mm: float | None = None) -> dict[str, Any]:
    """The classes of one measurement; ``z`` is ``programmes.growth.zscores``'s answer.

    Only ages under 60 months are classified (WHO's z-scores exist only there).
    """
    months = z.get("age_months")
    in_range = months is not None and months < 60
    oedema = bool(z.get("oedema")) and in_range
    zlen, zwei, zwfl = usable(z, "zlen"), usable(z, "zwei"), usable(z, "zwfl")

    overweight = None
    if oedema:
        overweight = NONE  # counted as WHZ -3.1 (R/prevalence.R): not overweight
    elif zwfl is not None:
        cut = CUTOFFS["weight_for_length"]
        overweight = OBESE if zwfl > cut["obese"] else OVERWEIGHT if zwfl > cut["overweight"] else NONE

    muac = muac_class(muac_mm, months) if in_range else None
    acute = _acute(zwfl, muac, oedema) if in_range else None
    return {
        "stunting": _below("stunting", zlen, False),
        "wasting": _below("wasting", zwfl, oedema),
        "underweight": _below("underweight", zwei, oedema),
        "weight_for_length": overweight,
        "muac_class": muac,
        "acute_malnutrition": acute,
        "referral_needed": acute in (SAM, MAM),
    }


def _acute(zwfl: float | None, muac: str | None, oedema: bool) -> str | None:
    """SAM if any SAM rule holds, else MAM if any MAM rule holds, else none; None if nothing is known."""
    cut = CUTOFFS["acute"]
    if oedema or muac == SAM or (zwfl is not None and zwfl < cut["sam_whz_below"]):
        return SAM
    if muac == MAM or (zwfl is not None and zwfl < cut["mam_whz_below"]):
        return MAM
    if zwfl is None and muac is None:
        return None
    return NONE
