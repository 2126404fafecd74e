"""Settings from the environment (``FIELDSYNC_*``), with laptop-friendly defaults.

Flags of the command line override the environment by setting these same
variables before the app is built, so there is one path for configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .slow_clients import Deadlines


@dataclass
class Settings:
    data_dir: Path = Path("data")
    store: str = "sqlite"
    couchdb_url: str | None = None
    couchdb_prefix: str = "fieldsync-"
    secret_key: str = ""
    admin: tuple[str, str] | None = None
    max_body_bytes: int = 64 * 1024 * 1024
    # The largest attachment (a photo, decoded) a document may carry; a bigger one is refused
    # per document, with feedback (sync/gate/write_gate.py).
    max_attachment_bytes: int = 16 * 1024 * 1024
    # A replicator's _bulk_docs over max_body_bytes is still read up to this size, one at a time
    # per process, so that its documents can be answered one by one (server/oversize.py).
    max_batch_bytes: int = 256 * 1024 * 1024
    # Deadlines against slow and idle clients, and connections per address (FIELDSYNC_HEADER_SECONDS,
    # ..._IDLE_SECONDS, ..._STALL_SECONDS, ..._MIN_BYTES_PER_SECOND, ..._MAX_CONNECTIONS_PER_ADDRESS):
    # read by gunicorn's workers themselves (server/serving.py), checked here at start.
    slow_clients: Deadlines = field(default_factory=Deadlines)
    max_feed_seconds: float = 3600.0
    default_changes_timeout_ms: int = 60_000
    session_seconds: int = 3600
    device_session_seconds: int = 90 * 86400  # the field app's session (server/auth.py)
    trusted_proxies: int = 0
    cache_seconds: float | None = None  # None: the store's own default
    stale_days: float = 7.0  # the sync monitor flags workers with no push or pull for this long
    # The coordinator's case report counts high-risk cases with no follow-up done for this long.
    # No national or Primero standard for the interval was found (programmes.md section 7): a setting.
    case_follow_up_days: int = 7
    # Keys sealing the answers of sensitive forms at rest (sync/stores/encrypted.py): "id:base64key"
    # entries, the last one newest; from the variable, or one per line in a key file.
    encryption_keys: str = field(default="", repr=False)
    encryption_key_file: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        admin = None
        if env.get("FIELDSYNC_ADMIN"):
            name, sep, password = env["FIELDSYNC_ADMIN"].partition(":")
            if not sep or not name or not password:
                raise ValueError("FIELDSYNC_ADMIN must be name:password")
            admin = (name, password)
        return cls(
            data_dir=Path(env.get("FIELDSYNC_DATA_DIR", "data")),
            store=env.get("FIELDSYNC_STORE", "sqlite"),
            couchdb_url=env.get("FIELDSYNC_COUCHDB_URL"),
            couchdb_prefix=env.get("FIELDSYNC_COUCHDB_PREFIX") or "fieldsync-",
            secret_key=env.get("FIELDSYNC_SECRET_KEY") or "",
            admin=admin,
            max_body_bytes=_number(env, "FIELDSYNC_MAX_BODY_BYTES", 64 * 1024 * 1024, int),
            max_attachment_bytes=_number(env, "FIELDSYNC_MAX_ATTACHMENT_BYTES", 16 * 1024 * 1024, int),
            max_batch_bytes=_number(env, "FIELDSYNC_MAX_BATCH_BYTES", 256 * 1024 * 1024, int),
            slow_clients=Deadlines.from_env(env),
            max_feed_seconds=_number(env, "FIELDSYNC_MAX_FEED_SECONDS", 3600, float),
            session_seconds=_number(env, "FIELDSYNC_SESSION_SECONDS", 3600, int),
            device_session_seconds=_number(env, "FIELDSYNC_DEVICE_SESSION_SECONDS", 90 * 86400, int),
            trusted_proxies=_number(env, "FIELDSYNC_TRUSTED_PROXIES", 0, int),
            cache_seconds=(None if env.get("FIELDSYNC_CACHE_SECONDS", "") == ""
                           else _number(env, "FIELDSYNC_CACHE_SECONDS", 0, float)),
            stale_days=_number(env, "FIELDSYNC_STALE_DAYS", 7, float),
            case_follow_up_days=_number(env, "FIELDSYNC_CASE_FOLLOW_UP_DAYS", 7, int),
            encryption_keys=env.get("FIELDSYNC_ENCRYPTION_KEYS") or "",
            encryption_key_file=env.get("FIELDSYNC_ENCRYPTION_KEY_FILE") or "",
        )


def _number(env: dict[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return kind(default)
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} cannot be negative")
    return value
