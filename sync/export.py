"""Exporting submissions as tables, as ODK Central and KoboToolbox users expect.

One row per submission with the form's questions as columns (groups flattened
to ``group/question``), in the order the form defines them; each repeat group
becomes its own table whose rows point back to their submission
(``_parent_id``), as ODK Central's exports do. Streamed scope by scope, so a
large area does not have to fit in memory before writing starts.

A form with derived values (growth z-scores and classes, ``programmes.derived``)
gets them as ``derived/<name>`` columns after its questions, read from the
server's derived documents, never recomputed; they are left empty when the
derived document describes another revision than the one exported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from programmes.derived import derivation_for
from sync import ids, records
from sync.areas import AreaRegistry
from sync.errors import NotFound
from sync.forms import FormRegistry
from sync.stores.base import Store

META = ["_id", "_rev", "author", "created_at", "form_version", "area"]


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)


def _columns(fields: list[dict], prefix: str = "") -> tuple[list[str], list[tuple[str, list[dict]]]]:
    """Flat columns of a field list, and the repeats found in it (with their paths)."""
    cols, repeats = [], []
    for f in fields:
        path = f"{prefix}{f['name']}"
        if f["type"] == "group":
            sub_cols, sub_reps = _columns(f.get("fields", []), path + "/")
            cols += sub_cols
            repeats += sub_reps
        elif f["type"] == "repeat":
            repeats.append((path, f.get("fields", [])))
        elif f["type"] != "note":
            cols.append(path)
    return cols, repeats


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)  # select_multiple, as XLSForm exports it
    if isinstance(value, dict):
        if "lat" in value and "lon" in value:  # geopoint, as ODK writes it: "lat lon alt accuracy"
            return " ".join(str(value.get(k, 0)) for k in ("lat", "lon", "alt", "accuracy"))
        return orjson.dumps(value).decode()
    return value


def _get(data: dict, path: str) -> object:
    cur: object = data
    for part in path.split("/"):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def submissions(store: Store, form: str, areas: list[str] | None = None) -> Iterator[tuple[str, dict]]:
    """``(area, submission)`` for every live submission of ``form``."""
    tree = AreaRegistry(store).tree()
    for scope in tree.data_scopes(areas) if areas else tree.data_scopes():
        if not store.exists(scope):
            continue
        for doc in records.iter_docs(store.open(scope), f"{scope}:sub:"):
            if doc.get("type") == "submission" and doc.get("form") == form:
                yield scope, doc


def _with_derived(store: Store, rows: Iterator[tuple[str, dict]]) -> Iterator[tuple[str, dict, dict | None]]:
    """Each ``(area, submission)`` with its derived values, or None when none describe this revision.

    Submissions and derived documents share the key and both come in id order, so the two
    streams are walked side by side (one pass each, nothing held but the current document).
    """
    scope, pending, derived_docs = None, None, iter(())
    for area, doc in rows:
        if area != scope:
            scope = area
            derived_docs = records.iter_docs(store.open(area), f"{area}:{ids.DERIVED}:")
            pending = next(derived_docs, None)
        key = doc["_id"].split(":", 2)[2]
        while pending is not None and pending["_id"].split(":", 2)[2] < key:
            pending = next(derived_docs, None)
        match = pending if pending is not None and pending["_id"].split(":", 2)[2] == key else None
        fresh = match is not None and match.get("about_rev") == doc["_rev"]
        yield area, doc, (match.get("derived") if fresh else None)


def build_tables(store: Store, form: str, version: int | None = None,
                 areas: list[str] | None = None) -> list[Table]:
    registry = FormRegistry(store)
    versions = sorted(registry.versions(form), key=lambda d: d["version"])
    if not versions:
        raise NotFound(f"no form {form!r}")
    definition = next((d for d in versions if d["version"] == version), None) if version else versions[-1]
    if definition is None:
        raise NotFound(f"form {form!r} has no version {version}")
    cols, repeats = _columns(definition["fields"])
    derivation = derivation_for(form)
    derived_cols = list(derivation.columns) if derivation else []
    main = Table(form, META + cols + [f"derived/{c}" for c in derived_cols])
    rep_tables = []
    for path, rep_fields in repeats:
        rcols, _ = _columns(rep_fields)
        rep_tables.append((path, rcols, Table(f"{form}-{path.replace('/', '-')}", ["_parent_id", "_index"] + rcols)))
    found = submissions(store, form, areas)
    rows = _with_derived(store, found) if derivation else ((a, d, None) for a, d in found)
    for area, doc, derived in rows:
        if version is not None and doc.get("form_version") != version:
            continue
        data = doc.get("data") or {}
        main.rows.append([doc["_id"], doc["_rev"], doc.get("author"), doc.get("created_at"),
                          doc.get("form_version"), area] + [_cell(_get(data, c)) for c in cols]
                         + [_cell((derived or {}).get(c)) for c in derived_cols])
        for path, rcols, table in rep_tables:
            for i, entry in enumerate(_get(data, path) or []):
                if isinstance(entry, dict):
                    table.rows.append([doc["_id"], i] + [_cell(_get(entry, c)) for c in rcols])
    return [main] + [t for _, _, t in rep_tables]


def write_csv(tables: list[Table], out: Path) -> list[Path]:
    """``out`` for the main table, ``<stem>-<repeat>.csv`` beside it for each repeat."""
    written = []
    for i, table in enumerate(tables):
        path = out if i == 0 else out.with_name(f"{out.stem}-{table.name.split('-', 1)[1]}{out.suffix}")
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(table.columns)
        w.writerows(table.rows)
        path.write_text(buf.getvalue(), encoding="utf-8-sig")  # Excel opens Cyrillic correctly
        written.append(path)
    return written


def write_xlsx(tables: list[Table], out: Path) -> list[Path]:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for table in tables:
        ws = wb.create_sheet(table.name[:31])
        ws.append(table.columns)
        for row in table.rows:
            ws.append(row)
    wb.save(out)
    return [out]
