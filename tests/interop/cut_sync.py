"""Run a PouchDB replication to its end over a link that keeps dropping, as a device does.

A phone's sync app starts the replication again whenever the link comes
back; the replication must then resume from its checkpoint, not from the
start, and must not write anything twice. `replicate_until_complete` restarts
one-shot replications until one completes cleanly and keeps, per attempt,
what a test needs to check that: how many changes the attempt looked at and
how many documents the target already had when it started. It speaks
through Node's own fetch, as PouchDB in a browser does: PouchDB's default in
Node (node-fetch 2) waits forever for an answer whose body the link cut after
its headers, which is a stall of the test's device, not of the server. The test and
bench/cut_links.py both use it, so the benchmark measures what the test proves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pouch import DriverError, PouchReplica


@dataclass
class Attempt:
    target_docs_before: int  # documents the target held when the attempt started
    changes_scanned: int  # changes the attempt compared with the target (revs_diff)
    docs_written: int
    state: str
    error: str = ""


@dataclass
class CutRun:
    attempts: list[Attempt] = field(default_factory=list)
    seconds: float = 0.0
    final: dict[str, Any] | None = None  # the report of the attempt that completed

    @property
    def retries(self) -> int:
        return max(0, len(self.attempts) - 1)


class Stalled(AssertionError):
    """The replication did not complete in the time given; the attempts say how far it got."""


def replicate_until_complete(replica: PouchReplica, direction: str, url: str, *,
                             target_docs: Callable[[], int], deadline: float = 80.0,
                             attempt_timeout: float = 20.0, pause: float = 0.05,
                             **options: Any) -> CutRun:
    """Restart ``replica.replicate(direction, url)`` until an attempt completes with no error."""
    run = CutRun()
    started = time.monotonic()
    while True:
        before = target_docs()
        try:
            report = replica.replicate(direction, url, timeout=attempt_timeout,
                                       remote_options={"native_fetch": True}, **options)
        except DriverError as exc:  # the attempt hung past attempt_timeout: the driver cancelled it
            report = {**(exc.partial or {}), "state": "timeout",
                      "errors": [{"name": exc.name, "message": str(exc)}]}
        result = report.get("result") or {}
        errors = report.get("errors") or []
        attempt = Attempt(
            target_docs_before=before,
            changes_scanned=report.get("changes_scanned", 0),
            docs_written=report.get("docs_written_seen", 0),
            state=report.get("state", "?"),
            error="; ".join(f"{e.get('name')}: {e.get('message') or e.get('reason')}" for e in errors)[:300],
        )
        run.attempts.append(attempt)
        if attempt.state == "complete" and not errors and not result.get("errors") and not report.get("denied"):
            run.final = report
            break
        if time.monotonic() - started > deadline:
            run.seconds = time.monotonic() - started
            tail = "\n".join(f"  {a}" for a in run.attempts[-5:])
            raise Stalled(f"{direction} not complete after {run.seconds:.0f}s and {len(run.attempts)} attempts; "
                          f"last attempts:\n{tail}")
        time.sleep(pause)
    run.seconds = time.monotonic() - started
    return run
