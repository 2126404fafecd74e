"""The soum coordinator's report figures, kept per area in the store and read in one request.

A report over an area (children measured in the last 3 months, stunting,
wasting and underweight prevalence, LQAS results) must not read the area
through on each page view: a soum with 50,000 children would be read whole
every time. So, as ``sync.subindex`` does for the lists, the server follows
each area's changes feed and keeps, in the ``_reports`` system scope:

* ``<area>:child:<hash of child id>``: one child's growth visits (date, bag and
  what the visit adds to the counts: classes and flags from the server's
  derived document, ``sync.derived``); the newest visit is the one counted;
* ``<area>:visit:<key>``: which child a visit was counted for, to move it when
  an edit changes the child id, and to take it away when the visit is deleted;
* ``<area>:cb:<bag>\x1f<date>:<hash>``: the bag's list of children by the date
  of their newest visit (the longest unmeasured first), with that visit;
* ``<area>:sup:<day>``: the visits that stopped being their child's newest on
  ``day`` (a later-dated visit came), by bag and by their own date, with their
  counts: what a report as of a day before ``day`` counts for those children;
* ``<area>:lq:<key>``: one LQAS interview's supervision area, its households
  (the sampling frame's figure), its day and each indicator's 1/0/None;
* ``<area>:meta``: how far the feed has been read and the aggregate: per bag
  and date of the children's newest visit, the counts of children, of those
  classified, flagged, moderate and severe per indicator (dates older than the
  longest window behind the oldest day a report may ask, 48 months, merged into
  one bucket of children only); per supervision area and indicator the correct
  answers and the eligible respondents, in all and per interview day, and the fingerprint of the LQAS rules the values were made
  with (``sync.lqas_setup``): when an admin changes a rule, the area is counted
  again from the start, since each interview's 1/0/None may change.

A report then reads one ``meta`` per area, and the ``sup`` rows after its day
(none for today but visits dated ahead): a child counts by its newest visit
dated up to the day, so any "as of" day and window are sums of buckets, whatever
the number of children. Refreshing reads only
what changed (bounded per request), and one app server at a time refreshes an
area (a lease in ``meta``, a revision-checked write), as ``sync.subindex``.
"""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from programmes import lqas_survey
from programmes.growth_visit import FORM as GROWTH_FORM
from sync import ids, records
from sync.errors import Conflict
from sync.lqas_setup import Catchment, LqasSetup, Survey
from sync.stores.base import Database, Store

REPORTS_SCOPE = "_reports"
LEASE_SECONDS = 30.0
FORMAT = 3  # 2: the bags' lists of children (<area>:cb:); 3: superseded visits (<area>:sup:), LQAS by day
INDICATORS = {"stunting": "flen", "wasting": "fwfl", "underweight": "fwei"}  # class -> its flag
WINDOW_DAYS = 91  # "the last 3 months": the day and the 90 before it


MAX_MONTHS = 24  # the longest window a report may ask for
MAX_BACK_MONTHS = 24  # how far back a report "as of" a past day may go
OLD = "0000-00-00"  # the bucket of children whose newest visit is older than any window


def window_days(months: int) -> int:
    """Days of "the last ``months`` months", the day of the report included (3 months: 91)."""
    return round(months * 30.4375)


def floor_day(today: date | None = None) -> str:
    """Newest visits before this day can never be "measured": their buckets are merged into ``OLD``."""
    return ((today or date.today()) - timedelta(days=window_days(MAX_MONTHS) + window_days(MAX_BACK_MONTHS))).isoformat()


def earliest_as_of(today: date | None = None) -> date:
    """The oldest day a report may be asked "as of": its longest window still lies above ``floor_day``."""
    return (today or date.today()) - timedelta(days=window_days(MAX_BACK_MONTHS))
_ME = uuid.uuid4().hex


def child_doc_id(area: str, child_id: str) -> str:
    """A child's row: the id is hashed, since a register id may hold any character."""
    return f"{area}:child:{hashlib.sha1(child_id.encode()).hexdigest()}"


