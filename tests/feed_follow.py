"""Follow fieldsync's ``_changes`` feeds while other clients write, and count what a reader missed.

A reader does what PouchDB does: it asks for ``_changes`` with ``since`` set to
the ``last_seq`` of its previous answer (or, on a continuous feed, to the last
sequence it was given), for as long as writes go on. A document it was never
shown is a document its replica silently lacks: nothing will ever send it
again until someone edits it. So the only figure that matters is ``missed``:
documents written (and visible to the reader) that no answer ever listed.

One ``FeedWorld`` holds a fieldsync app (served over real HTTP by a threaded
werkzeug server in this process), two data areas ``fa`` and ``fb``, and a
worker assigned to both, whose ``/sync/<worker>`` replica is the union of
``global``, ``fa`` and ``fb``. Writers put one document per request:

* through fieldsync (``PUT /db/<scope>/<id>``, as an admin), and
* around it: on CouchDB straight into the scope's database through the
  cluster's other nodes, on SQLite through a second store on the same files
  (as another gunicorn worker process would).

Every fifth document is a feedback document about someone else, which the
worker may not see: the union feed must pass over it without listing it, and
without losing what comes after it. Used by ``tests/test_feed_skip.py`` and
``bench/feed_skip.py``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from server import create_app
from server.config import Settings
from sync.ids import new_ulid

ADMIN = ("admin", "admin-password-1")
WORKER, WORKER_PASSWORD = "walker", "walker-password-1"
AREAS = ("fa", "fb")
Writer = Callable[[str, list[dict]], None]  # (scope, documents): one request
PAUSE = 0.05  # seconds a reader takes between two answers


def _basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@dataclass(frozen=True)
class FeedSpec:
    """One way of following a feed: which database, which ``feed=``, and its options."""

    name: str
    target: str  # "db" (/db/fa) or "sync" (/sync/<worker>)
    feed: str = "normal"  # normal, longpoll or continuous
    limit: int | None = None
    doc_ids: bool = False  # filter=_doc_ids on a sample of the ids to be written
    heartbeat: int | None = None  # ms


FEEDS = (
    FeedSpec("db normal", "db"),
    FeedSpec("db normal limit=25", "db", limit=25),
    FeedSpec("db normal _doc_ids", "db", doc_ids=True),
    FeedSpec("db longpoll", "db", "longpoll"),
    FeedSpec("db longpoll heartbeat", "db", "longpoll", heartbeat=200),
    FeedSpec("db continuous", "db", "continuous"),
    FeedSpec("db continuous limit=50", "db", "continuous", limit=50),
    FeedSpec("sync normal", "sync"),
    FeedSpec("sync normal limit=25", "sync", limit=25),
    FeedSpec("sync normal _doc_ids", "sync", doc_ids=True),
    FeedSpec("sync longpoll", "sync", "longpoll"),
    FeedSpec("sync continuous", "sync", "continuous"),
)


@dataclass
class Planned:
    """The documents one run writes, decided before it starts (filters need the ids)."""

    docs: list[tuple[str, dict]]  # (scope, document)
    sample: list[str]  # the ids a _doc_ids reader asks for

    def expected(self, spec: FeedSpec) -> set[str]:
        """The ids ``spec``'s reader must be shown once every write is done."""
        if spec.target == "db":
            ids = {doc["_id"] for scope, doc in self.docs if scope == "fa"}
        else:
            ids = {doc["_id"] for _, doc in self.docs if doc.get("type") != "feedback"}
        return ids & set(self.sample) if spec.doc_ids else ids


def plan(count: int, *, sample_every: int = 9) -> Planned:
    """``count`` new documents: two in three in ``fa``; every fifth hidden from the worker."""
    docs = []
    for i in range(count):
        scope = "fb" if i % 3 == 2 else "fa"
        if i % 5 == 4:
            doc = {"_id": f"{scope}:feedback:{new_ulid()}", "type": "feedback", "author": "someone-else",
                   "reason": "not for this worker"}
        else:
            doc = {"_id": f"{scope}:fam:{new_ulid()}", "type": "family", "head": f"Family {i}"}
        docs.append((scope, doc))
    sample = [doc["_id"] for _, doc in docs[::sample_every]]
    return Planned(docs, sample)


