"""Who has synced: the coordinators' view of devices."""

from __future__ import annotations

from marshmallow import fields

from .base import Answer, ApiQuery, Number, QueryFlag, QueryWhole, Text, at_least


class SyncStatusQuery(ApiQuery):
    days = Number(validate=at_least(0, 36500), metadata={"description": "no sync for this many days is stale"})
    after = Text(load_default="", metadata={"description": "the last user name of the previous page"})
    limit = QueryWhole(load_default=100, validate=at_least(1))
    backlog = QueryFlag(load_default=True, metadata={"description": "count each replication's backlog"})


class UserSyncStatus(Answer):
    name = fields.String(required=True)
    role = fields.String(required=True)
    areas = fields.List(fields.String())
    disabled = fields.Boolean()
    last_sync = fields.String(allow_none=True)
    stale = fields.Boolean()
    devices = fields.List(fields.Dict())
