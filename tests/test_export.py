"""``fieldsync export``: a form's submissions as tables a coordinator opens in Excel."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from server.cli import main
from server.config import Settings
from server.services import Services
from sync.demo import seed_demo


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "data"
    svc = Services.build(Settings(data_dir=path))
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=12)
    svc.store.close()
    return path


def submissions_of(data, form: str, areas=None) -> list[dict]:
    svc = Services.build(Settings(data_dir=data))
    out = []
    for scope in svc.areas.tree().data_scopes(areas):
        for row in svc.store.open(scope).all_docs(include_docs=True):
            if row["doc"].get("form") == form:
                out.append(row["doc"])
    return out


def test_xlsx_has_one_row_per_submission_and_a_sheet_per_repeat(data, tmp_path):
    out = tmp_path / "visits.xlsx"
    result = CliRunner().invoke(main, ["export", "household_visit", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = submissions_of(data, "household_visit")
    wb = load_workbook(out, read_only=True)
    assert wb.sheetnames == ["household_visit", "household_visit-members"]
    rows = list(wb["household_visit"].values)
    header, body = rows[0], rows[1:]
    assert len(body) == len(expected)
    assert "head/head_name" in header and "livestock/sheep" in header
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    sample = expected[0]
    row = by_id[sample["_id"]]
    assert row["head/head_name"] == sample["data"]["head"]["head_name"]  # Cyrillic intact
    assert row["heating_fuel"] == " ".join(sample["data"]["heating_fuel"])
    assert row["location"].split()[:2] == [str(sample["data"]["location"]["lat"]),
                                           str(sample["data"]["location"]["lon"])]
    members = list(wb["household_visit-members"].values)
    assert sum(1 for r in members[1:] if r[0] == sample["_id"]) == len(sample["data"]["members"])


def test_csv_for_one_aimag_only(data, tmp_path):
    out = tmp_path / "growth.csv"
    result = CliRunner().invoke(main, ["export", "child_growth", "--area", "uvs", "--data", str(data),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    expected = submissions_of(data, "child_growth", ["uvs"])
    assert sorted(r["_id"] for r in rows) == sorted(d["_id"] for d in expected)
    assert {r["area"] for r in rows} <= {"uvs-tes", "uvs-naranbulag", "uvs-zavkhan"}
    assert (tmp_path / "growth-vaccinations.csv").exists()


def test_an_unknown_form_is_one_clear_error(data, tmp_path):
    result = CliRunner().invoke(main, ["export", "no_such_form", "--data", str(data),
                                       "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert "no form 'no_such_form'" in result.output
    assert not (tmp_path / "x.csv").exists()