def visit_counts(derived: dict | None) -> dict[str, int]:
    """What one visit adds to its bucket: ``children`` and, per indicator, n/flagged/moderate/severe.

    ``n`` is the children the indicator classifies (flagged and missing
    z-scores are not classified, oedema is severe wasting/underweight:
    ``programmes.nutrition``), so prevalence is (moderate + severe) / n.
    """
    counts = {"children": 1}
    values = (derived or {}).get("derived") or {}
    for name, flag in INDICATORS.items():
        if values.get(flag) == 1:
            counts[f"{name}.flagged"] = 1
        klass = values.get(name)
        if klass is not None:
            counts[f"{name}.n"] = 1
            if klass in ("moderate", "severe"):
                counts[f"{name}.{klass}"] = 1
    return counts


@dataclass
class Refreshed:
    changes: int = 0
    done: bool = True
    busy: bool = False


@dataclass
class GrowthRow:
    bag: str
    children: int = 0
    measured: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def share(self) -> float | None:
        return self.measured / self.children if self.children else None

    def prevalence(self, name: str) -> float | None:
        n = self.counts.get(f"{name}.n", 0)
        cases = self.counts.get(f"{name}.moderate", 0) + self.counts.get(f"{name}.severe", 0)
        return cases / n if n else None


class ReportIndex:
    def __init__(self, store: Store, survey: Survey | None = None):
        self.store = store
        self._survey = survey

    @property
    def survey(self) -> Survey:
        """The LQAS set-up, read once per index (a report view makes one index)."""
        if self._survey is None:
            self._survey = LqasSetup(self.store).get()
        return self._survey

    def db(self) -> Database:
        return self.store.ensure(REPORTS_SCOPE)

    # -- reading ------------------------------------------------------------------------
    def metas(self, areas: Iterable[str]) -> dict[str, dict]:
        """Each area's aggregate (``{}`` for an area never refreshed), in one read."""
        keys = [f"{a}:meta" for a in areas]
        return {row["key"].rsplit(":", 1)[0]: row.get("doc") or {}
                for row in self.db().all_docs(keys=keys, include_docs=True)}

    def child_visits(self, area: str, child_id: str) -> list[str]:
        """The submission ids of one child's visits in ``area``, oldest first (by visit date)."""
        row = records.read(self.db(), child_doc_id(area, child_id))
        gen = (records.read(self.db(), f"{area}:meta") or {}).get("gen", 0)
        if row is None or row.get("child") != child_id or row.get("gen", 0) != gen:
            return []
        visits = row.get("visits") or {}
        return [f"{area}:{ids.SUBMISSION}:{k}" for k, _ in sorted(visits.items(), key=lambda kv: (kv[1]["d"], kv[0]))]

    def children(self, area: str, bag: str, *, after: str | None = None, limit: int = 50) -> tuple[list[dict], str | None]:
        """A bag's children, the longest unmeasured first (by their newest visit); and where the next page starts."""
        prefix = f"{area}:cb:{bag}\x1f"
        gen = (records.read(self.db(), f"{area}:meta") or {}).get("gen", 0)
        start = after if after and after.startswith(prefix) else prefix
        rows: list[dict] = []
        while len(rows) <= limit:  # rows of an older generation (garbage) are passed over
            got = list(self.db().all_docs(startkey=start, endkey=prefix + "\uffff", include_docs=True,
                                          limit=limit + 2))
            fresh = [r for r in got if r["id"] != start or start == prefix]
            rows += [r["doc"] for r in fresh if r["doc"].get("gen", 0) == gen]
            if len(got) < limit + 2 or not fresh:
                break
            start = got[-1]["id"]
        page = rows[:limit]
        return page, (page[-1]["_id"] if len(rows) > limit else None)

    # -- following the area ---------------------------------------------------------------
    def refresh(self, area: str, *, max_changes: int = 2000, batch: int = 500) -> Refreshed:
        """Count what changed in ``area`` since the last refresh, at most ``max_changes`` changes."""
        if not self.store.exists(area):
            return Refreshed()
        src, idx = self.store.open(area), self.db()
        meta_id = f"{area}:meta"
        meta = records.read(idx, meta_id) or {"_id": meta_id, "type": "reports", "seq": None}
        epoch, rules = src.epoch(), self.survey.fingerprint
        if meta.get("epoch") not in (None, epoch) or (meta.get("seq") is not None and (
                meta.get("format") != FORMAT or meta.get("rules") != rules)):
            self._reset(area, meta)
        if meta.get("seq") is not None and meta.get("epoch") == epoch and meta.get("format") == FORMAT \
                and meta.get("rules") == rules and not meta.get("lease_by") and meta["seq"] == src.update_seq() \
                and meta.get("swept") == date.today().isoformat():
            return Refreshed()  # nothing new: no lease written, so a report view only reads
        if meta.get("lease_by") not in (None, _ME) and meta.get("lease_until", 0) > time.time():
            return Refreshed(done=False, busy=True)
        meta.setdefault("growth", {})
        meta.setdefault("lqas", {})
        meta.setdefault("lqas_days", {})
        meta["floor"] = max(meta.get("floor") or OLD, floor_day())
        _compact(meta["growth"], meta["floor"])
        meta.update(epoch=epoch, format=FORMAT, rules=rules, lease_by=_ME, lease_until=time.time() + LEASE_SECONDS)
        try:
            records.write(idx, meta)
        except Conflict:
            return Refreshed(done=False, busy=True)
        result = Refreshed()
        try:
            if meta.get("swept") != date.today().isoformat():
                self._sweep_replaced(area, idx)
                meta["swept"] = date.today().isoformat()
            while result.changes < max_changes:
                feed = src.changes(meta.get("seq") if meta.get("seq") is not None else 0, limit=batch)
                keys: set[str] = set()
                revs: dict[str, str] = {}  # the revisions the feed announced
                rows = 0
                for row in feed:
                    rows += 1
                    parsed = ids.parse_doc_id(row["id"])
                    if parsed is not None and parsed.kind in (ids.SUBMISSION, ids.DERIVED):
                        keys.add(parsed.key)
                        if row.get("changes"):
                            revs[row["id"]] = row["changes"][0].get("rev")
                if rows == 0:
                    if feed.last_seq is not None:
                        meta["seq"] = feed.last_seq
                    break
                try:
                    self._apply(area, src, idx, keys, meta, revs)
                except _Behind:
                    # A cluster answered the read from a copy older than the feed: nothing written and
                    # the feed not moved on, so the next view reads these changes again.
                    result.done, result.busy = False, True
                    break
                except Conflict:
                    # A row changed under us (another server past its lease, or a cluster read
                    # behind a write), and some rows of the batch may be written: counts and rows
                    # no longer agree, so the area is counted again from the start.
                    self._reset(area, meta)
                    result.done, result.busy = False, True
                    break
                meta["seq"] = feed.last_seq
                result.changes += rows
                meta["lease_until"] = time.time() + LEASE_SECONDS
                records.write(idx, meta)
            else:
                result.done = False
        finally:
            meta.update(lease_by=None, lease_until=0)
            try:
                records.write(idx, meta)
            except Conflict:
                pass
        return result

    def rebuild(self, area: str) -> int:
        """Count ``area`` again from nothing (a new generation); how many changes were read."""
        meta = records.read(self.db(), f"{area}:meta")
        if meta is not None:
            self._reset(area, meta)
            records.write(self.db(), meta)
        return self.refresh_all(area)

    def _reset(self, area: str, meta: dict) -> None:
        """Start a new generation: rows of older ones count as absent (a cluster may still show a
        deleted row for a moment, and a row left from an interrupted batch must not count)."""
        meta.update(seq=None, growth={}, lqas={}, lqas_days={}, gen=meta.get("gen", 0) + 1)
        meta.pop("floor", None)  # counted again from the start: the floor is today's
        try:
            self._drop_area(area)  # the old rows are garbage now; removing them only saves space
        except Conflict:
            pass

    def refresh_all(self, area: str) -> int:
        total = 0
        while True:
            step = self.refresh(area, max_changes=100_000, batch=1000)
            total += step.changes
            if step.done:
                return total
            if step.busy:
                time.sleep(0.2)

    def _apply(self, area: str, src: Database, idx: Database, keys: set[str], meta: dict,
               revs: dict[str, str] | None = None) -> None:
        if not keys:
            return
        ordered = sorted(keys)
        wanted = [f"{area}:{ids.SUBMISSION}:{k}" for k in ordered] + [f"{area}:{ids.DERIVED}:{k}" for k in ordered]
        found = list(src.all_docs(keys=wanted, include_docs=True))
        read = {r["id"]: (r.get("value") or {}).get("rev") for r in found if "value" in r}
        if any(_generation(read.get(docid)) < _generation(rev) for docid, rev in (revs or {}).items()):
            raise _Behind(area)  # before anything is counted or written (a newer one is fine: counted now)
        current = {r["id"]: r["doc"] for r in found if r.get("doc")}
        rec_ids = [f"{area}:visit:{k}" for k in ordered] + [f"{area}:lq:{k}" for k in ordered]
        gen = meta.get("gen", 0)
        found_recs = [r["doc"] for r in idx.all_docs(keys=rec_ids, include_docs=True) if r.get("doc")]
        rev_of = {d["_id"]: d["_rev"] for d in found_recs}  # any generation: what a write replaces
        recs = {d["_id"]: d for d in found_recs if d.get("gen", 0) == gen}
        writes: dict[str, dict] = {}
        children: dict[str, dict] = {}  # child doc id -> row being changed
        # The rows of every child these changes touch, in one read (old child of a visit, new one).
        touched = {(recs.get(f"{area}:visit:{k}") or {}).get("child") for k in ordered}
        touched |= {((current.get(f"{area}:{ids.SUBMISSION}:{k}") or {}).get("data") or {}).get("child_id")
                    if isinstance((current.get(f"{area}:{ids.SUBMISSION}:{k}") or {}).get("data"), dict) else None
                    for k in ordered}
        wanted_rows = [child_doc_id(area, c) for c in touched if isinstance(c, str) and c]
        found_rows = [r["doc"] for r in idx.all_docs(keys=wanted_rows, include_docs=True)
                      if r.get("doc")] if wanted_rows else []
        rev_of.update({d["_id"]: d["_rev"] for d in found_rows})
        stored_rows = {d["_id"]: d for d in found_rows if d.get("gen", 0) == gen}

        def child_row(child: str) -> dict:
            did = child_doc_id(area, child)
            if did not in children:
                found = stored_rows.get(did)
                children[did] = found or {"_id": did, **({"_rev": rev_of[did]} if did in rev_of else {}),
                                          "type": "report-child", "child": child, "visits": {}, "gen": gen}
                children[did]["_old"] = _newest(children[did].get("visits") or {})
                children[did]["_before"] = dict(children[did].get("visits") or {})
            return children[did]

        for key in ordered:
            sub = current.get(f"{area}:{ids.SUBMISSION}:{key}")
            live = sub if sub and sub.get("type") == "submission" else None
            data = (live or {}).get("data") if isinstance((live or {}).get("data"), dict) else {}
            # growth visits
            visit_id = f"{area}:visit:{key}"
            old_child = (recs.get(visit_id) or {}).get("child")
            new_child = data.get("child_id") if live and live.get("form") == GROWTH_FORM else None
            new_child = new_child if isinstance(new_child, str) and new_child else None
            if old_child and old_child != new_child:
                child_row(old_child)["visits"].pop(key, None)
            if new_child:
                derived = current.get(f"{area}:{ids.DERIVED}:{key}")
                if derived and derived.get("about") != live["_id"]:
                    derived = None
                visit_date = data.get("visit_date") if isinstance(data.get("visit_date"), str) else ""
                bag = data.get("bag") if isinstance(data.get("bag"), str) else ""
                name = data.get("child_name") if isinstance(data.get("child_name"), str) else ""
                child_row(new_child)["visits"][key] = {"d": visit_date[:10], "b": bag.strip()[:100],
                                                       "c": visit_counts(derived), "n": name[:100]}
            if old_child != new_child or (new_child and visit_id not in recs):
                rev = {"_rev": rev_of[visit_id]} if visit_id in rev_of else {}
                if new_child:
                    writes[visit_id] = {"_id": visit_id, **rev, "child": new_child, "gen": gen}
                elif rev:
                    writes[visit_id] = {"_id": visit_id, **rev, "_deleted": True}
            # LQAS interviews
            lq_id = f"{area}:lq:{key}"
            old_lq = recs.get(lq_id)
            new_lq = _interview(data, self.survey.indicators) if live and live.get("form") == lqas_survey.FORM else None
            old_body = {k: v for k, v in (old_lq or {}).items() if not k.startswith("_") and k != "gen"} or None
            if old_body != new_lq:
                _count_lqas(meta["lqas"], old_body, -1)
                _count_lqas(meta["lqas"], new_lq, +1)
                _count_lqas_day(meta.setdefault("lqas_days", {}), old_body, -1)
                _count_lqas_day(meta["lqas_days"], new_lq, +1)
                rev = {"_rev": rev_of[lq_id]} if lq_id in rev_of else {}
                if new_lq:
                    writes[lq_id] = {"_id": lq_id, **rev, **new_lq, "gen": gen}
                elif rev:
                    writes[lq_id] = {"_id": lq_id, **rev, "_deleted": True}
        listed_ids = {did: _listed_id(area, row["_old"], did) for did, row in children.items() if row["_old"]}
        new_ids = {did: _listed_id(area, new, did) for did, row in children.items()
                   if (new := _newest(row["visits"]))}
        look = sorted({*listed_ids.values(), *new_ids.values()})
        listed = {r["id"]: r["value"]["rev"] for r in idx.all_docs(keys=look)
                  if "value" in r and not r["value"].get("deleted")} if look else {}
        replaced: dict[str, dict] = {}  # day -> bag -> date of the visit replaced that day -> counts
        for did, row in children.items():
            old = row.pop("_old")
            new = _newest(row["visits"])
            for day, gone in _superseded(row.pop("_before")):
                _count_day(replaced.setdefault(day, {}), gone, -1)
            for day, gone in _superseded(row["visits"]):
                _count_day(replaced.setdefault(day, {}), gone, +1)
            _count_growth(meta["growth"], old, -1, meta["floor"])
            _count_growth(meta["growth"], new, +1, meta["floor"])
            if row["visits"]:
                writes[did] = row
            elif "_rev" in row:
                writes[did] = {"_id": did, "_rev": row["_rev"], "_deleted": True}
            # The bag's list of children, by the date of their newest visit.
            old_id, new_id = listed_ids.get(did), _listed_id(area, new, did) if new else None
            if old_id and old_id != new_id and old_id in listed:
                writes[old_id] = {"_id": old_id, "_rev": listed[old_id], "_deleted": True}
            if new_id and (new_id != old_id or new != old):
                writes[new_id] = {"_id": new_id, **({"_rev": listed[new_id]} if new_id in listed else {}),
                                  "child": row["child"], **new, "gen": gen}
        writes.update(self._replaced_writes(area, idx, replaced, gen))
        if writes:
            for result in idx.bulk_docs(list(writes.values()), new_edits=True):
                if "error" in result:
                    raise Conflict(f"report index write failed: {result}")

    def _replaced_writes(self, area: str, idx: Database, replaced: dict[str, dict], gen: int) -> dict[str, dict]:
        """The ``<area>:sup:<day>`` rows changed by ``replaced`` (per day, what was added and taken away)."""
        horizon = earliest_as_of().isoformat()  # a row of a day up to it is never read (``superseded``)
        changed = {day: per_bag for day, per_bag in replaced.items() if day > horizon and _nonzero(per_bag)}
        if not changed:
            return {}
        keys = [f"{area}:sup:{day}" for day in sorted(changed)]
        found = {r["id"]: r["doc"] for r in idx.all_docs(keys=keys, include_docs=True) if r.get("doc")}
        out = {}
        for day, per_bag in changed.items():
            rid = f"{area}:sup:{day}"
            doc = found.get(rid)
            growth = (doc or {}).get("growth") or {} if (doc or {}).get("gen", 0) == gen else {}
            for bag, days in per_bag.items():
                for d, counts in days.items():
                    _count_day(growth, {"b": bag, "d": d, "c": counts}, +1)
            rev = {"_rev": doc["_rev"]} if doc else {}
            if growth:
                out[rid] = {"_id": rid, **rev, "type": "report-superseded", "growth": growth, "gen": gen}
            elif rev:
                out[rid] = {"_id": rid, **rev, "_deleted": True}
        return out

    def _sweep_replaced(self, area: str, idx: Database) -> None:
        """Drop the ``sup`` rows of days no report may ask any more (once a day, under the lease), as the
        aggregate merges its old buckets: the rows stay as many as the days of ``MAX_BACK_MONTHS``."""
        end = f"{area}:sup:{earliest_as_of().isoformat()}\uffff"
        while True:
            rows = list(idx.all_docs(startkey=f"{area}:sup:", endkey=end, limit=500))
            if not rows:
                return
            done = idx.bulk_docs([{"_id": r["id"], "_rev": r["value"]["rev"], "_deleted": True} for r in rows])
            if len(rows) < 500 or any("error" in d for d in done):
                return  # a row changed meanwhile: swept again tomorrow

    def superseded(self, metas: dict[str, dict], after: date) -> dict[str, list[dict]]:
        """Per area, the visits replaced by a newer one after ``after`` (``<area>:sup:<day>``, day > after):
        what a report as of ``after`` counts in place of the children's newer visits. One range read per
        area; as of today, only visits dated in the future (a device's clock ahead) are there."""
        out = {}
        for area, meta in metas.items():
            start = f"{area}:sup:{(after + timedelta(days=1)).isoformat()}"
            gen = meta.get("gen", 0)
            rows = self.db().all_docs(startkey=start, endkey=f"{area}:sup:\uffff", include_docs=True)
            out[area] = [r["doc"] for r in rows if r.get("doc") and r["doc"].get("gen", 0) == gen]
        return out

    def _drop_area(self, area: str) -> None:
        idx = self.db()
        while True:
            rows = [r for r in idx.all_docs(startkey=f"{area}:", endkey=f"{area}:\uffff", limit=1000)
                    if r["id"] != f"{area}:meta"]
            if not rows:
                return
            idx.bulk_docs([{"_id": r["id"], "_rev": r["value"]["rev"], "_deleted": True} for r in rows])


