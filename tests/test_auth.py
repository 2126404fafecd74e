"""Who may talk to fieldsync: HTTP Basic, CouchDB-style cookie sessions, login throttling.

Replicators use both ways in: PouchDB sends Basic credentials with every
request, others log in once at ``/_session`` and carry the ``AuthSession``
cookie. A cookie is signed, expires, and dies with a password change; a
disabled account is refused at once, open sessions included. Repeated failed
logins for one name (or from one address, for names with failures) make the
next try wait, growing: ``429`` with ``Retry-After``, never a lock-out. Passwords are only ever stored as argon2id
hashes. Accounts are managed with ``fieldsync init`` and ``fieldsync user``.

Everything runs against real apps (``server.create_app``) on SQLite files in a
temporary directory, through Flask's test client; the command line runs
in-process through click. Accounts are made once per module: hashing a
password costs a good part of a second on purpose.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.auth import COOKIE
from server.cli import main
from server.config import Settings
from server.services import Services
from sync.accounts.throttle import AUTH_SCOPE, LoginThrottle
from sync.accounts.users import USERS_SCOPE

ADMIN = ("admin", "admin-password-1")
SECRET = "test-secret-for-signing-sessions"
PASSWORDS = {
    "bolormaa": "tes-soum-2026",
    "ganzorig": "naranbulag-2026",
    "tsetseg": "kharkhorin-2026",  # her password changes in a test
    "dorj": "dorj-password-1",  # disabled in a test
    "batbold": "bat-ulzii-2026",  # made to wait by failures in a test
    "oyunaa": "uvs-coordinator",
}
ROLES = {"oyunaa": "coordinator"}


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth") / "data"


def build_app(data_dir: Path, **settings) -> Flask:
    app = create_app(Settings(data_dir=data_dir, admin=ADMIN, secret_key=SECRET, **settings))
    app.testing = True
    return app


@pytest.fixture(scope="module")
def app(data_dir: Path) -> Flask:
    app = build_app(data_dir)
    svc: Services = app.extensions["fieldsync"]
    svc.areas.add("uvs", name_en="Uvs aimag", level="aimag")
    svc.areas.add("uvs-tes", name_en="Tes soum", parent="uvs", level="soum", holds_data=True)
    for name, password in PASSWORDS.items():
        svc.users.add(name, ROLES.get(name, "worker"), ["uvs" if name == "oyunaa" else "uvs-tes"], password)
    # Tests of wrong passwords must not lock each other out; the throttling tests
    # below switch to strict thresholds of their own.
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=1000, address_slow_after=1000)
    return app


@pytest.fixture(scope="module")
def svc(app: Flask) -> Services:
    return app.extensions["fieldsync"]


_addresses = iter(range(1, 250))


def from_address(app: Flask, address: str, *, jar: bool = True) -> FlaskClient:
    """A client at ``address``; without a jar it sends only the cookies a test hands it."""
    client = app.test_client(use_cookies=jar)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def new_client(app: Flask, *, jar: bool = False) -> FlaskClient:
    """A client of its own address: failed logins are counted per address too."""
    return from_address(app, f"10.0.1.{next(_addresses)}", jar=jar)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like client that keeps the cookies it is given."""
    return new_client(app, jar=True)


