"""The one conformance suite every Store backend runs unchanged.

A backend's test file provides a ``store`` fixture (a fresh, empty
``sync.stores.base.Store``) and star-imports this module, as Kinto's storage backends
share one test module::

    from store_conformance import *  # noqa: F403

    @pytest.fixture
    def store(tmp_path):
        ...

The expectations are CouchDB 3's documented semantics, not one backend's habits:
sequences are opaque (compared only through ``seq_number``), the order of
``open_revs`` and ``possible_ancestors`` is unspecified, and a revision that is
no longer a leaf may or may not keep its body (CouchDB drops it at compaction).
Every document goes through ``sync.docs.check_doc`` first, as the HTTP layer
sends it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import threading
import time

import pytest

from sync.docs import check_doc
from sync.errors import BadRequest, Conflict, CouchError, NotFound, PreconditionFailed

DB = "uvs-tes"

# Mongolian Cyrillic, including the letters Ө and Ү that are outside Russian.
MONGOLIAN = {
    "name": "Өлзийбаярын Түмэнжаргал",
    "place": "Увс аймаг, Тэс сум",
    "note": "Хүүхдийн цэцэрлэг — 3-р бүлэг. Ёс, үүрэг, өөрчлөлт «ӨөҮү»",
    "mixed": ["ө", "ү", "Ё", "😀", "\u00e9", "\u2028"],
    "nested": {"хаяг": {"гудамж": "Энхтайваны өргөн чөлөө", "тоот": 12}},
}


# -- helpers -------------------------------------------------------------------


def rev(gen: int, ch: str) -> str:
    """A readable revision id ``<gen>-<ch * 32>``, shaped like CouchDB's md5 hex ids."""
    return f"{gen}-{ch * 32}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def md5_digest(data: bytes) -> str:
    """CouchDB's attachment digest, computed here independently of sync/."""
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


# Reads in a row that must agree before a test's write counts as visible. 1 everywhere but
# on a CouchDB cluster, whose backend test file raises it: there a read just after a write
# may come from a copy that does not have it yet (see tests/eventual.py).
STEADY_READS = 1


def write(db, *docs: dict, new_edits: bool = True) -> list[dict]:
    """``_bulk_docs`` as the HTTP layer does it: every document through check_doc first.

    What it stored is then waited for until reads show it (``settle``), as a client
    reading back its own write would; the store itself is never asked to promise that.
    """
    checked = [check_doc(copy.deepcopy(d), new_edits=new_edits) for d in docs]
    results = db.bulk_docs(checked, new_edits=new_edits)
    if new_edits:
        settle(db, {r["id"]: r["rev"] for r in results if "error" not in r})
    else:
        refused = {r["id"] for r in results}
        settle(db, {d["_id"]: None for d in checked if d["_id"] not in refused})
    return results


def local_gone(db, docid: str, *, timeout: float = 20.0) -> None:
    """Until ``get_local`` raises NotFound for ``STEADY_READS`` reads in a row: on a CouchDB
    cluster a ``_local`` read is answered by any copy still holding a deleted document
    (fabric_doc_open never repairs local documents), for a moment after the delete."""
    deadline = time.monotonic() + timeout
    streak = 0
    while streak < STEADY_READS:
        try:
            db.get_local(docid)
            streak = 0
        except NotFound:
            streak += 1
            continue
        assert time.monotonic() < deadline, f"_local/{docid} still there {timeout:.0f} s after its delete"
        time.sleep(0.03)


def settle(db, revs: dict[str, str | None], *, timeout: float = 20.0) -> None:
    """Until ``changes`` lists each id (with that revision among its leaves, unless None) and
    ``all_docs`` agrees, for ``STEADY_READS`` reads in a row (on a cluster; elsewhere at once)."""
    wanted = {docid: rev for docid, rev in revs.items() if not docid.startswith("_local/")}
    if not wanted or STEADY_READS <= 1:
        return  # one store that shows a write at once: the test's own reads see it
    ids = list(wanted)
    deadline = time.monotonic() + timeout
    streak, previous = 0, None
    while True:
        leaves = {r["id"]: ([c["rev"] for c in r["changes"]], bool(r.get("deleted")))
                  for r in db.changes(0, style="all_docs", doc_ids=ids)}
        rows = {r["id"]: r.get("value") for r in db.all_docs(keys=ids) if "id" in r}
        shown = all(
            docid in leaves and (rev is None or rev in leaves[docid][0])
            and (leaves[docid][1] or docid in rows)
            for docid, rev in wanted.items()
        )
        value = (leaves, rows)
        streak = (streak + 1 if streak and value == previous else 1) if shown else 0
        if streak >= STEADY_READS:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{sorted(revs)} not steadily visible after {timeout:.0f} s: {value!r:.1500}")
        previous = value
        time.sleep(0.03)


def put(db, doc: dict) -> str:
    """Write one document with new_edits=true; return its new revision."""
    [result] = write(db, doc)
    assert "error" not in result, result
    assert result["id"] == doc["_id"]
    return result["rev"]


def replicate(db, docid: str, path: list[str], deleted: bool = False, **body) -> None:
    """Store a revision as a replicator does: new_edits=false with its ``_revisions`` path."""
    start = int(path[0].split("-")[0])
    doc = {
        "_id": docid,
        "_rev": path[0],
        "_revisions": {"start": start, "ids": [r.split("-", 1)[1] for r in path]},
        **body,
    }
    if deleted:
        doc["_deleted"] = True
    assert write(db, doc, new_edits=False) == []


def seq_number(seq) -> int:
    """The ordering part of an opaque sequence.

    SQLite's sequences are integers; CouchDB 3's are ``"<N>-<opaque>"`` strings
    whose numeric prefix grows with every change.
    """
    return int(str(seq).split("-", 1)[0])


def gen(revid: str) -> int:
    return int(revid.split("-", 1)[0])


def changes(db, since=0, **kw) -> list[dict]:
    return list(db.changes(since, **kw))


def summary(rows: list[dict]) -> list[tuple]:
    """Change rows without their (opaque, request-dependent) sequences."""
    return [
        (r["id"], [c["rev"] for c in r["changes"]], bool(r.get("deleted"))) for r in rows
    ]


def steady_state(db, *, timeout: float = 20.0) -> tuple:
    """The database's counts and change rows (ids and leaves, in id order), once
    ``STEADY_READS`` reads in a row agree. A cluster answers ``GET /db`` and ``_changes``
    from whichever copies answer first and merges its shards' rows in no set order."""
    deadline = time.monotonic() + timeout
    streak, previous = 0, None
    while True:
        info = db.info()
        value = (info["doc_count"], info["doc_del_count"], sorted(summary(changes(db))))
        streak = streak + 1 if value == previous or STEADY_READS <= 1 else 1
        if streak >= STEADY_READS:
            return value
        assert time.monotonic() < deadline, f"no steady state after {timeout:.0f} s: {value!r:.1500}"
        previous = value
        time.sleep(0.03)


def ids_of(rows) -> list[str]:
    return [r["id"] for r in rows]


def leaf_revs(db, docid: str) -> set[str]:
    return {r["ok"]["_rev"] for r in db.open_revs(docid, None)}


@pytest.fixture
def db(store):
    """A fresh, empty scope database in the store under test."""
    return store.create(DB)


# -- scopes (databases) ----------------------------------------------------------


def test_create_then_open_exists_and_is_listed(store):
    created = store.create("alpha")
    assert created.name == "alpha"
    assert store.exists("alpha")
    assert store.open("alpha").name == "alpha"
    assert "alpha" in store.names()


