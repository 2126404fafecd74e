"""The answers of sensitive forms are sealed in the store, on SQLite and on CouchDB (issue 17.9).

Checked on the real files: the SQLite database files and write-ahead logs are
read as bytes, and the CouchDB documents straight from CouchDB's HTTP API,
bypassing fieldsync; a known answer must appear in neither, while every read
through fieldsync's store gives it back, under the revision the device sent.
Keys rotate without downtime: a store given an old and a new key reads both,
writes with the new one, and ``rekey`` moves old documents onto it.
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from servers import couch_url_for

from sync.demo import household_visit, protection_referral, submission
from sync.docs import check_doc, md5_digest
from sync.stores.base import Store
from sync.stores.encrypted import EncryptedStore, Keyring, KeyringError, new_key_entry, rekey
from sync.stores.sqlite import SQLiteStore

SECRET = "Баярмаагийн хүү Тэмүүжин 7 настай, зодуулсан"  # what must never reach the disk in plain text
SENSITIVE = frozenset({"child_protection_referral"})
SCOPE = "uvs-tes"
PHOTO = b"\xff\xd8\xff\xe0" + b"PHOTO-OF-THE-CHILD " * 400 + b"\xff\xd9"
COUCH_URLS: dict[int, str] = {}


def referral(n: int, summary: str = SECRET) -> dict:
    data = protection_referral(random.Random(n))
    data["summary"] = summary
    return submission(f"{SCOPE}:sub:01KREFERRAL{n:015d}", "child_protection_referral", "tuya", data,
                      "2026-10-12T14:30:00+08:00")


def visit(n: int) -> dict:
    data = household_visit(random.Random(n))
    data["remarks"] = "plain visit remark"
    return submission(f"{SCOPE}:sub:01KVISIT{n:018d}", "household_visit", "tuya", data,
                      "2026-10-03T10:00:00+08:00")


@pytest.fixture(params=["sqlite", "couchdb"])
def backend(request, tmp_path: Path) -> Iterator[tuple[str, callable]]:
    """(name, open): ``open()`` gives a fresh handle on the same plain backend."""
    if request.param == "sqlite":
        yield "sqlite", lambda: SQLiteStore(tmp_path / "data")
        return
    from sync.stores.couchdb import CouchStore

    url = couch_url_for(request, "couchdb")
    prefix = f"enc{secrets.token_hex(4)}-"
    def open_plain() -> CouchStore:
        store = CouchStore(url, prefix=prefix)
        COUCH_URLS[id(store)] = url  # CouchDB itself, with the admin's credentials
        return store

    yield "couchdb", open_plain
    cleanup = CouchStore(url, prefix=prefix)
    for name in cleanup.names():
        cleanup.delete(name)
    cleanup.close()


def sealed(inner: Store, keys: str) -> EncryptedStore:
    return EncryptedStore(inner, Keyring.parse(keys), lambda: SENSITIVE)


def raw_bodies(name: str, inner: Store, tmp_path: Path) -> bytes:
    """Everything the backend keeps, as an attacker with a copy of it reads it."""
    if name == "sqlite":
        return b"".join(p.read_bytes() for p in sorted((tmp_path / "data").iterdir()) if p.is_file())
    response = requests.get(f"{COUCH_URLS[id(inner)]}/{inner.dbname(SCOPE)}/_all_docs",
                            params={"include_docs": "true", "conflicts": "true"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def raw_photo(name: str, inner: Store, doc_id: str) -> bytes:
    """The photo as CouchDB itself serves it (SQLite's bytes are in its files already)."""
    if name == "sqlite":
        return b""
    got = requests.get(f"{COUCH_URLS[id(inner)]}/{inner.dbname(SCOPE)}/{quote(doc_id, safe='')}/photo.jpg", timeout=30)
    assert got.status_code == 200, got.text
    return got.content


def test_a_copy_of_the_store_reveals_nothing_and_fieldsync_reads_plain_text(backend, tmp_path: Path) -> None:
    name, open_plain = backend
    key = new_key_entry("k1")
    store = sealed(open_plain(), key)
    db = store.ensure(SCOPE)
    pushed = referral(1)
    pushed["_rev"] = "1-0123456789abcdef0123456789abcdef"  # what the device computed
    pushed["_revisions"] = {"start": 1, "ids": ["0123456789abcdef0123456789abcdef"]}
    pushed["_attachments"] = {"photo.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(PHOTO).decode()}}
    other = {**visit(2), "_rev": "1-aa", "_revisions": {"start": 1, "ids": ["aa"]}}
    replicated = [check_doc(dict(d), new_edits=False) for d in (pushed, other)]
    assert db.bulk_docs(replicated, new_edits=False) == []
    edited = db.bulk_docs([referral(3)])[0]  # a web edit: the store computes the revision
    assert "rev" in edited, edited

    raw = raw_bodies(name, store.inner, tmp_path)
    assert SECRET.encode() not in raw and SECRET.encode("unicode_escape") not in raw
    assert b"CP-2026-" not in raw  # the case code is an answer too
    assert b"plain visit remark" in raw  # a form that is not sensitive is stored as it is
    assert b"1-0123456789abcdef0123456789abcdef" in raw  # the device's revision, unchanged
    assert b"PHOTO-OF-THE-CHILD" not in raw + raw_photo(name, store.inner, pushed["_id"])
    assert md5_digest(PHOTO).encode() not in raw

    got = db.get(pushed["_id"], revs=True)
    assert got["_rev"] == pushed["_rev"] and got["data"] == pushed["data"] and "sealed" not in got
    assert db.get(edited["id"])["data"]["summary"] == SECRET
    rows = list(db.changes(0, include_docs=True))
    assert {r["id"]: r["doc"]["data"]["summary"] for r in rows if "referral" in r["id"].lower()} == {
        pushed["_id"]: SECRET, edited["id"]: SECRET}
    assert all("sealed" not in r["doc"] for r in db.all_docs(include_docs=True))
    [bulk] = list(db.bulk_get([{"id": pushed["_id"], "rev": pushed["_rev"]}], revisions=True))
    assert bulk["docs"][0]["ok"]["data"] == pushed["data"]
    [found] = db.open_revs(pushed["_id"], [pushed["_rev"]])
    assert found["ok"]["data"] == pushed["data"]

    # Photos: the device's digest and length, the device's bytes, through every read.
    stub = db.get(pushed["_id"])["_attachments"]["photo.jpg"]
    assert (stub["digest"], stub["length"], stub.get("stub")) == (md5_digest(PHOTO), len(PHOTO), True)
    inline = db.get(pushed["_id"], attachments=True)["_attachments"]["photo.jpg"]
    assert bytes(inline["data"]) == PHOTO and inline["digest"] == md5_digest(PHOTO)
    meta, data = db.get_attachment(pushed["_id"], "photo.jpg")
    assert data == PHOTO and meta["digest"] == md5_digest(PHOTO) and meta["length"] == len(PHOTO)
    # A web edit keeps the photo as a stub; so does the device's next revision, naming its digest.
    doc = db.get(pushed["_id"])
    doc["data"]["summary"] = "edited on the web"
    second = db.bulk_docs([doc])[0]["rev"]
    assert db.get_attachment(pushed["_id"], "photo.jpg", second)[1] == PHOTO
    third = {**db.get(pushed["_id"], revs=True), "_rev": f"3-{'b' * 32}"}
    third["_revisions"] = {"start": 3, "ids": ["b" * 32, *third["_revisions"]["ids"]]}
    third["_attachments"] = {"photo.jpg": {"stub": True, "digest": md5_digest(PHOTO), "revpos": 1,
                                           "content_type": "image/jpeg"}}
    assert db.bulk_docs([check_doc(third, new_edits=False)], new_edits=False) == []
    meta, data = db.get_attachment(pushed["_id"], "photo.jpg", third["_rev"])
    assert data == PHOTO and meta["digest"] == md5_digest(PHOTO)
    assert b"PHOTO-OF-THE-CHILD" not in raw_bodies(name, store.inner, tmp_path)

    # The same answers sealed twice are the same bytes (a retried edit hashes to the same
    # revision); in another document they are not, and a body moved there does not open.
    ring = store.keyring
    assert ring.seal(b"answers", "a") == ring.seal(b"answers", "a") != ring.seal(b"answers", "b")
    with pytest.raises(KeyringError, match="do not open"):
        ring.open(ring.seal(b"answers", "a"), "b")

    # Without the key, fieldsync cannot read it either: one clear error, not garbage.
    with pytest.raises(KeyringError, match="k1.*not configured"):
        sealed(open_plain(), new_key_entry("other")).open(SCOPE).get(pushed["_id"])
    store.close()


def test_keys_rotate_without_downtime_and_rekey_moves_old_documents(backend, tmp_path: Path) -> None:
    name, open_plain = backend
    old, new = new_key_entry("2025"), new_key_entry("2026")
    before = sealed(open_plain(), old).ensure(SCOPE)
    with_photo = {**referral(1), "_attachments": {"photo.jpg": {"content_type": "image/jpeg", "data": PHOTO}}}
    assert "error" not in before.bulk_docs([with_photo])[0]

    both = sealed(open_plain(), f"{old}\n{new}")  # the new key added; the old one still there
    db = both.open(SCOPE)
    assert db.get(referral(1)["_id"])["data"]["summary"] == SECRET
    assert "error" not in db.bulk_docs([referral(2, summary="second case")])[0]
    kids = {r["id"]: r["doc"]["sealed"]["kid"] for r in both.inner.open(SCOPE).all_docs(include_docs=True)}
    assert kids == {referral(1)["_id"]: "2025", referral(2)["_id"]: "2026"}

    assert rekey(both) == {SCOPE: 1}
    assert rekey(both) == {}  # nothing left on the old key
    only_new = sealed(open_plain(), new).open(SCOPE)
    assert only_new.get(referral(1)["_id"])["data"]["summary"] == SECRET
    assert only_new.get(referral(2)["_id"])["data"]["summary"] == "second case"
    assert only_new.get_attachment(referral(1)["_id"], "photo.jpg")[1] == PHOTO  # the photo was sealed again too
    assert SECRET.encode() not in raw_bodies(name, both.inner, tmp_path)


def test_rekey_seals_what_was_written_before_the_store_had_a_key(backend, tmp_path: Path) -> None:
    name, open_plain = backend
    plain = open_plain().ensure(SCOPE)  # a deployment from before encryption
    with_photo = {**referral(5), "_attachments": {"photo.jpg": {"content_type": "image/jpeg", "data": PHOTO}}}
    assert "error" not in plain.bulk_docs([with_photo, visit(6)])[0]
    store = sealed(open_plain(), new_key_entry("first"))
    assert SECRET.encode() in raw_bodies(name, store.inner, tmp_path)
    assert rekey(store) == {SCOPE: 1}  # the referral; the visit is not sensitive
    assert SECRET.encode() not in raw_bodies(name, store.inner, tmp_path)
    assert b"PHOTO-OF-THE-CHILD" not in raw_bodies(name, store.inner, tmp_path) + raw_photo(
        name, store.inner, with_photo["_id"])
    db = store.open(SCOPE)
    assert db.get(with_photo["_id"])["data"]["summary"] == SECRET
    assert db.get_attachment(with_photo["_id"], "photo.jpg")[1] == PHOTO


@pytest.mark.parametrize("spec, message", [
    ("k1", "must be id:base64key"),
    ("k1:c2hvcnQ=", "must be 32 bytes"),
    ("k 1:" + "A" * 44, "letters, digits"),
    # Fixed keys: a test's name is the same in every pytest process (pytest-xdist compares them).
    (f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(range(32))).decode()}",
     "given twice"),
])
def test_a_bad_key_specification_is_one_clear_error(spec: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message):
        Keyring.parse(spec)


