"""The web pages against the same table: every page and action about a document the caller
may not reach (its submission, photo, review, conflict and quarantine pages and actions, and the
conflicts, quarantine and sync monitor lists of its area) answers 404, exactly as for a document that never existed, reveals none of
its markers or photo bytes, and writes nothing.

Callers are logged in through the pages themselves (their CSRF token in hand), so a
refusal is the access rule's, never the login's or the CSRF check's.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from conftest import Secret, World

from sync.demo import DEMO_PASSWORD

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

# who, and the secrets (submissions) that are out of their reach on the web pages
CALLERS = {
    "a coordinator of another aimag": ("oyunaa", ["other_aimag"]),
    "the other aimag's coordinator, the other way": ("enkhjargal", ["case", "other_area"]),
    "a worker, about her own area": ("bolormaa", ["case", "other_area"]),
    "a worker, about her own case": ("tuya", ["case"]),  # workers have no pages at all
}


def held_entry(secret: Secret) -> str:
    """The id of the refused revision of ``secret`` the ``held`` fixture keeps in the quarantine."""
    return f"q:{secret.id}:2-{'f' * 32}"


@pytest.fixture(scope="module")
def held(world: World) -> str:
    """A refused revision of each secret submission, waiting for a coordinator's decision (the
    quarantine pages' document); its marker must not leak either."""
    marker = "MARKER-QUARANTINE"
    for secret in world.secrets.values():
        if ":sub:" not in secret.id:
            continue
        doc = {"_id": secret.id, "_rev": f"2-{'f' * 32}", "_revisions": {"start": 2, "ids": ["f" * 32]},
               "type": "submission", "form": "household_visit", "form_version": 1,
               "author": "bolormaa", "data": {"remarks": marker}}
        eid = world.svc.quarantine.hold(doc=doc, scope=secret.scope, user="bolormaa",
                                        reasons=[{"field": "", "message": "refused"}], new_edits=False)
        assert eid == held_entry(secret)
    return marker


def actions(secret: Secret, csrf: str) -> list[tuple[str, str, dict | None]]:
    area, docid = secret.scope, secret.id
    page = f"/web/submissions/{quote(docid, safe=':')}"
    entry = f"/web/quarantine/{held_entry(secret)}"
    listed = area if secret.ghost != docid else "nowhere-at-all"  # the ghost's lists: no such area
    return [
        ("GET", f"/web/conflicts?area={listed}", None),
        ("GET", f"/web/quarantine?area={listed}", None),
        ("GET", f"/web/quarantine?area={listed}&status=all", None),
        ("GET", f"/web/sync?area={listed}", None),
        ("GET", entry, None),
        ("POST", f"{entry}/release", {"csrf_token": csrf, "form_version": "1"}),
        ("POST", f"{entry}/discard", {"csrf_token": csrf, "note": "taken over"}),
        ("GET", f"/web/areas/{area}/submissions", None),
        ("GET", f"/web/areas/{area}/submissions?state=has_issues&q=MARKER", None),
        ("GET", page, None),
        ("GET", f"{page}/photos/photo.jpg", None),
        ("GET", f"{page}/photos/photo.jpg?size=full", None),
        ("POST", f"{page}/review", {"csrf_token": csrf, "status": "approved", "comment": "taken over",
                                    "review_rev": "", "submission_rev": secret.rev}),
        ("GET", f"/web/conflicts/{docid}", None),
        ("POST", f"/web/conflicts/{docid}", {"csrf_token": csrf, "revs": secret.rev}),
    ]


def ghost_of(secret: Secret) -> Secret:
    ghost = Secret(secret.scope, secret.ghost, rev=secret.rev)
    assert ghost.ghost == ghost.id  # a ghost's own lists name an area that does not exist
    return ghost


def logged_in(world: World, name: str):
    client = world.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/web/login")
    client.post("/web/login", data={"name": name, "password": DEMO_PASSWORD,
                                    "csrf_token": CSRF_RE.search(page.text).group(1)})
    home = client.get("/web/")
    assert home.status_code == 200, home.text
    return client, CSRF_RE.search(home.text).group(1)


def same_page(body: str, docid: str) -> str:
    """A page with the id it is about and its (time-stamped) CSRF tokens blanked."""
    return CSRF_RE.sub('name="csrf_token" value=""', body.replace(docid, "<id>").replace(quote(docid, safe=""), "<id>"))


def snapshot(world: World, scope: str) -> list:
    """Everything a scope holds, as the store has it (ids and winning revisions, and the count)."""
    db = world.svc.store.open(scope)
    return [(r["id"], r["value"]["rev"]) for r in db.all_docs()]


@pytest.mark.parametrize("caller", CALLERS)
def test_every_web_page_and_action_is_404_and_changes_nothing(world: World, held: str, caller: str):
    name, hidden = CALLERS[caller]
    client, csrf = logged_in(world, name)
    # (the case author's own name is on her pages: it is the header's "logged in as")
    leaks = [m for m in world.must_not_leak(tuple(hidden)) if m != name] + ["\xff\xd8", held]
    for key in hidden:
        secret = world.secrets[key]
        before = snapshot(world, secret.scope)
        entry_before = world.svc.quarantine.get(held_entry(secret))
        for (method, path, data), (_, ghost_path, ghost_data) in zip(
                actions(secret, csrf), actions(ghost_of(secret), csrf), strict=True):
            resp = client.open(path, method=method, data=data)
            ghost = client.open(ghost_path, method=method, data=ghost_data)
            assert resp.status_code == 404, (caller, key, method, path, resp.status_code)
            assert ghost.status_code == 404, (caller, key, method, ghost_path, ghost.status_code)
            body = resp.get_data(as_text=False).decode("utf-8", "replace")
            for marker in leaks:
                assert marker not in body, (caller, key, path, marker)
            # The answer about the secret is the answer about a document that never existed.
            # (the pages carry their own address, in the language switch's "next")
            assert same_page(body, secret.id).replace(secret.scope, "<area>") == same_page(
                ghost.get_data(as_text=True), secret.ghost).replace("nowhere-at-all", secret.scope).replace(
                secret.scope, "<area>"), (caller, path)
        assert snapshot(world, secret.scope) == before, (caller, key)
        assert world.svc.quarantine.get(held_entry(secret)) == entry_before, (caller, key)
