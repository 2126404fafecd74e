"""Who is asking: HTTP Basic or a CouchDB-style ``AuthSession`` cookie.

Replicators use both: PouchDB sends Basic credentials with every request,
others log in once at ``/_session``. A session cookie is signed (HMAC with the
server secret and a piece of the user's password hash, so a new password ends
old sessions), expires, and is refreshed while in use. The account is read
from the store on every request, so a disabled user is refused at once, on
every app server. Failed logins are counted per name and per address and make
the next try of that name wait, growing, never a lock (``sync.accounts.throttle``):
a try during the wait is answered ``429`` with ``Retry-After``, except from a
device that already showed the right password.

A worker's field app logs in once and then syncs after trips of weeks, often
with no network for most of them: a one-hour session would ask for the
password at every sync. So ``POST /_session`` with ``"device": true`` (the
field app sends it) makes a *device session*: it lasts ``device_session_seconds``
(90 days by default, refreshed while in use, like CHT's long-lived cookie), is
ended the same way (a new password, a disabled account), and opens only the
user's replica (``/sync/<user>``) and ``/_session``: a phone left somewhere
does not open the web pages or the API.

With ``cache_seconds`` (the CouchDB store's default) a successful Basic login
is remembered for that long per name, password and address, so a replicator's
stream of requests does not re-read the account and the login counters each
time; every app server then notices a disabled account or a lock-out within
that bound, and this one at once when the change goes through it. On a store
that can say cheaply whether the accounts or the counters changed (SQLite), a
login is remembered exactly as long as they have not: a disabled account or a
lock-out is still refused at once, by every worker.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor

from flask import g, request

from sync.accounts.throttle import AUTH_SCOPE, LoginThrottle
from sync.accounts.users import USERS_SCOPE, User, UserDirectory
from sync.audit import Audit
from sync.errors import Forbidden, TooManyRequests, Unauthorized
from sync.ttl_cache import TtlCache

COOKIE = "AuthSession"
DEVICE_MARK = "d"  # the time field of a device session's cookie starts with it
DEVICE_SESSION_SECONDS = 90 * 86400
_LOGIN_SCOPES = [USERS_SCOPE, AUTH_SCOPE]  # what a Basic login reads


class Authenticator:
    def __init__(self, users: UserDirectory, throttle: LoginThrottle, secret: str,
                 session_seconds: int = 3600, cache_seconds: float = 0,
                 device_session_seconds: int = DEVICE_SESSION_SECONDS):
        self.users = users
        self.throttle = throttle
        self.secret = secret.encode()
        self.session_seconds = session_seconds
        self.device_session_seconds = device_session_seconds
        self.concurrent = bool(getattr(users.store, "concurrent_reads", False))
        self._logins = TtlCache(cache_seconds)
        # Without cache_seconds: logins kept while the accounts and the login counters
        # are unchanged (Store.change_marker), where the store can tell cheaply.
        self._unchanged = TtlCache(math.inf)
        users.on_change.append(self._forget)
        self.audit: Audit | None = None  # where logins are recorded (Services.build sets it)

    def _forget(self, name: str) -> None:
        self._logins.drop_where(lambda key: key[0] == name)
        self._unchanged.drop_where(lambda key: key[0] == name)

    # -- passwords --------------------------------------------------------------------
    def login(self, name: str, password: str) -> User:
        addr = request.remote_addr or "?"
        store = self.users.store
        # Read before the login: a change made while it runs leaves the entry stale. A store
        # that watches its changes (CouchDB) answers without a round trip, so a login is then
        # kept exactly while the accounts and counters are unchanged, not for cache_seconds.
        free = getattr(store, "watches_changes", False)
        marker = store.change_marker(_LOGIN_SCOPES) if free or not self._logins else None
        if marker is not None:
            remembered = self._unchanged
        elif self._logins:
            remembered = self._logins  # kept for cache_seconds, whatever changes
        else:
            return self._login(name, password, addr)
        key = self._key(name, password, addr)
        found = remembered.get(key)
        if found is not None and found[0] == marker:
            return found[1]
        user = self._login(name, password, addr)
        remembered.put(key, (marker, user))
        return user

    def _key(self, name: str, password: str, addr: str) -> tuple:
        return name, hmac.new(self.secret, f"{name}\0{password}".encode(), hashlib.sha256).digest(), addr

    def _login(self, name: str, password: str, addr: str) -> User:
        if not password:
            # Nobody's password (an empty form field, a stray click): refused, never counted,
            # so it cannot slow down the name it names (the admin's, say).
            raise Unauthorized("Name or password is incorrect.")
        keys = {"name": name, "addr": addr}
        if self.concurrent:
            # The store is across the network: the counters and the account are read
            # together, one round trip's wait rather than two, on every request.
            throttled = _pool().submit(self.throttle.status, keys)
            account = self.users.account(name)
            verdict = throttled.result()
            checked = {"account": account}
        else:
            verdict = self.throttle.status(keys)
            checked = {}
        known = False
        if verdict.name_failures:
            checked = {"account": checked["account"] if checked else self.users.account(name)}
            # A device that already showed these credentials keeps working while a guesser
            # waits, and its logins do not clear the name's count (which would give the
            # guesser its free tries again); anyone else waits for the delay, then takes the
            # one try it allows.
            known = self.users.known(name, password, checked["account"])
            if not known and (verdict.wait or verdict.name_failures > self.throttle.slow_after):
                wait = verdict.wait or self.throttle.claim(keys)
                if wait:
                    raise TooManyRequests(_too_many(wait), wait)
        user = self.users.verify(name, password, **checked)
        if user is None and self.users.disabled_with_right_password(name, password, **checked):
            raise Unauthorized("Name or password is incorrect.")  # not a guess: not counted
        if user is None:
            failures = self.throttle.failed(keys)
            self._record("login.failed", name[:64], addr)
            wait = int(self.throttle.delay_for(failures))
            if wait:
                raise TooManyRequests(_too_many(wait), wait)
            raise Unauthorized("Name or password is incorrect.")
        if verdict.name_failures and not known:  # the right password typed again: start afresh
            self.throttle.succeeded(name)
        return user

    def _record(self, action: str, name: str, addr: str) -> None:
        if self.audit is not None:
            self.audit.record(actor=name, action=action, address=addr)

    def logged_in(self, user: User) -> None:
        """A session was opened (the web pages' login, ``POST /_session``): into the audit trail.
        A replicator's Basic credentials on each request are not logins; their failures are."""
        self._record("login.succeeded", user.name, request.remote_addr or "?")

    # -- sessions ----------------------------------------------------------------------
    def _sign(self, name: str, stamp: str, salt: str) -> str:
        msg = f"{name}:{stamp}:{salt}".encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()[:40]

    def make_cookie(self, user: User, *, device: bool = False, issued: int | None = None) -> str:
        """A session cookie; ``device``: a device session (module docstring). ``issued``: now."""
        issued = int(time.time()) if issued is None else issued
        salt = self.users.session_salt(user.name) or ""
        # The time field says which kind it is ("d" + time for a device), under the signature.
        stamp = f"{DEVICE_MARK if device else ''}{issued:x}"
        raw = f"{user.name}:{stamp}:{self._sign(user.name, stamp, salt)}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def lifetime(self, device: bool) -> int:
        return self.device_session_seconds if device else self.session_seconds

    def from_cookie(self, value: str, *, disabled: bool = False) -> tuple[User, int, bool] | None:
        """``(user, issued, device)`` of a valid cookie; None for a forged, expired or ended one.
        ``disabled``: a disabled account's cookie still counts (``retired_owner`` only)."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            name, stamp, sig = raw.rsplit(":", 2)
            device = stamp.startswith(DEVICE_MARK)
            issued_hex = stamp[len(DEVICE_MARK):] if device else stamp
            # A forged time field of hundreds of digits parses, then overflows the float clock.
            if not 0 < len(issued_hex) <= 16:
                return None
            issued = int(issued_hex, 16)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if time.time() - issued > self.lifetime(device):
            return None
        found = self.users.with_salt(name)
        if found is None:
            return None
        user, salt = found
        if not hmac.compare_digest(sig, self._sign(name, stamp, salt)) or (user.disabled and not disabled):
            return None
        return user, issued, device

    def retired_owner(self, name: str) -> User | None:
        """The disabled account ``name``, when this request shows its own right credentials.

        A worker's device must lose what it holds when the account is disabled
        (``sync.replica.revocation``), and a device can only be told on a sync. So
        on its own replica, and nowhere else, a disabled account's right password
        or a session still signed for it opens the replica of an account with no
        areas: its next pull takes every area off the device, and what it pushes
        goes to the quarantine (not assigned), so no unsent work is lost. The
        password check is the one a refused login has just made (not counted as
        a guess); a wrong one is refused as before.
        """
        user = None
        creds = basic_credentials()
        if creds is not None:
            if creds[0] == name and self.users.disabled_with_right_password(name, creds[1]):
                user = self.users.get(name)
        elif request.cookies.get(COOKIE):
            found = self.from_cookie(request.cookies[COOKIE], disabled=True)
            if found is not None and found[0].name == name:
                user = found[0]
        if user is None or not user.disabled:
            return None
        return User(user.name, "worker", (), True, user.lang)

    # -- per request ---------------------------------------------------------------------
    def current_user(self) -> User | None:
        if "user" in g:
            return g.user
        user = None
        creds = basic_credentials()
        if creds is not None:
            user = self.login(*creds)
            g.auth_method = "default"
        elif request.cookies.get(COOKIE):
            found = self.from_cookie(request.cookies[COOKIE])
            if found is None:
                raise Unauthorized("Your session has expired or is invalid; log in again.")
            user, issued, device = found
            if device and not _device_path(request.path, user.name):
                g.user = None  # elsewhere the field app's session is nobody's: log in there
                return None
            g.auth_method = "cookie"
            if time.time() - issued > self.lifetime(device) / 10:
                g.refresh_cookie = (self.make_cookie(user, device=device), self.lifetime(device))
        g.user = user
        return user


def _device_path(path: str, name: str) -> bool:
    """What a device session opens: the user's replica and ``/_session`` (``path`` is decoded)."""
    own = f"/sync/{name}"
    return path in ("/_session", own, own + "/") or path.startswith(own + "/")


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    """This process's threads for reads sent alongside the request's own (made after a fork)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=8, thread_name_prefix="fieldsync-auth"))
    return _POOL[1]


def _too_many(wait: int) -> str:
    return f"Too many failed logins for this name; try again in {wait} seconds."


def basic_credentials() -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Unauthorized("Malformed Basic credentials") from None
    name, sep, password = raw.partition(":")
    if not sep:
        raise Unauthorized("Malformed Basic credentials")
    return name, password


def set_session_cookie(resp, value: str, max_age: int) -> None:
    resp.set_cookie(COOKIE, value, max_age=max_age, httponly=True, samesite="Lax", path="/")


def require_user(auth: Authenticator) -> User:
    user = auth.current_user()
    if user is None:
        raise Unauthorized("You are not authorized to access this db.")
    return user


def require_admin(auth: Authenticator) -> User:
    user = require_user(auth)
    if not user.is_admin:
        raise Forbidden("You are not a server admin.")
    return user
