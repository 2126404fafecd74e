"""The OpenAPI description of ``/api`` covers every route the app has, is valid OpenAPI 3,
describes the very schemas that check the requests, and is readable as a page in both languages.

The route list comes from the running app's ``url_map``: a route added without
an ``@operation`` mark fails here by name.
"""

from __future__ import annotations

import re

import pytest
from gate_helpers import PASSWORD, seed_template
from markupsafe import escape
from openapi_spec_validator import validate

from server import create_app
from server.api_validation import operation_of
from server.config import Settings
from server.openapi import api_rules, describe, methods_of, openapi_path


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = create_app(Settings(data_dir=seed_template(tmp_path_factory.mktemp("openapi") / "data"),
                              admin=("admin", PASSWORD)))
    yield app
    app.extensions["fieldsync"].store.close()


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def test_every_api_route_of_the_app_is_described(app, spec):
    routes = {(openapi_path(rule), method.lower()) for rule in api_rules(app) for method in methods_of(rule)}
    described = {(path, method) for path, item in spec["paths"].items() for method in item
                 if method in ("get", "put", "post", "patch", "delete")}
    assert len(routes) >= 19  # users, areas, forms, quarantine, conflicts, reviews, sync status, this
    missing = sorted(routes - described)
    assert not missing, f"/api routes without an @operation mark (server/api_validation.py): {missing}"
    assert described == routes  # and nothing described that the app does not serve


def test_the_description_is_valid_openapi_3_and_is_what_describe_makes(app, spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec == describe(app)


def test_request_bodies_and_queries_are_the_validating_schemas(app, spec):
    schemas = spec["components"]["schemas"]
    for rule in api_rules(app):
        op = operation_of(app.view_functions[rule.endpoint])
        for method in methods_of(rule):
            described = spec["paths"][openapi_path(rule)][method.lower()]
            if op.body is not None:
                ref = described["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                name = ref.rsplit("/", 1)[-1]
                assert op.body.__name__.removesuffix("Schema") == name
                fields = op.body().fields
                assert set(schemas[name]["properties"]) == {f.data_key or n for n, f in fields.items()}
                assert set(schemas[name].get("required", ())) == {f.data_key or n for n, f in fields.items()
                                                                  if f.required}
            else:
                assert "requestBody" not in described
            queried = {p["name"] for p in described["parameters"] if p["in"] == "query"}
            assert queried == ({f.data_key or n for n, f in op.query().fields.items()} if op.query else set())
    new_user = schemas["NewUser"]
    assert set(new_user["required"]) == {"name", "role", "password"}
    assert new_user["properties"]["role"]["enum"] == ["worker", "coordinator", "admin"]
    assert new_user["properties"]["password"]["minLength"] == 8


def test_every_failure_is_described_as_the_error_shape(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error", "reason", "fields"}


@pytest.mark.parametrize("lang, heading, login", [
    ("en", "API reference", "Log in first"),
    ("mn", "API-ийн лавлах", "Эхлээд нэвтэрнэ үү"),
])
def test_the_page_lists_every_operation_in_the_readers_language(app, spec, lang, heading, login):
    client = app.test_client()
    moved = client.get("/api/docs")
    assert moved.status_code == 302
    page = client.get(moved.headers["Location"], headers={"Accept-Language": lang})
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in html and login in html
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert f'id="{op["operationId"]}"><code>{method.upper()} {path}</code>' in html
            assert str(escape(op["summary"])) in html
    assert "<code>password</code>" in html  # the members of request bodies are listed
    # Everything it loads comes from this server: no CDN, no script.
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<script" not in html
