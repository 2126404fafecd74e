"""The coordinator's programme reports, recomputed here from the seeded documents.

The demo's growth visits and LQAS interviews (``sync.demo_programmes``, dated
back from today, as ``fieldsync demo`` does) are read straight from the store
and counted in this file by plain rules written out again: a child is counted
once, by its newest visit; it is measured when that visit is in the last
``round(months * 30.4375)`` days, today included (91 for 3 months); a class counts when the server's derived document gives
it; LQAS answers are tallied from the answers and judged with decision rules
recomputed from the binomial distribution. The page and its CSV/XLSX must
show the same figures. Coordinators of another aimag, workers and bad
parameters get 404 and 400 in the page's language.
"""

from __future__ import annotations

import base64
import csv
import io
import math
import re
from datetime import date, timedelta
from fractions import Fraction

import openpyxl
import pytest
from webworld import Web, build_web

from sync import ids
from sync.demo import DEMO_PASSWORD, USERS, submission
from sync.demo_programmes import seed_programmes

AS_OF = date.today()  # the reports are as of today
TES, NARAN = "uvs-tes", "uvs-naranbulag"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    world = build_web(tmp_path_factory.mktemp("reports") / "data")
    svc = world.svc
    users = [svc.users.get(name) for name, _, _ in USERS]
    seed_programmes(svc.store, svc.forms, svc.areas.tree(), users, children_per_soum=20, today=AS_OF)
    return world


def docs_of(web: Web, area: str, kind: str) -> dict[str, dict]:
    db = web.svc.store.open(area)
    prefix = f"{area}:{kind}:"
    return {r["id"]: r["doc"] for r in db.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True)}


def expected_growth(web: Web, area: str, as_of: date, days: int = 91) -> dict[str, dict[str, int]]:
    """Per bag (and "" for the soum): children, measured and per indicator n/flagged/moderate/severe."""
    subs = docs_of(web, area, ids.SUBMISSION)
    derived = {d["about"]: d["derived"] for d in docs_of(web, area, ids.DERIVED).values()}
    newest: dict[str, tuple[str, str]] = {}
    for sid, doc in subs.items():
        if doc.get("form") != "growth_visit" or doc["data"]["visit_date"] > as_of.isoformat():
            continue
        mark = (doc["data"]["visit_date"], sid.rsplit(":", 1)[1])
        child = doc["data"]["child_id"]
        if child not in newest or mark > newest[child]:
            newest[child] = mark
    since = (as_of - timedelta(days=days - 1)).isoformat()
    out: dict[str, dict[str, int]] = {}
    for day, key in newest.values():
        sid = f"{area}:{ids.SUBMISSION}:{key}"
        for bag in ("", subs[sid]["data"]["bag"]):
            row = out.setdefault(bag, {"children": 0, "measured": 0})
            row["children"] += 1
            if day < since:
                continue
            row["measured"] += 1
            values = derived[sid]
            for name, flag in (("stunting", "flen"), ("wasting", "fwfl"), ("underweight", "fwei")):
                row[f"{name}.flagged"] = row.get(f"{name}.flagged", 0) + (values[flag] == 1)
                if values[name] is not None:
                    row[f"{name}.n"] = row.get(f"{name}.n", 0) + 1
                for level in ("moderate", "severe"):
                    row[f"{name}.{level}"] = row.get(f"{name}.{level}", 0) + (values[name] == level)
    return out


def binomial_rule(n: int, target: int) -> int:
    """d for n respondents: alpha at the target and beta 30 points below both <= 10%, least sum
    (with fewer eligible respondents than that allows: the least larger error, then the least sum)."""
    def below(d: int, p: Fraction) -> Fraction:
        return sum((math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(d)), Fraction(0))

    p_hi, p_lo = Fraction(target, 100), Fraction(target - 30, 100)
    if p_lo <= 0:
        return max(d for d in range(n + 1) if below(d, p_hi) <= Fraction(1, 10))
    fits = [(below(d, p_hi) + 1 - below(d, p_lo), d) for d in range(n + 1)
            if below(d, p_hi) <= Fraction(1, 10) and 1 - below(d, p_lo) <= Fraction(1, 10)]
    if fits:
        return min(fits)[1]
    errors = [(max(below(d, p_hi), 1 - below(d, p_lo)), below(d, p_hi) + 1 - below(d, p_lo), d)
              for d in range(n + 1)]
    return min(errors)[2]


