"""The admins' module switch and what a switched-off module looks like on the pages, in both languages.

Flask's test client on a real SQLite store with the demo. The page refuses a
module left without a choice, an unknown module and a stale revision (400, 400,
409 in the admin's language) and writes nothing then; only admins open it.
With every module off, coordinators and admins find none of their menu entries,
their pages answer 404 with a page saying the module is off (workers get the
plain 404 of a missing page), the reports page leaves out their sections and
downloads, and the submissions of their forms are still listed and shown.
Switched on again, everything is back. Each save is in the audit log.
"""

from __future__ import annotations

import re

import pytest
from webworld import Web, csrf

from sync import records
from sync.modules import MODULES, ModuleSwitch

TES = "uvs-tes"
# A page of each module (one per module at least), for coordinators and for admins.
PAGES = {
    "wash": ["/web/wash", "/web/wash/kindergartens/uvs-tes:kg:X"],
    "scorecards": ["/web/scorecards", f"/web/scorecards/{TES}/facilities/school~x"],
    "cases": ["/web/cases"],
    "families": ["/web/families", f"/web/areas/{TES}/families", f"/web/areas/{TES}/families/assessments"],
    "growth": [f"/web/areas/{TES}/children?bag=1", f"/web/areas/{TES}/child?id=x", "/web/reports/growth.csv"],
    "lqas": ["/web/reports/lqas.csv", "/web/reports/coverage.xlsx", "/web/reports/catchments.csv"],
}
ADMIN_PAGES = {"lqas": "/web/admin/lqas", "lqas-rules": "/web/admin/lqas/rules", "wash": "/web/admin/wash-norms",
               "families": "/web/admin/family-card"}
MENU = {"en": {"wash": "WASH", "scorecards": "Scorecards", "cases": "Cases", "families": "Families",
               "lqas": "LQAS set-up"},
        "mn": {"wash": "Ус, ариун цэвэр", "scorecards": "Үнэлгээний карт", "cases": "Тохиолдлууд", "families": "Гэр бүлүүд",
               "lqas": "LQAS тохиргоо"}}
OFF_TEXT = {"en": "module is switched off in this deployment", "mn": "модулийг энэ системд унтраасан байна"}
SECTIONS = {"growth": 'id="growth-h"', "lqas": 'id="lqas-h"', "cases": 'id="counts-h"'}


def menu(html: str) -> list[str]:
    nav = re.search(r'<nav class="menu".*?</nav>', html, re.S).group(0)
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


def post(client, states: dict[str, str], rev: str | None = None, **extra):
    token = csrf(client, "/web/admin/modules")
    if rev is None:
        rev = re.search(r'name="rev" value="([^"]*)"', client.get("/web/admin/modules").text).group(1)
    return client.post("/web/admin/modules", data={"csrf_token": token, "rev": rev,
                                                   **{f"module_{k}": v for k, v in states.items()}, **extra})


@pytest.fixture(scope="module")
def switch(web: Web) -> ModuleSwitch:
    return ModuleSwitch(web.svc.store, web.svc.forms, web.svc.audit)


def test_only_admins_open_the_page_and_bad_saves_are_refused_in_their_language(web, switch):
    assert web.logged_in("oyunaa").get("/web/admin/modules").status_code == 404
    assert web.logged_in("bolormaa").get("/web/admin/modules").status_code == 404
    en, mn = web.logged_in("admin", "en"), web.logged_in("admin", "mn")
    page = en.get("/web/admin/modules")
    assert page.status_code == 200
    for m in MODULES:  # every module, on (a fresh deployment)
        row = re.search(rf'<tr id="module-{m.name}">.*?</tr>', page.text, re.S).group(0)
        assert m.label["en"] in row and re.search(r'value="on" checked', row)
    assert "Иргэдийн үнэлгээний карт" in mn.get("/web/admin/modules").text
    everything = {m.name: "on" for m in MODULES}
    left_out = {k: v for k, v in everything.items() if k != "scorecards"}
    resp = post(en, left_out)
    assert resp.status_code == 400 and "Choose on or off for every module (Community scorecards)." in resp.text
    resp = post(mn, {**everything, "wash": "maybe"})
    assert resp.status_code == 400 and "Модуль бүрийг асаах эсвэл унтраахыг сонгоно уу (Цэцэрлэгийн ус, ариун цэвэр)." \
        in resp.text
    resp = post(en, {**everything, "weather": "on"})
    assert resp.status_code == 400 and "weather is not a programme module" in resp.text
    resp = post(mn, {**everything, "wash": "off"}, rev="1-stale")
    assert resp.status_code == 409 and "Энэ хооронд өөр админ модулиудыг" in resp.text
    coordinator = web.logged_in("oyunaa")
    token = csrf(coordinator, "/web/")
    resp = coordinator.post("/web/admin/modules", data={"csrf_token": token, "module_wash": "off"})
    assert resp.status_code == 404
    assert switch.get() == {}  # nothing written
    assert {f["status"] for f in web.svc.forms.versions("scorecard_cycle")} == {"published"}