def test_names_are_sorted_and_include_system_scopes(store):
    wanted = ["uvs-tes", "global", "_synclog", "alpha"]
    for name in wanted:
        store.create(name)
    assert [n for n in store.names() if n in wanted] == sorted(wanted)


def test_create_existing_scope_is_precondition_failed(store):
    store.create("alpha")
    with pytest.raises(PreconditionFailed) as exc:
        store.create("alpha")
    assert exc.value.status == 412
    assert exc.value.error == "file_exists"


def test_open_missing_scope_is_not_found(store):
    assert not store.exists("nowhere")
    with pytest.raises(NotFound):
        store.open("nowhere")


def test_delete_removes_scope_and_its_documents(store):
    db = store.create("alpha")
    put(db, {"_id": "x", "v": 1})
    store.delete("alpha")
    assert not store.exists("alpha")
    assert "alpha" not in store.names()
    with pytest.raises(NotFound):
        store.open("alpha")
    again = store.create("alpha")
    assert again.info()["doc_count"] == 0
    with pytest.raises(NotFound):
        again.get("x")
    assert changes(again) == []


def test_delete_missing_scope_is_not_found(store):
    with pytest.raises(NotFound):
        store.delete("nowhere")


@pytest.mark.parametrize("name", ["", "Alpha", "a b", "../etc", "a/b", "-a", "abc\n", "a.b"])
def test_illegal_scope_names_are_refused(store, name):
    with pytest.raises(BadRequest):
        store.create(name)
    assert not store.exists(name)


def test_ensure_creates_once_then_opens(store):
    first = store.ensure("_quarantine")
    put(first, {"_id": "k", "v": 1})
    assert store.ensure("_quarantine").get("k")["v"] == 1


def test_info_of_an_empty_scope(db):
    info = db.info()
    assert info["db_name"] == DB
    assert info["doc_count"] == 0
    assert info["doc_del_count"] == 0
    assert changes(db, db.parse_since(info["update_seq"])) == []


# -- interactive edits (new_edits=true) -----------------------------------------------


def test_create_read_update_delete(db):
    r1 = put(db, {"_id": "doc", "v": 1})
    assert gen(r1) == 1
    assert db.get("doc") == {"_id": "doc", "_rev": r1, "v": 1}

    r2 = put(db, {"_id": "doc", "_rev": r1, "v": 2})
    assert gen(r2) == 2
    assert db.get("doc") == {"_id": "doc", "_rev": r2, "v": 2}

    r3 = put(db, {"_id": "doc", "_rev": r2, "_deleted": True})
    assert gen(r3) == 3
    with pytest.raises(NotFound) as exc:
        db.get("doc")
    assert exc.value.reason == "deleted"
    # The tombstone itself stays readable by revision.
    assert db.get("doc", rev=r3) == {"_id": "doc", "_rev": r3, "_deleted": True}


def test_missing_document_is_not_found_missing(db):
    with pytest.raises(NotFound) as exc:
        db.get("nope")
    assert exc.value.reason == "missing"
    with pytest.raises(NotFound):
        db.get("nope", rev=rev(1, "a"))


def test_unknown_revision_of_existing_document_is_not_found(db):
    put(db, {"_id": "doc"})
    with pytest.raises(NotFound):
        db.get("doc", rev=rev(1, "f"))


def test_bad_conflicts_are_per_document_and_the_rest_of_the_batch_is_stored(db):
    """A conflict answers for its own document; CouchDB still writes the others."""
    r_old = put(db, {"_id": "stale", "v": 1})
    put(db, {"_id": "stale", "_rev": r_old, "v": 2})
    put(db, {"_id": "exists", "v": 1})

    results = write(
        db,
        {"_id": "fresh", "v": 1},
        {"_id": "stale", "_rev": r_old, "v": 3},  # no longer a leaf
        {"_id": "exists", "v": 2},  # no _rev for an existing document
        {"_id": "ghost", "_rev": rev(1, "a"), "v": 1},  # _rev for a document never seen
        {"_id": "fresh2", "v": 1},
    )
    assert [r["id"] for r in results] == ["fresh", "stale", "exists", "ghost", "fresh2"]
    assert "error" not in results[0] and "error" not in results[4]
    for r in results[1:4]:
        assert r["error"] == "conflict", r
        assert "rev" not in r
    assert db.get("fresh")["v"] == 1
    assert db.get("fresh2")["v"] == 1
    assert db.get("stale")["v"] == 2
    assert db.get("exists")["v"] == 1
    with pytest.raises(NotFound):
        db.get("ghost")


def test_a_batch_of_only_conflicts_changes_nothing(db):
    put(db, {"_id": "exists"})
    before = db.update_seq()
    [result] = write(db, {"_id": "exists", "v": 2})
    assert result["error"] == "conflict"
    assert changes(db, db.parse_since(before)) == []


def test_update_with_a_made_up_rev_is_a_conflict(db):
    put(db, {"_id": "doc"})
    [result] = write(db, {"_id": "doc", "_rev": rev(1, "e"), "v": 2})
    assert result["error"] == "conflict"


def test_revision_ids_are_deterministic(store):
    """The same edit yields the same revision anywhere: retries and replicas agree."""
    one, two = store.create("one"), store.create("two")
    revs = []
    for db in (one, two):
        r1 = put(db, {"_id": "doc", "v": 1, "text": MONGOLIAN["name"]})
        r2 = put(db, {"_id": "doc", "_rev": r1, "v": 2})
        r3 = put(db, {"_id": "doc", "_rev": r2, "_deleted": True})
        revs.append((r1, r2, r3))
    assert revs[0] == revs[1]
    other = put(one, {"_id": "other", "v": 999})
    assert other != revs[0][0], "a different body must give a different revision"


def test_same_edit_retried_after_success_is_a_conflict(db):
    """Deterministic ids do not make a retried update succeed twice: its _rev is gone."""
    r1 = put(db, {"_id": "doc", "v": 1})
    put(db, {"_id": "doc", "_rev": r1, "v": 2})
    [again] = write(db, {"_id": "doc", "_rev": r1, "v": 2})
    assert again["error"] == "conflict"


def test_recreate_after_delete_extends_the_tombstone(db):
    r1 = put(db, {"_id": "doc", "v": 1})
    r2 = put(db, {"_id": "doc", "_rev": r1, "_deleted": True})
    r3 = put(db, {"_id": "doc", "v": "again"})
    assert gen(r3) == 3
    doc = db.get("doc", revs=True)
    assert doc["v"] == "again"
    assert doc["_revisions"] == {"start": 3, "ids": [r.split("-")[1] for r in (r3, r2, r1)]}
    assert "_conflicts" not in db.get("doc", conflicts=True)


def test_a_deleted_document_is_recreated_only_without_rev(db):
    """CouchDB 3 refuses to revive a tombstone through its _rev, or to delete it again."""
    r1 = put(db, {"_id": "doc", "v": 1})
    r2 = put(db, {"_id": "doc", "_rev": r1, "_deleted": True})
    for attempt in (
        {"_id": "doc", "_rev": r2, "v": 2},
        {"_id": "doc", "_rev": r2, "_deleted": True},
        {"_id": "doc", "_deleted": True},
        {"_id": "doc", "_rev": r1, "v": 2},
    ):
        [result] = write(db, attempt)
        assert result.get("error") == "conflict", (attempt, result)
    assert db.info()["doc_del_count"] == 1


def test_a_document_may_be_created_deleted(db):
    [result] = write(db, {"_id": "tomb", "_deleted": True})
    assert gen(result["rev"]) == 1
    with pytest.raises(NotFound):
        db.get("tomb")
    assert db.info()["doc_del_count"] == 1
    assert changes(db)[0]["deleted"] is True


