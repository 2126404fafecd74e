"""The child protection case pages over HTTP (Flask's test client, a real SQLite store).

The demo's cases (sync/demo_cases.py) are opened from the seeded referrals.
In Kharkhorin enkhjargal is the coordinator assigned; dolgor, added here,
coordinates the same soum but no case: she sees the counts and never a case;
oyunaa (Uvs) and the workers get 404s.
"""

from __future__ import annotations

import base64
import html as html_text
import io
import random
import re
import zipfile
from collections import Counter
from datetime import date, timedelta

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
    long = post(web.logged_in("enkhjargal", "mn"), url + "/services", type="legal", response="pending",
                provider="х" * 1001, rev=case["_rev"])
    assert long.status_code == 400 and "Үйлчилгээ үзүүлэгчийн нэр ихдээ 1000 тэмдэгт" in long.text  # not "the note"
    assert current(web, case)["_rev"] == case["_rev"]
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


def test_a_referral_stored_before_cases_opened_themselves_is_opened_by_hand_once(web: Web):
    """A referral that reached the store without passing the gate (one stored before referrals
    opened their cases) is listed without a case; opened here it gets the id the gate would give."""
    svc = web.svc
    key = demo_ulid(random.Random(99))
    referral = submission(f"{AREA}:sub:{key}", "child_protection_referral", "batbold",
                          protection_referral(random.Random(3)), "2026-11-20T10:00:00+08:00")
    assert "rev" in svc.store.open(AREA).bulk_docs([check_doc(referral, new_edits=True)])[0]
    client = web.logged_in("enkhjargal")
    listing = client.get(f"/web/cases?area={AREA}")
    assert referral["_id"] in listing.text
    made = post(client, "/web/cases/open", referral=referral["_id"], risk="medium")
    assert made.status_code == 302
    case = next(c for c in area_cases(web) if c.get("referral") == referral["_id"])
    assert case["_id"] == f"{AREA}:case:{key}"
    assert (case["author"], case["coordinator"], case["team"], case["status"]) == \
        ("enkhjargal", "enkhjargal", ["batbold"], "open")
    assert post(client, "/web/cases/open", referral=referral["_id"], risk="medium").status_code == 409
    assert post(client, "/web/cases/open", referral=referral["_id"], risk="").status_code == 400
    assert post(web.logged_in("oyunaa"), "/web/cases/open", referral=referral["_id"], risk="low").status_code == 404
    assert sum(1 for c in area_cases(web) if c.get("referral") == referral["_id"]) == 1


