"""The administrative tree (aimag > soum > bag; city > district > khoroo).

Areas are documents of the ``global`` scope (``global:area:<code>``), so every
device knows the tree. An area that ``holds_data`` is also a scope of its own.
Reading the whole tree on every request would cost a scan, so the parsed tree
is reused while the ``global`` scope's update sequence has not moved: the store
stays the only source of truth.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sync import area_csv, records
from sync.clock import now_iso
from sync.errors import BadRequest, Conflict, NotFound
from sync.quiet import QUIET
from sync.scopes import GLOBAL
from sync.stores.base import Store

AREA_PREFIX = "global:area:"
CODE_RE = area_csv.CODE_RE
LEVELS = area_csv.LEVELS


@dataclass(frozen=True)
class Area:
    code: str
    name: dict
    parent: str | None
    level: str | None
    holds_data: bool


class AreaTree:
    def __init__(self, areas: dict[str, Area]):
        self.areas = areas
        self.children: dict[str, list[str]] = {}
        for a in areas.values():
            if a.parent:
                self.children.setdefault(a.parent, []).append(a.code)
        for kids in self.children.values():
            kids.sort()

    def covered(self, codes) -> set[str]:
        """The areas named and everything below them (an aimag covers its soums)."""
        out: set[str] = set()
        stack = [c for c in codes if c in self.areas]
        while stack:
            code = stack.pop()
            if code not in out:
                out.add(code)
                stack.extend(self.children.get(code, ()))
        return out

    def data_scopes(self, codes=None) -> list[str]:
        pool = self.areas if codes is None else self.covered(codes)
        return sorted(c for c in pool if self.areas[c].holds_data)

    def roots(self) -> list[str]:
        return sorted(c for c, a in self.areas.items() if not a.parent or a.parent not in self.areas)


def _area_of(doc: dict) -> Area:
    return Area(doc["code"], doc.get("name") or {}, doc.get("parent"), doc.get("level"),
                bool(doc.get("holds_data")))


def area_doc_id(code: str) -> str:
    return AREA_PREFIX + code


class AreaRegistry:
    """The area tree of one store. ``cache_seconds`` (the CouchDB store's default, as for
    forms and accounts) skips even the sequence check for so long after the last one: every
    request asks for the tree, and on CouchDB the check is a round trip. An area added through
    another app server is then seen within that bound; through this one, at once: the tree is
    a range read, which on a CouchDB cluster may come from a copy that lacks a write for a
    moment, so the areas this process wrote lately are read again by id, a quorum read."""

    OWN_WRITES_SECONDS = 60.0  # far beyond a cluster's lag between copies

    def __init__(self, store: Store, cache_seconds: float = 0):
        self.store = store
        self.cache_seconds = cache_seconds
        self._cache: tuple[object, AreaTree] | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self._written: dict[str, float] = {}  # area code -> when this process last wrote it

    def tree(self) -> AreaTree:
        cached = self._cache
        if cached is not None and time.monotonic() - self._checked_at < self.cache_seconds:
            return cached[1]
        db = self.store.ensure(GLOBAL)
        seq = QUIET.update_seq(self.store, GLOBAL, db.update_seq)  # not asked while global is unchanged
        if seq is None:
            seq = db.update_seq()
        self._checked_at = time.monotonic()
        with self._lock:
            if self._cache and self._cache[0] == seq:
                return self._cache[1]
        areas = {doc["code"]: _area_of(doc) for doc in records.iter_docs(db, AREA_PREFIX)}
        own = self._own_recent_writes()
        if own:
            for row in db.all_docs(keys=[area_doc_id(code) for code in own], include_docs=True):
                if row.get("doc"):
                    areas[row["doc"]["code"]] = _area_of(row["doc"])
        tree = AreaTree(areas)
        with self._lock:
            self._cache = (seq, tree)
        return tree

    def _own_recent_writes(self) -> list[str]:
        with self._lock:
            horizon = time.monotonic() - self.OWN_WRITES_SECONDS
            for code in [c for c, at in self._written.items() if at < horizon]:
                del self._written[code]
            return sorted(self._written)

    def add(self, code: str, *, name_en: str, name_mn: str | None = None, parent: str | None = None,
            level: str | None = None, holds_data: bool = False, replace: bool = False) -> Area:
        if not isinstance(code, str) or not CODE_RE.match(code) or code == GLOBAL:
            raise BadRequest(f"Area code {code!r} must be lowercase letters, digits and '-'")
        if not name_en:
            raise BadRequest(f"Area {code!r} needs an English name")
        if level is not None and level not in LEVELS:
            raise BadRequest(f"level must be one of {', '.join(LEVELS)}")
        tree = self.tree()
        if parent is not None:
            if parent not in tree.areas:
                raise NotFound(f"parent area {parent!r} does not exist")
            if code in tree.covered([code]) and parent in tree.covered([code]):
                raise BadRequest(f"{parent!r} is inside {code!r}: an area cannot be its own ancestor")
        if code in tree.areas and not replace:
            raise Conflict(f"area {code!r} already exists")
        db = self.store.ensure(GLOBAL)
        doc = {"type": "area", "code": code, "name": {"en": name_en, "mn": name_mn or name_en},
               "parent": parent, "level": level, "holds_data": holds_data, "updated_at": now_iso()}
        records.upsert(db, area_doc_id(code), lambda current: {**current, **doc})
        with self._lock:
            self._written[code] = time.monotonic()
            self._cache = None  # this process sees its own change at once
        self._checked_at = float("-inf")
        if holds_data:
            self.store.ensure(code)
        return Area(code, doc["name"], parent, level, holds_data)

    def import_csv(self, text: str) -> int:
        """Add or update areas from CSV (``code,name_en,name_mn,parent,level,holds_data``).

        Rows are checked all first (``sync.area_csv``), so a bad file changes
        nothing and its every problem is reported, with row and column (in
        ``extra["problems"]``); parents may come later in the file than their children.
        """
        parents = {code: a.parent for code, a in self.tree().areas.items()}
        rows, problems = area_csv.read(text, parents)
        if problems:
            shown = "; ".join(str(p) for p in problems[:20])
            more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
            raise BadRequest(f"The area file has {len(problems)} problem(s): {shown}{more}",
                             extra={"problems": [p.to_json() for p in problems]})
        # Shallowest first: every add() then finds its parent, and the links above it are
        # already the final ones, so nothing can fail from here on.
        for r in area_csv.depth_order(rows, parents):
            self.add(r["code"], name_en=r["name_en"], name_mn=r["name_mn"], parent=r["parent"],
                     level=r["level"], holds_data=r["holds_data"], replace=True)
        return len(rows)