def test_design_documents_are_ordinary_documents(db):
    r = put(db, {"_id": "_design/app", "views": {}})
    assert db.get("_design/app")["_rev"] == r
    assert "_design/app" in ids_of(changes(db))
    assert db.info()["doc_count"] == 1


def test_mongolian_cyrillic_round_trips_exactly(db):
    body = copy.deepcopy(MONGOLIAN)
    r = put(db, {"_id": "uvs-tes:fam:Өлзий", **body})
    assert db.get("uvs-tes:fam:Өлзий") == {"_id": "uvs-tes:fam:Өлзий", "_rev": r, **MONGOLIAN}
    [row] = changes(db, include_docs=True)
    assert row["doc"] == {"_id": "uvs-tes:fam:Өлзий", "_rev": r, **MONGOLIAN}
    [row] = db.all_docs(include_docs=True)
    assert row["doc"] == {"_id": "uvs-tes:fam:Өлзий", "_rev": r, **MONGOLIAN}


def test_info_counts_follow_creates_deletes_and_recreates(db):
    revs = {i: put(db, {"_id": f"d{i}"}) for i in range(3)}
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (3, 0)
    put(db, {"_id": "d0", "_rev": revs[0], "_deleted": True})
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (2, 1)
    put(db, {"_id": "d0", "v": "back"})
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (3, 0)
    r1 = put(db, {"_id": "d1", "_rev": revs[1], "v": 2})
    put(db, {"_id": "d1", "_rev": r1, "_deleted": True})
    put(db, {"_id": "d2", "_rev": revs[2], "_deleted": True})
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (1, 2)


# -- replicated edits (new_edits=false) ---------------------------------------------


def test_new_edits_false_stores_revisions_as_given(db):
    path = [rev(3, "c"), rev(2, "b"), rev(1, "a")]
    replicate(db, "doc", path, v=3)
    doc = db.get("doc", revs=True)
    assert doc["_rev"] == rev(3, "c")
    assert doc["v"] == 3
    assert doc["_revisions"] == {"start": 3, "ids": ["c" * 32, "b" * 32, "a" * 32]}


def test_new_edits_false_is_idempotent(db):
    """A replicator may resend a batch; the second time nothing changes, not even update_seq."""
    batch = [
        {"_id": "a", "_rev": rev(1, "a"), "v": 1},
        {"_id": "b", "_rev": rev(2, "b"), "_revisions": {"start": 2, "ids": ["b" * 32, "a" * 32]}},
        {"_id": "c", "_rev": rev(1, "c"), "_deleted": True},
    ]
    assert write(db, *batch, new_edits=False) == []
    seq = db.update_seq()
    state = steady_state(db)
    assert write(db, *batch, new_edits=False) == []
    assert steady_state(db) == state
    assert changes(db, db.parse_since(seq)) == []


def test_new_edits_false_extends_an_existing_branch(db):
    r1 = put(db, {"_id": "doc", "v": 1})
    replicate(db, "doc", [rev(3, "f"), rev(2, "e"), r1], v=3)
    assert db.get("doc")["_rev"] == rev(3, "f")
    assert leaf_revs(db, "doc") == {rev(3, "f")}


