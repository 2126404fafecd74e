"""The LQAS set-up's several eligibility conditions and catchment areas, and the decision-rule table page.

On the demo (every soum's three supervision areas with 19 interviews each, and
the demo's two catchment areas) an admin posts the pages' own forms as a
browser would: conditions added with "Add a condition", saved, and removed;
catchment areas named and filled from the supervision areas' rows; cells of
the decision-rule table set, refused and reset. Every figure of the report
is worked out again here from the stored interviews (the binomial rule in
exact fractions, the stratified coverage in fractions). Mistakes are 400s in
the admin's language naming the row and condition (or the cell), with
nothing written; a stale revision is a 409; coordinators see a catchment's
pooled coverage only when they coordinate all of its soums.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import test_web_lqas_setup as setup_page
from webworld import Web, build_web

from programmes.lqas import check_overrides
from sync.demo import USERS
from sync.demo_programmes import SUPERVISION_AREAS, seed_programmes
from sync.lqas_decision_rules import DOC_ID as RULES_ID
from sync.lqas_decision_rules import DecisionRuleTable, binomial_d
from sync.lqas_setup import LqasSetup

TES, NARAN = "uvs-tes", "uvs-naranbulag"
PAGE, RULES = "/web/admin/lqas", "/web/admin/lqas/rules"
UVS = ("uvs-tes", "uvs-naranbulag", "uvs-zavkhan")
POP = dict(SUPERVISION_AREAS)
NAMES = {"Children 12-23 months fully vaccinated (card)": "fully_vaccinated",
         "Child weighed in the last 3 months": "weighed_3_months", "Mother knows how to prepare ORS": "knows_ors",
         "Mother names at least 2 critical times for handwashing": "handwashing"}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    world = build_web(tmp_path_factory.mktemp("lqas-more") / "data")
    svc = world.svc
    users = [svc.users.get(name) for name, _, _ in USERS]
    seed_programmes(svc.store, svc.forms, svc.areas.tree(), users, children_per_soum=0)
    return world


def form_of(html: str) -> dict[str, str]:
    parser = setup_page.FormFields()
    parser.feed(html)
    return parser.fields


def pooled(parts: list[tuple[int, int, int]]) -> tuple[str, str, str]:
    """Coverage and 95% CI (%, one decimal) of (population, correct, eligible) strata, in fractions."""
    parts = [p for p in parts if p[2]]
    total = sum(p for p, _, _ in parts)
    est = sum(Fraction(p, total) * Fraction(x, n) for p, x, n in parts)
    var = sum(Fraction(p, total) ** 2 * Fraction(x, n) * (1 - Fraction(x, n)) / n for p, x, n in parts)
    se = math.sqrt(var)
    return (f"{float(est) * 100:.1f}", f"{max(0.0, float(est) - 1.96 * se) * 100:.1f}",
            f"{min(1.0, float(est) + 1.96 * se) * 100:.1f}")


def tally(web: Web, area: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(sa, indicator) -> (correct, eligible) from the answers, with the set-up as the first test leaves it
    (knows_ors asked of mothers of children of 6 months and more)."""
    out = dict(setup_page.tally(web, area))
    for sa, counts in ors_tally(web, area, 6, False).items():
        out[(sa, "knows_ors")] = counts
    return out


def ors_tally(web: Web, area: str, min_age: int, only_0_11: bool) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for data in setup_page.interviews(web, area):
        if data["consent"] != "yes" or data["child_age_months"] < min_age:
            continue
        if only_0_11 and data["respondent_type"] != "mother_0_11":
            continue
        x, n = out.get(data["sa"], (0, 0))
        out[data["sa"]] = (x + (data["knows_ors"] == "yes"), n + 1)
    return out


# -- several eligibility conditions ------------------------------------------------------------------