def test_modules_off_leave_the_menu_and_pages_and_come_back_when_switched_on(web, switch):
    for lang in ("en", "mn"):  # all there before
        assert set(MENU[lang].values()) <= set(menu(web.logged_in("admin", lang).get("/web/").text)), lang
    admin = web.logged_in("admin", "en")
    resp = post(admin, {m.name: "off" for m in MODULES})
    assert resp.status_code == 302
    assert admin.get(resp.headers["Location"]).text.count("The modules are saved.") == 1
    assert switch.off() == {m.name for m in MODULES}

    referral = next(d for d in records.iter_docs(web.svc.store.open(TES), f"{TES}:sub:")
                    if d.get("form") == "child_protection_referral")
    for lang in ("en", "mn"):
        for name in ("oyunaa", "admin"):
            client = web.logged_in(name, lang)
            shown = menu(client.get("/web/").text)
            for module, label in MENU[lang].items():
                assert label not in shown, (lang, name, module)
            for _module, paths in [*PAGES.items(), *(((m, [p]) for m, p in ADMIN_PAGES.items()) if name == "admin"
                                                   else ())]:
                for path in paths:
                    resp = client.get(path)
                    assert resp.status_code == 404 and OFF_TEXT[lang] in resp.text, (lang, name, path)
            reports = client.get("/web/reports")
            assert reports.status_code == 200
            for marker in SECTIONS.values():
                assert marker not in reports.text
            assert not re.findall(r'href="(/web/reports/[^"]+)"', reports.text)  # no download left
            # the submissions of a switched-off module's form: kept, listed, shown
            assert client.get(f"/web/submissions/{referral['_id']}").status_code in (200,)
            assert referral["_id"].split(":")[-1] in client.get(f"/web/areas/{TES}/submissions").text
            # the de-identified case export goes with the cases: neither on the page nor served
            exports = client.get("/web/exports")
            assert exports.status_code == 200 and "/web/exports/cases" not in exports.text
            token = re.search(r'name="csrf_token" value="([^"]+)"', exports.text).group(1)
            resp = client.post("/web/exports/cases", data={"csrf_token": token, "format": "csv"})
            assert resp.status_code == 404 and OFF_TEXT[lang] in resp.text, (lang, name, resp.status_code)
    worker = web.logged_in("bolormaa")

    def bare(text: str) -> str:  # but for its own address (the language switch's) and the form token
        return re.sub(r'name="(next|csrf_token)" value="[^"]*"', "", text)
    missing = worker.get("/web/no-such-page")
    for path in ("/web/wash", "/web/scorecards"):
        resp = worker.get(path)
        assert resp.status_code == 404 and OFF_TEXT["en"] not in resp.text and bare(resp.text) == bare(missing.text)

    resp = post(admin, {m.name: "on" for m in MODULES})
    assert resp.status_code == 302 and switch.off() == set()
    for lang in ("en", "mn"):
        client = web.logged_in("admin", lang)
        shown = menu(client.get("/web/").text)
        assert all(label in shown for label in MENU[lang].values()), (lang, shown)
        for path in ("/web/wash", "/web/scorecards", "/web/cases", "/web/families", "/web/admin/lqas",
                     "/web/admin/lqas/rules", "/web/admin/wash-norms", "/web/reports/growth.csv"):
            assert client.get(path).status_code == 200, path
        reports = client.get("/web/reports").text
        assert all(marker in reports for marker in SECTIONS.values())
        assert "/web/exports/cases" in client.get("/web/exports").text
    assert {f["status"] for m in MODULES for name in m.forms for f in web.svc.forms.versions(name)} == {"published"}
    entries = [d for d in records.iter_docs(web.svc.store.open("_audit"), "global:") if d.get("action") == "module.switched"]
    assert [sorted(k for k, v in e["after"].items() if not v) for e in entries] == [
        sorted(m.name for m in MODULES), []]
    audit = web.logged_in("admin", "mn").get("/web/audit?what=module")
    assert audit.status_code == 200 and audit.text.count("Хөтөлбөрийн модулиудыг асааж унтраасан") == 2