def test_demo_data_is_sealed_and_fieldsync_rekey_moves_it_to_a_new_key(tmp_path: Path) -> None:
    """The whole path an operator takes: ``fieldsync demo`` with a key, a second key added, ``fieldsync rekey``."""
    import os
    import subprocess

    from servers import fieldsync_bin

    def fieldsync(*args: str, keys: str) -> str:
        env = {**os.environ, "FIELDSYNC_ENCRYPTION_KEYS": keys, "FIELDSYNC_STORE": "sqlite"}
        proc = subprocess.run([str(fieldsync_bin()), *args, "--data", str(tmp_path / "data")], env=env,
                              capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    old, new = new_key_entry("old"), new_key_entry("new")
    fieldsync("demo", keys=old)
    raw = b"".join(p.read_bytes() for p in (tmp_path / "data").iterdir() if p.is_file())
    assert "гэр бүлтэй ярилцсан".encode() not in raw  # every demo referral's summary
    assert b'"sealed"' in raw or b'sealed' in raw
    out = fieldsync("rekey", keys=f"{old},{new}")
    assert int(out.strip().splitlines()[-1].split()[0]) > 0, out
    assert fieldsync("rekey", keys=f"{old},{new}").strip().splitlines()[-1].startswith("0 documents")
    store = sealed(SQLiteStore(tmp_path / "data"), new)  # the old key may go now
    referrals = [r["doc"] for name in store.names() if name.count("-") == 1
                 for r in store.open(name).all_docs(include_docs=True)
                 if r["doc"].get("form") == "child_protection_referral"]
    assert referrals and all("ярилцсан" in d["data"]["summary"] for d in referrals)


def test_a_refused_sensitive_submission_is_sealed_in_the_quarantine_too(backend, tmp_path: Path) -> None:
    from sync.gate.quarantine import QUARANTINE_SCOPE, Quarantine

    name, open_plain = backend
    store = sealed(open_plain(), new_key_entry("k1"))
    quarantine = Quarantine(store)
    refused = check_doc({**referral(7), "_attachments": {"photo.jpg": {"content_type": "image/jpeg",
                                                                       "data": base64.b64encode(PHOTO).decode()}}},
                        new_edits=True)
    reasons = [{"path": "/data/summary", "message": f"'{SECRET}' is too long"}]
    eid = quarantine.hold(doc=refused, scope=SCOPE, user="tuya", reasons=reasons, new_edits=True)

    entry = quarantine.get(eid)
    assert entry["doc"]["data"]["summary"] == SECRET and entry["reasons"] == reasons
    assert quarantine.original(eid)["_attachments"]["photo.jpg"]["data"] == PHOTO
    quarantine.mark(eid, "discarded", by="oyunaa")
    assert quarantine.get(eid)["status"] == "discarded"
    assert quarantine.get(eid)["doc"]["data"]["summary"] == SECRET

    if name == "sqlite":
        raw = b"".join(p.read_bytes() for p in sorted((tmp_path / "data").iterdir()) if p.is_file())
    else:
        url = f"{COUCH_URLS[id(store.inner)]}/{store.inner.dbname(QUARANTINE_SCOPE)}"
        raw = requests.get(f"{url}/_all_docs", params={"include_docs": "true"}, timeout=30).content
        raw += requests.get(f"{url}/{quote(eid, safe='')}/photo.jpg", timeout=30).content
    assert SECRET.encode() not in raw and SECRET.encode("unicode_escape") not in raw
    assert b"PHOTO-OF-THE-CHILD" not in raw and b"discarded" in raw
