"""WASH and scorecard pages over HTTP (Flask's test client, a real SQLite store, the demo's seeding).

The reports' figures are recomputed here from the seeded submissions' own
answers (not from the server's derived values) with the definitions written
out again: JMP ladders from the raw answers, scorecard scores normalised from
the raw scores, actions at their latest follow-up. Coordinators of another
aimag get 404 for every page of a soum they do not cover; the norms checklist
is the admins' alone, refuses bad rows with a 400 in the user's language and
writes nothing then.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from webworld import Web, build_web, csrf

from sync import records
from sync.checklists import DOC_ID, WashNorms
from sync.demo import AREAS, demo_ulid
from sync.demo_facilities import seed_facilities, seed_norms

TES, KHARKHORIN = "uvs-tes", "ovr-kharkhorin"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    """The demo (no household visits) with two kindergartens in Tes and one in Kharkhorin, their WASH
    visits and each soum's scorecard cycles, as ``fieldsync demo`` seeds them."""
    world = build_web(tmp_path_factory.mktemp("wash") / "data")
    svc = world.svc
    centres = {code: centre for code, *_, centre in AREAS}
    for code, names in ((TES, ["1-р гэр цэцэрлэг", "2-р гэр цэцэрлэг"]), (KHARKHORIN, ["Хархорин 3-р цэцэрлэг"])):
        db = svc.store.ensure(code)
        db.bulk_docs([{"_id": f"{code}:kg:KG{n}{code.upper()}", "type": "kindergarten", "name": name,
                       "bag": "1-р баг", "children": 20} for n, name in enumerate(names)])
        author = "bolormaa" if code == TES else "tsetseg"
        assert seed_facilities(db, code, "Тэс сум" if code == TES else "Хархорин сум", centres[code], author,
                               svc.forms, demo_ulid) > 0
    seed_norms(svc.store)
    return world


def submissions(web: Web, area: str, form: str) -> list[dict]:
    return [d for d in records.iter_docs(web.svc.store.open(area), f"{area}:sub:") if d.get("form") == form]


# -- WASH, recomputed from the answers -----------------------------------------------------------

def ladder(data: dict) -> dict[str, str]:
    """JMP levels written out again (programmes.md 4.1, advanced as fieldsync proposes it)."""
    w, s, h = data["water"], data["sanitation"], data["hygiene"]
    improved_w = w["source"] in ("piped", "protected_well", "tanker_truck", "water_kiosk")
    improved_s = s["toilet_type"] in ("flush", "pit_with_slab", "container_unit")
    basic = {
        "water": improved_w and w.get("available_now") == "yes",
        "sanitation": improved_s and s.get("single_sex") == "yes" and s.get("usable_count", 0) >= 1,
        "hygiene": h["facility"] == "yes" and h.get("soap_water") == "water_and_soap",
    }
    some = {"water": improved_w, "sanitation": improved_s, "hygiene": h["facility"] == "yes"}
    extra = {"water": w.get("water_treated") == w.get("storage_clean") == "yes",
             "sanitation": s.get("child_safe") == s.get("usable_in_winter") == "yes",
             "hygiene": h.get("near_toilet") == h.get("near_eating") == h.get("warm_water") == "yes"}
    out = {k: ("advanced" if basic[k] and extra[k] else "basic" if basic[k] else "limited" if some[k] else "none")
           for k in basic}
    order = ["none", "limited", "basic", "advanced"]
    out["overall"] = min(out.values(), key=order.index)
    return out


def expected_wash(web: Web, area: str, as_of: str = "9999") -> dict[str, dict[str, int]]:
    latest: dict[str, dict] = {}
    for sub in submissions(web, area, "kindergarten_wash_visit"):
        d = sub["data"]
        if d["visit_date"] > as_of:
            continue
        if d["kindergarten"] not in latest or d["visit_date"] > latest[d["kindergarten"]]["visit_date"]:
            latest[d["kindergarten"]] = d
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for d in latest.values():
        for service, level in ladder(d).items():
            counts[service][level] += 1
    return counts


