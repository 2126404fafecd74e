"""The access log: fieldsync's lines are gunicorn's, for any format an operator sets.

`server.access_log.AccessLogger` works out only the fields a format names;
gunicorn's own logger builds them all. Both are given the same request and
response, and must print the same line.
"""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from gunicorn import glogging
from gunicorn.config import AccessLogFormat, Config
from pouch import wait_until
from test_serve import Running, server  # noqa: F401 - the module's running server fixture

from server.access_log import AccessLogger

FORMATS = [
    AccessLogFormat.default,
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(B)s "%(f)s" "%(a)s" %(T)s %(D)s %(M)s %(L)s %(p)s',
    "%(m)s %(U)s ?%(q)s %(H)s",
    '%({x-request-id}i)s %({X-Request-ID}i)s %({content-type}o)s %({Content-Encoding}o)s %({absent}i)s',
    "%({remote_addr}e)s %({HTTP_HOST}e)s %({path_info}e)s %({nope}e)s",
    "%(nonsense)s %({}i)s %({x}z)s %(h)s",
    "plain text, no atoms",
]


def exchange(*, user: str | None = "nomin", quote_in_agent: bool = False, sent: int | None = 512,
             status: str = "201 Created") -> tuple[SimpleNamespace, SimpleNamespace, dict, timedelta]:
    headers = [("HOST", "127.0.0.1:5985"), ("X-REQUEST-ID", "first"), ("X-REQUEST-ID", "second"),
               ("USER-AGENT", 'node-fetch/1.0 "quoted"' if quote_in_agent else "node-fetch/1.0")]
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/db/uvs-tes/_bulk_docs?x=%22y%22",
               "PATH_INFO": "/db/uvs-tes/_bulk_docs", "QUERY_STRING": 'x="y"', "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:5985",
               "HTTP_USER_AGENT": dict(headers)["USER-AGENT"]}
    if user is not None:
        environ["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{user}:secret".encode()).decode()
    resp = SimpleNamespace(status=status, sent=sent,
                           headers=[("Content-Type", "application/json"), ("Content-Encoding", "gzip")])
    return resp, SimpleNamespace(headers=headers), environ, timedelta(seconds=1, microseconds=2345)


def gunicorns_line(cfg: Config, resp, req, environ, took) -> str:  # type: ignore[no-untyped-def]
    """What gunicorn's Logger.access hands to logging, formatted."""
    stock = glogging.Logger(cfg)
    return cfg.access_log_format % stock.atoms_wrapper_class(stock.atoms(resp, req, environ, took))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("variant", [{}, {"user": None, "sent": None}, {"quote_in_agent": True, "status": 404}])
def test_each_line_is_the_one_gunicorn_prints(fmt: str, variant: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # Both loggers read the clock through gunicorn's Logger.now; one fixed date keeps a turning second out.
    monkeypatch.setattr(glogging.Logger, "now", lambda self: "[23/Nov/2026:01:22:24 +0000]")
    cfg = Config()
    cfg.set("access_log_format", fmt)
    resp, req, environ, took = exchange(**variant)
    mine = AccessLogger(cfg).access_line(resp, req, environ, took)
    assert mine == gunicorns_line(cfg, resp, req, environ, took)


def test_lines_go_through_the_gunicorn_access_logger_to_its_file(tmp_path: Path) -> None:
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    logger = AccessLogger(cfg)
    resp, req, environ, took = exchange()
    logger.access(resp, req, environ, took)
    for handler in logging.getLogger("gunicorn.access").handlers:
        handler.flush()
    line = (tmp_path / "access.log").read_text().splitlines()[-1]
    assert line.startswith('127.0.0.1 - nomin [')
    assert line.endswith('"POST /db/uvs-tes/_bulk_docs?x=%22y%22 HTTP/1.1" 201 512 "-" "node-fetch/1.0"')


def test_no_access_log_asked_for_means_no_line(tmp_path: Path) -> None:
    cfg = Config()  # accesslog unset: gunicorn logs no requests
    logger = AccessLogger(cfg)
    assert not logger.access_log_enabled
    logger.access(*exchange())  # nothing to format, nowhere to write; must not fail


def test_the_running_server_logs_each_request(server: Running) -> None:  # noqa: F811
    path = "/db/no-such-scope-for-the-log/_all_docs"
    assert requests.get(server.base + path, timeout=10).status_code in (401, 404)

    def logged() -> list[str]:
        return [line for line in server.output().splitlines() if path in line]

    # gunicorn writes the line after the response has gone, so the client may read the log first.
    try:
        lines = wait_until(logged, timeout=5, interval=0.05)
    except TimeoutError:
        raise AssertionError(server.output()[-2000:]) from None
    assert f'"GET {path} HTTP/1.1" 40' in lines[-1]
