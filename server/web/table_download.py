"""A report table as a download: CSV (UTF-8 with a byte-order mark, so Excel keeps the Cyrillic) or XLSX.

Text a worker typed (a facility's name) may start with ``=``: CSV cells are
defused as the exports defuse them (``sync.export_files.csv_safe``), and XLSX
cells are written as strings, never as formulas.
"""

from __future__ import annotations

import csv
import io

from flask import Response

from sync.export_files import CONTENT_TYPES, csv_safe

FORMATS = ("csv", "xlsx")


def table_response(name: str, head: list[str], rows: list[list], fmt: str) -> Response:
    """``name.csv`` or ``name.xlsx`` of the table ``head`` + ``rows`` (``fmt`` one of ``FORMATS``)."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(head)
        for row in rows:
            writer.writerow([csv_safe(v) for v in row])
        body, kind = out.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"
    else:
        body, kind = _xlsx(name, head, rows), CONTENT_TYPES["xlsx"]
    return Response(body, content_type=kind,
                    headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


def _xlsx(name: str, head: list[str], rows: list[list]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    ws = wb.add_worksheet(name[:31])
    ws.write_row(0, 0, head, wb.add_format({"bold": True}))
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                ws.write_string(i, j, str(value))
            else:
                ws.write_number(i, j, value)
    ws.freeze_panes(1, 0)
    wb.close()
    return out.getvalue()