def session_cookie(response) -> str:
    """The AuthSession value a login set."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{COOKIE}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {COOKIE} cookie in {response.headers}")


def with_cookie(value: str) -> dict[str, str]:
    """The cookie sent by hand (a client's jar would drop an expired one itself)."""
    return {"Cookie": f"{COOKIE}={value}"}


def login(client: FlaskClient, name: str, password: str | None = None) -> str:
    response = client.post("/_session", json={"name": name, "password": password or PASSWORDS[name]})
    assert response.status_code == 200, response.json
    return session_cookie(response)


# -- HTTP Basic ----------------------------------------------------------------------------------


def test_basic_credentials_open_the_users_replica(client: FlaskClient) -> None:
    response = client.get("/sync/bolormaa", headers=basic("bolormaa", PASSWORDS["bolormaa"]))
    assert response.status_code == 200
    assert response.json["db_name"] == "sync/bolormaa"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("bolormaa", "wrong-password"),
        basic("nobody-here", "whatever-password"),
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
    ids=["no credentials", "wrong password", "unknown user", "not base64", "no colon"],
)
def test_missing_or_wrong_basic_credentials_get_401_with_a_basic_challenge(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.get("/sync/bolormaa", headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Basic realm="fieldsync"'


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(client: FlaskClient) -> None:
    wrong = client.get("/sync/bolormaa", headers=basic("bolormaa", "wrong-password"))
    unknown = client.get("/sync/bolormaa", headers=basic("bolormaa-x", "wrong-password"))
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json == {"error": "unauthorized", "reason": "Name or password is incorrect."}


# -- cookie sessions ------------------------------------------------------------------------------


def test_login_with_json_sets_a_signed_http_only_cookie(client: FlaskClient) -> None:
    response = client.post("/_session", json={"name": "bolormaa", "password": PASSWORDS["bolormaa"]})
    assert response.status_code == 200
    assert response.json == {"ok": True, "name": "bolormaa", "roles": ["worker"]}
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "HttpOnly" in header and "Path=/" in header and "Max-Age=3600" in header
    assert "tes-soum-2026" not in base64.urlsafe_b64decode(session_cookie(response) + "==").decode()


def test_login_with_a_form_works_as_couchdb_does(client: FlaskClient) -> None:
    response = client.post("/_session", data={"name": "oyunaa", "password": PASSWORDS["oyunaa"]})
    assert response.status_code == 200
    assert response.json == {"ok": True, "name": "oyunaa", "roles": ["coordinator"]}
    assert session_cookie(response)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"name": "bolormaa", "password": "wrong-password"}},
        {"data": {"name": "bolormaa", "password": "wrong-password"}},
        {"json": {"name": "bolormaa"}},
        {"json": {"name": "", "password": ""}},
        {"json": {"name": ["bolormaa"], "password": PASSWORDS["bolormaa"]}},
    ],
    ids=["wrong password", "wrong password in a form", "no password", "empty", "name not a string"],
)
def test_a_failed_login_sets_no_cookie(client: FlaskClient, kwargs: dict) -> None:
    response = client.post("/_session", **kwargs)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"
    assert not [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE)]


def test_get_session_tells_who_is_logged_in_and_how(client: FlaskClient) -> None:
    anonymous = client.get("/_session")
    assert anonymous.status_code == 200
    assert anonymous.json["userCtx"] == {"name": None, "roles": []}
    assert "authenticated" not in anonymous.json["info"]

    by_basic = client.get("/_session", headers=basic("oyunaa", PASSWORDS["oyunaa"]))
    assert by_basic.json["userCtx"] == {"name": "oyunaa", "roles": ["coordinator"]}
    assert by_basic.json["info"]["authenticated"] == "default"

    login(client, "bolormaa")  # the client keeps the cookie from here on
    by_cookie = client.get("/_session")
    assert by_cookie.json["userCtx"] == {"name": "bolormaa", "roles": ["worker"]}
    assert by_cookie.json["info"]["authenticated"] == "cookie"
    assert by_cookie.json["info"]["authentication_handlers"] == ["cookie", "default"]


def test_the_cookie_alone_opens_the_replica(app: Flask, client: FlaskClient) -> None:
    cookie = login(client, "bolormaa")
    fresh = new_client(app)
    assert fresh.get("/sync/bolormaa/_changes", headers=with_cookie(cookie)).status_code == 200
    # ... but only the user's own
    assert fresh.get("/sync/ganzorig/_changes", headers=with_cookie(cookie)).status_code == 403


def test_logout_clears_the_cookie(client: FlaskClient) -> None:
    login(client, "bolormaa")
    assert client.get("/_session").json["userCtx"]["name"] == "bolormaa"
    response = client.delete("/_session")
    assert response.status_code == 200 and response.json == {"ok": True}
    assert client.get_cookie(COOKIE) is None
    assert client.get("/_session").json["userCtx"]["name"] is None
    assert client.get("/sync/bolormaa").status_code == 401


@pytest.mark.parametrize(
    "value",
    [
        "not-a-session",
        base64.urlsafe_b64encode(b"bolormaa:" + f"{int(time.time()):x}".encode() + b":" + b"0" * 40).decode(),
        "",
    ],
    ids=["garbage", "forged signature", "empty"],
)
def test_a_forged_or_garbled_cookie_opens_nothing(app: Flask, value: str) -> None:
    response = new_client(app).get("/sync/bolormaa", headers=with_cookie(value))
    assert response.status_code == 401


def test_a_cookie_of_another_server_secret_opens_nothing(app: Flask, data_dir: Path, client: FlaskClient) -> None:
    other = create_app(Settings(data_dir=data_dir, secret_key="another-secret"))
    other.testing = True
    cookie = session_cookie(new_client(other).post(
        "/_session", json={"name": "bolormaa", "password": PASSWORDS["bolormaa"]}))
    assert new_client(app).get("/sync/bolormaa", headers=with_cookie(cookie)).status_code == 401


