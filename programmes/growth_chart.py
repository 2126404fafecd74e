"""A child's growth charts as SVG: the measurements over WHO's reference curves, one chart per index.

Drawn on the server as plain SVG text (no JavaScript, no CDN), so a page, a
printout and a saved file show the same chart. The curves are WHO's -3, -2,
0, +2 and +3 SD lines of the same tables the z-scores come from
(``programmes.growth.reference_value``), and every point is the measurement as
the z-scores saw it, so a point lies on a curve exactly when its z-score says
so:

- length/height-for-age, weight-for-age, BMI-for-age and MUAC-for-age have the
  age on the x axis. The length and BMI tables are WHO's length tables under
  731 days and the height tables after, so their curves step at 24 months as
  on WHO's printed charts; the MUAC tables start at 3 months (91 days), so
  does that chart.
- weight-for-length and weight-for-height have the length/height on the x
  axis. Which table a visit is measured against is the z-score's choice, by
  age at the visit (under 731 days the length table, 45-110 cm; from 731
  days the height table, 65-120 cm), so a child measured on both sides of
  24 months gets both charts, each with its own visits.
- the length/height is ``clenhei`` (a standing child under 24 months +0.7 cm,
  a lying one from 24 months -0.7 cm), BMI is the weight over its square.

A flagged value is drawn hollow and left out of the line, so nobody reads it
as a trend. A measurement without a z-score (60 months or older, out of the
table's range, oedema for the weight-based indices, MUAC under 3 months) is
not drawn as if it had been scored: ``series`` lists it with the reason, for
the page to say under the chart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from programmes.growth import (
    DAYS_PER_MONTH,
    LENGTH_AGE_DAYS,
    MAX_AGE_MONTHS,
    MAX_TABLE_DAY,
    MUAC_FROM_DAYS,
    WFH_RANGE,
    WFL_RANGE,
    reference_value,
    wfl_table,
)

LINES = (-3, -2, 0, 2, 3)
WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 44, 34, 44
STEP_DAYS = 15
STEP_CM = 0.5
LINE_STYLE = {-3: ("#b2182b", "4 3"), -2: ("#ef8a62", ""), 0: ("#1a9850", ""), 2: ("#ef8a62", ""),
              3: ("#b2182b", "4 3")}


@dataclass(frozen=True)
class Index:
    """One chart: the WHO table of its curves, its x axis, and the z-score and flag it draws."""
    table: str  # reference_value's table
    x: str  # "age" (days) or "lenhei" (cm)
    x_range: tuple[float, float]  # the table's own range, in days or cm
    z: str  # derived z-score
    flag: str
    scale: float = 1.0  # table unit -> chart unit (MUAC: cm -> mm)
    weight_based: bool = False  # not computed under oedema


INDICES: dict[str, Index] = {
    "lhfa": Index("lhfa", "age", (0, MAX_TABLE_DAY), "zlen", "flen"),
    "wfa": Index("wfa", "age", (0, MAX_TABLE_DAY), "zwei", "fwei", weight_based=True),
    "wfl": Index("wfl", "lenhei", WFL_RANGE, "zwfl", "fwfl", weight_based=True),
    "wfh": Index("wfh", "lenhei", WFH_RANGE, "zwfl", "fwfl", weight_based=True),
    "bmi": Index("bmi", "age", (0, MAX_TABLE_DAY), "zbmi", "fbmi", weight_based=True),
    "acfa": Index("acfa", "age", (MUAC_FROM_DAYS, MAX_TABLE_DAY), "zac", "fac", scale=10.0),
}
INDICATORS = tuple(INDICES)  # the order of the charts on a page

# Why a measurement has no point: the page says so under the chart.
OEDEMA, AGE, MUAC_AGE, RANGE, NO_Z = "oedema", "age", "muac_age", "range", "no_z"


@dataclass(frozen=True)
class Point:
    at: float  # x: age in days, or length/height in cm
    value: float  # y, in the chart's unit
    z: float | None
    flagged: bool
    label: str  # the visit's date, shown on hover


@dataclass
class Series:
    """One index's measurements of a child: those drawn, and those left out with the reason."""
    indicator: str
    points: list[Point] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (label, reason)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


RAW = {"lhfa": ("lenhei_cm",), "wfa": ("weight_kg",), "wfl": ("weight_kg", "lenhei_cm"),
       "wfh": ("weight_kg", "lenhei_cm"), "bmi": ("weight_kg", "lenhei_cm"), "acfa": ("muac_mm",)}


def _measured(indicator: str, data: dict, derived: dict) -> tuple[bool, float | None, float | None]:
    """Whether the visit measured the index, and its (x, y) as the z-scores used them."""
    if any(_number(data.get(name)) is None for name in RAW[indicator]):
        return False, None, None
    clenhei, weight = _number(derived.get("clenhei")), _number(data.get("weight_kg"))
    x = _number(derived.get("age_days")) if INDICES[indicator].x == "age" else clenhei
    if indicator == "lhfa":
        y = clenhei
    elif indicator == "bmi":  # from clenhei as the z-score did (cbmi is stored rounded to 2 decimals)
        y = weight / (clenhei / 100) ** 2 if weight is not None and clenhei else None
    elif indicator == "acfa":
        y = _number(data.get("muac_mm"))
    else:
        y = weight
    return True, x, y


