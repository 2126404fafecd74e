"""The families list and a family's page in a real browser (Debian's chromium, Playwright), in both languages.

Oyunaa (Uvs aimag's coordinator) opens "Families" from the menu on the demo
(``fieldsync demo`` seeds each soum's families, two children of each in the
register with their growth visits, and a family card), picks Tes, searches,
opens a family and checks its household members (age today, newest growth visit) and what
the growth records say about "growth monitored in the last 3 months" at its newest
assessment and today beside the worker's answer (the rule written out again here from the
store), and its card against the store, adds a
step to the card, switches to Mongolian and back, then opens the soum's family
assessments (coverage per indicator and bag, the lowest scores, the awareness
sessions and community projects; checked against figures recomputed from the
seeded submissions' answers) in Mongolian and in English. Each page is photographed
in both languages (docs/screenshots/ with FIELDSYNC_UPDATE_SCREENSHOTS=1).
The account's language is English again at the end (it is kept per account).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from fractions import Fraction

import pytest
from browser import log_in, open_menu
from playwright.sync_api import expect

from sync import families, records
from sync.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser]
TES = "uvs-tes"


def tes_family(site) -> tuple[dict, list[dict], dict, int]:
    """Tes's first family (by id), its children, its card, and how many families Tes has."""
    svc = site.peer.services()
    try:
        db = svc.store.open(TES)
        fams = list(records.iter_docs(db, f"{TES}:fam:"))
        fam = fams[0]
        children = [c for c in records.iter_docs(db, f"{TES}:child:") if c.get("family") == fam["_id"]]
        return fam, children, records.read(db, families.card_id(fam["_id"])), len(fams)
    finally:
        svc.store.close()


def growth_of(site, fam: dict, children: list[dict]) -> tuple[dict[str, list[str]], tuple[str, str | None] | None]:
    """Each child's growth visit dates (by register key), and the family's newest assessment: (date, the
    worker's growth_monitored answer or None when left out), straight from the store."""
    svc = site.peer.services()
    try:
        subs = list(records.iter_docs(svc.store.open(TES), f"{TES}:sub:"))
    finally:
        svc.store.close()
    keys = {c["_id"].split(":", 2)[2] for c in children}
    visits = {k: sorted(d["data"]["visit_date"] for d in subs
                        if d.get("form") == "growth_visit" and d["data"].get("child_id") == k) for k in keys}
    mine = sorted(((d["data"]["date"], d["_id"]), d["data"]) for d in subs
                  if d.get("form") == "family_assessment" and d["data"].get("family_id") == fam["_id"])
    if not mine:
        return visits, None
    data = mine[-1][1]
    answer = next((r.get("answer") for r in data["indicators"] if r["indicator"] == "growth_monitored"), None)
    return visits, (data["date"], answer)


def months_old(dob: str, on: date) -> int:
    born = date.fromisoformat(dob)
    return (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)


def records_say(children: list[dict], visits: dict[str, list[str]], on: date) -> str:
    """The growth item by the records, written out again: every child of 0-59 completed calendar months
    on ``on`` has a growth visit in the 91 days up to it -> yes; one has none -> no; no such child -> na."""
    applies = [c for c in children if date.fromisoformat(c["dob"]) <= on and months_old(c["dob"], on) < 60]
    if not applies:
        return "na"
    first = (on - timedelta(days=90)).isoformat()
    return "yes" if all(any(first <= d <= on.isoformat() for d in visits[c["_id"].split(":", 2)[2]])
                        for c in applies) else "no"


def tes_assessments(site) -> tuple[int, tuple[str, str], str, int]:
    """From Tes's family_assessment answers: the indicators, the lowest-scoring family (id, name) at its
    newest assessment, improved_water's all-bags cell at the latest round ("met/applicable"); and how
    many community projects Tes has."""
    svc = site.peer.services()
    try:
        db = svc.store.open(TES)
        names = {f["_id"]: f["name"] for f in records.iter_docs(db, f"{TES}:fam:")}
        subs = sorted((d for d in records.iter_docs(db, f"{TES}:sub:") if d.get("form") == "family_assessment"),
                      key=lambda d: (d["data"]["date"], d["_id"]))
        indicators = len(families.IndicatorList(svc.store).get()["items"])
        projects = sum(1 for d in records.iter_docs(db, f"{TES}:sub:") if d.get("form") == "community_project")
    finally:
        svc.store.close()
    newest, latest = {}, {}
    for sub in subs:
        newest[sub["data"]["family_id"]] = sub["data"]
        if sub["data"]["round"] == "follow_up":
            latest[sub["data"]["family_id"]] = sub["data"]

    def answers(data: dict) -> dict[str, str]:
        return {r["indicator"]: r["answer"] for r in data["indicators"]}

    scores = []
    for fid, data in newest.items():
        scored = [a for c, a in answers(data).items() if c != "protection_concern"]
        if scored.count("yes") + scored.count("no"):
            scores.append((Fraction(scored.count("yes"), scored.count("yes") + scored.count("no")), fid))
    low = min(scores)[1]
    water = [answers(d).get("improved_water") for d in latest.values()]
    return indicators, (low, names[low]), f"({water.count('yes')}/{water.count('yes') + water.count('no')})", projects


