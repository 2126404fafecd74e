"""``/api``: the JSON API admins and coordinators use (the CLI's operations over HTTP).

Admins manage users, areas and forms; coordinators (and admins) see and decide
quarantined documents of their areas and who has synced. Every change goes
through the same ``sync/`` objects as the command line, so both stay alike.
"""

from __future__ import annotations

from flask import Blueprint, request

from sync.accounts.users import User
from sync.errors import BadRequest, Forbidden, NotFound
from sync.gate.quarantine_actions import discard, release
from sync.replica.monitor import SyncMonitor

from ..auth import require_admin, require_user
from ..jsonio import json_response, query_bool, query_int, read_json
from ..services import services

bp = Blueprint("api", __name__, url_prefix="/api")


def _user_json(u: User) -> dict:
    return {"name": u.name, "role": u.role, "areas": list(u.areas), "disabled": u.disabled}


def _coordinator() -> User:
    user = require_user(services().auth)
    if user.role not in ("coordinator", "admin"):
        raise Forbidden("Only coordinators and admins see the quarantine and sync status.")
    return user


def _field(body: dict, name: str, kind: type, required: bool = True):
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise BadRequest(f"{name} must be a {kind.__name__}")
    return value


# -- users ----------------------------------------------------------------------------
@bp.get("/users")
def list_users():
    svc = services()
    require_admin(svc.auth)
    return json_response([_user_json(u) for u in svc.users.list()])


@bp.post("/users")
def add_user():
    svc = services()
    require_admin(svc.auth)
    body = read_json()
    areas = _field(body, "areas", list, required=False) or []
    if not all(isinstance(a, str) for a in areas):
        raise BadRequest("areas must be a list of area codes")
    _check_areas(areas)
    user = svc.users.add(_field(body, "name", str), _field(body, "role", str), areas,
                         _field(body, "password", str))
    return json_response(_user_json(user), 201)


@bp.patch("/users/<name>")
def change_user(name: str):
    svc = services()
    require_admin(svc.auth)
    body = read_json()
    allowed = {"disabled": bool, "areas": list, "role": str, "password": str}
    unknown = set(body) - set(allowed)
    if unknown:
        raise BadRequest(f"cannot change {', '.join(sorted(unknown))}")
    changes = {k: _field(body, k, kind) for k, kind in allowed.items() if k in body}
    if "areas" in changes:
        _check_areas(changes["areas"])
    return json_response(_user_json(svc.users.update(name, **changes)))


def _check_areas(areas: list) -> None:
    known = services().areas.tree().areas
    unknown = [a for a in areas if not isinstance(a, str) or a not in known]
    if unknown:
        raise BadRequest(f"unknown area(s): {', '.join(map(str, unknown))}")


# -- areas and forms --------------------------------------------------------------------
@bp.get("/areas")
def list_areas():
    svc = services()
    require_user(svc.auth)
    tree = svc.areas.tree()
    return json_response([{"code": a.code, "name": a.name, "parent": a.parent, "level": a.level,
                           "holds_data": a.holds_data} for a in sorted(tree.areas.values(), key=lambda a: a.code)])


@bp.post("/areas")
def add_area():
    svc = services()
    require_admin(svc.auth)
    body = read_json()
    name = _field(body, "name", dict)
    area = svc.areas.add(_field(body, "code", str), name_en=name.get("en"), name_mn=name.get("mn"),
                         parent=_field(body, "parent", str, required=False),
                         level=_field(body, "level", str, required=False),
                         holds_data=bool(body.get("holds_data")))
    return json_response({"code": area.code, "holds_data": area.holds_data}, 201)


@bp.get("/forms")
def list_forms():
    svc = services()
    user = require_user(svc.auth)
    forms = [f for f in svc.forms.all() if user.is_admin or f.get("status") != "draft"]
    return json_response([{k: f.get(k) for k in ("form", "version", "status", "title", "sensitive")}
                          for f in forms])


@bp.post("/forms")
def publish_form():
    svc = services()
    require_admin(svc.auth)
    draft = request.args.get("draft") == "true"
    doc = svc.forms.publish(read_json(), status="draft" if draft else "published")
    return json_response({"id": doc["_id"], "form": doc["form"], "version": doc["version"],
                          "status": doc["status"]}, 201)


@bp.post("/forms/<name>/retire")
def retire_form(name: str):
    svc = services()
    require_admin(svc.auth)
    body = read_json(require_type=False) if request.content_length else {}
    version = _field(body, "version", int, required=False)
    grace = _field(body, "grace_days", int, required=False)
    docs = svc.forms.retire(name, version, grace_days=30 if grace is None else grace)
    return json_response([{"form": d["form"], "version": d["version"], "status": d["status"]} for d in docs])


# -- quarantine ---------------------------------------------------------------------------
def _entry_in_reach(user: User, entry: dict) -> dict:
    if user.is_admin:
        return entry
    if entry.get("scope") not in services().access.data_scopes(user):
        raise NotFound("missing")
    return entry


@bp.get("/quarantine")
def list_quarantine():
    user = _coordinator()
    status = request.args.get("status", "held")
    svc = services()
    scopes = None if user.is_admin else set(svc.access.data_scopes(user))
    entries = [e for e in svc.quarantine.list(None if status == "all" else status)
               if scopes is None or e.get("scope") in scopes]
    return json_response([{k: e.get(k) for k in ("_id", "status", "doc_id", "rev", "scope", "user",
                                                  "received_at", "reasons", "note")} for e in entries])


@bp.post("/quarantine/<path:eid>/release")
def release_entry(eid: str):
    user = _coordinator()
    svc = services()
    _entry_in_reach(user, svc.quarantine.get(eid))
    body = read_json(require_type=False) if request.content_length else {}
    version = _field(body, "form_version", int, required=False)
    done = release(svc.store, svc.forms, svc.quarantine, eid, by=user.name, form_version=version,
                   audit=svc.audit)
    return json_response(done)


@bp.post("/quarantine/<path:eid>/discard")
def discard_entry(eid: str):
    user = _coordinator()
    svc = services()
    _entry_in_reach(user, svc.quarantine.get(eid))
    reason = _field(read_json(), "reason", str)
    entry = discard(svc.store, svc.quarantine, eid, by=user.name, reason=reason, audit=svc.audit)
    return json_response({"_id": entry["_id"], "status": entry["status"]})


# -- sync status -----------------------------------------------------------------------------
@bp.get("/sync-status")
def sync_status():
    """Per user in reach and per device: last push and pull, documents up and down,
    refusals, each replication's backlog, and ``stale`` (no sync for ``days``)."""
    user = _coordinator()
    svc = services()
    days = query_float("days", svc.settings.stale_days)
    after = request.args.get("after") or ""
    limit = query_int("limit", 100, minimum=1)
    with_backlog = query_bool("backlog", True)
    mine = None if user.is_admin else set(svc.access.data_scopes(user))
    users = [u for u in sorted(svc.users.list(), key=lambda u: u.name)
             if u.name > after and (mine is None or set(svc.access.data_scopes(u)) & mine)][:limit]
    monitor = SyncMonitor(svc.store, svc.synclog, svc.access)
    return json_response([{**_user_json(s.user), "last_sync": s.last_sync, "stale": s.stale,
                           "devices": [d.to_json() for d in s.devices]}
                          for s in monitor.status(users, stale_days=days, backlog=with_backlog)])


def query_float(name: str, default: float) -> float:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"Query parameter {name!r} must be a number") from None
    if not 0 <= value <= 36500:
        raise BadRequest(f"Query parameter {name!r} must be between 0 and 36500")
    return value
