"""The child register and the family card: the write gate's rules, the families pages (issue 19.2).

Over HTTP with Flask's test client on a real SQLite store seeded as ``fieldsync demo`` seeds it
(families, growth visits, children and family cards). A worker's device writes children and
cards through ``/db/<area>/_bulk_docs`` like any document; the gate refuses wrong states and
steps with a reason in both languages, and the coordinator's page does the same with a 400 in
the page's language, writing nothing. Coordinators of another aimag and workers get 404.
"""

from __future__ import annotations

import base64
import random
import re
from datetime import date, timedelta
from fractions import Fraction

import pytest
from webworld import Web, build_web, csrf

from sync import families, records
from sync.demo import DEMO_PASSWORD, growth_visit, seed_demo, submission

TES, KHARKHORIN = "uvs-tes", "ovr-kharkhorin"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    world = build_web(tmp_path_factory.mktemp("families") / "data")
    svc = world.svc
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=20, registers=True, programmes=True)
    return world


def fams(web: Web, area: str) -> list[dict]:
    return list(records.iter_docs(web.svc.store.open(area), f"{area}:fam:"))


def push(web: Web, user: str, area: str, docs: list[dict]) -> list[dict]:
    """Documents of ``area`` pushed by ``user``s device through its replica endpoint."""
    assert all(d["_id"].startswith(area + ":") for d in docs)
    client = web.app.test_client()
    auth = base64.b64encode(f"{user}:{DEMO_PASSWORD}".encode()).decode()
    resp = client.post(f"/sync/{user}/_bulk_docs", json={"docs": docs}, headers={"Authorization": f"Basic {auth}"})
    assert resp.status_code == 201, resp.text
    return resp.get_json()


def test_the_demo_links_children_to_families_and_their_growth_visits(web):
    db = web.svc.store.open(TES)
    families_ids = {f["_id"] for f in fams(web, TES)}
    children = list(records.iter_docs(db, f"{TES}:child:"))
    assert len(children) == 2 * len(families_ids) and {c["family"] for c in children} == families_ids
    visits = [d for d in records.iter_docs(db, f"{TES}:sub:") if d.get("form") == "growth_visit"]
    for child in children:
        key = child["_id"].split(":", 2)[2]
        mine = [v for v in visits if v["data"]["child_id"] == key]
        assert mine and all(v["data"]["dob"] == child["dob"] and v["data"]["sex"] == child["sex"] for v in mine)
    cards = list(records.iter_docs(db, f"{TES}:fes:"))
    assert {c["family"] for c in cards} == families_ids
    assert all(families.check_card(c, None, families.FesAreas(web.svc.store).codes()) == [] for c in cards)


def test_a_worker_writes_a_child_and_a_card_and_the_gate_refuses_wrong_ones(web):
    fam = fams(web, TES)[0]["_id"]
    key = fam.split(":", 2)[2]
    child = {"_id": f"{TES}:child:01JTESTCHILD00000000000000", "type": "child", "name": "Бат", "sex": "m",
             "dob": "2024-03-01", "family": fam}
    card = {"_id": f"{TES}:fes:{key}X", "type": "fes", "family": fam,
            "areas": {"wash": {"status": "assessment", "history": [
                {"status": "assessment", "date": "2026-10-01", "note": ""}]}}}
    bad_child = {**child, "_id": f"{TES}:child:01JTESTCHILD00000000000001", "sex": "x", "dob": "2099-01-01",
                 "family": f"{KHARKHORIN}:fam:ABC"}
    out = push(web, "bolormaa", TES, [child, card, bad_child])
    assert "rev" in out[0]
    assert out[1]["error"] == "forbidden" and "family card's id is the family's key" in out[1]["reason"]
    assert "awareness, assessment, action" not in out[1]["reason"]  # the steps were not reached: id wrong
    assert out[2]["error"] == "forbidden"
    assert {"sex", "dob", "family"} <= {m.split(":")[0] for m in out[2]["reason"].split("; ")}
    assert "Хүйс f эсвэл m байх ёстой." in out[2]["messages"]["mn"]
    db = web.svc.store.open(TES)
    assert records.read(db, bad_child["_id"]) is None
    # A card starts with awareness, steps one at a time, keeps its history.
    real = families.card_id(fam)
    current = records.read(db, real)
    first = {**current, "areas": {**current["areas"], "wash": {"status": "assessment", "history": [
        {"status": "assessment", "date": "2026-10-01"}]}}}
    if "wash" in current["areas"]:
        first["areas"].pop("wash")
        first["areas"]["wash"] = {"status": "assessment", "history": [{"status": "assessment", "date": "2026-10-01"}]}
    codes = families.FesAreas(web.svc.store).codes()
    fresh = [c for c in sorted(codes) if c not in current["areas"]][0]
    jump = {**current, "areas": {**current["areas"], fresh: {"status": "action", "history": [
        {"status": "action", "date": "2026-10-01"}]}}}
    out = push(web, "bolormaa", TES, [jump])
    assert out[0]["error"] == "forbidden" and "From - the next step is awareness, not action." in out[0]["reason"]
    bad_state = {**current, "areas": {**current["areas"], fresh: {"status": "done", "history": []}}}
    out = push(web, "bolormaa", TES, [bad_state])
    assert "Төлөв нь awareness, assessment, action-ийн аль нэг" in out[0]["messages"]["mn"]
    unknown = {**current, "areas": {**current["areas"], "astrology": {"status": "awareness", "history": [
        {"status": "awareness", "date": "2026-10-01"}]}}}
    out = push(web, "bolormaa", TES, [unknown])
    assert "'astrology' is not a programme area" in out[0]["reason"]
    some, entry = next(iter(current["areas"].items()))
    rewritten = {**current, "areas": {**current["areas"], some: {**entry, "history": [
        {**entry["history"][0], "note": "changed"}, *entry["history"][1:]]}}}
    out = push(web, "bolormaa", TES, [rewritten])
    assert "cannot be changed or removed" in out[0]["reason"]
    good = {**current, "areas": {**current["areas"], fresh: {"status": "awareness", "history": [
        {"status": "awareness", "date": "2026-10-01", "note": "session"}]}}}
    out = push(web, "bolormaa", TES, [good])
    assert "rev" in out[0]
    assert records.read(db, real)["areas"][fresh]["status"] == "awareness"
    # Another soum's worker may not write Tes's children.
    out = push(web, "tsetseg", TES, [{**child, "_id": f"{TES}:child:01JTESTCHILD00000000000002"}])
    assert out[0]["error"] == "forbidden"


