"""The objects a request needs, built once per app from its settings.

They hold no state of their own beyond caches keyed by what is in the store,
so several app servers can run side by side on one store.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field

from flask import current_app

from sync import records
from sync.accounts.access import Access
from sync.accounts.throttle import LoginThrottle
from sync.accounts.users import UserDirectory
from sync.areas import AreaRegistry
from sync.audit import Audit
from sync.conflicts.resolver import Conflicts
from sync.derived import DerivedValues
from sync.errors import Conflict, NotFound
from sync.families import FesAreas
from sync.forms import FormRegistry
from sync.gate.quarantine import Quarantine
from sync.gate.write_gate import WriteGate
from sync.referral_cases import ReferralCases
from sync.replica.synclog import SyncLog
from sync.stores.base import Store
from sync.stores.encrypted import EncryptedStore, Keyring
from sync.stores.sqlite import SQLiteStore

from .auth import Authenticator
from .config import Settings
from .senders import receipts_to

log = logging.getLogger("fieldsync")


def request_facts() -> dict:
    """What every audit entry made during a request carries: where the request came from."""
    from flask import has_request_context, request

    return {"address": request.remote_addr or "?"} if has_request_context() else {}


def make_store(settings: Settings) -> Store:
    """The configured backend; sealing the answers of sensitive forms when keys are configured."""
    store = _backend(settings)
    keyring = Keyring.configured(settings.encryption_keys, settings.encryption_key_file)
    return EncryptedStore(store, keyring) if keyring else store


def _backend(settings: Settings) -> Store:
    if settings.store == "sqlite":
        return SQLiteStore(settings.data_dir)
    if settings.store == "couchdb":
        from sync.stores.couchdb import CouchStore  # noqa: PLC0415 - optional backend

        if not settings.couchdb_url:
            raise ValueError("FIELDSYNC_STORE=couchdb needs FIELDSYNC_COUCHDB_URL")
        return CouchStore(settings.couchdb_url, prefix=settings.couchdb_prefix,
                          cache_seconds=settings.cache_seconds)
    raise ValueError(f"unknown store {settings.store!r} (FIELDSYNC_STORE is sqlite or couchdb)")


@dataclass
class Services:
    settings: Settings
    store: Store
    users: UserDirectory
    areas: AreaRegistry
    forms: FormRegistry
    quarantine: Quarantine
    access: Access
    gate: WriteGate
    synclog: SyncLog
    auth: Authenticator
    audit: Audit
    conflicts: Conflicts
    _identity: str = field(default="", init=False)  # see identity()

    @classmethod
    def build(cls, settings: Settings, store: Store | None = None) -> Services:
        store = store or make_store(settings)
        secret = settings.secret_key or stored_secret(store)
        settings.secret_key = secret
        cache = store.default_cache_seconds if settings.cache_seconds is None else settings.cache_seconds
        users = UserDirectory(store, secret, cache_seconds=cache)
        areas = AreaRegistry(store, cache_seconds=cache)
        forms = FormRegistry(store, cache_seconds=cache)
        quarantine = Quarantine(store)
        access = Access(areas, forms)
        audit = Audit(store)
        conflicts = Conflicts(store, audit, forms)
        gate = WriteGate(forms, quarantine, access, conflicts, DerivedValues(),
                         max_attachment_bytes=settings.max_attachment_bytes or None)
        auth = Authenticator(users, LoginThrottle(store), secret, settings.session_seconds, cache,
                             device_session_seconds=settings.device_session_seconds)
        auth.audit = gate.audit = audit
        audit.context = request_facts
        synclog = SyncLog(store)
        gate.receipts = conflicts.receipts = receipts_to(synclog)  # who sent each submission revision
        gate.referral_cases = ReferralCases(  # a referral opens its case
            lambda: records.iter_docs(users.db(), "user:"), access.data_scopes)
        gate.fes_codes = FesAreas(store).codes  # the family card's programme areas, as admins set them
        return cls(settings, store, users, areas, forms, quarantine, access, gate, synclog, auth,
                   audit, conflicts)

    def identity(self) -> str:
        """The server's stable uuid, made once and kept in ``_server``.

        It never changes once made, so each app remembers it after the first
        read instead of asking the store on every welcome request.
        """
        if self._identity:
            return self._identity
        db = self.store.ensure("_server")
        try:
            value = db.get_local("identity")["uuid"]
        except NotFound:
            try:
                db.put_local("identity", {"uuid": uuid.uuid4().hex})
            except Conflict:
                pass
            value = db.get_local("identity")["uuid"]
        self._identity = value
        return value

    def bootstrap_admin(self) -> None:
        """``FIELDSYNC_ADMIN`` creates the first admin when none exists."""
        if not self.settings.admin:
            return
        name, password = self.settings.admin
        if self.users.get(name) is not None:
            return
        if any(u.is_admin for u in self.users.list()):
            return
        try:
            self.users.add(name, "admin", [], password, enforce_policy=False)
            log.info("created admin %s from FIELDSYNC_ADMIN", name)
        except Conflict:
            pass  # another worker process made it a moment ago


def stored_secret(store: Store) -> str:
    """The signing key kept in the store when ``FIELDSYNC_SECRET_KEY`` is not set.

    Every worker process and app server on the same store then signs sessions
    alike without further set-up; setting the variable keeps the key out of
    the database.
    """
    db = store.ensure("_server")
    # A regular document, not a _local one: CouchDB checks revisions only on
    # regular documents, so of two servers starting at once exactly one key wins
    # and the other server reads it back.
    for _ in range(3):
        found = records.read(db, "signing-key")
        if found is not None:
            return found["key"]
        try:
            records.write(db, {"_id": "signing-key", "key": secrets.token_hex(32)})
        except Conflict:
            pass
    found = records.read(db, "signing-key")
    if found is None:
        raise Conflict("could not store a signing key")
    return found["key"]


def services() -> Services:
    return current_app.extensions["fieldsync"]