def _generation(rev: str | None) -> int:
    head = (rev or "0").split("-", 1)[0]
    return int(head) if (head.isascii() and head.isdigit()) else 0


class _Behind(Exception):
    """The documents read are older than the changes feed said (a lagging cluster copy)."""


def _listed_id(area: str, visit: dict, child_doc: str) -> str:
    """The child's row in its bag's list: ``<area>:cb:<bag>\x1f<date of newest visit>:<hash>``."""
    return f"{area}:cb:{visit['b']}\x1f{visit['d']}:{child_doc.rsplit(':', 1)[1]}"


def _newest(visits: dict) -> dict | None:
    if not visits:
        return None
    return max(visits.items(), key=lambda kv: (kv[1]["d"], kv[0]))[1]


def _count_growth(growth: dict, visit: dict | None, delta: int, floor: str = OLD) -> None:
    """Add (or take away) a child's newest visit; one older than ``floor`` counts in ``OLD``, as a child only."""
    if visit is None:
        return
    day = visit["d"] if visit["d"] >= floor else OLD
    counts = visit["c"] if day != OLD else {"children": visit["c"].get("children", 0)}
    per_bag = growth.setdefault(visit["b"], {})
    bucket = per_bag.setdefault(day, {})
    for name, n in counts.items():
        bucket[name] = bucket.get(name, 0) + delta * n
        if bucket[name] == 0:
            del bucket[name]
    if not bucket:
        del per_bag[day]
    if not per_bag:
        del growth[visit["b"]]


