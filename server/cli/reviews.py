"""``fieldsync review list|show|set``: coordinators' reviews from the server's shell.

``set`` acts as a named coordinator or admin (``--by``), through the write
gate, exactly as the web pages and ``/api/reviews`` do: a state that does not
exist, a comment over 4000 characters, a submission the account may not see
or a worker's account are refused with the same words.
"""

from __future__ import annotations

import click
import orjson

from sync.errors import NotFound
from sync.reviews import DECISIONS, STATES, Reviews, state_of
from sync.subindex import Filters, SubmissionIndex

from .context import data_option, services_for


@click.group()
def review() -> None:
    """Coordinators' reviews of submissions: list, show, decide and comment."""


@review.command(name="list")
@click.option("--area", required=True, help="The area (soum or khoroo) whose submissions to list.")
@click.option("--state", type=click.Choice(STATES), default=None, help="Only submissions in this state.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True,
              help="How many to list, newest first.")
@data_option
def list_reviews(area: str, state: str | None, limit: int, data: str | None) -> None:
    """The area's submissions with their review state, newest first."""
    svc = services_for(data)
    if area not in svc.areas.tree().data_scopes():
        raise NotFound(f"no area {area!r} that holds data")
    index = SubmissionIndex(svc.store, svc.forms)
    index.refresh_all(area)
    page = index.page(area, Filters(state=state), limit=limit)
    for row in page.rows:
        click.echo(f"{area}:sub:{row['k']}  {row['st']:<10}  {row['c'][:16].replace('T', ' ')}  "
                   f"{row['f']} v{row['v']}  {row['a']}  comments: {row.get('n', 0)}")
    if not page.rows:
        click.echo("No submissions.")


@review.command()
@click.argument("submission")
@data_option
def show(submission: str, data: str | None) -> None:
    """Print a submission's review as JSON (its state is received when there is none)."""
    svc = services_for(data)
    admin = next((u for u in svc.users.list() if u.is_admin), None)
    reviews = Reviews(svc.store, svc.gate, svc.access, svc.audit)
    try:
        found = reviews.get(admin, submission) if admin else None
    except NotFound:
        raise click.ClickException(f"no submission {submission}") from None
    click.echo(orjson.dumps({"submission": submission, "state": state_of(found), "review": found},
                            option=orjson.OPT_INDENT_2).decode())


@review.command(name="set")
@click.argument("submission")
@click.option("--status", type=click.Choice(DECISIONS), default=None, help="The decision.")
@click.option("--comment", default=None, help="A comment for the worker (any language).")
@click.option("--by", required=True, help="The coordinator or admin account who decides.")
@data_option
def set_review(submission: str, status: str | None, comment: str | None, by: str, data: str | None) -> None:
    """Record a decision and/or a comment on a submission, as --by."""
    svc = services_for(data)
    user = svc.users.get(by)
    if user is None or user.disabled:
        raise click.ClickException(f"no enabled account {by!r}")
    if user.role not in ("coordinator", "admin"):
        raise click.ClickException(f"{by} is a {user.role}; only coordinators and admins review")
    try:
        done = Reviews(svc.store, svc.gate, svc.access, svc.audit).record(user, submission, status=status,
                                                                           comment=comment)
    except NotFound:
        raise click.ClickException(f"no submission {submission} that {by} may review") from None
    click.echo(f"{done.review['_id']} is {done.review['status']} ({done.review['_rev']})")


COMMANDS = [review]
