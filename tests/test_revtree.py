"""The revision tree: CouchDB's winner rules, and merging that cannot depend on order.

Replicas deliver revision paths in any order, more than once, and sometimes
only part of a path (stemmed history). The property tests build a random tree,
cut it into such paths and check that every way of merging them gives back the
same tree and the same winner, as CouchDB's key tree does.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.errors import BadRequest
from sync.revtree import RevTree, new_rev_id, parse_rev, path_from_revisions, rev_gen


def r(gen: int, ch: str) -> str:
    return f"{gen}-{ch * 32}"


def tree_of(*paths: list[str], deleted: tuple[str, ...] = ()) -> RevTree:
    t = RevTree()
    for path in paths:
        t.merge(path, path[0] in deleted)
    return t


# -- parsing -------------------------------------------------------------------------


@pytest.mark.parametrize("good, expected", [
    ("1-abc", (1, "abc")),
    ("12-" + "f" * 32, (12, "f" * 32)),
    ("999999999-Z9", (999999999, "Z9")),
])
def test_parse_rev_accepts_couchdb_revisions(good, expected):
    assert parse_rev(good) == expected


@pytest.mark.parametrize("bad", [
    None, 1, b"1-abc", ["1-abc"], "", "abc", "1-", "-abc", "0-abc", "01-abc", "1-abc-def",
    "1-ab c", "1-abc\n", "\n1-abc", " 1-abc", "1-" + "a" * 65, "1234567890-abc", "1-абв",
])
def test_parse_rev_rejects_malformed_revisions(bad):
    with pytest.raises(BadRequest):
        parse_rev(bad)


def test_path_from_revisions_gives_newest_first_path():
    revs = {"start": 3, "ids": ["c" * 32, "b" * 32, "a" * 32]}
    assert path_from_revisions(revs, r(3, "c")) == [r(3, "c"), r(2, "b"), r(1, "a")]


def test_path_from_revisions_allows_stemmed_history():
    revs = {"start": 7, "ids": ["c", "b"]}
    assert path_from_revisions(revs, "7-c") == ["7-c", "6-b"]


def test_path_from_revisions_without_revisions_is_the_rev_alone():
    assert path_from_revisions(None, "4-d") == ["4-d"]


@pytest.mark.parametrize("revisions, rev", [
    ([], "2-b"),
    ("2-b", "2-b"),
    ({"start": 2}, "2-b"),
    ({"ids": ["b"]}, "2-b"),
    ({"start": "2", "ids": ["b", "a"]}, "2-b"),
    ({"start": True, "ids": ["b"]}, "1-b"),
    ({"start": 2, "ids": []}, "2-b"),
    ({"start": 2, "ids": "ba"}, "2-b"),
    ({"start": 3, "ids": ["b", "a"]}, "2-b"),  # start disagrees with _rev
    ({"start": 2, "ids": ["x", "a"]}, "2-b"),  # first id disagrees with _rev
    ({"start": 2, "ids": ["b", "a", "z"]}, "2-b"),  # more ids than generations
    ({"start": 2, "ids": ["b", 1]}, "2-b"),
    ({"start": 2, "ids": ["b", "a-a"]}, "2-b"),
    ({"start": 2, "ids": ["b", "a\n"]}, "2-b"),
    ({"start": 2, "ids": ["b", ""]}, "2-b"),
    ({"start": 2, "ids": ["b", "a"]}, "bogus"),
])
def test_path_from_revisions_rejects_malformed_or_inconsistent_input(revisions, rev):
    with pytest.raises(BadRequest):
        path_from_revisions(revisions, rev)


# -- winner rules ----------------------------------------------------------------------


def test_single_branch_winner_is_its_leaf():
    t = tree_of([r(3, "c"), r(2, "b"), r(1, "a")])
    assert t.winner() == (r(3, "c"), False)
    assert t.leaves() == [(r(3, "c"), False)]
    assert t.conflicts() == [] and t.deleted_conflicts() == []


def test_higher_generation_wins():
    t = tree_of([r(3, "1"), r(2, "1"), r(1, "a")], [r(2, "f"), r(1, "a")])
    assert t.winner() == (r(3, "1"), False)
    assert t.conflicts() == [r(2, "f")]


def test_same_generation_greater_rev_id_wins():
    t = tree_of([r(2, "b"), r(1, "a")], [r(2, "c"), r(1, "a")])
    assert t.winner() == (r(2, "c"), False)
    assert t.conflicts() == [r(2, "b")]


def test_live_leaf_beats_a_deleted_leaf_of_higher_generation():
    t = tree_of(
        [r(2, "b"), r(1, "a")],
        [r(5, "e"), r(4, "e"), r(3, "e"), r(2, "e"), r(1, "a")],
        deleted=(r(5, "e"),),
    )
    assert t.winner() == (r(2, "b"), False)
    assert t.conflicts() == []
    assert t.deleted_conflicts() == [r(5, "e")]


def test_all_leaves_deleted_the_highest_deleted_wins():
    t = tree_of([r(2, "b"), r(1, "a")], [r(3, "c"), r(2, "c"), r(1, "a")],
                deleted=(r(2, "b"), r(3, "c")))
    assert t.winner() == (r(3, "c"), True)
    assert t.deleted_conflicts() == [r(2, "b")]


def test_leaves_are_in_couchdb_order():
    t = tree_of(
        [r(2, "b"), r(1, "a")],
        [r(2, "9"), r(1, "a")],
        [r(3, "e"), r(2, "e"), r(1, "a")],
        [r(3, "f"), r(2, "f"), r(1, "a")],
        [r(2, "0"), r(1, "a")],
        deleted=(r(3, "f"), r(2, "0")),
    )
    assert [x for x, _ in t.leaves()] == [r(3, "e"), r(2, "b"), r(2, "9"), r(3, "f"), r(2, "0")]
    assert t.conflicts() == [r(2, "b"), r(2, "9")]
    assert t.deleted_conflicts() == [r(3, "f"), r(2, "0")]


def test_separate_roots_compete_too():
    """Two devices that created the same id offline give two unrelated histories."""
    t = tree_of([r(1, "a")], [r(2, "b"), r(1, "b")])
    assert t.winner() == (r(2, "b"), False)
    assert t.conflicts() == [r(1, "a")]


# -- shape queries ------------------------------------------------------------------------


def test_ancestry_leaves_under_and_is_leaf():
    t = tree_of([r(3, "c"), r(2, "b"), r(1, "a")], [r(2, "d"), r(1, "a")], deleted=(r(2, "d"),))
    assert t.ancestry(r(3, "c")) == [r(3, "c"), r(2, "b"), r(1, "a")]
    assert t.leaves_under(r(1, "a")) == [r(3, "c"), r(2, "d")]
    assert t.leaves_under(r(2, "b")) == [r(3, "c")]
    assert t.leaves_under(r(3, "c")) == [r(3, "c")]
    assert t.is_leaf(r(3, "c")) and t.is_leaf(r(2, "d"))
    assert not t.is_leaf(r(1, "a")) and not t.is_leaf(r(9, "9"))
    assert t.is_deleted(r(2, "d")) and not t.is_deleted(r(3, "c"))
    assert t.max_generation() == 3


def test_missing_and_possible_ancestors():
    t = tree_of([r(3, "c"), r(2, "b"), r(1, "a")], [r(2, "d"), r(1, "a")])
    assert t.missing([r(1, "a"), r(4, "x"), r(2, "d"), r(2, "y")]) == [r(4, "x"), r(2, "y")]
    assert set(t.possible_ancestors(r(4, "x"))) == {r(3, "c"), r(2, "d")}
    assert t.possible_ancestors(r(3, "x")) == [r(2, "d")]
    assert t.possible_ancestors(r(2, "x")) == []


def test_json_round_trip():
    t = tree_of([r(3, "c"), r(2, "b"), r(1, "a")], [r(2, "d"), r(1, "a")], deleted=(r(2, "d"),))
    assert RevTree.from_json(t.to_json()) == t
    assert RevTree.from_json(t.to_json()).winner() == t.winner()


# -- merging ---------------------------------------------------------------------------------


def test_merge_reports_whether_the_head_is_new():
    t = RevTree()
    assert t.merge([r(1, "a")]) is True
    assert t.merge([r(2, "b"), r(1, "a")]) is True
    assert t.merge([r(2, "b"), r(1, "a")]) is False
    assert t.merge([r(1, "a")]) is False


def test_merge_of_an_empty_path_is_an_error():
    with pytest.raises(ValueError):
        RevTree().merge([])


def test_stemmed_node_learns_its_parent_later():
    t = tree_of([r(3, "c"), r(2, "b")])
    assert t.ancestry(r(3, "c")) == [r(3, "c"), r(2, "b")]
    t.merge([r(2, "b"), r(1, "a")])
    assert t.ancestry(r(3, "c")) == [r(3, "c"), r(2, "b"), r(1, "a")]


def test_a_deletion_is_remembered_whichever_arrives_first():
    """A revision first seen as a bare ancestor learns it was a deletion when its own path comes.

    1-a → 2-b (deleted) → 3-c: the document was deleted, then recreated.
    """
    late = tree_of([r(3, "c"), r(2, "b"), r(1, "a")])
    late.merge([r(2, "b"), r(1, "a")], deleted=True)
    early = tree_of([r(2, "b"), r(1, "a")], deleted=(r(2, "b"),))
    early.merge([r(3, "c"), r(2, "b"), r(1, "a")])
    assert late == early
    assert late.is_deleted(r(2, "b"))
    assert late.winner() == (r(3, "c"), False)


def test_new_rev_id_is_deterministic_and_sensitive_to_every_input():
    body = {"v": 1, "name": "Өлзий", "_attachments": {"p": "md5-x"}}
    base = new_rev_id(body, "1-a", False)
    assert base == new_rev_id({"_attachments": {"p": "md5-x"}, "name": "Өлзий", "v": 1}, "1-a", False)
    assert len(base) == 32 and int(base, 16) >= 0
    assert base != new_rev_id({**body, "v": 2}, "1-a", False)
    assert base != new_rev_id(body, "1-b", False)
    assert base != new_rev_id(body, None, False)
    assert base != new_rev_id(body, "1-a", True)
    assert new_rev_id({"b": b"\x00"}, None, False) != new_rev_id({"b": b"\x01"}, None, False)


# -- stemming ---------------------------------------------------------------------------------


def test_stem_keeps_limit_revisions_per_branch():
    long = [r(g, "a") for g in range(6, 0, -1)]
    t = tree_of(long, [r(3, "b"), r(2, "a"), r(1, "a")])
    dropped = t.stem(3)
    assert t.ancestry(r(6, "a")) == [r(6, "a"), r(5, "a"), r(4, "a")]
    assert t.ancestry(r(3, "b")) == [r(3, "b"), r(2, "a"), r(1, "a")]
    assert set(dropped) == {r(3, "a")}
    assert r(3, "a") not in t


def test_stem_below_the_limit_changes_nothing():
    t = tree_of([r(2, "b"), r(1, "a")])
    before = t.copy()
    assert t.stem(5) == []
    assert t == before


# -- property tests ------------------------------------------------------------------------


@st.composite
def rev_trees(draw) -> RevTree:
    """A random revision forest: branching anywhere, extra roots, deletions at leaves."""
    size = draw(st.integers(min_value=1, max_value=14))
    hashes = draw(st.lists(
        st.text("0123456789abcdef", min_size=1, max_size=4), min_size=size, max_size=size, unique=True,
    ))
    nodes: dict[str, tuple[str | None, bool]] = {}
    order: list[str] = []
    for i in range(size):
        if i == 0 or draw(st.integers(0, 9)) == 0:
            parent, gen = None, draw(st.integers(1, 3))  # a root, maybe a stemmed one
        else:
            parent = order[draw(st.integers(0, len(order) - 1))]
            gen = rev_gen(parent) + 1
        rev = f"{gen}-{hashes[i]}"
        nodes[rev] = (parent, False)
        order.append(rev)
    parents = {p for p, _ in nodes.values() if p is not None}
    for rev in order:
        if rev not in parents and draw(st.booleans()):
            nodes[rev] = (nodes[rev][0], True)
    return RevTree(nodes)


def leaf_paths(tree: RevTree) -> list[tuple[list[str], bool]]:
    """Each root-to-leaf path, newest first, as ``merge`` takes it."""
    return [(tree.ancestry(leaf), deleted) for leaf, deleted in tree.leaves()]


def expected_winner(tree: RevTree) -> tuple[str, bool]:
    """CouchDB's rule, written independently: live first, then generation, then rev id."""
    leaves = [(rev, d) for rev, (_, d) in tree.nodes.items()
              if not any(p == rev for p, _ in tree.nodes.values())]
    return max(leaves, key=lambda x: (not x[1], rev_gen(x[0]), x[0].split("-", 1)[1]))


