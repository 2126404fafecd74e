"""Drive real PouchDB 9 replicas (Node.js) from Python tests and benchmarks.

fieldsync's promise is that PouchDB in the field syncs with it unchanged, so
the interop tests use PouchDB itself rather than a Python imitation of it.
`driver.js` keeps replicas open in one long-lived Node process; this module
speaks its JSON-lines protocol. Every call has a timeout so that a hung
replication fails one test instead of freezing the suite, and a failed call
raises `DriverError` carrying PouchDB's own error fields.
"""

from __future__ import annotations

import base64
import collections
import itertools
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

INTEROP_DIR = Path(__file__).resolve().parent
DRIVER_JS = INTEROP_DIR / "driver.js"
NODE_MODULES = INTEROP_DIR / "node_modules"

DEFAULT_TIMEOUT = 60.0


class DriverError(Exception):
    """A request the driver answered with an error (PouchDB's fields kept)."""

    def __init__(self, op: str, error: dict[str, Any]) -> None:
        self.op = op
        self.error = error
        self.name: str = error.get("name") or "error"
        self.status: int | None = error.get("status")
        self.reason: str | None = error.get("reason")
        self.partial: dict[str, Any] | None = error.get("partial")
        detail = error.get("reason") or error.get("message") or ""
        super().__init__(f"{op}: {self.name} ({self.status}): {detail}")


class DriverDied(RuntimeError):
    """The Node process went away; its stderr tail says why."""


def node_modules_ready() -> bool:
    """True when `npm ci` has run in tests/interop (the Makefile does it)."""
    return (NODE_MODULES / "pouchdb").is_dir() and (NODE_MODULES / "pouchdb-adapter-memory").is_dir()