def test_conditions_are_added_saved_counted_and_removed(web: Web):
    admin = web.logged_in("admin", "en")
    fields = setup_page.page_form(admin)
    i = setup_page.row_of(fields, "key", "knows_ors")
    assert fields[f"cond_rows_{i}"] == "1"  # no condition yet: one empty row
    # "Add a condition": the page again with a second empty row, nothing saved.
    before = LqasSetup(web.svc.store).doc()["_rev"]
    resp = admin.post(PAGE, data={**fields, "add_condition": str(i)})
    assert resp.status_code == 200 and LqasSetup(web.svc.store).doc()["_rev"] == before
    fields = form_of(resp.text)
    assert fields[f"cond_rows_{i}"] == "2"
    fields.update({f"elig_field_{i}_0": "child_age_months", f"elig_op_{i}_0": ">=", f"elig_value_{i}_0": "6",
                   f"elig_field_{i}_1": "respondent_type", f"elig_op_{i}_1": "=", f"elig_value_{i}_1": "mother_0_11"})
    resp = admin.post(PAGE, data=fields)
    assert resp.status_code == 302, resp.text[:500]
    ors = next(x for x in LqasSetup(web.svc.store).get().indicators if x.key == "knows_ors")
    assert ors.eligible == (("child_age_months", ">=", 6), ("respondent_type", "=", "mother_0_11"))

    coordinator = web.logged_in("oyunaa")
    want = ors_tally(web, TES, 6, True)
    rows = [r for r in setup_page.download(coordinator, f"/web/reports/lqas.csv?area={TES}")
            if r["Indicator"] == "Mother knows how to prepare ORS"]
    assert len(rows) == 3
    for r in rows:
        x, n = want[r["Supervision area"]]
        assert (int(r["Correct"]), int(r["Eligible"])) == (x, n)
        assert int(r["Decision rule (at least)"]) == setup_page.binomial_rule(n, 50)
        assert r["Decision rule from"] == "binomial"
    assert sum(n for _, n in want.values()) < sum(n for _, n in ors_tally(web, TES, 0, False).values())

    # Shown again with both conditions and an empty row; removing the second leaves the first.
    fields = setup_page.page_form(admin)
    assert fields[f"cond_rows_{i}"] == "3" and fields[f"elig_value_{i}_1"] == "mother_0_11"
    resp = admin.post(PAGE, data={**fields, f"elig_drop_{i}_1": "1"})
    assert resp.status_code == 302
    ors = next(x for x in LqasSetup(web.svc.store).get().indicators if x.key == "knows_ors")
    assert ors.eligible == (("child_age_months", ">=", 6),)
    want = ors_tally(web, TES, 6, False)
    for r in setup_page.download(coordinator, f"/web/reports/lqas.csv?area={TES}"):
        if r["Indicator"] == "Mother knows how to prepare ORS":
            assert (int(r["Correct"]), int(r["Eligible"])) == want[r["Supervision area"]]


CONDITION_BAD = [  # (field, op, value) of the second condition of fully_vaccinated, English, Mongolian
    (("child_age_months", "<", "two years"), "Indicator row 1, condition 2: eligibility compares a number question "
     "with a whole number.", "Шалгуур үзүүлэлтийн 1-р мөр, 2-р нөхцөл: хамаарах эсэхэд тоон асуултыг бүхэл тоотой"),
    (("respondent_type", ">=", "mother_0_11"), "Indicator row 1, condition 2: a single-choice question is tested",
     "Шалгуур үзүүлэлтийн 1-р мөр, 2-р нөхцөл: нэг сонголттой асуултыг"),
    (("child_age_months", "", "20"), "Indicator row 1, condition 2: choose how eligibility compares.",
     "Шалгуур үзүүлэлтийн 1-р мөр, 2-р нөхцөл: хамаарах эсэхийг хэрхэн харьцуулахыг"),
]


@pytest.mark.parametrize("lang", ["en", "mn"])
@pytest.mark.parametrize("condition,english,mongolian", CONDITION_BAD)
def test_a_bad_condition_is_a_400_naming_its_row_and_number(web: Web, lang: str, condition: tuple, english: str,
                                                            mongolian: str):
    before = LqasSetup(web.svc.store).doc()
    client = web.logged_in("admin", lang)
    fields = setup_page.page_form(client)
    v = setup_page.row_of(fields, "key", "fully_vaccinated")
    assert v == 0 and fields[f"elig_field_{v}_0"] == "child_age_months"
    field, op, value = condition
    fields.update({f"elig_field_{v}_1": field, f"elig_op_{v}_1": op, f"elig_value_{v}_1": value})
    resp = client.post(PAGE, data=fields)
    assert resp.status_code == 400
    assert (english if lang == "en" else mongolian) in resp.text
    assert f'value="{value}"' in resp.text  # her condition is shown again
    assert LqasSetup(web.svc.store).doc()["_rev"] == before["_rev"]


# -- catchment areas ------------------------------------------------------------------------------------

