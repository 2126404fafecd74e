"""``serve``, ``init`` and ``demo``."""

from __future__ import annotations

import click

from .context import data_option, read_password, services_for, settings_for


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=5985, show_default=True, type=int, help="Port to bind.")
@data_option
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=16, show_default=True, type=int, help="Threads per worker.")
@click.option("--quiet", is_flag=True, help="No access log.")
def serve(host: str, port: int, data: str | None, workers: int, threads: int, quiet: bool) -> None:
    """Serve the replication protocol and API with gunicorn."""
    from ..serving import check_can_listen

    settings = settings_for(data)
    check_can_listen(host, port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    from .. import create_app
    from ..serving import serve as run

    # Fail here, in one line, rather than in every worker; then close the store,
    # as SQLite connections must not cross the fork into gunicorn's workers.
    create_app().extensions["fieldsync"].store.close()
    run(create_app, host, port, workers, threads, quiet)


@click.command()
@data_option
@click.option("--admin", "admin_name", default="admin", show_default=True, help="First admin's name.")
@click.option("--password-stdin", is_flag=True, help="Read the admin password from standard input.")
def init(data: str | None, admin_name: str, password_stdin: bool) -> None:
    """Create the data directory and the first admin."""
    svc = services_for(data)
    svc.store.ensure("global")
    if any(u.is_admin for u in svc.users.list()):
        click.echo(f"{svc.settings.data_dir} already has an admin; nothing to do.")
        return
    password = read_password(f"Password for {admin_name}", password_stdin)
    svc.users.add(admin_name, "admin", [], password)
    click.echo(f"Initialised {svc.settings.data_dir} with admin {admin_name!r}.")


@click.command()
@data_option
@click.option("--serve", "then_serve", is_flag=True, help="Start the server afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind with --serve (and to print in the replica URLs).")
@click.option("--port", default=5985, show_default=True, type=int,
              help="Port to bind with --serve (and to print in the replica URLs).")
def demo(data: str | None, then_serve: bool, host: str, port: int) -> None:
    """Seed the demo data set (idempotent) and optionally serve it."""
    from sync.demo import DEMO_PASSWORD, seed_demo

    svc = services_for(data)
    if then_serve:
        from ..serving import check_can_listen

        check_can_listen(host, port)
    summary = seed_demo(svc.store, svc.areas, svc.forms, svc.users, registers=True, programmes=True)
    base = f"http://{host}:{port}"
    click.echo(f"Demo data in {svc.settings.data_dir}: {summary.text}")
    click.echo(f"Every demo account's password: {DEMO_PASSWORD}")
    for user in summary.users:
        click.echo(f"  {user.role:<11} {user.name:<10} replica: {base}/sync/{user.name}"
                   + (f"  ({', '.join(user.areas)})" if user.areas else ""))
    click.echo(f"  scope databases (admins): {base}/db/<scope>")
    if then_serve:
        click.echo(f"Serving on {base} (Ctrl-C stops)")
        from .. import create_app
        from ..serving import serve as run

        svc.store.close()  # SQLite connections must not cross the fork into the workers
        run(create_app, host, port, 2, 16, quiet=True)


COMMANDS = [serve, init, demo]