def test_a_session_expires(data_dir: Path, app: Flask) -> None:
    short = build_app(data_dir, session_seconds=2)  # a second app server on the same store
    client = new_client(short)
    response = client.post("/_session", json={"name": "bolormaa", "password": PASSWORDS["bolormaa"]})
    assert "Max-Age=2" in next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    cookie = session_cookie(response)
    assert new_client(short).get("/sync/bolormaa", headers=with_cookie(cookie)).status_code == 200
    time.sleep(2.1)
    expired = new_client(short).get("/sync/bolormaa", headers=with_cookie(cookie))
    assert expired.status_code == 401
    assert "expired" in expired.json["reason"]
    # Asking who one is with a stale cookie is not an error: CouchDB answers "nobody".
    who = new_client(short).get("/_session", headers=with_cookie(cookie))
    assert who.status_code == 200 and who.json["userCtx"]["name"] is None


def test_a_session_in_use_is_refreshed(data_dir: Path, app: Flask) -> None:
    short = build_app(data_dir, session_seconds=10)
    client = new_client(short)
    first = session_cookie(client.post("/_session", json={"name": "oyunaa", "password": PASSWORDS["oyunaa"]}))
    time.sleep(1.05)  # past a tenth of the session's life
    response = new_client(short).get("/sync/oyunaa", headers=with_cookie(first))
    assert response.status_code == 200
    refreshed = session_cookie(response)
    assert refreshed != first
    assert new_client(short).get("/sync/oyunaa", headers=with_cookie(refreshed)).status_code == 200


def test_the_field_apps_device_session_outlives_a_trip_and_opens_only_its_replica(
        data_dir: Path, app: Flask, svc: Services) -> None:
    """A worker logs in once in the field app and syncs weeks later: its session (``"device": true``)
    lasts 90 days where a plain one lasts the server's hour, and opens the worker's replica and
    nothing else; a new password or a disabled account ends it as any session."""
    svc.users.add("khulan", "worker", ["uvs-tes"], "khulan-2026")
    short = build_app(data_dir, session_seconds=2)  # plain sessions of 2 s, device sessions of 90 days
    answer = new_client(short).post("/_session", json={"name": "khulan", "password": "khulan-2026", "device": True})
    assert answer.status_code == 200
    assert f"Max-Age={90 * 86400}" in next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    device = session_cookie(answer)
    plain = login(new_client(short), "khulan", "khulan-2026")
    time.sleep(2.1)
    assert new_client(short).get("/sync/khulan", headers=with_cookie(plain)).status_code == 401
    for path in ("/sync/khulan", "/sync/khulan/_changes?limit=1", "/_session"):
        got = new_client(short).get(path, headers=with_cookie(device))
        assert got.status_code == 200, (path, got.status_code)
    assert new_client(short).get("/_session", headers=with_cookie(device)).json["userCtx"]["name"] == "khulan"
    # Only the replica: elsewhere the cookie is nobody's.
    assert new_client(short).get("/sync/bolormaa", headers=with_cookie(device)).status_code == 401
    assert new_client(short).get("/api/users", headers=with_cookie(device)).status_code == 401
    web = new_client(short).get("/web/", headers=with_cookie(device))
    assert web.status_code == 302 and "/web/login" in web.headers["Location"]
    # 89 days after it was made (or last refreshed) it still opens the replica; 91 days after, not.
    user = svc.users.get("khulan")
    day = 86400
    for age, status in ((89 * day, 200), (91 * day, 401)):
        aged = svc.auth.make_cookie(user, device=True, issued=int(time.time()) - age)
        assert new_client(short).get("/sync/khulan", headers=with_cookie(aged)).status_code == status, age
    # A plain cookie cannot pass for a device one: the kind is under the signature.
    forged = base64.urlsafe_b64decode(plain + "=" * (-len(plain) % 4)).decode().split(":")
    forged[1] = "d" + forged[1]
    forged_cookie = base64.urlsafe_b64encode(":".join(forged).encode()).decode().rstrip("=")
    assert new_client(short).get("/sync/khulan", headers=with_cookie(forged_cookie)).status_code == 401
    # Ended as any session: a new password, or the account disabled.
    svc.users.update("khulan", password="khulan-2027")
    assert new_client(short).get("/sync/khulan", headers=with_cookie(device)).status_code == 401
    again = session_cookie(new_client(short).post(
        "/_session", json={"name": "khulan", "password": "khulan-2027", "device": True}))
    assert new_client(short).get("/sync/khulan", headers=with_cookie(again)).status_code == 200
    svc.users.update("khulan", disabled=True)  # her replica then has no areas (server/auth.py, retired_owner)
    assert new_client(short).get("/sync/khulan", headers=with_cookie(again)).json["members"] == ["global"]


