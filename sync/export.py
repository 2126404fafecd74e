"""Exporting submissions as tables, as ODK Central and KoboToolbox users expect.

One row per submission with the form's questions as columns (groups flattened
to ``group/question``), in the order the form defines them; each repeat group
becomes its own table whose rows point back to their submission
(``_parent_id``), as ODK Central's exports do. Rows are produced one
submission at a time, scope by scope, so a writer can send them on before
the next is read and 100,000 submissions never sit in memory together.

All versions of a form export together: the newest version's columns first,
then any question only older versions asked, so nothing answered is lost.
Headers are the field names, or the labels of the form in a chosen language
(``Query.labels``), a question in a group as "Group / Question".

A form with derived values (growth z-scores and classes, ``programmes.derived``)
gets them as ``derived/<name>`` columns after its questions, read from the
server's derived documents, never recomputed; they are left empty when the
derived document describes another revision than the one exported. The review
state of each submission is read the same way, beside it, from its review
document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

from programmes.derived import derivation_for
from sync import ids, records
from sync.accounts.users import User
from sync.areas import AreaRegistry
from sync.audit import Audit
from sync.errors import NotFound
from sync.forms import FormRegistry
from sync.gate.messages import Text
from sync.referral_cases import REFERRAL_FORM, need_to_know
from sync.reviews import state_of
from sync.stores.base import Store

LANGUAGES = ("mn", "en")
META = ["_id", "_rev", "author", "created_at", "form_version", "area", "review_state"]
_META_LABELS = {
    "_id": {"en": "Submission ID", "mn": "Илгээлтийн дугаар"},
    "_rev": {"en": "Revision", "mn": "Засварын дугаар"},
    "author": {"en": "Author", "mn": "Илгээгч"},
    "created_at": {"en": "Created", "mn": "Үүсгэсэн огноо"},
    "form_version": {"en": "Form version", "mn": "Маягтын хувилбар"},
    "area": {"en": "Area", "mn": "Нутаг дэвсгэр"},
    "review_state": {"en": "Review state", "mn": "Хяналтын төлөв"},
    "_parent_id": {"en": "Submission ID", "mn": "Илгээлтийн дугаар"},
    "_index": {"en": "Entry", "mn": "Мөрийн дугаар"},
}
PHOTO_DIR = "photos"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Query:
    """What to export. ``areas`` are data scopes (already checked against who asks)."""

    form: str
    version: int | None = None
    areas: list[str] | None = None
    date_from: str | None = None  # YYYY-MM-DD, inclusive, on created_at
    date_to: str | None = None  # YYYY-MM-DD, inclusive
    state: str | None = None  # a review state (sync.reviews.STATES)
    labels: str | None = None  # None: field names as headers; "mn" or "en": labels
    photos: bool = False  # image cells name the photo's file in the archive
    # Who asks, when not an admin: a referral whose case they are not on is left out, as on every
    # other page (``sync.referral_cases.need_to_know``); None for the server's own exports (CLI).
    reader: User | None = None


@dataclass
class Column:
    path: str
    label: dict[str, str]
    image: bool = False
    parts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.parts = tuple(self.path.split("/"))


@dataclass
class TableLayout:
    name: str  # the file's stem and the sheet's name
    path: str | None  # where the repeat is in a submission's data (None: the main table)
    columns: list[Column]

    def headers(self, labels: str | None) -> list[str]:
        if labels is None:
            return [c.path for c in self.columns]
        return [_in(c.label, labels) or c.path for c in self.columns]


@dataclass
class Layout:
    form: str
    main: TableLayout
    repeats: list[TableLayout]
    derived: list[str] = field(default_factory=list)

    @property
    def tables(self) -> list[TableLayout]:
        return [self.main, *self.repeats]


@dataclass(frozen=True)
class Photo:
    scope: str
    doc_id: str
    rev: str
    name: str  # the attachment's name in the submission
    path: str  # its file in the archive


@dataclass
class Record:
    """One submission: its main row, its rows in each repeat table (in ``Layout.repeats`` order)."""

    main: list
    repeats: list[list[list]]
    photos: list[Photo]


@dataclass
class Tally:
    submissions: int = 0
    areas: list[str] = field(default_factory=list)


def _in(label: object, lang: str) -> str:
    if isinstance(label, str):
        return label
    if isinstance(label, dict):
        for code in (lang, *LANGUAGES):
            if isinstance(label.get(code), str) and label[code]:
                return label[code]
    return ""


def _joined(prefix: dict[str, str], label: object) -> dict[str, str]:
    out = {}
    for lang in LANGUAGES:
        own = _in(label, lang)
        out[lang] = f"{prefix[lang]} / {own}" if prefix.get(lang) and own else own
    return out


def _columns(fields: list[dict], prefix: str = "", group: dict[str, str] | None = None,
             ) -> tuple[list[Column], list[tuple[str, dict[str, str], list[dict]]]]:
    """Flat columns of a field list, and the repeats found in it (with their paths and labels)."""
    cols, repeats = [], []
    group = group or {}
    for f in fields:
        path = f"{prefix}{f['name']}"
        label = _joined(group, f.get("label"))
        if f["type"] == "group":
            sub_cols, sub_reps = _columns(f.get("fields", []), path + "/", label)
            cols += sub_cols
            repeats += sub_reps
        elif f["type"] == "repeat":
            repeats.append((path, label, f.get("fields", [])))
        elif f["type"] != "note":
            cols.append(Column(path, label, image=f["type"] == "image"))
    return cols, repeats


def _merge(into: list[Column], more: list[Column]) -> None:
    """Columns of an older version that the newer ones lack, appended after them."""
    known = {c.path for c in into}
    into.extend(c for c in more if c.path not in known)


def layout(forms: FormRegistry, form: str, version: int | None = None, *, drafts: bool = True) -> Layout:
    """The tables of ``form`` (one version, or every version's columns together); ``drafts=False``
    leaves out versions not yet published, as they are hidden from all but admins."""
    versions = sorted((d for d in forms.versions(form) if isinstance(d.get("version"), int)
                       and (drafts or d.get("status") != "draft")),
                      key=lambda d: d["version"], reverse=True)
    if not versions:
        raise NotFound(Text({"en": f"There is no form {form!r}.", "mn": f"{form!r} гэсэн маягт байхгүй."}))
    if version is not None:
        versions = [d for d in versions if d["version"] == version]
        if not versions:
            raise NotFound(Text({"en": f"Form {form!r} has no version {version}.",
                                 "mn": f"{form!r} маягтад {version}-р хувилбар байхгүй."}))
    main_cols: list[Column] = []
    reps: dict[str, tuple[dict[str, str], list[Column]]] = {}
    for definition in versions:  # newest first: its columns lead, its labels win
        cols, found = _columns(definition.get("fields") or [])
        _merge(main_cols, cols)
        for path, label, rep_fields in found:
            rcols, _ = _columns(rep_fields, "", None)
            if path in reps:
                _merge(reps[path][1], rcols)
            else:
                reps[path] = (label, rcols)
    derivation = derivation_for(form)
    derived = list(derivation.columns) if derivation else []
    meta = [Column(name, _META_LABELS[name]) for name in META]
    main = TableLayout(form, None, meta + main_cols + [Column(f"derived/{c}", {}) for c in derived])
    repeats = [TableLayout(f"{form}-{path.replace('/', '-')}", path,
                           [Column("_parent_id", _META_LABELS["_parent_id"]),
                            Column("_index", _META_LABELS["_index"]), *rcols])
               for path, (_label, rcols) in reps.items()]
    return Layout(form, main, repeats, derived)


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


def _get(data: object, parts: tuple[str, ...]) -> object:
    cur = data
    for part in parts:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


class _Beside:
    """Documents of one kind that share their keys with the submissions (``<area>:<kind>:<key>``),
    walked alongside them: both come in id order, so each is read once and only one is held."""

    def __init__(self, store: Store, scope: str, kind: str):
        self.docs = records.iter_docs(store.open(scope), f"{scope}:{kind}:")
        self.cut = len(scope) + len(kind) + 2
        self.pending = next(self.docs, None)

    def get(self, key: str) -> dict | None:
        while self.pending is not None and self.pending["_id"][self.cut:] < key:
            self.pending = next(self.docs, None)
        if self.pending is not None and self.pending["_id"][self.cut:] == key:
            return self.pending
        return None


def photo_path(scope: str, key: str, name: str) -> str:
    """Where a submission's photo goes in the archive: one folder per submission, as the key is unique."""
    return f"{PHOTO_DIR}/{scope}/{_UNSAFE.sub('_', key)}/{_UNSAFE.sub('_', name) or 'photo'}"


def records_of(store: Store, lay: Layout, query: Query, tally: Tally | None = None) -> Iterator[Record]:
    """Every live submission that ``query`` selects, as rows of ``lay``'s tables."""
    tally = tally if tally is not None else Tally()
    tree = AreaRegistry(store).tree()
    scopes = tree.data_scopes(query.areas) if query.areas is not None else tree.data_scopes()
    tally.areas = list(scopes)
    main_cols = lay.main.columns[len(META):len(lay.main.columns) - len(lay.derived)]
    rep_cols = [t.columns[2:] for t in lay.repeats]
    rep_parts = [tuple(t.path.split("/")) for t in lay.repeats]
    low, high = query.date_from, (query.date_to + "\uffff") if query.date_to else None
    for scope in scopes:
        if not store.exists(scope):
            continue
        prefix = f"{scope}:{ids.SUBMISSION}:"
        cut = len(prefix)
        reviews = _Beside(store, scope, ids.REVIEW)
        derived_docs = _Beside(store, scope, ids.DERIVED) if lay.derived else None
        case_docs = (_Beside(store, scope, ids.CASE)
                 if query.form == REFERRAL_FORM and query.reader is not None and not query.reader.is_admin else None)
        for doc in records.iter_docs(store.open(scope), prefix):
            if doc.get("type") != "submission" or doc.get("form") != query.form:
                continue
            if case_docs is not None and not need_to_know(
                    query.reader, doc["_id"], doc, lambda _cid, key=doc["_id"][cut:], near=case_docs: near.get(key)):
                continue
            if query.version is not None and doc.get("form_version") != query.version:
                continue
            created = doc.get("created_at") if isinstance(doc.get("created_at"), str) else ""
            if (low and created < low) or (high and created > high):
                continue
            key = doc["_id"][cut:]
            state = state_of(reviews.get(key))
            if query.state is not None and state != query.state:
                continue
            derived = None
            if derived_docs is not None:
                found = derived_docs.get(key)
                if found is not None and found.get("about_rev") == doc["_rev"]:
                    derived = found.get("derived")
            tally.submissions += 1
            yield _record(scope, key, doc, state, derived, lay, main_cols, rep_cols, rep_parts, query.photos)


def _values(entry: dict, cols: list[Column]) -> list:
    """The cells of ``cols`` in one answer dict (the hot loop of an export: kept flat)."""
    out = []
    for col in cols:
        found = entry
        for part in col.parts:
            found = found.get(part) if type(found) is dict else None
        if found is None:
            out.append("")
        elif type(found) is str or type(found) is int or type(found) is float or type(found) is bool:
            out.append(found)
        else:
            out.append(_cell(found))
    return out


def _record(scope: str, key: str, doc: dict, state: str, derived: dict | None, lay: Layout,
            main_cols: list[Column], rep_cols: list[list[Column]], rep_parts: list[tuple[str, ...]],
            with_photos: bool) -> Record:
    data = doc.get("data")
    data = data if type(data) is dict else {}
    photos: list[Photo] = []
    main = [doc["_id"], doc["_rev"], doc.get("author"), doc.get("created_at"), doc.get("form_version"),
            scope, state]
    main += _values(data, main_cols)
    if lay.derived:
        main += [_cell((derived or {}).get(c)) for c in lay.derived]
    repeats = []
    for cols, parts in zip(rep_cols, rep_parts, strict=True):
        entries = _get(data, parts)
        repeats.append([[doc["_id"], i, *_values(entry, cols)]
                        for i, entry in enumerate(entries if isinstance(entries, list) else [])
                        if type(entry) is dict])
    if with_photos and doc.get("_attachments"):
        _photos_of(scope, key, doc, main, main_cols, len(META), photos)
        for rows, cols in zip(repeats, rep_cols, strict=True):
            for row in rows:
                _photos_of(scope, key, doc, row, cols, 2, photos)
    return Record(main, repeats, photos)


def _photos_of(scope: str, key: str, doc: dict, row: list, cols: list[Column], offset: int,
               photos: list[Photo]) -> None:
    """Image cells that name an attachment of the submission: noted, and made to name its file."""
    attachments = doc["_attachments"]
    for i, col in enumerate(cols, offset):
        name = row[i]
        if col.image and type(name) is str and name in attachments:
            photo = Photo(scope, doc["_id"], doc["_rev"], name, photo_path(scope, key, name))
            if photo not in photos:  # one file however many cells name it
                photos.append(photo)
            row[i] = photo.path


def audit(trail: Audit, actor: str, query: Query, fmt: str, scopes: list[str], **details: object) -> None:
    """One ``export.downloaded`` entry per area exported (each area's trail shows who took its
    data), or one about no area when none was."""
    filters = {"from": query.date_from, "to": query.date_to, "state": query.state,
               "labels": query.labels or "name", "photos": query.photos}
    for scope in scopes or [None]:
        trail.record(actor=actor, action="export.downloaded", scope=scope, form=query.form,
                     version=query.version, format=fmt, areas=scopes, filters=filters, **details)


# -- the tables in memory, for callers that want them whole (small exports, tests) --------------
@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)


def build_tables(store: Store, form: str, version: int | None = None,
                 areas: list[str] | None = None) -> list[Table]:
    lay = layout(FormRegistry(store), form, version)
    tables = [Table(t.name, t.headers(None)) for t in lay.tables]
    for rec in records_of(store, lay, Query(form, version, areas)):
        tables[0].rows.append(rec.main)
        for table, rows in zip(tables[1:], rec.repeats, strict=True):
            table.rows.extend(rows)
    return tables
