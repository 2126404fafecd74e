"""``/api``: the JSON API admins and coordinators use (the CLI's operations over HTTP).

Admins manage users, areas and forms; coordinators (and admins) see and decide
quarantined documents of their areas and who has synced. Every change goes
through the same ``sync/`` objects as the command line, so both stay alike.
"""

from __future__ import annotations

from flask import Blueprint

from schemas import FormDefinitionError
from schemas.definition import DefinitionSchema
from sync import area_changes, form_admin
from sync.accounts import user_changes
from sync.accounts.users import User
from sync.errors import Forbidden, NotFound
from sync.gate.quarantine_actions import discard, release
from sync.replica.monitor import SyncMonitor

from ..api_schemas import areas as area_schemas
from ..api_schemas import forms as form_schemas
from ..api_schemas import quarantine as quarantine_schemas
from ..api_schemas import sync_status as status_schemas
from ..api_schemas import users as user_schemas
from ..api_validation import blame, invalid, operation, request_body, request_json, request_query
from ..auth import require_admin, require_user
from ..definition_errors import refused
from ..jsonio import json_response
from ..services import services

bp = Blueprint("api", __name__, url_prefix="/api")


def _user_json(u: User) -> dict:
    return {"name": u.name, "role": u.role, "areas": list(u.areas), "disabled": u.disabled}


def _coordinator() -> User:
    user = require_user(services().auth)
    if user.role not in ("coordinator", "admin"):
        raise Forbidden("Only coordinators and admins see the quarantine and sync status.")
    return user


# -- users ----------------------------------------------------------------------------
@bp.get("/users")
@operation("List the accounts", ok=(200, user_schemas.UserInfo(many=True)), errors=(401, 403))
def list_users():
    svc = services()
    require_admin(svc.auth)
    return json_response([_user_json(u) for u in svc.users.list()])


@bp.post("/users")
@operation("Add an account", body=user_schemas.NewUser, ok=(201, user_schemas.UserInfo),
           errors={401: "not logged in", 403: "not an admin", 409: "a user of that name exists"})
def add_user():
    svc = services()
    admin = require_admin(svc.auth)
    body = request_body()
    _check_areas(body["areas"])
    with blame("name", "role", "areas", "password"):
        user = user_changes.add_user(svc.users, svc.areas, svc.audit, by=admin.name, name=body["name"],
                                     role=body["role"], areas=body["areas"], password=body["password"])
    return json_response(_user_json(user), 201)


@bp.patch("/users/<name>")
@operation("Change an account: disable or enable it, its areas, role or password",
           body=user_schemas.UserChange, ok=(200, user_schemas.UserInfo),
           errors={401: "not logged in", 403: "not an admin", 404: "no such user"})
def change_user(name: str):
    svc = services()
    admin = require_admin(svc.auth)
    changes = request_body()
    if "areas" in changes:
        _check_areas(changes["areas"])
    with blame(*changes):
        return json_response(_user_json(user_changes.change_user(svc.users, svc.areas, svc.audit, by=admin.name,
                                                                 name=name, **changes)))


def _check_areas(areas: list[str]) -> None:
    known = services().areas.tree().areas
    unknown = [a for a in areas if a not in known]
    if unknown:
        raise invalid({"areas": f"has unknown area code(s): {', '.join(unknown)}"})


# -- areas and forms --------------------------------------------------------------------
@bp.get("/areas")
@operation("List the area tree", ok=(200, area_schemas.AreaInfo(many=True)), errors=(401,))
def list_areas():
    svc = services()
    require_user(svc.auth)
    tree = svc.areas.tree()
    return json_response([{"code": a.code, "name": a.name, "parent": a.parent, "level": a.level,
                           "holds_data": a.holds_data} for a in sorted(tree.areas.values(), key=lambda a: a.code)])


@bp.post("/areas")
@operation("Add an area", body=area_schemas.NewArea, ok=(201, area_schemas.AreaCreated),
           errors={401: "not logged in", 403: "not an admin", 409: "an area with that code exists"})
def add_area():
    svc = services()
    admin = require_admin(svc.auth)
    body = request_body()
    if body.get("parent") is not None and body["parent"] not in svc.areas.tree().areas:
        raise invalid({"parent": f"is not a known area code ({body['parent']})"})
    with blame("code", "parent"):
        area = area_changes.add_area(svc.areas, svc.audit, by=admin.name, code=body["code"],
                                     name_en=body["name"]["en"], name_mn=body["name"].get("mn"),
                                     parent=body.get("parent"), level=body.get("level"),
                                     holds_data=body["holds_data"])
    return json_response({"code": area.code, "holds_data": area.holds_data}, 201)


@bp.get("/forms")
@operation("List the form versions (drafts to admins only)", ok=(200, form_schemas.FormInfo(many=True)),
           errors=(401,))
def list_forms():
    svc = services()
    user = require_user(svc.auth)
    forms = [f for f in svc.forms.all() if user.is_admin or f.get("status") != "draft"]
    return json_response([{k: f.get(k) for k in ("form", "version", "status", "title", "sensitive")}
                          for f in forms])