def _superseded(visits: dict) -> list[tuple[str, dict]]:
    """A child's visits that a later-dated one replaced, with the day each was replaced: the visit was
    the child's newest from its own day up to the day before that (a visit sharing its day with a later
    key was never the newest, as in ``_newest``)."""
    ordered = sorted(visits.items(), key=lambda kv: (kv[1]["d"], kv[0]))
    return [(nxt["d"], v) for (_k, v), (_n, nxt) in zip(ordered, ordered[1:], strict=False) if nxt["d"] > v["d"]]


def _count_day(growth: dict, visit: dict, delta: int) -> None:
    """Add (or take away) a visit's counts under its bag and its own day (no merging: a replaced
    visit's day is looked at only by reports as of a day before it was replaced)."""
    per_bag = growth.setdefault(visit["b"], {})
    bucket = per_bag.setdefault(visit["d"], {})
    for name, n in visit["c"].items():
        bucket[name] = bucket.get(name, 0) + delta * n
        if bucket[name] == 0:
            del bucket[name]
    if not bucket:
        del per_bag[visit["d"]]
    if not per_bag:
        del growth[visit["b"]]


def _nonzero(per_bag: dict) -> bool:
    return any(days for days in per_bag.values())


def _compact(growth: dict, floor: str) -> None:
    """Merge the buckets older than ``floor`` into ``OLD``: the aggregate stays as large as the longest
    window (a few thousand buckets), however many years of visits the area holds."""
    for per_bag in growth.values():
        for day in [d for d in per_bag if d != OLD and d < floor]:
            old = per_bag.setdefault(OLD, {})
            old["children"] = old.get("children", 0) + per_bag.pop(day).get("children", 0)
            if not old["children"]:
                del per_bag[OLD]


