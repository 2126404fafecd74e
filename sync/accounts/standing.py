"""Whether the accounts a long request was opened under still grant what they granted.

A live changes feed (``feed=longpoll`` or ``continuous``) is authorised once,
when it opens, and may then stream for up to ``FIELDSYNC_MAX_FEED_SECONDS``.
Disabling the user, a new password, other areas or another role must end it
within seconds, on every app server: the accounts live in the store, so the
feed reads them again. Only what grants access is compared (role, areas,
disabled, the password hash that signs sessions); a new interface language is
no reason to cut a feed.

Reading an account on every wake-up of every open feed would be a round trip
each on CouchDB, so the store's change marker of ``_users`` is asked first
(a local read on SQLite, free on CouchDB where a followed changes feed keeps
it): while it has not moved, nothing that grants access has. Before rows are
delivered the marker is enough only where it is exact (SQLite, which reads the
file's own sequence); where it is followed asynchronously (CouchDB) the
accounts are read again, so that a submission written right after a user was
disabled is not handed to that user in the milliseconds before the marker
moves. Where there is no marker at all, the accounts are read again at most
``recheck_seconds`` apart while idle.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sync import records
from sync.accounts.users import USERS_SCOPE, User, UserDirectory, user_doc_id

RECHECK_SECONDS = 2.0  # the longest an idle feed goes without asking


def _grant(doc: dict | None) -> tuple | None:
    if doc is None or doc.get("disabled"):
        return None
    return doc.get("role"), tuple(sorted(doc.get("areas") or ())), doc.get("password_hash")


class Standing:
    """What ``users`` were granted when a feed opened; ``holds()`` says whether it still is."""

    def __init__(self, directory: UserDirectory, users: Iterable[User], *,
                 recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.directory = directory
        self.store = directory.store
        self.recheck_seconds = recheck_seconds
        # A marker followed asynchronously may lag a write by milliseconds: not trusted for rows.
        self._exact = not getattr(self.store, "watches_changes", False)
        self._marker = self.store.change_marker([USERS_SCOPE])  # before the reads it vouches for
        self._checked = time.monotonic()
        self._grants: dict[str, tuple | None] = {}
        self._lost = False
        for user in users:
            if user.name in self._grants:
                continue
            # As the request's own login read it (the directory's short cache, if any):
            # an account that already differs from the user the request runs as has changed.
            grant = _grant(directory.account(user.name))
            self._grants[user.name] = grant
            if grant is None or grant[:2] != (user.role, tuple(sorted(user.areas))):
                self._lost = True

    def holds(self, *, delivering: bool) -> bool:
        """False once any of the accounts is disabled, gone, or has another role, areas or password.

        ``delivering``: rows are about to be sent, so a marker that may lag is not enough.
        """
        if self._lost:
            return False
        marker = self.store.change_marker([USERS_SCOPE])
        if marker is not None and marker == self._marker and (self._exact or not delivering):
            return True
        now = time.monotonic()
        if marker is None and not delivering and now - self._checked < self.recheck_seconds:
            return True
        db = self.directory.db()
        for name, grant in self._grants.items():
            if _grant(records.read(db, user_doc_id(name))) != grant:
                self._lost = True
                return False
        self._marker = marker
        self._checked = now
        return True
