"""An HTTP proxy that loses the requests a test names, and only those.

tests/cutting_proxy.py cuts at random byte offsets, which finds bugs but
cannot repeat one: whether a cut lands in a checkpoint write or in a
``_changes`` read depends on timing. A test that must show one exact sequence
(this checkpoint write lost, then that read) arms a rule here, and the first
request that matches it is dropped: its connection closed with no answer, as
a link that goes down with the request in flight, before the server saw it.
"""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]  # searched in the request's path and query
    skip: int = 0  # matching requests to let through first


class DroppingProxy:
    """Forwards every request to ``upstream`` (host, port) but those an armed rule drops."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.rules: list[Rule] = []
        self.dropped: list[str] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # the test's output stays readable
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy._drops(self.command, self.path):
                    self.close_connection = True
                    return
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def drop_next(self, method: str, path: str, *, skip: int = 0) -> Rule:
        """Drop the next ``method`` request whose path and query match the regular expression
        ``path``, after letting ``skip`` such requests through."""
        rule = Rule(method, re.compile(path), skip)
        with self.lock:
            self.rules.append(rule)
        return rule

    def _drops(self, method: str, path: str) -> bool:
        with self.lock:
            for rule in self.rules:
                if rule.method == method and rule.path.search(path):
                    if rule.skip:
                        rule.skip -= 1
                        continue
                    self.rules.remove(rule)
                    self.dropped.append(f"{method} {path}")
                    return True
        return False

    def __enter__(self) -> DroppingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