def test_the_wash_report_counts_kindergartens_by_level_at_their_latest_visit(web):
    client = web.logged_in("oyunaa")
    expected = expected_wash(web, TES)
    assert sum(expected["overall"].values()) == 2
    rows = list(csv.DictReader(io.StringIO(client.get("/web/wash?format=csv").text.lstrip("\ufeff"))))
    assert {r["area"] for r in rows} == {"uvs-naranbulag", TES, "uvs-zavkhan"}  # Uvs only: her aimag
    tes = {r["service"]: r for r in rows if r["area"] == TES}
    for service in ("water", "sanitation", "hygiene", "overall"):
        got = {level: int(tes[service][level]) for level in ("advanced", "basic", "limited", "none")}
        assert got == {level: expected[service].get(level, 0) for level in got}, service
        better = expected[service].get("advanced", 0) + expected[service].get("basic", 0)
        assert float(tes[service]["basic_or_better_pct"]) == round(100 * better / 2, 1)
    page = client.get(f"/web/wash?area={TES}")
    assert page.status_code == 200
    table = re.search(r'<table class="levels">(.*?)</table>', page.text, re.S).group(1)
    cells = re.findall(r'data-level="(\w+)">(\d+)<', table)
    assert len(cells) == 16
    assert [int(n) for _, n in cells[-4:]] == [expected["overall"].get(lv, 0)
                                               for lv in ("advanced", "basic", "limited", "none")]
    assert "1-р гэр цэцэрлэг" in page.text and "Хархорин 3-р" not in page.text
    by_type = re.search(r'<table class="by-type">(.*?)</table>', page.text, re.S).group(1)
    latest: dict[str, dict] = {}
    for sub in submissions(web, TES, "kindergarten_wash_visit"):
        d = sub["data"]
        if d["kindergarten"] not in latest or d["visit_date"] > latest[d["kindergarten"]]["visit_date"]:
            latest[d["kindergarten"]] = d
    for kind, label in (("ger_kindergarten", "Ger-kindergarten"), ("kindergarten", "Kindergarten")):
        mine = [ladder(d) for d in latest.values() if d["facility_type"] == kind]
        row = re.search(rf'<th scope="row">{label}</th>(.*?)</tr>', by_type, re.S).group(1)
        shares = [float(x) for x in re.findall(r">([\d.]+)%<", row)]
        assert shares == [round(100 * sum(m[s] in ("basic", "advanced") for m in mine) / len(mine), 1)
                          for s in ("water", "sanitation", "hygiene", "overall")], kind


def test_a_kindergarten_page_shows_each_visit_and_the_norms_in_the_page_language(web):
    client = web.logged_in("oyunaa", "mn")
    kg = f"{TES}:kg:KG0{TES.upper()}"
    page = client.get(f"/web/wash/kindergartens/{kg}")
    assert page.status_code == 200
    visits = sorted((s["data"] for s in submissions(web, TES, "kindergarten_wash_visit")
                     if s["data"]["kindergarten"] == kg), key=lambda d: d["visit_date"])
    assert len(visits) == 3
    body = page.text
    assert [m for m in re.findall(r">(\d{4}-\d\d-\d\d)</a>", body)] == [d["visit_date"] for d in reversed(visits)]
    # the latest visit's checklist answers with the admin's Mongolian text
    assert "Ундны усыг буцалгаж эсвэл цэвэршүүлж хэрэглэдэг" in body and "Үйлчилгээний түвшин цаг хугацаагаар" in body
    assert "<svg" in body and body.count("<rect") == 4 * 3  # four rows (3 services + overall) x 3 visits


# -- scorecards, recomputed from the raw scores ---------------------------------------------------

def expected_cycles(web: Web, area: str, as_of: str | None = None) -> dict[tuple[str, int], dict]:
    as_of = as_of or date.today().isoformat()
    follow = [f for f in submissions(web, area, "scorecard_followup") if f["data"]["followup_date"] <= as_of]
    out = {}
    for sub in submissions(web, area, "scorecard_cycle"):
        d = sub["data"]
        if d["meeting_date"] > as_of:
            continue
        lo, hi = d["scale_min"], d["scale_max"]
        per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for row in d["community_scores"]:
            per[row["indicator"]][row["group_type"]].append((row["score"] - lo) * 100 / (hi - lo))
        indicator_means = [sum(sum(v) / len(v) for v in groups.values()) / len(groups) for groups in per.values()]
        status = {a["action_no"]: a["status"] for a in d["actions"]}
        for f in sorted(follow, key=lambda f: f["data"]["followup_date"]):
            if f["data"]["facility_name"] == d["facility_name"] and f["data"]["cycle_no"] == d["cycle_no"]:
                status.update({u["action_no"]: u["status"] for u in f["data"]["updates"]})
        overdue = sum(1 for a in d["actions"] if status[a["action_no"]] in ("planned", "in_progress")
                      and a["deadline"] < as_of)
        out[(d["facility_name"], d["cycle_no"])] = {
            "overall": sum(indicator_means) / len(indicator_means), "scale": f"{lo}-{hi}",
            "done": sum(1 for s in status.values() if s == "done"), "agreed": len(status), "overdue": overdue}
    return out


