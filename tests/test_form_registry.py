"""Form versions in the ``global`` scope: publish, edit drafts, retire, list.

A published version never changes (devices may hold submissions against it
for weeks): publishing the same content again does nothing, and different
content under the same number is refused with the number to use instead.
Drafts may change freely and are never used to accept submissions. Retiring
keeps accepting submissions for a grace period. Admins do all this from the
command line too, with JSON definitions or XLSForm spreadsheets.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import openpyxl
import orjson
import pytest
from click.testing import CliRunner

from schemas import FormDefinitionError, bundled_forms, submission_deadline
from server.cli import main
from server.config import Settings
from server.services import Services
from sync.clock import parse_iso
from sync.errors import BadRequest, Conflict, NotFound
from sync.forms import FormRegistry, definition_of

EN, MN = "label::English (en)", "label::Mongolian (mn)"


@pytest.fixture
def data(tmp_path, monkeypatch):
    # The CLI writes --data into the environment; keep that change inside the test.
    monkeypatch.setenv("FIELDSYNC_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def svc(data):
    services = Services.build(Settings(data_dir=data))
    yield services
    services.store.close()


def household_visit(version: int = 1, **changes) -> dict:
    form = copy.deepcopy(next(f for f in bundled_forms() if f["form"] == "household_visit"))
    return {**form, "version": version, **changes}


def global_state(svc):
    db = svc.store.open("global")
    return db.update_seq(), {r["id"]: r["value"]["rev"] for r in db.all_docs()}


# -- publishing ------------------------------------------------------------------------------


def test_a_published_version_is_a_document_of_the_global_scope(svc):
    doc = svc.forms.publish(household_visit())

    assert doc["_id"] == "global:form:household_visit:1"
    stored = svc.store.open("global").get(doc["_id"])
    assert stored["_rev"] == doc["_rev"]
    assert (stored["type"], stored["status"]) == ("form", "published")
    assert stored["published_at"]
    assert definition_of(stored)["fields"] == household_visit()["fields"]
    assert svc.forms.get("household_visit", 1)["_rev"] == doc["_rev"]


def test_publishing_the_same_content_again_changes_nothing(svc):
    first = svc.forms.publish(household_visit())
    before = global_state(svc)
    again = svc.forms.publish(household_visit())
    assert again["_rev"] == first["_rev"]
    assert global_state(svc) == before


def test_a_published_version_never_changes(svc):
    svc.forms.publish(household_visit())
    changed = household_visit(title={"en": "Home visit", "mn": "Айлын судалгаа"})
    before = global_state(svc)

    with pytest.raises(Conflict) as caught:
        svc.forms.publish(changed)
    assert caught.value.reason == (
        "Version 1 of form 'household_visit' is already published; publish it as version 2")
    with pytest.raises(Conflict, match="publish it as version 2"):
        svc.forms.publish(changed, status="draft")  # nor can it go back to being a draft
    assert global_state(svc) == before

    svc.forms.publish({**changed, "version": 2})
    with pytest.raises(Conflict, match="publish it as version 3"):
        svc.forms.publish({**changed, "version": 1})


def test_a_draft_can_change_until_it_is_published(svc):
    draft = svc.forms.publish(household_visit(2), status="draft")
    assert draft["status"] == "draft" and "published_at" not in draft

    edited = svc.forms.publish(household_visit(2, title={"en": "Home visit", "mn": "Айлын судалгаа"}),
                               status="draft")
    assert edited["_id"] == draft["_id"] and edited["_rev"] != draft["_rev"]
    assert svc.forms.get("household_visit", 2)["title"]["en"] == "Home visit"

    published = svc.forms.publish(household_visit(2, title={"en": "Home visit", "mn": "Айлын судалгаа"}))
    assert published["status"] == "published" and published["published_at"]
    with pytest.raises(Conflict):
        svc.forms.publish(household_visit(2), status="draft")


def test_an_invalid_definition_is_refused_with_every_problem(svc):
    bad = {"form": "Bad Name", "version": 0, "title": {"en": "X"},
           "fields": [{"name": "a", "type": "bogus"}, {"name": "b", "type": "select_one", "list_name": "none"}]}
    with pytest.raises(FormDefinitionError) as caught:
        svc.forms.publish(bad)
    assert {p["path"] for p in caught.value.problems} == {
        "form", "version", "fields[0].type", "fields[1].label", "fields[1].list_name"}
    assert list(svc.forms.all()) == []


# -- retiring and listing ---------------------------------------------------------------------


def test_retiring_a_version_keeps_a_grace_period(svc):
    svc.forms.publish(household_visit(1))
    svc.forms.publish(household_visit(2))

    [retired] = svc.forms.retire("household_visit", 1, grace_days=10)

    assert (retired["version"], retired["status"], retired["grace_days"]) == (1, "retired", 10)
    stored = svc.forms.get("household_visit", 1)
    assert stored["status"] == "retired"
    assert submission_deadline(definition_of(stored)) == parse_iso(stored["retired_at"]) + timedelta(days=10)
    assert svc.forms.get("household_visit", 2)["status"] == "published"  # only the version named
    assert definition_of(stored)["fields"] == household_visit()["fields"]  # its questions never change

    with pytest.raises(NotFound, match="no published version of form 'household_visit' v1"):
        svc.forms.retire("household_visit", 1)
    with pytest.raises(BadRequest, match="negative"):
        svc.forms.retire("household_visit", grace_days=-1)
    with pytest.raises(Conflict, match="already retired"):
        svc.forms.publish(household_visit(1))


def test_retiring_a_form_retires_every_published_version(svc):
    svc.forms.publish(household_visit(1))
    svc.forms.publish(household_visit(2))
    svc.forms.publish(household_visit(3), status="draft")
    retired = svc.forms.retire("household_visit")
    assert sorted(d["version"] for d in retired) == [1, 2]
    assert svc.forms.get("household_visit", 3)["status"] == "draft"
    with pytest.raises(NotFound):
        svc.forms.retire("sheep_census")


def test_versions_are_listed_and_numbered(svc):
    assert svc.forms.next_version("household_visit") == 1
    for form in bundled_forms():
        svc.forms.publish(form)
    svc.forms.publish(household_visit(2), status="draft")

    assert [(d["form"], d["version"]) for d in svc.forms.versions("household_visit")] == [
        ("household_visit", 1), ("household_visit", 2)]
    assert len(list(svc.forms.all())) == len(bundled_forms()) + 1
    assert svc.forms.next_version("household_visit") == 3
    assert svc.forms.get("household_visit", 9) is None


def test_another_app_server_sees_a_new_version_at_once(svc):
    other = FormRegistry(svc.store)  # a second server on the same store, with its own cache
    assert other.get("household_visit", 1) is None
    svc.forms.publish(household_visit())
    assert other.get("household_visit", 1)["status"] == "published"
    svc.forms.retire("household_visit", grace_days=0)
    assert other.get("household_visit", 1)["status"] == "retired"


def test_a_version_its_remembered_list_lacks_is_read_by_id(svc):
    """A server keeping its form list for a minute (on a CouchDB cluster the list can also come
    from a copy without the newest write) still finds a version published a moment ago: a
    page labelling a submission of it asks for it by name and version."""
    remembering = FormRegistry(svc.store, cache_seconds=60)
    assert "household_visit:1" not in " ".join(remembering.snapshot())  # read now, kept for a minute
    svc.forms.publish(household_visit())
    assert remembering.get("household_visit", 1)["status"] == "published"
    assert "household_visit:1" in " ".join(remembering.snapshot())  # and the list is read again
    assert remembering.get("household_visit", 2) is None


def test_an_app_server_compiles_the_published_versions_as_it_starts(svc):
    """The first pushed batch after a start must not wait for compiling: warm()
    compiles what may be submitted against (published), not drafts or retired versions."""
    for form in bundled_forms():
        svc.forms.publish(form)
    svc.forms.publish(household_visit(2), status="draft")
    svc.forms.retire("child_growth", grace_days=30)
    fresh = FormRegistry(svc.store)  # as a new worker process finds the store
    assert fresh.warm() == len(bundled_forms()) - 1
    assert {key[0] for key in fresh._validators} == {
        f"global:form:{f['form']}:1" for f in bundled_forms() if f["form"] != "child_growth"}


# -- the command line -------------------------------------------------------------------------


def fieldsync(*args: str):
    return CliRunner().invoke(main, list(args))


def write_json(path, definition: dict):
    path.write_bytes(orjson.dumps(definition))
    return str(path)


def write_xlsform(path, survey: list[dict], choices: list[dict], settings: dict) -> str:
    """An .xlsx as an admin makes it: survey, choices and settings sheets."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in (("survey", survey), ("choices", choices), ("settings", [settings])):
        sheet = book.create_sheet(title)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(c) for c in columns])
    book.save(path)
    return str(path)


