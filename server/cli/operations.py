"""``fieldsync sync-status``: the sync monitor on the command line."""

from __future__ import annotations

import click

from sync.replica.monitor import SyncMonitor

from .context import data_option, services_for


@click.command(name="sync-status")
@click.option("--stale-days", "--days", "stale_days", type=click.FloatRange(0, 36500), default=None,
              help="Flag users who have not pushed or pulled for this many days "
                   "(default FIELDSYNC_STALE_DAYS, 7).")
@click.option("--backlog/--no-backlog", default=True, show_default=True,
              help="Count what waits on the server for each device's next pull.")
@data_option
def sync_status(stale_days: float | None, backlog: bool, data: str | None) -> None:
    """Each user's last sync, sessions and totals, then each device: last push and
    pull, documents up and down, refusals, and its backlog; who has gone quiet."""
    svc = services_for(data)
    days = svc.settings.stale_days if stale_days is None else stale_days
    users = sorted(svc.users.list(), key=lambda u: u.name)
    monitor = SyncMonitor(svc.store, svc.synclog, svc.access)
    click.echo(f"{'user':<18}{'role':<12}{'last sync':<26}{'sessions':>9}{'read':>8}{'written':>9}{'refused':>9}")
    for status in monitor.status(users, stale_days=days, backlog=backlog):
        u = status.user
        sessions = list(svc.synclog.sessions(u.name))
        last = status.last_sync
        flag = ""
        if status.stale and u.role == "worker":
            flag = "  <- not synced" + (f" for {days:g}+ days" if last else " yet")
        click.echo(f"{u.name:<18}{u.role:<12}{(last or 'never'):<26}{len(sessions):>9}"
                   f"{sum(d.docs_down for d in status.devices):>8}{sum(d.docs_up for d in status.devices):>9}"
                   f"{sum(d.refused for d in status.devices):>9}{flag}")
        for device in status.devices:
            name = device.device_id or device.user_agent or device.key
            click.echo(f"  - {name[:60]}  push {device.last_push or 'never'}  pull {device.last_pull or 'never'}"
                       f"  up {device.docs_up}  down {device.docs_down}  refused {device.refused}")
            for rep in device.replications:
                waiting = ("" if rep.backlog is None
                           else f"  backlog {rep.backlog}{'+' if rep.backlog_more else ''}")
                click.echo(f"      {rep.direction or '?':<5} {rep.id[:40]}  checkpoint {rep.at}{waiting}")


COMMANDS = [sync_status]
