"""Export files, written while the submissions are read: a zip of CSV tables, or an XLSX workbook.

Both are produced as a stream of byte chunks, so an HTTP response starts before
the last submission is read and nothing grows with the number of submissions:

* **CSV zip**: the main table is deflated straight into the archive as rows
  come; each repeat table is written meanwhile to a temporary file (kept in
  memory while small) and copied into the archive after the main table, then
  the photos, read one at a time. A zip entry is written with a data
  descriptor (Python's ``zipfile`` on a stream that cannot seek), so no entry
  needs to be known in full before its bytes go out. Each CSV is UTF-8 with a
  byte-order mark, which is how Excel knows to show Cyrillic.
* **XLSX**: XlsxWriter in constant-memory mode (every sheet written to a
  temporary file row by row, strings inline: no shared-string table in
  memory; twice as fast as openpyxl's write-only mode here, which spends its
  time in its XML serializer); the workbook is assembled in a temporary file
  and then sent, so its first byte leaves when the last row is written. With
  photos, the workbook and the photos come in one zip.

Cells that a spreadsheet would run as a formula (text starting with ``=``,
``+``, ``-`` or ``@``) get a leading apostrophe in CSV, as OWASP advises, and
are text cells in XLSX (nothing is taken for a formula, a link or a number),
so an answer can never run as a formula.
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import orjson

from sync.errors import NotFound
from sync.export import Layout, Query, Record, Tally, records_of
from sync.stores.base import Store

CHUNK = 64 * 1024
SPOOL_BYTES = 4 * 1024 * 1024  # a repeat table stays in memory up to this, then goes to disk
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {"csv": "application/zip",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "zip": "application/zip"}


class _Sink:
    """A write-only stream that holds what was written until it is drained (never seeks)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return out


def _zip_info(name: str, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, time.localtime()[:6])
    info.compress_type = compress
    return info


def csv_safe(value: object) -> object:
    if type(value) is str and value and value[0] in _FORMULA_CHARS:
        return "'" + value
    return value


_FORMULA_CHARS = frozenset("".join(FORMULA_START))


def _csv_text(raw) -> io.TextIOWrapper:
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", write_through=False)


def file_name(lay: Layout, fmt: str, photos: bool) -> str:
    """The download's name: ``<form>.zip`` for CSV tables (and for anything with photos), else ``.xlsx``."""
    return f"{lay.form}.{'xlsx' if fmt == 'xlsx' and not photos else 'zip'}"


def stream(store: Store, lay: Layout, query: Query, fmt: str, tally: Tally | None = None) -> Iterator[bytes]:
    """The export as byte chunks: a CSV zip, an XLSX, or (XLSX with photos) a zip of both."""
    tally = tally if tally is not None else Tally()
    if fmt == "csv":
        return _csv_zip(store, lay, query, tally)
    if query.photos:
        return _xlsx_zip(store, lay, query, tally)
    return _xlsx(store, lay, query, tally)


def _copy(source, zf: zipfile.ZipFile, name: str, sink: _Sink, compress: int) -> Iterator[bytes]:
    with zf.open(_zip_info(name, compress), "w", force_zip64=True) as entry:
        while block := source.read(CHUNK):
            entry.write(block)
            if sink.size >= CHUNK:
                yield sink.drain()


def _photos(store: Store, spool, zf: zipfile.ZipFile, sink: _Sink) -> Iterator[bytes]:
    spool.seek(0)
    for line in spool:
        scope, doc_id, rev, name, path = orjson.loads(line)
        try:
            _info, data = store.open(scope).get_attachment(doc_id, name, rev)
        except NotFound:  # deleted or replaced since the row was read: the row keeps its name
            continue
        zf.writestr(_zip_info(path, zipfile.ZIP_STORED), data)  # JPEGs do not deflate
        yield sink.drain()


def _spool_photos(spool, rec: Record) -> None:
    for p in rec.photos:
        spool.write(orjson.dumps([p.scope, p.doc_id, p.rev, p.name, p.path]) + b"\n")