def test_pages_are_the_coordinators_of_the_area_only(web):
    fam = fams(web, TES)[0]["_id"]
    other = fams(web, KHARKHORIN)[0]["_id"]
    oyunaa = web.logged_in("oyunaa", "en")
    assert oyunaa.get(f"/web/areas/{TES}/families").status_code == 200
    assert oyunaa.get(f"/web/families/{fam}").status_code == 200
    assert oyunaa.get(f"/web/areas/{KHARKHORIN}/families").status_code == 404
    assert oyunaa.get(f"/web/families/{other}").status_code == 404
    assert oyunaa.get(f"/web/families/{TES}:fam:NOSUCH").status_code == 404
    assert oyunaa.get(f"/web/families/{TES}:kg:NOSUCH").status_code == 404
    assert oyunaa.get("/web/admin/family-card").status_code == 404
    worker = web.logged_in("bolormaa", "en")
    for path in (f"/web/areas/{TES}/families", f"/web/families/{fam}", "/web/families"):
        assert worker.get(path).status_code == 404
    enkh = web.logged_in("enkhjargal", "en")
    assert enkh.get(f"/web/families/{fam}").status_code == 404
    assert enkh.get(f"/web/families/{other}").status_code == 200


def test_the_family_page_shows_children_growth_visits_and_the_card(web):
    db = web.svc.store.open(TES)
    fam = fams(web, TES)[1]
    children = [c for c in records.iter_docs(db, f"{TES}:child:") if c["family"] == fam["_id"]]
    visits = [d for d in records.iter_docs(db, f"{TES}:sub:") if (d.get("data") or {}).get("family") == fam["_id"]]
    card = records.read(db, families.card_id(fam["_id"]))
    for lang, action in (("en", "Action"), ("mn", "Арга хэмжээ")):
        page = web.logged_in("oyunaa", lang).get(f"/web/families/{fam['_id']}")
        assert page.status_code == 200
        for child in children:
            assert child["name"] in page.text and child["dob"] in page.text
            key = child["_id"].split(":", 2)[2]
            newest = max(d["data"]["visit_date"] for d in records.iter_docs(db, f"{TES}:sub:")
                         if d.get("form") == "growth_visit" and d["data"].get("child_id") == key)
            assert newest in page.text
        assert visits and all(v["_id"] in page.text for v in visits)
        assert all(h["date"] in page.text for e in card["areas"].values() for h in e["history"])
        if any(e["status"] == "action" for e in card["areas"].values()):
            assert action in page.text


def test_the_families_list_searches_and_pages_through_key_ranges(web):
    client = web.logged_in("oyunaa", "en")
    everyone = sorted(fams(web, TES), key=lambda f: f["_id"])
    page = client.get(f"/web/areas/{TES}/families")
    assert all(f["_id"] in page.text for f in everyone)
    name = everyone[2]["name"]
    found = client.get(f"/web/areas/{TES}/families", query_string={"q": name.split()[-1]})
    expected = [f for f in everyone if name.split()[-1].casefold() in f["name"].casefold()
                or name.split()[-1].casefold() in f["bag"].casefold()]
    assert sorted(re.findall(r'/web/families/([^"]+)"', found.text)) == sorted(f["_id"] for f in expected)
    from server.web import families as pages

    pages.PAGE, before = 4, pages.PAGE
    try:
        first = client.get(f"/web/areas/{TES}/families")
        ids1 = re.findall(r'/web/families/([^"]+)"', first.text)
        after = re.search(r'href="[^"]*after=([^"&]+)">Next page<', first.text).group(1)
        second = client.get(f"/web/areas/{TES}/families?after={after}")
        ids2 = re.findall(r'/web/families/([^"]+)"', second.text)
        assert ids1 + ids2 == [f["_id"] for f in everyone] and "Next page" not in second.text
    finally:
        pages.PAGE = before
    assert client.get(f"/web/areas/{TES}/families?q=" + "x" * 101).status_code == 400
    mn = web.logged_in("oyunaa", "mn")
    resp = mn.get(f"/web/areas/{TES}/families?after={KHARKHORIN}:fam:X")
    assert resp.status_code == 400 and "нутгийн" in resp.text


def step(client, fam_id: str, **form) -> object:
    token = csrf(client, f"/web/families/{fam_id}")
    return client.post(f"/web/families/{fam_id}/card", data={"csrf_token": token, **form})


