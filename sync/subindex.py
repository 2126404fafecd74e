"""An index of each area's submissions for the coordinators' lists, kept in the store.

Neither store can answer "the newest submissions of Tes that have issues"
without reading the whole area: SQLite and CouchDB both order documents by id
only (``_all_docs``), the ids are ``<area>:sub:<ULID>`` made on devices (their
order is the device's, and the demo's keys are not even time-ordered), and a
review's state lives in another document. So the server keeps, in the
``_subindex`` system scope (in the store, like everything: any app server
reads and writes the same index), small rows derived from the area:

* ``<area>:d:<created>:<key>``: every live submission, by its creation time
  (the device's wall clock, as the worker saw it): the list, newest first,
  and a date range is a key range;
* ``<area>:s:<state>:<created>:<key>``: the reviewed ones again, by review
  state: "has issues" or "edited" (the few a coordinator acts on) are one
  short range however many were approved (the unreviewed majority has no
  such row: filtering on "received" reads the by-time rows, where nearly
  every row matches);
* ``<area>:rec:<key>``: which rows a submission has, to move them when it
  changes;
* ``<area>:meta``: how far the area's changes feed has been read, and the
  counts per form and state, and per form and version (``versions``; an
  index written before it had them is built again, see ``FORMAT``).

A row holds what the list shows and filters on (form, version, author, state,
time, a little text): ~250 bytes, so a page of 50 is one small range read.
A sensitive form's row keeps no answer text (``"s": 1``): the store seals those
answers (``sync.stores.encrypted``), and a plain copy of them in the index would
hand them to whoever copies the files. A text search opens such a submission
through the store instead (sensitive forms are few, and within the page's budget).
Filters on form, version, author or text are checked on the rows of the range,
at most ``budget`` rows per page (a page that runs out says where it stopped
and continues from there), so no page ever reads an area through.

The index follows the area's changes feed, as a CouchDB view does: each
list page first reads what changed since the last read (``refresh``, bounded
per request), so documents that arrive by any way (replication, the API, a
migration) are indexed alike and the sync path pays nothing. One app server at
a time catches up an area (a lease in ``<area>:meta``, a revision-checked
write), so counts are not added twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from sync import ids, records
from sync.clock import parse_iso
from sync.errors import Conflict
from sync.forms import FormRegistry
from sync.reviews import state_of
from sync.stores.base import Database, Store

INDEX_SCOPE = "_subindex"
UNREVIEWED = "received"  # most submissions: found in the by-time rows, not given rows by state
LEASE_SECONDS = 30.0
TEXT_CHARS = 300
NO_TIME = "0000-00-00T00:00:00"
_ME = uuid.uuid4().hex  # this process, as the holder of a lease
FORMAT = 3  # 2: the meta counts per form version too (the admins' forms page); 3: sensitive rows keep no text


@dataclass
class Page:
    rows: list[dict]
    after: str | None = None  # give it back as ``after`` for the next page (None: no more)
    stopped_at: str | None = None  # the budget ran out here (a creation time): "searched down to"
    scanned: int = 0


@dataclass
class Filters:
    state: str | None = None
    form: str | None = None
    version: int | None = None
    author: str | None = None
    date_from: str | None = None  # YYYY-MM-DD, inclusive
    date_to: str | None = None  # YYYY-MM-DD, inclusive
    text: str | None = None

    def accepts(self, row: dict, sealed_text: Callable[[dict], str] | None = None) -> bool:
        """Whether ``row`` is wanted; ``sealed_text(row)`` gives the text of a row that keeps none."""
        if self.state and row.get("st") != self.state:
            return False
        if self.form and row.get("f") != self.form:
            return False
        if self.version is not None and row.get("v") != self.version:
            return False
        if self.author and row.get("a") != self.author:
            return False
        if self.text and self.text.casefold() not in (
                sealed_text(row) if row.get("s") and sealed_text is not None else row.get("t", "")):
            return False
        return True


@dataclass
class Refreshed:
    changes: int = 0
    done: bool = True
    busy: bool = False  # another app server holds the lease


@dataclass
class _Batch:
    keys: set[str] = field(default_factory=set)
    last_seq: object = None
    rows: int = 0


def created_key(created_at: object) -> str:
    """The device's wall-clock time of creation, sortable as text (``NO_TIME`` when unknown)."""
    moment = parse_iso(created_at)
    if moment is None:
        return NO_TIME
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


