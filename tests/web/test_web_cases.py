"""The child protection case pages over HTTP (Flask's test client, a real SQLite store).

The demo's cases (sync/demo_cases.py) are opened from the seeded referrals.
In Kharkhorin enkhjargal is the coordinator assigned; dolgor, added here,
coordinates the same soum but no case: she sees the counts and never a case;
oyunaa (Uvs) and the workers get 404s.
"""

from __future__ import annotations

import random
import re
from datetime import date

import pytest
from webworld import Web, build_web, csrf

from sync import cases
from sync.demo import DEMO_PASSWORD, demo_ulid, protection_referral, submission
from sync.demo_cases import seed_cases
from sync.docs import check_doc

AREA = "ovr-kharkhorin"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    world = build_web(tmp_path_factory.mktemp("cases") / "data")
    svc = world.svc
    users = list(svc.users.list())
    assert seed_cases(svc.store, svc.areas.tree(), users, demo_ulid) > 0
    svc.users.add("dolgor", "coordinator", [AREA], DEMO_PASSWORD)  # after: assigned to no case
    return world


def area_cases(web: Web) -> list[dict]:
    return cases.area_cases(web.svc.store.open(AREA))


def the_case(web: Web) -> dict:
    return next(c for c in area_cases(web) if c.get("referral") and c["author"] == "tsetseg")


def post(client, path: str, **form) -> object:
    return client.post(path, data={"csrf_token": csrf(client, "/web/"), **form})


def test_the_assigned_coordinator_lists_the_case_others_see_counts_only(web: Web):
    case = the_case(web)
    counts = cases.counts(area_cases(web), date.today())
    page = web.logged_in("enkhjargal").get("/web/cases?area=" + AREA)
    assert page.status_code == 200 and f"/web/cases/{case['_id']}" in page.text
    other = web.logged_in("dolgor").get("/web/cases?area=" + AREA)
    assert other.status_code == 200
    assert "/web/cases/ovr-kharkhorin:case:" not in other.text
    assert f'<td class="num">{counts["open"]}</td>' in other.text
    assert counts["open"] >= 1 and counts["overdue_visits"] >= 1


def test_the_soum_report_counts_cases_for_every_coordinator(web: Web):
    counts = cases.counts(area_cases(web), date.today())
    for who, lang, heading in (("dolgor", "en", "Child protection: open cases by risk"),
                               ("enkhjargal", "mn", "Хүүхэд хамгаалал: нээлттэй тохиолдол")):
        page = web.logged_in(who, lang).get(f"/web/reports?area={AREA}")
        assert page.status_code == 200 and heading in page.text
        section = page.text.split('<table class="case-counts">', 1)[1].split("</table>", 1)[0]
        numbers = re.findall(r'<td class="num">(\d+)</td>', section)
        assert numbers == [str(n) for n in (counts["open"], counts["by_risk"]["high"], counts["by_risk"]["medium"],
                                            counts["by_risk"]["low"], counts["overdue_cases"],
                                            counts["overdue_visits"], counts["closed"])]
        assert ":case:" not in page.text


@pytest.mark.parametrize("who", ["dolgor", "oyunaa", "tsetseg"])
def test_a_case_page_is_404_for_who_may_not_see_it(web: Web, who: str):
    case = the_case(web)
    client = web.logged_in(who)
    assert client.get(f"/web/cases/{case['_id']}").status_code == 404
    assert client.post(f"/web/cases/{case['_id']}/risk", data={"csrf_token": csrf(client, "/web/"), "risk": "low",
                                                               "rev": case["_rev"]}).status_code == 404
    assert current(web, case)["_rev"] == case["_rev"]
    if who == "oyunaa":  # another aimag: its soum does not exist for her either
        assert client.get(f"/web/cases?area={AREA}").status_code == 404


def current(web: Web, case: dict) -> dict:
    return web.svc.store.open(AREA).get(case["_id"])


def test_filters_and_bad_filters(web: Web):
    client = web.logged_in("enkhjargal")
    closed = client.get(f"/web/cases?area={AREA}&status=closed")
    assert closed.status_code == 200
    for c in area_cases(web):
        assert (f"/web/cases/{c['_id']}" in closed.text) == (c["status"] == "closed")
    assert client.get("/web/cases?risk=extreme").status_code == 400
    mn = web.logged_in("enkhjargal", "mn").get("/web/cases?status=gone")
    assert mn.status_code == 400 and "сонголт биш" in mn.text


