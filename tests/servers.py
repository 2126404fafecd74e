"""Start real CouchDB-protocol servers on free local ports, for tests and benchmarks.

Three peers speak the same protocol: fieldsync itself (`fieldsync serve`,
gunicorn) on each of its stores, SQLite files in a temporary data directory or
the CouchDB store on a CouchDB-compatible server, and pouchdb-server (in
memory), the reference peer. Running the same interop checks against all of
them tells a fieldsync bug apart from a mistaken test: if pouchdb-server passes
and fieldsync fails, the fault is fieldsync's.

Both run as separate process groups so that stopping one also stops its
workers (gunicorn forks), and their output goes to a log file whose tail is
shown when a server fails to start.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

if TYPE_CHECKING:
    from server.services import Services
    from sync.stores.base import Store

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent
INTEROP_DIR = TESTS_DIR / "interop"
POUCHDB_SERVER_BIN = INTEROP_DIR / "node_modules" / ".bin" / "pouchdb-server"

FIELDSYNC_ADMIN = ("admin", "secret")
START_TIMEOUT = 30.0


class ServerStartError(RuntimeError):
    """A server did not answer in time; the message holds its log tail."""


def free_port() -> int:
    """A port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fieldsync_bin() -> Path:
    """The `fieldsync` console script of the running interpreter's environment."""
    override = os.environ.get("FIELDSYNC_BIN")
    if override:
        return Path(override)
    return Path(sys.executable).parent / "fieldsync"


