"""The objects a request needs, built once per app from its settings."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from sync.sqlite_store import SQLiteStore
from sync.store import Store

from .auth import Authenticator
from .config import Settings


def make_store(settings: Settings) -> Store:
    if settings.store == "sqlite":
        return SQLiteStore(settings.data_dir)
    raise ValueError(f"unknown store {settings.store!r} (FIELDSYNC_STORE is sqlite or couchdb)")


@dataclass
class Services:
    settings: Settings
    store: Store
    auth: Authenticator


def services() -> Services:
    return current_app.extensions["fieldsync"]
