"""`fieldsync demo`: the data set `make demo` serves.

The demo is what a newcomer sees first and what the interop tests and
benchmarks borrow their submissions from, so it must look like the field:
two aimags with soums, workers assigned to them, a coordinator, an admin, the
bundled forms, a few hundred submissions with Mongolian names. Every one of
those submissions must be something the write gate would accept from its
author; and seeding must be idempotent, so `make demo` can run again and again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from schemas.examples import bundled_forms
from server.cli import main
from server.config import Settings
from server.services import Services
from sync.demo import DEMO_PASSWORD
from sync.scopes import GLOBAL

CYRILLIC = re.compile(r"[А-Яа-яЁёӨөҮү]")


def run_demo(data: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["demo", "--data", str(data), *args], prog_name="fieldsync",
                                env={"FIELDSYNC_DATA_DIR": None, "FIELDSYNC_ADMIN": None,
                                     "FIELDSYNC_STORE": None})
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """One demo data directory for the module (seeding takes about a second)."""
    data = tmp_path_factory.mktemp("demo") / "data"
    return data, run_demo(data)


@pytest.fixture(scope="module")
def svc(seeded: tuple[Path, Result]) -> Iterator[Services]:
    services = Services.build(Settings(data_dir=seeded[0]))
    yield services
    services.store.close()


def submissions(svc: Services) -> Iterator[tuple[str, dict]]:
    for scope in svc.areas.tree().data_scopes():
        for row in svc.store.open(scope).all_docs(include_docs=True):
            if row["doc"].get("type") == "submission":
                yield scope, row["doc"]


def test_two_aimags_with_soums_named_in_both_languages(svc: Services) -> None:
    tree = svc.areas.tree()
    aimags = [a for a in tree.areas.values() if a.level == "aimag"]
    assert len(aimags) == 2
    for aimag in aimags:
        assert aimag.parent is None
        soums = tree.data_scopes([aimag.code])
        assert len(soums) >= 2, f"{aimag.code} has too few soums: {soums}"
    for area in tree.areas.values():
        assert area.name["en"]
        assert CYRILLIC.search(area.name["mn"]), area


def test_every_data_area_is_a_scope_on_disk(seeded: tuple[Path, Result], svc: Services) -> None:
    files = {p.stem for p in seeded[0].glob("*.sqlite")}
    assert set(svc.areas.tree().data_scopes()) <= files
    assert GLOBAL in files


def test_workers_coordinators_and_an_admin_who_can_log_in(svc: Services) -> None:
    users = {u.name: u for u in svc.users.list()}
    roles = sorted(u.role for u in users.values())
    assert roles.count("admin") == 1
    assert roles.count("coordinator") >= 1
    assert roles.count("worker") >= 2
    tree = svc.areas.tree()
    for user in users.values():
        assert svc.users.verify(user.name, DEMO_PASSWORD) == user
        if not user.is_admin:
            assert tree.data_scopes(user.areas), f"{user.name} covers no data area"
    covered_by_workers = {s for u in users.values() if u.role == "worker" for s in tree.data_scopes(u.areas)}
    aimags = [a.code for a in tree.areas.values() if a.level == "aimag"]
    assert all(covered_by_workers & set(tree.data_scopes([a])) for a in aimags), "an aimag has no worker"


def test_every_bundled_form_is_published(svc: Services) -> None:
    published = {(d["form"], d["version"]): d["status"] for d in svc.forms.all()}
    bundled = {(d["form"], d["version"]) for d in bundled_forms()}
    files = list((Path(__file__).parent.parent / "schemas" / "forms").glob("*.json"))
    assert len(bundled) == len(files) >= 7
    assert {"growth_visit", "lqas_interview"} <= {form for form, _ in bundled}
    assert {key: published.get(key) for key in bundled} == {key: "published" for key in bundled}


def test_a_few_hundred_submissions_each_valid_against_its_form_version(svc: Services) -> None:
    docs = list(submissions(svc))
    assert 200 <= len(docs) <= 1100  # 984 before the families' assessments, sessions and projects (85)
    forms = svc.forms.snapshot()
    for _, doc in docs:
        assert svc.forms.check_submission(doc, forms=forms) == [], doc["_id"]
        assert svc.forms.check_submission(doc, lang="mn", forms=forms) == [], doc["_id"]
    used = {doc["form"] for _, doc in docs}
    assert {"household_visit", "child_growth", "child_protection_referral"} <= used


def test_every_submission_is_one_its_author_may_write(svc: Services) -> None:
    """The demo writes straight into the store, so check what the write gate would say."""
    users = {u.name: u for u in svc.users.list()}
    for scope, doc in submissions(svc):
        assert doc["_id"].startswith(f"{scope}:sub:")
        author = users[doc["author"]]
        assert svc.access.write_denial(author, scope, doc, None) is None, (doc["_id"], author)


def test_submissions_carry_mongolian_names(svc: Services) -> None:
    names = [m["member_name"] for _, d in submissions(svc) if d["form"] == "household_visit"
             for m in d["data"]["members"]]
    names += [d["data"]["child_name"] for _, d in submissions(svc) if d["form"] == "child_growth"]
    assert len(names) > 200
    assert all(CYRILLIC.search(n) for n in names)
    assert len(set(names)) > 50, "names should vary"


def test_it_prints_the_password_and_every_replica_url(svc: Services, seeded: tuple[Path, Result]) -> None:
    out = seeded[1].stdout
    assert f"Every demo account's password: {DEMO_PASSWORD}" in out
    for user in svc.users.list():
        assert re.search(rf"^  {user.role}\s+{user.name}\s+replica: http://127\.0\.0\.1:5985/sync/{user.name}\b",
                         out, re.M), user.name
    assert "scope databases (admins): http://127.0.0.1:5985/db/<scope>" in out
    count = len(list(submissions(svc)))
    assert out.splitlines()[0] == f"Demo data in {seeded[0]}: 8 areas, 7 users, {count} new submissions"


def test_running_it_again_adds_nothing(seeded: tuple[Path, Result], svc: Services) -> None:
    before = {name: svc.store.open(name).update_seq() for name in svc.store.names()}
    again = run_demo(seeded[0])
    assert again.stdout.splitlines()[0].endswith(": 8 areas, 7 users, 0 new submissions")
    after = {name: svc.store.open(name).update_seq() for name in svc.store.names()}
    assert after == before


def test_replica_urls_follow_host_and_port(seeded: tuple[Path, Result]) -> None:
    out = run_demo(seeded[0], "--host", "192.168.1.20", "--port", "8080").stdout
    assert "replica: http://192.168.1.20:8080/sync/bolormaa" in out
    assert "127.0.0.1:5985" not in out


def test_two_fresh_seeds_are_identical(tmp_path: Path, svc: Services) -> None:
    """Ids and revisions come from a fixed seed: a device synced with one demo
    server recognises every document of another."""
    run_demo(tmp_path / "again")
    other = Services.build(Settings(data_dir=tmp_path / "again"))
    try:
        for scope in svc.areas.tree().data_scopes():
            ours = {r["id"]: r["value"]["rev"] for r in svc.store.open(scope).all_docs()}
            theirs = {r["id"]: r["value"]["rev"] for r in other.store.open(scope).all_docs()}
            assert ours == theirs, scope
    finally:
        other.store.close()


def test_each_soum_has_a_register_of_families_with_their_visits(svc: Services) -> None:
    for scope in svc.areas.tree().data_scopes():
        docs = [row["doc"] for row in svc.store.open(scope).all_docs(include_docs=True)]
        families = {d["_id"]: d for d in docs if d["_id"].startswith(f"{scope}:fam:")}
        kindergartens = [d for d in docs if d["_id"].startswith(f"{scope}:kg:")]
        assert len(families) == 6 and len(kindergartens) >= 2, scope
        assert all(d["type"] == "family" and CYRILLIC.search(d["name"]) and d["members"] >= 1
                   for d in families.values())
        assert all(d["type"] == "kindergarten" and d["name"] for d in kindergartens)
        visits = [d for d in docs if d.get("form") == "household_visit" and "family" in d["data"]]
        assert {v["data"]["family"] for v in visits} == set(families), scope  # every family visited
        assert len(visits) > len(families)  # some more than once: a visit history to show
        for visit in visits:  # a family's visits name its head and bag
            family = families[visit["data"]["family"]]
            assert (visit["data"]["head"]["head_name"], visit["data"]["bag"]) == (family["name"], family["bag"])