class NodeDriver:
    """One `node driver.js` process; thread-safe request/response by id."""

    def __init__(self, node: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        node = node or shutil.which("node")
        if not node:
            raise RuntimeError("node is not on PATH; the interop tests need Node.js 18+")
        if not node_modules_ready():
            raise RuntimeError(f"run `npm ci` in {INTEROP_DIR} first")
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._waiting: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._stderr: collections.deque[str] = collections.deque(maxlen=200)
        self._proc = subprocess.Popen(
            [node, str(DRIVER_JS)],
            cwd=INTEROP_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        threading.Thread(target=self._read_stdout, daemon=True, name="pouch-stdout").start()
        threading.Thread(target=self._read_stderr, daemon=True, name="pouch-stderr").start()
        self.call("ping", timeout=30)

    # -- plumbing ---------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                self._stderr.append(f"(stdout, not JSON) {line.rstrip()}")
                continue
            with self._lock:
                waiter = self._waiting.get(message.get("id"))
            if waiter is not None:
                waiter.put(message)
        with self._lock:  # wake every caller: no answer will come
            for waiter in self._waiting.values():
                waiter.put({"id": None, "ok": False, "error": {"name": "driver_exited"}})

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line.rstrip())

    def stderr_tail(self, lines: int = 30) -> str:
        return "\n".join(list(self._stderr)[-lines:])

    def call(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        """Send one request and wait for its answer; raise DriverError on error."""
        if self._proc.poll() is not None:
            raise DriverDied(f"node driver exited ({self._proc.returncode}):\n{self.stderr_tail()}")
        request_id = next(self._ids)
        waiter: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1)
        with self._lock:
            self._waiting[request_id] = waiter
        try:
            line = json.dumps({"id": request_id, "op": op, "args": args}, ensure_ascii=False)
            assert self._proc.stdin is not None
            try:
                with self._lock:
                    self._proc.stdin.write(line + "\n")
                    self._proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                raise DriverDied(f"node driver is gone:\n{self.stderr_tail()}") from exc
            try:
                message = waiter.get(timeout=timeout or self.timeout)
            except queue.Empty:
                raise TimeoutError(
                    f"driver op {op} got no answer in {timeout or self.timeout}s\n{self.stderr_tail()}"
                ) from None
        finally:
            with self._lock:
                self._waiting.pop(request_id, None)
        if message.get("ok"):
            return message.get("result")
        error = message.get("error") or {}
        if error.get("name") == "driver_exited":
            raise DriverDied(f"node driver exited during {op}:\n{self.stderr_tail()}")
        raise DriverError(op, error)

    def close(self) -> None:
        """Ask the driver to close its replicas, then make sure it is gone."""
        if self._proc.poll() is None:
            try:
                self.call("shutdown", timeout=10)
            except Exception:  # noqa: BLE001 - best effort; we kill below
                pass
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def __enter__(self) -> NodeDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- replicas ---------------------------------------------------------

    _handles = itertools.count(1)

    def open_replica(self, path: str | os.PathLike[str] | None = None, *, memory: bool = False) -> PouchReplica:
        """A leveldb replica stored in `path` (a phone's disk), or an in-memory one."""
        handle = f"r{next(self._handles)}-{os.getpid()}-{time.monotonic_ns()}"
        if memory:
            info = self.call("open", db=handle, adapter="memory", name=handle)
        elif path is not None:
            info = self.call("open", db=handle, path=str(path))
        else:
            raise ValueError("open_replica needs a path or memory=True")
        return PouchReplica(self, handle, info)


class PouchReplica:
    """One local PouchDB database, as a field device holds it."""

    #: seconds one replication may take before the driver cancels it and the call fails
    replicate_timeout = 60.0

    def __init__(self, driver: NodeDriver, handle: str, info: dict[str, Any]) -> None:
        self.driver = driver
        self.handle = handle
        self.adapter: str = info.get("adapter", "")

    def _call(self, op: str, timeout: float | None = None, **args: Any) -> Any:
        return self.driver.call(op, timeout=timeout, db=self.handle, **args)

    # -- documents --------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return self._call("info")

    def put(self, doc: dict[str, Any], **options: Any) -> dict[str, Any]:
        return self._call("put", doc=doc, options=options)

    def bulk_docs(self, docs: Iterable[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
        """Write docs; per-document errors are returned, as PouchDB returns them."""
        return self._call("bulkDocs", docs=list(docs), options=options, timeout=120)

    def get(self, doc_id: str, **options: Any) -> dict[str, Any]:
        """PouchDB get(); attachment data (attachments=True) comes back as base64."""
        return self._call("get", id=doc_id, options=options)

    def get_or_none(self, doc_id: str, **options: Any) -> dict[str, Any] | None:
        try:
            return self.get(doc_id, **options)
        except DriverError as exc:
            if exc.status == 404:
                return None
            raise

    def attachment(self, doc_id: str, name: str, **options: Any) -> bytes:
        return base64.b64decode(self._call("getAttachment", id=doc_id, name=name, options=options))

    def remove(self, doc_id: str, rev: str) -> dict[str, Any]:
        return self._call("remove", id=doc_id, rev=rev)

    def all_docs(self, **options: Any) -> dict[str, Any]:
        return self._call("allDocs", options=options)

    def changes(self, **options: Any) -> dict[str, Any]:
        return self._call("changes", options=options)

    def revs(self) -> dict[str, str]:
        """id -> winning rev of every live document."""
        return {row["id"]: row["value"]["rev"] for row in self.all_docs()["rows"]}

    # -- replication ------------------------------------------------------

    def replicate(
        self,
        direction: str,
        remote: str,
        *,
        abort_after_docs: int | None = None,
        filter_js: str | None = None,
        timeout: float | None = None,
        remote_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Run one replication to its end and return the driver's report.

        The report has `result` (PouchDB's complete info: docs_read,
        docs_written, doc_write_failures, errors, status, last_seq; for sync,
        `push` and `pull`), `denied`, `errors`, `changes_scanned` and
        `checkpoints`. Options are PouchDB's (batch_size, batches_limit,
        doc_ids, filter, ...); `remote_options` those of the remote database
        (`{"native_fetch": True}`: Node's fetch, as a browser's, instead of node-fetch).
        """
        timeout = timeout or self.replicate_timeout
        args: dict[str, Any] = {
            "direction": direction,
            "remote": remote,
            "options": options,
            "timeout_ms": int(timeout * 1000),
        }
        if abort_after_docs:
            args["abort_after_docs"] = abort_after_docs
        if filter_js:
            args["filter_js"] = filter_js
        if remote_options:
            args["remote_options"] = remote_options
        return self._call("replicate", timeout=timeout + 15, **args)

    def replicate_local(self, direction: str, other: PouchReplica, *, timeout: float = 600.0,
                        **options: Any) -> dict[str, Any]:
        """Replicate with another local replica: no HTTP at all (the benchmark's ceiling)."""
        return self._call("replicate", timeout=timeout + 15, direction=direction, target_db=other.handle,
                          options=options, timeout_ms=int(timeout * 1000))

    def push(self, remote: str, **kwargs: Any) -> dict[str, Any]:
        return self.replicate("to", remote, **kwargs)

    def pull(self, remote: str, **kwargs: Any) -> dict[str, Any]:
        return self.replicate("from", remote, **kwargs)

    def sync(self, remote: str, **kwargs: Any) -> dict[str, Any]:
        return self.replicate("sync", remote, **kwargs)

    def live(self, direction: str, remote: str, **options: Any) -> LiveReplication:
        """Start a live replication (retry on by default) that runs until stopped."""
        result = self._call("live_start", direction=direction, remote=remote, options=options)
        return LiveReplication(self.driver, result["live_id"])

    # -- lifecycle --------------------------------------------------------

    def close(self) -> None:
        self._call("close")

    def destroy(self) -> None:
        self._call("destroy")


class LiveReplication:
    """A running live replication or sync inside the driver."""

    def __init__(self, driver: NodeDriver, live_id: str) -> None:
        self.driver = driver
        self.live_id = live_id
        self.stopped = False

    def status(self) -> dict[str, Any]:
        return self.driver.call("live_status", live_id=self.live_id)

    def stop(self) -> dict[str, Any]:
        self.stopped = True
        return self.driver.call("live_stop", live_id=self.live_id, timeout=20)

    def __enter__(self) -> LiveReplication:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.stopped:
            self.stop()


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; return it or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        time.sleep(interval)
