"""An admin's users, areas and audit log pages in a real browser (Debian's chromium, Playwright).

The admin adds a worker (the server makes up the password and shows it once),
assigns her another soum, and finds both changes on the audit log page under
the admin's name; the new worker's first login is there too, with its address.
The users, areas and audit pages are photographed in English and Mongolian.
"""

from __future__ import annotations

import re
import urllib.request

import pytest
from browser import log_in, open_menu
from playwright.sync_api import expect

from sync.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser]
NEW = "narantuya"


def test_an_admin_adds_a_user_assigns_an_area_and_the_audit_log_shows_it(site, chromium, screens):
    context = chromium.new_context(viewport={"width": 1024, "height": 700}, locale="en-US")
    page = context.new_page()
    log_in(page, site.base, "admin", DEMO_PASSWORD)
    open_menu(page, "Users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    screens.take(page, "admin-users-en")

    page.get_by_role("link", name="Add a user").click()
    expect(page.get_by_role("heading", name="Add a user")).to_be_visible()
    screens.take(page, "admin-user-new-en")
    page.get_by_label("User name").fill(NEW)
    page.get_by_label("Role").select_option("worker")
    page.get_by_label(re.compile("Tes soum")).check()
    page.get_by_role("button", name="Add the user").click()
    expect(page.get_by_role("heading", name=f"{NEW} is added")).to_be_visible()
    password = page.locator("#shown-password").inner_text()
    assert len(password) == 12

    page.get_by_role("link", name="Continue to the user's page").click()
    expect(page.get_by_role("heading", name=re.compile(NEW))).to_be_visible()
    expect(page.get_by_text(password)).to_have_count(0)  # shown once only
    page.get_by_label(re.compile("Naranbulag soum")).check()
    page.get_by_role("button", name="Save role and areas").click()
    expect(page.get_by_role("status")).to_contain_text("uvs-naranbulag, uvs-tes")
    screens.take(page, "admin-user-en")

    # The new worker logs in with the made-up password, as her device would.
    req = urllib.request.Request(site.base + "/_session", method="POST", headers={"Content-Type": "application/json"},
                                 data=f'{{"name": "{NEW}", "password": "{password}"}}'.encode())
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200

    open_menu(page, "Audit log")
    page.get_by_label("Area").select_option("~")
    page.get_by_role("button", name="Show").click()
    rows = page.locator("table.audit tbody tr")
    expect(rows.nth(0)).to_contain_text(NEW)
    expect(rows.nth(0)).to_contain_text("Logged in")
    expect(rows.nth(1)).to_contain_text("Changed a user")
    expect(rows.nth(1)).to_contain_text("admin")
    expect(rows.nth(1)).to_contain_text("areas: uvs-tes → uvs-naranbulag, uvs-tes")
    expect(rows.nth(2)).to_contain_text("Added a user")
    expect(rows.nth(2)).to_contain_text("127.0.0.1")
    screens.take(page, "audit-en")

    open_menu(page, "Area tree")
    expect(page.get_by_role("heading", name="Areas and their data")).to_be_visible()
    screens.take(page, "admin-areas-en")
    page.goto(site.base + "/web/admin/areas/uvs-tes")
    expect(page.get_by_role("heading", name="Edit the area uvs-tes")).to_be_visible()
    screens.take(page, "admin-area-edit-en")
    open_menu(page, "Area tree")

    page.get_by_role("button", name="Монгол").click()
    expect(page.get_by_role("heading", name="Нутаг дэвсгэр ба өгөгдөл")).to_be_visible()
    screens.take(page, "admin-areas-mn")
    open_menu(page, "Хэрэглэгчид")
    expect(page.get_by_role("link", name=NEW)).to_be_visible()
    screens.take(page, "admin-users-mn")
    page.get_by_role("link", name=NEW).click()
    expect(page.get_by_role("heading", name=re.compile(NEW))).to_be_visible()
    screens.take(page, "admin-user-mn")
    page.goto(site.base + "/web/admin/users/new")
    screens.take(page, "admin-user-new-mn")
    page.goto(site.base + "/web/admin/areas/uvs-tes")
    expect(page.locator("html")).to_have_attribute("lang", "mn")
    screens.take(page, "admin-area-edit-mn")
    open_menu(page, "Аудитын бүртгэл")
    expect(page.locator("table.audit")).to_contain_text("Хэрэглэгчийг өөрчилсөн")
    screens.take(page, "audit-mn")
    # The language is kept with the account: English again for the admin of the next test.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    context.close()