def test_a_password_change_ends_open_sessions(app: Flask, svc: Services, client: FlaskClient) -> None:
    cookie = login(client, "tsetseg")
    fresh = new_client(app)
    assert fresh.get("/sync/tsetseg", headers=with_cookie(cookie)).status_code == 200

    svc.users.update("tsetseg", password="a-new-password-2026")
    assert fresh.get("/sync/tsetseg", headers=with_cookie(cookie)).status_code == 401
    assert fresh.get("/sync/tsetseg", headers=basic("tsetseg", PASSWORDS["tsetseg"])).status_code == 401
    assert fresh.get("/sync/tsetseg", headers=basic("tsetseg", "a-new-password-2026")).status_code == 200
    new_cookie = login(client, "tsetseg", "a-new-password-2026")
    assert fresh.get("/sync/tsetseg", headers=with_cookie(new_cookie)).status_code == 200


def test_a_disabled_user_loses_access_at_once_open_session_included(
    app: Flask, data_dir: Path, client: FlaskClient
) -> None:
    cookie = login(client, "dorj")
    fresh = new_client(app)
    assert fresh.get("/sync/dorj/_changes", headers=with_cookie(cookie)).status_code == 200
    assert fresh.get("/sync/dorj/_changes", headers=basic("dorj", PASSWORDS["dorj"])).status_code == 200

    # Disabled by another process (the command line) on the same store: nothing is cached.
    assert cli(data_dir, "user", "disable", "dorj").output == "disabled dorj\n"
    # His own replica still opens to his device, as an account's with no areas, so that its next
    # sync takes them off it (test_user_replica_pouchdb.py); nothing else opens.
    for headers in (with_cookie(cookie), basic("dorj", PASSWORDS["dorj"])):
        assert fresh.get("/sync/dorj", headers=headers).json["members"] == ["global"]
        feed = fresh.get("/sync/dorj/_changes", headers=headers).json["results"]
        assert feed and all(r["id"].startswith("global:") for r in feed)
        assert fresh.get("/db/uvs-tes", headers=headers).status_code == 401
    assert fresh.get("/sync/dorj", headers=basic("dorj", "not-his-password")).status_code == 401
    assert fresh.get("/_session", headers=basic("dorj", PASSWORDS["dorj"])).status_code == 401
    assert fresh.post("/_session", json={"name": "dorj", "password": PASSWORDS["dorj"]}).status_code == 401

    assert cli(data_dir, "user", "enable", "dorj").output == "enabled dorj\n"
    assert fresh.get("/sync/dorj/_changes", headers=basic("dorj", PASSWORDS["dorj"])).status_code == 200


def test_a_login_is_remembered_exactly_while_accounts_and_counters_stay_unchanged(tmp_path: Path) -> None:
    """Two workers on one data directory. A replicator's stream of requests reads
    the account once; failures counted through the other worker (a write to the
    login counters) make a guess through this one wait at once, while the
    replicator, which showed the right password, keeps working."""
    first, second = build_app(tmp_path / "d"), build_app(tmp_path / "d")
    one, two = first.extensions["fieldsync"], second.extensions["fieldsync"]
    one.areas.add("uvs", name_en="Uvs aimag", level="aimag")
    one.users.add("saraa", "worker", ["uvs"], "saraa-password-1")
    for svc in (one, two):
        svc.auth.throttle = LoginThrottle(svc.store, slow_after=2, first_delay=30)
    one.store.ensure(AUTH_SCOPE)  # else the first login makes it, which is a change
    replica = from_address(first, "10.0.9.1")
    assert replica.get("/sync/saraa", headers=basic("saraa", "saraa-password-1")).status_code == 200
    reads = []
    real = one.users.account
    one.users.account = lambda name: reads.append(name) or real(name)  # type: ignore[method-assign]

    for _ in range(5):
        assert replica.get("/sync/saraa", headers=basic("saraa", "saraa-password-1")).status_code == 200
    assert reads == []

    elsewhere = from_address(second, "10.0.9.2")
    wrong = {"name": "saraa", "password": "not-her-password"}
    assert [elsewhere.post("/_session", json=wrong).status_code for _ in range(3)] == [401, 401, 429]
    guess = from_address(first, "10.0.9.3").get("/sync/saraa", headers=basic("saraa", "another-guess"))
    assert guess.status_code == 429 and 1 <= int(guess.headers["Retry-After"]) <= 31
    assert replica.get("/sync/saraa", headers=basic("saraa", "saraa-password-1")).status_code == 200


