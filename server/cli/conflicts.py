"""``fieldsync conflicts list|show|resolve|scan``: what ``/api/conflicts`` does, on the server's shell."""

from __future__ import annotations

import click
import orjson

from sync import ids
from sync.errors import NotFound

from .context import data_option, services_for


@click.group()
def conflicts() -> None:
    """Documents whose edits overlap, waiting for a person (disjoint edits merge by themselves)."""


def _scopes(svc, area: str | None) -> list[str]:
    scopes = svc.areas.tree().data_scopes()
    if area is None:
        return scopes
    if area not in scopes:
        raise NotFound(f"no data area {area!r}")
    return [area]


def _db(svc, docid: str):
    parsed = ids.parse_doc_id(docid)
    if parsed is None or not svc.store.exists(parsed.scope):
        raise NotFound(f"no document {docid!r}")
    return svc.store.open(parsed.scope)


@conflicts.command(name="list")
@click.option("--area", default=None, help="Only this area.")
@data_option
def list_conflicts(area: str | None, data: str | None) -> None:
    """List the documents waiting for a person, with the fields that overlap."""
    svc = services_for(data)
    found = svc.conflicts.listing(_scopes(svc, area), limit=10_000)
    for entry in found:
        click.echo(f"{entry['doc_id']}\n    revisions {', '.join([entry['winner'], *entry['conflicts']])}"
                   f"\n    {entry.get('reason')}: {', '.join(entry.get('overlapping') or []) or '-'}")
    if not found:
        click.echo("No conflicts wait for a person.")


@conflicts.command()
@click.argument("docid")
@data_option
def show(docid: str, data: str | None) -> None:
    """The document's revisions field by field, as JSON."""
    svc = services_for(data)
    click.echo(orjson.dumps(svc.conflicts.view(_db(svc, docid), docid).to_json(),
                            option=orjson.OPT_INDENT_2).decode())


@conflicts.command()
@click.argument("docid")
@click.option("--pick", "picks", multiple=True, metavar="FIELD=REV",
              help="Keep this revision's value of a field (a JSON pointer, e.g. /data/bag=3-ab...).")
@click.option("--by", required=True, help="Who decided (recorded in the audit trail).")
@click.option("--note", default=None, help="Why, for the audit trail.")
@data_option
def resolve(docid: str, picks: tuple[str, ...], by: str, note: str | None, data: str | None) -> None:
    """Resolve a conflict: every field without a suggestion needs a --pick."""
    svc = services_for(data)
    db = _db(svc, docid)
    chosen = {}
    for pick in picks:
        field, sep, rev = pick.rpartition("=")
        if not sep or not field:
            raise click.BadParameter(f"{pick!r} is not FIELD=REV", param_hint="--pick")
        chosen[field] = rev
    revs = svc.conflicts.view(db, docid).to_json()["revs"]
    done = svc.conflicts.resolve(db, docid, revs=revs, picks=chosen, by=by, note=note)
    click.echo(f"resolved {docid} as {done['rev']} (removed {', '.join(done['removed'])})")


@conflicts.command()
@click.option("--area", default=None, help="Only this area.")
@data_option
def scan(area: str | None, data: str | None) -> None:
    """Find conflicts that arrived some other way (an import, a restore) and settle them."""
    svc = services_for(data)
    for scope in _scopes(svc, area):
        if not svc.store.exists(scope):
            continue
        counts = svc.conflicts.scan(svc.store.open(scope), by="cli")
        click.echo(f"{scope}: {counts['merged']} merged, {counts['held']} wait for a person")


COMMANDS = [conflicts]
