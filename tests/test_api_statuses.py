"""Every response status the OpenAPI description documents for an ``/api`` operation is one
the API really gives: each (operation, status) has a case here that produces it, and each
answer's body fits the schema documented for that status.

The table must match the description exactly, both ways: a status documented
with no case fails, and so does a case whose status the description lacks. A
new route needs its cases here (the failure names the ones missing).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_world import COORDINATOR, FAR, TES, WORKER, World
from gate_helpers import PASSWORD, copy_of, seed_template
from openapi_schema_validator import OAS30Validator
from werkzeug.test import TestResponse

from server import create_app
from server.config import Settings

Case = Callable[[World], TestResponse]
NO_JSON = {"raw": "name=x", "content_type": "text/plain"}  # a body, but not JSON: 415
MAX_BODY = 100_000  # the apps here accept bodies up to this many bytes
TOO_BIG = {"raw": '{"x": "' + "x" * MAX_BODY + '"}'}  # 413


def _release_twice(w: World) -> TestResponse:
    eid = w.releasable()
    assert w.call("POST", f"/api/quarantine/{eid}/release", COORDINATOR).status_code == 200
    return w.call("POST", f"/api/quarantine/{eid}/release", COORDINATOR)


def _discard_twice(w: World) -> TestResponse:
    eid = w.entry()
    assert w.call("POST", f"/api/quarantine/{eid}/discard", COORDINATOR, {"reason": "twice"}).status_code == 200
    return w.call("POST", f"/api/quarantine/{eid}/discard", COORDINATOR, {"reason": "twice"})


def _resolve(w: World, user: str = COORDINATOR, stale: bool = False, **body) -> TestResponse:
    docid, revs, keep = w.conflict()
    if stale:
        revs = [revs[0], "2-" + "f" * 32]
    return w.call("POST", f"/api/conflicts/{docid}/resolve", user, {"revs": revs, "picks": {"/remarks": keep}, **body})


def _review(w: World, user: str = COORDINATOR, **body) -> TestResponse:
    return w.call("POST", f"/api/reviews/{w.submission}", user, body or {"status": "approved"})


HV = "household_visit"
CASES: dict[str, dict[int, Case]] = {
    "GET /api/users": {
        200: lambda w: w.call("GET", "/api/users"),
        401: lambda w: w.call("GET", "/api/users", None),
        403: lambda w: w.call("GET", "/api/users", COORDINATOR),
    },
    "POST /api/users": {
        201: lambda w: w.call("POST", "/api/users", body={"name": "sarnai", "role": "worker", "areas": [TES],
                                                          "password": "long-enough-1"}),
        400: lambda w: w.call("POST", "/api/users", body={"name": "sarnai", "role": "chief"}),
        401: lambda w: w.call("POST", "/api/users", None, {"name": "sarnai"}),
        403: lambda w: w.call("POST", "/api/users", COORDINATOR, {"name": "sarnai"}),
        409: lambda w: w.call("POST", "/api/users", body={"name": WORKER, "role": "worker", "areas": [TES],
                                                          "password": "long-enough-1"}),
        413: lambda w: w.call("POST", "/api/users", **TOO_BIG),
        415: lambda w: w.call("POST", "/api/users", **NO_JSON),
    },
    "PATCH /api/users/{name}": {
        200: lambda w: w.call("PATCH", f"/api/users/{WORKER}", body={"disabled": True}),
        400: lambda w: w.call("PATCH", f"/api/users/{WORKER}", body={"disabled": "yes"}),
        401: lambda w: w.call("PATCH", f"/api/users/{WORKER}", None, {"disabled": True}),
        403: lambda w: w.call("PATCH", f"/api/users/{WORKER}", COORDINATOR, {"disabled": True}),
        404: lambda w: w.call("PATCH", "/api/users/nobody", body={"disabled": True}),
        413: lambda w: w.call("PATCH", f"/api/users/{WORKER}", **TOO_BIG),
        415: lambda w: w.call("PATCH", f"/api/users/{WORKER}", **NO_JSON),
    },
    "GET /api/areas": {
        200: lambda w: w.call("GET", "/api/areas", WORKER),
        401: lambda w: w.call("GET", "/api/areas", None),
    },
    "POST /api/areas": {
        201: lambda w: w.call("POST", "/api/areas", body={"code": "uvs-new", "name": {"en": "New", "mn": "Шинэ"},
                                                          "parent": "uvs", "level": "soum", "holds_data": True}),
        400: lambda w: w.call("POST", "/api/areas", body={"code": "uvs-new", "name": {"en": "New"}, "parent": "x"}),
        401: lambda w: w.call("POST", "/api/areas", None, {"code": "uvs-new"}),
        403: lambda w: w.call("POST", "/api/areas", COORDINATOR, {"code": "uvs-new"}),
        409: lambda w: w.call("POST", "/api/areas", body={"code": TES, "name": {"en": "Tes"}}),
        413: lambda w: w.call("POST", "/api/areas", **TOO_BIG),
        415: lambda w: w.call("POST", "/api/areas", **NO_JSON),
    },
    "GET /api/forms": {
        200: lambda w: w.call("GET", "/api/forms", WORKER),
        401: lambda w: w.call("GET", "/api/forms", None),
    },
    "POST /api/forms": {
        201: lambda w: w.call("POST", "/api/forms?draft=true", body={
            "form": "tiny", "version": 1, "title": {"en": "Tiny", "mn": "Жижиг"},
            "fields": [{"name": "n", "type": "integer", "label": {"en": "N", "mn": "Н"}}]}),
        400: lambda w: w.call("POST", "/api/forms", body={"form": "tiny", "version": "one"}),
        401: lambda w: w.call("POST", "/api/forms", None, {}),
        403: lambda w: w.call("POST", "/api/forms", COORDINATOR, {}),
        409: lambda w: w.call("POST", "/api/forms", body={
            "form": HV, "version": 1, "title": {"en": "Changed", "mn": "Өөрчилсөн"},
            "fields": [{"name": "n", "type": "integer", "label": {"en": "N", "mn": "Н"}}]}),
        413: lambda w: w.call("POST", "/api/forms", **TOO_BIG),
        415: lambda w: w.call("POST", "/api/forms", **NO_JSON),
    },
    "POST /api/forms/{name}/retire": {
        200: lambda w: w.call("POST", f"/api/forms/{HV}/retire", body={"version": 1, "grace_days": 0}),
        400: lambda w: w.call("POST", f"/api/forms/{HV}/retire", body={"grace_days": -1}),
        401: lambda w: w.call("POST", f"/api/forms/{HV}/retire", None),
        403: lambda w: w.call("POST", f"/api/forms/{HV}/retire", COORDINATOR),
        404: lambda w: w.call("POST", "/api/forms/nothing_like_it/retire"),
        413: lambda w: w.call("POST", f"/api/forms/{HV}/retire", **TOO_BIG),
        415: lambda w: w.call("POST", f"/api/forms/{HV}/retire", **NO_JSON),
    },
    "GET /api/quarantine": {
        200: lambda w: w.call("GET", "/api/quarantine?status=all", COORDINATOR),
        400: lambda w: w.call("GET", "/api/quarantine?status=lost", COORDINATOR),
        401: lambda w: w.call("GET", "/api/quarantine", None),
        403: lambda w: w.call("GET", "/api/quarantine", WORKER),
    },
    "POST /api/quarantine/{eid}/release": {
        200: lambda w: w.call("POST", f"/api/quarantine/{w.releasable()}/release", COORDINATOR),
        400: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/release", COORDINATOR, {"form_version": "2"}),
        401: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/release", None),
        403: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/release", WORKER),
        404: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/release", FAR),
        409: _release_twice,
        413: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/release", COORDINATOR, **TOO_BIG),
        415: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/release", COORDINATOR, **NO_JSON),
    },
    "POST /api/quarantine/{eid}/discard": {
        200: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/discard", COORDINATOR, {"reason": "Давхардсан"}),
        400: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/discard", COORDINATOR),
        401: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/discard", None, {"reason": "x"}),
        403: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/discard", WORKER, {"reason": "x"}),
        404: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/discard", FAR, {"reason": "x"}),
        409: _discard_twice,
        413: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/discard", COORDINATOR, **TOO_BIG),
        415: lambda w: w.call("POST", f"/api/quarantine/{w.entry()}/discard", COORDINATOR, **NO_JSON),
    },
    "GET /api/sync-status": {
        200: lambda w: w.call("GET", "/api/sync-status?days=2&backlog=false", COORDINATOR),
        400: lambda w: w.call("GET", "/api/sync-status?days=-1", COORDINATOR),
        401: lambda w: w.call("GET", "/api/sync-status", None),
        403: lambda w: w.call("GET", "/api/sync-status", WORKER),
    },
    "GET /api/conflicts": {
        200: lambda w: w.call("GET", "/api/conflicts?limit=5", COORDINATOR),
        400: lambda w: w.call("GET", "/api/conflicts?limit=0", COORDINATOR),
        401: lambda w: w.call("GET", "/api/conflicts", None),
        403: lambda w: w.call("GET", "/api/conflicts", WORKER),
        404: lambda w: w.call("GET", f"/api/conflicts?area={TES}", FAR),
    },
    "GET /api/conflicts/{docid}": {
        200: lambda w: w.call("GET", f"/api/conflicts/{w.conflict()[0]}", COORDINATOR),
        401: lambda w: w.call("GET", f"/api/conflicts/{w.conflict()[0]}", None),
        403: lambda w: w.call("GET", f"/api/conflicts/{w.conflict()[0]}", WORKER),
        404: lambda w: w.call("GET", f"/api/conflicts/{w.conflict()[0]}", FAR),
    },
    "POST /api/conflicts/{docid}/resolve": {
        200: lambda w: _resolve(w, note="Цэцэг асуусан"),
        400: lambda w: _resolve(w, note=5),
        401: lambda w: _resolve(w, None),
        403: lambda w: _resolve(w, WORKER),
        404: lambda w: _resolve(w, FAR),
        409: lambda w: _resolve(w, stale=True),
        413: lambda w: w.call("POST", f"/api/conflicts/{w.conflict()[0]}/resolve", COORDINATOR, **TOO_BIG),
        415: lambda w: w.call("POST", f"/api/conflicts/{w.conflict()[0]}/resolve", COORDINATOR, **NO_JSON),
    },
    "GET /api/reviews": {
        200: lambda w: w.call("GET", f"/api/reviews?area={TES}&state=received", COORDINATOR),
        400: lambda w: w.call("GET", "/api/reviews", COORDINATOR),
        401: lambda w: w.call("GET", f"/api/reviews?area={TES}", None),
        403: lambda w: w.call("GET", f"/api/reviews?area={TES}", WORKER),
        404: lambda w: w.call("GET", f"/api/reviews?area={TES}", FAR),
    },
    "GET /api/reviews/{docid}": {
        200: lambda w: w.call("GET", f"/api/reviews/{w.submission}", COORDINATOR),
        401: lambda w: w.call("GET", f"/api/reviews/{w.submission}", None),
        403: lambda w: w.call("GET", f"/api/reviews/{w.submission}", WORKER),
        404: lambda w: w.call("GET", f"/api/reviews/{w.submission}", FAR),
    },
    "POST /api/reviews/{docid}": {
        201: lambda w: _review(w),
        400: lambda w: _review(w, status="banana"),
        401: lambda w: _review(w, None),
        403: lambda w: _review(w, WORKER),
        404: lambda w: _review(w, FAR),
        409: lambda w: _review(w, status="approved", review_rev="1-" + "0" * 32),
        413: lambda w: w.call("POST", f"/api/reviews/{w.submission}", COORDINATOR, **TOO_BIG),
        415: lambda w: w.call("POST", f"/api/reviews/{w.submission}", COORDINATOR, **NO_JSON),
    },
    "GET /api/exports/{form}": {
        200: lambda w: w.call("GET", f"/api/exports/{HV}?format=csv&area={TES}", COORDINATOR),
        400: lambda w: w.call("GET", f"/api/exports/{HV}?format=pdf", COORDINATOR),
        401: lambda w: w.call("GET", f"/api/exports/{HV}", None),
        403: lambda w: w.call("GET", f"/api/exports/{HV}", WORKER),
        404: lambda w: w.call("GET", "/api/exports/nothing_like_it", COORDINATOR),
    },
    "GET /api/case-exports": {
        200: lambda w: w.call("GET", f"/api/case-exports?format=csv&area={TES}", COORDINATOR),
        400: lambda w: w.call("GET", "/api/case-exports?labels=mn", COORDINATOR),
        401: lambda w: w.call("GET", "/api/case-exports", None),
        403: lambda w: w.call("GET", "/api/case-exports", WORKER),
        404: lambda w: w.call("GET", "/api/case-exports?area=ovr-kharkhorin", COORDINATOR),
    },
    "GET /api/openapi.json": {
        200: lambda w: w.call("GET", "/api/openapi.json", None),
    },
    "GET /api/docs": {
        302: lambda w: w.call("GET", "/api/docs", None),
    },
}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return seed_template(tmp_path_factory.mktemp("api-statuses") / "data")


@pytest.fixture
def world(template, tmp_path):
    app = create_app(Settings(data_dir=copy_of(template, tmp_path / "data"), admin=("admin", PASSWORD),
                              max_body_bytes=MAX_BODY))
    yield World(app.test_client())
    app.extensions["fieldsync"].store.close()


@pytest.fixture(scope="module")
def spec(template, tmp_path_factory):
    app = create_app(Settings(data_dir=copy_of(template, tmp_path_factory.mktemp("spec") / "data"),
                              admin=("admin", PASSWORD)))
    yield app.test_client().get("/api/openapi.json").get_json()
    app.extensions["fieldsync"].store.close()


def documented(spec: dict) -> dict[str, set[int]]:
    return {f"{method.upper()} {path}": {int(s) for s in op["responses"]}
            for path, item in spec["paths"].items() for method, op in item.items()}


def test_the_cases_are_exactly_the_documented_statuses(spec):
    described = documented(spec)
    missing = sorted((op, s) for op, statuses in described.items() for s in statuses - set(CASES.get(op, {})))
    assert not missing, f"documented statuses no case here produces: {missing}"
    extra = sorted((op, s) for op, cases in CASES.items() for s in set(cases) - described.get(op, set()))
    assert not extra, f"cases of statuses (or operations) the description lacks: {extra}"


@pytest.mark.parametrize("op", sorted(CASES))
def test_each_documented_status_is_produced(op, world, spec):
    method, path = op.split(" ", 1)
    responses = spec["paths"][path][method.lower()]["responses"]
    for status, case in sorted(CASES[op].items()):
        resp = case(world)
        assert resp.status_code == status, (op, status, resp.get_data(as_text=True)[:500])
        content = responses[str(status)].get("content", {})
        if resp.mimetype == "application/json":
            schema = content["application/json"]["schema"]
            OAS30Validator({**schema, "components": spec["components"]}).validate(resp.get_json())
        elif status < 300:
            assert resp.mimetype in content, (op, status, resp.mimetype)
