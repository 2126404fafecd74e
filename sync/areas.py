"""The administrative tree (aimag > soum > bag; city > district > khoroo).

Areas are documents of the ``global`` scope (``global:area:<code>``), so every
device knows the tree. An area that ``holds_data`` is also a scope of its own.
Reading the whole tree on every request would cost a scan, so the parsed tree
is reused while the ``global`` scope's update sequence has not moved: the store
stays the only source of truth.
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from dataclasses import dataclass

from sync import records
from sync.clock import now_iso
from sync.errors import BadRequest, Conflict, NotFound
from sync.scopes import GLOBAL
from sync.stores.base import Store

AREA_PREFIX = "global:area:"
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
LEVELS = ("country", "aimag", "soum", "bag", "city", "district", "khoroo")


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

        Rows are checked all first, so a bad file changes nothing; parents may
        come later in the file than their children.
        """
        reader = csv.DictReader(io.StringIO(text))
        need = {"code", "name_en"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise BadRequest("CSV needs at least the columns code,name_en")
        rows = []
        for lineno, row in enumerate(reader, start=2):
            code = (row.get("code") or "").strip()
            if not CODE_RE.match(code):
                raise BadRequest(f"line {lineno}: bad area code {code!r}")
            flag = (row.get("holds_data") or "").strip().lower()
            if flag not in ("", "0", "1", "true", "false", "yes", "no"):
                raise BadRequest(f"line {lineno}: holds_data must be true or false")
            rows.append({
                "code": code, "name_en": (row.get("name_en") or "").strip(),
                "name_mn": (row.get("name_mn") or "").strip() or None,
                "parent": (row.get("parent") or "").strip() or None,
                "level": (row.get("level") or "").strip() or None,
                "holds_data": flag in ("1", "true", "yes"),
            })
        tree = self.tree()
        seen: set[str] = set()
        for r in rows:
            if r["code"] == GLOBAL:
                raise BadRequest(f"area code {GLOBAL!r} is reserved")
            if r["code"] in seen:
                raise BadRequest(f"area {r['code']!r} appears twice in the file")
            seen.add(r["code"])
            if not r["name_en"]:
                raise BadRequest(f"area {r['code']!r} needs name_en")
            if r["level"] is not None and r["level"] not in LEVELS:
                raise BadRequest(f"area {r['code']!r}: level must be one of {', '.join(LEVELS)}")
        # The tree as it will be once the file is in: the file's parent links replace the store's.
        parents = {code: a.parent for code, a in tree.areas.items()}
        parents.update({r["code"]: r["parent"] for r in rows})
        for r in rows:
            if r["parent"] and r["parent"] not in parents:
                raise BadRequest(f"area {r['code']!r}: parent {r['parent']!r} is not in the file or the store")
            chain, code = {r["code"]}, r["parent"]
            while code is not None:
                if code in chain:
                    raise BadRequest(f"area {r['code']!r}: its parent links form a cycle")
                chain.add(code)
                code = parents.get(code)
        # Shallowest first in the tree to be: every add() then finds its parent, and the
        # links above it are already the final ones, so nothing can fail from here on.
        def depth(code: str | None) -> int:
            n = 0
            while code is not None:
                code, n = parents.get(code), n + 1
            return n

        for r in sorted(rows, key=lambda r: depth(r["code"])):
            code = r.pop("code")
            self.add(code, replace=True, **r)
        return len(rows)
