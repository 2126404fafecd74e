"""``fieldsync rekey``: seal the answers of sensitive forms again with the newest key."""

from __future__ import annotations

import click

from sync.stores.encrypted import EncryptedStore, new_key_entry, rekey

from .context import data_option, services_for


@click.command(name="rekey")
@click.option("--new-key", metavar="ID", default=None,
              help="Only print a fresh key entry ID:BASE64 to add at the end of the key file, and exit.")
@data_option
def rekey_command(new_key: str | None, data: str | None) -> None:
    """Seal with the newest key every sensitive case on an older key or still in plain text.

    Add the new key last to FIELDSYNC_ENCRYPTION_KEY_FILE (or FIELDSYNC_ENCRYPTION_KEYS)
    and restart the servers first: they then write with it and still read the old one.
    Each re-sealed document gets a new revision with the same answers; changed SQLite
    files are vacuumed and CouchDB databases compacted. Keep the old key until CouchDB's
    compactions are done."""
    if new_key is not None:
        click.echo(new_key_entry(new_key))
        return
    svc = services_for(data)
    if not isinstance(svc.store, EncryptedStore):
        raise click.ClickException("no encryption key is configured "
                                   "(FIELDSYNC_ENCRYPTION_KEYS or FIELDSYNC_ENCRYPTION_KEY_FILE)")
    counts = rekey(svc.store)
    for scope, n in sorted(counts.items()):
        click.echo(f"{scope}: {n} re-sealed")
    click.echo(f"{sum(counts.values())} documents now sealed with key {svc.store.keyring.newest!r}.")


COMMANDS = [rekey_command]
