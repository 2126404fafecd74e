"""A real browser for the web pages: Debian's chromium, driven by Playwright (no browser download).

``Site`` is one ``fieldsync serve`` on the demo data for the whole test session
(``tests/servers.fieldsync_demo_server``); ``Screens`` saves screenshots,
into ``docs/screenshots/`` when ``FIELDSYNC_UPDATE_SCREENSHOTS=1`` (how the
README's pictures are made), else into the session's temporary directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = Path(os.environ.get("FIELDSYNC_CHROMIUM", "/usr/bin/chromium"))
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1024, "height": 700}  # a small laptop's screen


@dataclass
class Site:
    base: str  # http://127.0.0.1:<port>
    peer: object  # servers.FieldsyncPeer

    def replica(self, user: str, password: str) -> str:
        host = self.base.removeprefix("http://")
        return f"http://{user}:{password}@{host}/sync/{user}"


class Screens:
    def __init__(self, fallback: Path):
        self.dir = DOCS_SCREENSHOTS if os.environ.get("FIELDSYNC_UPDATE_SCREENSHOTS") == "1" else fallback
        self.dir.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def take(self, page, name: str) -> Path:
        path = self.dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def log_in(page, base: str, name: str, password: str) -> None:
    """Log in through the login page (its English labels: a context with an English locale)."""
    page.goto(base + "/web/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    # The form's answer (the next page, or the login page again with its error) has loaded
    # before the test goes on: under load a test read the login page still, as ``menu_link``
    # did, and waited 30 s for a menu link that page never had.
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert "/web/login" not in page.url or not page.get_by_label("Password").count(), (
        f"still on the login page after logging in as {name}: {page.locator('body').inner_text()[:300]!r}")


def menu_link(page, name: str):
    """The main menu's link called ``name`` (exact), its group opened first if it is in a closed one.

    The menu's groups are <details> disclosures: a link in a closed group is not visible and
    cannot be clicked, so tests go through here instead of ``page.get_by_role("link", ...)``.
    """
    menu = page.locator("header nav.menu")
    menu.wait_for(state="attached")  # the page with the menu is there (count() below does not wait)
    menu.get_by_role("link", name=name, exact=True, include_hidden=True).wait_for(state="attached")  # parsed
    link = page.get_by_role("link", name=name, exact=True, include_hidden=True)  # inside a <details>
    group = menu.locator("details").filter(has=link)  # (``has`` is looked for inside each <details>)
    shown = menu.get_by_role("link", name=name, exact=True)
    if not group.count():
        return shown
    # A clean-clone run waited 30 s for the link of a group left closed, right after logging in;
    # the cause was not found (the group counted as absent, or its opening undone). The link is
    # now waited for before the group is looked for, the group is opened again until its link
    # shows, and what the menu was is said if it never does.
    for _ in range(3):
        if group.get_attribute("open") is None:
            group.locator("summary").click()
        try:
            shown.wait_for(state="visible", timeout=5000)
            return shown
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"menu link {name!r} never showed; the menu: {menu.inner_html()[:1500]!r}")


def open_menu(page, name: str) -> None:
    """Follow the main menu's link called ``name`` (see ``menu_link``)."""
    menu_link(page, name).click()
