"""The administrative tree: aimag > soum > bag, and city > district > khoroo.

Areas are ``global:area:<code>`` documents of the ``global`` scope (so every
device knows the tree); an area that holds data is also a scope of its own.
Whoever is assigned an area covers everything below it: a coordinator of an
aimag covers its soums. A CSV import is checked whole before anything is
written, so a bad file changes nothing. Everything here runs against real
SQLite files in ``tmp_path``; the command line runs in-process through click.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from server.cli import main
from sync.accounts.access import Access
from sync.accounts.users import User
from sync.areas import AreaRegistry
from sync.errors import BadRequest, Conflict, NotFound
from sync.forms import FormRegistry
from sync.scopes import GLOBAL
from sync.stores.sqlite import SQLiteStore


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "data")


@pytest.fixture
def areas(store: SQLiteStore) -> AreaRegistry:
    return AreaRegistry(store)


def mongolia(areas: AreaRegistry) -> None:
    """Two branches of the real tree: Uvs aimag and Ulaanbaatar."""
    areas.add("uvs", name_en="Uvs aimag", name_mn="Увс аймаг", level="aimag")
    areas.add("uvs-tes", name_en="Tes soum", name_mn="Тэс сум", parent="uvs", level="soum", holds_data=True)
    areas.add("uvs-tes-1", name_en="Tes 1st bag", parent="uvs-tes", level="bag")
    areas.add("uvs-naranbulag", name_en="Naranbulag soum", parent="uvs", level="soum", holds_data=True)
    areas.add("ub", name_en="Ulaanbaatar", name_mn="Улаанбаатар", level="city")
    areas.add("ub-bzd", name_en="Bayanzürkh district", parent="ub", level="district")
    areas.add("ub-bzd-1", name_en="Bayanzürkh 1st khoroo", parent="ub-bzd", level="khoroo", holds_data=True)


def area_codes(store: SQLiteStore) -> set[str]:
    """Area codes read straight from the global scope, not through the registry."""
    rows = store.open(GLOBAL).all_docs(startkey="global:area:", endkey="global:area:\uffff")
    return {row["id"].removeprefix("global:area:") for row in rows}


# -- the tree -------------------------------------------------------------------------------


def test_each_area_is_a_document_of_the_global_scope(areas: AreaRegistry, store: SQLiteStore) -> None:
    mongolia(areas)
    doc = store.open(GLOBAL).get("global:area:uvs-tes")
    assert doc["type"] == "area"
    assert doc["name"] == {"en": "Tes soum", "mn": "Тэс сум"}
    assert (doc["parent"], doc["level"], doc["holds_data"]) == ("uvs", "soum", True)
    assert area_codes(store) == {"uvs", "uvs-tes", "uvs-tes-1", "uvs-naranbulag", "ub", "ub-bzd", "ub-bzd-1"}


def test_the_tree_has_roots_and_sorted_children(areas: AreaRegistry) -> None:
    mongolia(areas)
    tree = areas.tree()
    assert tree.roots() == ["ub", "uvs"]
    assert tree.children["uvs"] == ["uvs-naranbulag", "uvs-tes"]
    assert tree.children["uvs-tes"] == ["uvs-tes-1"]
    assert tree.children["ub"] == ["ub-bzd"] and tree.children["ub-bzd"] == ["ub-bzd-1"]


def test_only_areas_that_hold_data_are_scopes(areas: AreaRegistry, store: SQLiteStore) -> None:
    mongolia(areas)
    assert areas.tree().data_scopes() == ["ub-bzd-1", "uvs-naranbulag", "uvs-tes"]
    assert all(store.exists(code) for code in ("uvs-tes", "uvs-naranbulag", "ub-bzd-1"))
    assert not any(store.exists(code) for code in ("uvs", "uvs-tes-1", "ub", "ub-bzd"))


def test_an_area_covers_everything_below_it_and_nothing_beside_it(areas: AreaRegistry) -> None:
    mongolia(areas)
    tree = areas.tree()
    assert tree.covered(["uvs"]) == {"uvs", "uvs-tes", "uvs-tes-1", "uvs-naranbulag"}
    assert tree.covered(["uvs-tes"]) == {"uvs-tes", "uvs-tes-1"}
    assert tree.covered(["ub"]) == {"ub", "ub-bzd", "ub-bzd-1"}
    assert tree.covered(["uvs-tes", "ub-bzd"]) == {"uvs-tes", "uvs-tes-1", "ub-bzd", "ub-bzd-1"}
    assert tree.covered(["no-such-area"]) == set()


def test_a_coordinator_of_an_aimag_covers_its_soums_including_one_added_later(
    areas: AreaRegistry, store: SQLiteStore
) -> None:
    mongolia(areas)
    access = Access(areas, FormRegistry(store))
    oyunaa = User("oyunaa", "coordinator", ("uvs",))
    bolormaa = User("bolormaa", "worker", ("uvs-tes",))
    assert access.data_scopes(oyunaa) == ["uvs-naranbulag", "uvs-tes"]
    assert access.readable_scopes(oyunaa) == [GLOBAL, "uvs-naranbulag", "uvs-tes"]
    assert access.data_scopes(bolormaa) == ["uvs-tes"]

    areas.add("uvs-zavkhan", name_en="Zavkhan soum", parent="uvs", level="soum", holds_data=True)
    assert access.data_scopes(oyunaa) == ["uvs-naranbulag", "uvs-tes", "uvs-zavkhan"]
    assert access.data_scopes(bolormaa) == ["uvs-tes"]


def test_the_tree_is_read_from_the_store_so_another_server_sees_a_new_area(
    areas: AreaRegistry, store: SQLiteStore, tmp_path: Path
) -> None:
    mongolia(areas)
    other = AreaRegistry(SQLiteStore(tmp_path / "data"))  # a second app server on the same store
    assert "uvs-zavkhan" not in other.tree().areas
    areas.add("uvs-zavkhan", name_en="Zavkhan soum", parent="uvs", holds_data=True)
    assert other.tree().areas["uvs-zavkhan"].parent == "uvs"


@pytest.mark.parametrize(
    ("code", "kwargs", "error"),
    [
        ("Uvs", {}, BadRequest),  # area codes are lowercase
        ("uvs tes", {}, BadRequest),
        ("-uvs", {}, BadRequest),
        (GLOBAL, {}, BadRequest),  # the global scope's name
        ("uvs-x", {"parent": "nowhere"}, NotFound),
        ("uvs-x", {"level": "province"}, BadRequest),
        ("uvs-x", {"name_en": ""}, BadRequest),
        ("uvs", {}, Conflict),  # exists already
        ("uvs", {"parent": "uvs-tes", "replace": True}, BadRequest),  # its own ancestor
        ("uvs", {"parent": "uvs", "replace": True}, BadRequest),
    ],
)
def test_bad_areas_are_refused_and_nothing_changes(
    areas: AreaRegistry, store: SQLiteStore, code: str, kwargs: dict, error: type
) -> None:
    mongolia(areas)
    before = store.open(GLOBAL).update_seq()
    kwargs = {"name_en": "Some area", **kwargs}
    with pytest.raises(error):
        areas.add(code, **kwargs)
    assert store.open(GLOBAL).update_seq() == before


def test_replacing_an_area_moves_it_in_the_tree(areas: AreaRegistry) -> None:
    mongolia(areas)
    areas.add("uvs-tes-1", name_en="Tes 1st bag", parent="uvs-naranbulag", level="bag", replace=True)
    tree = areas.tree()
    assert tree.areas["uvs-tes-1"].parent == "uvs-naranbulag"
    assert tree.covered(["uvs-tes"]) == {"uvs-tes"}


# -- CSV import -------------------------------------------------------------------------------

GOOD_CSV = """\
code,name_en,name_mn,parent,level,holds_data
arkh-tsenkher,Tsenkher soum,Цэнхэр сум,arkh,soum,true
arkh-tsenkher-2,Tsenkher 2nd bag,,arkh-tsenkher,bag,
arkh,Arkhangai aimag,Архангай аймаг,,aimag,false
ub-sbd-3,Sükhbaatar 3rd khoroo,,ub-sbd,khoroo,yes
ub-sbd,Sükhbaatar district,,ub,district,no
"""


def test_import_adds_areas_whose_parents_come_later_in_the_file(
    areas: AreaRegistry, store: SQLiteStore
) -> None:
    mongolia(areas)
    assert areas.import_csv(GOOD_CSV) == 5
    tree = areas.tree()
    assert tree.areas["arkh-tsenkher"].parent == "arkh"
    assert tree.areas["arkh-tsenkher"].name == {"en": "Tsenkher soum", "mn": "Цэнхэр сум"}
    assert tree.areas["arkh-tsenkher-2"].name == {"en": "Tsenkher 2nd bag", "mn": "Tsenkher 2nd bag"}
    assert tree.covered(["arkh"]) == {"arkh", "arkh-tsenkher", "arkh-tsenkher-2"}
    assert tree.areas["ub-sbd"].parent == "ub"  # a parent already in the store
    assert tree.data_scopes(["arkh", "ub"]) == ["arkh-tsenkher", "ub-bzd-1", "ub-sbd-3"]
    assert store.exists("arkh-tsenkher") and store.exists("ub-sbd-3")


def test_import_updates_existing_areas_including_their_place_in_the_tree(areas: AreaRegistry) -> None:
    mongolia(areas)
    # Tes soum moves to the top and uvs under it: valid once the whole file is in.
    areas.import_csv("code,name_en,parent\nuvs,Uvs aimag,uvs-tes\nuvs-tes,Tes soum,\n")
    tree = areas.tree()
    assert tree.areas["uvs-tes"].parent is None
    assert tree.covered(["uvs-tes"]) == {"uvs-tes", "uvs-tes-1", "uvs", "uvs-naranbulag"}


def test_importing_the_same_file_twice_is_harmless(areas: AreaRegistry, store: SQLiteStore) -> None:
    areas.import_csv(GOOD_CSV.replace(",ub,district", ",,city"))
    first = {row["id"] for row in store.open(GLOBAL).all_docs()}
    areas.import_csv(GOOD_CSV.replace(",ub,district", ",,city"))
    assert {row["id"] for row in store.open(GLOBAL).all_docs()} == first


BAD_CSVS = {
    "a bad code": "code,name_en,parent\nnew-a,New A,\nNew B,New B,\n",
    "a missing English name": "code,name_en,parent\nnew-a,New A,\nnew-b,,\n",
    "an unknown parent": "code,name_en,parent\nnew-a,New A,\nnew-b,New B,nowhere\n",
    "an unknown level": "code,name_en,parent,level\nnew-a,New A,,aimag\nnew-b,New B,,province\n",
    "a bad holds_data flag": "code,name_en,holds_data\nnew-a,New A,true\nnew-b,New B,maybe\n",
    "a cycle inside the file": "code,name_en,parent\nnew-a,New A,\nnew-b,New B,new-c\nnew-c,New C,new-b\n",
    "a cycle through the store": "code,name_en,parent\nnew-a,New A,\nuvs,Uvs aimag,uvs-tes-1\n",
    "the reserved code global": "code,name_en,parent\nnew-a,New A,\nglobal,Global,\n",
    "the same code twice": "code,name_en,parent\nnew-a,New A,\nnew-a,New A again,uvs\n",
    "no name_en column": "code,name,parent\nnew-a,New A,\n",
    "nothing at all": "",
}


@pytest.mark.parametrize("text", BAD_CSVS.values(), ids=BAD_CSVS.keys())
def test_a_bad_file_writes_nothing(areas: AreaRegistry, store: SQLiteStore, text: str) -> None:
    mongolia(areas)
    before_seq = store.open(GLOBAL).update_seq()
    before_scopes = store.names()
    with pytest.raises(BadRequest):
        areas.import_csv(text)
    assert store.open(GLOBAL).update_seq() == before_seq
    assert "new-a" not in area_codes(store)
    assert store.names() == before_scopes


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``fieldsync ... --data DIR`` in-process; FIELDSYNC_DATA_DIR is restored afterwards."""
    monkeypatch.setenv("FIELDSYNC_DATA_DIR", str(tmp_path / "unused"))
    data = tmp_path / "data"

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, [*args, "--data", str(data)], catch_exceptions=False)

    return run


