"""The review loop in a real browser, with a real PouchDB 9 device on the other end.

bolormaa (an outreach worker in Tes soum) fills a household visit with a photo of the ger
on her device and syncs. Oyunaa (Uvs aimag's coordinator) logs in, switches the pages to
Mongolian, filters Tes's submissions, opens the visit, sees the photo, and marks it "has
issues" with a comment in Cyrillic. The device pulls the review; bolormaa edits the
visit and pushes; the coordinator's list shows it as edited, and she approves it; the
device pulls the approval. The pages are photographed on the way, in both languages.
"""

from __future__ import annotations

import base64
import random
import re

import pytest
from browser import log_in
from playwright.sync_api import expect
from webworld import jpeg

from sync import ids
from sync.demo import DEMO_PASSWORD, household_visit, submission

pytestmark = [pytest.mark.interop, pytest.mark.browser]
COMMENT = "Гэрийн зураг бүрхэг байна, дахин авна уу. Малын тоог шалгана уу."


def clean(report: dict) -> dict:
    assert report["errors"] == [] and report["denied"] == [], report
    return report["result"]


def visit_with_photo() -> dict:
    data = household_visit(random.Random(11))
    data["dwelling_photo"] = "ger.jpg"
    data["remarks"] = "Өвөлжөөнд бэлтгэлтэй, зурагтай айлчлал."
    doc = submission(f"uvs-tes:sub:{ids.new_ulid()}", "household_visit", "bolormaa", data,
                     "2026-11-28T15:40:00+08:00")
    doc["_attachments"] = {"ger.jpg": {"content_type": "image/jpeg",
                                       "data": base64.b64encode(jpeg(1200, 900)).decode()}}
    return doc


