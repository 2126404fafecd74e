"""The programme reports in a real browser (Debian's chromium, Playwright), in English and Mongolian.

Oyunaa (Uvs aimag's coordinator) opens "Reports" from the menu on the demo
data (``fieldsync demo`` seeds growth visits over months and LQAS samples):
Tes's row counts the children of Tes's growth visits in the server's store, the
LQAS tables are there, another aimag's soums are not. A child's page draws
its growth charts (all five indices, for a child measured on both sides of
24 months with a MUAC). She then picks a past day in the report's date
picker: Tes's row counts the children measured by that day, and a day still to
come is refused. The pages are photographed in both languages.

The admin opens the LQAS survey set-up from the report (where each
supervision area's interviews of its sample show, and the demo's catchment
areas are pooled), is told in English and in Mongolian what is wrong with a
target of 120%, adds a second eligibility condition and is told which row and
condition is wrong, and saves the set-up again as it was. On the decision-rule
table she is told a cell is out of range (English), sets a cell of a national
table (Mongolian), sees the report use and name it (the rows it judged too), and resets the table to
the binomial rules. Both pages are photographed in both languages.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from browser import log_in, open_menu
from playwright.sync_api import expect

from sync.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser]
TES = "uvs-tes"


def tes_visits(site) -> dict[str, list[dict]]:
    """Child id -> the data of its growth visits, straight from the store."""
    svc = site.peer.services()
    try:
        out: dict[str, list[dict]] = {}
        for r in svc.store.open(TES).all_docs(include_docs=True):
            doc = r["doc"]
            if doc.get("type") == "submission" and doc.get("form") == "growth_visit":
                out.setdefault(doc["data"]["child_id"], []).append(doc["data"])
        return out
    finally:
        svc.store.close()


def tes_children(site, as_of: str = "9999") -> dict[str, int]:
    """Child id -> number of growth visits made by ``as_of``."""
    counts = {child: sum(v["visit_date"] <= as_of for v in visits) for child, visits in tes_visits(site).items()}
    return {child: n for child, n in counts.items() if n}


def charts_of(visits: list[dict]) -> list[str]:
    """The charts a child's page should draw, in page order: the length table's weight-for-length under
    731 days, the height table's from 731, MUAC-for-age only for a child whose MUAC was measured."""
    ages = [(date.fromisoformat(v["visit_date"]) - date.fromisoformat(v["dob"])).days for v in visits]
    return ["lhfa", "wfa"] + (["wfl"] if min(ages) < 731 else []) + (["wfh"] if max(ages) >= 731 else []) \
        + ["bmi"] + (["acfa"] if any("muac_mm" in v for v in visits) else [])


