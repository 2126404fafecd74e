"""CouchDB's revision tree (MVCC) as a plain data structure.

A document's history is a forest of revisions ``"<generation>-<hash>"``. Each
node knows its parent (``None`` for a root, or for a node whose ancestors were
stemmed away) and whether that revision is a deletion. Keeping the tree as a
flat ``rev -> (parent, deleted)`` map makes merging a set union of edges, which
is why the order in which replicas deliver revision paths cannot change the
resulting tree or its winner.

The winner follows CouchDB exactly: among the leaves, non-deleted beats
deleted, then the higher generation, then the greater revision id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

import orjson

from sync.errors import BadRequest

REV_RE = re.compile(r"^([1-9][0-9]{0,8})-([0-9a-zA-Z]{1,64})\Z")
_REV_ID = re.compile(r"[0-9a-zA-Z]{1,64}")  # the part after the dash
DEFAULT_REVS_LIMIT = 1000


def parse_rev(rev: object) -> tuple[int, str]:
    """Split ``"3-abc"`` into ``(3, "abc")``; anything else is a client error."""
    if not isinstance(rev, str):
        raise BadRequest("Invalid rev format", error="bad_request")
    m = REV_RE.match(rev)
    if not m:
        raise BadRequest(f"Invalid rev format: {rev[:80]!r}", error="bad_request")
    return int(m.group(1)), m.group(2)


def rev_gen(rev: str) -> int:
    return int(rev.split("-", 1)[0])


def path_from_revisions(revisions: object, rev: str) -> list[str]:
    """Turn a ``_revisions`` object into a newest-first list of revision strings.

    ``_revisions`` must agree with ``_rev``; a disagreement is rejected rather than
    guessed at, because storing the wrong ancestry would corrupt the tree for
    every replica downstream.
    """
    gen, rid = parse_rev(rev)
    if revisions is None:
        return [rev]
    if not isinstance(revisions, dict):
        raise BadRequest("_revisions must be an object")
    start, ids = revisions.get("start"), revisions.get("ids")
    if not isinstance(start, int) or isinstance(start, bool) or not isinstance(ids, list) or not ids:
        raise BadRequest("_revisions must have an integer start and a non-empty ids list")
    if start != gen or ids[0] != rid:
        raise BadRequest("_revisions does not match _rev")
    if start - len(ids) < 0:
        raise BadRequest("_revisions has more ids than its start allows")
    path = []
    for i, h in enumerate(ids):
        if not isinstance(h, str) or not _REV_ID.fullmatch(h):
            raise BadRequest("_revisions.ids must be revision hashes")
        path.append(f"{start - i}-{h}")
    return path


def new_rev_id(body: dict, parent: str | None, deleted: bool) -> str:
    """Derive the next revision's hash from its content.

    Deterministic so that the same edit made twice (a retried request) yields the
    same revision instead of a spurious conflict.
    """
    payload = orjson.dumps([deleted, parent, body], option=orjson.OPT_SORT_KEYS, default=_default)
    return hashlib.md5(payload).hexdigest()


def _default(obj: object) -> object:
    if isinstance(obj, bytes | bytearray | memoryview):
        return hashlib.md5(bytes(obj)).hexdigest()
    raise TypeError(f"not serialisable: {type(obj).__name__}")


def winner_key(rev: str, deleted: bool) -> tuple[bool, int, str]:
    """CouchDB's order of leaves: the greatest key wins (live, generation, rev id)."""
    gen, rid = rev.split("-", 1)
    return (not deleted, int(gen), rid)


