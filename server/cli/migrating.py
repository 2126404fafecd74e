"""``fieldsync migrate --from sqlite:DIR --to couchdb:URL``."""

from __future__ import annotations

import click

from sync.errors import BadRequest
from sync.stores.base import Store
from sync.stores.migrate import migrate as run_migration


def open_store(spec: str) -> Store:
    """``sqlite:DIR`` or ``couchdb:URL`` (the URL may carry credentials)."""
    kind, sep, where = spec.partition(":")
    if not sep or not where:
        raise BadRequest(f"{spec!r}: use sqlite:DIR or couchdb:URL")
    if kind == "sqlite":
        from sync.stores.sqlite import SQLiteStore

        return SQLiteStore(where)
    if kind == "couchdb":
        from sync.stores.couchdb import CouchStore

        return CouchStore(where)
    raise BadRequest(f"{spec!r}: the store kind must be sqlite or couchdb")


@click.command()
@click.option("--from", "source", required=True, metavar="STORE", help="sqlite:DIR or couchdb:URL")
@click.option("--to", "target", required=True, metavar="STORE", help="sqlite:DIR or couchdb:URL")
@click.option("--quiet", is_flag=True, help="Only the summary.")
def migrate(source: str, target: str, quiet: bool) -> None:
    """Copy every scope with all revisions, attachments and checkpoints; resumable; verified."""
    src, dst = open_store(source), open_store(target)
    reports = run_migration(src, dst, progress=None if quiet else click.echo)
    failed = False
    for r in reports:
        state = "verified" if not r.problems else f"{len(r.problems)} PROBLEMS"
        click.echo(f"{r.scope:<24} {r.copied_docs:>8} docs {r.copied_locals:>5} _local  "
                   f"(resumed from {r.resumed_from})  {state}")
        for p in r.problems[:20]:
            click.echo(f"    {p}", err=True)
        failed = failed or bool(r.problems)
    if failed:
        raise click.ClickException("verification found differences; run migrate again to resume")
    click.echo(f"migrated {len(reports)} scopes")


COMMANDS = [migrate]