def test_a_coordinator_adds_steps_and_wrong_ones_get_400_in_the_page_language(web):
    fam = fams(web, TES)[3]["_id"]
    db = web.svc.store.open(TES)
    before = records.read(db, families.card_id(fam))
    stored = {r["id"]: r["value"]["rev"] for r in db.all_docs()}
    fresh = [c for c in sorted(families.FesAreas(web.svc.store).codes()) if c not in before["areas"]][0]
    mn = web.logged_in("oyunaa", "mn")
    resp = step(mn, fam, rev=before["_rev"], area=fresh, status="action", date="2026-11-01", note="")
    assert resp.status_code == 400 and "төлвөөс дараагийн алхам нь awareness" in resp.text
    en = web.logged_in("oyunaa", "en")
    resp = step(en, fam, rev=before["_rev"], area=fresh, status="awareness", date="2026-13-45", note="")
    assert resp.status_code == 400 and "Dates are written as YYYY-MM-DD, for example 2026-11-30." in resp.text
    resp = step(mn, fam, rev=before["_rev"], area=fresh, status="awareness", date="2026-11-01", note="т" * 1001)
    assert resp.status_code == 400 and "Тэмдэглэл ихдээ 1000 тэмдэгт байна." in resp.text
    resp = step(en, fam, rev=before["_rev"], area="astrology", status="awareness", date="2026-11-01")
    assert resp.status_code == 400 and "is not a programme area" in resp.text
    resp = step(en, fam, rev="1-stale", area=fresh, status="awareness", date="2026-11-01")
    assert resp.status_code == 409
    assert records.read(db, families.card_id(fam)) == before  # nothing half-written
    # Nor anything beside it: the coordinator read the refusal, so no quarantine entry, no feedback.
    assert {r["id"]: r["value"]["rev"] for r in db.all_docs()} == stored
    resp = step(en, fam, rev=before["_rev"], area=fresh, status="awareness", date="2026-11-01", note="FES session")
    assert resp.status_code == 302
    after = records.read(db, families.card_id(fam))
    assert after["areas"][fresh]["history"] == [
        {"status": "awareness", "date": "2026-11-01", "note": "FES session", "by": "oyunaa"}]
    assert {k: v for k, v in after["areas"].items() if k != fresh} == before["areas"]
    resp = step(en, fam, rev=after["_rev"], area=fresh, status="assessment", date="2026-11-20", note="card seen")
    assert resp.status_code == 302
    assert records.read(db, families.card_id(fam))["areas"][fresh]["status"] == "assessment"
    other = fams(web, KHARKHORIN)[0]["_id"]
    assert step(en, other, rev="", area=fresh, status="awareness", date="2026-11-01").status_code == 404


def post_areas(client, items, rev, **extra):
    token = csrf(client, "/web/admin/family-card")
    form = {"csrf_token": token, "rev": rev, "rows": str(len(items)), **extra}
    for i, (code, mn, en) in enumerate(items):
        form.update({f"code_{i}": code, f"mn_{i}": mn, f"en_{i}": en})
    return client.post("/web/admin/family-card", data=form)


def test_admins_configure_the_programme_areas_and_bad_rows_get_400(web):
    store = families.FesAreas(web.svc.store)
    before = store.get()
    assert len(before["items"]) == 13
    mn = web.logged_in("admin", "mn")
    resp = post_areas(mn, [("wash", "Ус", "Water"), ("wash", "Ус", "Water")], before.get("_rev") or "")
    assert resp.status_code == 400 and "wash" in resp.text and "хоёр удаа" in resp.text
    en = web.logged_in("admin", "en")
    resp = post_areas(en, [("Bad Code", "Ус", "Water")], before.get("_rev") or "")
    assert resp.status_code == 400 and "Row 1: the code must be" in resp.text
    resp = post_areas(en, [("x", "", "Water")], before.get("_rev") or "")
    assert resp.status_code == 400 and "Mongolian and in English" in resp.text
    assert store.get() == before
    rows = [(i["code"], i["text"]["mn"], i["text"]["en"]) for i in before["items"]]
    resp = post_areas(en, [*rows, ("gardening2", "Хашааны ногоо", "Backyard vegetables")], "")
    assert resp.status_code == 302
    assert "gardening2" in store.codes() and "gardening2" in web.svc.gate.fes_codes()
    oyunaa = web.logged_in("oyunaa", "en")
    fam = fams(web, TES)[0]["_id"]
    assert "Backyard vegetables" in oyunaa.get(f"/web/families/{fam}").text


def test_a_step_without_the_pages_token_is_refused_and_nothing_written(web):
    fam = fams(web, TES)[4]["_id"]
    db = web.svc.store.open(TES)
    before = records.read(db, families.card_id(fam))
    fresh = [c for c in sorted(families.FesAreas(web.svc.store).codes()) if c not in before["areas"]][0]
    client = web.logged_in("oyunaa", "en")  # a step the gate would take, but the form lacks its token
    resp = client.post(f"/web/families/{fam}/card", data={"rev": before["_rev"], "area": fresh,
                                                          "status": "awareness", "date": "2026-11-01"})
    assert resp.status_code == 400
    assert records.read(db, families.card_id(fam)) == before


def test_the_list_counts_families_per_programme_area_and_state(web):
    """The soum's view of the cards, recomputed here from the card documents."""
    cards = list(records.iter_docs(web.svc.store.open(TES), f"{TES}:fes:"))
    items = families.FesAreas(web.svc.store).get()["items"]
    page = web.logged_in("oyunaa", "en").get(f"/web/areas/{TES}/families").text
    table = page[page.index('class="card-tally"'):]
    assert f"{len(cards)} families have a card" in page
    for item in items:
        want = [sum(1 for c in cards if (c["areas"].get(item["code"]) or {}).get("status") == s)
                for s in families.STATES]
        row = re.search(re.escape(f"<td>{item['text']['en']}</td>") + r"((?:<td class=\"num\">\d+</td>){3})", table)
        assert row, item
        assert [int(n) for n in re.findall(r"\d+", row.group(1))] == want, item["code"]
    assert sum(1 for c in cards for e in c["areas"].values() if e["status"] == "action") > 0