def _csv_zip(store: Store, lay: Layout, query: Query, tally: Tally) -> Iterator[bytes]:
    sink = _Sink()
    zf = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
    raws = [tempfile.SpooledTemporaryFile(SPOOL_BYTES) for _ in lay.repeats]
    repeat_files = [_csv_text(raw) for raw in raws]
    repeat_writers = [csv.writer(f) for f in repeat_files]
    photo_spool = tempfile.SpooledTemporaryFile(SPOOL_BYTES)
    try:
        for table, writer in zip(lay.repeats, repeat_writers, strict=True):
            writer.writerow(table.headers(query.labels))
        entry = zf.open(_zip_info(f"{lay.main.name}.csv", zipfile.ZIP_DEFLATED), "w", force_zip64=True)
        with _csv_text(entry) as main_file:
            main = csv.writer(main_file)
            main.writerow(lay.main.headers(query.labels))
            for rec in records_of(store, lay, query, tally):
                main.writerow([csv_safe(v) for v in rec.main])
                for writer, rows in zip(repeat_writers, rec.repeats, strict=True):
                    writer.writerows([csv_safe(v) for v in row] for row in rows)
                _spool_photos(photo_spool, rec)
                if sink.size >= CHUNK:
                    yield sink.drain()
        yield sink.drain()
        for table, text in zip(lay.repeats, repeat_files, strict=True):
            raw = text.detach()  # flushes what the text layer holds
            raw.seek(0)
            yield from _copy(raw, zf, f"{table.name}.csv", sink, zipfile.ZIP_DEFLATED)
        yield from _photos(store, photo_spool, zf, sink)
        zf.close()
        yield sink.drain()
    finally:
        for raw in raws:
            raw.close()
        photo_spool.close()


def _sheet_title(name: str, taken: set[str]) -> str:
    title, n = name[:31], 1
    while title in taken:
        n += 1
        title = f"{name[:31 - len(str(n)) - 1]}~{n}"
    taken.add(title)
    return title


def _build_xlsx(store: Store, lay: Layout, query: Query, tally: Tally, out, photo_spool=None) -> None:
    """Fill a workbook in XlsxWriter's constant-memory mode (each row goes to its sheet's temporary
    file as it is written, strings inline) and assemble it into ``out``."""
    import xlsxwriter

    # No guessing: text stays text (never a formula, a link or a number), as it was answered.
    wb = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False})
    taken: set[str] = set()
    sheets = [wb.add_worksheet(_sheet_title(t.name, taken)) for t in lay.tables]
    next_row = [0] * len(sheets)

    def put(i: int, row: list) -> None:  # control characters become _xHHHH_, long text is cut at 32,767
        sheets[i].write_row(next_row[i], 0, row)
        next_row[i] += 1

    for i, table in enumerate(lay.tables):
        put(i, table.headers(query.labels))
    for rec in records_of(store, lay, query, tally):
        put(0, rec.main)
        for i, rows in enumerate(rec.repeats, 1):
            for row in rows:
                put(i, row)
        if photo_spool is not None:
            _spool_photos(photo_spool, rec)
    wb.close()


def _xlsx(store: Store, lay: Layout, query: Query, tally: Tally) -> Iterator[bytes]:
    with tempfile.TemporaryFile() as out:
        _build_xlsx(store, lay, query, tally, out)
        out.seek(0)
        while block := out.read(CHUNK):
            yield block


def _xlsx_zip(store: Store, lay: Layout, query: Query, tally: Tally) -> Iterator[bytes]:
    sink = _Sink()
    with tempfile.TemporaryFile() as book, tempfile.SpooledTemporaryFile(SPOOL_BYTES) as photo_spool:
        _build_xlsx(store, lay, query, tally, book, photo_spool)
        book.seek(0)
        zf = zipfile.ZipFile(sink, "w")
        yield from _copy(book, zf, f"{lay.form}.xlsx", sink, zipfile.ZIP_STORED)  # already deflated
        yield from _photos(store, photo_spool, zf, sink)
        zf.close()
        yield sink.drain()


def write_file(store: Store, lay: Layout, query: Query, fmt: str, out: Path, tally: Tally | None = None) -> None:
    """The same bytes as ``stream``, into ``out`` (written beside it first, so a failure leaves nothing)."""
    part = out.with_name(out.name + ".part")
    try:
        with part.open("wb") as f:
            for block in stream(store, lay, query, fmt, tally):
                f.write(block)
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)


def write_csv_files(store: Store, lay: Layout, query: Query, out: Path, tally: Tally | None = None) -> list[Path]:
    """``out`` for the main table and ``<stem>-<repeat>.csv`` beside it for each repeat (the CLI's
    plain CSV, without a zip)."""
    paths = [out] + [out.with_name(f"{out.stem}-{t.name[len(lay.form) + 1:]}{out.suffix}") for t in lay.repeats]
    parts = [p.with_name(p.name + ".part") for p in paths]
    files = [p.open("w", encoding="utf-8-sig", newline="") for p in parts]
    try:
        writers = [csv.writer(f) for f in files]
        for table, writer in zip(lay.tables, writers, strict=True):
            writer.writerow(table.headers(query.labels))
        for rec in records_of(store, lay, query, tally):
            writers[0].writerow([csv_safe(v) for v in rec.main])
            for writer, rows in zip(writers[1:], rec.repeats, strict=True):
                writer.writerows([csv_safe(v) for v in row] for row in rows)
        for f in files:
            f.close()
        for part, path in zip(parts, paths, strict=True):
            part.replace(path)
        return paths
    finally:
        for f in files:
            f.close()
        for part in parts:
            part.unlink(missing_ok=True)
