"""Account changes an admin makes, checked and written to the audit trail once for every way in.

The JSON API (``POST /api/users``, ``PATCH /api/users/<name>``) and the admin
pages call these, so a change is checked by the same rules and recorded alike
whichever way it came. The checks speak English and Mongolian (a ``Text``), so
the pages show them in the admin's language while the API and the command
line keep their English words. A password never reaches the trail: a reset is recorded as such.
"""

from __future__ import annotations

from typing import Any

from sync.accounts.users import NAME_RE, ROLES, User, UserDirectory
from sync.areas import AreaRegistry
from sync.audit import Audit
from sync.errors import BadRequest, Conflict, NotFound
from sync.gate.messages import Text

MESSAGES: dict[str, dict[str, str]] = {
    "name": {"en": "User names are 1-64 lowercase letters, digits, '.', '_' or '-'",
             "mn": "Хэрэглэгчийн нэр 1-64 тэмдэгт: латин жижиг үсэг, тоо, '.', '_', '-'."},
    "role": {"en": "role must be one of worker, coordinator, admin",
             "mn": "Үүрэг нь ажилтан, зохицуулагч эсвэл админ байна."},
    "password_short": {"en": "Passwords need at least 8 characters",
                       "mn": "Нууц үг дор хаяж 8 тэмдэгттэй байна."},
    "password_long": {"en": "Passwords are at most 1024 characters",
                      "mn": "Нууц үг 1024 тэмдэгтээс хэтрэхгүй."},
    "unknown_areas": {"en": "unknown area(s): {codes}", "mn": "Тодорхойгүй нутаг: {codes}."},
    "needs_area": {"en": "Workers and coordinators need at least one area.",
                   "mn": "Ажилтан, зохицуулагчид дор хаяж нэг нутаг оноох шаардлагатай."},
    "exists": {"en": "user {name!r} already exists", "mn": "{name!r} нэртэй хэрэглэгч аль хэдийн байна."},
    "missing": {"en": "no user {name!r}", "mn": "{name!r} нэртэй хэрэглэгч алга."},
    "self": {"en": "You cannot disable your own account or take away your own admin role.",
             "mn": "Өөрийн бүртгэлийг идэвхгүй болгох, өөрийн админ эрхийг хасах боломжгүй."},
}
CHANGEABLE = ("disabled", "areas", "role", "password")


def message(key: str, **params: Any) -> Text:
    return Text({lang: template.format(**params) for lang, template in MESSAGES[key].items()})


def _state(user: User) -> dict:
    return {"role": user.role, "areas": list(user.areas), "disabled": user.disabled}


def check_areas(registry: AreaRegistry, areas: list[str]) -> list[str]:
    known = registry.tree().areas
    unknown = [a for a in areas if a not in known]
    if unknown:
        raise BadRequest(message("unknown_areas", codes=", ".join(map(str, unknown))))
    return sorted(set(areas))


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise BadRequest(message("password_short"))
    if len(password) > 1024:
        raise BadRequest(message("password_long"))


def add_user(users: UserDirectory, registry: AreaRegistry, audit: Audit, *, by: str, name: str,
             role: str, areas: list[str], password: str) -> User:
    """Create an account (checked all first: a refused one leaves nothing behind)."""
    if not NAME_RE.match(name or ""):
        raise BadRequest(message("name"))
    if role not in ROLES:
        raise BadRequest(message("role"))
    areas = check_areas(registry, areas)
    if role != "admin" and not areas:
        raise BadRequest(message("needs_area"))
    _check_password(password)
    if users.get(name) is not None:
        raise Conflict(message("exists", name=name))
    user = users.add(name, role, areas, password)
    audit.record(actor=by, action="user.added", user=name, after=_state(user))
    return user


def change_user(users: UserDirectory, registry: AreaRegistry, audit: Audit, *, by: str, name: str,
                **changes: Any) -> User:
    """Disable or enable, assign areas, change the role, reset the password; recorded before/after."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise BadRequest(f"cannot change {', '.join(sorted(unknown))}")
    before = users.get(name)
    if before is None:
        raise NotFound(message("missing", name=name))
    if "role" in changes and changes["role"] not in ROLES:
        raise BadRequest(message("role"))
    if "areas" in changes:
        changes["areas"] = check_areas(registry, changes["areas"])
    if "password" in changes:
        _check_password(changes["password"])
    role = changes.get("role", before.role)
    if role != "admin" and not changes.get("areas", before.areas):
        raise BadRequest(message("needs_area"))
    if name == by and (changes.get("disabled") or role != "admin"):
        raise BadRequest(message("self"))
    after = users.update(name, **changes)
    old, new = _state(before), _state(after)
    differs = [k for k in old if old[k] != new[k]]
    if differs or "password" in changes:
        details: dict[str, Any] = {"before": {k: old[k] for k in differs}, "after": {k: new[k] for k in differs}}
        if "password" in changes:
            details["password_reset"] = True
        audit.record(actor=by, action="user.changed", user=name, **details)
    return after
