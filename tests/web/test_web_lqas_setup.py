"""The admins' LQAS survey set-up page, and the LQAS report reading the set-up from it.

An admin edits what the page shows her (its own form, read back from the
HTML and posted as a browser would): a changed target or population changes
the report's classification and coverage, recomputed here from the stored
interviews with decision rules worked out again from the binomial
distribution; a changed eligibility rule makes the report count each
interview again. Bad input is a 400 in the admin's language with nothing
written; coordinators and workers get 404 as for a missing page. The report
shows how many interviews each supervision area has of its sample.
"""

from __future__ import annotations

import csv
import io
import math
from fractions import Fraction
from html.parser import HTMLParser

import pytest
from webworld import Web, build_web

from sync import ids
from sync.demo import USERS
from sync.demo_programmes import SUPERVISION_AREAS, seed_programmes
from sync.lqas_setup import DOC_ID, LqasSetup

TES, NARAN = "uvs-tes", "uvs-naranbulag"
PAGE = "/web/admin/lqas"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    world = build_web(tmp_path_factory.mktemp("lqas") / "data")
    svc = world.svc
    users = [svc.users.get(name) for name, _, _ in USERS]
    seed_programmes(svc.store, svc.forms, svc.areas.tree(), users, children_per_soum=0)
    return world


