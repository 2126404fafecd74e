"""Random input to every web page never gets a 500 (issue 17.3: the pages in the fuzzer's reach too).

Every route of the ``web`` blueprint is asked, as the demo admin and as a soum's
coordinator, with its path arguments drawn from the demo's real ids, plausible
words and junk, and with random query strings (GET) or random form fields
(POST: the field names the templates use, values from empty to 20,000
characters, repeated fields, junk; with the session's CSRF token, so that the
post reaches the view). Each answer must be below 500 and read through to its
end. Hypothesis draws the cases, derandomized, so a failure repeats.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webworld import Web, build_web, csrf
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from sync import ids, records

FUZZ = settings(max_examples=400, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
TEMPLATES = Path(__file__).resolve().parents[2] / "server" / "web" / "templates"
FIELD_NAMES = sorted(set(re.findall(r'name="([a-z_]+)"', "".join(p.read_text() for p in TEMPLATES.glob("*.html"))))
                     - {"csrf_token"})
JUNK = ["", " ", "..", "../etc/passwd", "x" * 300, "%00", "\x00", "Тэс сум", "-1", "0", "1e309", "null",
        "<script>alert(1)</script>", "a:b:c", "uvs-tes:sub:", "2026-02-30", "'; DROP TABLE x; --"]
LEFT_OUT = {"web.session.logout"}  # it would only end the session the next cases need


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Web:
    return build_web(tmp_path_factory.mktemp("webfuzz") / "data")


@pytest.fixture(scope="module")
def pools(web: Web) -> dict[str, list]:
    """Real values for each path argument: ids of the demo's documents, forms, users and areas."""
    by_kind: dict[str, list[str]] = {}
    for scope in ("uvs-tes", "ovr-kharkhorin"):
        for doc in records.iter_docs(web.svc.store.open(scope), f"{scope}:"):
            parsed = ids.parse_doc_id(doc["_id"])
            if parsed is not None and len(by_kind.setdefault(parsed.kind, [])) < 4:
                by_kind[parsed.kind].append(doc["_id"])
    entries = [e["_id"] for e in web.svc.quarantine.list()][:3]
    areas = ["uvs", "uvs-tes", "ovr-kharkhorin", "nowhere"]
    forms = ["household_visit", "growth_visit", "child_protection_referral", "no_such_form"]
    return {
        "area": areas, "code": areas, "docid": by_kind.get(ids.SUBMISSION, []) + by_kind.get(ids.CASE, []),
        "eid": entries, # Users: not the two asking, whose sessions the next cases need (a new password would end them).
        "name": forms + ["bolormaa", "nobody", "growth", "lqas"],
        "version": [1, 2, 10**12], "n": [0, 1, 99], "kg_id": by_kind.get(ids.KINDERGARTEN, []),
        "fam_id": by_kind.get(ids.FAMILY, []), "key": ["Tes soum hospital", "nope"],
        "fmt": ["csv", "xlsx", "pdf"], "filename": ["web.css", "nope.css"], "photos": ["dwelling.jpg"],
    }


def routes(web: Web, method: str) -> list:
    return sorted((r for r in web.app.url_map.iter_rules()
                   if r.endpoint.startswith("web.") and method in r.methods and r.endpoint not in LEFT_OUT),
                  key=lambda r: (r.rule, r.endpoint))


def values_for(argument: str, pools: dict[str, list]) -> st.SearchStrategy:
    real = pools.get(argument) or []
    if argument in ("version", "n"):
        return st.sampled_from(real) | st.integers(-5, 2**40)
    if not real:
        return st.sampled_from(JUNK) | st.text(max_size=12)
    # Mostly real ids, so that most cases reach the view rather than a 404 on the path.
    return st.one_of(st.sampled_from(real), st.sampled_from(real), st.sampled_from(real), st.sampled_from(JUNK))


field_values = (st.sampled_from(JUNK + ["uvs-tes", "household_visit", "1", "2", "approved", "has_issues", "banana",
                                        "high", "closed", "en", "mn", "csv", "xlsx", "on", "2026-11-01"])
                | st.text(max_size=40) | st.integers(-10**6, 10**20).map(str)
                | st.sampled_from(["x" * 5000, "ё" * 20_000]))
form_fields = st.lists(st.tuples(st.sampled_from(FIELD_NAMES), field_values), max_size=12)
query_params = st.lists(st.tuples(st.sampled_from(FIELD_NAMES + ["after", "page", "days", "month", "lowest", "q",
                                                                  "from", "to", "state", "id", "bag", "lang"]),
                                  field_values), max_size=6)


def url_of(web: Web, rule, args: dict) -> str | None:
    try:
        return web.app.url_map.bind("localhost").build(rule.endpoint, args, method=sorted(rule.methods)[0])
    except BuildError:  # a value the rule's converter does not take: no URL to ask
        return None


def read(resp) -> tuple[int, bytes]:
    body = resp.get_data()  # streams the whole answer: a generator that raises fails here
    return resp.status_code, body


@pytest.fixture(scope="module")
def clients(web: Web) -> dict:
    return {who: web.logged_in(who) for who in ("admin", "oyunaa")}


def drawn(web: Web, pools: dict, clients: dict, data, method: str):
    """A route of ``method``, its URL with drawn path arguments (None when no URL takes them), who asks."""
    rule = data.draw(st.sampled_from(routes(web, method)), label="route")
    args = {a: data.draw(values_for(a, pools), label=a) for a in sorted(rule.arguments)}
    who = data.draw(st.sampled_from(sorted(clients)), label="who")
    return url_of(web, rule, args), who


@FUZZ
@given(data=st.data())
def test_a_get_of_any_page_with_any_query_is_never_a_500(web: Web, pools, clients, data) -> None:
    url, who = drawn(web, pools, clients, data, "GET")
    if url is None:
        return
    status, body = read(clients[who].get(url, query_string=MultiDict(data.draw(query_params, label="query"))))
    assert status < 500, (who, url, body[:300])


@FUZZ
@given(data=st.data())
def test_a_post_of_any_form_with_any_fields_is_never_a_500(web: Web, pools, clients, data) -> None:
    url, who = drawn(web, pools, clients, data, "POST")
    if url is None:
        return
    client = clients[who]
    fields = [("csrf_token", csrf(client, "/web/"))] + data.draw(form_fields, label="fields")
    status, body = read(client.post(url, data=MultiDict(fields)))
    assert status < 500, (who, url, fields, body[:300])