class RevTree:
    """A document's revision tree; see the module docstring for the model."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: dict[str, tuple[str | None, bool]] | None = None):
        self.nodes: dict[str, tuple[str | None, bool]] = nodes if nodes is not None else {}

    # -- (de)serialisation -------------------------------------------------
    @classmethod
    def from_json(cls, data: Iterable) -> RevTree:
        return cls({rev: (parent, bool(deleted)) for rev, parent, deleted in data})

    def to_json(self) -> list:
        return [[rev, parent, deleted] for rev, (parent, deleted) in sorted(self.nodes.items())]

    def copy(self) -> RevTree:
        return RevTree(dict(self.nodes))

    def __contains__(self, rev: object) -> bool:
        return rev in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RevTree) and self.nodes == other.nodes

    # -- shape -------------------------------------------------------------
    def _parents(self) -> set[str]:
        return {p for p, _ in self.nodes.values() if p is not None and p in self.nodes}

    def leaves(self) -> list[tuple[str, bool]]:
        """Leaves as ``(rev, deleted)``, the winner first, then CouchDB's order."""
        parents = self._parents()
        leaves = [(r, d) for r, (_, d) in self.nodes.items() if r not in parents]
        leaves.sort(key=lambda x: winner_key(*x), reverse=True)
        return leaves

    def winner(self) -> tuple[str, bool]:
        return self.leaves()[0]

    def is_leaf(self, rev: str) -> bool:
        return rev in self.nodes and rev not in self._parents()

    def is_deleted(self, rev: str) -> bool:
        return self.nodes[rev][1]

    def conflicts(self) -> list[str]:
        """Non-deleted losing leaves (``_conflicts``)."""
        return [r for r, d in self.leaves()[1:] if not d]

    def deleted_conflicts(self) -> list[str]:
        return [r for r, d in self.leaves()[1:] if d]

    def ancestry(self, rev: str) -> list[str]:
        """``rev`` and its known ancestors, newest first (for ``_revisions``)."""
        out = []
        cur: str | None = rev
        while cur is not None and cur in self.nodes:
            out.append(cur)
            cur = self.nodes[cur][0]
        return out

    def leaves_under(self, rev: str) -> list[str]:
        """The leaves descending from ``rev`` (itself if a leaf): ``latest=true``."""
        children: dict[str, list[str]] = {}
        for r, (p, _) in self.nodes.items():
            if p is not None:
                children.setdefault(p, []).append(r)
        out, stack = [], [rev]
        while stack:
            cur = stack.pop()
            kids = children.get(cur)
            if kids:
                stack.extend(kids)
            else:
                out.append(cur)
        out.sort(key=lambda r: winner_key(r, self.nodes[r][1]), reverse=True)
        return out

    def max_generation(self) -> int:
        return max((rev_gen(r) for r in self.nodes), default=0)

    # -- edits -------------------------------------------------------------
    def merge(self, path: list[str], deleted: bool = False) -> bool:
        """Merge a newest-first revision path; True when its head is new here.

        A path may extend a leaf, start a new branch, or bring back ancestors
        that were stemmed (a node with an unknown parent learns it). A revision
        already present keeps its recorded parent, so merging is idempotent.
        Only a path's head says whether that revision is a deletion (ancestors
        arrive as bare ids), so a head marked deleted marks a revision that was
        known only as an ancestor: as in CouchDB, what is known wins over what
        is not, whatever the order of arrival.
        """
        if not path:
            raise ValueError("empty revision path")
        head_is_new = path[0] not in self.nodes
        for i, rev in enumerate(path):
            parent = path[i + 1] if i + 1 < len(path) else None
            existing = self.nodes.get(rev)
            if existing is None:
                self.nodes[rev] = (parent, deleted if i == 0 else False)
                continue
            old_parent, old_deleted = existing
            new_parent = parent if old_parent is None else old_parent
            new_deleted = old_deleted or (i == 0 and deleted)
            if (new_parent, new_deleted) != existing:
                self.nodes[rev] = (new_parent, new_deleted)
        return head_is_new

    def stem(self, limit: int = DEFAULT_REVS_LIMIT) -> list[str]:
        """Forget revisions more than ``limit`` deep below every leaf.

        Returns the revisions dropped, so that a store can drop their bodies too.
        """
        if limit <= 0 or len(self.nodes) <= limit:
            return []
        keep: set[str] = set()
        for leaf, _ in self.leaves():
            cur: str | None = leaf
            depth = 0
            while cur is not None and cur in self.nodes and depth < limit:
                keep.add(cur)
                cur = self.nodes[cur][0]
                depth += 1
        dropped = [r for r in self.nodes if r not in keep]
        for r in dropped:
            del self.nodes[r]
        for r in keep:
            p, d = self.nodes[r]
            if p is not None and p not in keep:
                self.nodes[r] = (None, d)
        return dropped

    def missing(self, revs: Iterable[str]) -> list[str]:
        return [r for r in revs if r not in self.nodes]

    def possible_ancestors(self, rev: str) -> list[str]:
        """Leaves older than ``rev``: what ``_revs_diff`` offers for ``atts_since``."""
        gen = rev_gen(rev)
        return [r for r, _ in self.leaves() if rev_gen(r) < gen]

    def iter_revs(self) -> Iterator[str]:
        return iter(self.nodes)
