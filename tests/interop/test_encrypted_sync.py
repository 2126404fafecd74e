"""Sensitive answers sealed at rest, yet every authorized reader gets them (issue 17.9), with real PouchDB 9.

``fieldsync demo`` and ``fieldsync serve`` run with an encryption key, on SQLite
and on the CouchDB store. A worker's phone pushes a child protection referral;
her new phone pulls it back under the revision the first one computed, in
plain text; the aimag's coordinator reads it on the submission's web page and
in the CSV export. The store's own bytes (SQLite files, CouchDB's documents
read from CouchDB directly) never hold the answer.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from pouch import PouchReplica
from servers import couch_url_for, couchdb_env, dropped_afterwards, fieldsync_demo_server

from sync.demo import DEMO_PASSWORD, protection_referral, submission
from sync.stores.encrypted import new_key_entry

pytestmark = pytest.mark.interop

SECRET = "Тэмүүжин 7 настай, хөрш айлын эр зодсон гэж хэлсэн"
CASE_ID = "uvs-tes:sub:01KSEALEDCASE0000000000001"
PHOTO = b"\xff\xd8\xff\xe0" + b"FACE-OF-THE-CHILD " * 2000 + b"\xff\xd9"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module", params=["sqlite", "couchdb"])
def server(request) -> Iterator:
    keys = {"FIELDSYNC_ENCRYPTION_KEYS": new_key_entry("k1")}
    with ExitStack() as stack:
        env = dict(keys)
        if request.param == "couchdb":
            couch = couchdb_env(couch_url_for(request, "couchdb"))
            stack.enter_context(dropped_afterwards(couch))
            env |= couch
        peer = stack.enter_context(fieldsync_demo_server(extra_env=env))
        peer.couch_url = env.get("FIELDSYNC_COUCHDB_URL")
        peer.couch_prefix = env.get("FIELDSYNC_COUCHDB_PREFIX")
        yield peer


def sync_url(peer, user: str) -> str:
    return f"http://{user}:{DEMO_PASSWORD}@127.0.0.1:{peer.port}/sync/{user}"


def raw_store(peer) -> bytes:
    if peer.backend == "sqlite":
        return b"".join(p.read_bytes() for p in Path(peer.data_dir).iterdir() if p.is_file())
    db = quote(f"{peer.couch_prefix}uvs-tes", safe="")
    got = requests.get(f"{peer.couch_url}/{db}/_all_docs", params={"include_docs": "true"}, timeout=30)
    assert got.status_code == 200, got.text
    return got.content


def raw_photo(peer) -> bytes:
    if peer.backend == "sqlite":
        return b""  # the SQLite files hold the bytes: raw_store read them
    db = quote(f"{peer.couch_prefix}uvs-tes", safe="")
    got = requests.get(f"{peer.couch_url}/{db}/{quote(CASE_ID, safe='')}/photo.jpg", timeout=30)
    assert got.status_code == 200, got.text
    return got.content


def test_the_author_and_the_coordinator_read_what_the_store_keeps_sealed(server, node_driver, tmp_path: Path) -> None:
    case = submission(CASE_ID, "child_protection_referral", "bolormaa", protection_referral(random.Random(3)),
                      "2026-10-12T14:30:00+08:00")
    case["data"]["summary"] = SECRET
    case["_attachments"] = {"photo.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(PHOTO).decode()}}
    phone: PouchReplica = node_driver.open_replica(tmp_path / "phone")
    [written] = phone.bulk_docs([case])
    report = phone.push(sync_url(server, "bolormaa"))
    assert report["errors"] == [] and report["denied"] == [], report
    assert report["result"]["docs_written"] == 1

    raw = raw_store(server)
    assert SECRET.encode() not in raw and SECRET.encode("unicode_escape") not in raw
    assert b"FACE-OF-THE-CHILD" not in raw + raw_photo(server)
    assert written["rev"].encode() in raw  # stored under the device's revision
    assert b"sealed" in raw

    new_phone = node_driver.open_replica(tmp_path / "new-phone")
    pulled = new_phone.pull(sync_url(server, "bolormaa"))
    assert pulled["errors"] == [], pulled
    got = new_phone.get(CASE_ID)
    assert got["_rev"] == written["rev"] and got["data"] == case["data"] and "sealed" not in got
    assert new_phone.attachment(CASE_ID, "photo.jpg") == PHOTO
    assert got["_attachments"]["photo.jpg"]["digest"] == phone.get(CASE_ID)["_attachments"]["photo.jpg"]["digest"]

    web = requests.Session()
    token = CSRF_RE.search(web.get(f"{server.root}/web/login", timeout=30).text).group(1)
    web.post(f"{server.root}/web/login", data={"name": "oyunaa", "password": DEMO_PASSWORD, "csrf_token": token},
             timeout=30)
    page = web.get(f"{server.root}/web/submissions/{quote(CASE_ID, safe='')}", timeout=30)
    assert page.status_code == 200 and SECRET in page.text
    photo = web.get(f"{server.root}/web/submissions/{quote(CASE_ID, safe='')}/photos/photo.jpg", timeout=30)
    assert photo.status_code == 200 and photo.content == PHOTO

    out = tmp_path / "referrals.csv"
    proc = server.cli("export", "child_protection_referral", "--area", "uvs-tes", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    exported = "".join(p.read_text(encoding="utf-8-sig") for p in tmp_path.glob("referrals*.csv"))
    assert SECRET in exported
    for replica in (phone, new_phone):
        replica.close()