@settings(max_examples=300, deadline=None)
@given(tree=rev_trees(), seed=st.integers(0, 2**32 - 1))
def test_merging_paths_in_any_order_rebuilds_the_same_tree(tree, seed):
    rnd = random.Random(seed)
    paths = leaf_paths(tree)
    pieces = list(paths)
    # Duplicates, as a replicator resends.
    pieces += [rnd.choice(paths) for _ in range(rnd.randint(0, 3))]
    # Overlapping sub-paths: any window of a path, its head flagged as that node is.
    for _ in range(rnd.randint(0, 6)):
        path, _ = rnd.choice(paths)
        i = rnd.randrange(len(path))
        j = rnd.randint(i + 1, len(path))
        window = path[i:j]
        pieces.append((window, tree.is_deleted(window[0])))

    results = []
    for _ in range(3):
        rnd.shuffle(pieces)
        merged = RevTree()
        for path, deleted in pieces:
            merged.merge(list(path), deleted)
        results.append(merged)

    for merged in results:
        assert merged == tree
        assert merged.winner() == tree.winner() == expected_winner(tree)
        assert merged.leaves() == tree.leaves()
        assert merged.conflicts() == tree.conflicts()
        assert merged.deleted_conflicts() == tree.deleted_conflicts()


@settings(max_examples=200, deadline=None)
@given(tree=rev_trees())
def test_merging_is_idempotent(tree):
    again = tree.copy()
    for path, deleted in leaf_paths(tree):
        assert again.merge(path, deleted) is False
    assert again == tree