# -- family assessments (the Family Empowerment Strategy's indicators) ---------------------------------

FLAG = "protection_concern"  # a concern to refer: never counted in the score (programmes.md section 5)


def assessments_of(web: Web, area: str) -> list[dict]:
    return [d for d in records.iter_docs(web.svc.store.open(area), f"{area}:sub:")
            if d.get("form") == "family_assessment"]


def score(data: dict) -> Fraction | None:
    """met / applicable written out again: yes over yes and no, N/A and the concern left out."""
    answers = [r["answer"] for r in data["indicators"] if r["indicator"] != FLAG]
    applicable = answers.count("yes") + answers.count("no")
    return Fraction(answers.count("yes"), applicable) if applicable else None


def assessment(fam_id: str, key: str, rnd: str, day: str, answers: dict[str, str]) -> dict:
    rows = [{"indicator": code, "answer": a, **({"evidence": "observed"} if a != "na" else {})}
            for code, a in answers.items()]
    return {"_id": f"{TES}:sub:{key}", "type": "submission", "form": "family_assessment", "form_version": 1,
            "author": "bolormaa", "created_at": f"{day}T10:00:00+08:00",
            "data": {"family_id": fam_id, "round": rnd, "date": day, "present": ["mother"], "indicators": rows}}


def test_the_demo_assesses_every_family_and_the_server_derives_each_score(web):
    subs = assessments_of(web, TES)
    db = web.svc.store.open(TES)
    family_ids = {f["_id"] for f in fams(web, TES)}
    baseline = {s["data"]["family_id"] for s in subs if s["data"]["round"] == "baseline"}
    follow = {s["data"]["family_id"] for s in subs if s["data"]["round"] == "follow_up"}
    assert baseline == family_ids and follow and follow < family_ids
    codes = [i["id"] for i in families.IndicatorList(web.svc.store).get()["items"]]
    assert codes[-1] == FLAG and len(codes) == 10
    for sub in subs:
        assert [r["indicator"] for r in sub["data"]["indicators"]] == codes
        derived = records.read(db, f"{TES}:derived:{sub['_id'].split(':', 2)[2]}")
        assert derived["about_rev"] == sub["_rev"] and derived["method"]["name"] == "fes-family-score"
        want = score(sub["data"])
        answers = {r["indicator"]: r["answer"] for r in sub["data"]["indicators"]}
        scored = [a for c, a in answers.items() if c != FLAG]
        assert derived["derived"]["family_score"] == (None if want is None else round(float(want), 4))
        assert (derived["derived"]["met"], derived["derived"]["applicable"]) == (
            scored.count("yes"), scored.count("yes") + scored.count("no"))
        assert derived["derived"]["concerns"] == ([FLAG] if answers[FLAG] == "yes" else [])


def test_a_pushed_assessment_is_scored_rescored_when_edited_and_bad_answers_are_refused(web):
    fam = fams(web, TES)[2]["_id"]
    doc = assessment(fam, "01JFAMASSESS0000000000000A", "follow_up", "2026-11-20",
                     {"improved_water": "yes", "improved_latrine": "no", "home_garden": "yes", "ecd_attendance": "na",
                      FLAG: "yes"})
    out = push(web, "bolormaa", TES, [doc])
    assert "rev" in out[0], out
    db = web.svc.store.open(TES)
    derived = records.read(db, f"{TES}:derived:01JFAMASSESS0000000000000A")
    assert derived["about_rev"] == out[0]["rev"]
    assert {k: derived["derived"][k] for k in ("met", "not_met", "na", "applicable", "family_score", "concerns")} == {
        "met": 2, "not_met": 1, "na": 1, "applicable": 3, "family_score": round(2 / 3, 4), "concerns": [FLAG]}
    # The worker edits it: every scored item unmet. The derived values follow the new revision.
    edited = {**doc, "_rev": out[0]["rev"]}
    edited["data"] = {**doc["data"], "indicators": [
        {**r, "answer": "no", "evidence": "observed"} if r["indicator"] not in (FLAG, "ecd_attendance") else r
        for r in doc["data"]["indicators"]]}
    out = push(web, "bolormaa", TES, [edited])
    assert "rev" in out[0], out
    derived = records.read(db, f"{TES}:derived:01JFAMASSESS0000000000000A")
    assert derived["about_rev"] == out[0]["rev"] and derived["derived"]["family_score"] == 0.0
    # The coordinator's list of lowest scores has the family first (the only 0 in Tes), with its concern.
    page = web.logged_in("oyunaa", "en").get(f"/web/areas/{TES}/families/assessments").text
    first = re.search(r'<tr data-family="([^"]+)">(.*?)</tr>', page[page.index('class="lowest"'):], re.S)
    assert first.group(1) == fam and "0%" in first.group(2) and ">yes<" in first.group(2)
    family_page = web.logged_in("oyunaa", "mn").get(f"/web/families/{fam}").text
    mine = re.search(r'<li><a href="[^"]*01JFAMASSESS0000000000000A">.*?</li>', family_page).group(0)
    assert "Давтан үнэлгээ" in mine and "<span data-score>Гэр бүлийн оноо 0%</span>" in mine
    # A wrong answer, a wrong round: refused by the form's rules, nothing stored or derived.
    bad = assessment(fam, "01JFAMASSESS0000000000000B", "midline", "2026-11-21", {"improved_water": "maybe"})
    out = push(web, "bolormaa", TES, [bad])
    assert out[0]["error"] == "forbidden"
    assert "round" in out[0]["reason"] and "indicators[0].answer" in out[0]["reason"]
    assert records.read(db, bad["_id"]) is None and records.read(db, f"{TES}:derived:01JFAMASSESS0000000000000B") is None
    # An indicator answered twice passes the form but gets no score: the reason is kept instead.
    twice = assessment(fam, "01JFAMASSESS0000000000000C", "follow_up", "2026-11-21", {"improved_water": "yes"})
    twice["data"]["indicators"].append({"indicator": "improved_water", "answer": "no", "evidence": "reported"})
    assert "rev" in push(web, "bolormaa", TES, [twice])[0]
    derived = records.read(db, f"{TES}:derived:01JFAMASSESS0000000000000C")
    assert derived["derived"] is None and "answered twice" in derived["error"]
    # Delete the twice-answered one again, so that the other tests' figures are the demo's and the edit's.
    gone = push(web, "bolormaa", TES, [{"_id": twice["_id"], "_rev": records.read(db, twice["_id"])["_rev"],
                                        "_deleted": True}])
    assert "rev" in gone[0]
    assert records.read(db, f"{TES}:derived:01JFAMASSESS0000000000000C") is None