def test_a_coordinator_reads_the_reports_and_a_childs_chart_in_both_languages(site, chromium, screens):
    children = tes_children(site)
    assert children, "the demo seeds growth visits"
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    log_in(page, site.base, "oyunaa", DEMO_PASSWORD)
    # oyunaa's language is kept with her account, which other browser tests of the session switch.
    expect(page.locator("form.logout")).to_be_visible()
    page.get_by_role("button", name="English").click()
    open_menu(page, "Reports")
    expect(page.get_by_role("heading", name="Growth monitoring by soum and bag")).to_be_visible()
    growth = page.locator("table.report-growth")
    tes_total = growth.locator("tr", has=page.locator("td", has_text="Tes soum")).filter(has_text="All bags")
    expect(tes_total.locator("td").nth(2)).to_have_text(str(len(children)))
    expect(page.locator("table.report-lqas")).to_contain_text("Reached")
    expect(page.locator("table.report-coverage")).to_contain_text("Mother knows how to prepare ORS")
    expect(page.get_by_text("Kharkhorin soum")).to_have_count(0)
    screens.take(page, "reports-en")

    # The report as of a past day, picked in the date field: the children measured by then.
    past = (date.today() - timedelta(days=150)).isoformat()
    then = tes_children(site, past)
    assert 0 < len(then) < len(children), "the demo's visits span months"
    page.get_by_label("As of").fill(past)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("status").filter(has_text=f"as they stood at the end of {past}")).to_be_visible()
    expect(page.get_by_label("As of")).to_have_value(past)
    tes_total = page.locator("table.report-growth tr", has=page.locator("td", has_text="Tes soum")).filter(
        has_text="All bags")
    expect(tes_total.locator("td").nth(2)).to_have_text(str(len(then)))
    expect(page.locator("table.report-growth thead")).to_contain_text(f"Measured in the 3 months up to {past}")
    screens.take(page, "reports-as-of-en")
    page.get_by_label("As of").fill((date.today() + timedelta(days=1)).isoformat())
    page.get_by_label("As of").evaluate("e => e.removeAttribute('max')")  # the field's own limit, lifted
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("cannot be read as of a day still to come")).to_be_visible()
    page.go_back()

    # A bag of Tes: its children listed, the longest unmeasured first; one of them opens.
    tes_row = growth.locator("tr", has=page.locator("td", has_text="Tes soum")).nth(1)
    tes_row.get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile(r"^Children of \d-р баг"))).to_be_visible()
    first = page.locator("table.report-children tbody tr").first.get_by_role("link")
    listed = first.locator("xpath=..").locator(".code").inner_text()
    first.click()
    expect(page.locator("h1 .code")).to_have_text(listed)
    assert listed in children

    # The child with the most visits among those measured on both sides of 24 months, with a MUAC.
    visits = tes_visits(site)
    child = max(children, key=lambda c: (len(charts_of(visits[c])), children[c]))
    want = charts_of(visits[child])
    assert {"wfl", "wfh", "acfa"} <= set(want), want  # the demo has such a child: all five indices
    page.goto(f"{site.base}/web/areas/{TES}/child?id={child}")
    charts = page.locator("svg.growth-chart")
    expect(charts).to_have_count(len(want))
    assert [charts.nth(i).get_attribute("data-indicator") for i in range(len(want))] == want
    titles = {"lhfa": "Length/height-for-age", "wfa": "Weight-for-age", "wfl": "Weight-for-length (under 24 months)",
              "wfh": "Weight-for-height (24-59 months)", "bmi": "BMI-for-age", "acfa": "MUAC-for-age"}
    for i, name in enumerate(want):
        expect(charts.nth(i).locator("text").first).to_have_text(titles[name])
        expect(charts.nth(i).locator("polyline.sd-line")).to_have_count(5)
    expect(page.locator("svg.growth-chart[data-indicator=wfl]")).to_contain_text("Length (cm)")
    expect(page.locator("svg.growth-chart[data-indicator=wfh]")).to_contain_text("Height (cm)")
    expect(page.locator("svg.growth-chart[data-indicator=acfa]")).to_contain_text("MUAC (mm)")
    expect(page.locator("table.zscores tbody tr")).to_have_count(children[child])
    expect(page.locator("table.zscores thead")).to_contain_text("MUAC-for-age z")
    screens.take(page, "child-growth-en")

    page.get_by_role("button", name="Монгол").click()
    expect(page.get_by_role("heading", name="Өсөлт (ДЭМБ-ын 2006 оны z оноо)")).to_be_visible()
    expect(page.locator("svg.growth-chart").first).to_contain_text("Нас (сараар)")
    mn_titles = {"lhfa": "Насны урт/өндөр", "wfa": "Насны жин", "wfl": "Уртын жин (24 сар хүртэл)",
                 "wfh": "Өндрийн жин (24-59 сар)", "bmi": "Насны БЖИ", "acfa": "Насны бугалганы тойрог"}
    for i, name in enumerate(want):
        expect(charts.nth(i).locator("text").first).to_have_text(mn_titles[name])
    expect(page.locator("svg.growth-chart[data-indicator=wfh]")).to_contain_text("Өндөр (см)")
    expect(page.locator("svg.growth-chart[data-indicator=acfa]")).to_contain_text("Бугалганы тойрог (мм)")
    screens.take(page, "child-growth-mn")
    page.locator("#main").get_by_role("link", name="Тайлан", exact=True).click()  # back to the soum
    expect(page.get_by_role("heading", name="Сум, багаар өсөлтийн хяналт")).to_be_visible()
    expect(page.locator("table.report-growth")).to_contain_text("Бүх баг")
    screens.take(page, "reports-mn")
    page.get_by_label("Өдрийн байдлаар").fill(past)
    page.get_by_role("button", name="Харуулах").click()
    expect(page.get_by_role("status").filter(has_text=f"{past}-ны өдрийн эцсийн байдлаарх тоо")).to_be_visible()
    tes_total = page.locator("table.report-growth tr", has=page.locator("td", has_text="Тэс сум")).filter(
        has_text="Бүх баг")
    expect(tes_total.locator("td").nth(2)).to_have_text(str(len(then)))
    screens.take(page, "reports-as-of-mn")
    context.close()