GER_CENSUS = {
    "survey": [
        {"type": "integer", "name": "gers", EN: "Gers in the camp", MN: "Хотайлын гэрийн тоо",
         "required": "yes", "constraint": ". >= 1"},
        {"type": "select_one fuel", "name": "fuel", EN: "Main fuel", MN: "Гол түлш", "required": "yes"},
        {"type": "text", "name": "notes", EN: "Notes", MN: "Тэмдэглэл"},
    ],
    "choices": [
        {"list_name": "fuel", "name": "dung", EN: "Dung", MN: "Аргал"},
        {"list_name": "fuel", "name": "wood", EN: "Wood", MN: "Мод"},
    ],
    "settings": {"form_id": "ger_census", "version": "1", "form_title": "Ger census",
                 "form_title::Mongolian (mn)": "Гэрийн тооллого", "default_language": "English (en)"},
}


def test_form_validate_prints_every_problem_and_fails(tmp_path):
    bad = write_json(tmp_path / "bad.json", {
        "form": "Bad Name", "version": 0, "title": {"en": "X"},
        "fields": [{"name": "a", "type": "bogus"}, {"name": "b", "type": "select_one", "list_name": "none"}]})
    result = fieldsync("form", "validate", bad)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: the form definition is invalid:",
        "  form: A form id is 1 to 64 of a-z, 0-9, _ and -.",
        "  version: Versions are whole numbers from 1.",
        "  fields[0].type: Unknown type 'bogus'; use one of: text, integer, decimal, date, datetime, "
        "select_one, select_multiple, geopoint, image, note, group, repeat.",
        "  fields[1].label: A label is required, in every language of the form.",
        "  fields[1].list_name: There is no choice list 'none' in the form's choices.",
    ]

    not_json = tmp_path / "broken.json"
    not_json.write_text("{ not json")
    broken = fieldsync("form", "validate", str(not_json))
    assert broken.exit_code == 1 and "broken.json is not valid JSON" in broken.stderr

    good = fieldsync("form", "validate", write_json(tmp_path / "hv.json", household_visit()))
    assert good.exit_code == 0
    assert good.output == "OK: household_visit v1 (22 top-level fields)\n"