def test_the_scorecard_report_gives_each_cycle_normalised_with_its_actions(web):
    client = web.logged_in("enkhjargal")
    expected = expected_cycles(web, KHARKHORIN)
    assert len(expected) == 6  # two facilities, three cycles each
    assert {v["scale"] for v in expected.values()} == {"1-5", "0-100", "1-10"}
    rows = list(csv.DictReader(io.StringIO(client.get("/web/scorecards?format=csv").text.lstrip("\ufeff"))))
    assert {r["area"] for r in rows} <= {KHARKHORIN, "ovr-bat-ulzii"}  # her soums only
    got = {(r["facility"], int(r["cycle_no"])): r for r in rows if r["area"] == KHARKHORIN}
    assert set(got) == set(expected)
    for key, exp in expected.items():
        row = got[key]
        assert float(row["overall_0_100"]) == pytest.approx(exp["overall"], abs=0.051), key
        assert (row["scale"], int(row["actions_done"]), int(row["actions_agreed"]), int(row["actions_overdue"])) == (
            exp["scale"], exp["done"], exp["agreed"], exp["overdue"]), key
    for name in {n for n, _ in expected}:
        trend = float(got[(name, 3)]["trend"])
        assert trend == pytest.approx(round(expected[(name, 3)]["overall"], 1) - round(expected[(name, 2)]["overall"], 1),
                                      abs=0.051)
    page = client.get("/web/scorecards")
    assert page.status_code == 200 and "Хархорин сумын эрүүл мэндийн төв" in page.text
    names = {n for n, _ in expected}
    # the soum's figures are means of the facilities' scores as shown (one decimal)
    latest = sum(round(expected[(n, 3)]["overall"], 1) for n in names) / len(names)
    trend = sum(round(expected[(n, 3)]["overall"], 1) - round(expected[(n, 2)]["overall"], 1) for n in names) / len(names)
    section = page.text[page.text.index('id="soum-ovr-kharkhorin"'):]
    line = re.search(r'<p class="soum-trend">(.*?)</p>', section, re.S).group(1)
    assert f"Mean latest score of 2 facilities: {round(latest, 1)}." in line
    assert f"over 2 facilities: {trend:+.1f}." in line


def test_a_facility_page_compares_its_cycles_in_a_table_and_bars(web):
    client = web.logged_in("enkhjargal", "mn")
    report = client.get("/web/scorecards").text
    # the health centre is a register entry: its link names the register id, its name is the register's
    link = re.search(r'href="(/web/scorecards/ovr-kharkhorin/facilities/ovr-kharkhorin:fac:[^"]+)">'
                     r'Хархорин сумын эрүүл мэндийн төв<', report).group(1)
    page = client.get(link)
    assert page.status_code == 200
    assert "Мөчлөгүүдийн харьцуулалт (0-100)" in page.text and "хуваарь 0-100" in page.text
    overall = {no: v["overall"] for (name, no), v in expected_cycles(web, KHARKHORIN).items()
               if name.endswith("эрүүл мэндийн төв")}
    for no, value in overall.items():
        assert f"<title>#{no}: {round(value, 1)}</title>" in page.text  # the overall bar of each cycle
    assert page.text.count("<rect") == 3 * (1 + 4)  # three cycles x (overall + four indicators)
    # each cycle's input tracking: inputs as entitled, counted from the raw answers
    tracked = [s["data"] for s in submissions(web, KHARKHORIN, "scorecard_input_tracking")
               if s["data"]["facility_type"] == "health_centre"]
    assert sorted(t["cycle_no"] for t in tracked) == [1, 2, 3]
    for t in tracked:
        met = sum(1 for i in t["inputs"] if i["actual"] >= i["entitlement"])
        assert f"{t['tracking_date']} · {len(t['inputs'])} орцоос {met} нь эрхийн хэмжээнд" in page.text


