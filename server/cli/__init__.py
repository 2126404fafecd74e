"""The ``fieldsync`` command line.

One console script with subcommands. Flags override ``FIELDSYNC_*``
environment variables by setting them before anything is built, so the server
and the commands read configuration one way. Errors are one clear line and a
non-zero exit.
"""

from __future__ import annotations

import os
import sqlite3
import sys

import click

from schemas import FormDefinitionError
from sync.errors import CouchError

from . import (
    areas,
    conflicts,
    exporting,
    forms,
    migrating,
    operations,
    quarantine,
    rekeying,
    reviews,
    running,
    users,
)


class FieldsyncGroup(click.Group):
    """Turns known errors into one readable line instead of a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CouchError as exc:
            click.echo(f"Error: {exc.reason}", err=True)
            sys.exit(1)
        except FormDefinitionError as exc:
            click.echo("Error: the form definition is invalid:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem['path']}: {problem['message']}", err=True)
            sys.exit(1)
        except sqlite3.Error as exc:
            data_dir = os.environ.get("FIELDSYNC_DATA_DIR", "data")
            click.echo(f"Error: the SQLite store in {data_dir} failed: {exc}", err=True)
            sys.exit(1)
        except OSError as exc:
            # "[Errno 2] No such file or directory: 'x'" reads better as "x: No such file or directory".
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"Error: {where}{exc.strerror or exc}", err=True)
            sys.exit(1)
        except ValueError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=FieldsyncGroup)
@click.version_option("0.1.0", prog_name="fieldsync")
def main() -> None:
    """fieldsync: an offline-first field data sync server (CouchDB replication protocol)."""


for module in (running, forms, areas, users, quarantine, reviews, conflicts, operations, exporting, migrating,
               rekeying):
    for command in module.COMMANDS:
        main.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    main()