def _interview(data: dict, indicators: tuple[lqas_survey.Indicator, ...]) -> dict | None:
    sa = data.get("sa")
    if not isinstance(sa, str) or not sa.strip():
        return None
    households = data.get("sa_households")
    day = data.get("interview_date")
    return {"sa": sa.strip()[:100], "hh": households if isinstance(households, int) else None,
            "v": lqas_survey.indicator_values(data, indicators), "d": day[:10] if isinstance(day, str) else ""}


def _count_lqas_day(days: dict, interview: dict | None, delta: int) -> None:
    """The same tallies per interview day, so a report as of a past day sums the days up to it."""
    if interview is None:
        return
    day = interview.get("d") or ""
    _count_lqas(days.setdefault(day, {}), interview, delta)
    if not days[day]:
        del days[day]


def lqas_as_of(meta: dict, as_of: date) -> dict:
    """The LQAS tallies of the interviews made on or before ``as_of`` (an interview without a day
    counts on every day), shaped as ``meta["lqas"]``."""
    out: dict[str, dict] = {}
    until = as_of.isoformat()
    for day, per_sa in (meta.get("lqas_days") or {}).items():
        if day > until:
            continue
        for sa, per in per_sa.items():
            into = out.setdefault(sa, {"interviews": 0, "hh": {}, "x": {}, "n": {}})
            into["interviews"] += per["interviews"]
            for part in ("hh", "x", "n"):
                for k, v in per[part].items():
                    into[part][k] = into[part].get(k, 0) + v
    return out