def _table_of(data: dict, derived: dict) -> str | None:
    """``wfl`` or ``wfh``: the table the visit's weight-for-length/height z-score used (by age at 731 days)."""
    chosen = derived.get("wfl_table")
    if chosen not in ("l", "h"):
        clenhei = _number(derived.get("clenhei"))
        if clenhei is None:
            return None
        age = derived.get("age_days")
        chosen = wfl_table(age if isinstance(age, int) else None, derived.get("cmeasure"), clenhei)
    return "wfl" if chosen == "l" else "wfh"


def _why_not(indicator: str, data: dict, derived: dict, x: float | None) -> str:
    index = INDICES[indicator]
    age_months = _number(derived.get("age_months"))
    if index.weight_based and (data.get("oedema") == "yes" or derived.get("oedema") is True):
        return OEDEMA
    if age_months is not None and age_months >= MAX_AGE_MONTHS:
        return AGE
    age = _number(derived.get("age_days"))
    if indicator == "acfa" and age is not None and age < MUAC_FROM_DAYS:
        return MUAC_AGE
    if index.x == "lenhei" and x is not None and not index.x_range[0] <= x <= index.x_range[1]:
        return RANGE
    return NO_Z


def series(visits: Iterable[dict]) -> dict[str, Series]:
    """Each index's points from a child's visits (``{"data", "derived", "label"}``), oldest first.

    An index that no visit measured is absent (no MUAC, no MUAC chart). A
    visit counts for weight-for-length or weight-for-height by the table its
    z-score used, never both.
    """
    out: dict[str, Series] = {}
    for visit in visits:
        data, derived, label = visit.get("data") or {}, visit.get("derived") or {}, str(visit.get("label", ""))
        for indicator in INDICATORS:
            if indicator in ("wfl", "wfh") and _table_of(data, derived) != indicator:
                continue
            measured, x, y = _measured(indicator, data, derived)
            if not measured:
                continue
            index = INDICES[indicator]
            found = out.setdefault(indicator, Series(indicator))
            z = _number(derived.get(index.z))
            if z is None or x is None or y is None:
                found.left_out.append((label, _why_not(indicator, data, derived, x)))
                continue
            found.points.append(Point(x, y, z, derived.get(index.flag) == 1, label))
    return {name: out[name] for name in INDICATORS if name in out}


@dataclass
class Layout:
    """Where things go: the x and y domains in the chart's units and the plot box in pixels."""
    indicator: str
    x0: float
    x1: float
    y0: float
    y1: float
    lines: dict[int, list[tuple[float, float]]]

    def x(self, at: float) -> float:
        plot_w = WIDTH - LEFT - RIGHT
        return round(LEFT + plot_w * (min(max(at, self.x0), self.x1) - self.x0) / (self.x1 - self.x0), 1)

    def y(self, value: float) -> float:
        plot_h = HEIGHT - TOP - BOTTOM
        return round(TOP + plot_h * (1 - (value - self.y0) / (self.y1 - self.y0)), 1)


def _age_span(index: Index, points: Sequence[Point]) -> tuple[float, float]:
    """Days shown: at least two years, the child's last age plus six months, at most 60 months."""
    last = max((p.at for p in points), default=0)
    months = min(60, max(24, math.ceil((last / DAYS_PER_MONTH + 6) / 6) * 6))
    return index.x_range[0], min(int(months * DAYS_PER_MONTH), index.x_range[1])


def _length_span(index: Index, points: Sequence[Point]) -> tuple[float, float]:
    """Centimetres shown: the points' lengths with 5 cm either side, at least 20 cm, within the table."""
    low, high = index.x_range
    if not points:
        return low, high
    x0 = max(low, math.floor((min(p.at for p in points) - 5) / 5) * 5)
    x1 = min(high, math.ceil((max(p.at for p in points) + 5) / 5) * 5)
    while x1 - x0 < 20 and (x0 > low or x1 < high):
        x0, x1 = max(low, x0 - 5), min(high, x1 + 5)
    return x0, x1


def curves(indicator: str, sex: str, x0: float, x1: float, at: Iterable[float] = ()) -> dict[int, list[tuple[float, float]]]:
    """WHO's SD lines over [x0, x1] in the chart's unit: a vertex every ``STEP_DAYS`` days (or ``STEP_CM``),
    and one at each x of ``at`` (the child's points), so a point with z = 0 sits on a vertex of the median."""
    index = INDICES[indicator]
    if index.x == "age":
        xs = {float(a) for a in range(int(math.ceil(x0)), int(x1) + 1, STEP_DAYS)} | {float(int(x1))}
        xs |= {float(LENGTH_AGE_DAYS - 1), float(LENGTH_AGE_DAYS)}  # the step from length to height tables
    else:
        steps = int(round((x1 - x0) / STEP_CM))
        xs = {round(x0 + i * STEP_CM, 1) for i in range(steps + 1)} | {float(x1)}
    xs = {x for x in xs | {float(a) for a in at} if x0 <= x <= x1}
    out: dict[int, list[tuple[float, float]]] = {}
    for z in LINES:
        line = []
        for x in sorted(xs):
            value = reference_value(index.table, sex, x, z)
            if value is not None:
                line.append((x, value * index.scale))
        out[z] = line
    return out


