"""Building the services a command needs from flags and environment."""

from __future__ import annotations

import os
import sys

import click

from ..config import Settings
from ..services import Services

data_option = click.option(
    "--data", default=None, metavar="DIR",
    help="Data directory (overrides FIELDSYNC_DATA_DIR; default ./data).",
)


def settings_for(data: str | None) -> Settings:
    if data:
        os.environ["FIELDSYNC_DATA_DIR"] = data
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.store == "sqlite" and settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise click.ClickException(f"data directory {settings.data_dir} is not a directory")
    return settings


def services_for(data: str | None) -> Services:
    return Services.build(settings_for(data))


def read_password(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise click.ClickException("no password on standard input")
        return line.rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
