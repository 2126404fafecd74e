"""``fieldsync sync-status``."""

from __future__ import annotations

from datetime import timedelta

import click

from sync.clock import now, parse_iso

from .context import data_option, services_for


@click.command(name="sync-status")
@click.option("--stale-days", type=int, default=14, show_default=True,
              help="Flag users who have not synced for this many days.")
@data_option
def sync_status(stale_days: int, data: str | None) -> None:
    """Each user's last sync, sessions and totals; who has gone quiet."""
    svc = services_for(data)
    sessions: dict[str, list[dict]] = {}
    for s in svc.synclog.sessions():
        sessions.setdefault(s["user"], []).append(s)
    cutoff = now() - timedelta(days=stale_days)
    click.echo(f"{'user':<18}{'role':<12}{'last sync':<26}{'sessions':>9}{'read':>8}{'written':>9}{'refused':>9}")
    for u in sorted(svc.users.list(), key=lambda u: u.name):
        mine = sessions.get(u.name, [])
        last = max((s.get("last_at", "") for s in mine), default="")
        stale = not last or (parse_iso(last) or now()) < cutoff
        flag = "  <- not synced" + (f" for {stale_days}+ days" if last else " yet") if stale and u.role == "worker" else ""
        click.echo(f"{u.name:<18}{u.role:<12}{(last or 'never'):<26}{len(mine):>9}"
                   f"{sum(s.get('read', 0) for s in mine):>8}{sum(s.get('written', 0) for s in mine):>9}"
                   f"{sum(s.get('refused', 0) for s in mine):>9}{flag}")


COMMANDS = [sync_status]