@settings(max_examples=200, deadline=None)
@given(tree=rev_trees())
def test_conflicts_partition_the_losing_leaves(tree):
    leaves = tree.leaves()
    assert leaves[0] == tree.winner()
    losers = [rev for rev, _ in leaves[1:]]
    assert sorted(tree.conflicts() + tree.deleted_conflicts()) == sorted(losers)
    assert all(not tree.is_deleted(c) for c in tree.conflicts())
    assert all(tree.is_deleted(c) for c in tree.deleted_conflicts())


@settings(max_examples=200, deadline=None)
@given(tree=rev_trees())
def test_json_round_trip_property(tree):
    assert RevTree.from_json(tree.to_json()) == tree


@settings(max_examples=200, deadline=None)
@given(tree=rev_trees())
def test_leaves_under_finds_exactly_the_descendant_leaves(tree):
    leaves = {rev for rev, _ in tree.leaves()}
    for rev in tree.iter_revs():
        below = {leaf for leaf in leaves if rev in tree.ancestry(leaf)}
        assert set(tree.leaves_under(rev)) == below


@settings(max_examples=300, deadline=None)
@given(tree=rev_trees(), limit=st.integers(1, 6))
def test_stemming_keeps_limit_revisions_below_each_leaf(tree, limit):
    original = tree.copy()
    stemmed = tree.copy()
    dropped = stemmed.stem(limit)

    assert set(dropped) == set(original.nodes) - set(stemmed.nodes)
    assert stemmed.leaves() == original.leaves()
    assert stemmed.winner() == original.winner()
    for leaf, _ in original.leaves():
        kept = original.ancestry(leaf)[:limit]
        # The newest `limit` revisions of every branch survive, linked as before.
        assert stemmed.ancestry(leaf)[: len(kept)] == kept
    for rev, (parent, deleted) in stemmed.nodes.items():
        assert deleted == original.is_deleted(rev)
        assert parent in (None, original.nodes[rev][0]), "stemming never invents a parent"
        depth = min(
            original.ancestry(leaf).index(rev)
            for leaf, _ in original.leaves() if rev in original.ancestry(leaf)
        )
        assert depth < limit, f"{rev} is {depth} below its nearest leaf, limit {limit}"
    assert stemmed.stem(limit) == [], "stemming twice drops nothing more"
