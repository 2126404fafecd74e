"""User accounts, kept in the ``_users`` system scope.

Passwords are hashed with argon2id. Verifying one costs tens of milliseconds
on purpose, and replicators send Basic credentials with every request, so a
successful check is remembered (keyed by a digest of name, password and stored
hash, in memory that ``fieldsync serve``'s worker processes share, see
``sync.accounts.verified``): a password change or a new hash invalidates it at
once, and requests that bring the same credentials at once share one check.
The account itself is read from the store whenever it may have changed, so a
disabled user is refused at once on every app server, unless the directory is
given ``cache_seconds`` (the CouchDB store's default, see ``sync.ttl_cache``):
then another app server may take up to that long to notice, while a change
made through this one is seen at once. A store that follows its changes feeds
(CouchDB, ``sync.stores.couchdb_watch``) ends the memo as soon as ``_users``
changes, which is what a login kept while that marker stands relies on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sync import records
from sync.accounts import verified
from sync.clock import now_iso
from sync.errors import BadRequest, Conflict, NotFound
from sync.stores.base import Database, Store
from sync.ttl_cache import TtlCache

USERS_SCOPE = "_users"
ROLES = ("worker", "coordinator", "admin")
LANGUAGES = ("mn", "en")  # what the web pages speak; kept with the account as ``lang``
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
# argon2id with OWASP's parameters (Password Storage Cheat Sheet: 19 MiB, 2 passes, 1
# lane), which it rates as strong as PBKDF2-HMAC-SHA256 with 600,000 iterations,
# CouchDB 3.5's default for its own users. argon2-cffi's default (RFC 9106's low-memory
# profile, 64 MiB, 3 passes, 4 lanes) cost 0.24 s of CPU and 64 MiB per check, and
# 200 devices starting a sync at once are 200 checks (bench/crowd.py): 0.04 s and
# 19 MiB here. Hashes made before keep their parameters and verify as they are.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# At most this many checks at once per process: each holds its memory while it runs,
# and more than the machine's cores only wait for one another.
_checking = threading.BoundedSemaphore(2)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    areas: tuple[str, ...] = ()
    disabled: bool = False
    lang: str | None = None  # the web pages' language the user chose (None: not chosen yet)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def roles(self) -> tuple[str, ...]:
        return (self.role,)


def user_doc_id(name: str) -> str:
    return f"user:{name}"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadRequest("User names are 1-64 lowercase letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < 8:
        raise BadRequest("Passwords need at least 8 characters")
    if len(password) > 1024:
        raise BadRequest("Passwords are at most 1024 characters")
    return password


def _user_from(doc: dict) -> User:
    lang = doc.get("lang") if doc.get("lang") in LANGUAGES else None
    return User(doc["name"], doc["role"], tuple(doc.get("areas") or ()), bool(doc.get("disabled")), lang)


_READ = object()  # verify(): read the account document itself


class UserDirectory:
    def __init__(self, store: Store, secret: str, *, cache_seconds: float = 0):
        self.store = store
        self._secret = secret.encode()
        self._verified = verified.table()
        self._verifying: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._accounts = TtlCache(cache_seconds)
        # Called with a user's name after this process changed the account, so that
        # whatever remembers something about it (the authenticator) forgets it.
        self.on_change: list[Callable[[str], None]] = []

    def _changed(self, name: str) -> None:
        self._accounts.drop(name)
        for listener in self.on_change:
            listener(name)

    def db(self) -> Database:
        return self.store.ensure(USERS_SCOPE)

    def _doc(self, name: str) -> dict | None:
        return records.read(self.db(), user_doc_id(name))

    def get(self, name: str) -> User | None:
        doc = self._doc(name)
        return _user_from(doc) if doc else None

    def list(self) -> Iterator[User]:
        for doc in records.iter_docs(self.db(), "user:"):
            yield _user_from(doc)

    def count(self) -> int:
        return sum(1 for _ in self.list())

    def add(self, name: str, role: str, areas: list[str], password: str, *,
            enforce_policy: bool = True) -> User:
        """Create an account; ``enforce_policy=False`` only for the operator's bootstrap admin."""
        check_name(name)
        if role not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}")
        if enforce_policy:
            check_password(password)
        elif not password:
            raise BadRequest("the admin password cannot be empty")
        if self._doc(name) is not None:
            raise Conflict(f"user {name!r} already exists")
        doc = {
            "_id": user_doc_id(name), "type": "user", "name": name, "role": role,
            "areas": sorted(set(areas)), "password_hash": _hasher.hash(password),
            "disabled": False, "created_at": now_iso(),
        }
        records.write(self.db(), doc)
        self._changed(name)
        return _user_from(doc)

    def update(self, name: str, **changes) -> User:
        if self._doc(name) is None:
            raise NotFound(f"no user {name!r}")
        if "role" in changes and changes["role"] not in ROLES:
            raise BadRequest(f"role must be one of {', '.join(ROLES)}")
        if "password" in changes:
            changes["password_hash"] = _hasher.hash(check_password(changes.pop("password")))
        if "areas" in changes:
            changes["areas"] = sorted(set(changes["areas"]))

        def apply(doc: dict) -> dict:
            doc.update(changes)
            doc["updated_at"] = now_iso()
            return doc

        try:
            return _user_from(records.upsert(self.db(), user_doc_id(name), apply))
        finally:
            self._changed(name)

    def set_language(self, name: str, lang: str) -> User:
        """Remember the language the user chose in the web pages, on every app server."""
        if lang not in LANGUAGES:
            raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}")
        return self.update(name, lang=lang)

    def account(self, name: str) -> dict | None:
        """The stored account document of a well-formed name (None: no such account)."""
        if not isinstance(name, str) or not NAME_RE.match(name):
            return None
        if not self._accounts:
            return self._doc(name)
        # Where the store watches its changes (CouchDB), the memo holds only while ``_users`` is
        # unchanged: the authenticator keeps a login for as long as that marker stands, and a
        # login checked against an account a second old was kept under the new marker for good
        # (a coordinator made worker went on syncing as a coordinator through that process).
        marker = self.store.change_marker([USERS_SCOPE]) if getattr(self.store, "watches_changes", False) else None
        found = self._accounts.get(name)
        if found is not None and found[0] == marker:
            return found[1]
        doc = self._doc(name)
        if doc is not None:
            self._accounts.put(name, (marker, doc))
        return doc

    def verify(self, name: str, password: str, *, account: dict | None | object = _READ) -> User | None:
        """The user if the password is right and the account enabled; None otherwise.

        ``account``: the account document as ``account(name)`` just read it, when
        the caller read it alongside something else; by default it is read here.
        """
        if not isinstance(name, str) or not NAME_RE.match(name) or len(password) > 1024:
            return None
        doc = self.account(name) if account is _READ else account
        if doc is None:
            _burn_time(password)  # an unknown name costs what a wrong password costs
            return None
        stored = doc.get("password_hash", "")
        key = hmac.new(self._secret, f"{name}\0{password}\0{stored}".encode(), hashlib.sha256).digest()[:16]
        if not self._check_once(key, stored, password):
            return None
        user = _user_from(doc)
        return None if user.disabled else user

    def disabled_with_right_password(self, name: str, password: str, *,
                                     account: dict | None | object = _READ) -> bool:
        """Whether a refused login was a disabled account's own right password, not a guess.

        Login throttling counts guesses; a worker's phone that goes on syncing after
        the account was disabled is refused (401) without being counted, or its
        name would soon answer 429 to an honest device. The check was just made by
        ``verify``, so its answer is remembered and this costs no second hash.
        """
        if not isinstance(name, str) or not NAME_RE.match(name) or len(password) > 1024:
            return False
        doc = self.account(name) if account is _READ else account
        if doc is None or not doc.get("disabled"):
            return False
        stored = doc.get("password_hash", "")
        key = hmac.new(self._secret, f"{name}\0{password}\0{stored}".encode(), hashlib.sha256).digest()[:16]
        return self._check_once(key, stored, password)

    def known(self, name: str, password: str, account: dict | None) -> bool:
        """Whether these exact credentials were verified before (no argon2 run): a device that
        showed the right password, which login throttling lets through while a guesser waits."""
        if account is None or not isinstance(name, str) or not NAME_RE.match(name) or len(password) > 1024:
            return False
        stored = account.get("password_hash", "")
        key = hmac.new(self._secret, f"{name}\0{password}\0{stored}".encode(), hashlib.sha256).digest()[:16]
        return key in self._verified

    def _check_once(self, key: bytes, stored: str, password: str) -> bool:
        """argon2 for these exact credentials, run by one thread while others wait for it.

        A replica opens its sync with several requests at once, all with the same
        Basic credentials; each argon2 check takes megabytes and tens of milliseconds,
        so a worker that met them all unverified paid that three or four times
        over (bench/replication.py saw a worker's RSS jump by 190 MB).
        """
        with self._lock:
            if key in self._verified:
                return True
            running = self._verifying.get(key)
            if running is None:
                running = self._verifying[key] = threading.Event()
                mine = True
            else:
                mine = False
        if not mine:
            running.wait(timeout=30)
            with self._lock:
                return key in self._verified  # not there: the same password was wrong
        try:
            with _checking:
                _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        else:
            self._verified.add(key)
            return True
        finally:
            with self._lock:
                del self._verifying[key]
            running.set()

    def with_salt(self, name: str) -> tuple[User, str] | None:
        """The account and its session salt, from one read (a cookie needs both)."""
        doc = self.account(name)
        return (_user_from(doc), doc.get("password_hash", "")[-16:]) if doc else None

    def session_salt(self, name: str) -> str | None:
        """Part of what signs a session, so a new password ends old sessions."""
        found = self.with_salt(name)
        return found[1] if found else None


_dummy: list[str] = []


def _burn_time(password: str) -> None:
    if not _dummy:
        _dummy.append(_hasher.hash("not a real password"))
    try:
        with _checking:
            _hasher.verify(_dummy[0], password)
    except (VerificationError, InvalidHashError):
        pass
