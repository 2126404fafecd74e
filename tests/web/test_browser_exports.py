"""The export page in a real browser (Debian's chromium, Playwright): downloads that open with Cyrillic intact.

Oyunaa (Uvs aimag's coordinator) opens "Exports" from the menu, picks the household
visits of Tes with Mongolian headers, downloads the XLSX, then the CSV zip; both are
read back (openpyxl, csv) and compared with Tes's submissions in the server's store.
Then the de-identified case table of Tes (XLSX): its columns, one row per case of
the soum, no case's id in it. The page is photographed in English and Mongolian.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from browser import log_in, open_menu
from openpyxl import load_workbook
from playwright.sync_api import expect

from sync import cases
from sync.case_export import COLUMNS
from sync.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser]
TES = "uvs-tes"


def tes_visits(site) -> dict[str, dict]:
    svc = site.peer.services()
    try:
        return {r["id"]: r["doc"] for r in svc.store.open(TES).all_docs(include_docs=True)
                if r["doc"].get("type") == "submission" and r["doc"].get("form") == "household_visit"}
    finally:
        svc.store.close()


def test_a_coordinator_downloads_xlsx_and_csv_of_her_soum(site, chromium, screens, tmp_path):
    context = chromium.new_context(viewport={"width": 1024, "height": 700}, locale="en-US", accept_downloads=True)
    page = context.new_page()
    log_in(page, site.base, "oyunaa", DEMO_PASSWORD)
    open_menu(page, "Exports")
    expect(page.get_by_role("heading", name="Export submissions")).to_be_visible()
    expect(page.get_by_label("Kharkhorin soum")).to_have_count(0)  # another aimag's soum is not offered
    screens.take(page, "exports-en")

    page.get_by_role("button", name="Монгол").click()
    expect(page.get_by_role("heading", name="Илгээлт экспортлох")).to_be_visible()
    page.get_by_label("Маягт").select_option("household_visit")
    page.get_by_label("Тэс сум").check()
    page.get_by_label("асуулт монголоор").check()
    page.get_by_label("Excel ажлын ном (XLSX)").check()
    screens.take(page, "exports-mn")
    with page.expect_download() as got:
        page.get_by_role("button", name="Татах").click()
    book = tmp_path / got.value.suggested_filename
    got.value.save_as(book)
    assert book.suffix == ".xlsx"
    expected = tes_visits(site)
    sheet = load_workbook(book)["household_visit"]
    rows = list(sheet.values)
    header, body = rows[0], rows[1:]
    assert header[0] == "Илгээлтийн дугаар"
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert set(by_id) == set(expected)
    some = next(iter(expected.values()))
    assert by_id[some["_id"]]["Өрхийн тэргүүн / Овог нэр"] == some["data"]["head"]["head_name"]

    page.get_by_label("Zip доторх CSV файлууд").check()
    with page.expect_download() as got:
        page.get_by_role("button", name="Татах").click()
    archive = zipfile.ZipFile(io.BytesIO(got.value.path().read_bytes()))
    raw = archive.read("household_visit-members.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    members = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(members) == sum(len(d["data"]["members"]) for d in expected.values())
    assert {m["Нэр"] for m in members} == {m["member_name"] for d in expected.values() for m in d["data"]["members"]}

    page.get_by_label("Нутаг", exact=True).select_option(TES)
    page.get_by_label("XLSX (Excel), нэг хуудас").check()
    with page.expect_download() as got:
        page.get_by_role("button", name="Тохиолдлын хүснэгтийг авах").click()
    assert got.value.suggested_filename.endswith(".xlsx")
    rows = list(load_workbook(io.BytesIO(got.value.path().read_bytes())).active.values)
    svc = site.peer.services()
    try:
        tes_cases = cases.area_cases(svc.store.open(TES))
    finally:
        svc.store.close()
    assert list(rows[0]) == COLUMNS and len(rows) - 1 == len(tes_cases) > 0
    assert {r[1] for r in rows[1:]} == {TES}
    cells = {str(v) for r in rows[1:] for v in r}
    assert not cells & {c["_id"] for c in tes_cases} and not cells & {c["author"] for c in tes_cases}
    context.close()
