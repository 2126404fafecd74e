"""In a real browser: a coordinator resolves an overlapping conflict in the page,
and two real PouchDB 9 replicas converge with no ``_conflicts``.

Debian's chromium driven by Playwright; ``fieldsync serve`` on the demo data
(SQLite); the two replicas are a worker's phone and tablet syncing
``/sync/bolormaa``. The conflicts, quarantine and sync monitor pages are
photographed in both languages for the README (``docs/screenshots/``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gate_helpers import PASSWORD, TES, visit
from servers import FieldsyncPeer, fieldsync_demo_server

from sync import ids

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")]


@pytest.fixture(scope="module")
def server() -> Iterator[FieldsyncPeer]:
    with fieldsync_demo_server() as peer:
        yield peer


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


def clean(report: dict) -> None:
    assert report["errors"] == [] and report["denied"] == [], (report["errors"], report["denied"])


def log_in(page, server: FieldsyncPeer, name: str) -> None:
    page.goto(f"{server.root}/web/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_an_overlapping_conflict_is_resolved_in_the_page_and_both_devices_converge(server, browser, new_replica):
    url = f"http://bolormaa:{PASSWORD}@127.0.0.1:{server.port}/sync/bolormaa"
    phone, tablet = new_replica(), new_replica()
    doc_id = f"{TES}:fam:{ids.new_ulid()}"
    phone.put({"_id": doc_id, "type": "family", "name": "Батбаярын гэр бүл", "bag": "2-р баг",
               "remarks": "Өвөлжөөндөө бэлтгэлтэй.", "members": 4})
    clean(phone.sync(url))
    clean(tablet.sync(url))
    for device, changes in ((phone, {"remarks": "Утаснаас: 5 ам бүл.", "members": 5}),
                            (tablet, {"remarks": "Таблетаас: 6 ам бүл."})):
        doc = device.get(doc_id)
        doc.update(changes)
        device.put(doc)
    tablet_rev = tablet.get(doc_id)["_rev"]
    # Something for the quarantine page too.
    phone.bulk_docs([visit(household_size="many")])
    for _ in range(2):
        for device in (phone, tablet):
            device.sync(url)
    assert phone.get(doc_id, conflicts=True).get("_conflicts")

    context = browser.new_context(locale="mn-MN", viewport={"width": 1100, "height": 800})
    page = context.new_page()
    log_in(page, server, "oyunaa")
    page.goto(f"{server.root}/web/conflicts")
    assert page.locator("h1").inner_text() == "Зөрчил"
    shoot(page, "conflicts-mn")
    page.click(f"a[href='/web/conflicts/{doc_id}']")
    assert "Утаснаас: 5 ам бүл." in page.content()
    shoot(page, "conflict-mn")
    # /members changed on the phone only: chosen already. /remarks: the person picks the tablet's.
    assert page.locator("input[name='pick:/members']:checked").get_attribute("value") != tablet_rev
    page.check(f"input[name='pick:/remarks'][value='{tablet_rev}']")
    page.fill("#note", "Таблет сүүлд бичсэн")
    page.click("button[type=submit].primary >> nth=-1")
    assert page.locator("p.notice").count() == 1

    for _ in range(2):
        for device in (phone, tablet):
            clean(device.sync(url))
    views = [device.get(doc_id, conflicts=True) for device in (phone, tablet)]
    for doc in views:
        assert "_conflicts" not in doc
        assert (doc["remarks"], doc["members"]) == ("Таблетаас: 6 ам бүл.", 5)
    assert views[0]["_rev"] == views[1]["_rev"]

    # The other pages, in both languages.
    for lang, locale in (("mn", "mn-MN"), ("en", "en-GB")):
        ctx = browser.new_context(locale=locale, viewport={"width": 1100, "height": 800})
        other = ctx.new_page()
        log_in(other, server, "oyunaa")
        if lang == "en":
            other.goto(f"{server.root}/web/conflicts")
            shoot(other, "conflicts-en")
        other.goto(f"{server.root}/web/quarantine")
        shoot(other, f"quarantine-{lang}")
        other.click("table a >> nth=0")
        shoot(other, f"quarantine-entry-{lang}")
        other.goto(f"{server.root}/web/sync")
        shoot(other, f"sync-{lang}")
        ctx.close()
    context.close()