def layout(indicator: str, sex: str, points: Sequence[Point]) -> Layout:
    """The chart's domains and curves for a child of ``sex`` (``m``/``f``) with these points."""
    if indicator not in INDICES:
        raise ValueError(f"a growth chart is one of {INDICATORS}, not {indicator!r}")
    index = INDICES[indicator]
    x0, x1 = (_age_span if index.x == "age" else _length_span)(index, points)
    lines = curves(indicator, sex, x0, x1, [p.at for p in points])
    values = [v for line in lines.values() for _, v in line] + [p.value for p in points if x0 <= p.at <= x1]
    low, high = min(values), max(values)
    pad = (high - low) * 0.04 or 1.0
    return Layout(indicator, x0, x1, max(0.0, low - pad), high + pad, lines)


def _nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= step * mult:
            step *= mult
            break
    first = math.ceil(low / step) * step
    return [round(first + i * step, 6) for i in range(int((high - first) / step + 1e-9) + 1)]


def _x_ticks(box: Layout, by_age: bool) -> list[tuple[float, str]]:
    if not by_age:
        return [(t, f"{t:g}") for t in _nice_ticks(box.x0, box.x1, 8)]
    first = math.ceil(box.x0 / DAYS_PER_MONTH - 1e-9)
    months = [m for m in range(first, int(box.x1 / DAYS_PER_MONTH) + 1) if m % 6 == 0 or m == first]
    return [(m * DAYS_PER_MONTH, str(m)) for m in months]


def svg(indicator: str, sex: str, points: Sequence[Point], *, title: str, x_label: str, y_label: str,
        sd_label: str = "SD") -> str:
    """The chart of ``indicator`` (one of ``INDICATORS``) for a child of ``sex`` (``m``/``f``)."""
    box = layout(indicator, sex, points)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    x, y = box.x, box.y
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="growth-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-label="{escape(title)}" data-indicator="{indicator}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
             f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#999"/>']
    for tick in _nice_ticks(box.y0, box.y1):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick)}" y2="{y(tick)}" stroke="#eee"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 4}" font-size="11" text-anchor="end">{tick:g}</text>')
    for at, text in _x_ticks(box, INDICES[indicator].x == "age"):
        parts.append(f'<line x1="{x(at)}" x2="{x(at)}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#eee"/>'
                     f'<text x="{x(at)}" y="{TOP + plot_h + 16}" font-size="11" text-anchor="middle">{text}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" font-size="12" text-anchor="middle">'
                 f'{escape(x_label)}</text>')
    parts.append(f'<text transform="translate(14 {TOP + plot_h / 2}) rotate(-90)" font-size="12" '
                 f'text-anchor="middle">{escape(y_label)}</text>')
    for z, line in box.lines.items():
        if not line:
            continue
        colour, dash = LINE_STYLE[z]
        path = " ".join(f"{x(a)},{y(v)}" for a, v in line)
        parts.append(f'<polyline class="sd-line" data-sd="{z}" points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="{2 if z == 0 else 1.3}"' + (f' stroke-dasharray="{dash}"' if dash else "")
                     + "/>")
        end_a, end_v = line[-1]
        name = f'{"+" if z > 0 else ""}{z} {escape(sd_label)}' if z else "0"
        parts.append(f'<text x="{x(end_a) + 4}" y="{y(end_v) + 4}" font-size="11" fill="{colour}">{name}</text>')
    shown = [p for p in points if box.x0 <= p.at <= box.x1]  # in the order of the visits: the line follows time
    if INDICES[indicator].x == "age":
        shown.sort(key=lambda p: p.at)
    trend = [p for p in shown if not p.flagged]
    if len(trend) > 1:
        parts.append('<polyline class="trend" points="' + " ".join(f"{x(p.at)},{y(p.value)}" for p in trend)
                     + '" fill="none" stroke="#2c3e91" stroke-width="1.5"/>')
    for p in shown:
        z_text = "" if p.z is None else f" (z {p.z:+.2f})"
        fill = "#fff" if p.flagged else "#2c3e91"
        parts.append(f'<circle class="point{" flagged" if p.flagged else ""}" cx="{x(p.at)}" '
                     f'cy="{y(p.value)}" r="4" fill="{fill}" stroke="{"#b2182b" if p.flagged else "#2c3e91"}" '
                     f'stroke-width="1.5"><title>{escape(p.label)}: {round(p.value, 2):g}{z_text}</title></circle>')
    parts.append("</svg>")
    return "\n".join(parts)


__all__ = ["INDICATORS", "INDICES", "LENGTH_AGE_DAYS", "Layout", "Point", "Series", "curves", "layout",
           "series", "svg"]