# -- throttling -----------------------------------------------------------------------------------


@pytest.fixture
def strict(svc: Services) -> Iterator[LoginThrottle]:
    """Test-sized thresholds: a name waits after 2 failures (1 s, doubling up to 8 s),
    an address after 4 (up to 4 s)."""
    lenient = svc.auth.throttle
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=2, max_delay=8, address_slow_after=4,
                                      address_max_delay=4, first_delay=1)
    yield svc.auth.throttle
    svc.auth.throttle = lenient


def test_the_real_thresholds_are_those_the_docs_give(svc: Services) -> None:
    real = LoginThrottle(svc.store)
    assert (real.slow_after, real.first_delay, real.max_delay) == (3, 1.0, 300.0)
    assert (real.address_slow_after, real.address_max_delay) == (30, 30.0)
    assert real.window.total_seconds() == 900
    assert [real.delay_for(n) for n in (3, 4, 5, 6, 12, 13, 50)] == [0, 1, 2, 4, 256, 300, 300]


def test_failures_make_the_name_wait_growing_and_the_right_password_after_the_wait_works(
    app: Flask, strict: LoginThrottle
) -> None:
    assert [strict.delay_for(n) for n in range(1, 7)] == [0, 0, 1, 2, 4, 8]
    client = from_address(app, "10.0.2.1")
    wrong = {"name": "batbold", "password": "guess-number-x"}
    assert [client.post("/_session", json=wrong).status_code for _ in range(2)] == [401, 401]
    refused = client.post("/_session", json=wrong)  # the third failure: the next try waits 1 s
    assert refused.status_code == 429
    assert refused.json["error"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) == 1
    assert "batbold" not in refused.get_data(as_text=True)
    # During the wait not even the right password is looked at: a guesser learns nothing.
    right = {"name": "batbold", "password": PASSWORDS["batbold"]}
    assert from_address(app, "10.0.2.2").post("/_session", json=right).status_code == 429
    time.sleep(1.1)
    assert from_address(app, "10.0.2.2").post("/_session", json=right).status_code == 200
    # The right password started the count afresh.
    assert [client.post("/_session", json=wrong).status_code for _ in range(2)] == [401, 401]


def test_a_guesser_gets_one_try_per_wait(app: Flask, strict: LoginThrottle, svc: Services) -> None:
    guesser = from_address(app, "10.0.2.3")
    tries = [guesser.get("/sync/khulan/_changes", headers=basic("khulan", f"guess-{i:04d}")).status_code
             for i in range(40)]
    assert tries[:2] == [401, 401] and set(tries[2:]) == {429}
    # Forty tries in well under the 1 s wait: three were checked (counted), the rest refused unread.
    assert strict.status({"name": "khulan", "addr": "10.0.2.3"}).name_failures == 3


def test_a_known_device_keeps_working_while_its_name_is_guessed(app: Flask, strict: LoginThrottle) -> None:
    device = from_address(app, "10.0.2.4")
    assert device.get("/sync/ganzorig/_changes", headers=basic("ganzorig", PASSWORDS["ganzorig"])).status_code == 200
    cookie = login(from_address(app, "10.0.2.4"), "ganzorig")
    attacker = from_address(app, "10.0.2.5")
    statuses = [attacker.get("/sync/ganzorig", headers=basic("ganzorig", f"guessing-{i}")).status_code
                for i in range(6)]
    assert statuses[-1] == 429
    for _ in range(3):
        assert device.get("/sync/ganzorig/_changes",
                          headers=basic("ganzorig", PASSWORDS["ganzorig"])).status_code == 200
        fresh = from_address(app, "10.0.2.6", jar=False)
        assert fresh.get("/sync/ganzorig/_changes", headers=with_cookie(cookie)).status_code == 200
    # The device's logins did not hand the guesser its free tries back.
    assert attacker.get("/sync/ganzorig", headers=basic("ganzorig", "guessing-x")).status_code == 429


