"""The WASH and scorecard pages in a real browser (Debian's chromium, Playwright), in English and Mongolian.

Oyunaa (Uvs aimag's coordinator) opens "WASH" from the menu on the demo
(``fieldsync demo`` seeds three visits of each ger-kindergarten and three
scorecard cycles of two facilities per soum), follows a kindergarten to its
levels over time, switches to Mongolian, then opens the scorecards and a
facility's comparison of cycles, shown by its name in the facility register;
back in English she registers a new facility, which the report then lists
among those without a cycle yet. What the pages show is checked against the
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


def tes_docs(site) -> tuple[dict[str, str], list[dict], dict[str, dict]]:
    """Tes's kindergartens (id: name), its scorecard cycles' data and its facility register, from the store."""
    svc = site.peer.services()
    try:
        db = svc.store.open(TES)
        kgs = {d["_id"]: d["name"] for d in records.iter_docs(db, f"{TES}:kg:")}
        cycles = [d["data"] for d in records.iter_docs(db, f"{TES}:sub:") if d.get("form") == "scorecard_cycle"]
        facilities = {d["_id"]: d for d in records.iter_docs(db, f"{TES}:fac:")}
        return kgs, cycles, facilities
    finally:
        svc.store.close()


def test_a_coordinator_reads_wash_levels_and_scorecard_trends_in_both_languages(site, chromium, screens):
    kgs, cycles, facilities = tes_docs(site)
    assert len(kgs) >= 1 and len(cycles) >= 2 and len(facilities) == 2
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
    # every facility is a register entry: its name is the register's, its link the entry's id
    names = sorted(d["name"] for d in facilities.values())
    for fid, fac in facilities.items():
        link = tes.get_by_role("link", name=fac["name"], exact=True)
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", f"/web/scorecards/{TES}/facilities/{fid}")
    screens.take(page, "scorecards-report-mn")
    tes.get_by_role("link", name=names[0]).click()
    expect(page.get_by_role("heading", name="Мөчлөгүүдийн харьцуулалт (0-100)")).to_be_visible()
    expect(page.get_by_text("байгууллагын бүртгэлд байгаа")).to_be_visible()
    fid = next(k for k, d in facilities.items() if d["name"] == names[0])
    # the cycles typed by name only (before the register) and those naming the entry, together
    mine = [c for c in cycles if c.get("facility") == fid or (
        not c.get("facility") and c["facility_type"] == facilities[fid]["facility_type"]
        and " ".join(c["facility_name"].split()).casefold() == " ".join(names[0].split()).casefold())]
    assert {bool(c.get("facility")) for c in mine} == {True, False}
    for c in mine:
        expect(page.get_by_text(f"хуваарь {c['scale_min']}-{c['scale_max']}")).to_be_visible()
    screens.take(page, "scorecard-facility-mn")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Cycles compared (0-100)")).to_be_visible()
    screens.take(page, "scorecard-facility-en")
    open_menu(page, "Scorecards")
    expect(page.get_by_role("heading", name="Community scorecards")).to_be_visible()
    tes = page.locator("section", has=page.get_by_role("heading", name="Tes soum"))
    tes.locator("summary", has_text="Register a facility").click()
    tes.get_by_label("Facility name").fill("Тэс сумын 2-р сургууль")
    tes.get_by_label("Type of facility").select_option("school")
    tes.get_by_label("Bag (optional)").fill("2-р баг")
    tes.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Тэс сумын 2-р сургууль")).to_be_visible()
    expect(page.get_by_text("The facility is registered.")).to_be_visible()
    expect(page.get_by_text("No scorecard cycle has been received for this facility yet.")).to_be_visible()
    made = {k: d for k, d in tes_docs(site)[2].items() if k not in facilities}
    assert [(d["name"], d["facility_type"], d["bag"], d["author"]) for d in made.values()] == [
        ("Тэс сумын 2-р сургууль", "school", "2-р баг", "oyunaa")]
    open_menu(page, "Scorecards")
    tes = page.locator("section", has=page.get_by_role("heading", name="Tes soum"))
    waiting = tes.locator("ul.waiting-facilities")
    expect(waiting.get_by_role("link", name="Тэс сумын 2-р сургууль")).to_have_attribute(
        "href", f"/web/scorecards/{TES}/facilities/{next(iter(made))}")
    screens.take(page, "scorecards-report-en")
    context.close()