def _cell(text: str) -> tuple[int, int] | None:
    text = re.sub(r"<[^>]+>", "", text).replace("&nbsp;", " ").strip()
    if text == "–":
        return None
    m = re.fullmatch(r"(\d+)% \((\d+)/(\d+)\)", text)
    assert m, text
    assert int(m.group(1)) == round(100 * int(m.group(2)) / int(m.group(3)))
    return int(m.group(2)), int(m.group(3))


def test_the_coverage_table_and_the_lowest_scores_are_recomputed_from_the_answers(web):
    """Bag by bag, baseline against the latest round, from the submissions' own answers and the register."""
    subs = assessments_of(web, TES)
    bag_of = {f["_id"]: f.get("bag") or "" for f in fams(web, TES)}
    newest: dict[str, dict[str, dict]] = {"baseline": {}, "latest": {}, "any": {}}
    for sub in sorted(subs, key=lambda s: (s["data"]["date"], s["_id"])):
        d = sub["data"]
        newest["baseline" if d["round"] == "baseline" else "latest"][d["family_id"]] = d
        newest["any"][d["family_id"]] = d
    items = families.IndicatorList(web.svc.store).get()["items"]
    page = web.logged_in("oyunaa", "en").get(f"/web/areas/{TES}/families/assessments")
    assert page.status_code == 200
    html = page.text
    rows = dict(re.findall(r'<tr data-indicator="([^"]+)">(.*?)</tr>', html, re.S))
    assert list(rows) == [i["id"] for i in items]
    bags = sorted({bag_of[f] for r in ("baseline", "latest") for f in newest[r]})
    checked = 0
    for item in items:
        assert item["label_en"] in rows[item["id"]]
        cells = dict(re.findall(r'<td data-bag="([^"]*)">(.*?)</td>', rows[item["id"]], re.S))
        assert list(cells) == [*bags, "*"]
        for bag in [*bags, "*"]:
            base, latest = cells[bag].split("→")
            for rnd, shown in (("baseline", base), ("latest", latest)):
                answers = [next(r["answer"] for r in d["indicators"] if r["indicator"] == item["id"])
                           for f, d in newest[rnd].items() if bag in ("*", bag_of[f])
                           and any(r["indicator"] == item["id"] for r in d["indicators"])]
                yes, no = answers.count("yes"), answers.count("no")
                assert _cell(shown) == ((yes, yes + no) if yes + no else None), (item["id"], bag, rnd)
                checked += yes + no > 0
    assert checked > 20
    for rnd, label in (("baseline", "Baseline"), ("latest", "Latest round")):
        scores = [score(d) for d in newest[rnd].values() if score(d) is not None]
        pct = round(100 * float(sum(scores)) / len(scores))
        assert f"{label}: {len(newest[rnd])} families, mean score {pct}%." in html
    ranked = sorted(((score(d), f) for f, d in newest["any"].items() if score(d) is not None))
    shown = re.findall(r'<tr data-family="([^"]+)">.*?data-score>(\d+)%</td><td class="num">(\d+)/(\d+)</td>',
                       html, re.S)
    assert [(f, int(p)) for f, p, _, _ in shown] == [(f, round(100 * float(s))) for s, f in ranked[:10]]
    assert all(Fraction(int(m), int(a)) == s for (_, _, m, a), (s, _) in zip(shown, ranked, strict=False))
    two = web.logged_in("oyunaa", "en").get(f"/web/areas/{TES}/families/assessments?lowest=2").text
    assert re.findall(r'<tr data-family="([^"]+)">', two) == [f for _, f in ranked[:2]]
    families_page = web.logged_in("oyunaa", "en").get(f"/web/areas/{TES}/families").text
    assert f"/web/areas/{TES}/families/assessments" in families_page


def test_the_assessments_page_refuses_bad_input_in_the_users_language_and_other_aimags(web):
    en, mn = web.logged_in("oyunaa", "en"), web.logged_in("oyunaa", "mn")
    for bad in ("abc", "0", "101", "-3", "2.5"):
        resp = en.get(f"/web/areas/{TES}/families/assessments?lowest={bad}")
        assert resp.status_code == 400 and "a whole number from 1 to 100" in resp.text, bad
    resp = mn.get(f"/web/areas/{TES}/families/assessments?lowest=x")
    assert resp.status_code == 400 and "1-ээс 100 хүртэлх бүхэл тоо" in resp.text
    page = mn.get(f"/web/areas/{TES}/families/assessments")
    assert page.status_code == 200 and "Хамгийн бага оноотой гэр бүлүүд" in page.text
    assert "Сайжруулсан ундны усны эх үүсвэртэй" in page.text
    assert en.get(f"/web/areas/{KHARKHORIN}/families/assessments").status_code == 404
    assert web.logged_in("bolormaa", "en").get(f"/web/areas/{TES}/families/assessments").status_code == 404


