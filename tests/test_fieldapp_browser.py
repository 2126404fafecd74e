"""The worker's field app in a real browser (Debian's chromium, Playwright) against
a real ``fieldsync serve`` with the demo's data: one server for the module.

* A trip: log in and sync, go offline, fill a household visit (skip logic, a
  repeat, a constraint that fails then passes, a photo from a file), close the
  app, open it again offline (it starts from its service worker and the draft
  is there), send it, go online: the server holds the submission, valid, with
  the photo resized on the device.
* A phone whose clock is wrong: the server refuses a visit dated in the future
  (by its own date), the inbox shows why in Mongolian, the worker fixes and
  resends, the refusal is settled and its quarantine entry superseded; then a
  coordinator's review with a comment reaches the inbox.
* The register: a family found by name, its visit history (the demo's visits
  linked to it), one visit read with the form's labels in English, and a new
  visit started from the family with the link already answered; a new family
  refused on the device until its name is given, then stored and synced; the
  family's children, one child's growth visits with the server's classes, and
  offline a new child (refused on the device until right, in Mongolian) with a
  growth visit started from it: both reach the server linked to the family
  and each other, and the server's classes come back to the child's page.
* Cases, a family assessment, a correction: the worker's child protection
  cases (overdue first), a follow-up visit refused on the device until right
  (in Mongolian), then stored on the server's case through the gate; a case she
  is taken off leaves the phone while its page is open; a family assessment
  pre-filled (family, round, the last round's answers and the growth item from
  the growth records, each marked until checked, the household's children),
  sent and stored as answered; a child and a family corrected, the child
  refused on the device until right, both stored as the next revision.
* A first pull whose link drops on a ``_changes`` request while batches wait:
  the app starts again and the device ends with every document (PouchDB's own
  retry lost 213 of 363 here).

Screenshots of the app (phone-sized, both languages) are taken along the way,
into docs/screenshots/fieldapp-*.png with FIELDSYNC_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import playwright.sync_api as playwright_api  # a test dependency: when missing, the run fails
import pytest
import requests
from servers import REPO, fieldsync_demo_server

from programmes import family_assessment
from programmes.nutrition import label as class_label
from schemas import compile_form
from sync import cases
from sync.demo import DEMO_PASSWORD
from sync.ids import feedback_id

CHROMIUM = "/usr/bin/chromium"
APP_DIST = REPO / "fieldapp" / "dist" / "index.html"
SHOTS = REPO / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
TES = {"latitude": 50.47, "longitude": 93.6, "accuracy": 12}
TIMEOUT = 60_000  # ms: the machine running the suite may be busy


@pytest.fixture(scope="module")
def server():
    if not APP_DIST.exists():
        pytest.fail("the field app is not built: run `make fieldapp` (make install does)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (make install installs Debian's chromium)")
    with fieldsync_demo_server() as peer:
        yield peer


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture()
def context(browser, shots):
    context = browser.new_context(viewport=PHONE, geolocation=TES, permissions=["geolocation"],
                                  service_workers="allow")
    context.set_default_timeout(TIMEOUT)
    context.shots_dir = shots
    yield context
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """docs/screenshots/ with FIELDSYNC_UPDATE_SCREENSHOTS=1 (as the web pages' tests), else a scratch folder."""
    if os.environ.get("FIELDSYNC_UPDATE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        return SHOTS
    return tmp_path_factory.mktemp("screenshots")


def shoot(page, name: str) -> None:
    folder = page.context.shots_dir
    page.screenshot(path=str(folder / f"fieldapp-{name}.png"), full_page=False)
    assert (folder / f"fieldapp-{name}.png").stat().st_size > 5000


def assert_tabs_fit(page, viewport: dict) -> None:
    """Every tab of the header, the inbox count included, lies whole on a ``viewport`` screen
    (the nav scrolls sideways where it does not, and a tab past the edge reads as missing)."""
    before = page.viewport_size
    page.set_viewport_size(viewport)
    try:
        edges = page.evaluate("""() => [...document.querySelectorAll('header nav a, header nav .badge')]
            .map(el => [el.id || el.className, el.getBoundingClientRect().right])""")
        nav = page.evaluate("() => { const n = document.querySelector('header nav');"
                            " return [n.scrollWidth, n.clientWidth]; }")
    finally:
        page.set_viewport_size(before)
    assert len(edges) == 5 and all(right <= viewport["width"] for _, right in edges), edges
    assert nav[0] <= nav[1], f"the tabs need {nav[0]} px, the screen has {nav[1]}"


def log_in(page, base: str, user: str = "bolormaa") -> None:
    page.goto(f"{base}/app/")
    page.fill("#login-name", user)
    page.fill("#login-password", DEMO_PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#form-list button[data-form=household_visit]")
    synced(page)


def wait_for(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not so after {timeout:.0f} s: {what}"
        time.sleep(0.2)


def synced(page) -> None:
    """Wait for a sync to have finished with nothing left to send."""
    try:
        page.wait_for_function(
            "() => document.querySelector('#last-sync')"
            " && !/never|хийгээгүй/.test(document.querySelector('#last-sync').textContent)"
            " && document.querySelector('#waiting-count').textContent === '0'"
            " && !/Syncing|Синк хийж/.test(document.querySelector('#sync-state').textContent)")
    except playwright_api.TimeoutError:
        raise AssertionError(f"no finished sync; the app shows: {page.locator('#sync-status').inner_text()!r}") from None


def use_english(page) -> None:
    if page.locator("#lang").inner_text().strip() == "English":
        page.click("#lang")
    page.wait_for_function("() => document.querySelector('#lang').textContent === 'Монгол'"
                           " && document.querySelector('main').textContent.length > 0"
                           " && !/Сүлжээ|Синк|Нүүр/.test(document.querySelector('#app').textContent)")


def question(page, name: str):
    return page.locator(f".q[data-name='{name}']").first


def errors_of(page, path: str) -> str:
    return page.locator(f".q[data-path='{path}'] > .errors").first.inner_text()


def camera_jpeg(page, path: Path) -> int:
    """A 4000x3000 JPEG of noise and shapes, the size of a phone camera's (3-4 MB), made by the browser."""
    data = page.evaluate("""() => new Promise((resolve) => {
        const c = document.createElement('canvas'); c.width = 4000; c.height = 3000;
        const g = c.getContext('2d'); const img = g.createImageData(4000, 3000);
        let s = 12345; for (let i = 0; i < img.data.length; i += 4) {
          s = (s * 1103515245 + 12345) & 0x7fffffff;
          img.data[i] = s & 255; img.data[i + 1] = (s >> 8) & 255; img.data[i + 2] = (s >> 16) & 255; img.data[i + 3] = 255; }
        g.putImageData(img, 0, 0); g.fillStyle = '#fff'; g.beginPath(); g.arc(2000, 1500, 900, Math.PI, 0); g.fill();
        c.toBlob((b) => { const r = new FileReader(); r.onload = () => resolve(r.result.split(',')[1]); r.readAsDataURL(b); },
                 'image/jpeg', 0.55); })""")
    raw = base64.b64decode(data)
    path.write_bytes(raw)
    return len(raw)


def jpeg_size(raw: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame marker."""
    i = 2
    while i < len(raw):
        marker, length = raw[i + 1], struct.unpack(">H", raw[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", raw[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no start-of-frame marker")


def household_form(page) -> None:
    page.click("#form-list button[data-form=household_visit]")
    page.wait_for_selector(".q[data-name=consent]")


def test_offline_trip_with_skip_logic_repeat_constraint_and_photo(server, context, tmp_path):
    base = server.root
    page = context.new_page()
    log_in(page, base)
    shoot(page, "home-mn")
    # The app's session is a device session (server/auth.py): it outlives a trip of weeks.
    [session] = [c for c in context.cookies() if c["name"] == "AuthSession"]
    assert session["expires"] - datetime.now().timestamp() > 80 * 86400, session
    # The password is kept nowhere on the phone: not in its storage, not in the replication's URL.
    kept = page.evaluate("""async () => {
        const parts = [JSON.stringify(Object.entries(localStorage))];
        for (const { name } of await indexedDB.databases()) {
            const db = await new Promise((ok, fail) => {
                const open = indexedDB.open(name);
                open.onsuccess = () => ok(open.result);
                open.onerror = () => fail(open.error);
            });
            for (const store of db.objectStoreNames) {
                const all = db.transaction(store).objectStore(store).getAll();
                parts.push(await new Promise((ok) => { all.onsuccess = () => ok(JSON.stringify(all.result)); }));
            }
            db.close();
        }
        return parts.join("\\n");
    }""")
    assert "global:form:household_visit" in kept  # the replica itself was read, not only names
    assert "bolormaa" in kept and DEMO_PASSWORD not in kept
    context.set_offline(True)
    page.wait_for_function("() => /Сүлжээгүй|Offline/.test(document.querySelector('#sync-state').textContent)")

    household_form(page)
    assert not question(page, "bag").is_visible()  # skip logic: nothing asked before consent
    question(page, "consent").locator("text=Тийм").click()
    assert question(page, "bag").is_visible()
    visit = (date.today() - timedelta(days=3)).isoformat()
    question(page, "visit_date").locator("input").fill(visit)
    question(page, "location").locator("button").click()
    page.wait_for_function("() => document.querySelector(\".q[data-name=location] .geo-value\").textContent.includes('50.47')")
    question(page, "bag").locator("input").fill("2-р баг")
    question(page, "head_name").locator("input").fill("Доржийн Батбаяр")
    question(page, "head_sex").locator("input[value=male]").check()
    question(page, "head_age").locator("input").fill("44")
    question(page, "dwelling").locator("input[value=ger]").check()
    question(page, "migration").locator("input[value=seasonal]").check()
    question(page, "household_size").locator("input").fill("1")
    for _ in range(2):
        page.locator(".q[data-name=members] .add-entry").click()
    members = page.locator(".q[data-name=members] .entry")
    assert members.count() == 2
    for i, (name, relation, sex, age) in enumerate([("Батбаяр", "head", "male", "44"), ("Сарангэрэл", "child", "female", "9")]):
        entry = members.nth(i)
        entry.locator(".q[data-name=member_name] input").fill(name)
        entry.locator(f".q[data-name=member_relation] input[value={relation}]").check()
        entry.locator(f".q[data-name=member_sex] input[value={sex}]").check()
        entry.locator(".q[data-name=member_age] input").fill(age)
    # Skip logic inside a repeat entry: in_school is asked of the 9-year-old only.
    assert not members.nth(0).locator(".q[data-name=in_school]").is_visible()
    assert members.nth(1).locator(".q[data-name=in_school]").is_visible()
    members.nth(1).locator(".q[data-name=in_school] input[value=yes]").check()
    # The constraint (. >= count(${members})) fails with the form's own Mongolian message, then passes.
    size = question(page, "household_size").locator("input")
    size.fill("1")
    assert "Доор бүртгэсэн гишүүдийн тооноос бага байна." in errors_of(page, "household_size")
    question(page, "household_size").scroll_into_view_if_needed()
    page.evaluate("() => window.scrollBy(0, -120)")
    shoot(page, "form-mn")
    size.fill("3")
    assert errors_of(page, "household_size").strip() == ""
    question(page, "herder").locator("input[value=no]").check()
    assert not question(page, "sheep").is_visible()
    question(page, "water_source").locator("input[value=well]").check()
    assert question(page, "water_distance_km").is_visible()
    question(page, "water_distance_km").locator("input").fill("2,5")
    question(page, "heating_fuel").locator("input[value=dung]").check()
    photo = tmp_path / "ger.jpg"
    original = camera_jpeg(page, photo)
    assert original > 2_500_000
    question(page, "dwelling_photo").locator("input[type=file]").set_input_files(str(photo))
    page.wait_for_selector(".q[data-name=dwelling_photo] img")
    kb = int(re.search(r"(\d+)", question(page, "dwelling_photo").locator("figcaption").inner_text()).group(1))
    assert 20 <= kb <= 400, kb
    page.wait_for_function("() => document.querySelector('#draft-saved').textContent !== ''")
    page.wait_for_timeout(800)  # the last change's draft save
    page.close()

    # The app starts again with the network off (service worker), and the draft is there.
    again = context.new_page()
    again.goto(f"{base}/app/")
    again.wait_for_selector("#draft-list a")
    assert again.locator("#sync-state").inner_text() in ("Сүлжээгүй", "Offline")
    again.click("#draft-list a")
    again.wait_for_selector(".q[data-name=consent]")
    assert again.locator(".q[data-name=members] .entry").count() == 2
    assert again.locator(".q[data-name=household_size] input").input_value() == "3"
    again.wait_for_selector(".q[data-name=dwelling_photo] img")
    use_english(again)
    again.locator(".q[data-name=members] .entry").nth(1).scroll_into_view_if_needed()
    shoot(again, "form-en")
    again.click("#send")
    again.wait_for_selector(".flash")
    assert again.locator("#waiting-count").inner_text() == "1"
    shoot(again, "home-en")

    console = []
    again.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    # The push's _bulk_docs bodies go gzipped (fieldapp/src/gzip_fetch.js): the server says it takes them.
    # The handler only keeps each request; their headers are read once the sync is done. all_headers()
    # waits for Chromium's raw headers, which Playwright has only with the response: called in the handler,
    # it held the append back until then, and a sync seen finished first left the list empty (a flaky test).
    bulk_docs = []

    def is_bulk_docs(request) -> bool:
        return request.method == "POST" and request.url.endswith("/_bulk_docs")

    again.on("request", lambda r: bulk_docs.append(r) if is_bulk_docs(r) else None)
    with again.expect_request(is_bulk_docs):  # and the first one's event has reached this side
        context.set_offline(False)
        again.click("#sync-now")  # and at once the Sync button: the live sync it replaces must not lose the count
        try:
            synced(again)
        except AssertionError as err:
            raise AssertionError(f"{err}; console: {console[-30:]}") from None

    pushed = [r.all_headers().get("content-encoding") for r in bulk_docs]
    assert "gzip" in pushed, pushed
    sent = again.locator("#sent-list a").first.get_attribute("href")
    subid = sent.split("/", 2)[2].replace("%3A", ":")
    area = subid.split(":")[0]
    admin = requests.Session()
    admin.auth = ("admin", DEMO_PASSWORD)
    doc = admin.get(f"{base}/db/{area}/{subid}").json()
    assert doc["author"] == "bolormaa" and doc["form"] == "household_visit" and doc["form_version"] == 1
    assert re.fullmatch(r"uvs-tes:sub:[0-9A-HJKMNP-TV-Z]{26}", subid)
    data = doc["data"]
    assert data["household_size"] == 3 and len(data["members"]) == 2 and data["water_distance_km"] == 2.5
    assert "in_school" not in data["members"][0] and data["members"][1]["in_school"] == "yes"
    assert "livestock" not in data and data["location"]["lat"] == 50.47
    definition = json.loads((REPO / "schemas" / "forms" / "household_visit.json").read_text(encoding="utf-8"))
    assert compile_form(definition).validate(data, doc.get("_attachments")) == []
    name = data["dwelling_photo"]
    att = doc["_attachments"][name]
    assert att["content_type"] == "image/jpeg"
    raw = admin.get(f"{base}/db/{area}/{subid}/{name}").content
    assert len(raw) == att["length"] < original // 8
    assert max(jpeg_size(raw)) == 1280


def test_refusal_in_mongolian_fixed_and_resent_then_a_review_arrives(server, context):
    base = server.root
    # The phone's clock runs half a year ahead: the visit date looks past to it, future to the server.
    ahead = datetime.now() + timedelta(days=200)
    context.clock.install(time=ahead)
    page = context.new_page()
    log_in(page, base, "ganzorig")
    household_form(page)
    question(page, "consent").locator("input[value=no]").check()
    future = (ahead.date() - timedelta(days=2)).isoformat()
    question(page, "visit_date").locator("input").fill(future)
    page.click("#send")
    page.wait_for_selector(".flash")
    page.click("#sync-now")
    page.wait_for_function("() => document.querySelector('#inbox-count').textContent === '1'")
    assert_tabs_fit(page, SMALL_PHONE)
    page.click("#nav-inbox")
    page.wait_for_selector("#inbox-list li[data-kind=feedback]")
    text = page.locator("#inbox-list li[data-kind=feedback]").inner_text()
    assert "Айлчилсан огноо ирээдүйд байж болохгүй." in text and "visit_date" in text
    shoot(page, "inbox-mn")
    subid = page.locator("#inbox-list li[data-kind=feedback]").get_attribute("data-about")

    page.click("#inbox-list li[data-kind=feedback] .fix")
    page.wait_for_selector(".refusal")
    question(page, "visit_date").locator("input").fill((date.today() - timedelta(days=1)).isoformat())
    page.click("#send")
    page.wait_for_selector(".flash")
    page.click("#sync-now")
    page.click("#nav-inbox")
    page.wait_for_function(
        "() => (document.querySelector('#inbox-list li[data-kind=feedback] .tag') || {className: ''})"
        ".className.includes('accepted')")
    admin = requests.Session()
    admin.auth = ("admin", DEMO_PASSWORD)
    area = subid.split(":")[0]
    doc = admin.get(f"{base}/db/{area}/{subid}").json()
    assert doc["_rev"].startswith("2-") and doc["data"]["visit_date"] == (date.today() - timedelta(days=1)).isoformat()
    store = server.open_store()
    try:
        from sync.gate.quarantine import Quarantine

        entries = [e for e in Quarantine(store).list(status=None) if e["doc_id"] == subid]
    finally:
        store.close()
    assert [e["status"] for e in entries] == ["superseded"]

    reviewer = requests.Session()
    reviewer.auth = ("oyunaa", DEMO_PASSWORD)
    comment = "Өрхийн гишүүдийн тоог шалгана уу."
    made = reviewer.post(f"{base}/api/reviews/{subid}", json={"status": "has_issues", "comment": comment})
    assert made.status_code == 201, made.text
    page.click("#sync-now")
    page.wait_for_selector("#inbox-list li[data-kind=review] .fix")
    review = page.locator("#inbox-list li[data-kind=review]").inner_text()
    assert comment in review and "Засах зүйлтэй" in review
    use_english(page)
    assert "Has issues" in page.locator("#inbox-list li[data-kind=review]").inner_text()
    shoot(page, "inbox-en")

    # Fixed from the review: the coordinator's list shows it edited, she approves, the inbox says so.
    page.click("#inbox-list li[data-kind=review] .fix")
    page.wait_for_selector("#send")
    question(page, "visit_date").locator("input").fill((date.today() - timedelta(days=2)).isoformat())
    page.click("#send")
    page.wait_for_selector(".flash")
    page.click("#sync-now")
    wait_for(lambda: reviewer.get(f"{base}/api/reviews/{subid}").json()["state"] == "edited",
             "the review shows the worker's edit")
    assert admin.get(f"{base}/db/{area}/{subid}").json()["_rev"].startswith("3-")
    approved = reviewer.post(f"{base}/api/reviews/{subid}", json={"status": "approved", "comment": "Баярлалаа."})
    assert approved.status_code == 201, approved.text
    page.click("#sync-now")
    page.click("#nav-inbox")
    page.wait_for_function(
        "() => /Approved/.test((document.querySelector('#inbox-list li[data-kind=review]') || {}).textContent)")
    row = page.locator("#inbox-list li[data-kind=review]")
    assert "Баярлалаа." in row.inner_text() and row.locator(".fix").count() == 0  # nothing to fix


def test_register_family_history_and_a_visit_started_from_it(server, context):
    base = server.root
    admin = requests.Session()
    admin.auth = ("admin", DEMO_PASSWORD)
    rows = admin.get(f"{base}/db/uvs-tes/_all_docs", params={"include_docs": "true"}).json()["rows"]
    families = [r["doc"] for r in rows if ":fam:" in r["id"]]
    visits = {}  # a visit names its family in a top-level answer (household_visit's family, family_assessment's family_id)
    for r in rows:
        if ":sub:" in r["id"]:
            for value in {v for v in r["doc"]["data"].values() if isinstance(v, str) and ":fam:" in v}:
                visits.setdefault(value, []).append(r["id"])
    family = max(families, key=lambda f: (len(visits.get(f["_id"], [])), f["_id"]))
    assert len(visits[family["_id"]]) >= 2 and len(families) >= 2

    page = context.new_page()
    log_in(page, base)
    page.click("#nav-registers")
    page.wait_for_selector("#register-list a.item")
    assert page.locator("#register-list a.item").count() == len(families)
    shoot(page, "register-mn")
    given = family["name"].split()[-1]
    page.fill("#register-search", given.lower())  # search folds case
    page.wait_for_function("(n) => document.querySelectorAll('#register-list a.item').length === n",
                           arg=sum(given.lower() in (f["name"] + " " + f["bag"]).lower() for f in families))
    page.click(f"#register-list a.item[data-id='{family['_id']}']")
    page.wait_for_selector("#visit-list a")
    assert page.locator("#entry-name").inner_text() == family["name"]
    listed = [a.get_attribute("href").split("/", 2)[2].replace("%3A", ":")
              for a in page.locator("#visit-list a").all()]
    assert sorted(listed) == sorted(visits[family["_id"]])
    shoot(page, "family-mn")

    # One visit, read with the form's own labels (in English after the switch).
    use_english(page)
    shoot(page, "family-en")
    household = json.loads((REPO / "schemas" / "forms" / "household_visit.json").read_text(encoding="utf-8"))
    page.locator("#visit-list a", has_text=household["title"]["en"]).first.click()
    page.wait_for_selector("dl.answers")
    answers = page.locator(".submission").inner_text()
    assert "Does the family agree to the visit?" in answers and "consent" not in answers
    assert page.locator("dd[data-name=family] a").inner_text() == family["name"]
    page.go_back()

    # A new visit from the family: its link is answered already. A growth visit is started from a child instead.
    page.wait_for_selector(".new-visit[data-form=household_visit]")
    assert page.locator(".new-visit[data-form=growth_visit]").count() == 0
    page.click(".new-visit[data-form=household_visit]")
    page.wait_for_selector(".q[data-name=family] select")
    assert question(page, "family").locator("select").input_value() == family["_id"]
    assert family["name"] in question(page, "family").locator("option:checked").inner_text()

    # A family not yet in the register: checked on the device, then stored and synced.
    page.goto(f"{base}/app/#/registers/family")
    page.wait_for_selector("#register-list a.item")
    page.fill("#register-search", "")
    page.click("#add-entry summary")
    page.fill("#entry-count", "4,5")
    page.click("#entry-save")
    assert page.locator("#entry-name-error").inner_text() == "Enter the name."
    assert page.locator("#entry-count-error").inner_text() == "Enter a whole number from 0 to 500."
    page.fill("#entry-name", "Очирын Болд")
    page.fill("#entry-bag", "3-р баг")
    page.fill("#entry-count", "4")
    page.click("#entry-save")
    page.wait_for_selector("#no-visits")
    assert page.locator("#entry-name").inner_text() == "Очирын Болд"
    new_id = page.evaluate("() => decodeURIComponent(location.hash.slice(6))")
    assert re.fullmatch(r"uvs-tes:fam:[0-9A-HJKMNP-TV-Z]{26}", new_id), new_id
    page.click("#sync-now")
    synced(page)
    stored = admin.get(f"{base}/db/uvs-tes/{new_id}").json()
    assert {k: stored.get(k) for k in ("type", "name", "bag", "members", "author")} == {
        "type": "family", "name": "Очирын Болд", "bag": "3-р баг", "members": 4, "author": "bolormaa"}
    page.click("#nav-registers")
    page.wait_for_selector(f"#register-list a.item[data-id='{new_id}']")
    shoot(page, "register-en")

    # The family's children: the register's child documents naming it, oldest first.
    kids = sorted((r["doc"] for r in rows if ":child:" in r["id"] and r["doc"].get("family") == family["_id"]),
                  key=lambda c: (c["dob"], c["name"]))
    assert kids, "the demo gives each family children"
    page.goto(f"{base}/app/#/reg/{family['_id']}")
    page.wait_for_selector("#child-list a.child-item")
    assert [a.get_attribute("data-id") for a in page.locator("#child-list a.child-item").all()] == [k["_id"] for k in kids]
    # A child's page: its growth visits (child_id = its key), newest first, with the server's classes in English.
    kid = kids[0]
    kid_key = kid["_id"].split(":", 2)[2]
    growth = sorted((r["doc"] for r in rows if ":sub:" in r["id"] and r["doc"]["data"].get("child_id") == kid_key),
                    key=lambda d: (d["data"]["visit_date"], d["created_at"], d["_id"]), reverse=True)
    assert growth
    page.click(f"#child-list a.child-item[data-id='{kid['_id']}']")
    page.wait_for_selector("#growth-list li.growth-visit .classes")
    assert page.locator("#entry-name").inner_text() == kid["name"]
    assert [li.get_attribute("data-id") for li in page.locator("#growth-list li.growth-visit").all()] == [d["_id"] for d in growth]
    newest = admin.get(f"{base}/db/uvs-tes/uvs-tes:derived:{growth[0]['_id'].split(':', 2)[2]}").json()["derived"]
    shown = {li.get_attribute("data-name"): li.inner_text()
             for li in page.locator("#growth-list li.growth-visit >> nth=0").locator(".classes li").all()}
    want = {n: f"{class_label(n, lang='en')}: {class_label(n, newest[n], 'en')}"
            for n in ("stunting", "wasting", "underweight", "weight_for_length", "muac_class", "acute_malnutrition")
            if newest.get(n)}
    assert shown == want
    assert page.locator("#growth-list .classes li").count() > 0
    page.evaluate("() => window.scrollTo(0, document.querySelector('#entry-name').getBoundingClientRect().top + scrollY - 150)")
    shoot(page, "child-en")

    # Offline, in Mongolian: a new child of the family, checked on the device as the server checks it.
    page.goto(f"{base}/app/#/reg/{family['_id']}")
    page.wait_for_selector("#children")
    page.click("#lang")
    page.wait_for_function("() => document.querySelector('#lang').textContent === 'English'"
                           " && document.querySelector('#add-child summary').textContent.includes('Хүүхэд бүртгэх')")
    context.set_offline(True)
    page.wait_for_function("() => /Сүлжээгүй/.test(document.querySelector('#sync-state').textContent)")
    page.click("#add-child summary")
    page.click("#child-save")
    assert page.locator("#child-name-error").inner_text() == "Хүүхдийн нэрийг бичнэ үү (ихдээ 200 тэмдэгт)."
    assert page.locator("#child-sex-error").inner_text() == "Хүйсийг сонгоно уу."
    assert page.locator("#child-dob-error").inner_text() == "Төрсөн огноо нь өнөөдрөөс хойш биш огноо байх ёстой."
    page.fill("#child-name", "  Батбаярын   Тэмүүлэн ")
    page.check("#child-sex-m")
    page.fill("#child-dob", (date.today() + timedelta(days=1)).isoformat())
    page.click("#child-save")
    assert page.locator("#child-dob-error").inner_text() == "Төрсөн огноо нь өнөөдрөөс хойш биш огноо байх ёстой."
    assert page.locator("#child-name-error").inner_text() == ""
    born = (date.today() - timedelta(days=400)).isoformat()
    page.fill("#child-dob", born)
    page.click("#child-save")
    page.wait_for_selector("#no-growth-visits")
    assert page.locator("#entry-name").inner_text() == "Батбаярын Тэмүүлэн"
    child_id = page.evaluate("() => decodeURIComponent(location.hash.slice(6))")
    assert re.fullmatch(r"uvs-tes:child:[0-9A-HJKMNP-TV-Z]{26}", child_id), child_id
    child_key = child_id.split(":", 2)[2]

    # A growth visit from the child's page: family, child and what the register knows are answered.
    page.click(".new-visit[data-form=growth_visit]")
    page.wait_for_selector(".q[data-name=child_id] select")
    assert question(page, "family").locator("select").input_value() == family["_id"]
    assert question(page, "child_id").locator("select").input_value() == child_key
    assert "Батбаярын Тэмүүлэн" in question(page, "child_id").locator("option:checked").inner_text()
    assert question(page, "child_name").locator("input").input_value() == "Батбаярын Тэмүүлэн"
    assert question(page, "dob").locator("input").input_value() == born
    assert question(page, "sex").locator("input[value=m]").is_checked()
    question(page, "visit_date").locator("input").fill((date.today() - timedelta(days=1)).isoformat())
    question(page, "dob_approximate").locator("input[value=no]").check()
    question(page, "weight_kg").locator("input").fill("7,4")
    question(page, "position").locator("input[value=l]").check()
    question(page, "lenhei_cm").locator("input").fill("72.5")
    question(page, "oedema").locator("input[value=no]").check()
    question(page, "muac_mm").locator("input").fill("112")
    page.click("#send")
    page.wait_for_selector(".flash")
    assert page.locator("#waiting-count").inner_text() == "2"  # the child and its visit
    context.set_offline(False)
    page.click("#sync-now")
    synced(page)

    stored_child = admin.get(f"{base}/db/uvs-tes/{child_id}").json()
    assert {k: stored_child.get(k) for k in ("type", "name", "sex", "dob", "family", "bag", "author")} == {
        "type": "child", "name": "Батбаярын Тэмүүлэн", "sex": "m", "dob": born, "family": family["_id"],
        "bag": family["bag"], "author": "bolormaa"}
    after = admin.get(f"{base}/db/uvs-tes/_all_docs", params={"include_docs": "true"}).json()["rows"]
    sent = [r["doc"] for r in after if ":sub:" in r["id"] and r["doc"].get("form") == "growth_visit"
            and r["doc"]["data"].get("child_id") == child_key]
    assert len(sent) == 1 and sent[0]["author"] == "bolormaa" and sent[0]["data"]["family"] == family["_id"]
    assert sent[0]["data"]["weight_kg"] == 7.4 and sent[0]["data"]["child_name"] == "Батбаярын Тэмүүлэн"
    derived = admin.get(f"{base}/db/uvs-tes/uvs-tes:derived:{sent[0]['_id'].split(':', 2)[2]}").json()
    assert derived["about_rev"] == sent[0]["_rev"] and derived["derived"]["acute_malnutrition"] == "sam"

    # The server's values come back with the sync: the child's page shows them in Mongolian.
    page.goto(f"{base}/app/#/reg/{child_id}")
    page.wait_for_selector(f"#growth-list li[data-id='{sent[0]['_id']}'] .classes")
    assert page.locator(".referral").inner_text() == class_label("referral_needed", lang="mn")
    acute = page.locator("#growth-list .classes li[data-name=acute_malnutrition]").inner_text()
    assert acute == f"{class_label('acute_malnutrition', lang='mn')}: {class_label('acute_malnutrition', 'sam', 'mn')}"
    page.evaluate("() => window.scrollTo(0, document.querySelector('#entry-name').getBoundingClientRect().top + scrollY - 150)")
    shoot(page, "child-mn")
    # The family's visit history has the growth visit too (it names the family).
    page.click("#child-family")
    page.wait_for_selector(f"#visit-list a[href$='{sent[0]['_id'].replace(':', '%3A')}']")
    use_english(page)


def _months(dob: str, day: date) -> int:
    born = date.fromisoformat(dob)
    return (day.year - born.year) * 12 + day.month - born.month - (day.day < born.day)


def _stored(admin, base: str, docid: str, check, what: str) -> dict:
    """The server's document once ``check`` holds for it (the push may still be under way)."""
    found = {}

    def ready() -> bool:
        found["doc"] = admin.get(f"{base}/db/uvs-tes/{docid}").json()
        return check(found["doc"])

    wait_for(ready, what)
    return found["doc"]


def test_cases_follow_up_assessment_prefill_and_a_child_corrected(server, context):
    """Cases on the worker's phone (overdue first), a follow-up recorded in Mongolian that reaches the
    server's case through the gate, a case she is taken off leaving the phone; a family assessment
    pre-filled from the last round and the growth records; a child corrected (refused until right)."""
    base = server.root
    today = date.today()
    admin = requests.Session()
    admin.auth = ("admin", DEMO_PASSWORD)
    rows = admin.get(f"{base}/db/uvs-tes/_all_docs", params={"include_docs": "true"}).json()["rows"]
    docs = [r["doc"] for r in rows]
    mine = [d for d in docs if d.get("type") == "case" and "bolormaa" in cases.members(d)]
    late = [d for d in mine if cases.overdue(d, today)]
    assert mine and late, "the demo gives bolormaa cases, one with an overdue follow-up"
    # A case she is only on the team of: the coordinator takes her off it below.
    team_only = cases.new_case("uvs-tes", "01KBTEAMONLY00000000000000", author="oyunaa", coordinator="oyunaa",
                               risk="medium", team=["bolormaa"], at=f"{today.isoformat()}T09:00:00.000Z",
                               data={"child_name": "CP-2026-900", "concerns": ["neglect"]})
    put = admin.put(f"{base}/db/uvs-tes/{team_only['_id']}", json=team_only)
    assert put.status_code == 201, put.text

    page = context.new_page()
    log_in(page, base)
    page.click("#nav-cases")
    page.wait_for_selector(f"#case-list a.case-item[data-id='{team_only['_id']}']")
    listed = [a.get_attribute("data-id") for a in page.locator("#case-list a.case-item").all()]
    assert sorted(listed) == sorted([d["_id"] for d in mine] + [team_only["_id"]])
    assert set(listed[:len(late)]) == {d["_id"] for d in late}  # overdue first, marked
    assert page.locator("#case-list a.case-item.overdue").count() == len(late)
    assert "хугацаа хэтэрсэн" in page.locator("#case-list a.case-item.overdue").first.inner_text()
    shoot(page, "cases-mn")

    # A follow-up visit, checked on the device, written as the case's next revision, synced through the gate.
    case = late[0]
    pending = next(n for n, v in enumerate(case["data"]["follow_ups"]) if not v.get("done_on"))
    page.click(f"#case-list a.case-item[data-id='{case['_id']}']")
    page.wait_for_selector("#case-code")
    assert page.locator("#case-code").inner_text() == case["data"]["child_name"]
    assert page.locator("#case-team").inner_text().split(", ") == list(dict.fromkeys([case["coordinator"], *case["team"]]))
    assert page.locator("#follow-up-list li.overdue").count() == len(cases.overdue(case, today))
    page.click("#record-follow-up summary")
    page.fill("#fu-date", (today + timedelta(days=1)).isoformat())
    page.click("#fu-save")
    assert page.locator("#fu-date-error").inner_text() == "Огноо өнөөдрөөс хойш байж болохгүй."
    assert page.locator("#fu-mode-error").inner_text() == "Айлчлалын хэлбэрийг сонгоно уу."
    page.select_option("#fu-planned", str(pending))
    page.fill("#fu-date", today.isoformat())
    page.check("#fu-mode-phone")
    page.fill("#fu-notes", "Ээжтэй утсаар ярьсан; хүүхэд сургуульдаа явж байна.")
    page.fill("#fu-next", (today + timedelta(days=14)).isoformat())
    page.click("#fu-save")
    page.wait_for_selector("#case-message")
    assert page.locator(f"#follow-up-list li[data-n='{pending}']").inner_text().count(today.isoformat()) == 1
    synced(page)
    stored = _stored(admin, base, case["_id"], lambda d: len(d["data"]["history"]) > len(case["data"]["history"]),
                     "the follow-up reached the server's case")
    assert stored["data"]["follow_ups"][pending] == {**case["data"]["follow_ups"][pending], "done_on": today.isoformat(),
                                                     "mode": "phone",
                                                     "notes": "Ээжтэй утсаар ярьсан; хүүхэд сургуульдаа явж байна."}
    assert stored["data"]["follow_ups"][-1] == {"due": (today + timedelta(days=14)).isoformat(), "done_on": None,
                                                "mode": "phone", "notes": ""}
    assert stored["data"]["history"][:-1] == case["data"]["history"]
    assert {k: stored["data"]["history"][-1][k] for k in ("by", "action")} == {"by": "bolormaa", "action": "follow_up_done"}
    assert stored["updated_by"] == "bolormaa" and stored["status"] == case["status"]
    assert admin.get(f"{base}/db/uvs-tes/{feedback_id(case['_id'])}").status_code == 404  # not refused
    use_english(page)
    page.wait_for_selector("#case-history")
    assert page.locator("#case-history li").last.inner_text().endswith("Follow-up visit done")
    page.locator("#follow-up-list").scroll_into_view_if_needed()
    shoot(page, "cases-en")

    # A visit recorded offline while the coordinator changed the case: the gate refuses it (the history is only
    # added to), the page shows the server's revision again, with the refusal and its reason.
    context.set_offline(True)
    page.wait_for_function("() => /Offline/.test(document.querySelector('#sync-state').textContent)")
    page.click("#record-follow-up summary")
    page.fill("#fu-date", today.isoformat())
    page.check("#fu-mode-visit")
    page.click("#fu-save")
    page.wait_for_selector("#case-message:has-text('Visit saved')")  # this save's (the first one's was in Mongolian)
    coordinated = cases.changed(admin.get(f"{base}/db/uvs-tes/{case['_id']}").json(), "oyunaa", "risk", risk="medium")
    put = admin.put(f"{base}/db/uvs-tes/{case['_id']}", json=coordinated)
    assert put.status_code == 201
    put_rev = put.json()["rev"]
    context.set_offline(False)
    page.click("#sync-now")
    page.wait_for_selector("#case-refusal")
    page.wait_for_function("() => document.querySelector('#case-risk').textContent === 'Medium'")
    assert "history is only added to" in page.locator("#case-refusal").inner_text()
    assert page.locator("#case-history li").last.inner_text().endswith("Risk changed · Risk: Medium")
    on_server = admin.get(f"{base}/db/uvs-tes/{case['_id']}", params={"conflicts": "true"}).json()
    assert on_server["_rev"] == put_rev and "_conflicts" not in on_server  # her refused revision is not stored
    page.click("#case-refusal-dismiss")
    page.wait_for_selector("#case-refusal", state="detached")

    # Taken off a case while offline with a visit of it unsent: the gate refuses the visit, the server's
    # tombstone takes the case off the phone all the same (her unsent edit would otherwise win), the open page says so.
    page.goto(f"{base}/app/#/case/{team_only['_id']}")
    page.wait_for_selector("#record-follow-up")
    context.set_offline(True)
    page.wait_for_function("() => /Offline/.test(document.querySelector('#sync-state').textContent)")
    page.click("#record-follow-up summary")
    page.fill("#fu-date", today.isoformat())
    page.check("#fu-mode-visit")
    page.click("#fu-save")
    page.wait_for_selector("#case-message")
    assert page.locator("#waiting-count").inner_text() == "1"
    current = admin.get(f"{base}/db/uvs-tes/{team_only['_id']}").json()
    off = cases.changed(current, "oyunaa", "team", team=[])
    assert off["former"] == ["bolormaa"]
    assert admin.put(f"{base}/db/uvs-tes/{team_only['_id']}", json=off).status_code == 201
    context.set_offline(False)
    page.click("#sync-now")
    page.wait_for_selector("#case-gone")
    assert admin.get(f"{base}/db/uvs-tes/{team_only['_id']}").json()["_rev"] != current["_rev"]  # hers not stored
    assert admin.get(f"{base}/db/uvs-tes/{team_only['_id']}").json()["team"] == []
    page.click("#nav-cases")
    page.wait_for_selector("#case-list")
    assert page.locator(f"#case-list a[data-id='{team_only['_id']}']").count() == 0
    assert page.locator("#case-list a.case-item").count() == len(mine)
    # The server writes no feedback about a case: the device kept the gate's reason, and the inbox shows it.
    page.click("#nav-inbox")
    refusal = page.locator(f"#inbox-list li[data-about='{team_only['_id']}']")
    assert "Only the case's team and its coordinator may change case" in refusal.inner_text()
    # The badge is counted when the sync bar is drawn again (a read of the device's store): waited for.
    page.wait_for_function("() => document.querySelector('#inbox-count').textContent === '1'")
    refusal.locator("#case-refusal-dismiss").click()
    page.wait_for_selector(f"#inbox-list li[data-about='{team_only['_id']}']", state="detached")
    synced(page)  # nothing left waiting: the refused visit is not counted as still to send

    # A family assessment from a family's page: pre-filled, each answer marked until checked.
    assessed = [d for d in docs if d.get("type") == "submission" and d.get("form") == "family_assessment"]
    family_id = max({d["data"]["family_id"] for d in assessed},
                    key=lambda f: (sum(1 for c in docs if c.get("type") == "child" and c.get("family") == f), f))
    family = next(d for d in docs if d["_id"] == family_id)
    last = max((d for d in assessed if d["data"]["family_id"] == family_id),
               key=lambda d: (d["data"]["date"], d["created_at"], d["_id"]))
    kids = sorted((d for d in docs if d.get("type") == "child" and d.get("family") == family_id),
                  key=lambda c: (c["dob"], c["name"]))
    young = [k for k in kids if _months(k["dob"], today) < 60]
    since = (today - timedelta(days=91)).isoformat()
    measured = [k for k in young if any(
        d.get("type") == "submission" and d.get("form") == "growth_visit" and d["data"].get("child_id") == k["_id"].split(":", 2)[2]
        and since <= d["data"].get("visit_date", "") <= today.isoformat() for d in docs)]
    growth_answer = "na" if not young else "yes" if len(measured) == len(young) else "no"
    page.click("#lang")  # back to Mongolian
    page.goto(f"{base}/app/#/reg/{family_id}")
    page.click(".new-visit[data-form=family_assessment]")
    page.wait_for_selector(".q[data-name=indicators] .entry")
    assert question(page, "family_id").locator("select").input_value() == family_id
    assert question(page, "round").locator("input[value=follow_up]").is_checked()
    assert [li.get_attribute("data-id") for li in page.locator("#household-list li").all()] == [k["_id"] for k in kids]
    codes = [i for i, *_ in family_assessment.DEFAULT_INDICATORS]
    before = {r["indicator"]: r for r in last["data"]["indicators"]}
    entries = page.locator(".q[data-name=indicators] .entry")
    assert entries.count() == len(codes)
    for n, code in enumerate(codes):
        assert page.locator(f"#f-indicators_{n}__indicator").input_value() == code
        answer = page.locator(f".q[data-path='indicators[{n}].answer']")
        want = growth_answer if code == "growth_monitored" else before[code]["answer"]
        assert answer.locator(f"input[value={want}]").is_checked(), code
        note = answer.locator(".prefilled").inner_text()
        assert note.startswith("Өсөлтийн бүртгэлээс" if code == "growth_monitored" else "Өмнөх үнэлгээнээс"), note
    if young:
        assert f"{len(measured)}/{len(young)} хүүхэд" in page.locator(".q[data-path='indicators[0].answer'] .prefilled").inner_text()
    question(page, "date").locator("input").fill(today.isoformat())
    question(page, "present").locator("input[value=mother]").check()
    page.locator(".q[data-name=indicators]").scroll_into_view_if_needed()
    shoot(page, "assessment-mn")
    page.click("#send")
    assert page.locator("#send-problems").inner_text().startswith("Урьдчилан бөглөсөн")
    assert page.locator(".flash").count() == 0
    # The worker changes one answer (its mark goes) and confirms the others one by one.
    changed = codes.index("home_garden")
    new_answer = "no" if before["home_garden"]["answer"] == "yes" else "yes"
    page.locator(f".q[data-path='indicators[{changed}].answer'] input[value={new_answer}]").check()
    assert page.locator(f".q[data-path='indicators[{changed}].answer'] .prefilled").is_hidden()
    use_english(page)
    page.wait_for_selector(".prefilled .confirm")
    assert "From the last round: check" in page.locator(".q[data-path='indicators[1].answer'] .prefilled").inner_text()
    page.locator(".q[data-name=indicators]").scroll_into_view_if_needed()
    shoot(page, "assessment-en")
    confirms = page.locator(".q.is-prefilled:not([hidden]) .prefilled:not([hidden]) .confirm")
    while confirms.count():
        confirms.first.click()
    page.click("#send")
    page.wait_for_selector(".flash")
    synced(page)
    sent = []
    wait_for(lambda: sent.extend(
        d["doc"] for d in admin.get(f"{base}/db/uvs-tes/_all_docs", params={"include_docs": "true"}).json()["rows"]
        if d["doc"].get("type") == "submission" and d["doc"].get("form") == "family_assessment"
        and d["doc"]["data"]["family_id"] == family_id
        and d["doc"]["data"]["date"] == today.isoformat()) or sent, "the assessment reached the server")
    answers = {r["indicator"]: r["answer"] for r in sent[0]["data"]["indicators"]}
    assert sent[0]["data"]["round"] == "follow_up" and answers["growth_monitored"] == growth_answer
    assert answers == {c: growth_answer if c == "growth_monitored" else new_answer if c == "home_garden"
                       else before[c]["answer"] for c in codes}
    assert admin.get(f"{base}/db/uvs-tes/{feedback_id(sent[0]['_id'])}").status_code == 404
    # Begun from the home page, the form is pre-filled once the family is chosen: from today's round now.
    page.click("#nav-home")
    page.click("#form-list button[data-form=family_assessment]")
    page.wait_for_selector(".q[data-name=family_id] select")
    assert page.locator(".q[data-name=indicators] .entry").count() <= 1
    question(page, "family_id").locator("select").select_option(family_id)
    page.wait_for_function("(n) => document.querySelectorAll('.q[data-name=indicators] .entry').length === n",
                           arg=len(codes))
    assert question(page, "round").locator("input[value=follow_up]").is_checked()
    changed_row = page.locator(f".q[data-path='indicators[{changed}].answer']")
    assert changed_row.locator(f"input[value={new_answer}]").is_checked()
    assert changed_row.locator(".prefilled").inner_text().startswith("From the last round")
    assert page.locator("#household-list li").count() == len(kids)

    # A child corrected: refused on the device until right, then the same document's next revision on the server.
    kid = kids[-1]
    page.goto(f"{base}/app/#/reg/{kid['_id']}")
    page.click("#edit-child summary")
    page.fill("#edit-child-name", "   ")
    page.fill("#edit-child-dob", (today + timedelta(days=1)).isoformat())
    page.click("#edit-child-save")
    page.wait_for_function("() => document.querySelector('#edit-child-name-error').textContent !== ''")  # checked after a read
    assert page.locator("#edit-child-name-error").inner_text() == "Enter the child's name (at most 200 characters)."
    assert page.locator("#edit-child-dob-error").inner_text() == "The birth date must be a date not after today."
    fixed_dob = (date.fromisoformat(kid["dob"]) - timedelta(days=3)).isoformat()
    page.fill("#edit-child-name", f"  {kid['name']}  Жаргал ")
    page.fill("#edit-child-dob", fixed_dob)
    page.check("#edit-child-sex-" + ("m" if kid["sex"] == "f" else "f"))
    page.click("#edit-child-save")
    page.wait_for_function("(name) => document.querySelector('#entry-name').textContent === name",
                           arg=f"{kid['name']} Жаргал")
    assert page.locator("#child-dob-value").inner_text() == fixed_dob
    page.evaluate("() => window.scrollTo(0, 0)")
    shoot(page, "child-edit-en")
    synced(page)
    corrected = _stored(admin, base, kid["_id"], lambda d: d.get("name") == f"{kid['name']} Жаргал",
                        "the corrected child reached the server")
    assert int(corrected["_rev"].split("-")[0]) == int(kid["_rev"].split("-")[0]) + 1
    assert {k: corrected.get(k) for k in ("dob", "sex", "family", "author", "created_at")} == {
        "dob": fixed_dob, "sex": "m" if kid["sex"] == "f" else "f", "family": family_id,
        "author": kid.get("author"), "created_at": kid.get("created_at")}
    assert admin.get(f"{base}/db/uvs-tes/{feedback_id(kid['_id'])}").status_code == 404
    # The family too: its household size corrected.
    page.goto(f"{base}/app/#/reg/{family_id}")
    page.click("#edit-entry summary")
    page.fill("#edit-count", "9")
    page.click("#edit-save")
    page.wait_for_selector("#edit-entry")
    synced(page)
    _stored(admin, base, family_id, lambda d: d.get("members") == 9 and d.get("name") == family["name"],
            "the corrected family reached the server")


def test_app_shell_is_served_with_its_service_worker_and_manifest(server):
    base = server.root
    page = requests.get(f"{base}/app/", timeout=30)
    assert page.status_code == 200 and 'rel="manifest"' in page.text
    assert requests.get(f"{base}/app/", headers={"If-None-Match": page.headers["ETag"]}, timeout=30).status_code == 304
    manifest = requests.get(f"{base}/app/manifest.webmanifest", timeout=30).json()
    assert manifest["display"] == "standalone" and {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    worker = requests.get(f"{base}/app/sw.js", timeout=30)
    assert worker.headers["Service-Worker-Allowed"] == "/app/" and "caches" in worker.text
    assert requests.get(f"{base}/app/missing.js", timeout=30).status_code == 404
    assert shutil.which("node")  # the same Node that builds the app runs its tests


def device_revs(page, user: str) -> dict[str, str]:
    """Every live document of the device's replica and its winning revision, read from IndexedDB
    (PouchDB's idb adapter keeps one metadata record per document)."""
    return page.evaluate("""async (name) => {
        const db = await new Promise((ok, fail) => {
            const open = indexedDB.open(`_pouch_fieldsync-${name}`);
            open.onsuccess = () => ok(open.result);
            open.onerror = () => fail(open.error);
        });
        const all = db.transaction('document-store').objectStore('document-store').getAll();
        const rows = await new Promise((ok) => { all.onsuccess = () => ok(all.result); });
        db.close();
        const out = {};
        for (const r of rows) {
            const m = typeof r.data === 'string' ? JSON.parse(r.data) : (r.data || r);
            const deleted = r.deletedOrLocal === '1' || m.deleted;
            if (!deleted && !String(m.id).startsWith('_local/')) out[m.id] = m.winningRev || m.rev;
        }
        return out;
    }""", user)


def test_a_pull_cut_short_while_batches_wait_resumes_without_a_gap(server, context):
    """A worker's first pull loses its link on a ``_changes`` request while the batch before it is
    still being fetched and two more wait: the app starts again and ends with every document.

    PouchDB 9 does not stop a replication that failed: it drops the waiting batches, but the
    batch in hand goes on and, once written, asks for changes past them and checkpoints past
    them. With PouchDB's own ``retry: true`` the device then never fetched those documents;
    the app cancels a failed run before it starts a new one (fieldapp/src/sync.js).
    """
    user = "ganzorig"
    expected = {r["id"]: r["value"]["rev"] for r in requests.get(
        f"{server.root}/sync/{user}/_all_docs", auth=(user, DEMO_PASSWORD)).json()["rows"]}
    assert len(expected) > 150, "the scenario needs four batches of 50 to pull"
    page = context.new_page()
    seen = {"changes": 0, "cut": 0}

    def changes(route):
        seen["changes"] += 1
        if seen["changes"] == 4:  # batches 2 and 3 wait while batch 1's _bulk_get is slow
            seen["cut"] += 1
            route.abort("connectionreset")
        else:
            route.continue_()

    def bulk_get(route):
        page.wait_for_timeout(1500 if seen["cut"] == 0 else 0)
        route.continue_()

    page.route(f"**/sync/{user}/_changes*", changes)
    page.route(f"**/sync/{user}/_bulk_get*", bulk_get)
    log_in(page, server.root, user)
    assert seen["cut"] == 1
    held = device_revs(page, user)
    missing = sorted(set(expected) - set(held))
    assert not missing, f"{len(missing)} of {len(expected)} documents never reached the device, e.g. {missing[:3]}"
    assert {i: held[i] for i in expected} == expected