def expected_lqas(web: Web, area: str) -> dict[tuple[str, str], tuple[int, int]]:
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for doc in docs_of(web, area, ids.SUBMISSION).values():
        if doc.get("form") != "lqas_interview":
            continue
        data = doc["data"]
        if data["consent"] != "yes":
            values = {}
        else:
            critical = {"after_toilet", "before_cooking", "before_feeding", "after_cleaning_child"}
            values = {"weighed_3_months": data["weighed_3_months"] == "yes", "knows_ors": data["knows_ors"] == "yes",
                      "handwashing": len(critical & set(data.get("handwash_times", []))) >= 2}
            if data["child_age_months"] >= 12:
                values["fully_vaccinated"] = data["fully_vaccinated"] == "yes"
        for name, correct in values.items():
            x, n = out.get((data["sa"], name), (0, 0))
            out[(data["sa"], name)] = (x + correct, n + 1)
    return out


def download(client, path: str) -> list[list[str]]:
    resp = client.get(path)
    assert resp.status_code == 200, resp.text[:300]
    assert resp.data.startswith(b"\xef\xbb\xbf")  # Excel reads the Cyrillic
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_growth_figures_match_a_count_of_the_seeded_visits(web: Web):
    client = web.logged_in("oyunaa")
    rows = download(client, f"/web/reports/growth.csv?area={TES}")
    head, body = rows[0], rows[1:]
    want = expected_growth(web, TES, AS_OF)
    assert sum(want[""].get(f"{n}.flagged", 0) for n in ("stunting", "wasting", "underweight")) > 0, \
        "the demo should hold flagged values"
    assert 0 < want[""]["measured"] < want[""]["children"]
    assert len(body) == len(want)
    for row in body:
        got = dict(zip(head, row, strict=True))
        bag = "" if got["Bag"] == "All bags" else got["Bag"]
        exp = want[bag]
        assert got["Soum"] == "Tes soum"
        assert int(got["Children"]) == exp["children"]
        assert int(got["Measured in the last 3 months"]) == exp["measured"]
        assert got["Share measured (%)"] == f"{exp['measured'] / exp['children'] * 100:.1f}"
        for name in ("Stunting", "Wasting", "Underweight"):
            key = name.lower()
            n = exp.get(f"{key}.n", 0)
            assert int(got[f"{name}: classified"]) == n
            assert int(got[f"{name}: flagged"]) == exp.get(f"{key}.flagged", 0)
            assert int(got[f"{name}: moderate"]) == exp.get(f"{key}.moderate", 0)
            assert int(got[f"{name}: severe"]) == exp.get(f"{key}.severe", 0)
            cases = exp.get(f"{key}.moderate", 0) + exp.get(f"{key}.severe", 0)
            assert got[f"{name}: prevalence (%)"] == (f"{cases / n * 100:.1f}" if n else "")
    # Another window: the last month (30 days) and the last year (365 days).
    for months, days in ((1, 30), (12, 365)):
        rows = download(client, f"/web/reports/growth.csv?area={TES}&months={months}")
        other = expected_growth(web, TES, AS_OF, days)
        total = dict(zip(rows[0], rows[1], strict=True))
        assert (int(total["Children"]), int(total[f"Measured in the last {months} months"])) == \
            (other[""]["children"], other[""]["measured"])
        assert (other[""]["measured"] < want[""]["measured"]) == (months == 1)


