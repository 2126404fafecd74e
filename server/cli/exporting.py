"""``fieldsync export``: submissions of a form as CSV or XLSX tables.

The output file's extension must agree with the format: a ``.json`` file that
holds CSV would only be found out when someone opens it.
"""

from __future__ import annotations

from pathlib import Path

import click

from sync.errors import BadRequest
from sync.export import Query, Tally, audit, layout
from sync.export_files import write_csv_files, write_file
from sync.export_query import FORMATS, LABELS, parse
from sync.reviews import STATES

from .context import data_option, services_for
from .users import CLI

EXTENSIONS = {".csv": "csv", ".xlsx": "xlsx", ".zip": None}


def _format_for(path: Path, fmt: str | None, photos: bool) -> str:
    """The format the file is written in, or a usage error when its name says another."""
    ext = path.suffix.lower()
    if ext not in EXTENSIONS:
        raise click.BadParameter(
            f"{path.name} does not end in .csv, .xlsx or .zip, so it would not open as what it holds; "
            f"name the file {path.stem}.csv, {path.stem}.xlsx or {path.stem}.zip.", param_hint="--out")
    named = EXTENSIONS[ext]
    if fmt is not None and named is not None and named != fmt:
        raise click.BadParameter(f"{path.name} ends in {ext} but --format is {fmt}; "
                                 f"name it {path.stem}.{fmt} or {path.stem}.zip.", param_hint="--out")
    fmt = fmt or named or "csv"
    if photos and ext != ".zip":
        raise click.BadParameter(f"photos are written into a zip archive; name the file {path.stem}.zip.",
                                 param_hint="--out")
    if fmt == "xlsx" and ext == ".zip" and not photos:
        raise click.BadParameter(f"an XLSX export without photos is one file; name it {path.stem}.xlsx.",
                                 param_hint="--out")
    return fmt


@click.command()
@click.argument("form")
@click.option("--version", type=int, default=None, help="Only this form version (default: all versions).")
@click.option("--area", "areas", multiple=True, help="Only these areas (repeatable; an aimag covers its soums).")
@click.option("--from", "date_from", default=None, metavar="YYYY-MM-DD", help="Created on or after this day.")
@click.option("--to", "date_to", default=None, metavar="YYYY-MM-DD", help="Created on or before this day.")
@click.option("--state", type=click.Choice(STATES), default=None, help="Only submissions in this review state.")
@click.option("--labels", type=click.Choice(LABELS), default="name", show_default=True,
              help="Column headers: field names, or the form's labels in Mongolian or English.")
@click.option("--photos", is_flag=True, help="Put the photos into the archive (--out FILE.zip).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Default: from the output file's extension.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Output file: .csv (one file per table), .zip (the CSV tables, and photos) or .xlsx.")
@data_option
def export(form: str, version: int | None, areas: tuple[str, ...], date_from: str | None, date_to: str | None,
           state: str | None, labels: str, photos: bool, fmt: str | None, out: str, data: str | None) -> None:
    """Export a form's submissions: one row per submission, one table per repeat group."""
    path = Path(out)
    fmt = _format_for(path, fmt, photos)
    given = {"from": date_from, "to": date_to, "labels": labels}
    try:
        params = parse(given.get, lambda _name: [])
    except BadRequest as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[1], param_hint=f"--{exc.extra['parameter']}") from None
    svc = services_for(data)
    lay = layout(svc.forms, form, version)
    query = Query(form, version, list(areas) or None, params.date_from, params.date_to, state, params.labels,
                  photos)
    tally = Tally()
    if path.suffix.lower() == ".csv":
        written = [str(p) for p in write_csv_files(svc.store, lay, query, path, tally)]
    else:
        write_file(svc.store, lay, query, fmt, path, tally)
        written = [str(path)]
    audit(svc.audit, CLI, query, "csv" if path.suffix.lower() == ".csv" else fmt, tally.areas,
          file=path.name, rows=tally.submissions)
    click.echo(f"{tally.submissions} submissions of {form} -> {', '.join(written)}")


COMMANDS = [export]