STATUSES = ("in_progress", "planned", "done", "dropped")


def test_the_triple_a_tally_and_the_project_list_follow_the_sessions_and_projects(web):
    """Sessions and projects per programme area, recomputed from the submissions; a project's status
    changed by an edit shows at once; a project with a wrong status date is refused."""
    db = web.svc.store.open(TES)
    projects = [d for d in records.iter_docs(db, f"{TES}:sub:") if d.get("form") == "community_project"]
    planned = next(p for p in projects if p["data"]["status"] == "planned")
    edited = {**planned, "data": {**planned["data"], "status": "done", "status_date": date.today().isoformat()}}
    out = push(web, "bolormaa", TES, [edited])
    assert "rev" in out[0], out
    bad = {**planned, "_id": f"{TES}:sub:01JFAMPROJECT000000000000X", "data": {
        **planned["data"], "status_date": "2020-01-02", "area": "Water!"}}
    bad.pop("_rev")
    out = push(web, "bolormaa", TES, [bad])
    assert out[0]["error"] == "forbidden" and "status_date" in out[0]["reason"] and "area" in out[0]["reason"]
    sessions = [d["data"] for d in records.iter_docs(db, f"{TES}:sub:") if d.get("form") == "awareness_session"]
    projects = [d for d in records.iter_docs(db, f"{TES}:sub:") if d.get("form") == "community_project"]
    assert sessions and len(projects) == 3
    want: dict[str, list[int]] = {}
    reached: dict[str, set[str]] = {}
    for data in sessions:
        row = want.setdefault(data["area"], [0] * 7)
        row[0] += 1
        row[1] += data["attendees_women"] + data["attendees_men"]
        reached.setdefault(data["area"], set()).update(f["family_id"] for f in data.get("families", []))
    for p in projects:
        want.setdefault(p["data"]["area"], [0] * 7)[3 + STATUSES.index(p["data"]["status"])] += 1
    for area, fams_reached in reached.items():
        want[area][2] = len(fams_reached)
    html = web.logged_in("oyunaa", "en").get(f"/web/areas/{TES}/families/assessments").text
    table = html[html.index('class="triple-a"'):html.index('class="projects"')]
    shown = {code: [int(n) for n in re.findall(r'<td class="num"[^>]*>(\d+)</td>', body)]
             for code, body in re.findall(r'<tr data-area="([^"]+)">(.*?)</tr>', table, re.S)}
    assert shown == want
    assert want[edited["data"]["area"]][3 + STATUSES.index("done")] >= 1
    rows = re.findall(r'<tr data-project="([^"]+)">(.*?)</tr>', html[html.index('class="projects"'):], re.S)
    order = sorted(projects, key=lambda p: (STATUSES.index(p["data"]["status"]), p["data"]["start_date"], p["_id"]))
    assert [r[0] for r in rows] == [p["_id"] for p in order]
    mine = dict(rows)[planned["_id"]]
    assert 'data-status="done"' in mine and date.today().isoformat() in mine
    coverage = dict(re.findall(r'<tr data-indicator="([^"]+)">(.*?)</tr>', html, re.S))
    for p in projects:  # each target's soum-wide change is the coverage table's "All bags" cell
        for t in (row["indicator"] for row in p["data"]["targets"]):
            li = re.search(rf'<li data-indicator="{t}">(.*?)</li>', dict(rows)[p["_id"]], re.S).group(1)
            whole = re.search(r'<td data-bag="\*">(.*?)</td>', coverage[t], re.S).group(1)
            assert figures(li.split(":", 1)[1]) == figures(whole) and len(figures(whole)) == 2


def figures(fragment: str) -> list[tuple[int, int] | None]:
    """The baseline and latest cells of a fragment, in order, as (met, applicable)."""
    text = re.sub(r"<[^>]+>", "", fragment).replace("&nbsp;", " ")
    return [None if m.group(0) == "–" else (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"(\d+)% \((\d+)/(\d+)\)|–", text)]


def post_indicators(client, items, rev):
    token = csrf(client, "/web/admin/family-indicators")
    form = {"csrf_token": token, "rev": rev, "rows": str(len(items))}
    for i, (code, mn, en, applies) in enumerate(items):
        form.update({f"id_{i}": code, f"mn_{i}": mn, f"en_{i}": en, f"applies_{i}": applies})
    return client.post("/web/admin/family-indicators", data=form)


def test_admins_configure_the_indicators_and_bad_rows_get_400(web):
    """Last in the module: the changed list shows on the assessments page."""
    store = families.IndicatorList(web.svc.store)
    before = store.get()
    assert "_rev" not in before and [i["id"] for i in before["items"]][:2] == ["growth_monitored", "micronutrients"]
    assert web.logged_in("oyunaa", "en").get("/web/admin/family-indicators").status_code == 404
    en, mn = web.logged_in("admin", "en"), web.logged_in("admin", "mn")
    resp = post_indicators(en, [("water", "Ус", "Water", "everyone")], "")
    assert resp.status_code == 400 and "Row 1: choose whom the indicator applies to." in resp.text
    resp = post_indicators(mn, [("water", "Ус", "Water", "family"), ("water", "Ус", "Water", "family")], "")
    assert resp.status_code == 400 and "хоёр удаа" in resp.text
    resp = post_indicators(en, [("Bad Code", "Ус", "Water", "family")], "")
    assert resp.status_code == 400 and "Row 1: the code must be" in resp.text
    assert store.get() == before
    rows = [(i["id"], i["label_mn"], i["label_en"], i["applies_to"]) for i in before["items"]]
    resp = post_indicators(en, [*rows, ("warm_clothes", "Өвлийн дулаан хувцастай", "Warm winter clothes", "child_0_59m")],
                           "")
    assert resp.status_code == 302
    after = store.get()
    assert after["_id"] == families.INDICATORS_DOC and after["items"][-1]["id"] == "warm_clothes"
    assert post_indicators(en, rows, "").status_code == 409  # a stale revision: another admin saved meanwhile
    page = web.logged_in("oyunaa", "en").get(f"/web/areas/{TES}/families/assessments").text
    assert "Warm winter clothes" in page