def test_lqas_results_and_coverage_match_the_interviews(web: Web):
    client = web.logged_in("oyunaa")
    want = expected_lqas(web, TES)
    rows = download(client, f"/web/reports/lqas.csv?area={TES}")
    names = {"Children 12-23 months fully vaccinated (card)": "fully_vaccinated",
             "Child weighed in the last 3 months": "weighed_3_months",
             "Mother knows how to prepare ORS": "knows_ors",
             "Mother names at least 2 critical times for handwashing": "handwashing"}
    targets = {"fully_vaccinated": 80, "weighed_3_months": 85, "knows_ors": 50, "handwashing": 60}
    seen = set()
    for row in rows[1:]:
        got = dict(zip(rows[0], row, strict=True))
        key = (got["Supervision area"], names[got["Indicator"]])
        x, n = want[key]
        d = binomial_rule(n, targets[key[1]])
        assert (int(got["Correct"]), int(got["Eligible"]), int(got["Decision rule (at least)"])) == (x, n, d)
        assert got["Result"] == ("Reached" if x >= d else "Not reached")
        assert int(got["Interviews"]) == 19
        seen.add(key)
    assert seen == set(want) and len(seen) == 12
    assert {r[-1] for r in rows[1:]} == {"Reached", "Not reached"}, "the demo should show both outcomes"

    households = {"1-р баг": 140, "2-р баг": 95, "3-р баг": 210}
    cov = download(client, f"/web/reports/coverage.csv?area={TES}")
    for row in cov[1:]:
        got = dict(zip(cov[0], row, strict=True))
        key = names[got["Indicator"]]
        total = sum(households.values())
        p = sum(Fraction(households[sa], total) * Fraction(*want[(sa, key)]) for sa in households)
        var = sum((Fraction(households[sa], total)) ** 2 * Fraction(*want[(sa, key)])
                  * (1 - Fraction(*want[(sa, key)])) / want[(sa, key)][1] for sa in households)
        se = math.sqrt(var)
        assert got["Coverage (%)"] == f"{float(p) * 100:.1f}"
        assert got["95% CI low (%)"] == f"{max(0.0, float(p) - 1.96 * se) * 100:.1f}"
        assert got["95% CI high (%)"] == f"{min(1.0, float(p) + 1.96 * se) * 100:.1f}"


def test_page_xlsx_and_mongolian_show_the_same_figures(web: Web):
    want = expected_growth(web, NARAN, AS_OF)[""]
    en = web.logged_in("oyunaa")
    page = en.get("/web/reports")
    assert page.status_code == 200
    assert "Tes soum" in page.text and "Naranbulag soum" in page.text and "Kharkhorin" not in page.text
    book = openpyxl.load_workbook(io.BytesIO(en.get(f"/web/reports/growth.xlsx?area={NARAN}").data))
    sheet = book.active
    head = [c.value for c in sheet[1]]
    total = dict(zip(head, [c.value for c in sheet[2]], strict=True))
    assert (total["Children"], total["Measured in the last 3 months"]) == (want["children"], want["measured"])
    mn = web.logged_in("oyunaa", "mn")
    page = mn.get(f"/web/reports?area={NARAN}")
    assert page.status_code == 200 and "Сум, багаар өсөлтийн хяналт" in page.text and "Бүх баг" in page.text
    rows = download(mn, f"/web/reports/growth.csv?area={NARAN}")
    assert rows[0][:3] == ["Сум", "Баг", "Хүүхэд"] and rows[1][2] == str(want["children"])


def test_other_aimags_workers_and_strangers_see_nothing(web: Web):
    other = web.logged_in("enkhjargal")
    child = next(d["data"]["child_id"] for d in docs_of(web, TES, ids.SUBMISSION).values()
                 if d.get("form") == "growth_visit")
    for path in (f"/web/reports?area={TES}", "/web/reports?area=uvs", f"/web/reports/growth.csv?area={TES}",
                 f"/web/reports/lqas.xlsx?area={TES}", f"/web/areas/{TES}/child?id={child}", "/web/reports?area=nowhere"):
        assert other.get(path).status_code == 404, path
    mine = other.get("/web/reports")
    assert mine.status_code == 200 and "Tes soum" not in mine.text and "Kharkhorin soum" in mine.text
    worker = web.logged_in("bolormaa")
    for path in ("/web/reports", f"/web/reports/growth.csv?area={TES}", f"/web/areas/{TES}/child?id={child}"):
        assert worker.get(path).status_code == 404, path
    stranger = web.browser()
    assert stranger.get("/web/reports").status_code == 302


@pytest.mark.parametrize("lang, message", [("en", "Say the months as a whole number from 1 to 24."),
                                           ("mn", "Сарыг 1-ээс 24 хүртэлх бүхэл тоогоор бичнэ үү.")])
def test_bad_parameters_are_4xx_in_the_language_of_the_page(web: Web, lang: str, message: str):
    client = web.logged_in("oyunaa", lang)
    for path in ("/web/reports?months=0", "/web/reports/growth.csv?months=three", "/web/reports?months=25",
                 "/web/reports/lqas.xlsx?months=-1", "/web/reports?months=%C2%B2"):  # "²" is a digit int() refuses
        resp = client.get(path)
        assert resp.status_code == 400 and message in resp.text, (path, resp.text[:500])
    assert client.get(f"/web/areas/{TES}/child").status_code == 400
    assert client.get(f"/web/areas/{TES}/child?id={'x' * 201}").status_code == 400
    assert client.get(f"/web/areas/{TES}/child?id=nobody").status_code == 404
    for path in ("/web/reports/children.csv", "/web/reports/growth.pdf"):
        assert client.get(path).status_code == 404


