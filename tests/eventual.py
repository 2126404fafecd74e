"""Reading a CouchDB cluster from a test the way a client must: writes show a moment later,
and a sequence is a token to feed back, never a value to compare.

On a 3-node cluster (``n = 3``) a write returns once two of the three copies of
its shard have it. Each later read of ``_all_docs``, ``_changes`` or
``GET /{db}`` is answered, per shard range, by whichever copy answers first:
for some tens of milliseconds after a write a read may not show it, and may
show it and then not show it again. And a sequence names the copies that
answered, so two reads of an unchanged database give different strings.

So tests here (1) wait for what they wrote to be visible, polling with a
deadline as a client would, steadily (several reads in a row) where copies can
disagree; and (2) compare sequences only by feeding them back as ``since``:
"nothing new after X" is ``_changes?since=X`` answering no rows, "X and Y name
the same point" is both answering the same rows. None of this is the product's
business: fieldsync never relies on reading its own write back from another copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

T = TypeVar("T")

DEADLINE = 20.0  # seconds: far beyond the lag of a healthy cluster, short enough to fail a test


def wait_until(
    read: Callable[[], T],
    ok: Callable[[T], bool] = bool,
    *,
    what: str,
    timeout: float = DEADLINE,
    steady: int = 1,
    interval: float = 0.02,
) -> T:
    """``read()`` until ``ok`` holds for ``steady`` reads in a row; that last value.

    AssertionError naming ``what`` and the last value read when ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    streak = 0
    while True:
        value = read()
        streak = streak + 1 if ok(value) else 0
        if streak >= steady:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not so after {timeout:.0f} s; last read: {value!r:.1500}")
        time.sleep(interval)


def seq_param(seq: Any) -> str:
    """A sequence as a ``since`` query value: CouchDB's opaque strings are base64url, but quote anyway."""
    return quote(str(seq), safe="")


# -- over fieldsync's HTTP protocol (a ``protocol_helpers.Couch`` or anything with its ``get``) --------
def changes_since(couch: Any, db: str, since: Any, query: str = "") -> list[dict]:
    """The rows of ``{db}/_changes?since=<since>`` (plus ``query``), asserting a 200."""
    resp = couch.get(f"{db}/_changes?since={seq_param(since)}" + (f"&{query}" if query else ""))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.json["results"]


def assert_nothing_since(couch: Any, db: str, since: Any) -> None:
    """Nothing was written after ``since``: the feed from it, every leaf included, is empty."""
    rows = changes_since(couch, db, since, "style=all_docs")
    assert rows == [], f"changes after {since!r}: {rows}"


def assert_same_point(couch: Any, db: str, a: Any, b: Any) -> None:
    """Sequences ``a`` and ``b`` name the same point of ``db``: the feeds from both agree."""
    rows_a = [(r["id"], r["changes"]) for r in changes_since(couch, db, a, "style=all_docs")]
    rows_b = [(r["id"], r["changes"]) for r in changes_since(couch, db, b, "style=all_docs")]
    assert rows_a == rows_b, (a, b)


def contents(couch: Any, db: str) -> tuple[list, list]:
    """What a scope holds, without its sequences: every live document whole and every leaf of every
    document (deletions and losing branches too), each in its feed order."""
    rows = couch.get(f"{db}/_all_docs?include_docs=true").json["rows"]
    leaves = [(r["id"], r["changes"], r.get("deleted", False))
              for r in couch.get(f"{db}/_changes?style=all_docs").json["results"]]
    return rows, leaves


def settle(couch: Any, db: str, written: Iterable[str] | Mapping[str, str], *, steady: int = 3,
           timeout: float = DEADLINE) -> tuple[list, list]:
    """Wait until ``db`` steadily shows what a test wrote, as a client polling for its write would.

    Each id of ``written`` must be in the feed (with, for a mapping, that revision
    among its leaves) and, unless deleted, in ``_all_docs``; and ``steady`` reads in
    a row must give the same contents, since a copy that lags can answer the next
    read. Returns those contents (see ``contents``).
    """
    revs = dict(written) if isinstance(written, Mapping) else dict.fromkeys(written)

    def shows_all(value: tuple[list, list]) -> bool:
        rows, leaves = value
        live = {r["id"] for r in rows}
        by_id = {docid: ([c["rev"] for c in changes], deleted) for docid, changes, deleted in leaves}
        for docid, rev in revs.items():
            if docid not in by_id:
                return False
            leaf_revs, deleted = by_id[docid]
            if (rev is not None and rev not in leaf_revs) or (not deleted and docid not in live):
                return False
        return True

    deadline = time.monotonic() + timeout
    streak, previous = 0, None
    while True:
        value = contents(couch, db)
        if not shows_all(value):
            streak = 0
        elif streak and value == previous:
            streak += 1
        else:
            streak = 1
        if streak >= steady:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{sorted(revs)} not steadily visible in {db} after {timeout:.0f} s; "
                                 f"last read: {value!r:.1500}")
        previous = value
        time.sleep(0.05)


def assert_at_end(couch: Any, db: str, *seqs: Any) -> None:
    """Each of ``seqs`` names the end of ``db``'s feed: nothing comes after it, and a new
    write (a probe document, left in place) is exactly what comes after it then."""
    for seq in seqs:
        assert_nothing_since(couch, db, seq)
    probe = f"probe-{time.monotonic_ns()}"
    couch.create_doc(db, {"_id": probe})
    for seq in seqs:
        assert [r["id"] for r in changes_since(couch, db, seq)] == [probe], seq
