"""Every ``/api`` operation, sent bodies (and query strings) of wrong shapes and types: never
a 500, and every 400 names the member at fault, in ``fields`` and in the reason.

The operations and their members come from the OpenAPI description (which
test_api_description ties to the app's url_map), so a new route is fuzzed
without being listed here. Each member gets a fixed sweep of wrong values;
hypothesis then adds random JSON (derandomized: the same run every time).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from api_world import TES, World
from gate_helpers import PASSWORD, copy_of, seed_template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import create_app
from server.config import Settings

WRONG = [None, True, False, 0, -1, 2**63, 1.5, "", " ", "x", "ы" * 3000, [], [1, "a"], {}, {"a": {"b": []}}]
QUERY_WRONG = ["", "-1", "0", "1.5", "abc", "true", "ы", "%00", "9" * 40, "[1]"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data = copy_of(seed_template(tmp_path_factory.mktemp("fuzz-template") / "data"),
                   tmp_path_factory.mktemp("fuzz") / "data")
    app = create_app(Settings(data_dir=data, admin=("admin", PASSWORD)))
    yield World(app.test_client())
    app.extensions["fieldsync"].store.close()


@pytest.fixture(scope="module")
def spec(world):
    return world.call("GET", "/api/openapi.json").get_json()


@pytest.fixture(scope="module")
def ids(world):
    """Real values for path parameters, so that requests get past "not found" to the body checks."""
    docid = world.conflict()[0]
    return {"name": "bolormaa", "eid": world.entry(), "form": "household_visit", "submission": world.submission,
            "conflict": docid}


def operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()]


def concrete(path: str, ids: dict) -> str:
    if path.startswith("/api/forms/"):
        return path.replace("{name}", ids["form"])
    if path.startswith("/api/reviews/"):
        return path.replace("{docid}", ids["submission"])
    if path.startswith("/api/conflicts/"):
        return path.replace("{docid}", ids["conflict"])
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no value to fuzz {path} with: add one to ids()"
    return path


def body_members(op: dict, spec: dict) -> set[str]:
    body = op.get("requestBody")
    if not body:
        return set()
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    return set(spec["components"]["schemas"][ref].get("properties", {}))


def check(resp, members: set[str], sent: object, failures: list | None = None) -> None:
    if failures is None:
        return _check(resp, members, sent)
    try:
        _check(resp, members, sent)
    except AssertionError as exc:
        if len(failures) < 200:
            failures.append(exc.args[0] if exc.args else sent)


def _check(resp, members: set[str], sent: object) -> None:
    """No 500; a 400 names each member at fault (``body`` for the body as a whole): one of the
    operation's, or one the request sent that it does not take."""
    body = sent[-1] if isinstance(sent, tuple) else sent
    members = members | (set(map(str, body)) if isinstance(body, dict) else set())
    assert resp.status_code < 500, (sent, resp.get_data(as_text=True)[:300])
    if resp.status_code != 400:
        return
    answer = resp.get_json()
    fields = answer.get("fields")
    assert isinstance(fields, dict) and fields, (sent, answer)
    for path, words in fields.items():
        root = re.split(r"[.\[]", path)[0]  # areas.1, fields[0].name
        assert root == "body" or root in members, (sent, answer)
        assert isinstance(words, str) and words, (sent, answer)
        assert path in answer["reason"] or root == "body" and "request body" in answer["reason"], (sent, answer)


def test_every_operation_is_fuzzed(spec):
    assert len(operations(spec)) >= 19
    assert sum(1 for _, _, op in operations(spec) if op.get("requestBody")) >= 9


def test_wrong_bodies_never_500_and_every_400_names_the_member(world, spec, ids):
    failures: list = []
    for method, path, op in operations(spec):
        if method == "get":
            continue
        url, members = concrete(path, ids), body_members(op, spec)
        sweep = [[], "text", 7, None, {"not_a_member": 1}]
        sweep += [{member: wrong} for member in sorted(members) for wrong in WRONG]
        for body in sweep:
            check(world.call(method.upper(), url, "admin", body), members, (method, path, body), failures)
        for raw in (b"", b"{", b"\xff\xfe", b"[1,", b'{"a":1}{"b":2}', b"nul"):
            check(world.call(method.upper(), url, "admin", raw=raw), members, (method, path, raw), failures)
        _random_bodies(world, method, path, url, members, failures)
    assert not failures, "\n".join(map(repr, _per_operation(failures)))


def test_wrong_query_parameters_never_500_and_every_400_names_the_parameter(world, spec, ids):
    failures: list = []
    for method, path, op in operations(spec):
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        if not names:
            continue
        url = concrete(path, ids)
        base = {"area": TES} if path == "/api/reviews" else {}
        named = names | body_members(op, spec)  # no body sent: a POST names its missing members too
        for name in sorted(names):
            for wrong in QUERY_WRONG:
                query = {**base, name: wrong}
                check(world.call(method.upper(), f"{url}?{urlencode(query)}", "admin"), named, (path, query), failures)
        _random_queries(world, method, path, url, base, names, named, failures)
    assert not failures, "\n".join(map(repr, _per_operation(failures)))


def _random_bodies(world: World, method: str, path: str, url: str, members: set[str], failures: list) -> None:
    @FUZZ
    @given(body=JSON | st.dictionaries(st.sampled_from(sorted(members | {"zz"})), JSON, max_size=4))
    def fuzz(body):
        check(world.call(method.upper(), url, "admin", body), members, (method, path, body), failures)

    fuzz()


def _random_queries(world: World, method: str, path: str, url: str, base: dict, names: set[str],
                    named: set[str], failures: list) -> None:
    @FUZZ
    @given(query=st.dictionaries(st.sampled_from(sorted(names)), st.text(max_size=10), max_size=3))
    def fuzz(query):
        check(world.call(method.upper(), f"{url}?{urlencode({**base, **query})}", "admin"), named,
              (path, query), failures)

    fuzz()


def _per_operation(failures: list) -> list:
    """The first two failures of each operation: enough to see what is wrong, short enough to read."""
    seen: dict[str, int] = {}
    shown = []
    for failure in failures:
        key = repr(failure)[:40]
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= 2:
            shown.append(failure)
    return shown


def test_the_sweep_reaches_the_checks(world, ids):
    """The fuzzing is not vacuous: wrong members of real requests are answered 400 by name."""
    resp = world.call("POST", f"/api/quarantine/{ids['eid']}/discard", "admin", {"reason": 3})
    assert resp.status_code == 400 and resp.get_json()["fields"] == {"reason": "must be text"}
    resp = world.call("POST", "/api/users", "admin", json.loads('{"areas": "uvs-tes"}'))
    assert set(resp.get_json()["fields"]) == {"name", "role", "password", "areas"}