def test_the_assessment_tables_download_with_the_pages_figures(web):
    """Each table of the assessments page as CSV and XLSX holds the page's figures in its words; a family
    named like a formula (typed on a device) stays text in both."""
    import csv
    import io

    from openpyxl import load_workbook

    db = web.svc.store.open(TES)
    client = web.logged_in("oyunaa", "en")
    first = client.get(f"/web/areas/{TES}/families/assessments?lowest=3").text
    lowest_id = re.search(r'<tr data-family="([^"]+)">', first).group(1)
    fam = db.get(lowest_id)
    assert "rev" in db.bulk_docs([{**fam, "name": "=1+2 " + fam["name"]}])[0]
    html = client.get(f"/web/areas/{TES}/families/assessments?lowest=3").text

    def download(name: str, fmt: str) -> list[list]:
        resp = client.get(f"/web/areas/{TES}/families/assessments?lowest=3&table={name}&format={fmt}")
        assert resp.status_code == 200, (name, fmt)
        assert f'family-{name.replace("_", "-")}-{TES}.{fmt}"' in resp.headers["Content-Disposition"]
        if fmt == "csv":
            assert resp.data.startswith(b"\xef\xbb\xbf")
            return list(csv.reader(io.StringIO(resp.text.lstrip("\ufeff"))))
        sheet = load_workbook(io.BytesIO(resp.data)).active
        return [["" if v is None else v for v in r] for r in sheet.iter_rows(values_only=True)]

    tables = {n: (download(n, "csv"), download(n, "xlsx")) for n in ("coverage", "lowest", "triple_a", "projects")}
    for name, (text, book) in tables.items():
        assert text[0] == book[0] and len(text) == len(book) > 1, name
        for a, b in zip(text[1:], book[1:], strict=True):
            assert [c.removeprefix("'") for c in a] == [str(c) for c in b], name
    # coverage: the page's cells, indicator by indicator and bag by bag (the "All bags" column last)
    rows = dict(re.findall(r'<tr data-indicator="([^"]+)">(.*?)</tr>', html, re.S))
    got = iter(tables["coverage"][1][1:])
    for body in rows.values():
        for _bag, cell in re.findall(r'<td data-bag="([^"]*)">(.*?)</td>', body, re.S):
            line = next(got)
            want = [_cell(part) for part in cell.split("→")]
            assert [None if line[2 + 3 * i] == "" else (line[2 + 3 * i], line[3 + 3 * i]) for i in (0, 1)] == want
            for i in (0, 1):
                if want[i]:
                    assert line[4 + 3 * i] == round(100 * want[i][0] / want[i][1])
    assert next(got, None) is None
    # lowest: the families, scores and indicators met as the page lists them
    shown = re.findall(r'<tr data-family="([^"]+)">.*?data-score>(\d+)%</td><td class="num">(\d+)/(\d+)</td>',
                       html, re.S)
    assert [(r[4], r[5], r[6]) for r in tables["lowest"][1][1:]] == [(int(p), int(m), int(a)) for _, p, m, a in shown]
    assert tables["lowest"][0][1][0] == "'=1+2 " + fam["name"]
    assert tables["lowest"][1][1][0] == "=1+2 " + fam["name"]  # a string cell, never a formula
    sheet = load_workbook(io.BytesIO(client.get(
        f"/web/areas/{TES}/families/assessments?lowest=3&table=lowest&format=xlsx").data)).active
    assert sheet["A2"].data_type == "s"
    # Triple-A and projects: the page's numbers per programme area and project
    triple = html[html.index('class="triple-a"'):html.index('class="projects"')]
    page_numbers = [[int(n) for n in re.findall(r'<td class="num"[^>]*>(\d+)</td>', body)]
                    for _code, body in re.findall(r'<tr data-area="([^"]+)">(.*?)</tr>', triple, re.S)]
    assert [r[1:] for r in tables["triple_a"][1][1:]] == page_numbers
    names = re.findall(r'<tr data-project="[^"]+"><td>(.*?)</td>', html)
    assert [r[0] for r in tables["projects"][1][1:]] == names
    mn = web.logged_in("oyunaa", "mn").get(f"/web/areas/{TES}/families/assessments?table=lowest&format=csv").text
    assert mn.startswith("\ufeffӨрх,")
    for query, lang, words in (("table=all&format=csv", "en", "A download names one of the page"),
                               ("table=lowest&format=ods", "en", "A download names one of the page"),
                               ("format=csv", "mn", "Татаж авах")):
        resp = web.logged_in("oyunaa", lang).get(f"/web/areas/{TES}/families/assessments?{query}")
        assert resp.status_code == 400 and words in resp.text, query
    other = web.logged_in("enkhjargal", "en").get(f"/web/areas/{TES}/families/assessments?table=lowest&format=csv")
    assert other.status_code == 404