def test_an_invalid_xlsform_is_reported_row_by_row(tmp_path):
    survey = [*GER_CENSUS["survey"], {"type": "calculate", "name": "total", "calculation": "${gers} * 2"}]
    path = write_xlsform(tmp_path / "bad.xlsx", survey, GER_CENSUS["choices"], GER_CENSUS["settings"])
    result = fieldsync("form", "validate", path)
    assert result.exit_code == 1
    assert "Error: the form definition is invalid:" in result.stderr
    assert "survey row 5" in result.stderr
    assert "calculated values are not recomputed on the server" in result.stderr


def test_form_publish_list_and_retire_from_the_command_line(tmp_path, data, svc):
    hv = write_json(tmp_path / "hv.json", household_visit())
    census = write_xlsform(tmp_path / "census.xlsx", **GER_CENSUS)
    assert fieldsync("form", "validate", census).output == "OK: ger_census v1 (3 top-level fields)\n"
    assert fieldsync("form", "list", "--data", str(data)).output == (
        "No forms yet. Publish one with: fieldsync form publish FILE\n")

    published = fieldsync("form", "publish", hv, census, "--data", str(data))
    assert published.exit_code == 0, published.output
    assert published.output == (
        "published: household_visit v1  (global:form:household_visit:1)\n"
        "published: ger_census v1  (global:form:ger_census:1)\n")
    assert fieldsync("form", "publish", hv, "--data", str(data)).exit_code == 0  # same content: fine

    draft = write_json(tmp_path / "hv2.json", household_visit(2))
    assert fieldsync("form", "publish", "--draft", draft, "--data", str(data)).output == (
        "draft: household_visit v2  (global:form:household_visit:2)\n")

    changed = write_json(tmp_path / "hv-changed.json", household_visit(title={"en": "Visit", "mn": "Айл"}))
    refused = fieldsync("form", "publish", changed, "--data", str(data))
    assert refused.exit_code == 1
    assert refused.stderr == ("Error: Version 1 of form 'household_visit' is already published; "
                              "publish it as version 3\n")

    retired = fieldsync("form", "retire", "ger_census", "--grace-days", "5", "--data", str(data))
    assert retired.output == "retired: ger_census v1 (accepting for 5 more days)\n"
    missing = fieldsync("form", "retire", "sheep_census", "--data", str(data))
    assert missing.exit_code == 1 and missing.stderr == "Error: no published version of form 'sheep_census'\n"

    audit = [(e["action"], e["actor"], e["form"], e["version"]) for e in svc.audit.entries("global")]
    assert audit == [("form.retired", "cli", "ger_census", 1), ("form.drafted", "cli", "household_visit", 2),
                     ("form.published", "cli", "ger_census", 1), ("form.published", "cli", "household_visit", 1)]

    rows = [line.split() for line in fieldsync("form", "list", "--data", str(data)).output.splitlines()]
    assert [row[:3] for row in rows] == [
        ["ger_census", "v1", "retired"], ["household_visit", "v1", "published"],
        ["household_visit", "v2", "draft"]]

    # The spreadsheet's rules now decide which submissions are stored (within the grace period).
    census_sub = {"type": "submission", "form": "ger_census", "form_version": 1, "author": "bolormaa",
                  "created_at": "2026-10-05T10:00:00+08:00", "data": {"gers": 3, "fuel": "dung"}}
    assert svc.forms.check_submission(census_sub) == []
    assert svc.forms.check_submission({**census_sub, "data": {"gers": 0, "fuel": "coal"}}) == [
        {"field": "gers", "message": "This answer breaks a rule of the form."},
        {"field": "fuel", "message": "'coal' is not one of the choices; choose one of: dung, wood."},
    ]