def _count_lqas(lqas: dict, interview: dict | None, delta: int) -> None:
    if interview is None:
        return
    per_sa = lqas.setdefault(interview["sa"], {"interviews": 0, "hh": {}, "x": {}, "n": {}})
    per_sa["interviews"] += delta
    if interview["hh"] is not None:
        key = str(interview["hh"])
        per_sa["hh"][key] = per_sa["hh"].get(key, 0) + delta
        if per_sa["hh"][key] <= 0:
            del per_sa["hh"][key]
    for name, value in interview["v"].items():
        if value is None:
            continue
        per_sa["n"][name] = per_sa["n"].get(name, 0) + delta
        per_sa["x"][name] = per_sa["x"].get(name, 0) + delta * value
        if per_sa["n"][name] <= 0:  # as if never counted (a rebuild has no entry)
            del per_sa["n"][name]
            del per_sa["x"][name]
    if per_sa["interviews"] <= 0:
        del lqas[interview["sa"]]


# -- the report's figures, from the aggregates -----------------------------------------------------

def growth_rows(meta: dict, as_of: date, window_days: int = WINDOW_DAYS,
                superseded: Iterable[dict] = ()) -> list[GrowthRow]:
    """Per bag: children known on ``as_of``, those whose newest visit on or before it is in the window
    ending that day, and that visit's counts.

    A child counts by its newest visit if that is dated on or before ``as_of`` (``meta``'s buckets),
    else by the visit that was its newest on that day: ``superseded`` holds the visits replaced
    after ``as_of`` (``ReportIndex.superseded``), by bag and day. So any day is a sum of buckets, as
    far back as ``earliest_as_of`` (older days than ``floor_day`` are one bucket of children only).
    """
    since = (as_of - timedelta(days=window_days - 1)).isoformat()
    until = as_of.isoformat()
    rows: dict[str, GrowthRow] = {}
    parts = [meta.get("growth") or {}, *((doc.get("growth") or {}) for doc in superseded)]
    for growth in parts:
        for bag, buckets in growth.items():
            row = rows.get(bag) or rows.setdefault(bag, GrowthRow(bag))
            totals = row.counts
            for day, counts in buckets.items():
                if day > until:
                    continue
                row.children += counts.get("children", 0)
                if day >= since:
                    row.measured += counts.get("children", 0)
                    for name, n in counts.items():
                        if name != "children":
                            totals[name] = totals.get(name, 0) + n
    return [rows[bag] for bag in sorted(rows) if rows[bag].children]