def test_the_family_page_shows_the_household_and_what_the_growth_records_say(web):
    """A family pushed by a worker's device: three register children (about 13, 49 and 65 months old today),
    growth visits, and an assessment 100 days ago whose growth item is answered yes, then edited to no,
    then left out. The page lists the members with their age today, newest visit and classes, and beside
    the worker's answer what the records say at that day and today (sync.household's rule)."""
    today = date.today()
    fam = f"{TES}:fam:01KHOUSEHOLDFAMILY000000001"
    kids = {"01KHOUSEKID0000000000000001": ("Ану", "f", 400, [10, 200]),
            "01KHOUSEKID0000000000000002": ("Тэмүүлэн", "m", 1500, [120]),
            "01KHOUSEKID0000000000000003": ("Болд", "m", 2000, [])}
    docs = [{"_id": fam, "type": "family", "name": "Ганбатын гэр бүл", "bag": "1-р баг", "members": 5}]
    visits = {}
    for n, (key, (name, sex, age, ago)) in enumerate(kids.items()):
        dob = (today - timedelta(days=age)).isoformat()
        docs.append({"_id": f"{TES}:child:{key}", "type": "child", "name": name, "sex": sex, "dob": dob, "family": fam})
        for m, days in enumerate(ago):
            day = today - timedelta(days=days)
            data = {**growth_visit(random.Random(n * 10 + m), day=day, child_id=key), "dob": dob, "sex": sex,
                    "family": fam, "child_name": name}
            sid = f"{TES}:sub:01KHOUSEVISIT{n * 10 + m:013d}"
            visits.setdefault(key, []).append(sid)
            docs.append(submission(sid, "growth_visit", "bolormaa", data, f"{day.isoformat()}T10:00:00+08:00"))
    day = (today - timedelta(days=100)).isoformat()
    answers = {"growth_monitored": "yes", "improved_water": "yes", "improved_latrine": "no"}
    docs.append(assessment(fam, "01KHOUSEASSESS000000000001", "baseline", day, answers))
    out = push(web, "bolormaa", TES, docs)
    assert all("rev" in r for r in out), out
    db = web.svc.store.open(TES)

    def rows(text: str) -> dict[str, str]:
        return dict(re.findall(r'<tr data-(?:child|when)="([^"]+)">(.*?)</tr>', text, re.S))

    page = web.logged_in("oyunaa", "en").get(f"/web/families/{fam}")
    assert page.status_code == 200
    found = rows(page.text)
    def months(born: date) -> int:  # completed calendar months
        return (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)

    ages = {key: str(months(today - timedelta(days=age))) for key, (_, _, age, _) in kids.items()}
    assert all(abs(int(ages[k]) - age / 30.4375) < 1 for k, (_, _, age, _) in kids.items())  # about 13, 49, 65
    for key, (name, sex, _age, ago) in kids.items():
        row = found[key]
        assert name in row and ("Girl" if sex == "f" else "Boy") in row
        assert re.search(r"<td class=\"num\" data-age>(\d+)</td>", row).group(1) == ages[key]
        if not ago:
            assert "not measured" in row and "child?id=" not in row
            continue
        assert f'child?id={key}"' in row
        assert (today - timedelta(days=min(ago))).isoformat() in row and f"({len(ago)} visits)" in row
        newest = db.get(visits[key][0].replace(":sub:", ":derived:"))["derived"]
        for klass in ("stunting", "wasting", "underweight"):
            if newest.get(klass):
                assert f"{klass.capitalize()}: {newest[klass].capitalize()}" in row
    # At the assessment (100 days ago): Ану's visit 200 days ago is outside its 91 days, Тэмүүлэн's
    # (120 days ago) inside, Болд is over 59 months: the records say no, the worker said yes.
    at = found["assessment"]
    assert day in at and 'data-records="no"' in at and 'data-agreement="disagree"' in at and ">Yes<" in at
    assert f"Ану: not measured since {(today - timedelta(days=200)).isoformat()}" in at
    assert "Тэмүүлэн: measured" in at and "Болд" not in at
    # Today: Ану measured 10 days ago, Тэмүүлэн's last visit 120 days ago: still no.
    now = found["today"]
    assert today.isoformat() in now and 'data-records="no"' in now and "Ану: measured" in now
    assert f"Тэмүүлэн: not measured since {(today - timedelta(days=120)).isoformat()}" in now
    assert "data-agreement" not in now

    # The worker edits the answer to no: the records agree. Then leaves it out: not answered.
    sid = f"{TES}:sub:01KHOUSEASSESS000000000001"
    for answer, agreement, text in (("no", "agree", "Agree"), (None, "unanswered", "The worker did not answer")):
        current = db.get(sid)
        given = {**answers, "growth_monitored": answer} if answer else {
            k: v for k, v in answers.items() if k != "growth_monitored"}
        edited = {**assessment(fam, "01KHOUSEASSESS000000000001", "baseline", day, given), "_rev": current["_rev"]}
        assert "rev" in push(web, "bolormaa", TES, [edited])[0]
        at = rows(web.logged_in("oyunaa", "en").get(f"/web/families/{fam}").text)["assessment"]
        assert f'data-agreement="{agreement}"' in at and text in at and 'data-records="no"' in at
    # The score is the worker's: with the item left out, 1 met of 2 (the records do not fill it in).
    assert db.get(sid.replace(":sub:", ":derived:"))["derived"]["family_score"] == 0.5
    mn = rows(web.logged_in("oyunaa", "mn").get(f"/web/families/{fam}").text)
    assert "Ажилтан хариулаагүй" in mn["assessment"] and "Үгүй" in mn["today"]
    assert "Охин" in mn["01KHOUSEKID0000000000000001"]