def test_the_demos_catchments_are_pooled_over_their_soums(web: Web):
    survey = LqasSetup(web.svc.store).get()
    assert [(c.code, len(c.members)) for c in survey.catchments] == [("uvs_aimag", 9), ("tes_north", 2)]
    coordinator = web.logged_in("oyunaa")
    rows = setup_page.download(coordinator, f"/web/reports/catchments.csv?area={NARAN}")
    # Naranbulag's report: only the aimag-wide catchment touches it (pooled over the three soums).
    assert {r["Catchment area"] for r in rows} == {"Uvs aimag (every soum's bags)"}
    counts = {area: tally(web, area) for area in UVS}
    for r in rows:
        key = NAMES[r["Indicator"]]
        parts = [(POP[sa], *counts[area][(sa, key)]) for area in UVS for sa in POP]
        assert (r["Coverage (%)"], r["95% CI low (%)"], r["95% CI high (%)"]) == pooled(parts)
        assert (r["Supervision areas with interviews"], r["Supervision areas in the catchment"]) == ("9", "9")
    tes = setup_page.download(coordinator, f"/web/reports/catchments.csv?area={TES}")
    north = [r for r in tes if r["Catchment area"] == "Tes soum, 1st and 2nd bags"]
    assert len(north) == 4
    for r in north:
        key = NAMES[r["Indicator"]]
        parts = [(POP[sa], *counts[TES][(sa, key)]) for sa in ("1-р баг", "2-р баг")]
        assert (r["Coverage (%)"], r["95% CI low (%)"], r["95% CI high (%)"]) == pooled(parts)
    mn = web.logged_in("oyunaa", "mn").get(f"/web/reports?area={TES}").text
    assert "Хамрах бүсээр LQAS хамралт" in mn and "Тэс сумын 1, 2-р баг" in mn
    # Another aimag's coordinator: neither catchment touches her soums.
    assert "Uvs aimag (every soum" not in web.logged_in("enkhjargal").get("/web/reports").text


def test_a_catchment_across_aimags_is_shown_only_to_who_sees_all_its_soums(web: Web):
    admin = web.logged_in("admin", "en")
    fields = setup_page.page_form(admin)
    blank = int(fields["ca_rows"]) - 2
    fields.update({f"ca_code_{blank}": "cross", f"ca_mn_{blank}": "Хил дамнасан", f"ca_en_{blank}": "Across aimags"})
    rows = range(int(fields["area_rows"]))
    tes3 = next(j for j in rows if fields.get(f"area_{j}") == TES and fields[f"sa_{j}"] == "3-р баг")
    khar = next(j for j in rows if fields.get(f"area_{j}") == "ovr-kharkhorin" and fields[f"sa_{j}"] == "1-р баг")
    assert fields[f"sa_ca_{tes3}"] == "uvs_aimag"
    fields[f"sa_ca_{tes3}"] = "uvs_aimag, cross"
    fields[f"sa_ca_{khar}"] = "cross"
    assert admin.post(PAGE, data=fields).status_code == 302
    cross = next(c for c in LqasSetup(web.svc.store).get().catchments if c.code == "cross")
    assert set(cross.members) == {(TES, "3-р баг"), ("ovr-kharkhorin", "1-р баг")}

    for name, area in (("oyunaa", TES), ("enkhjargal", "ovr-kharkhorin")):
        client = web.logged_in(name)
        page = client.get(f"/web/reports?area={area}").text
        assert "Across aimags is not shown: it pools supervision areas of soums you do not coordinate." in page
        assert "Across aimags" not in {r["Catchment area"] for r in setup_page.download(
            client, f"/web/reports/catchments.csv?area={area}")}
    rows = [r for r in setup_page.download(admin, f"/web/reports/catchments.csv?area={TES}")
            if r["Catchment area"] == "Across aimags"]
    assert len(rows) == 4
    khar_counts, tes_counts = tally(web, "ovr-kharkhorin"), tally(web, TES)
    for r in rows:
        key = NAMES[r["Indicator"]]
        parts = [(POP["3-р баг"], *tes_counts[("3-р баг", key)]), (POP["1-р баг"], *khar_counts[("1-р баг", key)])]
        assert (r["Coverage (%)"], r["95% CI low (%)"], r["95% CI high (%)"]) == pooled(parts)
    assert "Хил дамнасан харагдахгүй" in web.logged_in("oyunaa", "mn").get(f"/web/reports?area={TES}").text


CATCHMENT_BAD = [  # {row}: the first empty catchment row, where the mistake is typed
    ("unknown", "Supervision area row 1: there is no catchment area nowhere; add it to the catchment areas first.",
     "Хяналтын бүсийн 1-р мөр: nowhere хамрах бүс алга"),
    ("empty", "Catchment area row {row}: no supervision area is in lonely;",
     "Хамрах бүсийн {row}-р мөр: lonely-д хяналтын бүс алга"),
    ("copy", "Catchment area row {row}: the code tes_north is used twice.",
     "Хамрах бүсийн {row}-р мөр: tes_north код хоёр удаа"),
    ("nameless", "Catchment area row {row}: the catchment area needs its name in Mongolian and in English",
     "Хамрах бүсийн {row}-р мөр: хамрах бүс монгол, англи нэртэй"),
]


