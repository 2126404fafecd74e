"""No ``_changes`` feed ever skips a document, on any store, while others write.

A replica pulls by asking for ``_changes`` since the ``last_seq`` of its
previous answer. A document that no answer lists is silently missing from
that replica until somebody edits it, so "missed" must be zero, always.

On a 3-node CouchDB cluster (``n = 3``) this failed: fieldsync's ``last_seq``
was the later, by its leading number, of the feed's own position and the
``update_seq`` of a separate ``GET /{db}``. Each names a position in one copy
of the shard, and the two reads can be answered by different copies; when
the ``GET`` came from a copy ahead of the feed's, the client was handed a
position past writes its feed had not shown yet, and never saw them (14-30
of 1,000 documents on ``/db/<scope>``, 0-6 on ``/sync/<user>``). Now every
sequence handed out comes from the changes read whose rows it covers
(``sync.stores.base.Changes.last_seq``), and for the union feed from each
member scope's own read.

* ``test_no_feed_skips_a_document_while_others_write`` follows every feed
  (``/db`` and ``/sync``; normal, longpoll, continuous; ``limit``;
  ``filter=_doc_ids``) over real HTTP while threads write 10 x 1,000
  documents through fieldsync and around it: on CouchDB straight into the
  scope's database through the cluster's other nodes (``tests/feed_follow.py``).
  Before the fix it missed hundreds of documents on the cluster.
* The hypothesis tests state the same property against the store contract:
  any interleaving of writes with partly read, paged, limited and filtered
  reads, on a scope and on a user's union of scopes, ends with the reader
  holding the newest revision of every document it may see.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
from feed_follow import FEEDS, feed_world, follow_while_writing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import BACKENDS

from server import create_app
from server.config import Settings
from sync.docs import check_doc
from sync.errors import NotFound
from sync.replica.union import UserReplica
from sync.stores.sqlite import SQLiteStore

# -- over HTTP, while others write ---------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend_urls(request: pytest.FixtureRequest) -> tuple[str, list[str]]:
    """A backend and its CouchDB node URLs: the session's single node, or every node of its
    cluster (fieldsync talks to the first, writers to the others)."""
    if request.param == "sqlite":
        return "sqlite", []
    if request.param == "couchdb":
        return "couchdb", [request.getfixturevalue("couchdb_node_url")]
    return request.param, list(request.getfixturevalue("couchdb_cluster_urls"))


def test_no_feed_skips_a_document_while_others_write(backend_urls, tmp_path: Path) -> None:
    backend, urls = backend_urls
    with feed_world(backend, tmp_path / "data", urls) as world:
        # Five documents per write request: 2,000 requests from 16 threads keep the run near
        # a minute on a busy 2-core machine (bench/feed_skip.py writes one per request).
        outcomes = follow_while_writing(world, FEEDS, rounds=10, per_round=1000, batch=5)
    report = "\n".join(o.line(backend) for o in outcomes)
    assert all(o.missed == 0 for o in outcomes), f"documents never shown:\n{report}\n" + "\n".join(
        f"{o.spec.name}: {o.missed_ids}" for o in outcomes if o.missed)
    assert all(o.expected > 0 for o in outcomes)


# -- the store contract, every interleaving ------------------------------------------------------
# A reader reads part of an answer, writers write in between (a new document, an edit,
# a deletion, a document the reader may not see), the reader resumes from the last
# seq it was given or, once an answer is read to its end, from its last_seq.

STEPS = settings(max_examples=150, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

write_step = st.tuples(st.just("write"), st.integers(0, 11), st.sampled_from(["put", "put", "delete"]))
read_step = st.tuples(st.just("read"), st.integers(0, 6), st.sampled_from([None, 1, 2, 5]))
steps = st.lists(st.one_of(write_step, read_step), min_size=1, max_size=40)


class Reader:
    """A replicator's view of a feed: the revision it was last shown of each document."""

    def __init__(self, db, *, doc_ids: list[str] | None = None):
        self.db = db
        self.doc_ids = doc_ids
        self.since: object = 0
        self.held: dict[str, str] = {}
        self.answer = None  # the answer being read, if one is under way

    def step(self, take: int, limit: int | None) -> None:
        """Start a read if none is under way, and take up to ``take`` more of its rows."""
        if self.answer is None:
            self.answer = self.db.changes(self.since, limit=limit, doc_ids=self.doc_ids)
        for _ in range(take):
            if not self._next():
                return

    def _next(self) -> bool:
        try:
            row = next(self.answer)
        except StopIteration:
            self.since = self.answer.last_seq  # the answer is read: resume where it says
            self.answer = None
            return False
        self.held[row["id"]] = row["changes"][0]["rev"]
        self.since = row["seq"]  # a client may stop anywhere and resume from here
        return True

    def catch_up(self) -> None:
        """Read what is left of the current answer, then read again from its ``last_seq``."""
        while self.answer is not None and self._next():
            pass
        self.step(0, None)
        while self._next():
            pass
        assert list(self.db.changes(self.since, doc_ids=self.doc_ids)) == [], "nothing left after last_seq"