def test_an_admin_opens_the_lqas_set_up_from_the_report_in_both_languages(site, chromium, screens):
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = context.new_page()
    log_in(page, site.base, "admin", DEMO_PASSWORD)
    expect(page.locator("form.logout")).to_be_visible()
    page.get_by_role("button", name="English").click()
    page.goto(f"{site.base}/web/reports?area={TES}")
    bars = page.locator("ul.completeness li")
    expect(bars.first).to_contain_text("SA 1-р баг: 19/19 interviews in")
    expect(bars).to_have_count(3)  # the demo's three supervision areas of Tes, each with its 19
    expect(page.locator("#lqas-rules-used")).to_contain_text("binomial decision rules")
    expect(page.locator("table.report-lqas thead")).to_contain_text("Decision rule from")
    expect(page.locator("table.report-lqas tbody")).not_to_contain_text("the deployment's table")
    catchments = page.locator("table.report-catchments")
    expect(page.get_by_role("heading", name="LQAS coverage by catchment area")).to_be_visible()
    # The demo's two catchment areas: the aimag's nine supervision areas and two of Tes's bags.
    expect(catchments.locator("tbody tr").filter(has_text="Uvs aimag (every soum's bags)").first.locator("td").nth(6)
           ).to_have_text("9")
    expect(catchments.locator("tbody tr").filter(has_text="Tes soum, 1st and 2nd bags")).to_have_count(4)
    page.get_by_role("link", name="LQAS survey set-up").click()
    expect(page.get_by_role("heading", name="LQAS survey set-up", exact=True)).to_be_visible()
    expect(page.get_by_label("Sample size of a supervision area (default)")).to_have_value("19")
    row = page.locator("fieldset", has=page.locator("input[value=knows_ors]"))
    target = row.locator("input[name^=target_]")
    expect(target).to_have_value("50")
    target.fill("120")
    page.get_by_role("button", name="Save the LQAS set-up").click()
    expect(page.get_by_role("alert")).to_contain_text("the target must be a whole percent from 1 to 99")
    # A second condition for the vaccination indicator: a row added, filled wrongly, named in the error.
    page.goto(site.base + "/web/admin/lqas")
    vaccinated = page.locator("fieldset", has=page.locator("input[value=fully_vaccinated]"))
    expect(vaccinated.locator("p.lqas-condition")).to_have_count(2)  # its condition and an empty row
    vaccinated.get_by_role("button", name="Add a condition").click()
    vaccinated = page.locator("fieldset", has=page.locator("input[value=fully_vaccinated]"))
    expect(vaccinated.locator("p.lqas-condition")).to_have_count(3)
    vaccinated.get_by_label("Indicator 1, condition 2: question").select_option("respondent_type")
    vaccinated.get_by_label("Indicator 1, condition 2: comparison").select_option(">=")
    vaccinated.get_by_label("Indicator 1, condition 2: value").fill("mother_0_11")
    page.get_by_role("button", name="Save the LQAS set-up").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Indicator row 1, condition 2: a single-choice question is tested with = or ≠ and one of its answers")
    expect(page.get_by_label("Indicator 1, condition 2: value")).to_have_value("mother_0_11")
    screens.take(page, "lqas-setup-en")

    page.get_by_role("link", name="LQAS decision rules").click()
    expect(page.get_by_role("heading", name="LQAS decision rules")).to_be_visible()
    expect(page.locator("#lqas-rules-in-use")).to_have_text("In use: the binomial decision rules.")
    cell = page.get_by_label("n = 19, target 80%", exact=True)
    expect(cell).to_have_value("13")
    cell.fill("25")
    page.get_by_role("button", name="Save the decision rules").click()
    expect(page.get_by_role("alert")).to_have_text(
        "n = 19, target 80%: the decision rule must be a whole number from 0 to 19.")
    screens.take(page, "lqas-rules-en")

    page.get_by_role("button", name="Монгол").click()
    page.goto(site.base + "/web/admin/lqas")
    expect(page.get_by_role("heading", name="LQAS судалгааны тохиргоо", exact=True)).to_be_visible()
    row = page.locator("fieldset", has=page.locator("input[value=knows_ors]"))
    row.locator("input[name^=target_]").fill("120")
    page.get_by_role("button", name="LQAS судалгааны тохиргоог хадгалах").click()
    expect(page.get_by_role("alert")).to_contain_text("зорилт нь 1-ээс 99 хүртэлх бүхэл хувь байна")
    row = page.locator("fieldset", has=page.locator("input[value=knows_ors]"))
    row.locator("input[name^=target_]").fill("50")
    page.get_by_role("button", name="LQAS судалгааны тохиргоог хадгалах").click()
    expect(page.get_by_role("status")).to_contain_text("LQAS судалгааны тохиргоо хадгалагдлаа.")
    expect(page.locator("fieldset", has=page.locator("input[value=knows_ors]")).locator("input[name^=target_]")
           ).to_have_value("50")
    expect(page.get_by_role("heading", name="Хамрах бүсүүд")).to_be_visible()
    expect(page.locator("input[name^=ca_code_][value=tes_north]")).to_be_visible()
    screens.take(page, "lqas-setup-mn")

    # A national table's cell: 13 of 19 at 85% (binomial 14; 13 as at 80%, and at n = 18).
    page.get_by_role("link", name="LQAS шийдвэрийн дүрэм").first.click()
    page.get_by_label("n = 19, зорилт 85%", exact=True).fill("13")
    page.get_by_role("button", name="Шийдвэрийн дүрмийг хадгалах").click()
    expect(page.get_by_role("status")).to_have_text("Шийдвэрийн дүрэм хадгалагдлаа.")
    expect(page.locator("#lqas-rules-in-use")).to_contain_text("байгууллагын хүснэгт, админ 1 нүдийг тогтоосон")
    expect(page.locator("td.override")).to_have_count(1)
    expect(page.get_by_label("n = 19, зорилт 85%", exact=True)).to_have_value("13")
    screens.take(page, "lqas-rules-mn")
    page.goto(f"{site.base}/web/reports?area={TES}")
    expect(page.locator("ul.completeness li").first).to_contain_text("Хяналтын бүс 1-р баг: 19/19 ярилцлага ирсэн")
    expect(page.locator("#lqas-rules-used")).to_contain_text("Шийдвэрийн дүрэм: байгууллагын хүснэгт")
    # The rows judged by the admin's cell (19 eligible, target 85%: the demo's Tes 1st bag was weighed
    # 19 of 19) say so, with its 13.
    judged = page.locator("table.report-lqas tbody tr").filter(has_text="байгууллагын хүснэгт")
    expect(judged.first).to_be_visible()
    for i in range(judged.count()):
        cells = judged.nth(i).locator("td")
        expect(cells.nth(5)).to_have_text("85")
        expect(cells.nth(7)).to_have_text("19")
        expect(cells.nth(8)).to_have_text("13")
    expect(page.locator("table.report-catchments")).to_contain_text("Тэс сумын 1, 2-р баг")
    page.goto(site.base + "/web/admin/lqas/rules")
    page.get_by_role("button", name="Биномиал дүрэм рүү буцаах").click()
    expect(page.get_by_role("status")).to_have_text("Шийдвэрийн дүрэм дахин биномиал боллоо.")
    expect(page.locator("td.override")).to_have_count(0)
    context.close()