@pytest.mark.parametrize("lang", ["en", "mn"])
@pytest.mark.parametrize("mistake,english,mongolian", CATCHMENT_BAD)
def test_a_bad_catchment_is_a_400_in_the_admins_language(web: Web, lang: str, mistake: str, english: str,
                                                         mongolian: str):
    before = LqasSetup(web.svc.store).doc()
    client = web.logged_in("admin", lang)
    fields = setup_page.page_form(client)
    blank = next(c for c in range(int(fields["ca_rows"])) if not fields[f"ca_code_{c}"])
    assert blank >= 2  # the demo's two catchment areas come first
    fields.update({"unknown": {"sa_ca_0": "uvs_aimag, nowhere"},
                   "empty": {f"ca_code_{blank}": "lonely", f"ca_mn_{blank}": "Ганц", f"ca_en_{blank}": "Lonely"},
                   "copy": {f"ca_code_{blank}": "tes_north", f"ca_mn_{blank}": "Давхар", f"ca_en_{blank}": "Twice"},
                   "nameless": {f"ca_code_{blank}": "nameless", f"ca_mn_{blank}": "Нэргүй"}}[mistake])
    resp = client.post(PAGE, data=fields)
    assert resp.status_code == 400
    assert (english if lang == "en" else mongolian).format(row=blank + 1) in resp.text
    after = LqasSetup(web.svc.store).doc()
    assert after["_rev"] == before["_rev"] and after["catchments"] == before["catchments"]


# -- the decision-rule table ---------------------------------------------------------------------------

def rules_form(client, query: str = "") -> dict[str, str]:
    resp = client.get(RULES + query)
    assert resp.status_code == 200, resp.text[:300]
    return form_of(resp.text)


def test_an_admin_overrides_a_cell_the_report_uses_it_and_a_reset_brings_back_the_binomial(web: Web):
    coordinator = web.logged_in("oyunaa")
    row = next(r for r in setup_page.download(coordinator, f"/web/reports/lqas.csv?area={TES}")
               if r["Indicator"] == "Mother names at least 2 critical times for handwashing")
    x, n = int(row["Correct"]), int(row["Eligible"])
    binomial = setup_page.binomial_rule(n, 60)
    assert int(row["Decision rule (at least)"]) == binomial and binomial_d(n, 60) == binomial
    # A national table that flips this area: d = x + 1 (or x) for this n, and for the next (or previous)
    # sample sizes as far as needed to keep d from going down as n rises.
    d = x + 1 if x >= binomial else x
    step = 1 if d > binomial else -1
    cells = next(c for c in ({(n + step * k, 60): d for k in range(j)} for j in range(1, 8)) if _fits(c))

    admin = web.logged_in("admin", "en")
    fields = rules_form(admin, f"?from={n - 8}&to={n + 8}")
    assert fields[f"d_{n}_60"] == str(binomial) and fields["d_19_80"] == "13"
    assert "In use: the binomial decision rules." in admin.get(RULES).text
    # Saved as shown (12..30, where the binomial table steps down at n = 29, 30): nothing to override.
    shown = rules_form(admin)
    assert admin.post(RULES, data=shown).status_code == 302
    assert DecisionRuleTable(web.svc.store).get()[0].overrides == {}
    fields = rules_form(admin, f"?from={n - 8}&to={n + 8}")
    fields.update({f"d_{m}_{t}": str(v) for (m, t), v in cells.items()})
    resp = admin.post(RULES, data=fields)
    assert resp.status_code == 302, resp.text[:500]
    table, _ = DecisionRuleTable(web.svc.store).get()
    assert table.overrides == {k: v for k, v in cells.items() if v != binomial_d(*k)}
    page = admin.get(resp.headers["Location"]).text
    set_by_admin = len(table.overrides)
    assert "The decision rules are saved." in page and f"{set_by_admin} cell" in page
    assert page.count('class="num override"') == set_by_admin

    rows = [r for r in setup_page.download(coordinator, f"/web/reports/lqas.csv?area={TES}")
            if r["Indicator"] == "Mother names at least 2 critical times for handwashing"]
    for r in rows:
        key = (int(r["Eligible"]), 60)
        want_d = table.overrides.get(key, setup_page.binomial_rule(key[0], 60))
        assert int(r["Decision rule (at least)"]) == want_d
        assert r["Decision rule from"] == ("the deployment's table" if key in table.overrides else "binomial")
        assert r["Result"] == ("Reached" if int(r["Correct"]) >= want_d else "Not reached")
    changed = next(r for r in rows if r["Supervision area"] == row["Supervision area"])
    assert changed["Result"] != row["Result"]  # the area's result changed with the table
    html = coordinator.get(f"/web/reports?area={TES}").text
    assert f"Decision rules: the deployment's table ({set_by_admin} cell" in html.replace("&#39;", "'")
    mn = web.logged_in("oyunaa", "mn").get(f"/web/reports/lqas.csv?area={TES}").data.decode("utf-8-sig")
    assert "байгууллагын хүснэгт" in mn

    # A stale revision is a 409; the reset brings back the binomial rules and is audited.
    assert admin.post(RULES, data={**fields, "rev": ""}).status_code == 409
    fields = rules_form(admin)
    resp = admin.post(RULES + "/reset", data={k: fields[k] for k in ("csrf_token", "rev", "from", "to")})
    assert resp.status_code == 302
    assert DecisionRuleTable(web.svc.store).get()[0].overrides == {}
    assert "The decision rules are the binomial ones again." in admin.get(resp.headers["Location"]).text
    entries = [r["doc"] for r in web.svc.store.open("_audit").all_docs(include_docs=True)
               if r["doc"].get("action") == "checklist.lqas_rules_changed" and r["doc"].get("entry") is None]
    assert sorted((len(e["before"]["overrides"]), len(e["after"]["overrides"])) for e in entries) == [
        (0, 0), (0, set_by_admin), (set_by_admin, 0)]  # the first: saved as shown
    assert all(e["actor"] == "admin" and e["doc_id"] == RULES_ID for e in entries)
    assert "LQAS шийдвэрийн дүрмийг өөрчилсөн" in web.logged_in("admin", "mn").get("/web/audit?what=checklist").text


