"""The API's description read as a page in Debian's chromium: /api/docs lands on it, it lists
every operation of /api/openapi.json, its contents links lead to them, and the language switch
turns its headings Mongolian. It needs no login, loads nothing from elsewhere and runs no script.
"""

from __future__ import annotations

import re

import pytest
from browser import VIEWPORT
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_api_reference_page_in_english_and_mongolian(site, chromium, screens):
    context = chromium.new_context(viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site.base) else None)
    spec = page.request.get(site.base + "/api/openapi.json").json()
    operations = [(m.upper(), p) for p, item in spec["paths"].items() for m in item]

    page.goto(site.base + "/api/docs")
    expect(page).to_have_url(re.compile(r"/web/api$"))
    expect(page.get_by_role("heading", name="API reference", level=1)).to_be_visible()
    listed = page.locator("article.operation h3").all_inner_texts()
    assert sorted(listed) == sorted(f"{m} {p}" for m, p in operations)
    page.get_by_role("link", name="POST /api/users", exact=True).click()
    expect(page).to_have_url(re.compile(r"#api\.add_user$"))
    added = page.locator("article", has=page.locator("h3#api\\.add_user"))
    expect(added.get_by_role("rowheader", name="password")).to_be_visible()
    expect(added.get_by_role("rowheader", name="409")).to_be_visible()
    page.goto(site.base + "/web/api")
    _viewport(page, screens, "api-docs-en")

    page.get_by_role("button", name="Монгол").click()
    expect(page.get_by_role("heading", name="API-ийн лавлах", level=1)).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "mn"
    expect(page.get_by_text("Эхлээд нэвтэрнэ үү").first).to_be_visible()
    _viewport(page, screens, "api-docs-mn")
    assert outside == [] and page.locator("script").count() == 0
    context.close()


def _viewport(page, screens, name: str) -> None:
    """The first screen only: the whole page is every operation, far too tall for a picture."""
    path = screens.dir / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    screens.taken.append(path)
