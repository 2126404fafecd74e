"""Scope names: what may name a database.

Area scopes are area codes (``[a-z0-9-]``); system scopes start with ``_`` so
that no area can ever collide with them.
"""

from __future__ import annotations

import re

from sync.errors import BadRequest

SCOPE_RE = re.compile(r"^_?[a-z0-9][a-z0-9_-]{0,127}\Z")
GLOBAL = "global"
CHECKPOINTS = "_checkpoints"  # every user replica's replication checkpoints (its ``_local`` documents)

# System scopes whose documents no reader takes in order: a store may spread one over
# several files or shards. Every device writes its checkpoint after each batch it syncs,
# so in a crowd these writes come all at once, and on CouchDB a database of one shard
# takes them one after the other (sync.stores.couchdb, SPREAD_SHARDS).
SPREAD = frozenset({CHECKPOINTS})


def check_scope_name(name: str) -> str:
    if not SCOPE_RE.match(name or ""):
        raise BadRequest(
            "Name must be lowercase letters, digits, '-' or '_' (starting with a letter or digit)",
            error="illegal_database_name",
        )
    return name