def auth(name: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{DEMO_PASSWORD}".encode()).decode()}


def pushed_referral(web: Web, seed: int, **answers) -> dict:
    """batbold's referral, pushed to /sync/batbold as a device does; the stored winner back."""
    key = demo_ulid(random.Random(seed))
    data = {**protection_referral(random.Random(seed)), **answers}
    referral = submission(f"{AREA}:sub:{key}", "child_protection_referral", "batbold", data,
                          "2026-11-21T10:00:00+08:00")
    client = web.browser()
    resp = client.post("/sync/batbold/_bulk_docs", json={"docs": [referral]}, headers=auth("batbold"))
    assert resp.status_code == 201 and "rev" in resp.json[0], resp.text
    return web.svc.store.open(AREA).get(referral["_id"])


def test_a_pushed_referral_opens_one_case_for_its_author_and_the_soums_coordinator(web: Web):
    referral = pushed_referral(web, 201, urgency="72h", concerns=["neglect", "out_of_school"], reported_by="teacher")
    key = referral["_id"].rsplit(":", 1)[1]
    opened = [c for c in area_cases(web) if c.get("referral") == referral["_id"]]
    assert [c["_id"] for c in opened] == [f"{AREA}:case:{key}"]
    case = opened[0]
    # enkhjargal coordinates the soum's cases already; dolgor coordinates it too, but none of them.
    assert (case["author"], case["coordinator"], case["team"], case["status"], case["risk"]) == \
        ("batbold", "enkhjargal", ["batbold"], "open", "medium")
    assert case["data"]["concerns"] == ["neglect", "out_of_school"]
    assert (case["data"]["source"], case["data"]["narrative"]) == ("teacher", referral["data"]["summary"])
    assert case["data"]["history"][0]["action"] == "opened"

    client = web.browser()
    # The team and the coordinator get the case and the referral; the soum's other coordinator neither.
    for who, sees in (("batbold", True), ("enkhjargal", True), ("dolgor", False), ("tsetseg", False)):
        for docid in (case["_id"], referral["_id"]):
            got = client.get(f"/sync/{who}/{docid}", headers=auth(who))
            assert got.status_code == (200 if sees else 404), (who, docid, got.status_code)
    feed = client.get("/sync/dolgor/_changes", headers=auth("dolgor")).json
    assert not {case["_id"], referral["_id"]} & {r["id"] for r in feed["results"]}
    assert web.logged_in("dolgor").get(f"/web/submissions/{referral['_id']}").status_code == 404
    assert web.logged_in("dolgor").get(f"/web/cases/{case['_id']}").status_code == 404
    assert web.logged_in("enkhjargal").get(f"/web/submissions/{referral['_id']}").status_code == 200
    # Nor is it in dolgor's list of the soum's submissions, even searched for by its words.
    word = referral["data"]["summary"].split()[0]
    search = f"/web/areas/{AREA}/submissions?form=child_protection_referral&q={word}"
    key_link = f"/web/submissions/{referral['_id']}"
    assert key_link in web.logged_in("enkhjargal").get(search).text
    listed = web.logged_in("dolgor").get(search)
    assert listed.status_code == 200 and key_link not in listed.text
    # Nor in her export of the soum's referrals; the case's coordinator's export has it.
    for who, has in (("enkhjargal", True), ("dolgor", False), ("admin", True)):
        got = client.get(f"/api/exports/child_protection_referral?format=csv&area={AREA}", headers=auth(who))
        assert got.status_code == 200, (who, got.text)
        archive = zipfile.ZipFile(io.BytesIO(got.get_data()))
        exported = b"".join(archive.read(name) for name in archive.namelist())
        assert (referral["_id"].encode() in exported) == has, who
    # She cannot review it either, on the page or from a device; the case's coordinator can.
    review = {"_id": referral["_id"].replace(":sub:", ":review:"), "type": "review", "submission": referral["_id"],
              "submission_author": "batbold", "form": referral["form"], "status": "approved",
              "submission_rev": referral["_rev"], "comments": []}
    dolgor = web.logged_in("dolgor")
    assert post(dolgor, f"/web/submissions/{referral['_id']}/review", status="approved",
                submission_rev=referral["_rev"]).status_code == 404
    refused = client.post("/sync/dolgor/_bulk_docs", json={"docs": [review]}, headers=auth("dolgor")).json[0]
    assert refused.get("error") == "forbidden", refused
    assert web.svc.store.open(AREA).all_docs(keys=[review["_id"]]).__next__().get("error") == "not_found"
    accepted = client.post("/sync/enkhjargal/_bulk_docs", json={"docs": [review]}, headers=auth("enkhjargal")).json[0]
    assert "rev" in accepted, accepted
    listing = web.logged_in("enkhjargal").get(f"/web/cases?area={AREA}").text
    assert f"/web/cases/{case['_id']}" in listing
    assert f'name="referral" value="{referral["_id"]}"' not in listing  # not among referrals without a case


def test_a_resent_or_edited_referral_opens_no_second_case(web: Web):
    referral = pushed_referral(web, 202)
    case = web.svc.store.open(AREA).get(f"{AREA}:case:{referral['_id'].rsplit(':', 1)[1]}")
    client = web.browser()
    again = client.post("/sync/batbold/_bulk_docs", json={"docs": [referral], "new_edits": False},
                        headers=auth("batbold"))
    assert again.status_code == 201
    edited = {**referral, "data": {**referral["data"], "urgency": "routine", "summary": "Дахин засварласан тайлбар."}}
    resp = client.post("/sync/batbold/_bulk_docs", json={"docs": [edited]}, headers=auth("batbold"))
    assert resp.status_code == 201 and "rev" in resp.json[0], resp.text
    assert web.svc.store.open(AREA).get(referral["_id"])["_rev"].startswith("2-")
    assert [c["_id"] for c in area_cases(web) if c.get("referral") == referral["_id"]] == [case["_id"]]
    assert web.svc.store.open(AREA).get(case["_id"])["_rev"] == case["_rev"]  # the team's, left alone
    assert post(web.logged_in("enkhjargal"), "/web/cases/open", referral=referral["_id"],
                risk="low").status_code == 409


def test_a_refused_referral_opens_no_case(web: Web):
    key = demo_ulid(random.Random(203))
    bad = submission(f"{AREA}:sub:{key}", "child_protection_referral", "batbold",
                     {**protection_referral(random.Random(203)), "urgency": "whenever"}, "2026-11-21T10:00:00+08:00")
    resp = web.browser().post("/sync/batbold/_bulk_docs", json={"docs": [bad]}, headers=auth("batbold"))
    assert resp.status_code == 201 and resp.json[0]["error"] == "forbidden"
    assert resp.json[0]["messages"]["mn"] != resp.json[0]["messages"]["en"]
    assert all(c["_id"] != f"{AREA}:case:{key}" for c in area_cases(web))
    shapeless = web.browser().post("/sync/batbold/_bulk_docs", json={"docs": "not a list"}, headers=auth("batbold"))
    assert shapeless.status_code == 400


def expected_report(found: list[dict], today: date, month: str, days: int) -> dict:
    """The report's figures, counted here from the case documents themselves."""
    first = date.fromisoformat(month + "-01")
    last = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    in_month = [c for c in found if first.isoformat() <= c["opened_at"][:10] < last.isoformat()]
    by_source = Counter(c["data"].get("source") or "unknown" for c in in_month)
    by_concern = Counter(k for c in in_month for k in set(c["data"].get("concerns") or []))
    live = [c for c in found if c["status"] != "closed"]
    pending = [s for c in live for s in c["data"].get("services") or []
               if s.get("response") == "pending" and s.get("due_by") and s["due_by"] < today.isoformat()]
    cutoff = (today - timedelta(days=days)).isoformat()
    quiet = [c["_id"] for c in live if c["risk"] == "high" and c["opened_at"][:10] < cutoff
             and not any((f.get("done_on") or "") >= cutoff for f in c["data"].get("follow_ups") or [])]
    closed = Counter(c["data"]["closure"]["reason"] for c in found if c["status"] == "closed"
                     and first.isoformat() <= c["data"]["closure"]["closed_on"] < last.isoformat())
    return {"new": len(in_month), "by_source": dict(by_source), "by_concern": dict(by_concern),
            "pending": len(pending), "quiet": quiet, "closed": sum(closed.values()), "by_reason": dict(closed)}


def number(page: str, element_id: str) -> int:
    found = re.search(rf'id="{element_id}">(\d+)<', page)
    assert found, element_id
    return int(found.group(1))


def test_the_case_report_counts_for_everyone_and_names_cases_only_to_their_team(web: Web):
    svc = web.svc
    today = date.today()
    month = today.isoformat()[:7]
    days = svc.settings.case_follow_up_days
    # A high-risk case of batbold's opened long ago, never visited, with a service overdue for an answer.
    old = (today - timedelta(days=days + 30)).isoformat()
    quiet = cases.new_case(AREA, "01KREPORTQUIET000000000001", author="batbold", coordinator="enkhjargal", risk="high",
                           team=["batbold"], at=f"{old}T08:00:00.000Z",
                           data={"child_name": "CP-QUIET", "concerns": ["labour"], "source": "neighbour",
                                 "services": [{"type": "police", "provider": "", "referred_at": old,
                                               "due_by": (today - timedelta(days=1)).isoformat(),
                                               "response": "pending"}]})
    assert "rev" in svc.store.open(AREA).bulk_docs([check_doc(quiet, new_edits=True)])[0]
    # One case opened this month through a referral, then closed from its page as a duplicate.
    referral = pushed_referral(web, 204, reported_by="family", concerns=["physical", "emotional"])
    case = svc.store.open(AREA).get(f"{AREA}:case:{referral['_id'].rsplit(':', 1)[1]}")
    coordinator = web.logged_in("enkhjargal")
    assert post(coordinator, f"/web/cases/{case['_id']}/status", status="closed", reason="duplicate",
                rev=case["_rev"]).status_code == 302

    want = expected_report(area_cases(web), today, month, days)
    assert want["new"] >= 1 and want["by_source"].get("family", 0) >= 1 and want["pending"] >= 1
    assert quiet["_id"] in want["quiet"] and want["by_reason"].get("duplicate", 0) >= 1
    for who, lang in (("enkhjargal", "en"), ("dolgor", "mn")):
        page = web.logged_in(who, lang).get(f"/web/cases?area={AREA}&month={month}")
        assert page.status_code == 200
        html = page.text
        assert (number(html, "report-new"), number(html, "report-pending"), number(html, "report-no-follow-up"),
                number(html, "report-closed")) == (want["new"], want["pending"], len(want["quiet"]), want["closed"])
        section = html.split('class="case-report-closures"', 1)[1].split("</table>", 1)[0]
        assert [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', section)] == \
            [want["by_reason"].get(r, 0) for r in cases.CLOSURE_REASONS]
        section = html.split('class="case-report-new"', 1)[1].split("</table>", 1)[0]
        assert sum(int(n) for n in re.findall(r'<td class="num">(\d+)</td>', section)) == want["new"]
        section = html.split('class="case-report-concerns"', 1)[1].split("</table>", 1)[0]
        assert sorted(int(n) for n in re.findall(r'<td class="num">(\d+)</td>', section)) == \
            sorted(want["by_concern"].values())
        named = '<span class="case-name">CP-QUIET</span>' in html
        assert named == (who == "enkhjargal"), who  # dolgor: counts only
        assert ("CP-QUIET" in html) == (who == "enkhjargal")
        assert ("Case report for" if lang == "en" else "Тохиолдлын тайлан") in html
    assert "Family member" in web.logged_in("enkhjargal").get(f"/web/cases?area={AREA}&month={month}").text


@pytest.mark.parametrize("lang, words", [("en", "A month is written as YYYY-MM."),
                                         ("mn", "Сарыг ОООО-СС хэлбэрээр бичнэ.")])
def test_a_bad_report_month_is_a_400_in_the_pages_language(web: Web, lang: str, words: str):
    for month in ("2026-13", "November", "2026-1"):
        page = web.logged_in("enkhjargal", lang).get(f"/web/cases?area={AREA}&month={month}")
        assert page.status_code == 400 and words in page.text, (month, page.status_code)


def test_a_service_referral_gets_a_due_date_and_a_bad_one_is_a_400(web: Web):
    case = next(c for c in area_cases(web) if c["status"] != "closed" and c["coordinator"] == "enkhjargal")
    url = f"/web/cases/{case['_id']}"
    for lang, words in (("en", "Dates are written as YYYY-MM-DD."), ("mn", "Огноог ОООО-СС-ӨӨ хэлбэрээр бичнэ.")):
        client = web.logged_in("enkhjargal", lang)
        bad = post(client, url + "/services", type="health", response="pending", due_by="2027-02-30",
                   rev=current(web, case)["_rev"])
        assert bad.status_code == 400 and words in bad.text
    assert current(web, case)["_rev"] == case["_rev"]
    client = web.logged_in("enkhjargal")
    due = (date.today() - timedelta(days=2)).isoformat()
    assert post(client, url + "/services", type="health", response="pending", due_by=due,
                rev=case["_rev"]).status_code == 302
    stored = current(web, case)
    assert stored["data"]["services"][-1]["due_by"] == due
    assert f"answer overdue since {due}" in client.get(url).text
    assert stored["_id"] in cases.report(area_cases(web), date.today(), date.today().isoformat()[:7],
                                         web.svc.settings.case_follow_up_days)["ids"]["pending"]


def page_table(html: str, css_class: str) -> list[list[str]]:
    """A table of the page as text cells, one list per body row (header cells of a row included)."""
    body = html.split(f'class="{css_class}"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    return [[html_text.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_case_report_tables_download_with_the_pages_figures_and_no_case_content(web: Web):
    """Each table of the case report as CSV and XLSX: the page's figures, in the page's words, counts only;
    a concern or source typed like a formula (a device's case) stays text."""
    import csv

    from openpyxl import load_workbook

    today = date.today()
    month = today.isoformat()[:7]
    odd = cases.new_case(AREA, "01KREPORTFORMULA0000000001", author="batbold", coordinator="enkhjargal", risk="low",
                         team=["batbold"], at=f"{today.isoformat()}T08:00:00.000Z",
                         data={"child_name": "CP-FORMULA", "concerns": ["=HYPERLINK(\"x\")"], "source": "+1+1"})
    assert "rev" in web.svc.store.open(AREA).bulk_docs([check_doc(odd, new_edits=True)])[0]
    for who, lang in (("dolgor", "en"), ("enkhjargal", "mn")):
        client = web.logged_in(who, lang)
        html = client.get(f"/web/cases?area={AREA}&month={month}").text
        assert f"table=counts&amp;format=csv&amp;month={month}&amp;area={AREA}" in html
        shown = {"counts": page_table(html, "case-counts"), "by_source": page_table(html, "case-report-new"),
                 "by_concern": page_table(html, "case-report-concerns"),
                 "attention": [r[:2] for r in page_table(html, "case-report-alarms")],
                 "closures": page_table(html, "case-report-closures")}
        for name, rows in shown.items():
            resp = client.get(f"/web/cases?area={AREA}&month={month}&table={name}&format=csv")
            assert resp.status_code == 200 and resp.data.startswith(b"\xef\xbb\xbf"), name
            assert f'cases-{name.replace("_", "-")}-{month}.csv' in resp.headers["Content-Disposition"]
            got = list(csv.reader(io.StringIO(resp.text.lstrip("\ufeff"))))
            assert [[c.removeprefix("'") for c in r] for r in got[1:]] == rows, (name, who)
            assert "CP-FORMULA" not in resp.text and ":case:" not in resp.text  # counts only, never a case
            book = load_workbook(io.BytesIO(client.get(
                f"/web/cases?area={AREA}&month={month}&table={name}&format=xlsx").data))
            sheet = book[book.sheetnames[0]]
            cells = [list(r) for r in sheet.iter_rows(values_only=True)]
            assert cells[0] == got[0] and [[str(v) for v in r] for r in cells[1:]] == rows, name
            numbers = [v for r in cells[1:] for v in r[1:]]
            assert all(isinstance(v, int) for v in numbers), name  # figures are numbers in the sheet
        text = client.get(f"/web/cases?area={AREA}&month={month}&table=by_concern&format=csv").text
        assert "'=HYPERLINK(\"\"x\"\")" in text
        assert "'+1+1" in client.get(f"/web/cases?area={AREA}&month={month}&table=by_source&format=csv").text
        book = load_workbook(io.BytesIO(client.get(f"/web/cases?area={AREA}&month={month}&table=by_concern"
                                                   "&format=xlsx").data))
        sheet = book[book.sheetnames[0]]
        formula = next(c for row in sheet.iter_rows() for c in row if c.value == "=HYPERLINK(\"x\")")
        assert formula.data_type == "s"
    assert web.logged_in("dolgor", "en").get(f"/web/cases?area={AREA}&table=counts&format=csv").text.startswith(
        "\ufeffSoum,Open cases,High")
    assert web.logged_in("dolgor", "mn").get(f"/web/cases?area={AREA}&table=counts&format=csv").text.startswith(
        "\ufeffСум")


def test_a_case_table_download_is_for_those_who_see_the_page_and_bad_names_are_400(web: Web):
    assert web.logged_in("oyunaa").get(f"/web/cases?area={AREA}&table=counts&format=csv").status_code == 404
    assert web.logged_in("tsetseg").get(f"/web/cases?area={AREA}&table=counts&format=csv").status_code == 404
    for lang, words in (("en", "A download names one of the report"), ("mn", "Татаж авах")):
        client = web.logged_in("enkhjargal", lang)
        for query in ("table=everything&format=csv", "table=counts&format=pdf", "table=counts", "format=csv"):
            resp = client.get(f"/web/cases?area={AREA}&{query}")
            assert resp.status_code == 400 and words in resp.text, (lang, query)


def expected_counts_on(found: list[dict], day: str) -> list[int]:
    """The case counts at the end of ``day``, replayed here from each case's history."""
    out = Counter()
    for case in found:
        past = [h for h in case["data"].get("history") or [] if h["at"][:10] <= day]
        if not past:
            continue
        status = next((h["status"] for h in reversed(past) if "status" in h), "open")
        risk = next((h["risk"] for h in reversed(past) if "risk" in h), case["risk"])
        if status == "closed":
            out["closed"] += 1
            continue
        out["open"] += 1
        out[risk] += 1
        late = [f for f in case["data"].get("follow_ups") or []
                if f["due"] < day and not (f.get("done_on") and f["done_on"] <= day)]
        out["overdue_cases"] += bool(late)
        out["overdue_visits"] += len(late)
    return [out[k] for k in ("open", "high", "medium", "low", "overdue_cases", "overdue_visits", "closed")]


def test_the_case_counts_as_of_a_past_day_replay_each_cases_history(web: Web):
    """A case opened at medium risk, raised to high, then closed; its follow-up visit was overdue
    for a while before it was done: the soum report as of days in between counts it as it stood."""
    today = date.today()

    def ago(n: int) -> str:
        return (today - timedelta(days=n)).isoformat()

    case = cases.new_case(AREA, "01KASOFCASE000000000000001", author="batbold", coordinator="enkhjargal",
                          risk="medium", team=["batbold"], at=f"{ago(60)}T08:00:00.000Z",
                          data={"child_name": "CP-ASOF", "concerns": ["neglect"], "source": "teacher"})
    case = cases.changed(case, "enkhjargal", "follow_ups", at=f"{ago(59)}T09:00:00.000Z",
                         follow_ups=[{"due": ago(50), "done_on": None, "mode": "visit", "notes": ""}])
    case = cases.changed(case, "enkhjargal", "risk", at=f"{ago(40)}T09:00:00.000Z", risk="high")
    case = cases.changed(case, "enkhjargal", "follow_up_done", at=f"{ago(30)}T09:00:00.000Z",
                         follow_ups=[{"due": ago(50), "done_on": ago(30), "mode": "visit", "notes": ""}])
    case = cases.changed(case, "enkhjargal", "status", at=f"{ago(10)}T09:00:00.000Z", status="closed",
                         closure={"reason": "goals_met", "note": "", "closed_on": ago(10)})
    assert "rev" in web.svc.store.open(AREA).bulk_docs([check_doc(case, new_edits=True)])[0]
    found = area_cases(web)
    rows = {}
    for n in (0, 5, 10, 11, 30, 31, 45, 55, 60, 61, 200):
        day = ago(n)
        page = web.logged_in("dolgor", "en").get(f"/web/reports?area={AREA}&as_of={day}")
        assert page.status_code == 200, page.text[:300]
        section = page.text.split('<table class="case-counts">', 1)[1].split("</table>", 1)[0]
        got = [int(x) for x in re.findall(r'<td class="num">(\d+)</td>', section)]
        assert got == expected_counts_on(found, day), day
        assert ("each case's status and risk from its history" in page.text) == (n > 0)
        rows[n] = got
        listing = web.logged_in("dolgor", "en").get(f"/web/cases?area={AREA}&as_of={day}").text
        section = listing.split('<table class="case-counts">', 1)[1].split("</table>", 1)[0]
        assert [int(x) for x in re.findall(r'<td class="num">(\d+)</td>', section)] == got
        csv_rows = web.logged_in("dolgor", "en").get(
            f"/web/cases?area={AREA}&as_of={day}&table=counts&format=csv").text.splitlines()
        assert csv_rows[1].split(",")[1:] == [str(x) for x in got], day
    assert rows[0] == expected_counts_on(found, ago(0)) == [
        *(lambda c: [c["open"], c["by_risk"]["high"], c["by_risk"]["medium"], c["by_risk"]["low"],
                     c["overdue_cases"], c["overdue_visits"], c["closed"]])(cases.counts(found, today))]
    # the case itself: medium and overdue at 45 days, high and overdue at 31, high not overdue at 30,
    # closed at 10, not there at 61
    assert rows[45][2] - rows[55][2] == 0 and rows[61][0] == rows[60][0] - 1
    assert rows[31][4] == rows[30][4] + 1 and rows[10][6] == rows[11][6] + 1