def test_an_empty_password_never_counts(app: Flask, strict: LoginThrottle, svc: Services) -> None:
    """One form post with an empty password used to lock the admin out for 15 minutes."""
    stranger = from_address(app, "10.0.2.7")
    for password in [""] * 30:
        assert stranger.post("/_session", json={"name": ADMIN[0], "password": password}).status_code == 401
        assert stranger.get("/db/global", headers=basic(ADMIN[0], password)).status_code == 401
    assert strict.status({"name": ADMIN[0], "addr": "10.0.2.7"}).name_failures == 0
    assert login(from_address(app, "10.0.2.7"), ADMIN[0], ADMIN[1])


def test_a_nat_full_of_honest_workers_is_not_locked_by_one_guesser(app: Flask, strict: LoginThrottle) -> None:
    """One soum centre, one address: a guesser there rotating names makes the address
    wait for names that have failures, never for names in good standing."""
    nat = "10.0.3.1"
    attacker = from_address(app, nat)
    statuses = [attacker.post("/_session", json={"name": f"guess-{i}", "password": "password-guess"}).status_code
                for i in range(12)]
    assert statuses == [401] * 12  # each a name of its own: wrong, counted, answered
    # A second guess at a name that failed waits for the address (failures past 4 there).
    again = attacker.post("/_session", json={"name": "guess-0", "password": "another-guess"})
    assert again.status_code == 429 and int(again.headers["Retry-After"]) <= 5
    # Workers at the same address, fresh logins with their passwords: every one gets in.
    for name in ("bolormaa", "oyunaa"):
        assert from_address(app, nat).get(f"/sync/{name}", headers=basic(name, PASSWORDS[name])).status_code == 200
        assert login(from_address(app, nat), name)


def test_a_successful_login_resets_the_names_count(app: Flask, strict: LoginThrottle, svc: Services) -> None:
    svc.users.add("tuya", "worker", ["uvs-tes"], "tuya-password-1")
    wrong = {"name": "tuya", "password": "not-her-password"}
    first = from_address(app, "10.0.4.1")
    assert [first.post("/_session", json=wrong).status_code for _ in range(2)] == [401, 401]
    assert login(first, "tuya", "tuya-password-1")  # typed afresh: the count starts again
    second = from_address(app, "10.0.4.2")
    assert [second.post("/_session", json=wrong).status_code for _ in range(2)] == [401, 401]
    assert second.post("/_session", json=wrong).status_code == 429  # the third in a row waits


def test_the_login_page_says_how_long_to_wait_in_the_users_language(app: Flask, strict: LoginThrottle) -> None:
    import re

    for lang, words in (("en", "try again in 1 seconds"), ("mn", "1 секундын дараа дахин оролдоно уу")):
        page = from_address(app, f"10.0.6.{len(lang)}")
        page.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get("/web/login").text).group(1)
        statuses = [page.post("/web/login", data={"name": f"nobody-{lang}", "password": "wrong-password",
                                                  "csrf_token": token}) for _ in range(3)]
        assert [r.status_code for r in statuses] == [401, 401, 429]
        assert words in statuses[-1].text and statuses[-1].headers["Retry-After"] == "1"


def test_the_counters_are_in_the_store_and_name_nobody(app: Flask, svc: Services) -> None:
    """Every app server sees the same counters; the documents hold hashes, not names."""
    from_address(app, "10.0.5.1").post("/_session", json={"name": "batbold", "password": "x-guess-x"})
    docs = [row["doc"] for row in svc.store.open(AUTH_SCOPE).all_docs(include_docs=True)]
    assert docs and all(d["type"] == "login_failures" for d in docs)
    text = repr(docs)
    for name in ("batbold", "oyunaa", "10.0.3.1"):
        assert name not in text


# -- passwords at rest ------------------------------------------------------------------------------


def test_passwords_are_stored_only_as_argon2id_hashes(svc: Services) -> None:
    docs = {row["id"]: row["doc"] for row in svc.store.open(USERS_SCOPE).all_docs(include_docs=True)}
    assert set(docs) >= {f"user:{name}" for name in PASSWORDS}
    hasher = PasswordHasher()
    for name, password in PASSWORDS.items():
        doc = docs[f"user:{name}"]
        assert doc["password_hash"].startswith("$argon2id$")
        assert [k for k in doc if "pass" in k] == ["password_hash"]
        assert password not in repr(doc)
        if name != "tsetseg":  # her password was changed
            assert hasher.verify(doc["password_hash"], password)


