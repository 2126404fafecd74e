"""The sync monitor: per worker and per device, when it last pushed and pulled,
what it moved, what was refused, and what waits on the server for it.

A device is a replica. The sync log (``synclog``) keeps one record per user
and device (told apart by ``X-Device-Id`` when the app sends one, else the
user agent) with its last push and pull and its totals, and the replication
checkpoints it used: every replicator keeps one ``_local/<id>`` document per
replication on the server, so two phones that send the same user agent are
still two pull replications. A pull checkpoint's ``last_seq`` is a sequence
of the user's replica; what the replica's changes feed holds after it is the
device's *backlog*: documents it will receive on its next pull. It is
counted through the same ``UserReplica`` the device pulls from (so hidden
documents are not counted), up to ``cap``; it may include documents the
device pushed itself after that pull, which its next pull skips cheaply.

A push checkpoint's ``last_seq`` is the device's own sequence, which says
nothing the server can count, so a push replication has no backlog here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sync.accounts.access import Access
from sync.accounts.users import User
from sync.clock import now, parse_iso
from sync.errors import BadRequest, NotFound
from sync.replica.synclog import SyncLog, last_synced
from sync.replica.union import CHECKPOINT_SCOPE, UserReplica, decode_seq
from sync.stores.base import Store

BACKLOG_CAP = 500


def checkpoint_direction(last_seq: object) -> str | None:
    """``pull`` when ``last_seq`` is a sequence of a user's replica (the server is the
    source), ``push`` when it is the device's own (a number, or another server's string)."""
    if last_seq is None:
        return None
    if isinstance(last_seq, str) and "-" in last_seq:
        try:
            decode_seq(last_seq)
        except BadRequest:
            return "push"
        return "pull"
    return "push"


@dataclass
class Replication:
    id: str
    direction: str | None
    at: str
    last_seq: object = None
    backlog: int | None = None  # None: not known (a push, or no checkpoint kept)
    backlog_more: bool = False  # more than the cap

    def to_json(self) -> dict:
        return {"id": self.id, "direction": self.direction, "checkpoint_at": self.at,
                "backlog": self.backlog, "backlog_more": self.backlog_more}


@dataclass
class Device:
    key: str
    device_id: str | None
    user_agent: str
    first_seen: str | None
    last_seen: str | None
    last_push: str | None
    last_pull: str | None
    docs_up: int
    docs_down: int
    refused: int
    replications: list[Replication] = field(default_factory=list)
    # The latest refused documents, newest first: {id, reason, messages: {en, mn}, at}.
    last_refusals: list[dict] = field(default_factory=list)

    @property
    def last_sync(self) -> str | None:
        return max(self.last_push or "", self.last_pull or "") or None

    def to_json(self) -> dict:
        return {"device": self.key, "device_id": self.device_id, "user_agent": self.user_agent,
                "first_seen": self.first_seen, "last_seen": self.last_seen,
                "last_push": self.last_push, "last_pull": self.last_pull, "docs_up": self.docs_up,
                "docs_down": self.docs_down, "refused": self.refused,
                "last_refusals": self.last_refusals,
                "replications": [r.to_json() for r in self.replications]}


@dataclass
class UserSync:
    user: User
    devices: list[Device]
    last_sync: str | None
    stale: bool  # no push or pull for the configured number of days (or ever)

    @property
    def backlog(self) -> int | None:
        counts = [r.backlog for d in self.devices for r in d.replications if r.backlog is not None]
        return max(counts) if counts else None


class SyncMonitor:
    def __init__(self, store: Store, synclog: SyncLog, access: Access):
        self.store = store
        self.synclog = synclog
        self.access = access

    def status(self, users: list[User], *, stale_days: float, cap: int = BACKLOG_CAP,
               backlog: bool = True) -> list[UserSync]:
        cutoff = now() - timedelta(days=stale_days)
        out = []
        for user in users:
            devices = [self._device(user, rec, cap if backlog else 0) for rec in self.synclog.devices(user.name)]
            # A client that only looked (a plain GET of the replica) has not synced: not a device here.
            devices = [d for d in devices if d.last_sync or d.replications]
            devices.sort(key=lambda d: d.last_sync or "", reverse=True)
            last = max((d.last_sync for d in devices if d.last_sync), default=None)
            moment = parse_iso(last)
            out.append(UserSync(user, devices, last, moment is None or moment < cutoff))
        return out

    def _device(self, user: User, rec: dict, cap: int) -> Device:
        legacy = "first_seen" not in rec  # written before pushes and pulls were told apart
        device = Device(
            key=rec.get("device_key", ""), device_id=rec.get("device"),
            user_agent=rec.get("user_agent", ""), first_seen=rec.get("first_seen") or rec.get("started_at"),
            last_seen=rec.get("last_at"), last_push=rec.get("last_push_at"),
            last_pull=rec.get("last_pull_at") or (last_synced(rec) if legacy else None),
            docs_up=rec.get("total_written", rec.get("written", 0)),
            docs_down=rec.get("total_read", rec.get("read", 0)),
            refused=rec.get("total_refused", rec.get("refused", 0)),
            last_refusals=list(rec.get("last_refusals") or []))
        for rid, info in sorted((rec.get("checkpoints") or {}).items(), key=lambda kv: kv[1].get("at", ""),
                                reverse=True):
            replication = Replication(rid, info.get("direction"), info.get("at", ""))
            if replication.direction == "pull" and cap:
                self._backlog(user, replication, cap)
            device.replications.append(replication)
        return device

    def _backlog(self, user: User, replication: Replication, cap: int) -> None:
        try:
            doc = self.store.ensure(CHECKPOINT_SCOPE).get_local(f"{user.name}/{replication.id}")
        except NotFound:
            return  # the replicator deleted it, or never wrote one
        replication.last_seq = doc.get("last_seq")
        if checkpoint_direction(replication.last_seq) != "pull":
            return
        replica = UserReplica(self.store, user, user, self.access, None)
        try:
            since = replica.parse_since(replication.last_seq)
        except BadRequest:
            return
        count = 0
        for _ in replica.changes(since, limit=cap + 1):
            count += 1
        replication.backlog = min(count, cap)
        replication.backlog_more = count > cap
