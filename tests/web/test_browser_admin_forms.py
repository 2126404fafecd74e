"""An admin brings a new form from a spreadsheet to a worker's device, in a real browser.

The admin uploads an XLSForm with a mistake in a skip condition and reads the
sheet, row and column of it (in English, then in Mongolian); fixes it, previews
the form in Mongolian, publishes it. A real PouchDB 9 replica of a worker in
Tes soum pulls the new version and a submission filled in it is accepted.
The admin then tries to republish a changed version 1 (refused with the
reason), publishes it as version 2 and reads the diff; exports the form's
submissions of Tes as XLSX and as a CSV zip headed in Mongolian (read back
with openpyxl and csv); the audit log shows both publications and both
exports under the admin's name. The pages are
photographed in both languages on the way.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
import requests
from browser import log_in, open_menu
from openpyxl import load_workbook
from playwright.sync_api import expect
from xlsforms import BAD_RELEVANT, SETTINGS, survey, xlsform

from sync import ids
from sync.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.interop, pytest.mark.browser]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORM = "water_point_b"


def upload(page, data: bytes, button: str) -> None:
    page.locator("#definition").set_input_files(files=[{"name": "water.xlsx", "mimeType": XLSX, "buffer": data}])
    page.get_by_role("button", name=button).click()


def problem_rows(page) -> list[list[str]]:
    rows = page.locator("section.problems tbody tr")
    return [[c.strip() for c in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())]


def test_an_admin_publishes_an_xlsform_and_a_worker_device_submits_to_it(site, chromium, screens, new_replica,
                                                                         tmp_path):
    settings = {**SETTINGS, "form_id": FORM}
    context = chromium.new_context(viewport={"width": 1024, "height": 700}, locale="en-US", accept_downloads=True)
    page = context.new_page()
    log_in(page, site.base, "admin", DEMO_PASSWORD)
    if page.locator("html").get_attribute("lang") != "en":  # the account may keep another language
        page.get_by_role("button", name="English").click()
    open_menu(page, "Forms")
    expect(page.get_by_role("heading", name="Forms and their versions")).to_be_visible()
    screens.take(page, "admin-forms-en")

    # A skip condition that ends where a value is expected: row 3 of the survey, column relevant.
    upload(page, xlsform(survey(BAD_RELEVANT), settings=settings), "Check and preview")
    expect(page.get_by_role("heading", name="water.xlsx was not stored: 1 problem to fix.")).to_be_visible()
    assert problem_rows(page) == [["survey", "3", "relevant",
                                   "relevant: expected a value but found end of expression (col 24)"]]
    screens.take(page, "admin-form-problems-en")

    page.get_by_role("button", name="Монгол").click()  # back to the list, in Mongolian
    expect(page.get_by_role("heading", name="Маягтууд ба тэдгээрийн хувилбарууд")).to_be_visible()
    screens.take(page, "admin-forms-mn")
    upload(page, xlsform(survey(BAD_RELEVANT), settings=settings), "Шалгаад урьдчилан харах")
    expect(page.get_by_role("heading", name="water.xlsx хадгалагдсангүй: засах 1 асуудал байна.")).to_be_visible()
    assert problem_rows(page) == [["survey", "3", "relevant",
                                   "relevant: утга байх ёстой газар илэрхийллийн төгсгөл байна (24-р тэмдэгт)"]]
    screens.take(page, "admin-form-problems-mn")
    assert requests.get(f"{site.base}/api/forms", auth=("admin", DEMO_PASSWORD)).json() and not [
        f for f in requests.get(f"{site.base}/api/forms", auth=("admin", DEMO_PASSWORD)).json() if f["form"] == FORM]

    # Fixed: the preview in Mongolian, with the skip condition in words.
    upload(page, xlsform(survey(), settings=settings), "Шалгаад урьдчилан харах")
    preview = page.locator(".preview")
    expect(preview).to_contain_text("Худаг байна уу?")
    expect(preview).to_contain_text("Бүтэн метрээр")
    expect(preview).to_contain_text("Татсан хувин")
    expect(preview.locator(".condition")).to_contain_text("Зөвхөн дараах үед асууна: «Худаг байна уу?» = 'yes'")
    screens.take(page, "admin-form-preview-mn")
    page.get_by_role("button", name="1-р хувилбарыг нийтлэх").click()
    expect(page.get_by_role("status")).to_contain_text(f"Нийтэллээ: {FORM}, 1-р хувилбар")

    # Bolormaa's device (Tes soum) pulls the new version and submits a visit to a well in it.
    device = new_replica()
    remote = site.replica("bolormaa", DEMO_PASSWORD)
    pulled = device.pull(remote)
    assert pulled["errors"] == [] and pulled["denied"] == [], pulled
    form = device.get(f"global:form:{FORM}:1")
    assert form["status"] == "published" and form["title"]["mn"] == "Усны цэг"
    docid = f"uvs-tes:sub:{ids.new_ulid()}"
    device.put({"_id": docid, "type": "submission", "form": FORM, "form_version": 1, "author": "bolormaa",
                "created_at": "2026-12-01T10:00:00+08:00",
                "data": {"has_well": "yes", "depth_m": 12, "buckets": [{"litres": 20}, {"litres": 15}]}})
    pushed = device.push(remote)
    assert pushed["errors"] == [] and pushed["denied"] == [] and pushed["result"]["docs_written"] == 1, pushed
    stored = requests.get(f"{site.base}/sync/bolormaa/{docid}", auth=("bolormaa", DEMO_PASSWORD))
    assert stored.status_code == 200 and stored.json()["data"]["depth_m"] == 12

    # Version 1 with a new question is refused; it goes out as version 2, and the diff says what changed.
    open_menu(page, "Маягтууд")
    rows = survey()
    rows.insert(2, {"type": "text", "name": "owner", "label::English (en)": "Owner", "label::Mongolian (mn)": "Эзэн"})
    rows[1]["label::English (en)"] = "Depth of the well (m)"
    upload(page, xlsform(rows, settings=settings), "Шалгаад урьдчилан харах")
    page.get_by_role("button", name="1-р хувилбарыг нийтлэх").click()
    expect(page.get_by_role("alert")).to_contain_text("нийтэлсэн хувилбар хэзээ ч өөрчлөгддөггүй")
    page.get_by_role("button", name="2-р хувилбараар нийтлэх").click()
    expect(page.get_by_role("status")).to_contain_text(f"Нийтэллээ: {FORM}, 2-р хувилбар")
    page.goto(f"{site.base}/web/admin/forms")
    versions = page.locator(f"section[aria-labelledby='form-{FORM}'] tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.nth(1).locator("td.num")).to_have_text("1")  # the device's submission to version 1
    versions.nth(0).get_by_role("link", name="1-р хувилбартай харьцуулах").click()
    expect(page.get_by_role("heading", name=re.compile("Нэмэгдсэн"))).to_be_visible()
    expect(page.locator("table[aria-labelledby=diff-added]")).to_contain_text("owner")
    expect(page.locator("table[aria-labelledby=diff-changed]")).to_contain_text("Depth of the well (m)")
    screens.take(page, "admin-form-diff-mn")

    page.get_by_role("button", name="English").click()  # leaves the admin's account in English
    expect(page.get_by_role("heading", name="Added (1)")).to_be_visible()
    screens.take(page, "admin-form-diff-en")
    page.goto(f"{site.base}/web/admin/forms/{FORM}/1")
    expect(page.get_by_role("heading", name="Retire")).to_be_visible()
    screens.take(page, "admin-form-version-en")
    page.get_by_role("button", name="Монгол").click()
    expect(page.get_by_role("heading", name="Зогсоох")).to_be_visible()
    screens.take(page, "admin-form-version-mn")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Retire")).to_be_visible()
    # The preview in English too: the spreadsheet checked again (nothing is stored by a preview).
    open_menu(page, "Forms")
    upload(page, xlsform(survey(), settings=settings), "Check and preview")
    expect(page.locator(".preview")).to_contain_text("Is there a well?")
    expect(page.locator(".preview")).to_contain_text("Buckets drawn")
    screens.take(page, "admin-form-preview-en")

    # The admin exports the new form's submissions of Tes (all versions), headed in Mongolian:
    # the workbook and the CSV zip open with the device's answers and Cyrillic intact.
    open_menu(page, "Exports")
    page.get_by_label("Form", exact=True).select_option(FORM)
    page.get_by_label("Tes soum").check()
    page.get_by_label("questions in Mongolian").check()
    page.get_by_label("Excel workbook (XLSX)").check()
    with page.expect_download() as got:
        page.get_by_role("button", name="Download").click()
    book = tmp_path / got.value.suggested_filename
    got.value.save_as(book)
    rows = list(load_workbook(book)[FORM].values)
    assert len(rows) == 2 and rows[1][0] == docid, rows
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Худаг байна уу?"] == "yes" and 12 in row.values(), row
    page.get_by_label("CSV files in a zip").check()
    with page.expect_download() as got:
        page.get_by_role("button", name="Download").click()
    archive = zipfile.ZipFile(io.BytesIO(got.value.path().read_bytes()))
    buckets = archive.read(f"{FORM}-buckets.csv")
    assert buckets.startswith(b"\xef\xbb\xbf")
    litres = [list(r.values())[-1] for r in csv.DictReader(io.StringIO(buckets.decode("utf-8-sig"), newline=""))]
    assert litres == ["20", "15"] and "Литр" in buckets.decode("utf-8-sig")  # the question, in Mongolian

    # The audit log names the admin for each publication (the refused one is not there) and export.
    page.goto(f"{site.base}/web/audit?who=admin&area=global")
    mine = page.locator("tbody tr").filter(has_text=f"global:form:{FORM}:")
    expect(mine).to_have_count(2)
    expect(mine.nth(0)).to_contain_text("Published a form")
    expect(mine.nth(0)).to_contain_text(f"global:form:{FORM}:2")
    expect(mine.nth(1)).to_contain_text(f"global:form:{FORM}:1")
    page.goto(f"{site.base}/web/audit?who=admin&area=uvs-tes")
    exports = page.locator("tbody tr").filter(has_text="Exported data").filter(has_text=FORM)
    expect(exports).to_have_count(2)  # the workbook and the zip
    context.close()
