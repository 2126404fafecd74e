"""Revisions compared field by field, and the three-way merge that settles
disjoint edits.

A *field* is the deepest place where the revisions disagree and are not all
objects: when every revision holds an object at ``data``, the comparison goes
inside it (``/data/bag``, ``/data/remarks``); where one holds an object and
another a number, or leaves the key out, the whole value is one field. So no
field is inside another, and taking each field's value from some revision
always builds a well-formed document. Lists (repeats, multiple choices) are
one value each: merging inside a list would need to know which entries are
"the same" across devices, which nothing in a list says.

Fields are named by JSON Pointers (RFC 6901), so a key holding ``/`` or ``.``
stays unambiguous in the API. Attachments take part as ``/_attachments/<name>``,
compared by digest.

The merge rule (per field, against the *base*, the newest revision every leaf
descends from): the revisions that changed the field all agree on its new
value, so that value wins; otherwise the field is *overlapping* and a person
decides. Without a base nothing can be told apart, so every differing field
is overlapping. Bookkeeping timestamps (``updated_at``, ``modified_at``) are
not worth a person's time: the latest wins. A list the caller names
append-only (a review's comment thread and history) to which each side only
added entries gets every side's entries, in time order (``at``) when they
have one: picking one side would drop the other's comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from sync.errors import BadRequest


class _Missing:
    """The value of a key a revision does not have."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
Path = tuple[str, ...]
LATEST_WINS = {("updated_at",), ("modified_at",)}


def pointer(path: Path) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in path)


def parse_pointer(text: object) -> Path:
    if not isinstance(text, str) or not text.startswith("/"):
        raise BadRequest(f"A field is named by a JSON pointer such as /data/bag, not {str(text)[:80]!r}")
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/"))


def comparable(doc: dict) -> dict:
    """What takes part in the comparison: the body without specials, attachments by digest."""
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    atts = doc.get("_attachments")
    if atts:
        # A kept base is already in this form (digests): comparing it again changes nothing.
        out["_attachments"] = {name: att.get("digest") if isinstance(att, dict) else att
                               for name, att in atts.items()}
    return out


def same(a: Any, b: Any) -> bool:
    """JSON equality: ``1``, ``1.0`` and ``true`` are three different answers."""
    if a is MISSING or b is MISSING:
        return a is b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict | list):
        return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)
    return a == b


def value_at(body: dict, path: Path) -> Any:
    node: Any = body
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def with_value(body: dict, path: Path, value: Any) -> dict:
    """A copy of ``body`` with the value at ``path`` set (``MISSING`` removes the key)."""
    out = dict(body)
    node = out
    for part in path[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    if value is MISSING:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out


def differing_fields(bodies: list[dict]) -> list[Path]:
    """The fields where the bodies disagree, in key order (see the module docstring)."""
    out: list[Path] = []

    def walk(values: list[Any], path: Path) -> None:
        if all(same(values[0], v) for v in values[1:]):
            return
        if path and not all(isinstance(v, dict) for v in values):
            out.append(path)
            return
        keys = sorted({k for v in values for k in v})
        for key in keys:
            walk([v.get(key, MISSING) for v in values], (*path, key))

    walk(list(bodies), ())
    return out


@dataclass
class FieldChoice:
    """One differing field: each leaf's value, the base's, and what the merge rule says."""

    path: Path
    values: list[Any]  # one per leaf, the winner first
    base: Any  # MISSING when the base lacks it; None when there is no base at all
    choice: int | None  # the leaf whose value the rule picks; None when overlapping or appended
    rule: str  # "changed" (one side), "latest" (bookkeeping), "appended", "overlapping"
    merged: Any = MISSING  # the value an "appended" field gets

    @property
    def pointer(self) -> str:
        return pointer(self.path)

    @property
    def overlapping(self) -> bool:
        return self.rule == "overlapping"

    @property
    def pick(self) -> int | Appended | None:
        """What ``merged_body`` takes for this field when nobody chooses otherwise."""
        if self.rule == "appended":
            return Appended(self.merged)
        return self.choice


@dataclass(frozen=True)
class Appended:
    """A field's value made from every side's additions (see ``plan``)."""

    value: Any


def _appended(values: list[Any], base: Any) -> Any:
    """Every side's entries added to the base list, or MISSING when a side did more than add."""
    if not isinstance(base, list) or not all(isinstance(v, list) for v in values):
        return MISSING
    start = len(base)
    if not all(len(v) >= start and same(v[:start], base) for v in values):
        return MISSING
    added: list[Any] = []
    for value in values:
        for entry in value[start:]:
            if not any(same(entry, seen) for seen in added):
                added.append(entry)
    if all(isinstance(e, dict) and isinstance(e.get("at"), str) for e in added):
        added.sort(key=lambda e: e["at"])  # stable: equal times keep the winner's first
    return [*base, *added]


def plan(leaves: list[dict], base: dict | None,
         append_only: frozenset[Path] = frozenset()) -> list[FieldChoice]:
    """Each differing field of ``leaves`` (winner first) with the merge rule's choice."""
    bodies = [comparable(leaf) for leaf in leaves]
    base_body = comparable(base) if base is not None else None
    out = []
    for path in differing_fields(bodies):
        values = [value_at(b, path) for b in bodies]
        base_value = value_at(base_body, path) if base_body is not None else None
        if path in LATEST_WINS and all(isinstance(v, str) for v in values):
            latest = max(range(len(values)), key=lambda i: values[i])
            out.append(FieldChoice(path, values, base_value, latest, "latest"))
            continue
        choice = None
        if base_body is not None:
            changed = [i for i, v in enumerate(values) if not same(v, base_value)]
            if changed and all(same(values[changed[0]], values[i]) for i in changed[1:]):
                choice = changed[0]
            elif path in append_only:
                merged = _appended(values, base_value)
                if merged is not MISSING:
                    out.append(FieldChoice(path, values, base_value, None, "appended", merged))
                    continue
        out.append(FieldChoice(path, values, base_value, choice,
                               "changed" if choice is not None else "overlapping"))
    return out


def merged_body(leaves: list[dict], picks: dict[Path, int | Appended]) -> dict:
    """The winner's comparable body with each picked field taken from the leaf named
    (or, for an ``Appended`` pick, given its merged value)."""
    bodies = [comparable(leaf) for leaf in leaves]
    out = bodies[0]
    for path, pick in picks.items():
        value = pick.value if isinstance(pick, Appended) else value_at(bodies[pick], path)
        out = with_value(out, path, value)
    return out