def total_row(rows: list[GrowthRow], label: str) -> GrowthRow:
    total = GrowthRow(label)
    for row in rows:
        total.children += row.children
        total.measured += row.measured
        for name, n in row.counts.items():
            total.counts[name] = total.counts.get(name, 0) + n
    return total


@dataclass
class LqasRow:
    sa: str
    households: int | None  # the set-up's population, else the interviews' sampling frame
    interviews: int
    indicator: str
    target: int
    x: int
    n: int
    d: int | None
    reached: bool | None
    source: str | None = None  # where d came from: "override" (the deployment's table), else binomial


def lqas_rows(meta: dict, rules: Any = None, survey: Survey | None = None, area: str = "") -> list[LqasRow]:
    """Per supervision area and indicator: correct of eligible against the decision rule.

    Targets and populations are the set-up's (``survey``, of ``area``) as it is now, so a changed
    target or population shows without counting anything again. An area the set-up does not list
    still shows, weighted by the households its interviews give.
    """
    from programmes.lqas import classify_area

    rules = rules or _default_rules()
    survey = survey or LqasSetup.default()
    out = []
    for sa, per in sorted((meta.get("lqas") or {}).items()):
        listed = survey.find(area, sa)
        hh = max(per["hh"].items(), key=lambda kv: (kv[1], kv[0]))[0] if per["hh"] else None
        households = listed.population if listed else int(hh) if hh else None
        for ind in survey.indicators:
            x, n = per["x"].get(ind.key, 0), per["n"].get(ind.key, 0)
            result = classify_area(x, n, ind.target, rules)
            out.append(LqasRow(sa, households, per["interviews"], ind.key, ind.target, x, n,
                               result.rule.d if result.rule else None, result.reached,
                               result.rule.source if result.rule else None))
    return out


