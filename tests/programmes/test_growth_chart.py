"""The growth charts' geometry: the curves are WHO's, and a point sits where its z-score says.

Each visit goes through ``programmes.growth_visit.derive`` (the server's own
z-scores) and ``growth_chart.series`` / ``svg`` (what the pages draw); the SVG
is read back as XML, so what is checked is what a browser shows.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from programmes import growth_chart
from programmes.growth import reference_value
from programmes.growth_visit import derive

NS = {"s": "http://www.w3.org/2000/svg"}
BORN = date(2024, 1, 1)

# WHO Child Growth Standards, the published z-score tables (1 decimal) and LMS tables (M),
# e.g. "Weight-for-age BOYS, Birth to 5 years (z-scores)": birth 2.1 2.5 3.3 4.4 5.0, M 3.3464.
# MUAC-for-age: igrowup's acfaanthro.txt, boys at 91 days: L 0.3933, M 13.4779, S 0.07474 (cm).
WHO = [
    ("wfa", "m", 0, (2.1, 2.5, 3.3, 4.4, 5.0), 3.3464),
    ("lhfa", "m", 0, (44.2, 46.1, 49.9, 53.7, 55.6), 49.8842),
    ("lhfa", "f", 0, (43.6, 45.4, 49.1, 52.9, 54.7), 49.1477),
    ("wfl", "m", 45.0, (1.9, 2.0, 2.4, 3.0, 3.3), 2.441),
    ("wfh", "m", 65.0, (5.9, 6.3, 7.4, 8.8, 9.6), 7.4327),
    ("bmi", "m", 0, (10.2, 11.1, 13.4, 16.3, 18.1), 13.4069),
    ("acfa", "m", 91, tuple(round(10 * 13.4779 * (1 + 0.3933 * 0.07474 * z) ** (1 / 0.3933), 1)
                             for z in (-3, -2, 0, 2, 3)), 134.779),
]


def visit(age_days: int, *, sex: str = "m", **answers) -> dict:
    """A growth visit at ``age_days`` with its derived values, as the pages get it."""
    day = BORN + timedelta(days=age_days)
    data = {"dob": BORN.isoformat(), "visit_date": day.isoformat(), "sex": sex, "oedema": "no", **answers}
    return {"data": data, "derived": derive(data), "label": day.isoformat()}


def drawn(indicator: str, visits: list[dict], sex: str = "m") -> ET.Element:
    found = growth_chart.series(visits)[indicator]
    return ET.fromstring(growth_chart.svg(indicator, sex, found.points, title="t", x_label="x", y_label="y"))


def line(svg: ET.Element, sd: int) -> list[tuple[float, float]]:
    poly = svg.find(f"s:polyline[@data-sd='{sd}']", NS)
    return [tuple(map(float, xy.split(","))) for xy in poly.get("points").split()]


def circles(svg: ET.Element) -> list[ET.Element]:
    return svg.findall("s:circle", NS)


def centre(circle: ET.Element) -> tuple[float, float]:
    return float(circle.get("cx")), float(circle.get("cy"))


@pytest.mark.parametrize("table, sex, at, published, median", WHO, ids=[f"{w[0]}-{w[1]}-{w[2]}" for w in WHO])
def test_the_curves_are_whos_tables_at_known_points(table, sex, at, published, median):
    index = growth_chart.INDICES[table]
    x0, x1 = (at, at + 10) if index.x == "lenhei" else (index.x_range[0], 731)
    lines = growth_chart.curves(table, sex, x0, x1)
    for z, want in zip(growth_chart.LINES, published, strict=True):
        (first_x, first_value) = lines[z][0]
        assert first_x == at and round(first_value, 1) == want, (z, first_value)
    assert lines[0][0][1] == pytest.approx(median, abs=1e-9)
    # and the drawing puts that median where the layout's scale says
    box = growth_chart.layout(table, sex, [])
    svg = ET.fromstring(growth_chart.svg(table, sex, [], title="t", x_label="x", y_label="y"))
    assert line(svg, 0)[0] == (box.x(at), box.y(median))


def test_the_length_curves_step_at_24_months_as_whos_tables_do():
    lines = growth_chart.curves("lhfa", "m", 0, 800)
    median = dict(lines[0])
    assert round(median[730], 4) == 87.8018 and round(median[731], 4) == 87.1303  # length, then height table


CASES = {  # index -> (age in days, answers at the measurement of z = `z`)
    "lhfa": lambda z: (400, {"lenhei_cm": round(reference_value("lhfa", "m", 400, z), 4), "position": "l"}),
    "wfa": lambda z: (400, {"weight_kg": reference_value("wfa", "m", 400, z)}),
    "wfl": lambda z: (300, {"lenhei_cm": 70.0, "position": "l", "weight_kg": reference_value("wfl", "m", 70.0, z)}),
    "wfh": lambda z: (900, {"lenhei_cm": 90.0, "position": "h", "weight_kg": reference_value("wfh", "m", 90.0, z)}),
    "bmi": lambda z: (500, {"lenhei_cm": 80.0, "position": "l",
                            "weight_kg": reference_value("bmi", "m", 500, z) * 0.8 ** 2}),
    "acfa": lambda z: (600, {"muac_mm": 10 * reference_value("acfa", "m", 600, z)}),
}
Z_NAME = {name: index.z for name, index in growth_chart.INDICES.items()}


@pytest.mark.parametrize("indicator", list(CASES))
@pytest.mark.parametrize("z", [0, 2, -3])
def test_a_measurement_lands_on_the_curve_of_its_z_score(indicator, z):
    age, answers = CASES[indicator](z)
    one = visit(age, **answers)
    assert one["derived"][Z_NAME[indicator]] == z  # the server's own z-score says it is on that curve
    svg = drawn(indicator, [one])
    (point,) = circles(svg)
    assert centre(point) in line(svg, z)  # a vertex of that SD line, at the point's x
    others = [v for sd in growth_chart.LINES if sd != z for v in line(svg, sd)]
    assert centre(point) not in others


def test_the_standing_child_under_24_months_is_drawn_at_its_length_plus_0_7_cm():
    one = visit(400, lenhei_cm=74.3, position="h", weight_kg=reference_value("wfl", "m", 75.0, 0))
    assert one["derived"]["clenhei"] == 75.0 and one["derived"]["zwfl"] == 0
    box = growth_chart.layout("wfl", "m", growth_chart.series([one])["wfl"].points)
    svg = drawn("wfl", [one])
    (point,) = circles(svg)
    assert centre(point)[0] == box.x(75.0) != box.x(74.3)
    assert centre(point) in line(svg, 0)


def test_a_flagged_value_is_hollow_and_out_of_the_line():
    visits = [visit(300, weight_kg=8.0), visit(360, weight_kg=17.4), visit(420, weight_kg=8.6)]
    assert [v["derived"]["fwei"] for v in visits] == [0, 1, 0]
    svg = drawn("wfa", visits)
    points = circles(svg)
    assert [c.get("class") for c in points] == ["point", "point flagged", "point"]
    assert [c.get("fill") for c in points] == ["#2c3e91", "#fff", "#2c3e91"]
    trend = svg.find("s:polyline[@class='trend']", NS).get("points").split()
    assert [tuple(map(float, t.split(","))) for t in trend] == [centre(points[0]), centre(points[2])]


def test_a_child_crossing_24_months_changes_table_at_731_days():
    at = {730: 86.0, 731: 86.0, 800: 88.0}
    visits = [visit(days, lenhei_cm=cm, position="l" if days < 731 else "h",
                    weight_kg=reference_value("wfl" if days < 731 else "wfh", "m", cm, 0))
              for days, cm in at.items()]
    assert [v["derived"]["wfl_table"] for v in visits] == ["l", "h", "h"]
    found = growth_chart.series(visits)
    assert [p.label for p in found["wfl"].points] == [visits[0]["label"]]
    assert [p.label for p in found["wfh"].points] == [visits[1]["label"], visits[2]["label"]]
    for table in ("wfl", "wfh"):
        svg = drawn(table, visits)
        assert all(centre(c) in line(svg, 0) for c in circles(svg))  # on its own table's median
    # the same weight at the same 86 cm is the median of one table and not of the other
    assert reference_value("wfl", "m", 86.0, 0) != pytest.approx(reference_value("wfh", "m", 86.0, 0), abs=0.01)
    # a child measured lying at 24 months is drawn at its length -0.7 cm on the height chart
    lying = visit(760, lenhei_cm=88.7, position="l", weight_kg=12.0)
    assert growth_chart.series([lying])["wfh"].points[0].at == 88.0


def test_values_without_a_z_score_are_not_drawn_and_say_why():
    visits = [
        visit(40, lenhei_cm=55.0, position="l", weight_kg=4.5, muac_mm=110),  # MUAC table starts at 91 days
        visit(200, lenhei_cm=68.0, position="l", weight_kg=7.0, oedema="yes"),
        visit(700, lenhei_cm=112.0, position="l", weight_kg=19.0),  # longer than the length table
        visit(1830, lenhei_cm=110.0, position="h", weight_kg=18.0, muac_mm=160),  # 60 months
    ]
    found = growth_chart.series(visits)
    labels = [v["label"] for v in visits]
    assert found["acfa"].points == [] and found["acfa"].left_out == [
        (labels[0], growth_chart.MUAC_AGE), (labels[3], growth_chart.AGE)]
    assert found["wfa"].left_out == [(labels[1], growth_chart.OEDEMA), (labels[3], growth_chart.AGE)]
    assert found["bmi"].left_out == [(labels[1], growth_chart.OEDEMA), (labels[3], growth_chart.AGE)]
    assert found["wfl"].left_out == [(labels[1], growth_chart.OEDEMA), (labels[2], growth_chart.RANGE)]
    assert [p.label for p in found["wfl"].points] == [labels[0]]
    assert found["wfh"].left_out == [(labels[3], growth_chart.AGE)]
    assert [p.label for p in found["lhfa"].points] == labels[:3]  # oedema leaves length alone
    svg = drawn("acfa", visits)
    assert circles(svg) == [] and line(svg, 0)  # the curves still, from 3 months
    assert line(svg, 0)[0][0] == growth_chart.layout("acfa", "m", []).x(91)


def test_no_muac_no_muac_chart():
    found = growth_chart.series([visit(300, lenhei_cm=70.0, position="l", weight_kg=8.5)])
    assert list(found) == ["lhfa", "wfa", "wfl", "bmi"]