class Follower(threading.Thread):
    """One reader following one feed as a replicator does, until told to stop."""

    def __init__(self, world: FeedWorld, spec: FeedSpec, sample: list[str]):
        super().__init__(name=f"follow {spec.name}", daemon=True)
        self.world = world
        self.spec = spec
        self.sample = sample
        self.seen: set[str] = set()
        self.requests = 0
        self.error: BaseException | None = None
        self._stop_at: float | None = None
        self._settle = 0.0
        self._progress = 0
        self._want: set[str] = set()
        self._lock = threading.Lock()
        self.session = requests.Session()
        self.session.headers.update(world.headers(spec.target))

    @property
    def path(self) -> str:
        return "/db/fa/_changes" if self.spec.target == "db" else f"/sync/{WORKER}/_changes"

    def finish(self, expected: set[str], settle: float) -> None:
        """Stop once every expected id was seen, or once ``settle`` seconds pass without
        one more being shown: a reader still catching up goes on, one that skipped stops."""
        with self._lock:
            self._want = set(expected)
            self._settle = settle
            self._stop_at = time.monotonic() + settle
            self._progress = len(self._want & self.seen)

    def _done(self) -> bool:
        with self._lock:
            if self._stop_at is None:
                return False
            shown = len(self._want & self.seen)
            if shown == len(self._want):
                return True
            if shown > self._progress:
                self._progress = shown
                self._stop_at = time.monotonic() + self._settle
            return time.monotonic() >= self._stop_at

    def run(self) -> None:
        since: Any = 0
        try:
            while not self._done():
                since, got = self._read(since)
                self.requests += 1
                full = self.spec.limit is not None and got >= self.spec.limit
                if self.spec.feed != "continuous" and not full:
                    # Caught up: a replicator waits a moment before it asks again (and
                    # the readers share this process's interpreter with the server).
                    time.sleep(PAUSE)
        except BaseException as exc:  # noqa: BLE001 - reported by the run, not lost in a thread
            self.error = exc
        finally:
            self.session.close()

    def _read(self, since: Any) -> tuple[Any, int]:
        spec = self.spec
        params: dict[str, str] = {"since": since if isinstance(since, str) else json.dumps(since)}
        if spec.feed != "normal":
            params["feed"] = spec.feed
            params["timeout"] = "300"
        if spec.limit is not None:
            params["limit"] = str(spec.limit)
        if spec.heartbeat is not None:
            params["heartbeat"] = str(spec.heartbeat)
        kwargs: dict[str, Any] = {"params": params, "timeout": 60}
        method = "GET"
        if spec.doc_ids:
            params["filter"] = "_doc_ids"
            method = "POST"
            kwargs["json"] = {"doc_ids": self.sample}
        url = self.world.base_url + self.path
        if spec.feed == "continuous":
            return self._read_continuous(method, url, since, kwargs)
        resp = self.session.request(method, url, **kwargs)
        if resp.status_code != 200:
            raise AssertionError(f"{spec.name}: {resp.status_code} {resp.text[:300]}")
        answer = resp.json()
        for row in answer["results"]:
            self.seen.add(row["id"])
        return answer["last_seq"], len(answer["results"])

    def _read_continuous(self, method: str, url: str, since: Any, kwargs: dict) -> tuple[Any, int]:
        """Rows line by line; the feed ends with ``{"last_seq"}`` after its timeout (or limit)."""
        got = 0
        with self.session.request(method, url, stream=True, **kwargs) as resp:
            if resp.status_code != 200:
                raise AssertionError(f"{self.spec.name}: {resp.status_code} {resp.text[:300]}")
            for line in resp.iter_lines():
                if not line.strip():
                    continue  # a heartbeat
                item = json.loads(line)
                if "last_seq" in item:
                    return item["last_seq"], got
                self.seen.add(item["id"])
                got += 1
                if item.get("seq") is not None:
                    since = item["seq"]
        return since, got  # cut off without its last line: resume from the last row


@dataclass
class Outcome:
    spec: FeedSpec
    expected: int
    missed: int
    requests: int
    missed_ids: list[str] = field(default_factory=list)

    def line(self, backend: str) -> str:
        return (f"{backend:16} {self.spec.name:24} missed: {self.missed} of {self.expected}"
                f"  ({self.requests} reads)")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass  # thousands of requests: their lines would bury the figures