def test_review_loop_between_the_coordinators_browser_and_the_workers_device(site, chromium, screens,
                                                                             new_replica):
    device = new_replica()
    remote = site.replica("bolormaa", DEMO_PASSWORD)
    doc = visit_with_photo()
    device.put(doc)
    clean(device.sync(remote))

    context = chromium.new_context(viewport={"width": 1024, "height": 700}, locale="en-US")
    page = context.new_page()
    page.goto(site.base + "/")  # a browser at the server's address lands on the pages
    expect(page).to_have_url(re.compile(r"/web/login"))
    screens.take(page, "login-en")
    page.get_by_label("User name").fill("oyunaa")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out").or_(page.get_by_role("button", name="Гарах"))).to_be_visible()
    # The language is kept with the account, and other browser tests of the session use it too.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Your areas")).to_be_visible()
    screens.take(page, "areas-en")

    page.get_by_role("button", name="Монгол").click()
    expect(page.get_by_role("heading", name="Таны нутаг дэвсгэр")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "mn"
    screens.take(page, "areas-mn")
    page.get_by_role("link", name="Тэс сум").click()
    expect(page.get_by_role("heading", name="Тэс сум-ийн илгээлтүүд")).to_be_visible()
    screens.take(page, "submissions-mn")

    # Filter: household visits whose text mentions a photo ("зурагтай": with a photo).
    page.get_by_label("Маягт").select_option("household_visit")
    page.get_by_label("Текст").fill("Зурагтай")
    page.get_by_role("button", name="Харуулах").click()
    rows = page.locator("table[aria-labelledby=list-h] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("bolormaa")
    rows.first.get_by_role("link").click()

    photo = page.get_by_role("img", name="Орон байрны зураг (зөвшөөрөлтэй)")
    expect(photo).to_be_visible()
    photo.scroll_into_view_if_needed()  # loading="lazy": fetched when it comes into view
    img = photo.element_handle()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img)
    assert page.evaluate("img => img.naturalWidth", img) == 320  # the thumbnail, not the 1200 px photo
    screens.take(page, "submission-mn")
    full = page.request.get(site.base + photo.locator("xpath=..").get_attribute("href"))
    assert full.ok and full.body() == base64.b64decode(doc["_attachments"]["ger.jpg"]["data"])

    page.get_by_label("Асуудалтай").check()
    page.get_by_label("Ажилтанд өгөх сэтгэгдэл").fill(COMMENT)
    page.get_by_role("button", name="Хяналтыг хадгалах").click()
    expect(page.get_by_role("status")).to_contain_text("Хадгаллаа")
    expect(page.locator(".thread")).to_contain_text(COMMENT)

    # The device pulls the review: the worker reads "has issues" and the comment.
    clean(device.sync(remote))
    review = device.get(doc["_id"].replace(":sub:", ":review:"))
    assert review["status"] == "has_issues" and review["comments"][-1]["text"] == COMMENT
    assert review["comments"][-1]["by"] == "oyunaa"

    # The worker retakes the photo and corrects the visit on her device, then syncs.
    mine = device.get(doc["_id"])
    mine["data"]["remarks"] = "Зургийг дахин авлаа; малын тоо зөв."
    mine["_attachments"] = {"ger.jpg": {"content_type": "image/jpeg",
                                        "data": base64.b64encode(jpeg(1200, 900, (90, 140, 200))).decode()}}
    device.put(mine)
    clean(device.sync(remote))
    clean(device.pull(remote))  # push and pull of a sync run side by side: the next pull has it
    assert device.get(doc["_id"].replace(":sub:", ":review:"))["status"] == "edited"

    # The coordinator's list brings it back as edited; she approves the new revision.
    page.goto(f"{site.base}/web/areas/uvs-tes/submissions?state=edited")
    rows = page.locator("table[aria-labelledby=list-h] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Хянасны дараа засварласан")
    rows.first.get_by_role("link").click()
    expect(page.get_by_text("Зургийг дахин авлаа; малын тоо зөв.")).to_be_visible()
    page.get_by_label("Батлагдсан").check()
    page.get_by_role("button", name="Хяналтыг хадгалах").click()
    expect(page.get_by_role("status")).to_contain_text("Хадгаллаа")

    clean(device.sync(remote))
    review = device.get(doc["_id"].replace(":sub:", ":review:"))
    assert review["status"] == "approved"
    assert [h["status"] for h in review["history"]] == ["has_issues", "edited", "approved"]
    assert "_conflicts" not in device.get(review["_id"], conflicts=True)

    # The same pages in English, for the README.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Review", exact=True)).to_be_visible()
    screens.take(page, "submission-en")
    page.goto(f"{site.base}/web/areas/uvs-tes/submissions")
    screens.take(page, "submissions-en")
    context.close()


def test_the_worker_page_and_the_login_in_both_languages(site, chromium, screens):
    """A worker who logs in is pointed to her replica; keyboard alone gets her there."""
    context = chromium.new_context(viewport={"width": 1024, "height": 700}, locale="mn-MN")
    page = context.new_page()
    page.goto(site.base + "/web/login")
    expect(page.get_by_role("heading", name="Нэвтрэх")).to_be_visible()  # Accept-Language: mn
    screens.take(page, "login-mn")
    # The keyboard alone: the name field has the focus, Tab goes to the password, Enter logs in.
    expect(page.get_by_label("Хэрэглэгчийн нэр")).to_be_focused()
    page.keyboard.type("bolormaa")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Нууц үг")).to_be_focused()
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator(".replica code")).to_be_visible()  # logged in
    page.get_by_role("button", name="Монгол").click()  # kept with the account: set, not assumed
    expect(page.get_by_role("heading", name="Таны хуулбар")).to_be_visible()
    expect(page.locator(".replica code")).to_have_text(f"{site.base}/sync/bolormaa")
    screens.take(page, "worker-mn")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Your replica")).to_be_visible()
    screens.take(page, "worker-en")
    assert page.goto(site.base + "/web/areas/uvs-tes/submissions").status == 404  # workers: no pages
    screens.take(page, "not-found-en")
    page.get_by_role("button", name="Монгол").click()  # the error page has the language switch too
    expect(page.get_by_role("heading", name="Олдсонгүй")).to_be_visible()
    screens.take(page, "not-found-mn")
    context.close()


