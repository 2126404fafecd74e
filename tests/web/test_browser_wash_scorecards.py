"""The WASH and scorecard pages in a real browser (Debian's chromium, Playwright), in English and Mongolian.

Oyunaa (Uvs aimag's coordinator) opens "WASH" from the menu on the demo
(``fieldsync demo`` seeds three visits of each ger-kindergarten and three
scorecard cycles of two facilities per soum), follows a kindergarten to its
levels over time, switches to Mongolian, then opens the scorecards and a
facility's comparison of cycles. What the pages show is checked against the
demo's documents in the server's store; each page is photographed in both
languages (docs/screenshots/ with FIELDSYNC_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import pytest
from browser import log_in, open_menu
from playwright.sync_api import expect

from sync import records
from sync.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser]
TES = "uvs-tes"


def tes_docs(site) -> tuple[dict[str, str], list[dict]]:
    """Tes's kindergartens (id: name) and its scorecard cycles' data, read from the store."""
    svc = site.peer.services()
    try:
        db = svc.store.open(TES)
        kgs = {d["_id"]: d["name"] for d in records.iter_docs(db, f"{TES}:kg:")}
        cycles = [d["data"] for d in records.iter_docs(db, f"{TES}:sub:") if d.get("form") == "scorecard_cycle"]
        return kgs, cycles
    finally:
        svc.store.close()


def test_a_coordinator_reads_wash_levels_and_scorecard_trends_in_both_languages(site, chromium, screens):
    kgs, cycles = tes_docs(site)
    assert len(kgs) >= 1 and len(cycles) >= 2
    context = chromium.new_context(viewport={"width": 1024, "height": 700}, locale="en-US")
    page = context.new_page()
    log_in(page, site.base, "oyunaa", DEMO_PASSWORD)
    # oyunaa's language is kept with her account, which other browser tests of the session switch.
    expect(page.locator("form.logout")).to_be_visible()
    page.get_by_role("button", name="English").click()

    open_menu(page, "WASH")
    expect(page.get_by_role("heading", name="WASH in kindergartens")).to_be_visible()
    expect(page.get_by_role("heading", name="Kharkhorin soum")).to_have_count(0)  # another aimag's soum
    tes = page.locator("section", has=page.get_by_role("heading", name="Tes soum"))
    expect(tes.get_by_role("link", name=next(iter(kgs.values())))).to_be_visible()
    expect(tes.locator("p.muted").first).to_contain_text(f"{len(kgs)} kindergartens visited")
    screens.take(page, "wash-report-en")

    tes.get_by_role("link", name=next(iter(kgs.values()))).click()
    expect(page.get_by_role("heading", name="Service level over time")).to_be_visible()
    expect(page.locator("svg rect")).to_have_count(4 * 3)  # 3 services + overall, three visits
    screens.take(page, "wash-kindergarten-en")
    page.get_by_role("button", name="Монгол").click()
    expect(page.get_by_role("heading", name="Үйлчилгээний түвшин цаг хугацаагаар")).to_be_visible()
    expect(page.get_by_text("Ундны усыг буцалгаж эсвэл цэвэршүүлж хэрэглэдэг (жишээ)")).to_be_visible()
    screens.take(page, "wash-kindergarten-mn")
    open_menu(page, "Ус, ариун цэвэр")
    expect(page.get_by_role("heading", name="Цэцэрлэгийн ус, ариун цэвэр, эрүүл ахуй")).to_be_visible()
    screens.take(page, "wash-report-mn")

    open_menu(page, "Үнэлгээний карт")
    expect(page.get_by_role("heading", name="Иргэдийн үнэлгээний карт")).to_be_visible()
    tes = page.locator("section", has=page.get_by_role("heading", name="Тэс сум"))
    names = sorted({c["facility_name"] for c in cycles})
    for name in names:
        expect(tes.get_by_role("link", name=name)).to_be_visible()
    screens.take(page, "scorecards-report-mn")
    tes.get_by_role("link", name=names[0]).click()
    expect(page.get_by_role("heading", name="Мөчлөгүүдийн харьцуулалт (0-100)")).to_be_visible()
    mine = [c for c in cycles if c["facility_name"] == names[0]]
    for c in mine:
        expect(page.get_by_text(f"хуваарь {c['scale_min']}-{c['scale_max']}")).to_be_visible()
    screens.take(page, "scorecard-facility-mn")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Cycles compared (0-100)")).to_be_visible()
    screens.take(page, "scorecard-facility-en")
    open_menu(page, "Scorecards")
    expect(page.get_by_role("heading", name="Community scorecards")).to_be_visible()
    screens.take(page, "scorecards-report-en")
    context.close()
