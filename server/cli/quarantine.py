"""``fieldsync quarantine list|show|release|discard``."""

from __future__ import annotations

import click
import orjson

from sync.gate.quarantine_actions import discard as discard_entry
from sync.gate.quarantine_actions import release as release_entry

from .context import data_option, services_for


@click.group()
def quarantine() -> None:
    """Documents the write gate refused, kept until someone decides."""


@quarantine.command(name="list")
@click.option("--status", type=click.Choice(["held", "released", "discarded", "superseded", "all"]), default="held",
              show_default=True, help="Which entries to list.")
@data_option
def list_entries(status: str, data: str | None) -> None:
    """List quarantined documents with who sent them and why."""
    svc = services_for(data)
    count = 0
    for e in svc.quarantine.list(None if status == "all" else status):
        count += 1
        reasons = "; ".join(f"{r['field']}: {r['message']}" if r.get("field") else r["message"]
                            for r in e.get("reasons", []))
        click.echo(f"{e['_id']}\n    {e['status']}  from {e.get('user')} at {e.get('received_at')}"
                   f"  scope {e.get('scope')}\n    {reasons}")
    if not count:
        click.echo(f"No {status if status != 'all' else ''} entries.".replace("  ", " "))


@quarantine.command()
@click.argument("entry")
@data_option
def show(entry: str, data: str | None) -> None:
    """Print one entry as JSON."""
    e = services_for(data).quarantine.get(entry)
    click.echo(orjson.dumps(e, option=orjson.OPT_INDENT_2, default=str).decode())


@quarantine.command()
@click.argument("entry")
@click.option("--form-version", type=int, default=None,
              help="Re-validate against this version instead of the one the document names.")
@click.option("--by", default="cli", show_default=True, help="Who decided.")
@data_option
def release(entry: str, form_version: int | None, by: str, data: str | None) -> None:
    """Re-validate a document and store it."""
    svc = services_for(data)
    done = release_entry(svc.store, svc.forms, svc.quarantine, entry, by=by, form_version=form_version,
                         audit=svc.audit)
    click.echo(f"released {done['id']} as {done['rev']} into {done['scope']}")


@quarantine.command()
@click.argument("entry")
@click.option("--reason", required=True, help="Why (shown to the worker).")
@click.option("--by", default="cli", show_default=True, help="Who decided.")
@data_option
def discard(entry: str, reason: str, by: str, data: str | None) -> None:
    """Discard a document with a reason."""
    svc = services_for(data)
    discard_entry(svc.store, svc.quarantine, entry, by=by, reason=reason, audit=svc.audit)
    click.echo(f"discarded {entry}")


COMMANDS = [quarantine]
