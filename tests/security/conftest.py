"""One world for the security suite: the demo areas and users, plus documents worth stealing.

Each secret document carries a marker string in its fields and in its photo,
so a test can check that no answer leaks a byte of it. Every attempt in this
suite is refused, so the world is built once for the session and stays as it
is (the write tests check exactly that, scope by scope).
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.auth import COOKIE
from server.config import Settings
from server.services import Services
from sync.accounts.throttle import LoginThrottle
from sync.demo import DEMO_PASSWORD, household_visit, protection_referral, seed_demo, submission
from sync.docs import check_doc
from sync.stores.encrypted import new_key_entry

ADMIN = ("root", "root-password-1")
MAX_BODY = 256 * 1024


def basic(name: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@dataclass
class Secret:
    """A document some users must never learn anything about."""

    scope: str
    id: str
    rev: str = ""
    markers: list[str] = field(default_factory=list)

    @property
    def ghost(self) -> str:
        """An id of the same shape, in the same area, that was never written."""
        area, kind, _ = self.id.split(":", 2)
        return f"{area}:{kind}:01KZZZZZZZZZZZZZZZZZZZZZZZ"


@dataclass
class World:
    app: Flask
    svc: Services
    data: Path
    secrets: dict[str, Secret]
    disabled_cookie: str

    def client(self) -> FlaskClient:
        return self.app.test_client(use_cookies=False)

    def must_not_leak(self, hidden: tuple[str, ...] | None = None) -> list[str]:
        """What must not reach someone the ``hidden`` secrets (default: all) are hidden from:
        their markers, the case author's name, and never a password hash."""
        keys = self.secrets if hidden is None else hidden
        leaks = [m for key in keys for m in self.secrets[key].markers] + ["$argon2"]
        return leaks + (["tuya"] if "case" in keys else [])


@dataclass(frozen=True)
class Caller:
    """Who calls, through whose replica, about which secret, and how the refusal looks.

    ``refusal`` is what each suite expects (see ASKERS, WRITERS); ``hidden`` the
    secrets this caller may not see (None: all).
    """

    headers: Callable[[World], dict[str, str]]
    replica: str
    secret: str
    refusal: int
    hidden: tuple[str, ...] | None = None


def _write(svc: Services, scope: str, doc: dict) -> str:
    result = svc.store.open(scope).bulk_docs([check_doc(doc, new_edits=True)])[0]
    assert "rev" in result, result
    return result["rev"]


def _photo(marker: str) -> dict:
    return {"content_type": "image/jpeg", "data": base64.b64encode(b"\xff\xd8" + marker.encode() * 20).decode()}


def _submitted(svc: Services, secret: Secret, form: str, author: str, data: dict, created_at: str,
               photo_marker: str) -> Secret:
    """``secret`` written as a submission of ``form`` with a marked photo; its revision recorded."""
    doc = submission(secret.id, form, author, data, created_at)
    doc["_attachments"] = {"photo.jpg": _photo(photo_marker)}
    secret.rev = _write(svc, secret.scope, doc)
    return secret


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    data = tmp_path_factory.mktemp("security") / "data"
    # Sensitive answers are sealed at rest (sync/stores/encrypted.py): every read below
    # goes through the sealing store, as in a deployment with a key.
    app = create_app(Settings(data_dir=data, admin=ADMIN, max_body_bytes=MAX_BODY,
                              encryption_keys=new_key_entry("security")))
    app.testing = True
    svc: Services = app.extensions["fieldsync"]
    # Wrong passwords are part of the table: they must not lock the suite's users out.
    svc.auth.throttle = LoginThrottle(svc.store, slow_after=10_000, lock_after=10_000)
    seed_demo(svc.store, svc.areas, svc.forms, svc.users, per_soum=6)
    svc.users.add("tuya", "worker", ["uvs-tes"], DEMO_PASSWORD)  # bolormaa's colleague in Tes
    svc.users.add("dorj", "worker", ["uvs-tes"], DEMO_PASSWORD)  # disabled below

    rng = random.Random(99)
    secrets = {}
    case = protection_referral(rng)
    case["summary"] = "MARKER-CASE-SUMMARY Хүүхэд"
    case["case_code"] = "CP-2026-777"
    secrets["case"] = _submitted(svc, Secret("uvs-tes", "uvs-tes:sub:01KCASE0000000000000000001",
                                             markers=["MARKER-CASE", "CP-2026-777"]),
                                 "child_protection_referral", "tuya", case, "2026-10-12T14:30:00+08:00",
                                 "MARKER-CASE-PHOTO")

    review = Secret("uvs-tes", "uvs-tes:review:01KCASE0000000000000000001", markers=["MARKER-REVIEW"])
    review.rev = _write(svc, "uvs-tes", {
        "_id": review.id, "type": "review", "status": "flagged",
        "comments": [{"by": "oyunaa", "text": "MARKER-REVIEW: the family moved to the winter camp"}],
        "_attachments": {"photo.jpg": _photo("MARKER-REVIEW-PHOTO")},
    })
    secrets["review"] = review

    visit = household_visit(rng)
    visit["remarks"] = "MARKER-OTHER-AREA remarks"
    secrets["other_area"] = _submitted(
        svc, Secret("uvs-naranbulag", "uvs-naranbulag:sub:01KVISIT000000000000000001", markers=["MARKER-OTHER-AREA"]),
        "household_visit", "ganzorig", visit, "2026-10-02T10:00:00+08:00", "MARKER-OTHER-AREA-PHOTO")

    far = protection_referral(rng)
    far["summary"] = "MARKER-OTHER-AIMAG summary"
    secrets["other_aimag"] = _submitted(
        svc, Secret("ovr-kharkhorin", "ovr-kharkhorin:sub:01KFAR00000000000000000001", markers=["MARKER-OTHER-AIMAG"]),
        "child_protection_referral", "tsetseg", far, "2026-10-12T14:30:00+08:00", "MARKER-OTHER-AIMAG-PHOTO")

    # ganzorig's device checkpoint, and dorj's session opened before his account was disabled
    client = app.test_client(use_cookies=False)
    response = client.put("/sync/ganzorig/_local/ckpt", json={"last_seq": "MARKER-CHECKPOINT"},
                          headers=basic("ganzorig"))
    assert response.status_code == 201
    secrets["checkpoint"] = Secret("_checkpoints", "_local/ckpt", markers=["MARKER-CHECKPOINT"])
    login = client.post("/_session", json={"name": "dorj", "password": DEMO_PASSWORD})
    cookie = login.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    svc.users.update("dorj", disabled=True)
    assert svc.users.get("dorj").disabled
    return World(app, svc, data, secrets, cookie)


def session_cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}