def test_credentials_arriving_together_are_checked_by_argon2_once(tmp_path: Path, monkeypatch) -> None:
    """A replica opens its sync with several requests at once. argon2 takes 64 MB and
    tens of milliseconds a check, so one thread checks and the others wait for it;
    a wrong password is wrong for all of them, and is checked again next time."""
    import threading

    from sync.accounts import users as users_module
    from sync.stores.sqlite import SQLiteStore

    directory = users_module.UserDirectory(SQLiteStore(tmp_path), "secret")
    directory.add("saraa", "worker", ["uvs"], "saraa-password-1")
    checks = []
    real = users_module._hasher

    class SlowHasher:
        def verify(self, stored: str, password: str) -> bool:
            checks.append(password)
            time.sleep(0.2)
            return real.verify(stored, password)

    monkeypatch.setattr(users_module, "_hasher", SlowHasher())

    def together(password: str) -> list:
        results: list = []
        threads = [threading.Thread(target=lambda: results.append(directory.verify("saraa", password)))
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    assert [u.name for u in together("saraa-password-1")] == ["saraa"] * 4
    assert checks == ["saraa-password-1"]
    assert together("wrong-password-1") == [None] * 4
    assert checks == ["saraa-password-1", "wrong-password-1"]
    assert directory.verify("saraa", "wrong-password-1") is None
    assert checks[-1] == "wrong-password-1" and len(checks) == 3


def test_no_file_of_the_data_directory_holds_a_password(data_dir: Path, svc: Services) -> None:
    """Not the users' documents, not the login counters, not an old WAL page: no clear text anywhere."""
    secrets = [*PASSWORDS.values(), ADMIN[1], "a-new-password-2026", "wrong-password", "guess-number-x"]
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.startswith(USERS_SCOPE) for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"{secret!r} in clear in {path.name}"


# -- the command line -----------------------------------------------------------------------------


def cli(data: Path, *args: str, stdin: str | None = None) -> Result:
    """``fieldsync ARGS --data DIR`` in-process, with no FIELDSYNC_* leaking in or out."""
    env = {"FIELDSYNC_DATA_DIR": None, "FIELDSYNC_ADMIN": None, "FIELDSYNC_STORE": None,
           "FIELDSYNC_SECRET_KEY": None}
    return CliRunner().invoke(main, [*args, "--data", str(data)], input=stdin, env=env)


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("cli") / "data"
    assert cli(data, "area", "add", "uvs", "--name", "Uvs aimag").exit_code == 0
    for code in ("uvs-tes", "uvs-naranbulag"):
        assert cli(data, "area", "add", code, "--name", code, "--parent", "uvs", "--holds-data").exit_code == 0
    yield data


def directory(data: Path) -> Services:
    return Services.build(Settings(data_dir=data))


def test_init_creates_the_first_admin_from_standard_input(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = cli(data, "init", "--admin", "root", "--password-stdin", stdin="first-admin-pw\n")
    assert result.exit_code == 0, result.output
    assert result.output == f"Initialised {data} with admin 'root'.\n"
    users = directory(data).users
    assert users.verify("root", "first-admin-pw").role == "admin"
    assert users.verify("root", "first-admin-pw\n") is None  # the line break is not part of it

    again = cli(data, "init", "--admin", "someone", "--password-stdin", stdin="another-password\n")
    assert again.exit_code == 0 and "already has an admin; nothing to do" in again.output
    assert directory(data).users.get("someone") is None


@pytest.mark.parametrize(("stdin", "message"), [
    ("short\n", "Error: Passwords need at least 8 characters\n"),
    ("", "Error: no password on standard input\n"),
])
def test_init_refuses_a_weak_or_missing_password(tmp_path: Path, stdin: str, message: str) -> None:
    result = cli(tmp_path / "data", "init", "--password-stdin", stdin=stdin)
    assert result.exit_code == 1
    assert result.output == message
    assert directory(tmp_path / "data").users.count() == 0


def test_user_add_list_and_the_new_user_logs_in(cli_data: Path) -> None:
    result = cli(cli_data, "user", "add", "bolormaa", "--role", "worker", "--area", "uvs-tes",
                 "--password-stdin", stdin="tes-soum-2026\n")
    assert result.exit_code == 0, result.output
    assert result.output == "added worker bolormaa (uvs-tes)\n"
    coord = cli(cli_data, "user", "add", "oyunaa", "--role", "coordinator", "--area", "uvs",
                "--password-stdin", stdin="uvs-coordinator\n")
    assert coord.output == "added coordinator oyunaa (uvs)\n"

    listing = cli(cli_data, "user", "list").output.splitlines()
    assert listing == [
        f"{'bolormaa':<20} {'worker':<12} {'active':<9} uvs-tes",
        f"{'oyunaa':<20} {'coordinator':<12} {'active':<9} uvs",
    ]
    app = create_app(Settings(data_dir=cli_data))
    response = new_client(app).get("/sync/bolormaa", headers=basic("bolormaa", "tes-soum-2026"))
    assert response.status_code == 200 and response.json["members"] == ["global", "uvs-tes"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["nara", "--role", "worker", "--area", "nowhere"], "password-1234\n",
         "Error: unknown area(s): nowhere (see: fieldsync area list)\n"),
        (["nara", "--role", "worker"], "password-1234\n",
         "Error: workers and coordinators need at least one --area\n"),
        (["Nara", "--role", "worker", "--area", "uvs-tes"], "password-1234\n",
         "Error: User names are 1-64 lowercase letters, digits, '.', '_' or '-'\n"),
        (["nara", "--role", "worker", "--area", "uvs-tes"], "short\n",
         "Error: Passwords need at least 8 characters\n"),
    ],
    ids=["unknown area", "no area", "bad name", "short password"],
)
def test_user_add_refuses_bad_accounts_in_one_line(cli_data: Path, args: list[str], stdin: str,
                                                   message: str) -> None:
    result = cli(cli_data, "user", "add", *args, "--password-stdin", stdin=stdin)
    assert result.exit_code == 1
    assert result.output == message
    assert directory(cli_data).users.get("nara") is None