# The main menu as the demo admin sees it: its groups and their links, in each language.
MENU = {
    "en": ("English", "Areas", {
        "Review": ["Conflicts", "Quarantine"],
        "Programmes": ["Reports", "WASH", "Scorecards", "Cases", "Families"],
        "Data": ["Exports", "Who has synced", "Audit log", "API reference"],
        "Admin": ["Forms", "Users", "Area tree", "LQAS set-up", "Family card areas",
                  "Family assessment indicators", "WASH norms"],
    }),
    "mn": ("Монгол", "Нутаг дэвсгэр", {
        "Хяналт": ["Зөрчил", "Саатуулсан баримт"],
        "Хөтөлбөрүүд": ["Тайлан", "Ус, ариун цэвэр", "Үнэлгээний карт", "Тохиолдлууд", "Гэр бүлүүд"],
        "Өгөгдөл": ["Экспорт", "Синк хийсэн байдал", "Аудитын бүртгэл", "API-ийн лавлах"],
        "Админ": ["Маягтууд", "Хэрэглэгчид", "Нутгийн бүтэц", "LQAS тохиргоо", "Гэр бүлийн картын чиглэлүүд",
                  "Гэр бүлийн үнэлгээний үзүүлэлтүүд", "Ус, ариун цэврийн норм"],
    }),
}


def test_the_main_menu_is_one_line_its_groups_open_by_keyboard_and_mark_the_current_page(site, chromium, screens):
    """At 1280 px the grouped menu and the header's tools share one line in both languages; each
    group opens with Enter on its summary, Tab reaches its links, Enter follows one, and the page
    reached has its link marked aria-current="page" and its group marked; at 800 px a group's
    links stay inside the window."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    log_in(page, site.base, "admin", DEMO_PASSWORD)
    expect(page.locator("form.logout")).to_be_visible()
    nav = page.locator("header nav.menu")
    for lang in ("mn", "en"):  # English last: the language stays with the account for later tests
        button, areas, groups = MENU[lang]
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(site.base + "/web/")
        page.get_by_role("button", name=button).click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(nav.get_by_role("link", name=areas, exact=True)).to_have_attribute("aria-current", "page")
        expect(nav.locator("summary")).to_have_text(list(groups))
        # One line: the Areas link, every group and the language/log-out tools share a row.
        items = [li.bounding_box() for li in nav.locator(":scope > ul > li").all()]
        items.append(page.locator("header .tools").bounding_box())
        middles = [b["y"] + b["height"] / 2 for b in items]
        assert max(middles) - min(middles) < 4, (lang, items)
        assert page.locator("header.top").bounding_box()["height"] < 2.2 * max(b["height"] for b in items)

        for group, labels in groups.items():
            for k, label in enumerate(labels):
                summary = nav.locator("summary", has_text=group)
                summary.focus()
                page.keyboard.press("Enter")
                details = nav.locator("details", has=page.locator("summary", has_text=group))
                expect(details).to_have_attribute("open", "")
                # Only one group is open at a time (they share the <details> name).
                expect(nav.locator("details[open]")).to_have_count(1)
                for _ in range(k + 1):
                    page.keyboard.press("Tab")
                link = details.get_by_role("link", name=label, exact=True)
                expect(link).to_be_focused()
                href = link.get_attribute("href")
                if (group, k) == (list(groups)[1], 0):
                    screens.take(page, f"nav-{lang}")
                with page.expect_response(lambda r: r.request.is_navigation_request()) as answer:
                    page.keyboard.press("Enter")
                assert answer.value.status == 200, (label, answer.value.url)
                expect(page).to_have_url(site.base + href)
                # Arrived: the link is the current page, its group (closed again) is marked, no other.
                expect(nav.get_by_role("link", name=label, exact=True, include_hidden=True)).to_have_attribute(
                    "aria-current", "page")
                expect(nav.locator("summary[aria-current=true]")).to_have_text([group])
                expect(nav.locator("details[open]")).to_have_count(0)
        # At 800 px the groups may wrap, but an open group's links are inside the window.
        page.set_viewport_size({"width": 800, "height": 700})
        admin = nav.locator("summary", has_text=list(groups)[-1])
        admin.click()
        last = nav.get_by_role("link", name=groups[list(groups)[-1]][-1], exact=True)
        expect(last).to_be_visible()
        box = last.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 800, box
        admin.click()
    context.close()
