"""Talking HTTP to CouchDB: one pooled session, timeouts, retries, failover, CouchDB's errors.

Why retries are shaped this way:

* A connection error (refused, reset, a pooled keep-alive connection the
  server already closed) is retried with backoff for every request. Most of
  them happen before CouchDB read anything; if a write did land, retrying it
  answers ``conflict`` for that document, exactly what CouchDB tells any client
  that retries, and nothing is stored twice.
* A ``5xx`` answer or a read timeout is retried only for requests that are
  safe to repeat (reads, ``new_edits=false`` writes, which are idempotent). An
  interactive ``_bulk_docs`` may have been partly applied before a 500, so it
  reports the error instead of guessing.
* A ``4xx`` is CouchDB's considered answer and is never retried, except a
  cluster node's ``412 nodedown`` (no copy of a shard range it can reach, or the
  node is in maintenance mode): a passing fault, retried as a ``5xx`` is and
  reported as a ``503`` if it lasts. A long-poll is not retried, for ``5xx`` or
  ``nodedown``: its caller answers "nothing yet" or fails the feed, and the
  replicator polls again.

Several nodes of one cluster may be given (``http://a:5984,http://b:5984``):
any node answers for the whole cluster, so requests go to one of them and,
when it fails in a way that is retried above, to the next one at once, which
stays in use for every later request (the backoff pauses only once every node
has been tried for that request). An app server pointed at a node that dies
thus goes on through another without a restart; one node is as good as
another, so nothing moves back when the first returns.

Errors become ``sync.errors`` classes carrying CouchDB's own ``error`` token
and ``reason``, so the HTTP layer answers clients as CouchDB would have.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from sync.errors import (
    BadRequest,
    Conflict,
    CouchError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    StoreUnavailable,
    TooLarge,
    Unauthorized,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

# How requests reports an answer that stopped coming: the connection dropped or reset
# (a node killed mid-answer ends a chunked body early), or the read timed out.
BROKEN = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class AnswerBroken(StoreUnavailable):
    """CouchDB's answer stopped part way (its node died, the connection dropped): a read
    may be asked again from where it got to, on whichever node is in use then."""

_BY_STATUS: dict[int, type[CouchError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: TooLarge,
    415: UnsupportedMediaType,
    502: StoreUnavailable,
    503: StoreUnavailable,
    504: StoreUnavailable,
}

# Uncompressed answers: CouchDB sits next to the app servers, where gzip only costs
# CPU on both ends (CouchDB 3 does not compress anyway; pouchdb-server does if asked).
JSON_HEADERS = {"Accept": "application/json", "Accept-Encoding": "identity"}


def doc_path(docid: str) -> str:
    """A document's URL path segment: ``_design/`` and ``_local/`` keep their slash.

    Everything else is quoted with ``safe=""``, so ids holding ``/``, ``:``,
    ``?`` or Cyrillic reach CouchDB as one path segment.
    """
    for prefix in ("_design/", "_local/"):
        if docid.startswith(prefix):
            return prefix + quote(docid[len(prefix):], safe="")
    return quote(docid, safe="")


def attachment_path(name: str) -> str:
    """An attachment name's path: each ``/``-separated part quoted, as PouchDB does."""
    return "/".join(quote(part, safe="") for part in name.split("/"))


def query(**params: Any) -> dict[str, str]:
    """CouchDB query values are JSON-ish: ``true`` not ``True``; ``None`` is left out."""
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def json_param(value: Any) -> str:
    """A query value CouchDB parses as JSON (``startkey``, ``open_revs``, ``atts_since``)."""
    return orjson.dumps(value).decode()


def error_from(resp: requests.Response) -> CouchError:
    """The ``sync.errors`` class for a CouchDB error answer, keeping its error and reason."""
    status = resp.status_code
    error, reason, body = None, "", None
    try:
        body = orjson.loads(resp.content)
        if isinstance(body, dict):
            error, reason = body.get("error"), body.get("reason") or ""
    except (orjson.JSONDecodeError, requests.RequestException):
        reason = resp.reason or ""
    if not isinstance(reason, str):
        reason = str(reason)
    cls = _BY_STATUS.get(status, CouchError)
    if error == "nodedown":
        # A cluster node answers 412 "progress not possible" when a shard range has no
        # live copy it can reach, and 412 nodedown while it is in maintenance mode: a
        # passing fault, not a precondition the client got wrong, and another node may
        # answer. Relayed as a 412, PouchDB would stop replicating for good.
        cls, status = StoreUnavailable, StoreUnavailable.status
    kwargs: dict[str, Any] = {}
    if isinstance(error, str) and error:
        kwargs["error"] = error
    if cls is CouchError:
        kwargs["status"] = status
    exc = cls(reason or (error if isinstance(error, str) else "") or f"CouchDB answered {status}", **kwargs)
    exc.body = body  # type: ignore[attr-defined] - e.g. _bulk_docs' per-document results with a 500
    return exc