def fieldsync_missing() -> str | None:
    """Why `fieldsync serve` cannot run here, or None when it can."""
    exe = fieldsync_bin()
    if not exe.exists():
        return f"{exe} does not exist (is the package installed with pip install -e .?)"
    try:
        proc = subprocess.run([str(exe), "serve", "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`fieldsync serve --help` failed: {exc}"
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return f"`fieldsync serve --help` exits {proc.returncode}: {tail[0]}"
    return None


class ServerProcess:
    """A server running in its own process group."""

    def __init__(self, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.proc = proc
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the whole group (gunicorn master and workers), SIGKILL if it lingers."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)


@contextmanager
def _running(
    cmd: list[str], *, cwd: Path, env: dict[str, str], health_url: str, auth: Any = None
) -> Iterator[ServerProcess]:
    log_path = cwd / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(proc, log_path)
    try:
        wait_healthy(server, health_url, auth)
        yield server
    finally:
        server.stop()


def wait_healthy(server: ServerProcess, url: str, auth: Any = None) -> None:
    """Until ``url`` answers 200. Refused connections and read timeouts mean not up
    yet: the port may be bound while a worker is still loading the app."""
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ServerStartError(
                f"server exited with {server.proc.returncode} before answering {url}:\n{server.log_tail()}"
            )
        try:
            response = requests.get(url, auth=auth, timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise ServerStartError(f"{url} not healthy after {START_TIMEOUT}s ({last}):\n{server.log_tail()}")


class RemoteDb:
    """One database on a peer, read over plain HTTP: the server's own view."""

    def __init__(self, peer: Peer, name: str, path: str) -> None:
        self.peer = peer
        self.name = name
        self.path = path  # e.g. "/db/uvs-tes-1" or "/uvs-tes-1"
        self.url = peer.url_with_auth + path  # what a replica is configured with

    def __repr__(self) -> str:
        return f"RemoteDb({self.peer.name}:{self.path})"

    def http(self, method: str, subpath: str = "", **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.peer.session.request(method, self.peer.root + self.path + subpath, **kwargs)

    @staticmethod
    def doc_path(doc_id: str) -> str:
        if doc_id.startswith(("_design/", "_local/")):
            prefix, rest = doc_id.split("/", 1)
            return f"/{prefix}/{quote(rest, safe='')}"
        return "/" + quote(doc_id, safe="")

    def get_doc(self, doc_id: str, **params: Any) -> dict[str, Any] | None:
        """GET /{db}/{id} with CouchDB query params; None on 404."""
        response = self.http("GET", self.doc_path(doc_id), params=_params(params),
                             headers={"Accept": "application/json"})
        if response.status_code == 404:
            return None
        _check(response)
        return response.json()

    def put_doc(self, doc: dict[str, Any]) -> dict[str, Any]:
        response = self.http("PUT", self.doc_path(doc["_id"]), json=doc)
        _check(response)
        return response.json()

    def delete_doc(self, doc_id: str, rev: str) -> dict[str, Any]:
        response = self.http("DELETE", self.doc_path(doc_id), params={"rev": rev})
        _check(response)
        return response.json()

    def attachment(self, doc_id: str, name: str) -> requests.Response:
        response = self.http("GET", f"{self.doc_path(doc_id)}/{quote(name, safe='')}")
        _check(response)
        return response

    def all_docs(self, **params: Any) -> dict[str, Any]:
        response = self.http("GET", "/_all_docs", params=_params(params))
        _check(response)
        return response.json()

    def changes(self, **params: Any) -> dict[str, Any]:
        response = self.http("GET", "/_changes", params=_params(params))
        _check(response)
        return response.json()

    def info(self) -> dict[str, Any]:
        response = self.http("GET", "/")
        _check(response)
        return response.json()

    def revs(self) -> dict[str, str]:
        """id -> winning rev of every live document (design docs included)."""
        return {row["id"]: row["value"]["rev"] for row in self.all_docs()["rows"]}


def _params(params: dict[str, Any]) -> dict[str, str]:
    """CouchDB query values are JSON: true, not True; lists as JSON arrays."""
    out = {}
    for key, value in params.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | dict):
            out[key] = json.dumps(value)
        else:
            out[key] = str(value)
    return out


def _check(response: requests.Response) -> None:
    if response.status_code >= 400:
        raise AssertionError(
            f"{response.request.method} {response.url} -> {response.status_code}: {response.text[:500]}"
        )


class Peer:
    """A CouchDB-protocol server that replicas sync with."""

    name = "peer"
    db_prefix = ""

    _counter = itertools.count(1)

    def __init__(self, server: ServerProcess, port: int, auth: tuple[str, str] | None) -> None:
        self.server = server
        self.port = port
        self.auth = auth
        self.root = f"http://127.0.0.1:{port}"
        creds = f"{quote(auth[0], safe='')}:{quote(auth[1], safe='')}@" if auth else ""
        self.url_with_auth = f"http://{creds}127.0.0.1:{port}"
        self.session = requests.Session()
        self.session.auth = auth

    def __repr__(self) -> str:
        return f"<{self.name} on {self.root}>"

    @property
    def pid(self) -> int:
        return self.server.pid

    def new_db(self, name: str = "db") -> RemoteDb:
        """Create a fresh, uniquely named database (a scope on fieldsync).

        Names are lowercase letters, digits and '-', starting with a letter,
        so that they are valid as CouchDB database names, fieldsync scope
        names and area codes alike: tests use the name as the doc id prefix.
        """
        slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "db"
        if not slug[0].isalpha():
            slug = "d" + slug
        unique = f"{slug}-{next(self._counter)}{secrets.token_hex(2)}"
        path = f"{self.db_prefix}/{unique}"
        response = self.session.put(self.root + path, timeout=30)
        if response.status_code not in (201, 202):
            raise AssertionError(f"PUT {path} on {self.name} -> {response.status_code}: {response.text[:300]}")
        return RemoteDb(self, unique, path)

    def new_db_url(self, name: str = "db") -> str:
        return self.new_db(name).url


class PouchDBServerPeer(Peer):
    name = "pouchdb-server"
    db_prefix = ""


class FieldsyncPeer(Peer):
    """``fieldsync serve``; ``env`` holds its FIELDSYNC_* settings, for commands run beside it."""

    name = "fieldsync"
    db_prefix = "/db"

    def __init__(self, server: ServerProcess, port: int, auth: tuple[str, str] | None, *,
                 data_dir: Path | None = None, env: dict[str, str] | None = None) -> None:
        super().__init__(server, port, auth)
        self.data_dir = data_dir
        self.env = dict(env if env is not None else os.environ)
        self.backend = self.env.get("FIELDSYNC_STORE", "sqlite")
        if self.backend == "couchdb":
            self.name = "fieldsync-couchdb"

    def as_user(self, auth: tuple[str, str]) -> FieldsyncPeer:
        """The same server, spoken to with other credentials."""
        return FieldsyncPeer(self.server, self.port, auth, data_dir=self.data_dir, env=self.env)

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``fieldsync ARGS --data DIR`` beside the server, on its store, as an operator runs it."""
        return subprocess.run([str(fieldsync_bin()), *args, "--data", str(self.data_dir)], input=stdin,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def open_store(self) -> Store:
        """The server's store, opened directly (SQLite files or the CouchDB databases); close it after."""
        from server.config import Settings
        from server.services import make_store

        return make_store(Settings.from_env(self.env))

    def services(self) -> Services:
        """fieldsync's services on the server's store (``.store.close()`` when done)."""
        from server.config import Settings
        from server.services import Services

        return Services.build(Settings.from_env(self.env))


@contextmanager
def pouchdb_server(*, in_memory: bool = True) -> Iterator[PouchDBServerPeer]:
    """pouchdb-server, the reference peer (admin party: no auth).

    In memory by default (tests want speed); ``in_memory=False`` keeps its
    databases in LevelDB files in a temporary directory, as a deployed server
    keeps them on disk.
    """
    if not POUCHDB_SERVER_BIN.exists():
        raise ServerStartError(f"{POUCHDB_SERVER_BIN} missing: run `npm ci` in {INTEROP_DIR}")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pouchdb-server-") as tmp:
        # It writes config.json and log.txt (and, on disk, its databases) into its working directory.
        cmd = [
            str(POUCHDB_SERVER_BIN), *(["--in-memory"] if in_memory else []),
            "--host", "127.0.0.1", "--port", str(port), "--no-color",
        ]
        with _running(cmd, cwd=Path(tmp), env=dict(os.environ), health_url=f"http://127.0.0.1:{port}/") as srv:
            yield PouchDBServerPeer(srv, port, None)


@contextmanager
def fieldsync_server(data_dir: Path | None = None, extra_env: dict[str, str | None] | None = None,
                     publish_forms: bool = True, workers: int | None = None,
                     threads: int | None = None) -> Iterator[FieldsyncPeer]:
    """`fieldsync serve` with a fresh data directory (the SQLite store by default) and an admin user.

    ``extra_env`` adds (or, with None, removes) FIELDSYNC_* variables, e.g. to
    run on the CouchDB store (see ``couchdb_env``) or to leave the signing key
    to the store. ``workers``: gunicorn workers (``fieldsync serve``'s default
    when None).
    """
    exe = fieldsync_bin()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="fieldsync-") as tmp:
        data = data_dir or Path(tmp) / "data"
        data.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "FIELDSYNC_ADMIN": ":".join(FIELDSYNC_ADMIN),
            "FIELDSYNC_DATA_DIR": str(data),
            "FIELDSYNC_STORE": "sqlite",
            "FIELDSYNC_SECRET_KEY": secrets.token_hex(16),
        }
        for key, value in (extra_env or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        if publish_forms:
            # Submissions are validated by the write gate: the bundled forms must be published.
            forms = sorted(str(p) for p in (REPO / "schemas" / "forms").glob("*.json"))
            subprocess.run([str(exe), "form", "publish", *forms, "--data", str(data)], env=env,
                           check=True, capture_output=True, timeout=60)
        cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data)]
        if workers is not None:
            cmd += ["--workers", str(workers)]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        with _running(cmd, cwd=Path(tmp), env=env, health_url=f"http://127.0.0.1:{port}/") as srv:
            yield FieldsyncPeer(srv, port, FIELDSYNC_ADMIN, data_dir=data, env=env)


def couchdb_env(url: str, prefix: str | None = None) -> dict[str, str | None]:
    """FIELDSYNC_* settings for the CouchDB store on ``url``, in databases of their own.

    ``prefix`` names the databases (``<prefix><scope>``); by default a fresh one,
    so that servers sharing one CouchDB never see each other's scopes.
    """
    return {
        "FIELDSYNC_STORE": "couchdb",
        "FIELDSYNC_COUCHDB_URL": url,
        "FIELDSYNC_COUCHDB_PREFIX": prefix or new_couchdb_prefix(),
    }


def new_couchdb_prefix() -> str:
    return f"fs{secrets.token_hex(4)}-"


@contextmanager
def dropped_afterwards(env: dict[str, str | None]) -> Iterator[None]:
    """Delete the CouchDB databases of ``couchdb_env``'s prefix when the block ends.

    pouchdb-server forgets them anyway; an Apache CouchDB given by
    ``FIELDSYNC_TEST_COUCHDB_URL`` would keep them.
    """
    try:
        yield
    finally:
        from sync.stores.couchdb import CouchStore

        store = CouchStore(env["FIELDSYNC_COUCHDB_URL"], prefix=env["FIELDSYNC_COUCHDB_PREFIX"])
        try:
            for name in store.names():
                store.delete(name)
        except Exception:  # noqa: BLE001 - the server may be gone already (pouchdb-server stopped)
            pass
        finally:
            store.close()


@contextmanager
def fieldsync_couchdb_server(couchdb_url: str | None = None, **kwargs: Any) -> Iterator[FieldsyncPeer]:
    """`fieldsync serve` on the CouchDB store, with a fresh database prefix.

    ``couchdb_url``: the CouchDB-compatible server to use; by default the one
    ``couchdb_for_store_tests`` gives (Apache CouchDB when
    ``FIELDSYNC_TEST_COUCHDB_URL`` is set, else a pouchdb-server started here).
    """
    with ExitStack() as stack:
        url = couchdb_url or stack.enter_context(couchdb_for_store_tests())
        env = couchdb_env(url)
        stack.enter_context(dropped_afterwards(env))
        yield stack.enter_context(fieldsync_server(extra_env=env, **kwargs))


PEERS = {"pouchdb-server": pouchdb_server, "fieldsync": fieldsync_server,
         "fieldsync-couchdb": fieldsync_couchdb_server}


@contextmanager
def fieldsync_demo_server(data_dir: Path | None = None, extra_env: dict[str, str | None] | None = None,
                          workers: int | None = None) -> Iterator[FieldsyncPeer]:
    """`fieldsync demo --data DIR`, then `fieldsync serve` on that directory.

    The demo's users, areas, forms and submissions are there (every account's
    password is ``sync.demo.DEMO_PASSWORD``); the peer speaks as the demo's
    admin, and its ``data_dir`` is the directory, for commands run beside the
    server (``peer.cli("user", "assign", ...)``) or for reading the store
    directly (``peer.open_store()``). ``extra_env`` as for ``fieldsync_server``
    (``couchdb_env(url)`` puts the demo in the CouchDB store).
    """
    from sync.demo import DEMO_PASSWORD

    with tempfile.TemporaryDirectory(prefix="fieldsync-demo-") as tmp:
        data = data_dir or Path(tmp) / "data"
        env = {**os.environ, "FIELDSYNC_DATA_DIR": str(data)}
        env.pop("FIELDSYNC_ADMIN", None)
        for key, value in (extra_env or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        subprocess.run([str(fieldsync_bin()), "demo", "--data", str(data)], env=env, check=True,
                       capture_output=True, timeout=120)
        with fieldsync_server(data_dir=data, extra_env={**(extra_env or {}), "FIELDSYNC_ADMIN": None},
                              publish_forms=False, workers=workers) as peer:
            yield peer.as_user(("admin", DEMO_PASSWORD))


@contextmanager
def fieldsync_demo_on(backend: str, couchdb_url: str | None = None, **kwargs: Any) -> Iterator[FieldsyncPeer]:
    """``fieldsync_demo_server`` on the ``sqlite`` or ``couchdb`` store (see ``fieldsync_couchdb_server``)."""
    if backend == "sqlite":
        with fieldsync_demo_server(**kwargs) as peer:
            yield peer
        return
    if backend not in COUCH_TARGETS:
        raise ValueError(f"unknown backend {backend!r}")
    with ExitStack() as stack:
        url = couchdb_url or stack.enter_context(couchdb_for_store_tests())
        env = couchdb_env(url)
        stack.enter_context(dropped_afterwards(env))
        yield stack.enter_context(fieldsync_demo_server(extra_env=env, **kwargs))


COUCHDB_URL_ENV = "FIELDSYNC_TEST_COUCHDB_URL"
CLUSTER_URLS_ENV = "FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS"
# A relocatable Apache CouchDB 3.5 beside the repository (its README says how its scripts work).
COUCHDB_PKG = Path(os.environ.get("FIELDSYNC_COUCHDB_PKG", REPO.parent / "shared" / "couchdb"))


def real_couchdb_url() -> str | None:
    """``FIELDSYNC_TEST_COUCHDB_URL``: an Apache CouchDB 3.x (admin credentials in the URL), if set."""
    url = os.environ.get(COUCHDB_URL_ENV, "").strip()
    return url.rstrip("/") or None


def real_cluster_urls() -> list[str]:
    """``FIELDSYNC_TEST_COUCHDB_CLUSTER_URLS``: the nodes of a CouchDB 3.x cluster, comma-separated."""
    return [u.strip().rstrip("/") for u in os.environ.get(CLUSTER_URLS_ENV, "").split(",") if u.strip()]


def couchdb_package() -> Path | None:
    """``../shared/couchdb`` when it is there: Apache CouchDB the tests can start themselves."""
    return COUCHDB_PKG if (COUCHDB_PKG / "start-couchdb.sh").exists() else None


def couch_targets() -> list[str]:
    """The CouchDB servers the CouchDB-backed tests run on, by parameter id.

    ``couchdb`` is one node: Apache CouchDB when one is given or can be started,
    else pouchdb-server. ``couchdb-cluster`` is a 3-node Apache CouchDB cluster,
    where sequences are opaque composites and a read may come from a copy that
    lags a write; it is there only with Apache CouchDB.
    """
    targets = ["couchdb"]
    if real_cluster_urls() or couchdb_package():
        targets.append("couchdb-cluster")
    return targets


def on_apache_couchdb() -> bool:
    """Whether the ``couchdb`` target is Apache CouchDB (not pouchdb-server)."""
    return bool(real_couchdb_url() or couchdb_package())


def couch_target_banner() -> str:
    """One line for the test run's header: which servers the CouchDB-backed tests run on."""
    if real_couchdb_url():
        node = f"Apache CouchDB at {COUCHDB_URL_ENV}"
    elif couchdb_package():
        node = f"Apache CouchDB 3.5 one node from {COUCHDB_PKG}"
    else:
        node = f"pouchdb-server ({COUCHDB_PKG} not found: no Apache CouchDB here)"
    cluster = ("a 3-node cluster at " + CLUSTER_URLS_ENV if real_cluster_urls()
               else "a 3-node cluster from the same package" if couchdb_package() else "no cluster")
    return f"CouchDB-backed tests run on: {node}; and {cluster}"


def _run_script(script: str, *args: str, timeout: float = 180) -> str:
    proc = subprocess.run([str(COUCHDB_PKG / script), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise ServerStartError(f"{script} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc.stdout


@contextmanager
def apache_couchdb_node() -> Iterator[str]:
    """A private Apache CouchDB 3.5 node on a free loopback port, removed when the block ends."""
    tmp = tempfile.mkdtemp(prefix="couchdb-node-")
    try:
        url = _run_script("start-couchdb.sh", "", tmp).strip().splitlines()[-1]
        try:
            yield url.rstrip("/")
        finally:
            subprocess.run([str(COUCHDB_PKG / "stop-couchdb.sh"), tmp], capture_output=True, timeout=90)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _free_cluster_base() -> int:
    """A base port with its nodes' HTTP ports (+0..2) and distribution ports (+100..102) free."""
    for _ in range(50):
        base = random.randrange(20000, 31800)
        ports = [base + i for i in range(3)] + [base + 100 + i for i in range(3)]
        if all(_port_free(p) for p in ports):
            return base
    raise ServerStartError("no free ports for a CouchDB cluster")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Cluster:
    """A 3-node Apache CouchDB cluster started from ``../shared/couchdb``; ``urls`` has one per node."""

    def __init__(self, directory: Path, urls: list[str]) -> None:
        self.directory = directory
        self.urls = urls

    def stop_node(self, n: int) -> None:
        """Stop node ``n`` (1-3) cleanly; ``start_stopped`` brings it back with its data."""
        _run_script("stop-cluster.sh", str(self.directory), str(n), timeout=90)

    def kill_node(self, n: int) -> None:
        """SIGKILL node ``n``'s Erlang VM, as a crash would."""
        pid = int((self.directory / f"node{n}" / "couchdb.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)

    def start_stopped(self) -> None:
        """Start again the nodes that are not running (the script skips the running ones)."""
        base = int(self.urls[0].rsplit(":", 1)[1])
        _run_script("start-cluster.sh", str(base), str(self.directory))


@contextmanager
def apache_couchdb_cluster() -> Iterator[Cluster]:
    """A private 3-node Apache CouchDB 3.5 cluster on loopback (n=3, q=2), removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="couchdb-cluster-"))
    try:
        for attempt in range(3):  # another process may take a port between the check and the start
            try:
                out = _run_script("start-cluster.sh", str(_free_cluster_base()), str(tmp))
                break
            except ServerStartError:
                subprocess.run([str(COUCHDB_PKG / "stop-cluster.sh"), str(tmp)], capture_output=True,
                               timeout=90)
                if attempt == 2:
                    raise
        urls = [line.strip().rstrip("/") for line in out.splitlines() if line.startswith("http")]
        try:
            yield Cluster(tmp, urls)
        finally:
            subprocess.run([str(COUCHDB_PKG / "stop-cluster.sh"), str(tmp)], capture_output=True, timeout=120)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def couchdb_for_store_tests() -> Iterator[str]:
    """The one-node server the CouchStore tests run against, as a URL.

    Apache CouchDB 3.x when ``FIELDSYNC_TEST_COUCHDB_URL`` is set (e.g.
    ``http://admin:secret@127.0.0.1:5984``); else Apache CouchDB 3.5 from
    ``../shared/couchdb``, started here; else pouchdb-server in memory. Whatever
    is started here is stopped when the block ends.
    """
    url = real_couchdb_url()
    if url:
        yield url
        return
    if couchdb_package():
        with apache_couchdb_node() as started:
            yield started
        return
    with pouchdb_server() as peer:
        yield peer.root


COUCH_TARGETS = couch_targets()
# Every test parametrized by store runs on SQLite and on each CouchDB target.
BACKENDS = ("sqlite", *COUCH_TARGETS)
if "couchdb-cluster" in COUCH_TARGETS:
    PEERS["fieldsync-couchdb-cluster"] = fieldsync_couchdb_server


def couch_url_for(request: Any, target: str) -> str:
    """The URL of CouchDB ``target`` (``couchdb`` or ``couchdb-cluster``: its first node),
    from the session's fixtures, which start the server on first use."""
    if target == "couchdb":
        return request.getfixturevalue("couchdb_node_url")
    if target == "couchdb-cluster":
        return request.getfixturevalue("couchdb_cluster_urls")[0]
    raise ValueError(f"not a CouchDB target: {target!r}")