def newest(db, ids: list[str] | None = None) -> dict[str, str]:
    """Each document's current winning revision (deleted ones too), from one full read."""
    return {row["id"]: row["changes"][0]["rev"] for row in db.changes(0, doc_ids=ids)}


def write(db, docid: str, action: str, **body) -> None:
    """Create, edit or delete one document as a client would (a delete of a missing one does nothing)."""
    try:
        current = db.get(docid)
    except NotFound:
        current = None
    if action == "delete":
        if current is None:
            return
        doc = {"_id": docid, "_rev": current["_rev"], "_deleted": True}
    else:
        doc = {"_id": docid, **body, "n": (current or {}).get("n", 0) + 1}
        if current is not None:
            doc["_rev"] = current["_rev"]
    [result] = db.bulk_docs([check_doc(copy.deepcopy(doc), new_edits=True)])
    assert "error" not in result, result


@pytest.fixture
def sqlite_store(tmp_path: Path):
    store = SQLiteStore(tmp_path / "data")
    yield store
    store.close()


@STEPS
@given(plan=steps, filtered=st.booleans())
def test_sqlite_reads_interleaved_with_writes_never_skip(sqlite_store, plan, filtered) -> None:
    """Reads go in pages of 2 rows (one read transaction each), so writes land between pages."""
    db = sqlite_store.create(f"s{next(_fresh)}")
    db.page_size = 2
    ids = [f"d{n:02d}" for n in range(12)]
    watched = ids[::3] if filtered else None
    reader = Reader(db, doc_ids=watched)
    for step in plan:
        if step[0] == "write":
            _, n, action = step
            write(db, ids[n], action)
        else:
            _, take, limit = step
            reader.step(take, limit)
    reader.catch_up()
    assert reader.held == newest(db, watched)


_fresh = itertools.count()

# -- the same over a user's union of scopes ------------------------------------------------------

union_write = st.tuples(st.just("write"), st.sampled_from(["fa", "fb"]), st.integers(0, 7),
                        st.sampled_from(["family", "family", "hidden", "delete"]))
union_steps = st.lists(st.one_of(union_write, read_step), min_size=1, max_size=40)


@pytest.fixture
def union_world(tmp_path: Path):
    """A worker assigned to two areas, on SQLite scopes read in pages of 2 rows."""
    app = create_app(Settings(data_dir=tmp_path / "data", admin=("admin", "admin-password-1")))
    svc = app.extensions["fieldsync"]
    for code in ("fa", "fb"):
        svc.areas.add(code, name_en=code, level="soum", holds_data=True)
    worker = svc.users.add("walker", "worker", ["fa", "fb"], "walker-password-1")
    for name in ("global", "fa", "fb"):
        svc.store.open(name).page_size = 2
    yield svc, worker
    svc.store.close()


@STEPS
@given(plan=union_steps)
def test_union_reads_interleaved_with_writes_never_skip(union_world, plan) -> None:
    """Hidden documents (feedback about someone else) are passed over, never listed,
    and never make the reader lose one it may see. Each example starts a new device
    (from sequence 0) on scopes that keep what earlier examples wrote."""
    svc, worker = union_world
    replica = UserReplica(svc.store, worker, worker, svc.access, svc.gate)
    replica.member_page = 1  # members read in small pages too, hidden rows between them
    reader = Reader(replica)
    for step in plan:
        if step[0] == "write":
            _, scope, n, kind = step
            db = svc.store.open(scope)
            if kind == "hidden":
                write(db, f"{scope}:feedback:{n:02d}", "put", type="feedback", author="someone-else")
            else:
                write(db, f"{scope}:fam:{n:02d}", "delete" if kind == "delete" else "put", type="family")
        else:
            _, take, limit = step
            reader.step(take, limit)
    reader.catch_up()
    visible = {docid: rev for scope in ("fa", "fb") for docid, rev in newest(svc.store.open(scope)).items()
               if ":fam:" in docid}
    visible.update(newest(svc.store.open("global")))  # the area documents
    assert reader.held == visible
