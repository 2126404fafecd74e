"""The admins' Modules page in a real browser (Debian's chromium, Playwright), in English and Mongolian.

The admin opens Admin > Modules on the demo (every module on), switches
community scorecards off: the page says it is saved and shows the scorecard
forms closed, the Scorecards entry leaves the menu and its page says the module
is off. In Mongolian the same, then the module is switched on again and the
entry is back. Photographed in both languages (docs/screenshots/ with
FIELDSYNC_UPDATE_SCREENSHOTS=1). The session's other browser tests share the
server, so the module is switched on again whatever happens.
"""

from __future__ import annotations

import pytest
from browser import log_in, menu_link, open_menu
from playwright.sync_api import expect

from sync.demo import DEMO_PASSWORD
from sync.modules import ModuleSwitch

pytestmark = [pytest.mark.browser]


def forms_status(site) -> set[str]:
    svc = site.peer.services()
    try:
        return {f["status"] for f in svc.forms.versions("scorecard_cycle")}
    finally:
        svc.store.close()


def test_an_admin_switches_scorecards_off_and_on_again_in_both_languages(site, chromium, screens):
    context = chromium.new_context(viewport={"width": 1024, "height": 700}, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, site.base, "admin", DEMO_PASSWORD)
        expect(page.locator("form.logout")).to_be_visible()
        page.get_by_role("button", name="English").click()
        open_menu(page, "Modules")
        expect(page.get_by_role("heading", name="Programme modules")).to_be_visible()
        row = page.locator("#module-scorecards")
        expect(row.get_by_label("On")).to_be_checked()
        screens.take(page, "admin-modules-en")

        row.get_by_label("Off").check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_have_text("The modules are saved.")
        expect(page.locator("#module-scorecards").get_by_label("Off")).to_be_checked()
        expect(page.locator("#module-scorecards")).to_contain_text("v1: Closed (its module is off)")
        expect(page.locator("#module-wash").get_by_label("On")).to_be_checked()
        assert forms_status(site) == {"closed"}
        expect(page.locator("header nav.menu").get_by_role("link", name="Scorecards", exact=True,
                                                           include_hidden=True)).to_have_count(0)
        page.goto(site.base + "/web/scorecards")
        expect(page.get_by_role("heading", name="Module switched off")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("The Community scorecards module is switched off")

        page.get_by_role("button", name="Монгол").click()
        expect(page.get_by_role("heading", name="Модулийг унтраасан")).to_be_visible()
        open_menu(page, "Модулиуд")
        expect(page.get_by_role("heading", name="Хөтөлбөрийн модулиуд")).to_be_visible()
        expect(page.locator("#module-scorecards").get_by_label("Унтраах")).to_be_checked()
        screens.take(page, "admin-modules-mn")
        page.locator("#module-scorecards").get_by_label("Асаах").check()
        page.get_by_role("button", name="Хадгалах").click()
        expect(page.get_by_role("status")).to_have_text("Модулиудыг хадгаллаа.")
        assert forms_status(site) == {"published"}
        open_menu(page, "Үнэлгээний карт")
        expect(page.get_by_role("heading", name="Иргэдийн үнэлгээний карт")).to_be_visible()
        expect(menu_link(page, "Үнэлгээний карт")).to_have_attribute("aria-current", "page")
        page.get_by_role("button", name="English").click()  # the admin's language, as the other tests expect it
        expect(page.get_by_role("heading", name="Community scorecards")).to_be_visible()
    finally:
        context.close()
        svc = site.peer.services()
        try:
            ModuleSwitch(svc.store, svc.forms, svc.audit).switch_all_on(actor="test")
        finally:
            svc.store.close()
