"""In a real browser: a coordinator resolves an overlapping conflict in the page,
and two real PouchDB 9 replicas converge with no ``_conflicts``.

Debian's chromium driven by Playwright, on the session's one ``fieldsync
serve`` of the demo data (``site``); the two replicas are a worker's phone
and tablet syncing ``/sync/bolormaa``. What this test adds to the shared demo
is a family record (not a submission: the submission lists and counts other
tests read stay as they are) and one refused visit in the quarantine. The
conflicts, conflict, quarantine, refused document and sync monitor pages are
photographed in both languages (``screens``).
"""

from __future__ import annotations

import pytest
from gate_helpers import TES, visit
from playwright.sync_api import expect

from sync import ids
from sync.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.interop, pytest.mark.browser]


def clean(report: dict) -> None:
    assert report["errors"] == [] and report["denied"] == [], (report["errors"], report["denied"])


def speak(page, name: str) -> None:
    """The language switch: the choice is kept with oyunaa's account (it follows her to any
    laptop), so this test sets it as it goes and leaves it in English, as the review test does."""
    page.get_by_role("button", name=name).click()
    expect(page.get_by_role("button", name=name)).to_have_attribute("aria-pressed", "true")


def test_an_overlapping_conflict_is_resolved_in_the_page_and_both_devices_converge(site, chromium, screens,
                                                                                   new_replica):
    url = site.replica("bolormaa", DEMO_PASSWORD)
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
    # A visit the gate refuses (the household size is not a number): the quarantine's entry.
    refused = visit(household_size="many", remarks="Тоо буруу бичигдсэн айлчлал.")
    phone.bulk_docs([refused])
    for _ in range(2):
        for device in (phone, tablet):
            device.sync(url)
    assert phone.get(doc_id, conflicts=True).get("_conflicts")

    context = chromium.new_context(locale="mn-MN", viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(f"{site.base}/web/login")
    page.fill("#name", "oyunaa")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("form.logout")).to_be_visible()  # logged in
    page.goto(f"{site.base}/web/conflicts")
    speak(page, "Монгол")
    expect(page.locator("h1")).to_have_text("Зөрчил")
    screens.take(page, "conflicts-mn")
    page.click(f"a[href='/web/conflicts/{doc_id}']")
    expect(page.get_by_text("Утаснаас: 5 ам бүл.")).to_be_visible()
    screens.take(page, "conflict-mn")
    speak(page, "English")
    expect(page.get_by_text("changed on both sides").first).to_be_visible()
    screens.take(page, "conflict-en")
    page.goto(f"{site.base}/web/conflicts")
    screens.take(page, "conflicts-en")
    page.goto(f"{site.base}/web/conflicts/{doc_id}")
    speak(page, "Монгол")

    # /members changed on the phone only: chosen already. /remarks: the person picks the tablet's.
    assert page.locator("input[name='pick:/members']:checked").get_attribute("value") != tablet_rev
    page.check(f"input[name='pick:/remarks'][value='{tablet_rev}']")
    page.fill("#note", "Таблет сүүлд бичсэн")
    page.click("button[type=submit].primary >> nth=-1")
    expect(page.locator("p.notice")).to_have_count(1)

    for _ in range(2):
        for device in (phone, tablet):
            clean(device.sync(url))
    views = [device.get(doc_id, conflicts=True) for device in (phone, tablet)]
    for doc in views:
        assert "_conflicts" not in doc
        assert (doc["remarks"], doc["members"]) == ("Таблетаас: 6 ам бүл.", 5)
    assert views[0]["_rev"] == views[1]["_rev"]

    # The quarantine and the sync monitor, in both languages; the refused visit's answers are
    # shown under the form's labels in the page's language.
    for lang, button in (("mn", "Монгол"), ("en", "English")):
        page.goto(f"{site.base}/web/quarantine")
        speak(page, button)
        screens.take(page, f"quarantine-{lang}")
        page.click(f"table a[href*='{refused['_id']}'] >> nth=0")
        label = "Өрхөд хэдэн хүн амьдардаг вэ?" if lang == "mn" else "How many people live in the household?"
        expect(page.locator("dl.answers dt", has_text=label)).to_be_visible()
        screens.take(page, f"quarantine-entry-{lang}")
        page.goto(f"{site.base}/web/sync")
        expect(page.get_by_text("bolormaa").first).to_be_visible()
        screens.take(page, f"sync-{lang}")
    context.close()