def test_interactive_edit_continues_a_replicated_revision(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")], v=2)
    r3 = put(db, {"_id": "doc", "_rev": rev(2, "b"), "v": 3})
    assert gen(r3) == 3
    assert db.get("doc", revs=True)["_revisions"]["ids"][1:] == ["b" * 32, "a" * 32]


# -- conflicts -------------------------------------------------------------------------


def test_two_branches_the_greater_rev_id_wins_a_tie(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")], side="b")
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")], side="c")
    doc = db.get("doc", conflicts=True)
    assert doc["_rev"] == rev(2, "c")
    assert doc["side"] == "c"
    assert doc["_conflicts"] == [rev(2, "b")]
    assert db.info()["doc_count"] == 1


def test_the_higher_generation_wins(db):
    replicate(db, "doc", [rev(3, "1"), rev(2, "1"), rev(1, "a")], side="long")
    replicate(db, "doc", [rev(2, "f"), rev(1, "a")], side="short")
    doc = db.get("doc", conflicts=True)
    assert doc["_rev"] == rev(3, "1")
    assert doc["_conflicts"] == [rev(2, "f")]


def test_a_live_leaf_beats_a_deleted_leaf_of_higher_generation(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")])
    replicate(db, "doc", [rev(4, "d"), rev(3, "d"), rev(2, "c"), rev(1, "a")], deleted=True)
    doc = db.get("doc", conflicts=True, deleted_conflicts=True)
    assert doc["_rev"] == rev(2, "b")
    assert "_conflicts" not in doc
    assert doc["_deleted_conflicts"] == [rev(4, "d")]
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (1, 0)


def test_conflicts_are_listed_in_couchdb_order(db):
    """Losing leaves come after the winner: live before deleted, then generation, then id."""
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")])
    replicate(db, "doc", [rev(2, "9"), rev(1, "a")])
    replicate(db, "doc", [rev(3, "e"), rev(2, "e"), rev(1, "a")])
    replicate(db, "doc", [rev(3, "f"), rev(2, "f"), rev(1, "a")], deleted=True)
    replicate(db, "doc", [rev(2, "0"), rev(1, "a")], deleted=True)
    doc = db.get("doc", conflicts=True, deleted_conflicts=True)
    assert doc["_rev"] == rev(3, "e")
    assert doc["_conflicts"] == [rev(2, "b"), rev(2, "9")]
    assert doc["_deleted_conflicts"] == [rev(3, "f"), rev(2, "0")]
    [row] = changes(db, style="all_docs")
    assert [c["rev"] for c in row["changes"]] == [
        rev(3, "e"), rev(2, "b"), rev(2, "9"), rev(3, "f"), rev(2, "0"),
    ]


def test_all_leaves_deleted_means_the_document_is_deleted(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")], deleted=True)
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")], deleted=True)
    with pytest.raises(NotFound):
        db.get("doc")
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (0, 1)
    [row] = changes(db)
    assert row["deleted"] is True
    assert [c["rev"] for c in row["changes"]] == [rev(2, "c")]


def test_deleting_the_losing_branch_resolves_the_conflict(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")])
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")])
    r3 = put(db, {"_id": "doc", "_rev": rev(2, "b"), "_deleted": True})
    doc = db.get("doc", conflicts=True, deleted_conflicts=True)
    assert doc["_rev"] == rev(2, "c")
    assert "_conflicts" not in doc
    assert doc["_deleted_conflicts"] == [r3]
    assert db.info()["doc_count"] == 1


def test_deleting_the_winner_promotes_the_other_branch(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")], side="b")
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")], side="c")
    put(db, {"_id": "doc", "_rev": rev(2, "c"), "_deleted": True})
    doc = db.get("doc")
    assert (doc["_rev"], doc["side"]) == (rev(2, "b"), "b")
    assert (db.info()["doc_count"], db.info()["doc_del_count"]) == (1, 0)


def test_a_losing_branch_can_be_edited(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")])
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")])
    r3 = put(db, {"_id": "doc", "_rev": rev(2, "b"), "v": "fixed"})
    assert gen(r3) == 3
    doc = db.get("doc", conflicts=True)
    assert doc["_rev"] == r3
    assert doc["_conflicts"] == [rev(2, "c")]


def test_a_deleted_losing_branch_can_be_extended_while_the_document_lives(db):
    """CouchDB lets any leaf grow while the document is not deleted, tombstones included."""
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")])
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")], deleted=True)
    r3 = put(db, {"_id": "doc", "_rev": rev(2, "c"), "_deleted": True})
    assert gen(r3) == 3
    assert db.get("doc", deleted_conflicts=True)["_deleted_conflicts"] == [r3]
    r3b = put(db, {"_id": "doc", "_rev": r3, "v": "revived"})
    assert db.get("doc")["_rev"] == r3b


# -- revision history ------------------------------------------------------------------


def test_revs_gives_the_revision_path(db):
    r1 = put(db, {"_id": "doc", "v": 1})
    r2 = put(db, {"_id": "doc", "_rev": r1, "v": 2})
    r3 = put(db, {"_id": "doc", "_rev": r2, "v": 3})
    assert db.get("doc", revs=True)["_revisions"] == {
        "start": 3,
        "ids": [r.split("-", 1)[1] for r in (r3, r2, r1)],
    }
    assert "_revisions" not in db.get("doc")


def test_revs_info_lists_ancestry_with_statuses(db):
    r1 = put(db, {"_id": "doc", "v": 1})
    r2 = put(db, {"_id": "doc", "_rev": r1, "v": 2})
    info = db.get("doc", revs_info=True)["_revs_info"]
    assert [i["rev"] for i in info] == [r2, r1]
    assert info[0]["status"] == "available"
    # Before compaction CouchDB still has r1's body; after it, r1 is "missing".
    assert info[1]["status"] in {"available", "missing"}


def test_revs_info_marks_a_deleted_revision(db):
    r1 = put(db, {"_id": "doc", "v": 1})
    r2 = put(db, {"_id": "doc", "_rev": r1, "_deleted": True})
    info = db.get("doc", rev=r2, revs_info=True)["_revs_info"]
    assert info[0] == {"rev": r2, "status": "deleted"}


# -- open_revs ----------------------------------------------------------------------


def _tree_with_branches(db) -> None:
    """1-a → 2-b; 1-a → 2-c → 3-c; 1-a → 2-d (deleted)."""
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")], side="b")
    replicate(db, "doc", [rev(3, "c"), rev(2, "c"), rev(1, "a")], side="c")
    replicate(db, "doc", [rev(2, "d"), rev(1, "a")], deleted=True)


def test_open_revs_all_returns_every_leaf_including_deleted(db):
    _tree_with_branches(db)
    results = db.open_revs("doc", None)
    assert all("ok" in r for r in results)
    docs = {r["ok"]["_rev"]: r["ok"] for r in results}
    assert set(docs) == {rev(2, "b"), rev(3, "c"), rev(2, "d")}
    assert docs[rev(2, "b")]["side"] == "b"
    assert docs[rev(2, "d")]["_deleted"] is True
    assert docs[rev(3, "c")].get("_deleted") is None


def test_open_revs_list_with_unknown_revision_reports_missing(db):
    _tree_with_branches(db)
    results = db.open_revs("doc", [rev(2, "b"), rev(9, "9")])
    assert {r["ok"]["_rev"] for r in results if "ok" in r} == {rev(2, "b")}
    assert [r for r in results if "missing" in r] == [{"missing": rev(9, "9")}]


def test_open_revs_for_an_unknown_document_reports_every_rev_missing(db):
    results = db.open_revs("ghost", [rev(1, "a"), rev(2, "b")])
    assert sorted(r["missing"] for r in results) == [rev(1, "a"), rev(2, "b")]


def test_open_revs_latest_turns_an_ancestor_into_its_leaves(db):
    _tree_with_branches(db)
    results = db.open_revs("doc", [rev(1, "a")], latest=True)
    assert {r["ok"]["_rev"] for r in results} == {rev(2, "b"), rev(3, "c"), rev(2, "d")}
    results = db.open_revs("doc", [rev(2, "c")], latest=True)
    assert [r["ok"]["_rev"] for r in results] == [rev(3, "c")]


def test_open_revs_latest_of_an_unknown_revision_is_missing(db):
    _tree_with_branches(db)
    assert db.open_revs("doc", [rev(5, "5")], latest=True) == [{"missing": rev(5, "5")}]


def test_open_revs_latest_of_a_leaf_is_the_leaf(db):
    _tree_with_branches(db)
    [result] = db.open_revs("doc", [rev(2, "b")], latest=True)
    assert result["ok"]["_rev"] == rev(2, "b")


def test_open_revs_with_revisions(db):
    _tree_with_branches(db)
    [result] = db.open_revs("doc", [rev(3, "c")], revisions=True)
    assert result["ok"]["_revisions"] == {"start": 3, "ids": ["c" * 32, "c" * 32, "a" * 32]}


# -- _bulk_get ------------------------------------------------------------------------


def _bulk_get(db, items, **kw) -> list[dict]:
    return list(db.bulk_get(items, **kw))


def test_bulk_get_answers_in_request_order(db):
    ra = put(db, {"_id": "a", "v": "a"})
    rb = put(db, {"_id": "b", "v": "b"})
    results = _bulk_get(db, [{"id": "b"}, {"id": "a", "rev": ra}, {"id": "b"}])
    assert [r["id"] for r in results] == ["b", "a", "b"]
    assert results[0]["docs"] == [{"ok": {"_id": "b", "_rev": rb, "v": "b"}}]
    assert results[1]["docs"] == [{"ok": {"_id": "a", "_rev": ra, "v": "a"}}]


def test_bulk_get_reports_missing_documents_and_revisions(db):
    put(db, {"_id": "a"})
    results = _bulk_get(db, [{"id": "ghost"}, {"id": "a", "rev": rev(7, "7")}])
    assert results[0] == {"id": "ghost", "docs": [{"error": {
        "id": "ghost", "rev": "undefined", "error": "not_found", "reason": "missing",
    }}]}
    [err] = results[1]["docs"]
    assert err["error"]["rev"] == rev(7, "7")
    assert err["error"]["error"] == "not_found"


def test_bulk_get_of_a_deleted_document(db):
    r1 = put(db, {"_id": "a"})
    r2 = put(db, {"_id": "a", "_rev": r1, "_deleted": True})
    [without_rev] = _bulk_get(db, [{"id": "a"}])
    [err] = without_rev["docs"]
    assert err["error"]["error"] == "not_found"
    assert err["error"]["reason"] == "deleted"
    [with_rev] = _bulk_get(db, [{"id": "a", "rev": r2}])
    assert with_rev["docs"] == [{"ok": {"_id": "a", "_rev": r2, "_deleted": True}}]


def test_bulk_get_with_revisions_latest_and_atts_since(db):
    """What PouchDB's replicator asks for: history, newest leaves, only new attachments."""
    r1 = put(db, {"_id": "sub", "_attachments": {"p.png": {"data": b64(PHOTO)}}})
    r2 = put(db, {"_id": "sub", "_rev": r1, "v": 2, "_attachments": {
        "p.png": {"stub": True}, "v.ogg": {"data": b64(VOICE)},
    }})
    [result] = _bulk_get(
        db, [{"id": "sub", "rev": r1, "atts_since": [r1]}],
        revisions=True, attachments=True, latest=True,
    )
    [found] = result["docs"]
    doc = found["ok"]
    assert doc["_rev"] == r2
    assert doc["_revisions"]["start"] == 2
    assert doc["_attachments"]["p.png"].get("stub") is True
    assert doc["_attachments"]["v.ogg"]["data"] == VOICE


def test_bulk_get_of_a_conflicted_document_without_latest(db):
    _tree_with_branches(db)
    [result] = _bulk_get(db, [{"id": "doc", "rev": rev(2, "b")}])
    assert [d["ok"]["_rev"] for d in result["docs"]] == [rev(2, "b")]
    [winner] = _bulk_get(db, [{"id": "doc"}])
    assert [d["ok"]["_rev"] for d in winner["docs"]] == [rev(3, "c")]


# -- revs_diff ------------------------------------------------------------------------


def test_revs_diff_reports_missing_and_possible_ancestors(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")])
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")])
    put(db, {"_id": "synced"})
    synced_rev = db.get("synced")["_rev"]
    diff = db.revs_diff({
        "doc": [rev(1, "a"), rev(2, "b"), rev(3, "x"), rev(4, "y")],
        "synced": [synced_rev],
        "unknown": [rev(1, "z"), rev(2, "z")],
    })
    assert set(diff) == {"doc", "unknown"}, "fully known documents are left out"
    assert diff["doc"]["missing"] == [rev(3, "x"), rev(4, "y")]
    assert set(diff["doc"]["possible_ancestors"]) == {rev(2, "b"), rev(2, "c")}
    assert diff["unknown"]["missing"] == [rev(1, "z"), rev(2, "z")]
    assert "possible_ancestors" not in diff["unknown"]


def test_leaves_name_every_leaf_of_the_ids_with_a_document_where_a_store_can_tell(db):
    """The write gate reads only the ids ``leaves`` names (None: it reads every id), and a
    pull answers a kept body as the winner when it is a document's only leaf: an id left
    out that has a document would skip the check of who owns it."""
    replicate(db, "conflicted", [rev(2, "b"), rev(1, "a")])
    replicate(db, "conflicted", [rev(2, "c"), rev(1, "a")])
    plain = put(db, {"_id": "plain"})
    gone = put(db, {"_id": "gone", "_rev": put(db, {"_id": "gone"}), "_deleted": True})
    replicate(db, "deep", [rev(40, "d"), rev(39, "c")])
    found = db.leaves(["conflicted", "plain", "gone", "deep", "never", "never-2"])
    if found is not None:
        assert {k: sorted(v) for k, v in found.items()} == {
            "conflicted": sorted([rev(2, "b"), rev(2, "c")]), "plain": [plain], "gone": [gone],
            "deep": [rev(40, "d")]}
    assert db.leaves([]) in (None, {})


def test_revs_diff_offers_only_older_leaves_as_ancestors(db):
    replicate(db, "doc", [rev(3, "c"), rev(2, "b"), rev(1, "a")])
    diff = db.revs_diff({"doc": [rev(2, "x")]})
    assert diff["doc"]["missing"] == [rev(2, "x")]
    assert not diff["doc"].get("possible_ancestors")
    diff = db.revs_diff({"doc": [rev(4, "x")]})
    assert diff["doc"]["possible_ancestors"] == [rev(3, "c")]


# -- attachments ------------------------------------------------------------------------


PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
VOICE = "Сайн байна уу".encode() * 10


def test_inline_attachment_is_stored_with_couchdb_metadata(db):
    r1 = put(db, {"_id": "sub", "_attachments": {
        "photo.png": {"content_type": "image/png", "data": b64(PHOTO)},
    }})
    att = db.get("sub")["_attachments"]["photo.png"]
    assert att == {
        "content_type": "image/png",
        "digest": md5_digest(PHOTO),
        "length": len(PHOTO),
        "revpos": 1,
        "stub": True,
    }
    meta, data = db.get_attachment("sub", "photo.png")
    assert data == PHOTO
    assert meta["digest"] == md5_digest(PHOTO)
    assert meta["content_type"] == "image/png"
    assert db.get_attachment("sub", "photo.png", rev=r1)[1] == PHOTO


def test_missing_attachment_is_not_found(db):
    put(db, {"_id": "sub"})
    with pytest.raises(NotFound):
        db.get_attachment("sub", "nope.jpg")


def test_stub_keeps_the_attachment_in_the_next_revision(db):
    r1 = put(db, {"_id": "sub", "v": 1, "_attachments": {
        "photo.png": {"content_type": "image/png", "data": b64(PHOTO)},
    }})
    r2 = put(db, {"_id": "sub", "_rev": r1, "v": 2, "_attachments": {
        "photo.png": {"stub": True},
    }})
    doc = db.get("sub", attachments=True)
    assert doc["_rev"] == r2
    att = doc["_attachments"]["photo.png"]
    assert att["data"] == PHOTO
    assert att["digest"] == md5_digest(PHOTO)
    assert att["revpos"] == 1, "revpos is the generation that added the bytes"
    assert "stub" not in att


def test_leaving_an_attachment_out_removes_it(db):
    r1 = put(db, {"_id": "sub", "_attachments": {"a.txt": {"data": b64(b"x")}}})
    put(db, {"_id": "sub", "_rev": r1, "v": 2})
    assert "_attachments" not in db.get("sub")
    with pytest.raises(NotFound):
        db.get_attachment("sub", "a.txt")


def test_atts_since_omits_what_the_client_already_has(db):
    r1 = put(db, {"_id": "sub", "_attachments": {
        "photo.png": {"content_type": "image/png", "data": b64(PHOTO)},
    }})
    r2 = put(db, {"_id": "sub", "_rev": r1, "_attachments": {
        "photo.png": {"stub": True},
        "voice.ogg": {"content_type": "audio/ogg", "data": b64(VOICE)},
    }})
    everything = db.get("sub", attachments=True)["_attachments"]
    assert everything["photo.png"]["data"] == PHOTO
    assert everything["voice.ogg"]["data"] == VOICE
    assert everything["voice.ogg"]["revpos"] == 2

    since_r1 = db.get("sub", attachments=True, atts_since=[r1])["_attachments"]
    assert since_r1["photo.png"].get("stub") is True and "data" not in since_r1["photo.png"]
    assert since_r1["voice.ogg"]["data"] == VOICE

    since_r2 = db.get("sub", attachments=True, atts_since=[r2])["_attachments"]
    assert all(a.get("stub") is True and "data" not in a for a in since_r2.values())

    # A revision that is not an ancestor tells nothing about what the client has.
    unrelated = db.get("sub", attachments=True, atts_since=[rev(1, "f")])["_attachments"]
    assert unrelated["photo.png"]["data"] == PHOTO


def test_open_revs_with_attachments_and_atts_since(db):
    r1 = put(db, {"_id": "sub", "_attachments": {"p.png": {"data": b64(PHOTO)}}})
    r2 = put(db, {"_id": "sub", "_rev": r1, "_attachments": {"p.png": {"stub": True}}, "v": 2})
    [full] = db.open_revs("sub", [r2], attachments=True)
    assert full["ok"]["_attachments"]["p.png"]["data"] == PHOTO
    [lean] = db.open_revs("sub", [r2], attachments=True, atts_since=[r1])
    assert lean["ok"]["_attachments"]["p.png"].get("stub") is True


def test_same_bytes_in_two_documents(db):
    for docid in ("one", "two"):
        put(db, {"_id": docid, "_attachments": {"p.png": {"data": b64(PHOTO)}}})
    assert db.get_attachment("one", "p.png")[1] == PHOTO
    assert db.get_attachment("two", "p.png")[1] == PHOTO
    assert (
        db.get("one")["_attachments"]["p.png"]["digest"]
        == db.get("two")["_attachments"]["p.png"]["digest"]
    )


def test_stub_without_a_previous_attachment_is_missing_stub(db):
    r1 = put(db, {"_id": "sub", "v": 1})
    [result] = write(db, {"_id": "sub", "_rev": r1, "_attachments": {"ghost.png": {"stub": True}}})
    assert result["error"] == "missing_stub"
    assert db.get("sub")["_rev"] == r1


def test_stub_on_a_new_document_is_missing_stub(db):
    [result] = write(db, {"_id": "new", "_attachments": {"ghost.png": {"stub": True}}})
    assert result["error"] == "missing_stub"
    with pytest.raises(NotFound):
        db.get("new")


def test_stub_with_a_different_revpos_is_missing_stub(db):
    """CouchDB checks a stub's revpos, when given, against the previous revision's."""
    r1 = put(db, {"_id": "sub", "_attachments": {"p.png": {"data": b64(PHOTO)}}})
    [result] = write(db, {"_id": "sub", "_rev": r1, "_attachments": {
        "p.png": {"stub": True, "revpos": 5},
    }})
    assert result["error"] == "missing_stub"
    r2 = put(db, {"_id": "sub", "_rev": r1, "_attachments": {"p.png": {"stub": True, "revpos": 1}}})
    assert db.get("sub")["_rev"] == r2


def test_stub_cannot_borrow_another_documents_attachment(db):
    """An edit's stub names an attachment of its parent revision, not any stored bytes."""
    put(db, {"_id": "one", "_attachments": {"p.png": {"data": b64(PHOTO)}}})
    meta = db.get("one")["_attachments"]["p.png"]
    r = put(db, {"_id": "two", "v": 1})
    [result] = write(db, {"_id": "two", "_rev": r, "_attachments": {"p.png": dict(meta)}})
    assert result["error"] == "missing_stub"
    assert "_attachments" not in db.get("two")


def test_replicated_attachment_keeps_its_revpos_and_later_stubs_resolve(db):
    doc = {
        "_id": "sub", "_rev": rev(2, "b"),
        "_revisions": {"start": 2, "ids": ["b" * 32, "a" * 32]},
        "_attachments": {"p.png": {"content_type": "image/png", "revpos": 1, "data": b64(PHOTO)}},
    }
    assert write(db, doc, new_edits=False) == []
    assert db.get("sub")["_attachments"]["p.png"]["revpos"] == 1
    # The next replicated revision sends only a stub: the target already has the bytes.
    doc3 = {
        "_id": "sub", "_rev": rev(3, "c"),
        "_revisions": {"start": 3, "ids": ["c" * 32, "b" * 32, "a" * 32]},
        "_attachments": {"p.png": {"stub": True, "revpos": 1, "content_type": "image/png",
                                   "digest": md5_digest(PHOTO), "length": len(PHOTO)}},
    }
    assert write(db, doc3, new_edits=False) == []
    assert db.get_attachment("sub", "p.png")[1] == PHOTO
    assert db.get("sub")["_attachments"]["p.png"]["revpos"] == 1


def test_attachment_names_may_be_cyrillic_and_nested(db):
    put(db, {"_id": "sub", "_attachments": {
        "зураг/нүүр.jpg": {"content_type": "image/jpeg", "data": b64(VOICE)},
    }})
    assert db.get_attachment("sub", "зураг/нүүр.jpg")[1] == VOICE


# -- changes feed ------------------------------------------------------------------------


def test_changes_sequences_strictly_increase(db):
    for i in range(5):
        put(db, {"_id": f"d{i}"})
    seqs = [seq_number(r["seq"]) for r in changes(db)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_changes_lists_each_document_once_at_its_latest_change(db):
    ra = put(db, {"_id": "a"})
    put(db, {"_id": "b"})
    put(db, {"_id": "c"})
    ra2 = put(db, {"_id": "a", "_rev": ra, "v": 2})
    rows = changes(db)
    assert ids_of(rows) == ["b", "c", "a"]
    assert rows[-1]["changes"] == [{"rev": ra2}]
    assert "deleted" not in rows[0] or rows[0]["deleted"] is False


def test_changes_marks_deleted_documents(db):
    r = put(db, {"_id": "a"})
    put(db, {"_id": "b"})
    rd = put(db, {"_id": "a", "_rev": r, "_deleted": True})
    rows = changes(db, include_docs=True)
    assert ids_of(rows) == ["b", "a"]
    assert rows[1]["deleted"] is True
    assert rows[1]["changes"] == [{"rev": rd}]
    assert rows[1]["doc"] == {"_id": "a", "_rev": rd, "_deleted": True}
    assert not rows[0].get("deleted")


def test_changes_resume_from_any_returned_seq_loses_nothing(db):
    """A client may stop anywhere and continue from the last seq it saw."""
    revs = {}
    for i in range(6):
        revs[i] = put(db, {"_id": f"d{i}"})
    put(db, {"_id": "d2", "_rev": revs[2], "v": 2})
    put(db, {"_id": "d4", "_rev": revs[4], "_deleted": True})
    put(db, {"_id": "_design/app"})
    full = changes(db)
    assert len(full) == 7
    for i, row in enumerate(full):
        rest = changes(db, db.parse_since(row["seq"]))
        assert summary(rest) == summary(full[i + 1 :]), f"resuming after row {i}"
    assert changes(db, db.parse_since(full[-1]["seq"])) == []


def test_changes_limit_then_resume_gives_the_same_feed(db):
    for i in range(7):
        put(db, {"_id": f"d{i}"})
    full = changes(db)
    got, since = [], 0
    while True:
        page = changes(db, since, limit=3)
        assert len(page) <= 3
        if not page:
            break
        got.extend(page)
        since = db.parse_since(page[-1]["seq"])
    assert summary(got) == summary(full)
    assert len(changes(db, limit=1)) == 1


def test_parse_since_accepts_update_seq(db):
    put(db, {"_id": "a"})
    now = db.parse_since(db.update_seq())
    assert changes(db, now) == []
    put(db, {"_id": "b"})
    assert ids_of(changes(db, now)) == ["b"]
    info_seq = db.parse_since(db.info()["update_seq"])
    assert changes(db, info_seq) == []


def test_parse_since_accepts_zero_and_its_own_seqs_as_strings(db):
    put(db, {"_id": "a"})
    put(db, {"_id": "b"})
    assert ids_of(changes(db, db.parse_since(0))) == ["a", "b"]
    assert ids_of(changes(db, db.parse_since("0"))) == ["a", "b"]
    first = changes(db)[0]["seq"]
    assert ids_of(changes(db, db.parse_since(str(first)))) == ["b"]


@pytest.mark.parametrize("garbage", ["garbage", "²", {"a": 1}, [1], 1.5])
def test_parse_since_refuses_garbage(db, garbage):
    with pytest.raises(BadRequest):
        db.parse_since(garbage)


def test_changes_style_all_docs_lists_every_leaf_winner_first(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")])
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")])
    replicate(db, "doc", [rev(3, "d"), rev(2, "d"), rev(1, "a")], deleted=True)
    [main] = changes(db)
    assert main["changes"] == [{"rev": rev(2, "c")}]
    [row] = changes(db, style="all_docs")
    assert row["changes"] == [{"rev": rev(2, "c")}, {"rev": rev(2, "b")}, {"rev": rev(3, "d")}]
    assert not row.get("deleted")


def test_changes_include_docs_with_conflicts(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")], side="b")
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")], side="c")
    [row] = changes(db, include_docs=True, conflicts=True)
    assert row["doc"]["_rev"] == rev(2, "c")
    assert row["doc"]["side"] == "c"
    assert row["doc"]["_conflicts"] == [rev(2, "b")]
    [plain] = changes(db, include_docs=True)
    assert "_conflicts" not in plain["doc"]
    assert "doc" not in changes(db)[0]


def test_changes_doc_ids_filter(db):
    for docid in ("a", "b", "c", "d"):
        put(db, {"_id": docid})
    rows = changes(db, doc_ids=["d", "b", "never"])
    assert ids_of(rows) == ["b", "d"]
    since = db.parse_since(rows[0]["seq"])
    assert ids_of(changes(db, since, doc_ids=["d", "b"])) == ["d"]


def test_changes_descending(db):
    for docid in ("a", "b", "c"):
        put(db, {"_id": docid})
    assert ids_of(changes(db, descending=True)) == ["c", "b", "a"]
    assert ids_of(changes(db, descending=True, limit=2)) == ["c", "b"]
    assert ids_of(changes(db, descending=True, doc_ids=["a", "c"])) == ["c", "a"]


def test_changes_include_docs_attachments(db):
    put(db, {"_id": "sub", "_attachments": {"p.png": {"data": b64(PHOTO)}}})
    [stub] = changes(db, include_docs=True)
    assert stub["doc"]["_attachments"]["p.png"].get("stub") is True
    [full] = changes(db, include_docs=True, attachments=True)
    assert full["doc"]["_attachments"]["p.png"]["data"] == PHOTO


# -- the position a read hands back (last_seq) --------------------------------------------
# A reader resumes from the ``last_seq`` of its previous read, as PouchDB does. That
# position must come from the read itself: on a CouchDB cluster a separate read of
# update_seq may come from another copy of the data, and resuming from it skips
# what the feed's copy had not shown yet. These tests feed positions back to the
# store and look at what comes out; they never compare two sequences. On a cluster
# a write shows in a read a moment later (the copy that answers may lag), so a
# read expected to show new writes is repeated until it does, as a client polls;
# a read that skipped them would never show them.


def read(db, since=0, **kw) -> tuple[list[dict], object]:
    """One changes read: its rows and its own ``last_seq``."""
    answer = db.changes(since, **kw)
    rows = list(answer)
    return rows, answer.last_seq


def read_showing(db, since, ids: list[str], *, timeout: float = 20.0, **kw) -> tuple[list[dict], object]:
    """``read(db, since)`` repeated until its rows are exactly ``ids`` (in order); AssertionError
    with the last rows if that does not happen within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        rows, last = read(db, since, **kw)
        if ids_of(rows) == ids:
            return rows, last
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {ids} after {since!r}, still read {ids_of(rows)}")
        time.sleep(0.05)


def test_resuming_from_last_seq_gives_exactly_what_was_written_after_the_read(db):
    for docid in ("a", "b", "c"):
        put(db, {"_id": docid})
    _, last = read_showing(db, 0, ["a", "b", "c"])
    assert read(db, last)[0] == []
    put(db, {"_id": "d"})
    ra = db.get("a")["_rev"]
    put(db, {"_id": "a", "_rev": ra, "v": 2})
    read_showing(db, last, ["d", "a"])


def test_last_seq_is_known_once_every_row_is_read(db):
    put(db, {"_id": "a"})
    read_showing(db, 0, ["a"])
    answer = db.changes()
    with pytest.raises(RuntimeError):
        answer.last_seq  # noqa: B018 - the rows have not been read yet
    assert ids_of(answer) == ["a"]
    assert read(db, answer.last_seq)[0] == []


def test_a_read_that_fills_its_limit_ends_at_its_last_row(db):
    for i in range(5):
        put(db, {"_id": f"d{i}"})
    read_showing(db, 0, [f"d{i}" for i in range(5)])
    rows, last = read(db, limit=2)
    assert ids_of(rows) == ["d0", "d1"]
    assert ids_of(read(db, last)[0]) == ["d2", "d3", "d4"], "what the limit left out comes next"


def test_paging_by_last_seq_gives_the_whole_feed_once(db):
    for i in range(7):
        put(db, {"_id": f"d{i}"})
    read_showing(db, 0, [f"d{i}" for i in range(7)])
    got, since = [], 0
    while True:
        rows, since = read(db, since, limit=3)
        got.extend(rows)
        if len(rows) < 3:
            break
    assert ids_of(got) == [f"d{i}" for i in range(7)]
    assert read(db, since)[0] == []


def test_last_seq_moves_past_the_changes_a_filter_passed_over(db):
    """A filtered reader is not shown the other documents again: a long-poll on a
    quiet document must not wake for every write to the others."""
    for docid in ("a", "b", "c"):
        put(db, {"_id": docid})
    read_showing(db, 0, ["a", "b", "c"])
    rows, last = read(db, doc_ids=["a"])
    assert ids_of(rows) == ["a"]
    assert read(db, last)[0] == [], "b and c are behind last_seq"
    put(db, {"_id": "d"})
    rows, again = read_showing(db, last, ["d"])
    rows, again = read(db, last, doc_ids=["a"])
    assert rows == []
    assert read(db, again)[0] == [], "d, passed over by the filter, is behind it too"


def test_an_empty_read_hands_back_a_position_that_loses_nothing(db):
    put(db, {"_id": "a"})
    _, last = read_showing(db, 0, ["a"])
    rows, still = read(db, last)
    assert rows == []
    put(db, {"_id": "b"})
    read_showing(db, still, ["b"])


def test_last_seq_of_a_descending_read_resumes_after_its_oldest_row(db):
    for docid in ("a", "b", "c"):
        put(db, {"_id": docid})
    read_showing(db, 0, ["a", "b", "c"])
    rows, last = read(db, descending=True, limit=2)
    assert ids_of(rows) == ["c", "b"]
    assert ids_of(read(db, last)[0]) == ["c"], "CouchDB's rule: the oldest row listed"


# -- long-poll: a read that waits ---------------------------------------------------------


def _write_later(store, delay: float, *docs: dict) -> threading.Thread:
    def writer():
        time.sleep(delay)
        for doc in docs:
            put(store.open(DB), doc)

    thread = threading.Thread(target=writer)
    thread.start()
    return thread


def test_a_long_poll_read_wakes_when_another_thread_writes(store, db):
    put(db, {"_id": "early"})
    _, since = read_showing(db, 0, ["early"])
    thread = _write_later(store, 0.2, {"_id": "late"})
    started = time.monotonic()
    try:
        rows, last = read(db, since, timeout=10)
    finally:
        thread.join()
    assert time.monotonic() - started < 3, "a long-poll must not sleep through a write"
    assert ids_of(rows) == ["late"]
    assert read(db, last)[0] == []


def test_a_long_poll_read_answers_empty_after_its_timeout(db):
    put(db, {"_id": "a"})
    _, since = read_showing(db, 0, ["a"])
    started = time.monotonic()
    rows, last = read(db, since, timeout=0.3)
    assert rows == []
    assert time.monotonic() - started >= 0.29
    put(db, {"_id": "b"})
    read_showing(db, last, ["b"])


def test_a_long_poll_read_answers_at_once_when_changes_exist(db):
    put(db, {"_id": "a"})
    read_showing(db, 0, ["a"])
    started = time.monotonic()
    rows, _ = read(db, 0, timeout=10)
    assert ids_of(rows) == ["a"]
    assert time.monotonic() - started < 1


def test_a_long_poll_read_with_doc_ids_waits_for_a_matching_change(store, db):
    put(db, {"_id": "watched"})
    _, since = read_showing(db, 0, ["watched"])
    thread = _write_later(store, 0.2, {"_id": "other"}, {"_id": "also-other"}, {"_id": "watched-2"})
    try:
        rows, last = read(db, since, doc_ids=["watched", "watched-2"], timeout=10)
    finally:
        thread.join()
    assert ids_of(rows) == ["watched-2"]
    assert read(db, last, doc_ids=["watched", "watched-2"])[0] == []


# -- _all_docs ----------------------------------------------------------------------------


IDS = [
    "b", "B", "a", "A", "1", "~", "z", "_design/z", "_design/a",
    "Ё", "ё", "а", "я", "ө", "Ү", "ү", "😀", "uvs-tes:sub:01JDQ7", "uvs-tes:fam:01JDQ7",
]


def _all(db, **kw) -> list[dict]:
    return list(db.all_docs(**kw))


def test_all_docs_are_in_raw_codepoint_order(db):
    """CouchDB sorts _all_docs by raw (code point) order, not by ICU collation."""
    write(db, *({"_id": i} for i in IDS))
    rows = _all(db)
    assert ids_of(rows) == sorted(IDS)
    assert all(r["key"] == r["id"] for r in rows)
    assert all(r["value"]["rev"] == db.get(r["id"])["_rev"] for r in rows)
    assert ids_of(_all(db, descending=True)) == sorted(IDS, reverse=True)


def test_all_docs_key_range(db):
    write(db, *({"_id": i} for i in "abcdef"))
    assert ids_of(_all(db, startkey="b", endkey="d")) == ["b", "c", "d"]
    assert ids_of(_all(db, startkey="b", endkey="d", inclusive_end=False)) == ["b", "c"]
    assert ids_of(_all(db, startkey="bb")) == ["c", "d", "e", "f"]
    assert ids_of(_all(db, endkey="b")) == ["a", "b"]
    assert ids_of(_all(db, startkey="d", endkey="b", descending=True)) == ["d", "c", "b"]
    assert ids_of(
        _all(db, startkey="d", endkey="b", descending=True, inclusive_end=False)
    ) == ["d", "c"]
    assert ids_of(_all(db, startkey="x")) == []


def test_all_docs_cyrillic_range(db):
    write(db, *({"_id": i} for i in IDS))
    expected = [i for i in sorted(IDS) if "а" <= i <= "я"]
    assert ids_of(_all(db, startkey="а", endkey="я")) == expected
    assert "ө" not in expected and "ё" not in expected, "ө and ё sort after я by code point"


def test_all_docs_limit_and_skip(db):
    write(db, *({"_id": i} for i in "abcdef"))
    assert ids_of(_all(db, limit=2)) == ["a", "b"]
    assert ids_of(_all(db, skip=4)) == ["e", "f"]
    assert ids_of(_all(db, limit=2, skip=1)) == ["b", "c"]
    assert ids_of(_all(db, limit=2, skip=1, descending=True)) == ["e", "d"]
    assert ids_of(_all(db, limit=0)) == []
    assert ids_of(_all(db, skip=10)) == []


def test_all_docs_excludes_deleted_documents(db):
    r = put(db, {"_id": "gone"})
    put(db, {"_id": "kept"})
    put(db, {"_id": "gone", "_rev": r, "_deleted": True})
    assert ids_of(_all(db)) == ["kept"]


def test_all_docs_keys(db):
    ra = put(db, {"_id": "a", "v": 1})
    put(db, {"_id": "b"})
    r_gone = put(db, {"_id": "gone"})
    rd = put(db, {"_id": "gone", "_rev": r_gone, "_deleted": True})
    rows = _all(db, keys=["b", "missing", "gone", "a"])
    assert [r["key"] for r in rows] == ["b", "missing", "gone", "a"]
    assert rows[1] == {"key": "missing", "error": "not_found"}
    assert rows[2]["id"] == "gone"
    assert rows[2]["value"] == {"rev": rd, "deleted": True}
    assert rows[3]["value"] == {"rev": ra}

    with_docs = _all(db, keys=["a", "gone"], include_docs=True)
    assert with_docs[0]["doc"] == {"_id": "a", "_rev": ra, "v": 1}
    assert with_docs[1]["doc"] is None


def test_all_docs_include_docs_and_conflicts(db):
    replicate(db, "doc", [rev(2, "b"), rev(1, "a")], side="b")
    replicate(db, "doc", [rev(2, "c"), rev(1, "a")], side="c")
    [row] = _all(db, include_docs=True, conflicts=True)
    assert row["value"] == {"rev": rev(2, "c")}
    assert row["doc"]["side"] == "c"
    assert row["doc"]["_conflicts"] == [rev(2, "b")]
    assert "doc" not in _all(db)[0]


# -- _local documents -------------------------------------------------------------------


def test_local_documents_put_get_update_delete(db):
    r1 = db.put_local("repl-1", {"history": [{"seq": 1, "тэмдэглэл": "ө"}]})
    assert r1 == "0-1"
    assert db.get_local("repl-1") == {
        "_id": "_local/repl-1", "_rev": "0-1", "history": [{"seq": 1, "тэмдэглэл": "ө"}],
    }
    r2 = db.put_local("repl-1", {"_rev": r1, "history": []})
    assert r2 == "0-2"
    assert db.get_local("repl-1")["history"] == []
    db.delete_local("repl-1", r2)
    local_gone(db, "repl-1")
    assert db.put_local("repl-1", {"again": True}) == "0-1"


def test_local_document_stale_or_missing_rev_is_a_conflict(db):
    r1 = db.put_local("cp", {"v": 1})
    db.put_local("cp", {"_rev": r1, "v": 2})
    with pytest.raises(Conflict):
        db.put_local("cp", {"_rev": r1, "v": 3})
    with pytest.raises(Conflict):
        db.put_local("cp", {"v": 3})
    with pytest.raises(Conflict):
        db.delete_local("cp", r1)
    assert db.get_local("cp")["v"] == 2


def test_missing_local_document_is_not_found(db):
    with pytest.raises(NotFound):
        db.get_local("nope")
    with pytest.raises(NotFound):
        db.delete_local("nope", "0-1")


def test_local_documents_stay_out_of_changes_all_docs_and_counts(db):
    put(db, {"_id": "a"})
    seq = db.update_seq()
    db.put_local("checkpoint", {"v": 1})
    assert changes(db, db.parse_since(seq)) == []
    assert ids_of(changes(db)) == ["a"]
    assert ids_of(_all(db)) == ["a"]
    assert db.info()["doc_count"] == 1


# -- paging beyond one backend page ---------------------------------------------------------


N_MANY = 1234  # more than two of SQLite's 500-row pages


def test_many_documents_page_through_changes_and_all_docs(db):
    ids = [f"doc{i:05d}" for i in range(N_MANY)]
    order = ids[::2] + ids[1::2]  # written out of id order
    write(db, *({"_id": i, "n": i} for i in order[:700]))
    write(db, *({"_id": i, "n": i} for i in order[700:]))

    # Batches come in the order they were written; inside one batch the store may
    # number the documents in any order (CouchDB 3 numbers them by id:
    # couch_db:group_alike_docs), which neither CouchDB nor PouchDB promises otherwise.
    rows = changes(db)
    assert len(rows) == N_MANY
    assert set(ids_of(rows[:700])) == set(order[:700])
    assert set(ids_of(rows[700:])) == set(order[700:])
    seqs = [seq_number(r["seq"]) for r in rows]
    assert seqs == sorted(set(seqs))

    got, since = [], 0
    while page := changes(db, since, limit=400):
        got.extend(page)
        since = db.parse_since(page[-1]["seq"])
    assert ids_of(got) == ids_of(rows), "paging gives every change once, in the feed's order"

    assert ids_of(_all(db)) == ids
    assert ids_of(_all(db, descending=True)) == ids[::-1]
    assert ids_of(_all(db, skip=600, limit=700)) == ids[600:1300]
    assert ids_of(_all(db, startkey="doc00499", limit=3)) == ids[499:502]
    with_docs = _all(db, include_docs=True)
    assert [r["doc"]["n"] for r in with_docs] == ids
    assert len(changes(db, include_docs=True)) == N_MANY
    assert db.info()["doc_count"] == N_MANY


def test_errors_carry_couchdb_status(db):
    with pytest.raises(CouchError) as exc:
        db.get("missing")
    assert exc.value.status == 404
    assert exc.value.as_json() == {"error": "not_found", "reason": "missing"}