def test_a_coordinator_reads_a_familys_page_in_both_languages(site, chromium, screens):
    fam, children, card, count = tes_family(site)
    visits, newest = growth_of(site, fam, children)
    assert all(visits.values()), "the demo's register children have growth visits"
    indicators, (low_id, low_name), water, projects = tes_assessments(site)
    assert children and card and count >= 2
    context = chromium.new_context(viewport={"width": 1024, "height": 800}, locale="en-US")
    page = context.new_page()
    log_in(page, site.base, "oyunaa", DEMO_PASSWORD)
    expect(page.locator("form.logout")).to_be_visible()
    page.get_by_role("button", name="English").click()  # her language is kept with her account
    try:
        open_menu(page, "Families")
        expect(page.get_by_role("heading", name="Families")).to_be_visible()
        page.get_by_role("link", name="Tes soum").click()
        expect(page.locator("table.families tbody tr")).to_have_count(count)
        screens.take(page, "families-en")
        page.get_by_label("Search by name or bag").fill(fam["name"])
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.get_by_role("link", name=fam["name"]).first).to_be_visible()
        page.locator(f'a[href$="/web/families/{fam["_id"]}"]').click()
        expect(page.get_by_role("heading", name=fam["name"])).to_be_visible()
        rows = page.locator("table.family-children tbody tr")
        expect(rows).to_have_count(len(children))
        today = date.today()
        for child in children:
            row = rows.filter(has_text=child["name"])
            expect(row).to_contain_text(child["dob"])
            expect(row.locator("td[data-age]")).to_have_text(str(months_old(child["dob"], today)))
            key = child["_id"].split(":", 2)[2]
            expect(row).to_contain_text(f"{visits[key][-1]} ({len(visits[key])} visits)")
            expect(row.get_by_role("link", name=child["name"])).to_have_attribute("href", re.compile(f"child\\?id={key}$"))
        # The growth item by the records, at the newest assessment and today, beside the worker's answer.
        expect(page.get_by_role("heading", name="Growth monitored in the last 3 months: the records")).to_be_visible()
        said = {"yes": "Yes", "no": "No", "na": "Does not apply"}
        checks = [("today", today, None)] + ([("assessment", date.fromisoformat(newest[0]), newest[1])] if newest else [])
        for when, on, worker in checks:
            row = page.locator(f'table.growth-records tr[data-when="{when}"]')
            expect(row.locator("td[data-records]")).to_have_text(said[records_say(children, visits, on)])
            if when == "assessment":
                agreement = ("unanswered" if worker is None else
                             "agree" if worker == records_say(children, visits, on) else "disagree")
                expect(row.locator("[data-agreement]")).to_have_attribute("data-agreement", agreement)
                expect(row.locator("td").nth(3)).to_have_text(said.get(worker, "not answered"))
        expect(page.locator("table.family-card ol.history li")).to_have_count(
            sum(len(e["history"]) for e in card["areas"].values()))
        fresh = next(a for a in families.default_areas() if a["code"] not in card["areas"])
        page.get_by_label("Programme area").select_option(fresh["code"])
        page.get_by_label("Status").select_option("action")
        page.get_by_role("button", name="Add the step").click()
        expect(page.get_by_role("alert")).to_contain_text("the next step is awareness, not action")
        page.get_by_label("Programme area").select_option(fresh["code"])
        page.get_by_label("Status").select_option("awareness")
        page.get_by_label("Note").fill("Parents came to the FES session")
        page.get_by_role("button", name="Add the step").click()
        expect(page.get_by_role("status")).to_be_visible()
        expect(page.locator("table.family-card tr", has_text=fresh["text"]["en"])).to_contain_text(
            "Parents came to the FES session")
        screens.take(page, "family-en")
        page.get_by_role("button", name="Монгол").click()
        expect(page.get_by_role("heading", name="Гэр бүлийн карт")).to_be_visible()
        expect(page.locator("table.family-card tr", has_text=fresh["text"]["mn"])).to_contain_text("Мэдлэг олгох")
        expect(page.get_by_role("heading", name="Өрхийн гишүүд")).to_be_visible()
        expect(page.locator("table.family-children thead")).to_contain_text("Өнөөдрийн нас (сараар)")
        expect(page.locator('table.growth-records tr[data-when="today"]')).to_contain_text("өнөөдөр")
        screens.take(page, "family-mn")
        open_menu(page, "Гэр бүлүүд")
        page.get_by_role("link", name="Тэс сум").click()
        expect(page.locator("table.families tbody tr")).to_have_count(count)
        screens.take(page, "families-mn")
        page.get_by_role("link", name="Гэр бүлийн үнэлгээ: багаар хамралт, суурь болон сүүлийн шат, хамгийн бага оноо").click()
        expect(page.get_by_role("heading", name="Хамгийн бага оноотой гэр бүлүүд")).to_be_visible()
        expect(page.locator("table.coverage tbody tr")).to_have_count(indicators)
        expect(page.locator("table.lowest tbody tr").first).to_contain_text(low_name)
        expect(page.locator("table.projects tbody tr")).to_have_count(projects)
        expect(page.get_by_role("heading", name="Олон нийтийн санаачилсан төслүүд")).to_be_visible()
        screens.take(page, "family-assessments-mn")
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Families with the lowest scores")).to_be_visible()
        water_row = page.locator("table.coverage tr", has_text="Improved drinking-water source")
        expect(water_row.locator('td[data-bag="*"] span[data-round="latest"]')).to_contain_text(water)
        page.locator(f'table.lowest a[href$="/web/families/{low_id}"]').click()
        expect(page.get_by_role("heading", name=low_name)).to_be_visible()
        page.go_back()
        screens.take(page, "family-assessments-en")
    finally:
        page.get_by_role("button", name="English").click()  # the next browser test finds her in English
        expect(page.locator("html")).to_have_attribute("lang", "en")
        context.close()