def test_a_childs_page_and_a_visit_page_draw_the_chart(web: Web):
    """Every index the child's visits measured gets its chart, with a point for each visit that has that
    z-score (weight-for-length under 731 days, weight-for-height from 731, MUAC only where measured)."""
    subs = [d for d in docs_of(web, TES, ids.SUBMISSION).values() if d.get("form") == "growth_visit"]
    by_child: dict[str, list[dict]] = {}
    for doc in subs:
        by_child.setdefault(doc["data"]["child_id"], []).append(doc)
    child, visits = max(by_child.items(), key=lambda kv: len(kv[1]))
    derived = {d["about"]: d["derived"] for d in docs_of(web, TES, ids.DERIVED).values()}
    client = web.logged_in("oyunaa")
    page = client.get(f"/web/areas/{TES}/child?id={child}")
    assert page.status_code == 200
    charts = dict(re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="growth-chart"[^>]*'
                             r'data-indicator="(\w+)">(.*?)</svg>', page.text, re.S))
    ages = [derived[d["_id"]]["age_days"] for d in visits]
    want = {"lhfa": ("zlen", ages), "wfa": ("zwei", ages), "bmi": ("zbmi", ages),
            "wfl": ("zwfl", [a for a in ages if a < 731]), "wfh": ("zwfl", [a for a in ages if a >= 731]),
            "acfa": ("zac", [derived[d["_id"]]["age_days"] for d in visits if "muac_mm" in d["data"]])}
    assert set(charts) == {name for name, (_, measured) in want.items() if measured}
    for name, svg in charts.items():
        z, _ = want[name]
        scored = [d for d in visits if derived[d["_id"]][z] is not None
                  and (name != "wfl" or derived[d["_id"]]["age_days"] < 731)
                  and (name != "wfh" or derived[d["_id"]]["age_days"] >= 731)]
        assert svg.count('<circle class="point') == len(scored), name
        assert svg.count('class="sd-line"') == 5  # -3, -2, 0, +2, +3 SD
    for doc in visits:
        assert doc["data"]["visit_date"] in page.text
        for z in ("zlen", "zwei", "zwfl", "zbmi", "zac"):
            if derived[doc["_id"]][z] is not None:
                assert f"{derived[doc['_id']][z]:+.2f}" in page.text
    one = client.get(f"/web/submissions/{visits[0]['_id']}")
    assert one.status_code == 200 and 'aria-current="true"' in one.text
    assert one.text.count('class="growth-chart"') == len(charts)
    mn = web.logged_in("oyunaa", "mn").get(f"/web/areas/{TES}/child?id={child}")
    assert "Насны урт/өндөр" in mn.text and "Нас (сараар)" in mn.text and "Насны БЖИ" in mn.text


def test_a_visit_without_a_z_score_is_not_drawn_and_the_caption_says_why(web: Web):
    """A child's visit under oedema: no point on the weight-based charts, a caption naming the visit."""
    subs = [d for d in docs_of(web, TES, ids.SUBMISSION).values() if d.get("form") == "growth_visit"]
    base = next(d["data"] for d in subs if "muac_mm" in d["data"])
    child = "tes-oedema-child"
    born = date.fromisoformat(base["visit_date"]) - timedelta(days=400)
    days = [AS_OF - timedelta(days=60), AS_OF - timedelta(days=30)]
    docs = [submission(f"{TES}:sub:{ids.new_ulid()}", "growth_visit", "bolormaa",
                       {**base, "child_id": child, "dob": born.isoformat(), "visit_date": when.isoformat(),
                        "oedema": "yes" if n else "no"}, f"{when.isoformat()}T10:00:00+08:00")
            for n, when in enumerate(days)]
    auth = base64.b64encode(f"bolormaa:{DEMO_PASSWORD}".encode()).decode()
    resp = web.app.test_client(use_cookies=False).post("/sync/bolormaa/_bulk_docs", json={"docs": docs},
                                                       headers={"Authorization": f"Basic {auth}"})
    assert resp.status_code == 201 and all("rev" in r for r in resp.json), resp.json
    day = days[1]
    page = web.logged_in("oyunaa").get(f"/web/areas/{TES}/child?id={child}")
    assert page.status_code == 200
    figures = dict(re.findall(r'<figure class="chart" data-indicator="(\w+)">(.*?)</figure>', page.text, re.S))
    for name in ("wfa", "wfl" if (day - born).days < 731 else "wfh", "bmi"):
        assert f"{day.isoformat()}: oedema, so no weight-based z-score is computed" in figures[name]
        assert f"<title>{day.isoformat()}:" not in figures[name]
    for name in ("lhfa", "acfa"):  # oedema leaves length and MUAC alone
        assert f"<title>{day.isoformat()}:" in figures[name] and "<figcaption>" not in figures[name]
    mn = web.logged_in("oyunaa", "mn").get(f"/web/areas/{TES}/child?id={child}")
    assert f"{day.isoformat()}: хаван" in mn.text