def test_status_risk_follow_up_and_team_changes_with_4xx_for_bad_input(web: Web):
    case = the_case(web)
    url = f"/web/cases/{case['_id']}"
    client = web.logged_in("enkhjargal")
    assert client.get(url).status_code == 200
    # closing without a reason: 400, nothing written
    bad = post(client, url + "/status", status="closed", rev=case["_rev"])
    assert bad.status_code == 400 and "Say why the case is closed" in bad.text
    assert current(web, case)["_rev"] == case["_rev"]
    # a page left open while the case changed: 409
    assert post(client, url + "/risk", risk="low", rev="1-stale").status_code == 409
    assert post(client, url + "/risk", risk="extreme", rev=case["_rev"]).status_code == 400
    assert post(client, url + "/follow-ups", due="2026-02-30", mode="visit", rev=case["_rev"]).status_code == 400
    assert post(client, url + "/team", team=["oyunaa"], rev=case["_rev"]).status_code == 400
    assert current(web, case)["_rev"] == case["_rev"]
    assert post(client, url + "/services", type="magic", response="pending", rev=case["_rev"]).status_code == 400
    assert post(client, url + "/services", type="legal", response="accepted", provider="Сумын өмгөөлөгч",
                rev=case["_rev"]).status_code == 302
    case = current(web, case)
    assert case["data"]["services"][-1] | {"referred_at": None} == {
        "type": "legal", "provider": "Сумын өмгөөлөгч", "referred_at": None, "response": "accepted"}
    ok = post(client, url + "/follow-ups", due="2027-02-01", mode="phone", rev=case["_rev"])
    assert ok.status_code == 302, ok.text
    case = current(web, case)
    assert case["data"]["follow_ups"][-1] == {"due": "2027-02-01", "done_on": None, "mode": "phone", "notes": ""}
    # dolgor joins the team: she may now see and change the risk, but not the team (403)
    assert post(client, url + "/team", team=["tsetseg", "dolgor"], rev=case["_rev"]).status_code == 302
    case = current(web, case)
    dolgor = web.logged_in("dolgor", "mn")
    assert dolgor.get(url).status_code == 200
    assert post(dolgor, url + "/risk", risk="medium", rev=case["_rev"]).status_code == 302
    case = current(web, case)
    denied = post(dolgor, url + "/team", team=["dolgor"], rev=case["_rev"])
    assert denied.status_code == 403 and "зөвхөн хариуцсан зохицуулагч" in denied.text
    assert current(web, case)["_rev"] == case["_rev"]
    # close with a reason, then reopen
    assert post(client, url + "/status", status="closed", reason="moved", note="", rev=case["_rev"]).status_code == 302
    case = current(web, case)
    assert case["status"] == "closed" and case["data"]["closure"]["reason"] == "moved"
    wrong = post(client, url + "/status", status="in_progress", rev=case["_rev"])
    assert wrong.status_code == 400 and "cannot go from" in wrong.text
    assert post(client, url + "/status", status="open", rev=case["_rev"]).status_code == 302
    case = current(web, case)
    assert case["status"] == "open" and "closure" not in case["data"]
    actions = {e["action"] for e in web.svc.audit.entries(AREA, doc_id=case["_id"], limit=100)}
    assert {"case.viewed", "case.status", "case.risk", "case.team", "case.follow_ups", "case.services"} <= actions


def test_a_referral_opens_a_case_once(web: Web):
    svc = web.svc
    key = demo_ulid(random.Random(99))
    referral = submission(f"{AREA}:sub:{key}", "child_protection_referral", "batbold",
                          protection_referral(random.Random(3)), "2026-11-20T10:00:00+08:00")
    assert "error" not in svc.gate.write(svc.users.get("batbold"), svc.store.open(AREA),
                                         [check_doc(referral, new_edits=True)], new_edits=True)[0]
    client = web.logged_in("enkhjargal")
    listing = client.get(f"/web/cases?area={AREA}")
    assert referral["_id"] in listing.text
    made = post(client, "/web/cases/open", referral=referral["_id"], risk="medium")
    assert made.status_code == 302
    case = next(c for c in area_cases(web) if c.get("referral") == referral["_id"])
    assert (case["author"], case["coordinator"], case["team"], case["status"]) == \
        ("enkhjargal", "enkhjargal", ["batbold"], "open")
    assert post(client, "/web/cases/open", referral=referral["_id"], risk="medium").status_code == 409
    assert post(client, "/web/cases/open", referral=referral["_id"], risk="").status_code == 400
    assert post(web.logged_in("oyunaa"), "/web/cases/open", referral=referral["_id"], risk="low").status_code == 404
    assert sum(1 for c in area_cases(web) if c.get("referral") == referral["_id"]) == 1
