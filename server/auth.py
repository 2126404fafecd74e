"""Who is asking: HTTP Basic (and, from the users issue on, cookie sessions).

Until user accounts exist, the only account is the admin named by
``FIELDSYNC_ADMIN``. Lookups go through ``Authenticator`` so that the users
store can replace it without touching the routes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass, field

from flask import g, request

from sync.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class User:
    name: str
    roles: tuple[str, ...] = ()
    areas: tuple[str, ...] = field(default=())

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


class Authenticator:
    """Checks a name and password; the base class knows only the configured admin."""

    def __init__(self, admin: tuple[str, str] | None):
        self.admin = admin

    def check_password(self, name: str, password: str) -> User | None:
        if self.admin is None:
            return None
        ok_name = hmac.compare_digest(name.encode(), self.admin[0].encode())
        ok_pw = hmac.compare_digest(password.encode(), self.admin[1].encode())
        return User(name, ("admin",)) if ok_name and ok_pw else None


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


def current_user(authenticator: Authenticator) -> User | None:
    if "user" in g:
        return g.user
    creds = basic_credentials()
    user = None
    if creds is not None:
        user = authenticator.check_password(*creds)
        if user is None:
            raise Unauthorized("Name or password is incorrect.")
    g.user = user
    return user


def require_user(authenticator: Authenticator) -> User:
    user = current_user(authenticator)
    if user is None:
        raise Unauthorized("You are not authorized to access this db.")
    return user


def require_admin(authenticator: Authenticator) -> User:
    user = require_user(authenticator)
    if not user.is_admin:
        raise Forbidden("You are not a server admin.")
    return user