class SubmissionIndex:
    def __init__(self, store: Store, forms: FormRegistry):
        self.store = store
        self.forms = forms
        self._text_fields: dict[tuple, list[tuple[str, ...]]] = {}

    def db(self) -> Database:
        return self.store.ensure(INDEX_SCOPE)

    # -- reading ------------------------------------------------------------------------
    def counts(self, area: str) -> dict[str, dict[str, int]]:
        """Submissions per form and state: ``{form: {state: n}}``."""
        meta = records.read(self.db(), f"{area}:meta") or {}
        return meta.get("counts") or {}

    def counts_of(self, areas: list[str]) -> dict[str, dict[str, int]]:
        """Per area, submissions per state (all forms), in one read: ``{area: {state: n}}``."""
        out: dict[str, dict[str, int]] = {}
        for row in self.db().all_docs(keys=[f"{a}:meta" for a in areas], include_docs=True):
            per_state: dict[str, int] = {}
            for per in ((row.get("doc") or {}).get("counts") or {}).values():
                for state, n in per.items():
                    per_state[state] = per_state.get(state, 0) + n
            out[row["key"].rsplit(":", 1)[0]] = per_state
        return out

    def version_counts(self, areas: list[str]) -> dict[str, dict[int, int]]:
        """Submissions per form and version over ``areas``, as indexed, in one read."""
        out: dict[str, dict[int, int]] = {}
        for row in self.db().all_docs(keys=[f"{a}:meta" for a in areas], include_docs=True):
            for form, per in ((row.get("doc") or {}).get("versions") or {}).items():
                mine = out.setdefault(form, {})
                for version, n in per.items():
                    mine[int(version)] = mine.get(int(version), 0) + n
        return out

    def page(self, area: str, filters: Filters, *, after: str | None = None, limit: int = 50,
             budget: int = 2000) -> Page:
        """Up to ``limit`` rows matching ``filters``, newest first, after the row id ``after``."""
        by_state = filters.state and filters.state != UNREVIEWED
        prefix = f"{area}:s:{filters.state}:" if by_state else f"{area}:d:"
        high = prefix + (filters.date_to + "\uffff" if filters.date_to else "\uffff")
        low = prefix + (filters.date_from or "")
        start = after if after and after.startswith(prefix) and low <= after <= high else high
        out: list[dict] = []
        scanned = 0
        last_id = None
        db = self.db()
        sealed_text = partial(self._sealed_text, area)  # a sensitive row's text, read only for a text search
        while scanned < budget:
            chunk = min(budget - scanned, max(limit * 4, 100)) + 1
            got = read = 0
            for row in db.all_docs(startkey=start, endkey=low, descending=True, include_docs=True,
                                   limit=chunk):
                read += 1
                if row["id"] == start and start != high:
                    continue  # the last row of the previous read (or page)
                got += 1
                scanned += 1
                last_id = row["id"]
                doc = row.get("doc") or {}
                if filters.accepts(doc, sealed_text):
                    if len(out) == limit:
                        return Page(out, after=out[-1]["id"], scanned=scanned)
                    out.append({**doc, "id": row["id"]})
                if scanned >= budget:
                    break
            if got == 0 or (read < chunk and scanned < budget):
                return Page(out, scanned=scanned)  # the range is read to its end
            start = last_id
        # The budget ran out: this page says where it stopped, the next one goes on from there.
        stopped = (last_id or "")[len(prefix):len(prefix) + 19] or None
        return Page(out, after=last_id, stopped_at=stopped, scanned=scanned)

    # -- following the area ---------------------------------------------------------------
    def refresh(self, area: str, *, max_changes: int = 2000, batch: int = 500) -> Refreshed:
        """Index what changed in ``area`` since the last refresh, at most ``max_changes`` changes."""
        if not self.store.exists(area):
            return Refreshed()
        src = self.store.open(area)
        idx = self.db()
        meta_id = f"{area}:meta"
        meta = records.read(idx, meta_id) or {"_id": meta_id, "type": "subindex", "seq": None, "counts": {}}
        epoch = src.epoch()
        stale_format = meta.get("seq") is not None and meta.get("format") != FORMAT
        if meta.get("epoch") not in (None, epoch) or stale_format:
            # A new sequence space, or counts this version keeps that the index lacks: read it again.
            meta = {**meta, "seq": None, "counts": {}, "versions": {}}
            self._drop_area(area)
        if meta.get("lease_by") not in (None, _ME) and meta.get("lease_until", 0) > time.time():
            return Refreshed(done=False, busy=True)
        meta.setdefault("versions", {})
        meta.update(epoch=epoch, format=FORMAT, lease_by=_ME, lease_until=time.time() + LEASE_SECONDS)
        try:
            records.write(idx, meta)  # revision-checked: of two servers, one holds the lease
        except Conflict:
            return Refreshed(done=False, busy=True)
        result = Refreshed()
        try:
            while result.changes < max_changes:
                step = self._read_changes(src, meta.get("seq"), batch)
                if step.rows == 0:
                    meta["seq"] = step.last_seq if step.last_seq is not None else meta.get("seq")
                    break
                self._apply(area, src, idx, step.keys, meta["counts"], meta["versions"])
                meta["seq"] = step.last_seq
                result.changes += step.rows
                meta["lease_until"] = time.time() + LEASE_SECONDS
                records.write(idx, meta)
            else:
                result.done = False
        finally:
            meta.update(lease_by=None, lease_until=0)
            try:
                records.write(idx, meta)
            except Conflict:  # the lease ran out and another server took over: its write stands
                pass
        return result

    def refresh_all(self, area: str) -> int:
        """Catch up completely (a build); how many changes were read."""
        total = 0
        while True:
            step = self.refresh(area, max_changes=100_000, batch=1000)
            total += step.changes
            if step.done:
                return total
            if step.busy:
                time.sleep(0.2)

    def _read_changes(self, src: Database, since, batch: int) -> _Batch:
        step = _Batch()
        feed = src.changes(since if since is not None else 0, limit=batch)
        for row in feed:
            step.rows += 1
            parsed = ids.parse_doc_id(row["id"])
            if parsed is not None and parsed.kind in (ids.SUBMISSION, ids.REVIEW):
                step.keys.add(parsed.key)
        step.last_seq = feed.last_seq
        return step

    def _apply(self, area: str, src: Database, idx: Database, keys: set[str], counts: dict,
               versions: dict) -> None:
        if not keys:
            return
        ordered = sorted(keys)
        wanted = [f"{area}:{ids.SUBMISSION}:{k}" for k in ordered] + [f"{area}:{ids.REVIEW}:{k}" for k in ordered]
        current = {r["id"]: r["doc"] for r in src.all_docs(keys=wanted, include_docs=True) if r.get("doc")}
        recs = {r["id"]: r["doc"] for r in idx.all_docs(keys=[f"{area}:rec:{k}" for k in ordered],
                                                         include_docs=True) if r.get("doc")}
        old_ids = [i for rec in recs.values() for i in rec.get("rows", ())]
        revs = {r["id"]: r["value"]["rev"] for r in idx.all_docs(keys=old_ids) if "value" in r
                and not r["value"].get("deleted")} if old_ids else {}
        writes: list[dict] = []
        sensitive = self.forms.sensitive_forms()  # once a batch: it asks whether global moved
        for key in ordered:
            sub = current.get(f"{area}:{ids.SUBMISSION}:{key}")
            review = current.get(f"{area}:{ids.REVIEW}:{key}")
            rec_id = f"{area}:rec:{key}"
            rec = recs.get(rec_id)
            old_row = rec.get("row") if rec else None
            new_row = self._row(key, sub, review, sensitive) if sub and sub.get("type") == "submission" else None
            new_ids = [f"{area}:d:{new_row['c']}:{key}"] if new_row else []
            if new_row and new_row["st"] != UNREVIEWED:
                new_ids.append(f"{area}:s:{new_row['st']}:{new_row['c']}:{key}")
            for gone in set(rec.get("rows", ()) if rec else ()) - set(new_ids):
                if gone in revs:
                    writes.append({"_id": gone, "_rev": revs[gone], "_deleted": True})
            if new_row != old_row or (rec and rec.get("rows") != new_ids):
                for row_id in new_ids:
                    doc = {"_id": row_id, **new_row}
                    if row_id in revs:
                        doc["_rev"] = revs[row_id]
                    writes.append(doc)
                if new_row is None:
                    if rec:
                        writes.append({"_id": rec_id, "_rev": rec["_rev"], "_deleted": True})
                else:
                    writes.append({"_id": rec_id, **({"_rev": rec["_rev"]} if rec else {}),
                                   "row": new_row, "rows": new_ids})
                _count(counts, old_row, -1)
                _count(counts, new_row, +1)
                _count_version(versions, old_row, -1)
                _count_version(versions, new_row, +1)
        if writes:
            for result in idx.bulk_docs(writes, new_edits=True):
                if "error" in result and result["error"] != "conflict":
                    raise Conflict(f"index write failed: {result}")

    def _row(self, key: str, sub: dict, review: dict | None, sensitive: frozenset[str]) -> dict:
        version = sub.get("form_version")
        row = {"k": key, "f": str(sub.get("form") or ""), "v": version if isinstance(version, int) else None,
               "a": str(sub.get("author") or ""), "st": state_of(review), "c": created_key(sub.get("created_at")),
               "at": sub.get("created_at") if isinstance(sub.get("created_at"), str) else None,
               "n": len(review.get("comments") or ()) if review else 0}
        if row["f"] in sensitive:
            row.update(t=row["a"].casefold(), s=1)  # the answers stay sealed in the area (module docstring)
        else:
            row["t"] = self._text(sub)
        return row

    def _sealed_text(self, area: str, row: dict) -> str:
        """The searched text of a sensitive form's submission, read (and opened) from the area."""
        found = records.read(self.store.open(area), f"{area}:{ids.SUBMISSION}:{row.get('k')}")
        return self._text(found) if found is not None else ""

    def _text(self, sub: dict) -> str:
        """What free text searches: the answers to the form's text questions, and the author."""
        data = sub.get("data") if isinstance(sub.get("data"), dict) else {}
        paths = self._text_paths(sub.get("form"), sub.get("form_version"))
        parts = [str(sub.get("author") or "")]
        for path in paths:
            parts.extend(_values_at(data, path))
        return " ".join(p for p in parts if p).casefold()[:TEXT_CHARS]

    def _text_paths(self, form, version) -> list[tuple[str, ...]]:
        key = (form, version)
        found = self._text_fields.get(key)
        if found is None:
            definition = self.forms.get(form, version) if isinstance(form, str) and isinstance(version, int) else None
            found = list(_text_field_paths((definition or {}).get("fields") or [], ()))
            self._text_fields[key] = found
        return found

    def _drop_area(self, area: str) -> None:
        idx = self.db()
        while True:
            rows = [r for r in idx.all_docs(startkey=f"{area}:", endkey=f"{area}:\uffff", limit=1000)
                    if r["id"] != f"{area}:meta"]
            if not rows:
                return
            idx.bulk_docs([{"_id": r["id"], "_rev": r["value"]["rev"], "_deleted": True} for r in rows])