class FormFields(HTMLParser):
    """The fields a browser would post from the page's set-up form (checked boxes only)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.fields[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select, self._first = a.get("name"), None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
                self.fields.setdefault(self._select, self._first)
            if "selected" in a:
                self.fields[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def page_form(client) -> dict[str, str]:
    resp = client.get(PAGE)
    assert resp.status_code == 200, resp.text[:300]
    parser = FormFields()
    parser.feed(resp.text)
    return parser.fields


def row_of(fields: dict[str, str], prefix: str, value: str) -> int:
    """The index of the row whose ``prefix_<i>`` field holds ``value``."""
    return next(int(k.rsplit("_", 1)[1]) for k, v in fields.items()
                if k.startswith(prefix + "_") and k[len(prefix) + 1:].isdigit() and v == value)


def download(client, path: str) -> list[dict[str, str]]:
    resp = client.get(path)
    assert resp.status_code == 200, resp.text[:300]
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def audit_entries(web: Web) -> list[dict]:
    db = web.svc.store.open("_audit") if web.svc.store.exists("_audit") else None
    assert db is not None
    return [r["doc"] for r in db.all_docs(include_docs=True)
            if r["doc"].get("action") == "checklist.lqas_changed" and r["doc"].get("entry") is None]


# -- independent recomputation --------------------------------------------------------------------

def binomial_rule(n: int, target: int) -> int:
    """d: alpha at the target and beta 30 points below both <= 10%, the least sum; at targets of 30% or
    less the largest d with alpha <= 10%; failing both bounds, the least larger error."""
    def below(d: int, p: Fraction) -> Fraction:
        return sum((math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(d)), Fraction(0))

    hi, lo = Fraction(target, 100), Fraction(target - 30, 100)
    if lo <= 0:
        return max(d for d in range(n + 1) if below(d, hi) <= Fraction(1, 10))
    fits = [(below(d, hi) + 1 - below(d, lo), d) for d in range(n + 1)
            if below(d, hi) <= Fraction(1, 10) and 1 - below(d, lo) <= Fraction(1, 10)]
    if fits:
        return min(fits)[1]
    return min((max(below(d, hi), 1 - below(d, lo)), below(d, hi) + 1 - below(d, lo), d) for d in range(n + 1))[2]


def interviews(web: Web, area: str) -> list[dict]:
    db = web.svc.store.open(area)
    prefix = f"{area}:{ids.SUBMISSION}:"
    return [r["doc"]["data"] for r in db.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True)
            if r["doc"].get("form") == "lqas_interview" and r["doc"].get("type") == "submission"]


def tally(web: Web, area: str, weighed_from_months: int | None = None) -> dict[tuple[str, str], tuple[int, int]]:
    """(sa, indicator) -> (correct, eligible), written out from the answers again."""
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for data in interviews(web, area):
        if data["consent"] != "yes":
            continue
        critical = {"after_toilet", "before_cooking", "before_feeding", "after_cleaning_child"}
        values = {"knows_ors": data["knows_ors"] == "yes",
                  "handwashing": len(critical & set(data.get("handwash_times", []))) >= 2}
        if weighed_from_months is None or data["child_age_months"] >= weighed_from_months:
            values["weighed_3_months"] = data["weighed_3_months"] == "yes"
        if data["child_age_months"] >= 12:
            values["fully_vaccinated"] = data["fully_vaccinated"] == "yes"
        for name, correct in values.items():
            x, n = out.get((data["sa"], name), (0, 0))
            out[(data["sa"], name)] = (x + correct, n + 1)
    return out


def coverage(counts: dict, populations: dict[str, int], key: str) -> tuple[str, str, str]:
    total = sum(populations.values())
    p = sum(Fraction(populations[sa], total) * Fraction(*counts[(sa, key)]) for sa in populations)
    var = sum(Fraction(populations[sa], total) ** 2 * Fraction(*counts[(sa, key)])
              * (1 - Fraction(*counts[(sa, key)])) / counts[(sa, key)][1] for sa in populations)
    se = math.sqrt(var)
    return (f"{float(p) * 100:.1f}", f"{max(0.0, float(p) - 1.96 * se) * 100:.1f}",
            f"{min(1.0, float(p) + 1.96 * se) * 100:.1f}")


# -- the tests -------------------------------------------------------------------------------------

def test_the_demo_seeds_the_bundled_survey_and_its_areas(web: Web):
    survey = LqasSetup(web.svc.store).get()
    assert survey.rev is not None and survey.sample_size == 19
    assert [(i.key, i.target) for i in survey.indicators] == [
        ("fully_vaccinated", 80), ("weighed_3_months", 85), ("knows_ors", 50), ("handwashing", 60)]
    codes = web.svc.areas.tree().data_scopes()
    assert {(a.area, a.sa, a.population) for a in survey.areas} == {
        (c, sa, n) for c in codes for sa, n in SUPERVISION_AREAS}
    fields = page_form(web.logged_in("admin", "en"))
    assert fields["sample_size"] == "19"
    i = row_of(fields, "key", "handwashing")
    assert (fields[f"question_{i}"], fields[f"target_{i}"], fields[f"at_least_{i}"]) == ("handwash_times", "60", "2")
    assert fields[f"correct_{i}"] == "after_toilet, before_cooking, before_feeding, after_cleaning_child"
    v = row_of(fields, "key", "fully_vaccinated")
    assert (fields[f"elig_field_{v}_0"], fields[f"elig_op_{v}_0"], fields[f"elig_value_{v}_0"]) == (
        "child_age_months", ">=", "12")
    assert int(fields["area_rows"]) == len(codes) * len(SUPERVISION_AREAS) + 3


def test_coordinators_and_workers_cannot_open_or_save_the_set_up(web: Web):
    before = LqasSetup(web.svc.store).doc()
    fields = page_form(web.logged_in("admin"))
    fields["sample_size"] = "25"
    for name in ("oyunaa", "bolormaa"):
        client = web.logged_in(name)
        assert client.get(PAGE).status_code == 404
        token = page_form_token(client)
        assert client.post(PAGE, data={**fields, "csrf_token": token}).status_code == 404
    assert PAGE not in web.logged_in("oyunaa").get("/web/reports").text  # no link for coordinators
    assert PAGE in web.logged_in("admin").get("/web/reports").text
    stranger = web.browser()
    resp = stranger.get(PAGE)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/web/login")
    assert LqasSetup(web.svc.store).doc()["_rev"] == before["_rev"]


def page_form_token(client) -> str:
    from webworld import csrf

    return csrf(client, "/web/")


BAD = [  # (what to change, English, Mongolian)
    ({"target": "120"}, "the target must be a whole percent from 1 to 99", "зорилт нь 1-ээс 99 хүртэлх бүхэл хувь"),
    ({"correct": "yes, maybe"}, "the question has no answer maybe", "асуултад maybe гэсэн хариулт байхгүй"),
    ({"population": "many"}, "the population must be a whole number", "хүн амын тоо (өрх) нь 1-ээс"),
    ({"sample_size": "0"}, "The sample size must be a whole number from 1 to 60.",
     "Түүврийн хэмжээ 1-ээс 60 хүртэлх бүхэл тоо байна."),
    ({"elig_value": "twelve"}, "eligibility compares a number question with a whole number",
     "тоон асуултыг бүхэл тоотой харьцуулна"),
    ({"sa_copy": True}, "is listed twice in the same soum", "нэг сумд хоёр удаа"),
]


@pytest.mark.parametrize("lang", ["en", "mn"])
@pytest.mark.parametrize("change,english,mongolian", BAD)
def test_bad_input_is_a_400_in_the_admins_language_and_nothing_is_written(web: Web, lang: str, change: dict,
                                                                          english: str, mongolian: str):
    before = LqasSetup(web.svc.store).doc()
    audited = len(audit_entries(web))
    client = web.logged_in("admin", lang)
    fields = page_form(client)
    ind = row_of(fields, "key", "knows_ors")
    vac = row_of(fields, "key", "fully_vaccinated")
    area = row_of(fields, "sa", "2-р баг")
    for name, value in change.items():
        if name == "sample_size":
            fields["sample_size"] = value
        elif name == "population":
            fields[f"population_{area}"] = value
        elif name == "elig_value":
            fields[f"elig_value_{vac}_0"] = value
        elif name == "sa_copy":  # the first blank row repeats a listed area
            blank = int(fields["area_rows"]) - 1
            fields.update({f"area_{blank}": fields[f"area_{area}"], f"sa_{blank}": "2-р баг",
                           f"population_{blank}": "50"})
        else:
            fields[f"{name}_{ind}"] = value
    fields[f"target_{vac}"] = "81"  # a good change beside the bad one is not saved either
    resp = client.post(PAGE, data=fields)
    assert resp.status_code == 400, resp.text[:500]
    assert (english if lang == "en" else mongolian) in resp.text
    assert 'role="alert"' in resp.text and 'value="81"' in resp.text  # her input is shown again
    after = LqasSetup(web.svc.store).doc()
    assert after["_rev"] == before["_rev"] and after["indicators"] == before["indicators"]
    assert len(audit_entries(web)) == audited


def test_an_incomplete_form_and_a_stale_revision_are_refused(web: Web):
    client = web.logged_in("admin", "mn")
    fields = page_form(client)
    resp = client.post(PAGE, data={k: v for k, v in fields.items() if k != "ind_rows"})
    assert resp.status_code == 400 and "Маягт бүрэн ирсэнгүй" in resp.text
    for count in ("ind_rows", "ca_rows"):  # "²" passes str.isdigit, and int() refuses it: was a 500
        resp = client.post(PAGE, data={**fields, count: "²"})
        assert resp.status_code == 400 and "Маягт бүрэн ирсэнгүй" in resp.text, (count, resp.status_code)
    fields = page_form(client)
    resp = client.post(PAGE, data={**fields, "cond_rows_0": "²"})  # read as no condition rows, as "x" is
    assert resp.status_code in (302, 400), resp.status_code
    fields = page_form(client)
    resp = client.post(PAGE, data={**fields, "rev": "1-stale"})
    assert resp.status_code == 409 and "LQAS" in resp.text


def test_a_changed_target_and_population_change_the_classification_and_coverage(web: Web):
    coordinator = web.logged_in("oyunaa")
    counts = tally(web, TES)
    # A target that changes knows_ors's outcome in at least one supervision area of Tes.
    sas = [sa for sa, _ in SUPERVISION_AREAS]
    target = next(t for t in range(95, 4, -5)
                  if any((counts[(sa, "knows_ors")][0] >= binomial_rule(counts[(sa, "knows_ors")][1], t))
                         != (counts[(sa, "knows_ors")][0] >= binomial_rule(counts[(sa, "knows_ors")][1], 50))
                         for sa in sas))
    before_rows = download(coordinator, f"/web/reports/lqas.csv?area={TES}")
    ors = "Mother knows how to prepare ORS"
    before = {r["Supervision area"]: r["Result"] for r in before_rows if r["Indicator"] == ors}

    admin = web.logged_in("admin", "en")
    fields = page_form(admin)
    fields[f"target_{row_of(fields, 'key', 'knows_ors')}"] = str(target)
    tes_rows = [j for j in range(int(fields["area_rows"])) if fields.get(f"area_{j}") == TES]
    j = next(j for j in tes_rows if fields[f"sa_{j}"] == "3-р баг")
    fields[f"population_{j}"] = "1000"
    resp = admin.post(PAGE, data=fields)
    assert resp.status_code == 302, resp.text[:500]
    assert "The LQAS set-up is saved." in admin.get(resp.headers["Location"]).text

    rows = download(coordinator, f"/web/reports/lqas.csv?area={TES}")
    after = {}
    for r in rows:
        if r["Indicator"] != ors:
            continue
        x, n = counts[(r["Supervision area"], "knows_ors")]
        d = binomial_rule(n, target)
        assert (int(r["Target (%)"]), int(r["Correct"]), int(r["Eligible"]), int(r["Decision rule (at least)"])) \
            == (target, x, n, d)
        assert r["Result"] == ("Reached" if x >= d else "Not reached")
        after[r["Supervision area"]] = r["Result"]
    assert after != before
    populations = {"1-р баг": 140, "2-р баг": 95, "3-р баг": 1000}
    assert {r["Supervision area"]: int(r["Households"]) for r in rows} == populations
    names = {"Mother knows how to prepare ORS": "knows_ors", "Child weighed in the last 3 months": "weighed_3_months",
             "Children 12-23 months fully vaccinated (card)": "fully_vaccinated",
             "Mother names at least 2 critical times for handwashing": "handwashing"}
    for r in download(coordinator, f"/web/reports/coverage.csv?area={TES}"):
        key = names[r["Indicator"]]
        assert (r["Coverage (%)"], r["95% CI low (%)"], r["95% CI high (%)"]) == coverage(counts, populations, key)
        assert int(r["Target (%)"]) == (target if key == "knows_ors" else
                                        {"fully_vaccinated": 80, "weighed_3_months": 85, "handwashing": 60}[key])
    # Naranbulag's areas keep their populations: the weights are per soum.
    naran = download(coordinator, f"/web/reports/lqas.csv?area={NARAN}")
    assert {r["Supervision area"]: int(r["Households"]) for r in naran} == dict(SUPERVISION_AREAS)

    entry = audit_entries(web)[-1]
    assert entry["actor"] == "admin" and entry["doc_id"] == DOC_ID
    old = {i["key"]: i["target"] for i in entry["before"]["indicators"]}
    new = {i["key"]: i["target"] for i in entry["after"]["indicators"]}
    assert (old["knows_ors"], new["knows_ors"]) == (50, target)
    audit = web.logged_in("admin", "mn").get("/web/audit?what=checklist")
    assert "LQAS судалгааны тохиргоог өөрчилсөн" in audit.text


def test_a_changed_eligibility_rule_counts_the_interviews_again(web: Web):
    coordinator = web.logged_in("oyunaa")
    download(coordinator, f"/web/reports/lqas.csv?area={TES}")  # the index is up to date with the old rule
    admin = web.logged_in("admin", "mn")
    fields = page_form(admin)
    i = row_of(fields, "key", "weighed_3_months")
    fields.update({f"elig_field_{i}_0": "child_age_months", f"elig_op_{i}_0": ">=", f"elig_value_{i}_0": "6"})
    assert admin.post(PAGE, data=fields).status_code == 302
    counts = tally(web, TES, weighed_from_months=6)
    rows = [r for r in download(coordinator, f"/web/reports/lqas.csv?area={TES}")
            if r["Indicator"] == "Child weighed in the last 3 months"]
    assert len(rows) == 3
    for r in rows:
        x, n = counts[(r["Supervision area"], "weighed_3_months")]
        assert (int(r["Correct"]), int(r["Eligible"])) == (x, n)
        assert int(r["Decision rule (at least)"]) == binomial_rule(n, 85)
    assert sum(int(r["Eligible"]) for r in rows) < sum(
        n for (sa, key), (_, n) in tally(web, TES).items() if key == "weighed_3_months")


def test_the_report_shows_each_areas_interviews_of_its_sample(web: Web):
    db = web.svc.store.open(TES)
    # Two interviews of 1-р баг deleted (as if not yet synced); a late area not in the set-up.
    gone = [r for r in db.all_docs(include_docs=True)
            if r["doc"].get("form") == "lqas_interview" and r["doc"]["data"]["sa"] == "1-р баг"][:2]
    db.bulk_docs([{**r["doc"], "_deleted": True} for r in gone])
    admin = web.logged_in("admin")
    fields = page_form(admin)
    blank = int(fields["area_rows"]) - 1
    fields.update({f"area_{blank}": TES, f"sa_{blank}": "5-р баг", f"population_{blank}": "60",
                   f"n_{blank}": "25"})
    assert admin.post(PAGE, data=fields).status_code == 302
    late = {k: v for k, v in gone[0]["doc"].items() if k != "_rev"}
    db.bulk_docs([{**late, "_id": f"{TES}:{ids.SUBMISSION}:01KLQAS{999:019d}", "data": {**late["data"], "sa": "4-р баг"}}])
    html = web.logged_in("oyunaa").get(f"/web/reports?area={TES}").text
    got = [line for line in html.split("<li>") if "interviews in" in line]
    shown = [line.split("SA ", 1)[1].split(" interviews in")[0] for line in got]
    assert shown == ["1-р баг: 17/19", "2-р баг: 19/19", "3-р баг: 19/19", "5-р баг: 0/25", "4-р баг: 1/19"]
    assert "not in the survey set-up" in got[-1] and "not in the survey set-up" not in got[0]
    assert 'max="19" value="17"' in got[0]
    mn = web.logged_in("oyunaa", "mn").get(f"/web/reports?area={TES}").text
    assert "Хяналтын бүс 1-р баг: 17/19 ярилцлага ирсэн" in mn