def test_a_bags_children_longest_unmeasured_first(web: Web):
    """The list of a bag: every child whose newest visit names that bag, oldest newest visit first."""
    subs = docs_of(web, TES, ids.SUBMISSION)
    derived = {d["about"]: d["derived"] for d in docs_of(web, TES, ids.DERIVED).values()}
    newest: dict[str, tuple[str, str]] = {}
    for sid, doc in subs.items():
        if doc.get("form") == "growth_visit":
            mark = (doc["data"]["visit_date"], sid.rsplit(":", 1)[1])
            newest[doc["data"]["child_id"]] = max(newest.get(doc["data"]["child_id"], mark), mark)
    bag = "2-р баг"
    mine = sorted((day, child) for child, (day, key) in newest.items()
                  if subs[f"{TES}:sub:{key}"]["data"]["bag"] == bag)
    assert mine
    client = web.logged_in("oyunaa")
    page = client.get(f"/web/areas/{TES}/children", query_string={"bag": bag})
    assert page.status_code == 200
    positions = [page.text.index(f'child?id={child}"') for _, child in mine]
    assert positions == sorted(positions)  # the longest unmeasured first
    assert page.text.count("child?id=") == len(mine)
    since = (AS_OF - timedelta(days=90)).isoformat()
    assert page.text.count('class="due"') == sum(1 for day, _ in mine if day < since)
    day, child = mine[-1]
    key = newest[child][1]
    stunting = derived[f"{TES}:sub:{key}"]["stunting"]
    row = page.text[page.text.index(f'child?id={child}"'):].split("</tr>")[0]
    assert day in row and (stunting is None or stunting.capitalize() in row)
    report = client.get(f"/web/reports?area={TES}")
    assert f'/web/areas/{TES}/children?bag=' in report.text
    assert client.get(f"/web/areas/{TES}/children").status_code == 400
    assert client.get(f"/web/areas/{TES}/children", query_string={"bag": "x" * 101}).status_code == 400
    assert web.logged_in("enkhjargal").get(f"/web/areas/{TES}/children",
                                           query_string={"bag": bag}).status_code == 404
    empty = client.get(f"/web/areas/{TES}/children", query_string={"bag": "9-р баг"})
    assert empty.status_code == 200 and "No child of this bag has a growth visit." in empty.text
    mn = web.logged_in("oyunaa", "mn").get(f"/web/areas/{TES}/children", query_string={"bag": bag})
    assert f"{bag}-ийн хүүхдүүд" in mn.text


