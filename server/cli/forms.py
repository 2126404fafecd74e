"""``fieldsync form validate|publish|list|retire`` (publish and retire recorded in the audit trail as ``cli``)."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from schemas import load_definition, read_xlsform
from sync import form_admin

from .context import data_option, services_for


def read_definition(path: str) -> dict:
    """A form definition from a JSON file or an XLSForm spreadsheet."""
    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xls"):
        return read_xlsform(p)
    try:
        return orjson.loads(p.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise click.ClickException(f"{path} is not valid JSON: {exc}") from None


@click.group()
def form() -> None:
    """Define, version and retire forms."""


@form.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def validate(file: str) -> None:
    """Check a form definition (JSON or XLSForm) and list every problem."""
    definition = load_definition(read_definition(file))
    click.echo(f"OK: {definition['form']} v{definition['version']} "
               f"({len(definition['fields'])} top-level fields)")


@form.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--draft", is_flag=True, help="Store as a draft (changeable, not used by devices).")
@data_option
def publish(files: tuple[str, ...], draft: bool, data: str | None) -> None:
    """Publish form versions (a published version never changes)."""
    svc = services_for(data)
    for file in files:
        doc = form_admin.publish(svc.forms, svc.audit, read_definition(file), by="cli", draft=draft)
        click.echo(f"{doc['status']}: {doc['form']} v{doc['version']}  ({doc['_id']})")


@form.command(name="list")
@data_option
def list_forms(data: str | None) -> None:
    """List every form version with its status."""
    svc = services_for(data)
    rows = sorted(svc.forms.all(), key=lambda d: (d["form"], d["version"]))
    if not rows:
        click.echo("No forms yet. Publish one with: fieldsync form publish FILE")
    for d in rows:
        title = (d.get("title") or {}).get("en", "")
        flags = " sensitive" if d.get("sensitive") else ""
        click.echo(f"{d['form']:<28} v{d['version']:<4} {d['status']:<10}{flags:<10} {title}")


@form.command()
@click.argument("name")
@click.option("--version", "version", type=int, default=None, help="Only this version.")
@click.option("--grace-days", type=int, default=30, show_default=True,
              help="Days during which submissions still arrive.")
@data_option
def retire(name: str, version: int | None, grace_days: int, data: str | None) -> None:
    """Stop new submissions of a form after a grace period."""
    svc = services_for(data)
    for doc in form_admin.retire(svc.forms, svc.audit, name, version, by="cli", grace_days=grace_days):
        click.echo(f"retired: {doc['form']} v{doc['version']} (accepting for {grace_days} more days)")


COMMANDS = [form]
