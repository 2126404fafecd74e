"""The child protection case pages in a real browser (Debian's chromium, Playwright), in English and Mongolian.

Oyunaa (Uvs aimag's coordinator, assigned to the demo's Uvs cases) opens
"Cases" from the menu: the counts per soum, her cases with the overdue one
marked; she opens it, plans a follow-up visit, switches to Mongolian and
closes it with a reason. Checked against the store; each page photographed
in both languages (docs/screenshots/ with FIELDSYNC_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import pytest
from browser import log_in, open_menu
from playwright.sync_api import expect

from sync import cases
from sync.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser]
TES = "uvs-tes"


def tes_cases(site) -> list[dict]:
    svc = site.peer.services()
    try:
        return cases.area_cases(svc.store.open(TES))
    finally:
        svc.store.close()


def test_a_coordinator_follows_up_and_closes_a_case_in_both_languages(site, chromium, screens):
    case = next(c for c in tes_cases(site) if c["status"] == "in_progress" and c["coordinator"] == "oyunaa")
    context = chromium.new_context(viewport={"width": 1024, "height": 700}, locale="en-US")
    page = context.new_page()
    log_in(page, site.base, "oyunaa", DEMO_PASSWORD)
    expect(page.locator("form.logout")).to_be_visible()
    page.get_by_role("button", name="English").click()  # the language is the account's: another test may have left it
    expect(page.locator("html")).to_have_attribute("lang", "en")

    open_menu(page, "Cases")
    expect(page.get_by_role("heading", name="Child protection cases")).to_be_visible()
    # The month's report: counts, and her overdue high-risk case named since she is on it.
    expect(page.get_by_role("heading", name="Case report for")).to_be_visible()
    expect(page.locator("#report-no-follow-up")).not_to_have_text("0")
    expect(page.locator("table.case-counts").get_by_role("row", name="Kharkhorin soum")).to_have_count(0)
    row = page.locator("table.cases tr", has=page.locator(f'a[href$="{case["_id"]}"]'))
    expect(row.locator(".stale-flag")).to_contain_text("Overdue since")
    screens.take(page, "cases-en")

    row.get_by_role("link").click()
    expect(page.locator("#case-status")).to_have_text("In progress")
    page.get_by_label("Due (YYYY-MM-DD)").fill("2027-03-01")
    page.get_by_role("button", name="Add the visit").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved")
    expect(page.get_by_role("cell", name="2027-03-01")).to_be_visible()
    screens.take(page, "case-en")

    page.get_by_role("button", name="Монгол").click()
    expect(page.locator("#case-status")).to_have_text("Хэрэгжиж байна")
    page.get_by_label("Шинэ төлөв").select_option("closed")
    page.get_by_role("button", name="Төлөвийг өөрчлөх").click()
    expect(page.get_by_role("alert")).to_contain_text("Тохиолдлыг яагаад хааж буйгаа бичнэ үү.")  # no reason: 400
    page.get_by_label("Шинэ төлөв").select_option("closed")
    page.get_by_label("Хаах шалтгаан (зөвхөн хаахдаа)").select_option("goals_met")
    page.get_by_role("button", name="Төлөвийг өөрчлөх").click()
    expect(page.locator("#case-status")).to_have_text("Хаасан")
    screens.take(page, "case-mn")
    stored = next(c for c in tes_cases(site) if c["_id"] == case["_id"])
    assert stored["status"] == "closed" and stored["data"]["closure"]["reason"] == "goals_met"
    assert {"due": "2027-03-01", "done_on": None, "mode": "visit", "notes": ""} in stored["data"]["follow_ups"]

    open_menu(page, "Тохиолдлууд")
    expect(page.get_by_role("heading", name="Хүүхэд хамгааллын тохиолдлууд")).to_be_visible()
    expect(page.get_by_role("heading", name="Тохиолдлын тайлан")).to_be_visible()
    expect(page.locator("table.case-report-closures")).to_contain_text("Аюулгүй, зорилт биелсэн")
    assert page.locator("#report-closed").inner_text() != "0"  # the case she just closed counts
    screens.take(page, "cases-mn")
    page.get_by_role("button", name="English").click()  # the account is left in English for the next test
    expect(page.locator("html")).to_have_attribute("lang", "en")
    context.close()
