"""The child register and the family card: the write gate's rules, the families pages (issue 19.2).

Over HTTP with Flask's test client on a real SQLite store seeded as ``fieldsync demo`` seeds it
(families, growth visits, children and family cards). A worker's device writes children and
cards through ``/db/<area>/_bulk_docs`` like any document; the gate refuses wrong states and
steps with a reason in both languages, and the coordinator's page does the same with a 400 in
the page's language, writing nothing. Coordinators of another aimag and workers get 404.
"""

from __future__ import annotations

import base64
import re

import pytest
from webworld import Web, build_web, csrf

from sync import families, records
from sync.demo import DEMO_PASSWORD, seed_demo

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
    fresh = [c for c in sorted(families.FesAreas(web.svc.store).codes()) if c not in before["areas"]][0]
    mn = web.logged_in("oyunaa", "mn")
    resp = step(mn, fam, rev=before["_rev"], area=fresh, status="action", date="2026-11-01", note="")
    assert resp.status_code == 400 and "төлвөөс дараагийн алхам нь awareness" in resp.text
    en = web.logged_in("oyunaa", "en")
    resp = step(en, fam, rev=before["_rev"], area=fresh, status="awareness", date="2026-13-45", note="")
    assert resp.status_code == 400 and "The history must be a list" in resp.text
    resp = step(en, fam, rev=before["_rev"], area="astrology", status="awareness", date="2026-11-01")
    assert resp.status_code == 400 and "is not a programme area" in resp.text
    resp = step(en, fam, rev="1-stale", area=fresh, status="awareness", date="2026-11-01")
    assert resp.status_code == 409
    assert records.read(db, families.card_id(fam)) == before  # nothing half-written
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