class _OneServerAdapter(HTTPAdapter):
    """requests' transport adapter, for the CouchDB server (or cluster nodes) a client talks to.

    Subclassing the adapter is how requests is meant to be tuned. Per request,
    the stock adapter looks up the connection pool from the parsed URL, asks
    which proxy applies and copies cookies out of the answer; here none of it
    varies (a pool per node, kept by its scheme, host and port; proxies settled
    when the session is made, Basic auth rather than cookies), and it was a
    sixth of the CPU of a CouchDB exchange.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pools: dict[tuple, Any] = {}

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):  # type: ignore[no-untyped-def]
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        key = ("/".join(request.url.split("/", 3)[:3]), verify, cert)  # scheme://host:port
        pool = self._pools.get(key)
        if pool is None or pool.pool is None:  # first use, or closed since
            pool = self._pools[key] = super().get_connection_with_tls_context(request, verify, proxies, cert)
        return pool

    def request_url(self, request, proxies):  # type: ignore[no-untyped-def]
        return request.path_url if not proxies else super().request_url(request, proxies)

    def build_response(self, req, resp):  # type: ignore[no-untyped-def]
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url
        response.request = req
        response.connection = self
        return response

    def close(self) -> None:
        self._pools.clear()
        super().close()


def parse_urls(url: str) -> tuple[list[str], tuple[str, str] | None]:
    """The node roots of ``url`` (one URL, or several separated by commas) and their credentials.

    Credentials may be given on any of the URLs; nodes of one cluster share them,
    so two URLs naming different ones are refused.
    """
    roots: list[str] = []
    auth: tuple[str, str] | None = None
    for one in (u.strip() for u in url.split(",")):
        if not one:
            continue
        parts = urlsplit(one)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not a CouchDB URL: {one.split('@')[-1]!r}")
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
        root = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        if root not in roots:
            roots.append(root)
        if parts.username is not None:
            given = (unquote(parts.username), unquote(parts.password or ""))
            if auth is not None and given != auth:
                raise ValueError("the CouchDB URLs carry different credentials; a cluster's nodes share one admin")
            auth = given
    if not roots:
        raise ValueError(f"not a CouchDB URL: {url!r}")
    return roots, auth


class CouchClient:
    """One CouchDB server or cluster: node URLs, credentials and a pooled ``requests.Session``.

    Credentials may be given in the URL (``http://admin:secret@host:5984``);
    they are moved to the session so that they never appear in error messages.
    Several URLs separated by commas are nodes of one cluster, failed over in
    turn (module docstring); ``root`` is the one in use.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: tuple[float, float] = (5.0, 60.0),
        retries: int = 3,
        backoff: float = 0.2,
        pool_size: int = 32,
    ):
        self.roots, self._auth = parse_urls(url)
        if len({r.split(":", 1)[0] for r in self.roots}) > 1:
            raise ValueError("the CouchDB URLs mix http and https")
        self._current = 0  # index in roots of the node in use
        self._failover_lock = threading.Lock()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._pool_size = pool_size
        self._pid = -1
        self._session: requests.Session | None = None
        # Set with the session: what every request carries, prepared once per process.
        self._adapter: _OneServerAdapter | None = None
        self._headers: dict[str, str] = {}
        self._basic: requests.auth.HTTPBasicAuth | None = None
        self._verify: bool | str = True

    @property
    def root(self) -> str:
        """The URL (without credentials) of the node requests go to now."""
        return self.roots[self._current]

    def _failed(self, index: int, tried: set[int], attempt: int) -> None:
        """Node ``index`` failed a request: the next node is used from now on (unless another
        thread moved on already); pause first only if this request has tried every node."""
        with self._failover_lock:
            if self._current == index:
                self._current = (index + 1) % len(self.roots)
                if len(self.roots) > 1:
                    log.warning("CouchDB node %s failed; requests go to %s now", self.roots[index],
                                self.roots[self._current])
            upcoming = self._current
        if upcoming in tried:
            self._sleep(attempt)

    def _attempts(self) -> int:
        """Retries a request may make: the configured ones, and one more per other node."""
        return self.retries + len(self.roots) - 1

    @property
    def session(self) -> requests.Session:
        """The pooled session of this process.

        A session made before a fork (gunicorn ``--preload``, the CLI) would
        share its sockets with the children; each process gets its own.
        """
        if self._session is None or self._pid != os.getpid():
            session = requests.Session()
            # What requests would read from the environment (proxies, CA bundle, .netrc) on
            # every request, costing a scan of os.environ each time, is read once here.
            env = session.merge_environment_settings(self.root, {}, None, None, None)
            session.proxies.update(env["proxies"])
            session.verify, session.cert = env["verify"], env["cert"]
            session.auth = self._auth or requests.utils.get_netrc_auth(self.root)
            session.trust_env = False
            session.headers.update(JSON_HEADERS)
            adapter = _OneServerAdapter(pool_connections=4, pool_maxsize=self._pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session, self._pid = session, os.getpid()
            self._adapter = adapter
            self._headers = dict(session.headers)
            self._basic = requests.auth.HTTPBasicAuth(*session.auth) if isinstance(session.auth, tuple) else None
            # requests looks for a CA bundle on disk per request when verify names one;
            # plain HTTP has no certificate to verify.
            self._verify = session.verify if self.root.startswith("https:") else True
        return self._session

    def _send(self, method: str, url: str, params: dict[str, str] | None, data: bytes | None,
              headers: dict[str, str], stream: bool, timeout: tuple[float, float]) -> requests.Response:
        """One exchange through the session's pooled adapter.

        ``Session.request`` would merge cookies, hooks, environment and auth and
        parse the URL again on every call, which cost as much CPU as the exchange
        itself (bench/couch_gateway.py --profile); none of it varies here, so the
        session is set up once and each request is prepared directly.
        """
        session = self.session
        prep = requests.PreparedRequest()
        prep.method = method
        prep.url = f"{url}?{urlencode(params)}" if params else url
        prep.headers = CaseInsensitiveDict(self._headers)
        prep.headers.update(headers)
        prep.body = data
        if data is not None or method in ("POST", "PUT"):
            prep.headers["Content-Length"] = str(len(data or b""))
        prep.hooks = {"response": []}
        if self._basic is not None:
            self._basic(prep)
        resp = self._adapter.send(prep, stream=stream, timeout=timeout, verify=self._verify,
                                  cert=session.cert, proxies=session.proxies)
        if not stream:
            resp.content  # noqa: B018 - read it all now, releasing the connection to the pool
        return resp

    def close(self) -> None:
        if self._session is not None and self._pid == os.getpid():
            self._session.close()
        self._session = None

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff * (2**attempt) * (0.5 + random.random() / 2))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        timeout: tuple[float, float] | None = None,
        idempotent: bool = True,
    ) -> requests.Response:
        """Send one request (``path`` already quoted); a CouchError for any error status.

        ``body`` is sent as JSON. With ``stream=True`` the caller must close the
        response. See the module docstring for what is retried.
        """
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = orjson.dumps(body)
            hdrs["Content-Type"] = "application/json"
        attempt, tried = 0, set()
        while True:
            index = self._current
            root = self.roots[index]
            tried.add(index)
            try:
                resp = self._send(method, root + path, params, data, hdrs, stream, timeout or self.timeout)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                if attempt < self._attempts():
                    self._failed(index, tried, attempt)
                    attempt += 1
                    continue
                raise StoreUnavailable(f"CouchDB at {root} is unreachable: {type(exc).__name__}") from None
            except requests.Timeout:
                if idempotent and attempt < self._attempts():
                    self._failed(index, tried, attempt)
                    attempt += 1
                    continue
                raise StoreUnavailable(f"CouchDB at {root} did not answer in time") from None
            if resp.status_code >= 500 and idempotent and attempt < self._attempts():
                resp.close()
                self._failed(index, tried, attempt)
                attempt += 1
                continue
            if resp.status_code >= 400:
                try:
                    exc = error_from(resp)
                finally:
                    resp.close()
                if isinstance(exc, StoreUnavailable) and idempotent and attempt < self._attempts():
                    self._failed(index, tried, attempt)  # a node that cannot reach its peers
                    attempt += 1
                    continue
                raise exc
            return resp

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """``request`` and the decoded JSON answer."""
        resp = self.request(method, path, **kwargs)
        try:
            return orjson.loads(resp.content)
        except requests.RequestException:
            raise StoreUnavailable(f"CouchDB at {self.root} broke off its answer") from None
        finally:
            resp.close()

    def longpoll(self, path: str, params: dict[str, str], seconds: float, *, method: str = "GET",
                 body: Any = None) -> requests.Response | None:
        """A long-poll request: its open, streamed response, or None when ``seconds`` pass first.

        The read timeout is the poll's own length plus a margin, so a server that
        ignores ``timeout=`` (pouchdb-server does) still returns control in time;
        the body may time out the same way (the caller reads it, then closes it).
        """
        data = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        attempt, tried = 0, set()
        while True:
            index = self._current
            tried.add(index)
            try:
                resp = self._send(method, self.roots[index] + path, params, data, headers, True,
                                  (self.timeout[0], seconds + 1.0))
                break
            except requests.ReadTimeout:
                return None
            except requests.ConnectionError as exc:  # ConnectTimeout included
                if attempt < self._attempts():
                    self._failed(index, tried, attempt)
                    attempt += 1
                    continue
                raise StoreUnavailable(
                    f"CouchDB at {self.roots[index]} is unreachable: {type(exc).__name__}") from None
        if resp.status_code >= 400:
            try:
                raise error_from(resp)
            finally:
                resp.close()
        return resp
