"""The child register and family card on every store: the gate's rules and the families list's key ranges.

SQLite, Apache CouchDB (and the cluster when the session has one): a worker's device pushes
children and family-card steps through ``/sync/<user>/_bulk_docs``; wrong states or steps are
refused and leave the stored card as it was; the coordinator's families list pages through the
``fam`` key range (page after page, and a search across pages) the same on each store.
"""

from __future__ import annotations

import re

import pytest
from gate_helpers import TES, basic, push_as
from protocol_helpers import close_app, make_backend_app
from servers import BACKENDS

from server.web import families as pages
from sync import families, records
from sync.demo import DEMO_PASSWORD, seed_demo

FAMILIES = 23


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, tmp_path_factory):
    app = make_backend_app(request, request.param, tmp_path_factory.mktemp("families") / "data")
    svc = app.extensions["fieldsync"]
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=0)
    db = svc.store.ensure(TES)
    names = ["Дорж", "Бат", "Гомбо", "Цэрэн"]
    db.bulk_docs([{"_id": f"{TES}:fam:01JFAM{n:020d}", "type": "family", "name": f"{names[n % 4]}ийн {n}",
                   "bag": f"{n % 3 + 1}-р баг", "members": 4} for n in range(FAMILIES)])
    yield app
    close_app(app)




def listed(app, **query) -> tuple[list[str], str | None]:
    resp = app.test_client().get(f"/web/areas/{TES}/families", query_string=query,
                                 headers=basic("oyunaa", DEMO_PASSWORD) | {"Accept-Language": "en"})
    assert resp.status_code == 200, resp.text[:300]
    after = re.search(r'href="[^"]*after=([^"&]+)[^"]*">Next page<', resp.text)
    return re.findall(r'/web/families/([^"]+)"', resp.text), after.group(1) if after else None


def test_the_families_list_pages_through_the_key_range(app, monkeypatch):
    monkeypatch.setattr(pages, "PAGE", 5)
    everyone = [f"{TES}:fam:01JFAM{n:020d}" for n in range(FAMILIES)]
    seen, after, pages_read = [], None, 0
    while True:
        found, after = listed(app, **({"after": after} if after else {}))
        seen += found
        pages_read += 1
        if after is None:
            break
    assert seen == everyone and pages_read == 5
    seen, after = [], None
    while True:  # "Бат" is every 4th family, found across pages
        found, after = listed(app, q="бат", **({"after": after} if after else {}))
        seen += found
        if after is None:
            break
    assert seen == [everyone[n] for n in range(FAMILIES) if n % 4 == 1]


def test_children_and_card_steps_through_the_gate(app):
    svc = app.extensions["fieldsync"]
    db = svc.store.open(TES)
    fam = f"{TES}:fam:01JFAM{0:020d}"
    card_id = families.card_id(fam)
    child = {"_id": f"{TES}:child:01JCHILD000000000000000000", "type": "child", "name": "Тэмүүлэн",
             "sex": "m", "dob": "2023-05-01", "family": fam}
    step1 = {"_id": card_id, "type": "fes", "family": fam, "areas": {"wash": {"status": "awareness", "history": [
        {"status": "awareness", "date": "2026-10-01", "note": "session", "by": "bolormaa"}]}}}
    out = push_as(app, "bolormaa", [child, step1])
    assert all("rev" in r for r in out), out
    card = records.read(db, card_id)
    jump = {**card, "areas": {"wash": {"status": "awareness", "history": [
        *card["areas"]["wash"]["history"], {"status": "action", "date": "2026-10-02"}]}}}
    out = push_as(app, "bolormaa", [jump])
    assert out[0]["error"] == "forbidden" and "From awareness the next step is awareness / assessment, not action." \
        in out[0]["reason"]
    assert "awareness төлвөөс дараагийн алхам нь" in out[0]["messages"]["mn"]
    assert records.read(db, card_id) == card  # nothing written
    for status, day in (("assessment", "2026-10-20"), ("action", "2026-11-15"), ("awareness", "2027-01-10")):
        card = records.read(db, card_id)
        history = [*card["areas"]["wash"]["history"], {"status": status, "date": day}]
        out = push_as(app, "bolormaa", [{**card, "areas": {"wash": {"status": status, "history": history}}}])
        assert "rev" in out[0], out
    final = records.read(db, card_id)["areas"]["wash"]
    assert [h["status"] for h in final["history"]] == ["awareness", "assessment", "action", "awareness"]
    assert final["status"] == "awareness"
    dropped = {**records.read(db, card_id)}
    dropped["areas"] = {"wash": {"status": "awareness", "history": final["history"][-1:]}}
    out = push_as(app, "bolormaa", [dropped])
    assert "cannot be changed or removed" in out[0]["reason"]
    assert records.read(db, card_id)["areas"]["wash"] == final
