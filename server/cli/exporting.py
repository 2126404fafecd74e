"""``fieldsync export``: submissions of a form as CSV or XLSX tables."""

from __future__ import annotations

from pathlib import Path

import click

from sync.export import build_tables, write_csv, write_xlsx

from .context import data_option, services_for


@click.command()
@click.argument("form")
@click.option("--version", type=int, default=None, help="Only this form version (default: all, latest's columns).")
@click.option("--area", "areas", multiple=True, help="Only these areas (repeatable; an aimag covers its soums).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default=None,
              help="Default: from the output file's extension.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output file.")
@data_option
def export(form: str, version: int | None, areas: tuple[str, ...], fmt: str | None, out: str,
           data: str | None) -> None:
    """Export a form's submissions: one row per submission, one table per repeat group."""
    svc = services_for(data)
    path = Path(out)
    fmt = fmt or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")
    tables = build_tables(svc.store, form, version, list(areas) or None)
    written = (write_xlsx if fmt == "xlsx" else write_csv)(tables, path)
    click.echo(f"{len(tables[0].rows)} submissions of {form} -> {', '.join(str(p) for p in written)}")


COMMANDS = [export]