@bp.post("/forms")
@operation("Publish a form definition (docs/forms.md), or store it as a draft", body=DefinitionSchema,
           query=form_schemas.PublishQuery, ok=(201, form_schemas.FormPublished),
           errors={401: "not logged in", 403: "not an admin",
                   409: "that version is published with other contents: publish the next version"})
def publish_form():
    svc = services()
    user = require_admin(svc.auth)
    draft = request_query()["draft"]
    try:
        doc = form_admin.publish(svc.forms, svc.audit, request_json(), by=user.name, draft=draft)
    except FormDefinitionError as exc:  # every problem named, in English and Mongolian
        raise refused(exc) from None
    return json_response({"id": doc["_id"], "form": doc["form"], "version": doc["version"],
                          "status": doc["status"]}, 201)


@bp.post("/forms/<name>/retire")
@operation("Retire a form's published versions (or one), after a grace period", body=form_schemas.Retire,
           body_required=False, ok=(200, form_schemas.FormRetired(many=True)),
           errors={401: "not logged in", 403: "not an admin", 404: "no published version of that form"})
def retire_form(name: str):
    svc = services()
    user = require_admin(svc.auth)
    body = request_body()
    grace = body.get("grace_days")
    with blame("version", "grace_days"):
        docs = form_admin.retire(svc.forms, svc.audit, name, body.get("version"), by=user.name,
                                 grace_days=30 if grace is None else grace)
    return json_response([{"form": d["form"], "version": d["version"], "status": d["status"]} for d in docs])


# -- quarantine ---------------------------------------------------------------------------
def _entry_in_reach(user: User, entry: dict) -> dict:
    if user.is_admin:
        return entry
    if entry.get("scope") not in services().access.data_scopes(user):
        raise NotFound("missing")
    return entry


@bp.get("/quarantine")
@operation("List quarantined documents of the caller's areas", query=quarantine_schemas.QuarantineQuery,
           ok=(200, quarantine_schemas.QuarantineEntry(many=True)),
           errors={401: "not logged in", 403: "not a coordinator or admin"})
def list_quarantine():
    user = _coordinator()
    status = request_query()["status"]
    svc = services()
    scopes = None if user.is_admin else set(svc.access.data_scopes(user))
    entries = [e for e in svc.quarantine.list(None if status == "all" else status)
               if scopes is None or e.get("scope") in scopes]
    return json_response([{k: e.get(k) for k in ("_id", "status", "doc_id", "rev", "scope", "user",
                                                  "received_at", "reasons", "note")} for e in entries])


@bp.post("/quarantine/<path:eid>/release")
@operation("Release a quarantined document: validated again, then stored", body=quarantine_schemas.Release,
           body_required=False, ok=(200, quarantine_schemas.Released),
           errors={401: "not logged in", 403: "not a coordinator or admin",
                   404: "no such entry in the caller's areas", 409: "the entry was decided already"})
def release_entry(eid: str):
    user = _coordinator()
    svc = services()
    _entry_in_reach(user, svc.quarantine.get(eid))
    body = request_body()
    with blame("form_version"):
        done = release(svc.store, svc.forms, svc.quarantine, eid, by=user.name,
                       form_version=body.get("form_version"), audit=svc.audit,
                       referral_cases=svc.gate.referral_cases)
    return json_response(done)


@bp.post("/quarantine/<path:eid>/discard")
@operation("Discard a quarantined document, saying why (the worker sees the reason)",
           body=quarantine_schemas.Discard, ok=(200, quarantine_schemas.Discarded),
           errors={401: "not logged in", 403: "not a coordinator or admin",
                   404: "no such entry in the caller's areas", 409: "the entry was decided already"})
def discard_entry(eid: str):
    user = _coordinator()
    svc = services()
    _entry_in_reach(user, svc.quarantine.get(eid))
    body = request_body()
    with blame("reason"):
        entry = discard(svc.store, svc.quarantine, eid, by=user.name, reason=body["reason"], audit=svc.audit)
    return json_response({"_id": entry["_id"], "status": entry["status"]})


# -- sync status -----------------------------------------------------------------------------
@bp.get("/sync-status")
@operation("Who has synced: per user and device, last push and pull and backlog",
           query=status_schemas.SyncStatusQuery, ok=(200, status_schemas.UserSyncStatus(many=True)),
           errors={401: "not logged in", 403: "not a coordinator or admin"})
def sync_status():
    """Per user in reach and per device: last push and pull, documents up and down,
    refusals, each replication's backlog, and ``stale`` (no sync for ``days``)."""
    user = _coordinator()
    svc = services()
    query = request_query()
    days = query.get("days", svc.settings.stale_days)
    after, limit, with_backlog = query["after"], query["limit"], query["backlog"]
    mine = None if user.is_admin else set(svc.access.data_scopes(user))
    users = [u for u in sorted(svc.users.list(), key=lambda u: u.name)
             if u.name > after and (mine is None or set(svc.access.data_scopes(u)) & mine)][:limit]
    monitor = SyncMonitor(svc.store, svc.synclog, svc.access)
    return json_response([{**_user_json(s.user), "last_sync": s.last_sync, "stale": s.stale,
                           "devices": [d.to_json() for d in s.devices]}
                          for s in monitor.status(users, stale_days=days, backlog=with_backlog)])