class FeedWorld:
    """A fieldsync app over real HTTP, two areas, a worker, and writers around it.

    ``backend`` is ``sqlite`` or a CouchDB target; ``couch_urls`` are the CouchDB
    nodes (fieldsync talks to the first; writers also use the others).
    """

    def __init__(self, backend: str, data_dir: Path, couch_urls: list[str] | None = None,
                 settings: dict[str, Any] | None = None):
        self.backend = backend
        self.couch_urls = list(couch_urls or [])
        opts: dict[str, Any] = {"data_dir": data_dir, "admin": ADMIN, "max_feed_seconds": 30,
                                **(settings or {})}
        if backend != "sqlite":
            opts.update(store="couchdb", couchdb_url=self.couch_urls[0],
                        couchdb_prefix=f"skip{secrets.token_hex(4)}-")
        self.app = create_app(Settings(**opts))
        self.svc = self.app.extensions["fieldsync"]
        for code in AREAS:
            self.svc.areas.add(code, name_en=f"Area {code}", level="soum", holds_data=True)
        self.svc.users.add(WORKER, "worker", list(AREAS), WORKER_PASSWORD)
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler)
        self.base_url = f"http://127.0.0.1:{self._server.socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._second_store = None

    def headers(self, target: str) -> dict[str, str]:
        return _basic(*ADMIN) if target == "db" else _basic(WORKER, WORKER_PASSWORD)

    # -- writers ---------------------------------------------------------------------------------
    def writers(self) -> list[Writer]:
        """Ways of writing documents of one scope: through fieldsync, and around it."""
        out = [self._through_fieldsync()]
        if self.backend == "sqlite":
            out.append(self._through_second_store())
        else:
            out.extend(self._straight_to_couchdb(url) for url in self.couch_urls[1:] or self.couch_urls)
        return out

    def _through_fieldsync(self) -> Writer:
        local = threading.local()

        def write(scope: str, docs: list[dict]) -> None:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
                session.headers.update(_basic(*ADMIN))
            if len(docs) == 1:
                resp = session.put(f"{self.base_url}/db/{scope}/{quote(docs[0]['_id'], safe='')}",
                                   json=docs[0], timeout=60)
            else:
                resp = session.post(f"{self.base_url}/db/{scope}/_bulk_docs", json={"docs": docs},
                                    timeout=60)
            assert resp.status_code in (201, 202), resp.text
            assert all("error" not in r for r in resp.json() if isinstance(r, dict)), resp.text
        return write

    def _straight_to_couchdb(self, node: str) -> Writer:
        local = threading.local()
        path = node + "/" + quote(self.svc.store.prefix, safe="")

        def write(scope: str, docs: list[dict]) -> None:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = requests.Session()
            if len(docs) == 1:
                resp = session.put(f"{path}{scope}/{quote(docs[0]['_id'], safe='')}", json=docs[0],
                                   timeout=60)
            else:
                resp = session.post(f"{path}{scope}/_bulk_docs", json={"docs": docs}, timeout=60)
            assert resp.status_code in (201, 202), resp.text
            assert all("error" not in r for r in resp.json() if isinstance(r, dict)), resp.text
        return write

    def _through_second_store(self) -> Writer:
        from sync.docs import check_doc
        from sync.stores.sqlite import SQLiteStore

        self._second_store = store = SQLiteStore(self.svc.store.data_dir)

        def write(scope: str, docs: list[dict]) -> None:
            results = store.open(scope).bulk_docs([check_doc(dict(d), new_edits=True) for d in docs])
            assert all("error" not in r for r in results), results
        return write

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(10)
        self.svc.synclog.flush()  # what the readers' requests left pending, before the scopes go
        store = self.svc.store
        try:
            if self.backend != "sqlite":
                for name in store.names():
                    try:
                        store.delete(name)
                    except Exception:  # noqa: BLE001 - cleanup must not hide the run's own outcome
                        pass
        finally:
            store.close()
            if self._second_store is not None:
                self._second_store.close()


@contextmanager
def feed_world(backend: str, data_dir: Path, couch_urls: list[str] | None = None,
               settings: dict[str, Any] | None = None) -> Iterator[FeedWorld]:
    world = FeedWorld(backend, data_dir, couch_urls, settings)
    try:
        yield world
    finally:
        world.close()


def write_all(planned: Planned, writers: list[Writer], threads: int, batch: int = 1) -> None:
    """Write every planned document, ``batch`` at a time per request (one by default), from
    ``threads`` threads taking turns over the writers: consecutive requests go through
    different nodes, and the first writer, through fieldsync, which costs this process the
    most, takes one turn in four."""
    requests_: list[tuple[str, list[dict]]] = []
    for start in range(0, len(planned.docs), batch):
        chunk = planned.docs[start:start + batch]
        for scope in dict.fromkeys(scope for scope, _ in chunk):
            requests_.append((scope, [doc for s, doc in chunk if s == scope]))
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for j in range(k, len(requests_), threads):
                scope, docs = requests_[j]
                writers[0 if j % 4 == 0 else 1 + j % (len(writers) - 1)](scope, docs)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]


def follow_while_writing(world: FeedWorld, specs: tuple[FeedSpec, ...] | list[FeedSpec], *,
                         rounds: int = 10, per_round: int = 1000, threads: int = 16,
                         batch: int = 1, settle: float = 5.0) -> list[Outcome]:
    """Every reader in ``specs`` follows its feed from 0 while ``rounds`` x ``per_round``
    documents are written; then each goes on until it was shown all it may see, or
    until ``settle`` seconds pass without its being shown one more."""
    planned = plan(rounds * per_round)
    followers = [Follower(world, spec, planned.sample) for spec in specs]
    for f in followers:
        f.start()
    writers = world.writers()
    for r in range(rounds):
        part = Planned(planned.docs[r * per_round:(r + 1) * per_round], planned.sample)
        write_all(part, writers, threads, batch)
    for f in followers:
        f.finish(planned.expected(f.spec), settle)
    outcomes = []
    for f in followers:
        f.join()
        if f.error is not None:
            raise AssertionError(f"{f.spec.name} failed: {f.error!r}") from f.error
        expected = planned.expected(f.spec)
        missed = sorted(expected - f.seen)
        outcomes.append(Outcome(f.spec, len(expected), len(missed), f.requests, missed[:20]))
    return outcomes

