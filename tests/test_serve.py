"""The real server, started the ways people start it.

* `fieldsync serve` (what the README shows), as a subprocess on a free port
  with a temporary data directory and FIELDSYNC_ADMIN;
* `fieldsync demo --serve` (what `make demo` runs);
* the Procfile's gunicorn command line (what a PaaS runs), read from the
  Procfile itself so that this test follows it.

Each runs in its own process group so a failing test never leaves workers behind.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import re
import secrets
import selectors
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import requests
from gunicorn.config import Config
from gunicorn.http import message
from gunicorn.workers.gthread import ThreadWorker
from servers import ServerProcess, free_port, wait_healthy

from server import serving

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FIELDSYNC = str(BIN / "fieldsync")
ADMIN = ("nomin", "admin-password-1")
FORMS = sorted(str(p) for p in (REPO / "schemas" / "forms").glob("*.json"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDSYNC_")}
    env.update(extra)
    return env


class Running:
    """A server process (its own process group) and where it listens."""

    def __init__(self, proc: subprocess.Popen[str], base: str, log: Path) -> None:
        self.proc, self.base, self.log = proc, base, log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_up(self) -> None:
        wait_healthy(ServerProcess(self.proc, self.log), self.base + "/_up")

    def kill_group(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@contextmanager
def started(cmd: list[str], base: str, env: dict[str, str], cwd: Path,
            log_dir: Path | None = None) -> Iterator[Running]:
    log = (log_dir or cwd) / f"server-{secrets.token_hex(3)}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
    server = Running(proc, base, log)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.kill_group()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`fieldsync serve --host 127.0.0.1 --port P --data D` with FIELDSYNC_ADMIN and the bundled forms.

    FIELDSYNC_DATA_DIR points elsewhere: the --data flag must win.
    """
    tmp = tmp_path_factory.mktemp("serve")
    env = clean_env(FIELDSYNC_ADMIN=":".join(ADMIN), FIELDSYNC_DATA_DIR=str(tmp / "not-this-one"))
    subprocess.run([FIELDSYNC, "form", "publish", *FORMS, "--data", str(tmp / "data")],
                   env=env, check=True, capture_output=True, timeout=60)
    port = free_port()
    cmd = [FIELDSYNC, "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(tmp / "data")]
    with started(cmd, f"http://127.0.0.1:{port}", env, tmp) as running:
        yield running


# -- fieldsync serve ---------------------------------------------------------------------


def test_welcome_document(server: Running) -> None:
    response = requests.get(server.base + "/", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["couchdb"] == "Welcome"
    assert body["vendor"]["name"] == "fieldsync"
    assert re.fullmatch(r"[0-9a-f]{32}", body["uuid"])
    assert response.headers["Server"].startswith("gunicorn")


def test_health_check(server: Running) -> None:
    response = requests.get(server.base + "/_up", timeout=10)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_scope_database_with_basic_auth_of_the_fieldsync_admin(server: Running) -> None:
    response = requests.get(server.base + "/db/global", auth=ADMIN, timeout=10)
    assert response.status_code == 200
    assert response.json()["db_name"] == "global"
    assert response.json()["doc_count"] == len(FORMS)


def test_scope_database_refuses_strangers(server: Running) -> None:
    anonymous = requests.get(server.base + "/db/global", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthorized"
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
    wrong = requests.get(server.base + "/db/global", auth=(ADMIN[0], "wrong-password"), timeout=10)
    assert wrong.status_code == 401


def test_gzip_when_asked(server: Running) -> None:
    url = server.base + "/db/global/_all_docs?include_docs=true"
    raw = requests.get(url, auth=ADMIN, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
    assert raw.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in raw.headers["Vary"]
    compressed = raw.raw.read(decode_content=False)
    rows = json.loads(gzip.decompress(compressed))["rows"]
    assert len(rows) == len(FORMS)

    plain = requests.get(url, auth=ADMIN, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in plain.headers
    assert plain.json()["rows"] == rows
    assert len(compressed) < len(plain.content) / 3


def test_data_flag_beats_fieldsync_data_dir(server: Running) -> None:
    tmp = server.log.parent
    assert (tmp / "data" / "global.sqlite").exists()
    assert not (tmp / "not-this-one").exists()


# -- kept-alive connections (server.serving.Worker) --------------------------------------------


def http_request(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()


def read_response(sock: socket.socket, buffered: bytearray) -> tuple[int, bytes]:
    """One HTTP/1.1 response off ``sock`` (status, body); what follows it stays in ``buffered``."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        buffered += chunk
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-body"
        rest += chunk
    buffered[:] = rest[length:]
    return int(lines[0].split()[1]), rest[:length]


def test_one_connection_carries_a_replicators_requests_sent_back_to_back_or_after_a_pause(
        server: Running) -> None:
    """A thread serves the next request of its connection itself when it comes at
    once; a connection that pauses goes back to the poller and is served as well."""
    host = server.base.removeprefix("http://")
    address = host.rsplit(":", 1)
    with socket.create_connection((address[0], int(address[1])), timeout=10) as sock:
        buffered = bytearray()
        for _ in range(20):
            sock.sendall(http_request("/_up", host))
            assert read_response(sock, buffered) == (200, b'{"status":"ok"}\n')
        sock.sendall(http_request("/_up", host) + http_request("/", host))  # pipelined
        assert read_response(sock, buffered)[0] == 200
        status, body = read_response(sock, buffered)
        assert (status, json.loads(body)["couchdb"]) == (200, "Welcome")
        time.sleep(serving.Worker.LINGER * 3)  # quiet for longer than a thread waits
        sock.sendall(http_request("/_up", host))
        assert read_response(sock, buffered) == (200, b'{"status":"ok"}\n')
        assert buffered == b""


def test_quiet_kept_alive_connections_hold_no_thread_from_a_new_one(tmp_path: Path) -> None:
    """One worker with two threads: connections that made a request and went quiet
    leave a thread free for the next client, and are served again when they speak."""
    port = free_port()
    cmd = [FIELDSYNC, "serve", "--port", str(port), "--workers", "1", "--threads", "2",
           "--data", str(tmp_path / "d")]
    host = f"127.0.0.1:{port}"
    with started(cmd, f"http://{host}", clean_env(FIELDSYNC_ADMIN=":".join(ADMIN)), tmp_path) as server:
        quiet = []
        try:
            for _ in range(4):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                quiet.append(sock)
                sock.sendall(http_request("/_up", host))
                assert read_response(sock, bytearray())[0] == 200
            response = requests.get(server.base + "/", timeout=5)
            assert response.json()["couchdb"] == "Welcome"
            for sock in quiet:
                sock.sendall(http_request("/_up", host))
                assert read_response(sock, bytearray())[0] == 200
        finally:
            for sock in quiet:
                sock.close()
        assert "Traceback" not in server.output()


# -- a new connection per request (PouchDB in Node.js) ------------------------------------------


def test_a_new_connection_for_every_request_as_pouchdb_in_node_makes_them(tmp_path: Path) -> None:
    """PouchDB's fetch in Node.js sends `Connection: close` and connects afresh for
    every request. The thread that answers closes the connection; one worker keeps
    accepting far past gunicorn's 1000 connections per worker, so every closed
    connection was counted off."""
    port = free_port()
    cmd = [FIELDSYNC, "serve", "--port", str(port), "--workers", "1", "--threads", "2",
           "--data", str(tmp_path / "d")]
    host = f"127.0.0.1:{port}"
    with started(cmd, f"http://{host}", clean_env(FIELDSYNC_ADMIN=":".join(ADMIN)), tmp_path) as server:
        request = f"GET /_up HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        for _ in range(1100):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(request)
                buffered = bytearray()
                assert read_response(sock, buffered) == (200, b'{"status":"ok"}\n')
                assert sock.recv(1) == b"", "the server keeps a connection its client asked to close"
        assert "Traceback" not in server.output()


def test_a_closing_client_still_gets_the_answer_to_a_body_nobody_read(server: Running) -> None:
    """Refused before its body was read, a request that asked for `Connection: close`
    gets its answer and then an orderly end of the connection. Closing a socket with
    unread bytes sends RST, which can destroy an answer still in flight; the server
    half-closes instead and lets the client finish. (A body within the limit is read
    whole by the worker's event loop before the app sees the request, see
    server/request_bodies.py; one declared over the 64 MiB limit is not, and goes
    to the app at once.)"""
    host = server.base.removeprefix("http://")
    address = host.rsplit(":", 1)
    head = (f"PUT /db/global/doc-1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n").encode()
    with socket.create_connection((address[0], int(address[1])), timeout=10) as sock:
        sock.sendall(head + b"x" * 10_000)  # the rest of the body never comes
        status, answer = read_response(sock, buffered := bytearray())
        assert status == 401  # no credentials: refused before the body is read
        assert json.loads(answer)["error"] == "unauthorized"
        assert buffered == b""
        assert sock.recv(1) == b"", "expected the server's FIN, not a reset"


def test_a_closing_client_that_sent_its_whole_body_gets_the_answer(server: Running) -> None:
    """The same refusal once the whole body (within the limit) has come: the event loop
    read it, the app refused without looking at it, and the connection ends in order."""
    host = server.base.removeprefix("http://")
    address = host.rsplit(":", 1)
    head = (f"PUT /db/global/doc-1 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n").encode()
    with socket.create_connection((address[0], int(address[1])), timeout=10) as sock:
        sock.sendall(head + b"x" * 100_000)
        status, answer = read_response(sock, buffered := bytearray())
        assert status == 401
        assert json.loads(answer)["error"] == "unauthorized"
        assert buffered == b""
        assert sock.recv(1) == b"", "expected the server's FIN, not a reset"


def test_a_new_connection_wakes_one_worker_not_all() -> None:
    """Every gunicorn worker polls the same listening socket; registered
    EPOLLEXCLUSIVE, a connection wakes one of them instead of all."""
    if serving._one_wakes_per_connection([]) is None:
        pytest.skip("no EPOLLEXCLUSIVE on this platform; gthread's own poller is kept")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        pollers = [serving._one_wakes_per_connection([listener]) for _ in range(2)]
        for poller in pollers:
            poller.register(listener, selectors.EVENT_READ)
        woken: list[int] = []
        threads = [threading.Thread(target=lambda p=p: woken.append(len(p.select(timeout=2)))) for p in pollers]
        for thread in threads:
            thread.start()
        time.sleep(0.3)  # both are waiting
        with socket.create_connection(listener.getsockname(), timeout=5):
            for thread in threads:
                thread.join(timeout=5)
        for poller in pollers:
            poller.close()
    assert sorted(woken) == [0, 1]


def test_a_worker_reads_every_setting_as_gunicorn_gives_it() -> None:
    """Workers read settings as plain attributes (no __getattr__ per read); the
    values must be exactly gunicorn's, and the Config's own properties keep working."""
    cfg = Config()
    cfg.set("threads", 7)
    cfg.set("forwarded_allow_ips", "10.0.0.0/8,127.0.0.1")
    expected = {name: getattr(cfg, name) for name in cfg.settings}
    serving._freeze_settings(cfg)
    assert {name: getattr(cfg, name) for name in expected} == expected
    assert cfg.threads == 7 and "threads" in vars(cfg)
    assert "worker_class" not in vars(cfg)  # Config's own property still answers (the class, not "sync")
    assert [str(n) for n in cfg.forwarded_allow_networks()] == ["10.0.0.0/8", "127.0.0.1/32"]


def test_who_may_set_forwarded_headers_is_decided_as_gunicorn_decides() -> None:
    """The decision is remembered per client address; it must be gunicorn's own."""
    serving._remember_trusted_peers()
    serving._remember_trusted_peers()  # once is enough: wrapping twice changes nothing
    decide = message._ip_in_allow_list
    assert getattr(decide, "remembers", False)
    cases = [(["127.0.0.1", "::1"], ["127.0.0.1", "::1"]), (["10.0.0.0/8"], ["10.0.0.0/8"]), (["*"], [])]
    for allow, nets in cases:
        networks = [ipaddress.ip_network(n) for n in nets]
        for ip in ("127.0.0.1", "::1", "10.1.2.3", "192.168.0.9", "not-an-address"):
            for _ in range(2):
                assert decide(ip, allow, networks) == gunicorn_decides(ip, allow, networks), (ip, allow)


def gunicorn_decides(ip: str, allow: list[str], networks: list) -> bool:
    if "*" in allow:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


# -- host, port, and stopping -----------------------------------------------------------------


def wait_for_workers(server: Running, count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 10
    while True:
        workers = psutil.Process(server.proc.pid).children(recursive=True)
        if len(workers) >= count or time.monotonic() > deadline:
            assert len(workers) == count, workers
            return workers
        time.sleep(0.05)


def test_host_and_port_are_honoured_and_sigterm_stops_it_promptly(tmp_path: Path) -> None:
    """Bound to 127.0.0.2 only; SIGTERM to the main process stops it and its workers
    within a few seconds, even while a replica holds a long-poll feed open."""
    port = free_port()
    env = clean_env(FIELDSYNC_ADMIN=":".join(ADMIN))
    cmd = [FIELDSYNC, "serve", "--host", "127.0.0.2", "--port", str(port), "--data", str(tmp_path / "d")]
    with started(cmd, f"http://127.0.0.2:{port}", env, tmp_path) as server:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/_up", timeout=5)
        workers = wait_for_workers(server, 2)  # --workers defaults to 2

        answered = threading.Event()

        def long_poll() -> None:
            try:
                requests.get(server.base + f"/sync/{ADMIN[0]}/_changes?feed=longpoll&since=now&timeout=60000",
                             auth=ADMIN, timeout=30)
            except requests.RequestException:
                pass  # the server went away mid-feed: the replica retries later
            answered.set()

        poller = threading.Thread(target=long_poll, daemon=True)
        poller.start()
        assert not answered.wait(0.5), "the long poll should still be waiting for changes"

        began = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=10)
        stopped_in = time.monotonic() - began
        assert code == 0, server.output()
        assert stopped_in < 5, f"took {stopped_in:.1f}s to stop"
        gone, alive = psutil.wait_procs(workers, timeout=2)
        assert alive == []
        assert "Traceback" not in server.output()
        poller.join(timeout=5)


def test_a_busy_port_is_one_line_not_five_retries(server: Running, tmp_path: Path) -> None:
    port = server.base.rsplit(":", 1)[1]
    proc = subprocess.run([FIELDSYNC, "serve", "--port", port, "--data", str(tmp_path / "d")],
                          env=clean_env(), capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_serve_with_a_bad_fieldsync_admin_fails_before_starting(tmp_path: Path) -> None:
    proc = subprocess.run([FIELDSYNC, "serve", "--port", str(free_port()), "--data", str(tmp_path / "d")],
                          env=clean_env(FIELDSYNC_ADMIN="just-a-name"), capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    assert proc.stderr == "Error: FIELDSYNC_ADMIN must be name:password\n"


# -- make demo's command ---------------------------------------------------------------------


def test_demo_serve_serves_the_replicas_it_prints(tmp_path: Path) -> None:
    port = free_port()
    cmd = [FIELDSYNC, "demo", "--serve", "--port", str(port), "--data", str(tmp_path / "data")]
    with started(cmd, f"http://127.0.0.1:{port}", clean_env(), tmp_path) as server:
        out = server.output()
        assert f"Serving on http://127.0.0.1:{port}" in out
        password = re.search(r"password: (\S+)", out).group(1)
        url = re.search(r"worker\s+(\w+)\s+replica: (\S+)", out)
        name, replica = url.group(1), url.group(2)
        info = requests.get(replica, auth=(name, password), timeout=10)
        assert info.status_code == 200, info.text
        assert "global" in info.json()["members"]
        docs = requests.get(replica + "/_all_docs", auth=(name, password), timeout=10).json()["rows"]
        assert any(":sub:" in row["id"] for row in docs)


# -- the Procfile ------------------------------------------------------------------------------


def procfile_command(port: int) -> list[str]:
    """The Procfile's web command, bound to 127.0.0.1:port, with the environment's gunicorn."""
    line = next(x for x in (REPO / "Procfile").read_text().splitlines() if x.startswith("web:"))
    args = shlex.split(line.removeprefix("web:"))
    assert args[0] == "gunicorn"
    assert args[-1] == "server:create_app()"
    # Threaded workers: long polls must not starve others (gunicorn's gthread, heartbeat once a second).
    assert args[args.index("--worker-class") + 1] == "server.serving.Worker"
    assert issubclass(serving.Worker, ThreadWorker)
    bind = args.index("--bind")
    assert args[bind + 1] == "0.0.0.0:${PORT:-5985}"
    args[bind + 1] = f"127.0.0.1:{port}"
    return [str(BIN / "gunicorn"), *args[1:]]


def test_the_procfile_command_serves(tmp_path: Path) -> None:
    """Configured only by FIELDSYNC_* variables, as on a PaaS; forms published beforehand
    (a release step), so /db/global exists."""
    port = free_port()
    env = clean_env(FIELDSYNC_DATA_DIR=str(tmp_path / "data"), FIELDSYNC_ADMIN=":".join(ADMIN),
                    FIELDSYNC_SECRET_KEY=secrets.token_hex(32))
    subprocess.run([FIELDSYNC, "form", "publish", *FORMS], env=env, check=True, capture_output=True,
                   timeout=60)
    with started(procfile_command(port), f"http://127.0.0.1:{port}", env, REPO, tmp_path) as server:
        assert requests.get(server.base + "/", timeout=10).json()["couchdb"] == "Welcome"
        response = requests.get(server.base + "/db/global", auth=ADMIN, timeout=10)
        assert response.status_code == 200
        assert response.json()["doc_count"] == len(FORMS)
        assert requests.get(server.base + "/db/global", auth=(ADMIN[0], "nope"), timeout=10).status_code == 401
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=10) == 0