def test_user_add_refuses_a_name_taken(cli_data: Path) -> None:
    cli(cli_data, "user", "add", "ganzorig", "--role", "worker", "--area", "uvs-naranbulag",
        "--password-stdin", stdin="naranbulag-2026\n")
    again = cli(cli_data, "user", "add", "ganzorig", "--role", "admin", "--password-stdin",
                stdin="another-password\n")
    assert again.exit_code == 1 and again.output == "Error: user 'ganzorig' already exists\n"
    assert directory(cli_data).users.get("ganzorig").role == "worker"


def test_user_passwd_replaces_the_password(cli_data: Path) -> None:
    cli(cli_data, "user", "add", "tsetseg", "--role", "worker", "--area", "uvs-tes",
        "--password-stdin", stdin="first-password\n")
    result = cli(cli_data, "user", "passwd", "tsetseg", "--password-stdin", stdin="second-password\n")
    assert result.exit_code == 0 and result.output == "password changed for tsetseg\n"
    users = directory(cli_data).users
    assert users.verify("tsetseg", "first-password") is None
    assert users.verify("tsetseg", "second-password").name == "tsetseg"
    missing = cli(cli_data, "user", "passwd", "nobody", "--password-stdin", stdin="some-password\n")
    assert missing.exit_code == 1 and missing.output == "Error: no user 'nobody'\n"


def test_user_disable_and_enable(cli_data: Path) -> None:
    cli(cli_data, "user", "add", "dorj", "--role", "worker", "--area", "uvs-tes",
        "--password-stdin", stdin="dorj-password-1\n")
    assert cli(cli_data, "user", "disable", "dorj").output == "disabled dorj\n"
    users = directory(cli_data).users
    assert users.get("dorj").disabled and users.verify("dorj", "dorj-password-1") is None
    assert f"{'dorj':<20} {'worker':<12} {'disabled':<9} uvs-tes" in cli(cli_data, "user", "list").output
    assert cli(cli_data, "user", "enable", "dorj").output == "enabled dorj\n"
    assert directory(cli_data).users.verify("dorj", "dorj-password-1").name == "dorj"


def test_user_assign_replaces_the_areas(cli_data: Path) -> None:
    cli(cli_data, "user", "add", "batbold", "--role", "worker", "--area", "uvs-tes",
        "--password-stdin", stdin="bat-ulzii-2026\n")
    result = cli(cli_data, "user", "assign", "batbold", "--area", "uvs-naranbulag", "--area", "uvs-tes")
    assert result.exit_code == 0 and result.output == "batbold now covers uvs-naranbulag, uvs-tes\n"
    assert directory(cli_data).users.get("batbold").areas == ("uvs-naranbulag", "uvs-tes")
    bad = cli(cli_data, "user", "assign", "batbold", "--area", "nowhere")
    assert bad.exit_code == 1 and "unknown area(s): nowhere" in bad.output
    assert directory(cli_data).users.get("batbold").areas == ("uvs-naranbulag", "uvs-tes")