def _fits(cells: dict[tuple[int, int], int]) -> bool:
    try:
        check_overrides(cells)
    except ValueError:
        return False
    return True


RULES_BAD = [  # (cell, value, English, Mongolian); binomial: 13 at n = 19, 80%, 14 at 85%; 7 at n = 19 and 20, 50%
    ((19, 80), "25", "n = 19, target 80%: the decision rule must be a whole number from 0 to 19.",
     "n = 19, зорилт 80%: шийдвэрийн дүрэм 0-ээс 19 хүртэлх бүхэл тоо байна."),
    ((19, 80), "twelve", "n = 19, target 80%: the decision rule must be a whole number from 0 to 19.",
     "n = 19, зорилт 80%: шийдвэрийн дүрэм 0-ээс 19 хүртэлх"),
    ((19, 80), "15", "n = 19, target 80%: 15 does not fit beside 14 at target 85%; the decision rule may not go "
     "down as the target rises.", "n = 19, зорилт 80%: 15 нь 85% зорилтын 14-тэй зохицохгүй"),
    ((19, 50), "8", "n = 19, target 50%: 8 does not fit beside 7 at n = 20; the decision rule may not go down as "
     "the sample size rises.", "n = 19, зорилт 50%: 8 нь n = 20 үеийн 7-тэй зохицохгүй"),
]


@pytest.mark.parametrize("lang", ["en", "mn"])
@pytest.mark.parametrize("cell,value,english,mongolian", RULES_BAD)
def test_a_bad_cell_is_a_400_in_the_admins_language_and_nothing_is_written(web: Web, lang: str, cell: tuple,
                                                                          value: str, english: str, mongolian: str):
    client = web.logged_in("admin", lang)
    before = DecisionRuleTable(web.svc.store).doc()
    fields = rules_form(client)
    n, t = cell
    fields[f"d_{n}_{t}"] = value
    resp = client.post(RULES, data=fields)
    assert resp.status_code == 400, resp.text[:300]
    assert (english if lang == "en" else mongolian) in resp.text.replace("&#39;", "'")
    assert 'role="alert"' in resp.text
    assert DecisionRuleTable(web.svc.store).doc() == before


def test_the_rules_page_is_for_admins_and_its_range_is_checked(web: Web):
    assert web.logged_in("oyunaa").get(RULES).status_code == 404
    admin = web.logged_in("admin", "mn")
    resp = admin.get(RULES + "?from=0&to=90")
    assert resp.status_code == 400 and "Түүврийн хэмжээг 1-ээс 60 хүртэл" in resp.text
    fields = rules_form(admin, "?from=5&to=7")
    assert {k for k in fields if k.startswith("d_")} == {f"d_{n}_{t}" for n in (5, 6, 7)
                                                          for t in map(int, fields["targets"].split(","))}
    assert set(range(10, 100, 5)) <= set(map(int, fields["targets"].split(",")))
