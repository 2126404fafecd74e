"""The ``fieldsync`` command line.

Flags override ``FIELDSYNC_*`` environment variables by setting them before the
app is built, so the server and the commands read configuration one way.
Errors are one clear line and a non-zero exit.
"""

from __future__ import annotations

import os
import sys

import click

from sync.errors import CouchError

from .config import Settings


def _settings(data: str | None) -> Settings:
    if data:
        os.environ["FIELDSYNC_DATA_DIR"] = data
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


class FieldsyncGroup(click.Group):
    """Turns store errors into one readable line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CouchError as exc:
            click.echo(f"Error: {exc.reason}", err=True)
            sys.exit(1)


@click.group(cls=FieldsyncGroup)
@click.version_option("0.1.0", prog_name="fieldsync")
def main() -> None:
    """fieldsync: an offline-first field data sync server (CouchDB replication protocol)."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=5985, show_default=True, type=int, help="Port to bind.")
@click.option("--data", default=None, help="Data directory (FIELDSYNC_DATA_DIR, default ./data).")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=16, show_default=True, type=int, help="Threads per worker.")
@click.option("--quiet", is_flag=True, help="No access log.")
def serve(host: str, port: int, data: str | None, workers: int, threads: int, quiet: bool) -> None:
    """Serve the replication protocol and API with gunicorn."""
    settings = _settings(data)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("FIELDSYNC_SECRET_KEY"):
        # Several workers must sign sessions alike; a per-run key is fine for one server.
        os.environ["FIELDSYNC_SECRET_KEY"] = settings.resolved_secret()
    from . import create_app
    from .serving import serve as run

    create_app()  # fail here, in one line, rather than in every worker
    run(create_app, host, port, workers, threads, quiet)


@main.command()
@click.option("--data", default=None, help="Data directory (FIELDSYNC_DATA_DIR, default ./data).")
@click.option("--serve", "then_serve", is_flag=True, help="Start the server afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5985, show_default=True, type=int)
def demo(data: str | None, then_serve: bool, host: str, port: int) -> None:
    """Seed a demo data set (idempotent) and optionally serve it."""
    settings = _settings(data)
    from sync.demo import seed_demo
    from sync.sqlite_store import SQLiteStore

    store = SQLiteStore(settings.data_dir)
    summary = seed_demo(store)
    store.close()
    admin = settings.admin or ("admin", "admin")
    if not settings.admin:
        os.environ["FIELDSYNC_ADMIN"] = "admin:admin"
    base = f"http://{host}:{port}"
    click.echo(f"Demo data in {settings.data_dir}: {summary}")
    click.echo(f"Admin: {admin[0]} / {admin[1]}")
    for scope in store.names():
        click.echo(f"  {base}/db/{scope}")
    if then_serve:
        click.echo(f"Serving on {base} (Ctrl-C stops)")
        from . import create_app
        from .serving import serve as run

        run(create_app, host, port, 2, 16, quiet=True)


if __name__ == "__main__":  # pragma: no cover
    main()