@dataclass
class Completeness:
    sa: str
    interviews: int
    sample_size: int
    listed: bool  # in the set-up

    @property
    def share(self) -> float:
        return min(1.0, self.interviews / self.sample_size) if self.sample_size else 0.0


def lqas_completeness(meta: dict, survey: Survey, area: str) -> list[Completeness]:
    """"SA k: 17/19 interviews in": the set-up's areas of ``area`` in its order (none in yet shows
    0), then areas with interviews that the set-up does not list, against the default sample."""
    counts = {sa: per["interviews"] for sa, per in (meta.get("lqas") or {}).items()}
    out = [Completeness(a.sa, counts.get(a.sa, 0), a.sample_size or survey.sample_size, True)
           for a in survey.areas_of(area)]
    listed = {c.sa for c in out}
    out += [Completeness(sa, n, survey.sample_size, False) for sa, n in sorted(counts.items()) if sa not in listed]
    return out


@functools.cache
def _default_rules():
    from programmes.lqas import DecisionRules

    return DecisionRules()


def lqas_coverage(rows: list[LqasRow], survey: Survey | None = None) -> dict[str, Any]:
    """Per indicator: the population-weighted coverage over the supervision areas, with its 95% CI."""
    from programmes.lqas import catchment_coverage

    out = {}
    for ind in (survey or LqasSetup.default()).indicators:
        mine = [(r.households or 0, r.x, r.n) for r in rows if r.indicator == ind.key]
        out[ind.key] = catchment_coverage(mine) if mine else None
    return out


@dataclass
class CatchmentCoverage:
    catchment: Catchment
    coverage: dict[str, Any]  # indicator -> Coverage | None
    with_data: int  # supervision areas of the catchment with interviews in

    @property
    def areas(self) -> int:
        return len(self.catchment.members)


def lqas_catchment(metas: dict[str, dict], survey: Survey, catchment: Catchment) -> CatchmentCoverage:
    """A catchment area's coverage per indicator, pooled over its supervision areas (of any soums) as a
    soum's is: each weighted by its population in the set-up, with the stratified 95% CI. ``metas``
    must hold the aggregate of every soum of the catchment; an area with no interview in (or no
    eligible respondent for an indicator) is left out of that indicator's weights."""
    from programmes.lqas import catchment_coverage

    members = []
    for area, sa in catchment.members:
        listed = survey.find(area, sa)
        per = ((metas.get(area) or {}).get("lqas") or {}).get(sa)
        members.append((listed.population if listed else 0, per))
    out = {}
    for ind in survey.indicators:
        strata = [(population, per["x"].get(ind.key, 0), per["n"].get(ind.key, 0))
                  for population, per in members if per]
        out[ind.key] = catchment_coverage(strata) if strata else None
    return CatchmentCoverage(catchment, out, sum(1 for _, per in members if per))
