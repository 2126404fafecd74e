"""The admins' user pages over HTTP, on SQLite and CouchDB.

An admin adds a user (a password the server makes up is shown once), assigns
areas, disables, enables and resets the password; each change is in the audit
trail with who, from where, and before/after, and the password is nowhere in
it. Bad input gets the form again with a 4xx and the message in the admin's
language, and nothing is written. Coordinators and workers get 404.
"""

from __future__ import annotations

import html
import re

import pytest
from protocol_helpers import basic, close_app, make_backend_app
from servers import BACKENDS
from webworld import CSRF_RE

from sync.accounts.throttle import LoginThrottle
from sync.audit import ALL
from sync.demo import DEMO_PASSWORD, seed_demo

STORES = [b for b in BACKENDS if b != "couchdb-cluster"]  # the cluster's lagging copies: test_conflicts


@pytest.fixture(scope="module", params=STORES)
def app(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("webadmin") / "data")
    svc = app.extensions["fieldsync"]
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, address_slow_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    svc.users.add("chief", "admin", [], DEMO_PASSWORD)
    yield app
    close_app(app)


@pytest.fixture
def svc(app):
    return app.extensions["fieldsync"]


def login(app, name: str, lang: str = "en", password: str = DEMO_PASSWORD):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    token = CSRF_RE.search(client.get("/web/login").text).group(1)
    resp = client.post("/web/login", data={"name": name, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.text
    return client


def token(client, path: str = "/web/admin/users/new") -> str:
    return CSRF_RE.search(client.get(path).text).group(1)


def text(resp) -> str:
    return html.unescape(resp.text)


def trail(svc, action: str | None = None) -> list[dict]:
    """Every audit entry, newest first (the time-ordered copies)."""
    db = svc.store.ensure("_audit")
    rows = db.all_docs(startkey=f"{ALL}:\uffff", endkey=f"{ALL}:", descending=True, include_docs=True)
    return [r["doc"] for r in rows if r.get("doc") and (action is None or r["doc"]["action"] == action)]


def can_log_in(app, name: str, password: str) -> bool:
    return app.test_client().post("/_session", json={"name": name, "password": password}).status_code == 200


def test_an_admin_adds_a_user_whose_made_up_password_is_shown_once(app, svc):
    client = login(app, "chief")
    resp = client.post("/web/admin/users", data={"csrf_token": token(client), "name": "sarnai", "role": "worker",
                                                 "area": ["uvs-tes"], "password": ""})
    assert resp.status_code == 200
    password = re.search(r'id="shown-password">([^<]+)<', resp.text).group(1)
    assert len(password) == 12 and can_log_in(app, "sarnai", password)
    assert svc.users.get("sarnai").areas == ("uvs-tes",)
    [entry] = [e for e in trail(svc, "user.added") if e["user"] == "sarnai"]
    assert entry["actor"] == "chief" and entry["address"] == "127.0.0.1"
    assert entry["after"] == {"role": "worker", "areas": ["uvs-tes"], "disabled": False}
    assert password not in repr(trail(svc))  # never in the trail
    # The page with the password is not kept anywhere: the user's page does not show it again.
    assert password not in client.get("/web/admin/users/sarnai").text
    listing = text(client.get("/web/admin/users"))
    assert "sarnai" in listing and "Never synced" in listing


def test_assign_disable_enable_and_reset_are_recorded_before_and_after(app, svc):
    client = login(app, "chief", "mn")
    t = token(client)
    svc.users.add("temuulen", "worker", ["uvs-tes"], "first-password-1")
    resp = client.post("/web/admin/users/temuulen/areas", data={"csrf_token": t, "role": "worker",
                                                                "area": ["uvs-naranbulag", "uvs-tes"]})
    assert resp.status_code == 302
    assert svc.users.get("temuulen").areas == ("uvs-naranbulag", "uvs-tes")
    assert "Хадгаллаа" in text(client.get(resp.headers["Location"]))
    changed = [e for e in trail(svc, "user.changed") if e["user"] == "temuulen"]
    assert changed[0]["before"] == {"areas": ["uvs-tes"]}
    assert changed[0]["after"] == {"areas": ["uvs-naranbulag", "uvs-tes"]}

    assert client.post("/web/admin/users/temuulen/disable", data={"csrf_token": t}).status_code == 302
    assert svc.users.get("temuulen").disabled and not can_log_in(app, "temuulen", "first-password-1")
    assert client.post("/web/admin/users/temuulen/enable", data={"csrf_token": t}).status_code == 302
    assert can_log_in(app, "temuulen", "first-password-1")
    resp = client.post("/web/admin/users/temuulen/password", data={"csrf_token": t, "password": "second-password-2"})
    assert resp.status_code == 302
    assert not can_log_in(app, "temuulen", "first-password-1") and can_log_in(app, "temuulen", "second-password-2")
    changes = [(e.get("before"), e.get("after"), e.get("password_reset"))
               for e in trail(svc, "user.changed") if e["user"] == "temuulen"]
    assert changes[:3] == [({}, {}, True), ({"disabled": True}, {"disabled": False}, None),
                           ({"disabled": False}, {"disabled": True}, None)]
    assert "second-password-2" not in repr(trail(svc))


def test_the_users_page_shows_their_devices_and_last_sync(app, svc):
    resp = app.test_client().get("/sync/bolormaa/_changes", headers={**basic("bolormaa", DEMO_PASSWORD),
                                                                      "User-Agent": "PouchDB/9.0.0 (Tes tablet)"})
    assert resp.status_code == 200
    resp.close()
    page = text(login(app, "chief").get("/web/admin/users/bolormaa"))
    assert "Devices and last sync" in page and "Tes tablet" in page


BAD_USERS = {
    "a bad name": ({"name": "Bad Name", "role": "worker", "area": ["uvs-tes"]}, 400,
                   "Хэрэглэгчийн нэр 1-64 тэмдэгт"),
    "no role": ({"name": "x1", "role": "", "area": ["uvs-tes"]}, 400, "Үүргийг сонгоно уу."),
    "a worker with no area": ({"name": "x1", "role": "worker"}, 400, "дор хаяж нэг нутаг"),
    "an unknown area": ({"name": "x1", "role": "worker", "area": ["nowhere"]}, 400, "Тодорхойгүй нутаг: nowhere"),
    "a short password": ({"name": "x1", "role": "worker", "area": ["uvs-tes"], "password": "short"}, 400,
                         "дор хаяж 8 тэмдэгт"),
    "a name taken": ({"name": "bolormaa", "role": "worker", "area": ["uvs-tes"]}, 409, "аль хэдийн байна"),
}


@pytest.mark.parametrize("form, status, words", BAD_USERS.values(), ids=BAD_USERS.keys())
def test_a_bad_new_user_is_refused_in_mongolian_and_nothing_is_written(app, svc, form, status, words):
    client = login(app, "chief", "mn")
    before_users, before_trail = svc.users.count(), len(trail(svc))
    resp = client.post("/web/admin/users", data={"csrf_token": token(client), **form})
    assert resp.status_code == status
    page = text(resp)
    assert words in page and 'role="alert"' in page
    assert f'value="{form["name"]}"' in page  # the form comes back as it was filled
    assert svc.users.count() == before_users and len(trail(svc)) == before_trail


def test_bad_changes_are_refused_and_change_nothing(app, svc):
    client = login(app, "chief", "mn")
    t = token(client)
    before = svc.users.get("ganzorig")
    resp = client.post("/web/admin/users/ganzorig/areas", data={"csrf_token": t, "role": "worker", "area": ["nowhere"]})
    assert resp.status_code == 400 and "Тодорхойгүй нутаг" in text(resp)
    resp = client.post("/web/admin/users/ganzorig/areas", data={"csrf_token": t, "role": "chief", "area": ["uvs-tes"]})
    assert resp.status_code == 400 and "Үүргийг сонгоно уу." in text(resp)
    resp = client.post("/web/admin/users/ganzorig/password", data={"csrf_token": t, "password": "short"})
    assert resp.status_code == 400 and "дор хаяж 8 тэмдэгт" in text(resp)
    assert svc.users.get("ganzorig") == before and can_log_in(app, "ganzorig", DEMO_PASSWORD)
    resp = client.post("/web/admin/users/chief/disable", data={"csrf_token": t})
    assert resp.status_code == 400 and "Өөрийн бүртгэлийг" in text(resp)
    assert not svc.users.get("chief").disabled
    assert client.post("/web/admin/users/nobody/disable", data={"csrf_token": t}).status_code == 404
    # Without the form's CSRF token nothing happens either.
    resp = client.post("/web/admin/users/ganzorig/disable", data={})
    assert resp.status_code == 400 and not svc.users.get("ganzorig").disabled


def test_the_json_api_goes_through_the_same_rules_and_trail(app, svc):
    client = app.test_client()
    resp = client.patch("/api/users/ganzorig", json={"areas": ["uvs-tes"]}, headers=basic("chief", DEMO_PASSWORD))
    assert resp.status_code == 200 and resp.get_json()["areas"] == ["uvs-tes"]
    entry = next(e for e in trail(svc, "user.changed") if e["user"] == "ganzorig")
    assert entry["actor"] == "chief" and entry["after"] == {"areas": ["uvs-tes"]}
    resp = client.patch("/api/users/ganzorig", json={"areas": ["uvs-naranbulag"]},
                        headers=basic("chief", DEMO_PASSWORD))
    assert resp.status_code == 200


@pytest.mark.parametrize("who", ["oyunaa", "bolormaa"])
def test_coordinators_and_workers_get_404_for_every_admin_page(app, svc, who):
    client = login(app, who)
    for path in ("/web/admin/users", "/web/admin/users/new", "/web/admin/users/bolormaa", "/web/admin/areas",
                 "/web/admin/areas/new", "/web/admin/areas/uvs-tes"):
        assert client.get(path).status_code == 404, path
    t = CSRF_RE.search(client.get("/web/").text).group(1)
    assert client.post("/web/admin/users/ganzorig/disable", data={"csrf_token": t}).status_code == 404
    assert client.post("/web/admin/areas", data={"csrf_token": t, "code": "x", "name_en": "X"}).status_code == 404
    assert not svc.users.get("ganzorig").disabled and "x" not in svc.areas.tree().areas


def test_nobody_logged_in_goes_to_the_login_page(app):
    resp = app.test_client().get("/web/admin/users")
    assert resp.status_code == 302 and "/web/login" in resp.headers["Location"]


def test_a_reset_without_a_password_shows_a_made_up_one_once(app, svc):
    client = login(app, "chief")
    resp = client.post("/web/admin/users/batbold/password", data={"csrf_token": token(client), "password": ""})
    assert resp.status_code == 200
    password = re.search(r'id="shown-password">([^<]+)<', resp.text).group(1)
    assert can_log_in(app, "batbold", password) and not can_log_in(app, "batbold", DEMO_PASSWORD)
    assert trail(svc, "user.changed")[0]["password_reset"] is True and password not in repr(trail(svc))
    svc.users.update("batbold", password=DEMO_PASSWORD)


def test_the_user_list_filters_by_role_and_pages_by_name(app, svc, monkeypatch):
    from server.web import admin_users

    client = login(app, "chief", "mn")
    page = text(client.get("/web/admin/users?role=coordinator"))
    names = re.findall(r'<th scope="row"><a href="/web/admin/users/([a-z0-9._-]+)">', page)
    assert names == ["enkhjargal", "oyunaa"] and "Зохицуулагч" in page
    monkeypatch.setattr(admin_users, "PAGE", 3)
    first = text(client.get("/web/admin/users"))
    shown = re.findall(r'<th scope="row"><a href="/web/admin/users/([a-z0-9._-]+)">', first)
    after = re.search(r'after=([a-z0-9._-]+)" rel="next"', first).group(1)
    rest = re.findall(r'<th scope="row"><a href="/web/admin/users/([a-z0-9._-]+)">',
                      text(client.get(f"/web/admin/users?after={after}")))
    everyone = sorted(u.name for u in svc.users.list())
    assert shown == everyone[:3] and after == everyone[2] and rest == everyone[3:6]
    assert client.get("/web/admin/users?role=chief").status_code == 400