def test_area_add_and_list_show_the_tree(cli, store: SQLiteStore) -> None:
    assert "No areas yet" in cli("area", "list").output
    result = cli("area", "add", "uvs", "--name", "Uvs aimag", "--name-mn", "Увс аймаг", "--level", "aimag")
    assert result.exit_code == 0 and result.output == "added uvs\n"
    result = cli("area", "add", "uvs-tes", "--name", "Tes soum", "--parent", "uvs", "--level", "soum",
                 "--holds-data")
    assert result.output == "added uvs-tes (holds data)\n"
    assert store.exists("uvs-tes")
    listing = cli("area", "list")
    assert listing.exit_code == 0
    assert listing.output.splitlines() == [
        "uvs  Uvs aimag / Увс аймаг",
        "  uvs-tes  Tes soum / Tes soum [data]",
    ]


def test_area_add_under_an_unknown_parent_is_one_line_and_writes_nothing(cli, store: SQLiteStore) -> None:
    result = CliRunner().invoke(main, ["area", "add", "uvs-tes", "--name", "Tes", "--parent", "uvs",
                                       "--data", str(store.data_dir)])
    assert result.exit_code == 1
    assert result.output == "Error: parent area 'uvs' does not exist\n"
    assert area_codes(store) == set()


def test_area_import_reads_a_csv_file(cli, tmp_path: Path, store: SQLiteStore) -> None:
    csv_file = tmp_path / "areas.csv"
    csv_file.write_text(GOOD_CSV.replace(",ub,district", ",,city"), encoding="utf-8-sig")  # Excel's BOM
    result = cli("area", "import", str(csv_file))
    assert result.exit_code == 0 and result.output == "imported 5 areas\n"
    assert area_codes(store) == {"arkh", "arkh-tsenkher", "arkh-tsenkher-2", "ub-sbd", "ub-sbd-3"}
    lines = cli("area", "list").output.splitlines()
    assert lines[0] == "arkh  Arkhangai aimag / Архангай аймаг"
    assert "    arkh-tsenkher-2  Tsenkher 2nd bag / Tsenkher 2nd bag" in lines


def test_area_import_of_a_bad_file_says_why_and_writes_nothing(cli, tmp_path: Path, store: SQLiteStore) -> None:
    csv_file = tmp_path / "areas.csv"
    csv_file.write_text(BAD_CSVS["a cycle inside the file"], encoding="utf-8")
    result = CliRunner().invoke(main, ["area", "import", str(csv_file), "--data", str(store.data_dir)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "cycle" in result.output
    assert len(result.output.splitlines()) == 1
    assert area_codes(store) == set()