def _count(counts: dict, row: dict | None, delta: int) -> None:
    if row is None:
        return
    per_form = counts.setdefault(row["f"], {})
    per_form[row["st"]] = per_form.get(row["st"], 0) + delta
    if per_form[row["st"]] <= 0:
        del per_form[row["st"]]
    if not per_form:
        del counts[row["f"]]


def _count_version(versions: dict, row: dict | None, delta: int) -> None:
    if row is None or row.get("v") is None:
        return
    per_form = versions.setdefault(row["f"], {})
    key = str(row["v"])
    per_form[key] = per_form.get(key, 0) + delta
    if per_form[key] <= 0:
        del per_form[key]
    if not per_form:
        del versions[row["f"]]


def _text_field_paths(fields: list, base: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for f in fields:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            continue
        path = (*base, f["name"])
        if f.get("type") in ("group", "repeat"):
            yield from _text_field_paths(f.get("fields") or [], path)
        elif f.get("type") == "text":
            yield path


def _values_at(data, path: tuple[str, ...]) -> Iterator[str]:
    if not path:
        if isinstance(data, str):
            yield data
        return
    if isinstance(data, list):  # a repeat: every item
        for item in data:
            yield from _values_at(item, path)
        return
    if isinstance(data, dict) and path[0] in data:
        yield from _values_at(data[path[0]], path[1:])
