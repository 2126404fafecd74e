"""The programme reports in a real browser (Debian's chromium, Playwright), in English and Mongolian.

Oyunaa (Uvs aimag's coordinator) opens "Reports" from the menu on the demo
data (``fieldsync demo`` seeds growth visits over months and LQAS samples):
Tes's row counts the children of Tes's growth visits in the server's store, the
LQAS tables are there, another aimag's soums are not. A child's page draws
its growth charts (all five indices, for a child measured on both sides of
24 months with a MUAC). Both pages are photographed in both languages.

The admin opens the LQAS survey set-up from the report (where each
supervision area's interviews of its sample show), is told in English and in
Mongolian what is wrong with a target of 120%, and saves the set-up again as
it was; the page is photographed in both languages.
"""

from __future__ import annotations

import re
from datetime import date

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


def tes_children(site) -> dict[str, int]:
    """Child id -> number of growth visits."""
    return {child: len(visits) for child, visits in tes_visits(site).items()}


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
    page.get_by_role("link", name="LQAS survey set-up").click()
    expect(page.get_by_role("heading", name="LQAS survey set-up", exact=True)).to_be_visible()
    expect(page.get_by_label("Sample size of a supervision area (default)")).to_have_value("19")
    row = page.locator("fieldset", has=page.locator("input[value=knows_ors]"))
    target = row.locator("input[name^=target_]")
    expect(target).to_have_value("50")
    target.fill("120")
    page.get_by_role("button", name="Save the LQAS set-up").click()
    expect(page.get_by_role("alert")).to_contain_text("the target must be a whole percent from 1 to 99")
    screens.take(page, "lqas-setup-en")

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
    screens.take(page, "lqas-setup-mn")
    page.goto(f"{site.base}/web/reports?area={TES}")
    expect(page.locator("ul.completeness li").first).to_contain_text("Хяналтын бүс 1-р баг: 19/19 ярилцлага ирсэн")
    context.close()