def test_the_report_as_of_past_days_counts_each_child_by_its_visit_then(web: Web):
    """?as_of=: the figures of several past days (one at a child's visit, the window's edge) equal a
    count of the seeded visits dated up to each day; LQAS counts the interviews made by then."""
    client = web.logged_in("oyunaa")
    visits = sorted({d["data"]["visit_date"] for d in docs_of(web, TES, ids.SUBMISSION).values()
                     if d.get("form") == "growth_visit"})
    edge = date.fromisoformat(visits[len(visits) // 2]) + timedelta(days=90)  # that visit on the window's first day
    days = {AS_OF - timedelta(days=n) for n in (1, 19, 21, 45, 120, 300)} | {min(edge, AS_OF)}
    changed = 0
    for day in sorted(days):
        want = expected_growth(web, TES, day)
        rows = download(client, f"/web/reports/growth.csv?area={TES}&as_of={day.isoformat()}")
        head = rows[0]
        label = "Measured in the last 3 months" if day == AS_OF else f"Measured in the 3 months up to {day}"
        assert label in head
        got = {("" if r[1] == "All bags" else r[1]): dict(zip(head, r, strict=True)) for r in rows[1:]}
        assert set(got) == set(want) if want else rows[1:] == []
        for bag, exp in want.items():
            assert (int(got[bag]["Children"]), int(got[bag][label])) == (exp["children"], exp["measured"]), (day, bag)
            for name in ("Stunting", "Wasting", "Underweight"):
                key = name.lower()
                assert [int(got[bag][f"{name}: {c}"]) for c in ("classified", "flagged", "moderate", "severe")] == \
                    [exp.get(f"{key}.{c}", 0) for c in ("n", "flagged", "moderate", "severe")], (day, bag, name)
        changed += want != expected_growth(web, TES, AS_OF)
        page = client.get(f"/web/reports?area={TES}&as_of={day.isoformat()}")
        assert page.status_code == 200 and f'value="{day.isoformat()}"' in page.text
        assert ("as they stood at the end of" in page.text) == (day != AS_OF)
        lqas = download(client, f"/web/reports/lqas.csv?area={TES}&as_of={day.isoformat()}")
        survey_day = AS_OF - timedelta(days=20)  # the demo's interviews (sync.demo_programmes)
        assert (len(lqas) > 1) == (day >= survey_day), day
        if day >= survey_day:
            want_lqas = expected_lqas(web, TES)
            assert sorted((r[1], int(r[6]), int(r[7])) for r in lqas[1:] if int(r[7])) == \
                sorted((sa, x, n) for (sa, _), (x, n) in want_lqas.items() if n)
    assert changed >= 3  # the past days differ from today's figures
    assert 'href="/web/reports/growth.csv?area=uvs-tes&amp;as_of=' in client.get(
        f"/web/reports?area={TES}&as_of={(AS_OF - timedelta(days=45)).isoformat()}").text


@pytest.mark.parametrize("lang, words", [
    ("en", ("Write the day of the report as YYYY-MM-DD.", "cannot be read as of a day still to come",
            "A report goes back to")),
    ("mn", ("Тайлангийн өдрийг ОООО-СС-ӨӨ хэлбэрээр бичнэ үү.", "ирээгүй байгаа өдрөөр",
            "Тайланг хамгийн эртдээ"))])
def test_a_bad_or_future_as_of_day_is_a_400_in_the_pages_language(web: Web, lang: str, words: tuple[str, ...]):
    client = web.logged_in("oyunaa", lang)
    bad, future, old = words
    tomorrow = (AS_OF + timedelta(days=1)).isoformat()
    for path in ("/web/reports?as_of=2026-13-01", "/web/reports?as_of=yesterday", "/web/reports?as_of=2026-2-01",
                 "/web/reports/growth.csv?as_of=2026-02-30", "/web/cases?as_of=01-02-2026"):
        resp = client.get(path)
        assert resp.status_code == 400 and bad in resp.text, (path, resp.text[:300])
    for path in (f"/web/reports?as_of={tomorrow}", f"/web/reports/lqas.xlsx?as_of={tomorrow}",
                 f"/web/cases?as_of={tomorrow}"):
        resp = client.get(path)
        assert resp.status_code == 400 and future in resp.text, path
    resp = client.get(f"/web/reports?as_of={(AS_OF - timedelta(days=800)).isoformat()}")
    assert resp.status_code == 400 and old in resp.text
    assert client.get(f"/web/reports?as_of={AS_OF.isoformat()}").status_code == 200


def test_catchment_coverage_as_of_a_day_pools_the_interviews_made_by_then(web: Web):
    """The demo's interviews are all on one day: the day before, no catchment has an interview in; that
    day, every supervision area of the aimag-wide catchment has, as today."""
    client = web.logged_in("oyunaa")
    survey_day = AS_OF - timedelta(days=20)  # the demo's interviews (sync.demo_programmes)

    def rows(day: date) -> list[dict]:
        got = download(client, f"/web/reports/catchments.csv?area={TES}&as_of={day.isoformat()}")
        return [dict(zip(got[0], r, strict=True)) for r in got[1:]]

    today = rows(AS_OF)
    assert today and {r["Supervision areas with interviews"] for r in today} != {"0"}
    assert rows(survey_day) == today
    before = rows(survey_day - timedelta(days=1))
    assert [r["Catchment area"] for r in before] == [r["Catchment area"] for r in today]
    assert {r["Supervision areas with interviews"] for r in before} == {"0"}
    assert {r["Coverage (%)"] for r in before} == {""}
