"""The web pages' shell: login and logout on the server's cookie session, CSRF on every form
post (and never on the replication protocol or the JSON API), the language choice kept with
the account, the worker's page, and ``/`` answering replicators and browsers apart."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from webworld import CSRF_RE, Web, csrf

from server.auth import COOKIE
from sync.demo import DEMO_PASSWORD

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
WEB = Path(__file__).resolve().parents[2] / "server" / "web"


def test_root_answers_replicators_json_and_sends_browsers_to_the_pages(web: Web):
    client = web.app.test_client()
    for accept in (None, "application/json", "*/*", "application/json, text/plain, */*"):
        resp = client.get("/", headers={"Accept": accept} if accept else {})
        assert resp.status_code == 200 and resp.json["couchdb"] == "Welcome", accept
    resp = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert resp.status_code == 302 and resp.location == "/web/"
    assert "Accept" in resp.headers["Vary"]


def test_pages_need_a_login(web: Web):
    client = web.browser()
    resp = client.get("/web/")
    assert resp.status_code == 302 and resp.location.startswith("/web/login?next=/web/")


def test_login_sets_the_servers_own_session_cookie_and_logout_ends_it(web: Web):
    client = web.browser()
    token = csrf(client)
    resp = client.post("/web/login", data={"name": "oyunaa", "password": DEMO_PASSWORD,
                                           "csrf_token": token, "next": "/web/"})
    assert resp.status_code == 302 and resp.location == "/web/"
    assert f"{COOKIE}=" in resp.headers["Set-Cookie"]
    # The same cookie is a session of /_session, as a replicator's would be.
    assert client.get("/_session").json["userCtx"]["name"] == "oyunaa"
    home = client.get("/web/")
    assert home.status_code == 200 and "Tes soum" in home.text and "Kharkhorin" not in home.text
    resp = client.post("/web/logout", data={"csrf_token": CSRF_RE.search(home.text).group(1)})
    assert resp.status_code == 302
    assert client.get("/_session").json["userCtx"]["name"] is None
    assert client.get("/web/").status_code == 302


def test_a_wrong_password_or_missing_field_shows_the_form_again_with_a_message(web: Web):
    client = web.browser()
    token = csrf(client)
    wrong = client.post("/web/login", data={"name": "oyunaa", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "wrong" in wrong.text and COOKIE not in wrong.headers.get("Set-Cookie", "")
    huge = client.post("/web/login", data={"name": "ы" * 50_000, "password": "x" * 100_000, "csrf_token": token})
    assert huge.status_code == 401 and "wrong" in huge.text and len(huge.data) < 10_000  # not echoed whole
    empty = client.post("/web/login", data={"name": "oyunaa", "csrf_token": token})
    assert empty.status_code == 400 and "Enter your user name and your password" in empty.text
    mn = web.browser("mn")
    wrong = mn.post("/web/login", data={"name": "oyunaa", "password": "nope", "csrf_token": csrf(mn)})
    assert wrong.status_code == 401 and "нууц үг буруу" in wrong.text


def test_every_form_post_needs_the_csrf_token(web: Web):
    client = web.logged_in("oyunaa")
    for path, data in (("/web/login", {"name": "oyunaa", "password": DEMO_PASSWORD}),
                       ("/web/logout", {}), ("/web/lang", {"lang": "mn"})):
        for token in (None, "forged-token"):
            sent = {**data, **({"csrf_token": token} if token else {})}
            resp = client.post(path, data=sent)
            assert resp.status_code == 400, (path, token)
            assert "expired or did not come from this site" in resp.text and resp.mimetype == "text/html"
    # Nothing happened: still logged in, language unchanged.
    assert client.get("/_session").json["userCtx"]["name"] == "oyunaa"
    assert web.svc.users.get("oyunaa").lang in (None, "en")


def test_the_replication_protocol_and_the_api_need_no_csrf_token(web: Web):
    client = web.app.test_client()
    resp = client.post("/_session", json={"name": "admin", "password": DEMO_PASSWORD})
    assert resp.status_code == 200
    resp = client.post("/db/uvs-tes/_bulk_docs", json={"docs": [{"_id": "uvs-tes:fam:01JFAMILY00000000000000001",
                                                                   "type": "family", "name": "Дорж"}]})
    assert resp.status_code == 201 and "rev" in resp.json[0]
    resp = client.post("/api/areas", json={"code": "csrf-free", "name": {"en": "No CSRF"}})
    assert resp.status_code == 201


def test_the_language_choice_is_kept_with_the_account(web: Web):
    client = web.logged_in("enkhjargal", lang="en")
    assert "Your areas" in client.get("/web/").text
    token = CSRF_RE.search(client.get("/web/").text).group(1)
    resp = client.post("/web/lang", data={"lang": "mn", "csrf_token": token, "next": "/web/"})
    assert resp.status_code == 302 and resp.location == "/web/"
    assert web.svc.users.get("enkhjargal").lang == "mn"
    # Another browser (English first) gets Mongolian once she logs in there.
    other = web.logged_in("enkhjargal", lang="en")
    page = other.get("/web/")
    assert 'lang="mn"' in page.text and "Таны нутаг дэвсгэр" in page.text
    bad = other.post("/web/lang", data={"lang": "fr", "csrf_token": CSRF_RE.search(page.text).group(1)})
    assert bad.status_code == 400 and web.svc.users.get("enkhjargal").lang == "mn"


def test_a_language_chosen_before_login_follows_the_user(web: Web):
    client = web.browser("en")
    resp = client.post("/web/lang", data={"lang": "mn", "csrf_token": csrf(client), "next": "//evil.example/"})
    assert resp.status_code == 302 and resp.location == "/web/"  # never to another site
    assert "Нэвтрэх" in client.get("/web/login").text
    client.post("/web/login", data={"name": "batbold", "password": DEMO_PASSWORD, "csrf_token": csrf(client)})
    assert web.svc.users.get("batbold").lang == "mn"


def test_a_worker_gets_a_page_pointing_to_the_replica(web: Web):
    client = web.logged_in("bolormaa")
    page = client.get("/web/")
    assert page.status_code == 200
    assert "http://localhost/sync/bolormaa" in page.text and "Areas" not in page.text


def test_unknown_addresses_are_html_under_web_and_json_elsewhere(web: Web):
    client = web.logged_in("oyunaa")
    resp = client.get("/web/no-such-page")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    resp = client.get("/no-such-db/no-such-doc")
    assert resp.status_code in (401, 404) and resp.mimetype == "application/json"
    assert client.put("/web/").status_code == 405


def test_static_css_is_small_and_cached(web: Web):
    client = web.browser()
    page = client.get("/web/login").text
    href = next(part for part in page.split('"') if part.startswith("/web/static/web.css?v="))
    css = client.get(href)
    assert css.status_code == 200 and len(css.data) < 8000
    assert "max-age=31536000" in css.headers["Cache-Control"]


def test_the_mongolian_catalog_translates_every_text_of_the_pages():
    """Mongolian is complete: every message the code and templates use has its translation."""
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    used = {msg[2] if isinstance(msg[2], str) else msg[2][0]
            for msg in extract_from_dir(str(WEB), method_map, keywords={"_": None, "gettext": None,
                                                                         "ngettext": (1, 2), "lazy_gettext": None})}
    with (WEB / "translations" / "mn" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="mn")
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string
                  and "fuzzy" not in m.flags}
    assert used, "no message found: the extraction is broken"
    assert sorted(used - translated) == []
    # No entry of the catalog is left empty or fuzzy, and each translation keeps its placeholders.
    entries = [m for m in catalog if m.id]
    assert [m.id for m in entries if not m.string or (isinstance(m.string, tuple) and not all(m.string))] == []
    assert [m.id for m in entries if "fuzzy" in m.flags] == []
    placeholder = re.compile(r"%\(\w+\)[sd]")
    assert [m.id for m in entries if isinstance(m.id, str)
            and sorted(placeholder.findall(m.id)) != sorted(placeholder.findall(m.string))] == []
