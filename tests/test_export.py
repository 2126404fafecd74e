"""``fieldsync export``: a form's submissions as tables a coordinator opens in Excel."""

from __future__ import annotations

import copy
import csv
import io
import random
import zipfile

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from server.cli import main
from server.config import Settings
from server.services import Services
from sync.audit import Audit
from sync.demo import household_visit, seed_demo, submission
from sync.docs import check_doc
from sync.export import build_tables


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


@pytest.mark.parametrize(("out", "extra", "says"), [
    ("visits.json", [], "visits.json does not end in .csv, .xlsx or .zip"),
    ("visits.xlsx", ["--format", "csv"], "visits.xlsx ends in .xlsx but --format is csv"),
    ("visits.csv", ["--format", "xlsx"], "visits.csv ends in .csv but --format is xlsx"),
    ("visits.csv", ["--photos"], "photos are written into a zip archive; name the file visits.zip"),
    ("visits.zip", ["--format", "xlsx"], "an XLSX export without photos is one file; name it visits.xlsx"),
    ("visits.csv", ["--from", "2026-9-1"], "dates are written as YYYY-MM-DD"),
])
def test_an_out_file_or_option_that_does_not_fit_is_refused_before_anything_is_written(data, tmp_path, out,
                                                                                        extra, says):
    result = CliRunner().invoke(main, ["export", "household_visit", "--data", str(data),
                                       "--out", str(tmp_path / out), *extra])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_zip_with_dates_and_mongolian_headers(data, tmp_path):
    out = tmp_path / "early.zip"
    result = CliRunner().invoke(main, ["export", "household_visit", "--data", str(data), "--from", "2026-09-03",
                                       "--to", "2026-09-07", "--labels", "mn", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == ["household_visit.csv", "household_visit-members.csv"]
        rows = list(csv.DictReader(io.StringIO(archive.read("household_visit.csv").decode("utf-8-sig"))))
    expected = [d for d in submissions_of(data, "household_visit") if "2026-09-03" <= d["created_at"][:10] <= "2026-09-07"]
    assert expected and sorted(r["Илгээлтийн дугаар"] for r in rows) == sorted(d["_id"] for d in expected)
    assert [p.name for p in tmp_path.iterdir()] == ["early.zip"]  # no .part left behind
    svc = Services.build(Settings(data_dir=data))
    entry = next(e for e in Audit(svc.store).entries("uvs-tes") if e.get("file") == "early.zip")
    assert (entry["actor"], entry["action"], entry["rows"]) == ("cli", "export.downloaded", len(expected))
    assert entry["filters"]["from"] == "2026-09-03" and entry["filters"]["labels"] == "mn"
    svc.store.close()


def test_all_versions_export_together_under_the_newest_columns(tmp_path):
    svc = Services.build(Settings(data_dir=tmp_path / "data"))
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=3)
    v1 = svc.forms.get("household_visit", 1)
    v2 = {k: v for k, v in v1.items() if not k.startswith("_") and k not in ("type", "updated_at", "published_at",
                                                                              "status")}
    v2 = copy.deepcopy(v2) | {"version": 2}
    v2["fields"] = [f for f in v2["fields"] if f["name"] != "bag"]  # asked in version 1 only
    v2["fields"].append({"name": "road_access", "type": "text", "label": {"en": "Road access", "mn": "Зам"}})
    svc.forms.publish(v2)
    db = svc.store.open("uvs-tes")
    new = submission("uvs-tes:sub:01JZZZZZZZZZZZZZZZZZZZZZZZ", "household_visit", "bolormaa",
                     household_visit(random.Random(3)) | {"road_access": "Хатуу хучилттай"},
                     "2026-11-01T10:00:00+08:00")
    new["form_version"] = 2
    del new["data"]["bag"]
    db.bulk_docs([check_doc(new, new_edits=True)])

    [main_table, *_] = build_tables(svc.store, "household_visit", areas=["uvs-tes"])
    cols = main_table.columns
    assert cols.index("road_access") < cols.index("bag")  # the newest version's columns lead, then older ones
    rows = {r[0]: dict(zip(cols, r, strict=True)) for r in main_table.rows}
    assert rows[new["_id"]]["road_access"] == "Хатуу хучилттай" and rows[new["_id"]]["bag"] == ""
    old = next(r for k, r in rows.items() if k != new["_id"])
    assert old["bag"] and old["road_access"] == "" and old["form_version"] == 1
    [only_v1, *_] = build_tables(svc.store, "household_visit", version=1, areas=["uvs-tes"])
    assert "road_access" not in only_v1.columns and new["_id"] not in {r[0] for r in only_v1.rows}
    svc.store.close()