def test_the_tables_download_as_xlsx_too_and_typed_formulas_stay_text(web):
    """A facility named like a formula (typed on a device) is text in both downloads."""
    import random

    from openpyxl import load_workbook

    from sync.demo_facilities import scorecard_cycle
    from sync.derived import DerivedValues
    data = scorecard_cycle(random.Random(1), "school", "=1+1 Бат-Өлзий сургууль", 1, "2026-05-14", (1, 5), 0.5)
    data["location"] = {"lat": 46.8, "lon": 102.2}
    data["groups_represented"] = ["women"]
    doc = {"_id": "ovr-bat-ulzii:sub:FORMULA1", "type": "submission", "form": "scorecard_cycle", "form_version": 1,
           "author": "batbold", "created_at": "2026-05-14T11:00:00+08:00", "data": data}
    assert web.svc.forms.check_submission(doc) == []
    db = web.svc.store.ensure("ovr-bat-ulzii")
    db.bulk_docs([doc])
    DerivedValues().refresh(db, [doc["_id"]])
    client = web.logged_in("enkhjargal")
    text = client.get("/web/scorecards?area=ovr-bat-ulzii&format=csv").text
    assert "'=1+1 Бат-Өлзий сургууль" in text
    resp = client.get("/web/scorecards?format=xlsx")
    assert resp.status_code == 200 and resp.headers["Content-Disposition"].endswith('scorecard-trends.xlsx"')
    sheet = load_workbook(io.BytesIO(resp.data))["scorecard-trends"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    csv_rows = list(csv.reader(io.StringIO(client.get("/web/scorecards?format=csv").text.lstrip("\ufeff"))))
    assert rows[0] == csv_rows[0] and len(rows) == len(csv_rows)
    assert ["ovr-bat-ulzii", "=1+1 Бат-Өлзий сургууль"] == rows[1][:2]  # her areas in order
    assert sheet["B2"].data_type == "s"  # a string cell, not a formula
    by_key = {(r[1], str(r[3])): r for r in rows[1:]}
    for r in csv_rows[1:]:
        x = by_key[(r[1].removeprefix("'"), r[3])]
        assert float(x[6]) == float(r[6]) and x[9:] == [int(v) for v in r[9:]]
    wash_book = load_workbook(io.BytesIO(web.logged_in("oyunaa").get("/web/wash?format=xlsx").data))
    assert wash_book["wash-service-levels"]["A1"].value == "area"


# -- who may see what -----------------------------------------------------------------------------

def test_another_aimag_and_workers_get_404(web):
    other = web.logged_in("enkhjargal")  # Övörkhangai's coordinator
    tes_kg = f"{TES}:kg:KG0{TES.upper()}"
    assert other.get(f"/web/wash/kindergartens/{tes_kg}").status_code == 404
    assert other.get(f"/web/wash?area={TES}").status_code == 404
    assert other.get(f"/web/scorecards?area={TES}").status_code == 404
    link = re.search(r'href="(/web/scorecards/uvs-tes/facilities/[^"]+)"',
                     web.logged_in("oyunaa").get("/web/scorecards").text).group(1)
    assert other.get(link).status_code == 404
    assert "Тэс" not in other.get("/web/wash").text
    assert other.get("/web/wash/kindergartens/uvs-tes:kg:NOPE").status_code == 404
    # a hidden page answers exactly as one that does not exist (but for its own address and the form token)
    def page(path: str) -> str:
        body = other.get(path).get_data(as_text=True)
        return re.sub(r'name="(next|csrf_token)" value="[^"]*"', "", body)
    missing = page("/web/wash/kindergartens/ovr-kharkhorin:kg:NOPE")
    assert page(f"/web/wash/kindergartens/{tes_kg}") == missing
    assert page(link) == page("/web/scorecards/ovr-kharkhorin/facilities/school~nope")
    assert other.get(f"/web/wash/kindergartens/{TES}:sub:X").status_code == 404
    worker = web.logged_in("bolormaa")
    for path in ("/web/wash", "/web/scorecards", f"/web/wash/kindergartens/{tes_kg}", "/web/admin/wash-norms"):
        assert worker.get(path).status_code == 404, path
    assert other.get("/web/admin/wash-norms").status_code == 404  # coordinators do not edit the norms


# -- the admins' checklist --------------------------------------------------------------------------

def post_norms(client, items: list[tuple[str, str, str, str]], rev: str, **extra) -> object:
    token = csrf(client, "/web/admin/wash-norms")
    form = {"csrf_token": token, "rev": rev, "rows": str(len(items)), **extra}
    for i, (code, service, mn, en) in enumerate(items):
        form.update({f"code_{i}": code, f"service_{i}": service, f"mn_{i}": mn, f"en_{i}": en})
    return client.post("/web/admin/wash-norms", data=form)


def test_bad_checklists_get_400_in_the_users_language_and_nothing_is_written(web):
    norms = WashNorms(web.svc.store)
    before = norms.get()
    mn = web.logged_in("admin", "mn")
    resp = post_norms(mn, [("W-1", "water", "Ус", "Water"), ("w-1", "hygiene", "Саван", "Soap")], before["_rev"])
    assert resp.status_code == 400 and "2-р мөр: w-1 код хоёр удаа орсон байна." in resp.text
    en = web.logged_in("admin", "en")
    resp = post_norms(en, [("H-9", "hygiene", "", "Soap at every tap")], before["_rev"])
    assert resp.status_code == 400 and "Row 1: the item needs its text in Mongolian and in English." in resp.text
    assert 'value="H-9"' in resp.text  # what was typed is kept
    resp = post_norms(en, [("bad code!", "water", "Ус", "Water")], before["_rev"])
    assert resp.status_code == 400 and "Row 1: the code must be" in resp.text
    resp = post_norms(en, [("X-1", "electricity", "Ус", "Water")], before["_rev"])
    assert resp.status_code == 400 and "choose the service" in resp.text
    resp = post_norms(en, [], before["_rev"], rows="many")
    assert resp.status_code == 400
    resp = post_norms(mn, [("W-1", "water", "Ус", "Water")], "1-stale")
    assert resp.status_code == 409 and "өөр админ" in resp.text
    assert norms.get() == before


def test_an_admin_saves_the_checklist_and_the_change_is_audited(web, tmp_path: Path):
    norms = WashNorms(web.svc.store)
    before = norms.get()
    client = web.logged_in("admin", "en")
    rows = [(i["code"], i["service"], i["text"]["mn"], i["text"]["en"]) for i in before["items"]]
    rows[0] = (rows[0][0], rows[0][1], "Ундны усыг буцалгадаг", "Drinking water is boiled")
    rows.append(("S-3", "sanitation", "Жорлон гэрэлтүүлэгтэй", "Toilets are lit"))
    resp = post_norms(client, rows, before["_rev"], drop_1="1")  # W-2 removed
    assert resp.status_code == 302
    after = norms.get()
    assert [i["code"] for i in after["items"]] == ["W-1", "S-1", "S-2", "H-1", "H-2", "S-3"]
    assert after["items"][0]["text"] == {"mn": "Ундны усыг буцалгадаг", "en": "Drinking water is boiled"}
    entries = [d for d in records.iter_docs(web.svc.store.open("_audit"), "global:")
               if d.get("action") == "checklist.changed" and d.get("actor") == "admin"]
    assert entries and entries[-1]["doc_id"] == DOC_ID and len(entries[-1]["after"]) == 6
    assert "Drinking water is boiled" in client.get(f"/web/wash/kindergartens/{TES}:kg:KG0{TES.upper()}").text
    audit = web.logged_in("admin", "mn").get("/web/audit?what=checklist")
    assert audit.status_code == 200 and "Ус, ариун цэврийн нормын хяналтын хуудсыг өөрчилсөн" in audit.text


# -- the facility register ---------------------------------------------------------------------------

def test_cycles_naming_a_registered_facility_are_one_facility_whatever_name_was_typed(web):
    """Tes's health centre: cycle 1 typed by name only (matched to the register entry by that name),
    cycles 2-3 naming the entry; a new cycle 4 names it with a name typed quite otherwise."""
    import random

    from sync.demo_facilities import facility_register, scorecard_cycle
    from sync.derived import DerivedValues
    entry = facility_register(TES, "Тэс", "bolormaa")[0]
    assert entry["facility_type"] == "health_centre"
    client = web.logged_in("oyunaa", "en")
    before = [r for r in csv.DictReader(io.StringIO(client.get(f"/web/scorecards?area={TES}&format=csv")
                                                    .text.lstrip("\ufeff")))]
    assert sorted(int(r["cycle_no"]) for r in before if r["facility"] == entry["name"]) == [1, 2, 3]
    data = scorecard_cycle(random.Random(4), "health_centre", "ЭМТ (Тэс)", 4, "2026-11-30", (1, 5), 0.7)
    data.update(location={"lat": 49.6, "lon": 95.8}, facility=entry["_id"])
    doc = {"_id": f"{TES}:sub:CYCLE4TYPEDOTHERWISE", "type": "submission", "form": "scorecard_cycle",
           "form_version": 1, "author": "bolormaa", "created_at": "2026-11-30T11:00:00+08:00", "data": data}
    assert web.svc.forms.check_submission(doc) == []
    db = web.svc.store.open(TES)
    db.bulk_docs([doc])
    DerivedValues().refresh(db, [doc["_id"]])
    rows = list(csv.DictReader(io.StringIO(client.get(f"/web/scorecards?area={TES}&format=csv").text.lstrip("\ufeff"))))
    assert sorted(int(r["cycle_no"]) for r in rows if r["facility"] == entry["name"]) == [1, 2, 3, 4]
    assert not [r for r in rows if r["facility"] == "ЭМТ (Тэс)"]  # no facility of the typed name
    page = client.get(f"/web/scorecards?area={TES}").text
    assert page.count(f'/web/scorecards/{TES}/facilities/{entry["_id"]}"') == 1
    facility_page = client.get(f"/web/scorecards/{TES}/facilities/{entry['_id']}")
    assert facility_page.status_code == 200
    assert f"<h1>{entry['name']}</h1>" in facility_page.text and "in the facility register" in facility_page.text
    assert facility_page.text.count("<rect") == 4 * (1 + 4)  # four cycles x (overall + four indicators)
    db.bulk_docs([{**records.read(db, doc["_id"]), "_deleted": True}])  # the other tests see the demo's cycles
    DerivedValues().refresh(db, [doc["_id"]])


def post_facility(client, area: str, **fields) -> object:
    token = csrf(client, "/web/scorecards")
    return client.post(f"/web/scorecards/{area}/facilities", data={"csrf_token": token, **fields})


def test_a_coordinator_registers_a_facility_which_is_listed_before_its_first_cycle(web):
    from sync import facility_register
    store = web.svc.store
    before = set(facility_register.facilities(store, TES))
    stored = {r["id"]: r["value"]["rev"] for r in store.open(TES).all_docs()}
    mn = web.logged_in("oyunaa", "mn")
    resp = post_facility(mn, TES, name="  ", facility_type="school", bag="")
    assert resp.status_code == 400 and "Байгууллагын нэрийг бичнэ үү (ихдээ 150 тэмдэгт)." in resp.text
    en = web.logged_in("oyunaa", "en")
    resp = post_facility(en, TES, name="Тэс 2-р сургууль", facility_type="hospital", bag="3-р баг")
    assert resp.status_code == 400 and "The type of facility must be one of" in resp.text
    assert 'value="Тэс 2-р сургууль"' in resp.text and 'value="3-р баг"' in resp.text  # what was typed is kept
    assert set(facility_register.facilities(store, TES)) == before  # nothing written
    assert {r["id"]: r["value"]["rev"] for r in store.open(TES).all_docs()} == stored  # no quarantine, no feedback
    other = web.logged_in("enkhjargal")
    assert post_facility(other, TES, name="X", facility_type="school").status_code == 404
    assert post_facility(web.logged_in("bolormaa"), TES, name="X", facility_type="school").status_code == 404
    assert set(facility_register.facilities(store, TES)) == before

    resp = post_facility(en, TES, name=" Тэс  2-р сургууль ", facility_type="school", bag="3-р баг")
    assert resp.status_code == 302
    (made,) = set(facility_register.facilities(store, TES)) - before
    doc = facility_register.facilities(store, TES)[made]
    assert (doc["name"], doc["facility_type"], doc["bag"], doc["author"]) == ("Тэс 2-р сургууль", "school", "3-р баг",
                                                                              "oyunaa")
    page = en.get(resp.headers["Location"])
    assert page.status_code == 200 and "The facility is registered." in page.text
    assert "No scorecard cycle has been received for this facility yet." in page.text
    report = mn.get(f"/web/scorecards?area={TES}").text
    waiting = report[report.index("Бүртгэлтэй боловч мөчлөггүй байгууллага"):]
    assert f'/web/scorecards/{TES}/facilities/{made}">Тэс 2-р сургууль<' in waiting
    assert other.get(f"/web/scorecards/{TES}/facilities/{made}").status_code == 404
    entries = [d for d in records.iter_docs(store.open("_audit"), f"{TES}:") if d.get("action") == "facility.registered"]
    assert [(e["actor"], e["doc_id"]) for e in entries] == [("oyunaa", made)]


def test_wash_and_scorecards_as_of_a_past_day_count_what_was_visited_and_met_by_then(web):
    """?as_of=: each kindergarten at its latest visit on or before the day; the cycles and follow-ups
    dated up to it, overdue against that day; both downloads say the same."""
    from datetime import timedelta

    wash_days = sorted({s["data"]["visit_date"] for s in submissions(web, TES, "kindergarten_wash_visit")})
    client = web.logged_in("oyunaa")
    seen = set()
    before = (date.fromisoformat(wash_days[0]) - timedelta(days=1)).isoformat()
    for day in [before, wash_days[0], wash_days[1], (date.fromisoformat(wash_days[-1]) - timedelta(days=1)).isoformat()]:
        expected = expected_wash(web, TES, day)
        rows = list(csv.DictReader(io.StringIO(client.get(f"/web/wash?area={TES}&as_of={day}&format=csv")
                                               .text.lstrip("\ufeff"))))
        for row in rows:
            got = {level: int(row[level]) for level in ("advanced", "basic", "limited", "none")}
            assert got == {level: expected[row["service"]].get(level, 0) for level in got}, (day, row["service"])
        seen.add(str([sorted(r.items()) for r in rows]))
        page = client.get(f"/web/wash?area={TES}&as_of={day}")
        assert page.status_code == 200 and "As it stood at the end of" in page.text
        assert f"as_of={day}&amp;format=csv" in page.text
    assert len(seen) > 2  # the days differ
    client = web.logged_in("enkhjargal")
    meetings = sorted({s["data"]["meeting_date"] for s in submissions(web, KHARKHORIN, "scorecard_cycle")})
    for day in [meetings[0], meetings[len(meetings) // 2], (date.fromisoformat(meetings[-1]) - timedelta(days=1))
                .isoformat()]:
        expected = expected_cycles(web, KHARKHORIN, day)
        rows = list(csv.DictReader(io.StringIO(client.get(f"/web/scorecards?area={KHARKHORIN}&as_of={day}"
                                                          "&format=csv").text.lstrip("\ufeff"))))
        got = {(r["facility"], int(r["cycle_no"])): r for r in rows}
        assert set(got) == set(expected) and 0 < len(expected) < 6, day
        for key, exp in expected.items():
            row = got[key]
            assert float(row["overall_0_100"]) == pytest.approx(exp["overall"], abs=0.051), key
            assert (int(row["actions_done"]), int(row["actions_agreed"]), int(row["actions_overdue"])) == (
                exp["done"], exp["agreed"], exp["overdue"]), (day, key)
    for lang, words in (("en", "Write the day of the report as YYYY-MM-DD."),
                        ("mn", "Тайлангийн өдрийг ОООО-СС-ӨӨ хэлбэрээр бичнэ үү.")):
        for path in ("/web/wash?as_of=2026-02-31", "/web/scorecards?as_of=soon&format=csv"):
            resp = web.logged_in("oyunaa", lang).get(path)
            assert resp.status_code == 400 and words in resp.text, path
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert web.logged_in("oyunaa").get(f"/web/scorecards?as_of={tomorrow}").status_code == 400
