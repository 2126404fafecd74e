"""A child's growth chart as SVG: the measurements over WHO's reference curves.

Drawn on the server as plain SVG text (no JavaScript, no CDN), so a page, a
printout and a saved file show the same chart. The curves are WHO's -3, -2,
0, +2 and +3 SD lines of the same tables the z-scores come from
(``programmes.growth.reference_value``): length/height-for-age uses the length
table under 731 days and the height table after, so the curves step down by
about 0.7 cm at 24 months, as on WHO's printed charts. Points are the child's
measurements as the z-scores saw them (``clenhei``, the corrected
length/height), a flagged value drawn hollow so nobody reads it as a trend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from programmes.growth import DAYS_PER_MONTH, reference_value

LINES = (-3, -2, 0, 2, 3)
INDICATORS = ("lhfa", "wfa")  # length/height-for-age (cm), weight-for-age (kg)
WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 44, 34, 44
STEP_DAYS = 15
LINE_STYLE = {-3: ("#b2182b", "4 3"), -2: ("#ef8a62", ""), 0: ("#1a9850", ""), 2: ("#ef8a62", ""),
              3: ("#b2182b", "4 3")}


@dataclass(frozen=True)
class Point:
    age_days: int
    value: float
    z: float | None
    flagged: bool
    label: str  # the visit's date, shown on hover


def _span(points: Sequence[Point]) -> int:
    """Days shown: at least two years, the child's last age plus six months, at most 60 months."""
    last = max((p.age_days for p in points), default=0)
    months = min(60, max(24, math.ceil((last / DAYS_PER_MONTH + 6) / 6) * 6))
    return int(months * DAYS_PER_MONTH)


def curves(indicator: str, sex: str, days: int) -> dict[int, list[tuple[int, float]]]:
    """WHO's SD lines from 0 to ``days``, one point every ``STEP_DAYS`` days."""
    out: dict[int, list[tuple[int, float]]] = {}
    ages = list(range(0, days + 1, STEP_DAYS))
    if ages[-1] != days:
        ages.append(days)
    for z in LINES:
        line = []
        for age in ages:
            value = reference_value(indicator, sex, age, z)
            if value is not None:
                line.append((age, value))
        out[z] = line
    return out


def _nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= step * mult:
            step *= mult
            break
    first = math.ceil(low / step) * step
    return [round(first + i * step, 6) for i in range(int((high - first) / step) + 1)]


def svg(indicator: str, sex: str, points: Sequence[Point], *, title: str, x_label: str, y_label: str,
        sd_label: str = "SD") -> str:
    """The chart of ``indicator`` (``lhfa`` or ``wfa``) for a child of ``sex`` (``m``/``f``)."""
    if indicator not in INDICATORS:
        raise ValueError(f"a growth chart is one of {INDICATORS}, not {indicator!r}")
    days = _span(points)
    lines = curves(indicator, sex, days)
    values = [v for line in lines.values() for _, v in line] + [p.value for p in points]
    low, high = min(values), max(values)
    pad = (high - low) * 0.04 or 1.0
    low, high = max(0.0, low - pad), high + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(age: float) -> float:
        return round(LEFT + plot_w * min(age, days) / days, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (1 - (value - low) / (high - low)), 1)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="growth-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-label="{escape(title)}" data-indicator="{indicator}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
             f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#999"/>']
    for tick in _nice_ticks(low, high):
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick)}" y2="{y(tick)}" stroke="#eee"/>'
                     f'<text x="{LEFT - 6}" y="{y(tick) + 4}" font-size="11" text-anchor="end">{tick:g}</text>')
    for month in range(0, int(days / DAYS_PER_MONTH) + 1, 6):
        at = x(month * DAYS_PER_MONTH)
        parts.append(f'<line x1="{at}" x2="{at}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#eee"/>'
                     f'<text x="{at}" y="{TOP + plot_h + 16}" font-size="11" text-anchor="middle">{month}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" font-size="12" text-anchor="middle">'
                 f'{escape(x_label)}</text>')
    parts.append(f'<text transform="translate(14 {TOP + plot_h / 2}) rotate(-90)" font-size="12" '
                 f'text-anchor="middle">{escape(y_label)}</text>')
    for z, line in lines.items():
        if not line:
            continue
        colour, dash = LINE_STYLE[z]
        path = " ".join(f"{x(a)},{y(v)}" for a, v in line)
        parts.append(f'<polyline class="sd-line" data-sd="{z}" points="{path}" fill="none" stroke="{colour}" '
                     f'stroke-width="{2 if z == 0 else 1.3}"' + (f' stroke-dasharray="{dash}"' if dash else "")
                     + "/>")
        end_a, end_v = line[-1]
        parts.append(f'<text x="{x(end_a) + 4}" y="{y(end_v) + 4}" font-size="11" fill="{colour}">'
                     f'{"+" if z > 0 else ""}{z} {escape(sd_label)}</text>' if z else
                     f'<text x="{x(end_a) + 4}" y="{y(end_v) + 4}" font-size="11" fill="{colour}">0</text>')
    ordered = sorted(points, key=lambda p: p.age_days)
    trend = [p for p in ordered if not p.flagged]
    if len(trend) > 1:
        parts.append('<polyline points="' + " ".join(f"{x(p.age_days)},{y(p.value)}" for p in trend)
                     + '" fill="none" stroke="#2c3e91" stroke-width="1.5"/>')
    for p in ordered:
        z_text = "" if p.z is None else f" (z {p.z:+.2f})"
        fill = "#fff" if p.flagged else "#2c3e91"
        parts.append(f'<circle class="point{" flagged" if p.flagged else ""}" cx="{x(p.age_days)}" '
                     f'cy="{y(p.value)}" r="4" fill="{fill}" stroke="{"#b2182b" if p.flagged else "#2c3e91"}" '
                     f'stroke-width="1.5"><title>{escape(p.label)}: {p.value:g}{z_text}</title></circle>')
    parts.append("</svg>")
    return "\n".join(parts)
