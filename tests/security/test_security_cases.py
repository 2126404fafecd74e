"""Child protection cases (issue 19.5): every path a case could leak by, for those off its team.

Its own small world (the suite's shared one stays as it is): in Tes, tuya's
case has oyunaa as coordinator and tuya alone on the team. bolormaa works in
the same soum, sarnai coordinates the same aimag, enkhjargal another aimag:
none of them may learn anything of it through their replica (every read
endpoint, every feed), the web pages, the quarantine (after a refused write
of it) or the /db scopes. The team's member reads it through the same
endpoints, so the refusals are not a broken endpoint. Sealed at rest too.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import ADMIN, basic
from test_security_reads import READS, q

from server import create_app
from server.config import Settings
from sync import cases
from sync.accounts.throttle import LoginThrottle
from sync.demo import DEMO_PASSWORD, protection_referral, seed_demo, submission
from sync.docs import check_doc
from sync.stores.encrypted import new_key_entry

AREA = "uvs-tes"
CASE = f"{AREA}:case:01KCASEFILE000000000000001"
GHOST = f"{AREA}:case:01KZZZZZZZZZZZZZZZZZZZZZZZ"
MARKERS = ["MARKER-CP-NARRATIVE", "CP-2026-991", "MARKER-CP-NOTE"]
OUTSIDERS = {"a worker of the same soum": "bolormaa", "a coordinator of the same aimag": "sarnai",
             "a coordinator of another aimag": "enkhjargal"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    data: Path = tmp_path_factory.mktemp("security-cases") / "data"
    app = create_app(Settings(data_dir=data, admin=ADMIN, encryption_keys=new_key_entry("cases")))
    app.testing = True
    svc = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, lock_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=2)
    svc.users.add("tuya", "worker", [AREA], DEMO_PASSWORD)
    svc.users.add("sarnai", "coordinator", ["uvs"], DEMO_PASSWORD)
    doc = cases.new_case(AREA, CASE.rsplit(":", 1)[1], author="tuya", coordinator="oyunaa", risk="high",
                         team=["tuya"], data={"child_name": "CP-2026-991", "narrative": "MARKER-CP-NARRATIVE"})
    doc = cases.changed(doc, "tuya", "follow_ups", follow_ups=[{"due": "2026-11-01", "done_on": None,
                                                                "mode": "visit", "notes": "MARKER-CP-NOTE"}])
    result = svc.gate.write(svc.users.get("tuya"), svc.store.open(AREA), [check_doc(doc, new_edits=True)],
                            new_edits=True)[0]
    assert "rev" in result, result
    return app, svc, result["rev"], data


def ask(app, who: str, method: str, path: str, options: dict) -> tuple[int, bytes]:
    options = dict(options)
    headers = {**basic(who), **options.pop("headers", {})}
    response = app.test_client(use_cookies=False).open(path, method=method, headers=headers, **options)
    body = response.get_data()
    response.close()
    return response.status_code, body


def reveals_nothing(body: bytes, rev: str, *, rev_asked: bool = False) -> None:
    text = body.decode("utf-8", errors="replace")
    for leak in [*MARKERS, *([] if rev_asked else [rev.split("-", 1)[1]])]:
        assert leak not in text, f"{leak!r} leaked in {text[:300]!r}"


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
@pytest.mark.parametrize("who", OUTSIDERS.values(), ids=OUTSIDERS.keys())
def test_a_case_reads_as_missing_through_an_outsiders_replica(world, who: str, read) -> None:
    app, _svc, rev, _ = world
    status, body = ask(app, who, *read.build(f"/sync/{who}", CASE, rev))
    ghost_status, ghost_body = ask(app, who, *read.build(f"/sync/{who}", GHOST, rev))
    assert status == read.missing
    assert (status, body) == (ghost_status, ghost_body.replace(GHOST.encode(), CASE.encode()))
    reveals_nothing(body, rev, rev_asked=rev in repr(read.build("", "", rev)))


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
def test_the_team_reads_it_through_the_same_endpoints(world, read) -> None:
    app, _svc, rev, _ = world
    method, path, options = read.build("/sync/tuya", CASE, rev)
    if "photo.jpg" in path:
        return  # a case carries no photo
    status, body = ask(app, "tuya", method, path, options)
    assert status == 200
    if method != "HEAD" and "_revs_diff" not in path:
        assert CASE.encode() in body


@pytest.mark.parametrize("who", OUTSIDERS.values(), ids=OUTSIDERS.keys())
def test_no_feed_or_range_lists_it(world, who: str) -> None:
    app, _svc, rev, _ = world
    for method, path, options in (
            ("GET", f"/sync/{who}/_changes", {"query_string": {"include_docs": "true", "style": "all_docs"}}),
            ("POST", f"/sync/{who}/_changes", {"query_string": {"filter": "_doc_ids", "include_docs": "true"},
                                               "json": {"doc_ids": [CASE]}}),
            ("GET", f"/sync/{who}/_all_docs", {"query_string": {"include_docs": "true"}}),
            ("GET", f"/sync/{who}/_all_docs", {"query_string": {"startkey": json.dumps(CASE), "limit": "1"}})):
        status, body = ask(app, who, method, path, options)
        assert status == 200 and CASE.encode() not in body
        reveals_nothing(body, rev)
    status, body = ask(app, "tuya", "GET", "/sync/tuya/_changes", {"query_string": {"include_docs": "true"}})
    assert status == 200 and b"MARKER-CP-NARRATIVE" in body  # the team's own feed has it


@pytest.mark.parametrize("who", OUTSIDERS.values(), ids=OUTSIDERS.keys())
def test_scope_databases_stay_admin_only(world, who: str) -> None:
    app, _svc, rev, _ = world
    for path in (f"/db/{AREA}/{q(CASE)}", f"/db/{AREA}/_changes?include_docs=true"):
        status, body = ask(app, who, "GET", path, {})
        assert status == 403
        reveals_nothing(body, rev)


def _web(app, who: str):
    client = app.test_client()
    page = client.get("/web/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/web/login", data={"name": who, "password": DEMO_PASSWORD,
                                           "csrf_token": token}).status_code == 302
    return client


@pytest.mark.parametrize("who", ["sarnai", "enkhjargal"])
def test_web_pages_show_outsiders_a_404_and_counts_only(world, who: str) -> None:
    app, _svc, rev, _ = world
    client = _web(app, who)
    detail = client.get(f"/web/cases/{q(CASE)}")
    assert detail.status_code == 404
    reveals_nothing(detail.get_data(), rev)
    listing = client.get("/web/cases")
    assert listing.status_code == 200 and CASE not in listing.text
    reveals_nothing(listing.get_data(), rev)
    assert _web(app, "oyunaa").get(f"/web/cases/{q(CASE)}").status_code == 200  # the coordinator assigned


def test_a_refused_write_leaves_nothing_of_the_case_in_the_quarantine(world) -> None:
    app, svc, rev, data = world
    case = svc.store.open(AREA).get(CASE)
    forged = cases.changed(case, "bolormaa", "risk", risk="low")
    status, body = ask(app, "bolormaa", "POST", "/sync/bolormaa/_bulk_docs", {"json": {"docs": [forged]}})
    assert status == 201 and json.loads(body)[0]["error"] == "forbidden"
    reveals_nothing(body, rev)
    assert svc.store.open(AREA).get(CASE)["_rev"] == rev
    for who in ("sarnai", "oyunaa"):
        status, body = ask(app, who, "GET", "/api/quarantine", {"query_string": {"status": "all"}})
        assert status == 200
        reveals_nothing(body, rev, rev_asked=True)  # the revision bolormaa's write named itself
        entries = [e for e in json.loads(body) if e["doc_id"] == CASE]
        assert entries
        page = _web(app, who).get(f"/web/quarantine/{q(entries[0]['_id'])}")
        assert page.status_code == 200
        reveals_nothing(page.get_data(), rev, rev_asked=True)


def test_a_case_in_conflict_is_shown_only_to_those_who_may_see_it(world) -> None:
    app, svc, rev, _ = world
    db = svc.store.open(AREA)
    case = db.get(CASE, revs=True)
    twins = []
    for h, risk in (("a", "medium"), ("c", "low")):  # two devices' edits of the same revision
        twin = cases.changed({k: v for k, v in case.items() if k != "_revisions"}, "tuya", "risk", risk=risk,
                             note="MARKER-CP-NOTE twin")
        twin["_rev"] = "2-" + h * 32
        twin["_revisions"] = {"start": 2, "ids": [h * 32, *case["_revisions"]["ids"]]}
        twins.append(check_doc(twin, new_edits=False))
    assert db.bulk_docs(twins, new_edits=False) == []
    assert db.get(CASE, conflicts=True).get("_conflicts")
    for who in ("sarnai", "enkhjargal"):
        page = _web(app, who).get(f"/web/conflicts/{q(CASE)}")
        assert page.status_code == 404
        reveals_nothing(page.get_data(), rev)
    assert _web(app, "oyunaa").get(f"/web/conflicts/{q(CASE)}").status_code == 200


REFERRAL = f"{AREA}:sub:01KREFREVIEWED000000000001"
REVIEW = f"{AREA}:review:01KREFREVIEWED000000000001"
GHOST_REVIEW = f"{AREA}:review:01KZZZZZZZZZZZZZZZZZZZZZZY"


@pytest.fixture(scope="module")
def reviewed(world) -> str:
    """tuya's referral, reviewed by oyunaa before its case opened (stored as before referrals opened
    their cases); then its case opens: oyunaa coordinates it, tuya is its team, sarnai is not on it."""
    _app, svc, _rev, _ = world
    referral = submission(REFERRAL, "child_protection_referral", "tuya", protection_referral(random.Random(9)),
                          "2026-11-02T10:00:00+08:00")
    at = "2026-11-02T12:00:00+08:00"
    review = {"_id": REVIEW, "type": "review", "submission": REFERRAL, "submission_author": "tuya",
              "form": "child_protection_referral", "form_version": 1, "status": "has_issues", "created_at": at,
              "comments": [{"by": "oyunaa", "at": at, "text": "MARKER-REVIEW-COMMENT"}],
              "history": [{"status": "has_issues", "by": "oyunaa", "at": at}], "updated_at": at,
              "updated_by": "oyunaa"}
    db = svc.store.open(AREA)
    assert all("rev" in r for r in db.bulk_docs([check_doc(referral, new_edits=True),
                                                 check_doc(review, new_edits=True)]))
    opened = svc.gate.referral_cases.open(db, [REFERRAL])
    assert [db.get(c)["coordinator"] for c in opened] == ["oyunaa"]
    return db.get(REVIEW)["_rev"]


@pytest.mark.parametrize("read", READS.values(), ids=READS.keys())
@pytest.mark.parametrize("who", ["sarnai", "bolormaa"], ids=["a coordinator of the aimag off the case",
                                                             "a worker of the soum"])
def test_a_review_of_a_referral_reads_as_missing_to_those_off_its_case(world, reviewed, who: str, read) -> None:
    """Written before the case opened, the review follows its referral: seen as the case is."""
    app = world[0]
    status, body = ask(app, who, *read.build(f"/sync/{who}", REVIEW, reviewed))
    ghost_status, ghost_body = ask(app, who, *read.build(f"/sync/{who}", GHOST_REVIEW, reviewed))
    assert status == read.missing
    assert (status, body) == (ghost_status, ghost_body.replace(GHOST_REVIEW.encode(), REVIEW.encode()))
    assert b"MARKER-REVIEW-COMMENT" not in body
    if read is READS["GET doc"]:
        for member in ("oyunaa", "tuya"):  # the case's coordinator, the referral's author
            status, body = ask(app, member, *read.build(f"/sync/{member}", REVIEW, reviewed))
            assert status == 200 and b"MARKER-REVIEW-COMMENT" in body
        status, body = ask(app, who, "GET", f"/sync/{who}/_changes", {"query_string": {"include_docs": "true"}})
        assert status == 200 and REVIEW.encode() not in body and REFERRAL.encode() not in body


def test_a_referral_in_conflict_is_listed_and_shown_only_to_those_who_may_see_it(world, reviewed) -> None:
    """The conflicts pages and /api/conflicts show whole revisions and write a resolution: they
    keep the referral's need to know (and the case's, for the API too) as the submission pages do."""
    app, svc, _rev, _ = world
    db = svc.store.open(AREA)
    referral = db.get(REFERRAL, revs=True)
    for h, summary in (("a", "MARKER-CP-TWIN phone A"), ("b", "MARKER-CP-TWIN phone B")):  # the author's two phones
        twin = {k: v for k, v in referral.items() if k != "_revisions"}
        twin.update(_rev=f"2-{h * 32}", _revisions={"start": 2, "ids": [h * 32, *referral["_revisions"]["ids"]]},
                    data={**referral["data"], "summary": summary})
        assert svc.gate.write(svc.users.get("tuya"), db, [check_doc(twin, new_edits=False)], new_edits=False) == []
    assert db.get(REFERRAL, conflicts=True).get("_conflicts")
    key = REFERRAL.rsplit(":", 1)[1]
    for who in ("sarnai", "enkhjargal"):
        for path in (f"/api/conflicts?area={AREA}", "/api/conflicts"):
            status, body = ask(app, who, "GET", path, {})
            assert key.encode() not in body and b"MARKER-CP-TWIN" not in body, (who, path, status)
        page = _web(app, who).get(f"/web/conflicts?area={AREA}")
        assert key not in page.get_data(as_text=True)
        for doc in (REFERRAL, CASE):
            status, body = ask(app, who, "GET", f"/api/conflicts/{q(doc)}", {})
            assert status == 404 and b"MARKER-CP" not in body and b"CP-2026-991" not in body, (who, doc)
            page = _web(app, who).get(f"/web/conflicts/{q(doc)}")
            assert page.status_code == 404 and b"MARKER-CP" not in page.get_data()
        status, _body = ask(app, who, "POST", f"/api/conflicts/{q(CASE)}/resolve",
                            {"json": {"revs": [], "picks": {}}})
        assert status == 404, who
    status, body = ask(app, "oyunaa", "GET", f"/api/conflicts?area={AREA}", {})
    assert status == 200 and key.encode() in body
    status, body = ask(app, "oyunaa", "GET", f"/api/conflicts/{q(REFERRAL)}", {})
    assert status == 200 and b"MARKER-CP-TWIN" in body
    assert key in _web(app, "oyunaa").get(f"/web/conflicts?area={AREA}").get_data(as_text=True)


def test_the_files_hold_no_case_answers(world) -> None:
    _app, svc, _rev, data = world
    svc.store.close()  # everything on disk (SQLite's write-ahead log checkpointed)
    files = b"".join(p.read_bytes() for p in Path(data).rglob("*") if p.is_file())
    for marker in MARKERS:
        assert marker.encode() not in files
