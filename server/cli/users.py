"""``fieldsync user add|passwd|disable|enable|assign|list``."""

from __future__ import annotations

import click

from sync.accounts import user_changes
from sync.accounts.users import ROLES
from sync.errors import BadRequest

from .context import data_option, read_password, services_for


@click.group()
def user() -> None:
    """Accounts: workers, coordinators, admins."""


CLI = "cli"  # who the audit trail says made a change from the server's shell


def _change(svc, name: str, **changes):
    """Through the same checks as /api/users, recorded in the audit trail."""
    return user_changes.change_user(svc.users, svc.areas, svc.audit, by=CLI, name=name, **changes)


def _check_areas(svc, areas: tuple[str, ...]) -> list[str]:
    known = svc.areas.tree().areas
    unknown = [a for a in areas if a not in known]
    if unknown:
        raise BadRequest(f"unknown area(s): {', '.join(unknown)} (see: fieldsync area list)")
    return list(areas)


@user.command()
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option("--area", "areas", multiple=True, help="Assigned area code (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@data_option
def add(name: str, role: str, areas: tuple[str, ...], password_stdin: bool, data: str | None) -> None:
    """Create an account."""
    svc = services_for(data)
    if role != "admin" and not areas:
        raise BadRequest("workers and coordinators need at least one --area")
    area_list = _check_areas(svc, areas)
    password = read_password(f"Password for {name}", password_stdin)
    u = user_changes.add_user(svc.users, svc.areas, svc.audit, by=CLI, name=name, role=role, areas=area_list,
                              password=password)
    click.echo(f"added {u.role} {u.name}" + (f" ({', '.join(u.areas)})" if u.areas else ""))


@user.command()
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@data_option
def passwd(name: str, password_stdin: bool, data: str | None) -> None:
    """Set a new password (ends the user's open sessions)."""
    svc = services_for(data)
    _change(svc, name, password=read_password(f"New password for {name}", password_stdin))
    click.echo(f"password changed for {name}")


@user.command()
@click.argument("name")
@data_option
def disable(name: str, data: str | None) -> None:
    """Refuse the account at once, open sessions included."""
    _change(services_for(data), name, disabled=True)
    click.echo(f"disabled {name}")


@user.command()
@click.argument("name")
@data_option
def enable(name: str, data: str | None) -> None:
    """Allow a disabled account again."""
    _change(services_for(data), name, disabled=False)
    click.echo(f"enabled {name}")


@user.command()
@click.argument("name")
@click.option("--area", "areas", multiple=True, required=True, help="Area code (repeatable).")
@data_option
def assign(name: str, areas: tuple[str, ...], data: str | None) -> None:
    """Replace a user's areas (a worker moving to another soum)."""
    svc = services_for(data)
    u = _change(svc, name, areas=_check_areas(svc, areas))
    click.echo(f"{u.name} now covers {', '.join(u.areas)}")


@user.command(name="list")
@data_option
def list_users(data: str | None) -> None:
    """List accounts."""
    for u in services_for(data).users.list():
        state = "disabled" if u.disabled else "active"
        click.echo(f"{u.name:<20} {u.role:<12} {state:<9} {', '.join(u.areas)}")


COMMANDS = [user]
