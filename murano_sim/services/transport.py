"""HTTP to a REST API: one reused session, Basic auth, form bodies, timeouts,
retries that never send a POST twice, and every outcome mapped to a status and an error type.

Nothing here raises for a failure the network or the server can cause: `Transport.send`
always returns a `Reply`.

A plain http:// URL on a stock session (the emulator, loopback) is sent through the session's own
urllib3 pool, below requests' per-call layers: the same bytes on the wire (tests/test_transport_direct.py).
"""

from __future__ import annotations

import base64
import email.utils
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.utils import get_encoding_from_headers

from ..net.marker import mark
from .host import QUERY_ERROR, SERVER_ERROR

# Stand-in statuses for failures that have no HTTP status of their own.
STATUS_UNREACHABLE = 503  # connection refused / host not found: nothing was sent
STATUS_TIMEOUT = 504  # no response (or no connection) within the timeout
STATUS_BAD_GATEWAY = 502  # connection dropped before a full response, or a body that is not JSON

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE"})
BACKOFF_CAP_SECONDS = 2.0
# A longer Retry-After than this is not waited for: the reply is reported instead, because
# retrying sooner than the server asked would only earn another 429.
RETRY_AFTER_CAP_SECONDS = 10.0

def package_version() -> str:
    try:
        return metadata.version("murano-sim")
    except metadata.PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"murano-sim/{package_version()} (python-requests/{requests.__version__})"


@dataclass
class Reply:
    """What one logical call produced, after any retries."""

    status: int  # HTTP status, or a stand-in (502/503/504) for a failure without one
    value: Any = None  # parsed JSON on success; None for 204 / an empty body
    error: str | None = None  # the response text, or a one-line description of a network failure
    error_type: str | None = None  # None on success, else QueryError or ServerError
    attempts: int = 1
    network_failure: bool = False  # True when no HTTP response was received

    @property
    def ok(self) -> bool:
        return self.error_type is None


@dataclass(frozen=True)
class _Failure:
    status: int
    message: str
    sent: bool  # False only when the request certainly never left this machine


def classify_exception(exc: BaseException, host: str, timeout: float) -> _Failure:
    """Map a requests exception to a status, a one-line message, and whether the request was sent.

    The chains look like this (requests 2.3x / urllib3 2.x):
      refused:  ConnectionError -> MaxRetryError -> NewConnectionError -> ConnectionRefusedError
      dropped:  ConnectionError -> ProtocolError -> RemoteDisconnected
      timeout:  ReadTimeout -> ReadTimeoutError -> TimeoutError
    NewConnectionError subclasses ConnectTimeoutError, so it is tested first.
    """
    chain = _exception_chain(exc)
    if any(isinstance(e, urllib3.exceptions.NewConnectionError) for e in chain):
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return _Failure(STATUS_UNREACHABLE, f"could not connect to {host}: connection refused", sent=False)
        if any(isinstance(e, urllib3.exceptions.NameResolutionError) for e in chain):
            return _Failure(STATUS_UNREACHABLE, f"could not connect to {host}: host name not resolved", sent=False)
        return _Failure(STATUS_UNREACHABLE, f"could not connect to {host}", sent=False)
    if any(isinstance(e, urllib3.exceptions.ConnectTimeoutError) for e in chain):
        return _Failure(STATUS_TIMEOUT, f"could not connect to {host} within {timeout:g} s", sent=False)
    if any(isinstance(e, (urllib3.exceptions.ReadTimeoutError, requests.exceptions.ReadTimeout)) for e in chain):
        return _Failure(STATUS_TIMEOUT, f"no response from {host} within {timeout:g} s", sent=True)
    if any(isinstance(e, requests.exceptions.SSLError) for e in chain):
        return _Failure(STATUS_BAD_GATEWAY, f"TLS error talking to {host}", sent=True)
    return _Failure(STATUS_BAD_GATEWAY, f"connection to {host} closed before a complete response", sent=True)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception, its wrapped exceptions (args, .reason) and its causes, each once."""
    found: list[BaseException] = []
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or any(item is seen for seen in found):
            continue
        found.append(item)
        stack.extend(item.args)
        stack.extend((getattr(item, "reason", None), item.__cause__, item.__context__))
    return found


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


class Transport:
    """HTTP client for one service: base URL, credentials, timeout and retry policy."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc or self.base_url
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.session = session if session is not None else requests.Session()
        self._sleep = sleep
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        mark(self._headers)  # sent on a solution's behalf: no local surface accepts it
        # Proxy and CA-bundle settings from the environment, read once: Session.request would
        # rescan os.environ on every call, which costs more than the rest of a loopback call.
        self._environment = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
        if auth is not None:
            # Encoded once: requests would otherwise rebuild it on every call.
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self._direct_headers: dict[str, str] = {}
        self._max_retries: Any = None
        self._origin = ""
        self._pool = self._direct_pool()

    def _direct_pool(self) -> urllib3.HTTPConnectionPool | None:
        """The connection pool to send through directly, below requests, for a plain http:// URL on a
        stock session (no mounted adapter, no proxy): requests' per-call layers (settings merging,
        cookies, hooks, the Response object) cost more than the rest of a loopback call
        (docs/benchmarks.md, issue 21). https, proxies and mounted adapters keep the requests path."""
        if not self.base_url.startswith("http://") or self._environment.get("proxies"):
            return None
        adapter = self.session.get_adapter(self.base_url)
        if type(adapter) is not HTTPAdapter or self.session.cookies or self.session.auth or self.session.params:
            return None
        pool = adapter.poolmanager.connection_from_url(self.base_url)
        if not isinstance(pool, urllib3.HTTPConnectionPool):
            return None
        # The session's own defaults (Accept-Encoding, Connection) under ours, as requests would merge them.
        defaults = {k: v if isinstance(v, str) else v.decode("latin-1")
                    for k, v in self.session.headers.items() if v is not None}
        self._direct_headers = {**defaults, **self._headers}
        parts = urlsplit(self.base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._max_retries = adapter.max_retries
        return pool

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, timeout={self.timeout:g}, retries={self.retries})"

    def close(self) -> None:
        self._pool = None  # closed with the session's pool manager
        self.session.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        form: Sequence[tuple[str, str]] = (),
        json_body: Any = None,
        deadline: float | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> Reply:
        """Send one logical request (with retries as the method allows) and map the outcome."""
        method = method.upper()
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            timeout = self.timeout
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    return Reply(STATUS_TIMEOUT, error="the script's time ran out before the request was sent",
                                 error_type=SERVER_ERROR, attempts=attempt - 1)
            reply, retry_after, may_retry = self._attempt(method, url, query, form, json_body, timeout)
            reply.attempts = attempt
            if not may_retry or attempt > self.retries:
                return reply
            delay = min(BACKOFF_CAP_SECONDS, self.backoff * 2 ** (attempt - 1))
            if retry_after is not None:
                if retry_after > RETRY_AFTER_CAP_SECONDS:
                    return reply
                delay = max(delay, retry_after)
            if deadline is not None and time.monotonic() + delay >= deadline:
                return reply
            if on_retry is not None:
                on_retry(f"{_describe(reply)}; retrying in {delay:g} s (attempt {attempt + 1} of {self.retries + 1})")
            self._sleep(delay)

    def _attempt(
        self,
        method: str,
        url: str,
        query: Sequence[tuple[str, str]],
        form: Sequence[tuple[str, str]],
        json_body: Any,
        timeout: float,
    ) -> tuple[Reply, float | None, bool]:
        """One HTTP exchange: the reply, the Retry-After delay, and whether a retry is allowed."""
        idempotent = method in IDEMPOTENT_METHODS
        if self._pool is not None:
            return self._direct_attempt(method, url, query, form, json_body, timeout)
        try:
            prepared = self.session.prepare_request(requests.Request(
                method, url, params=list(query) or None, data=list(form) or None, json=json_body,
                headers=self._headers,
            ))
            response = self.session.send(prepared, timeout=timeout, allow_redirects=False, **self._environment)
        except requests.exceptions.RequestException as exc:
            failure = classify_exception(exc, self.host, timeout)
            # A POST is retried only when it certainly never reached the server.
            may_retry = idempotent or not failure.sent
            reply = Reply(failure.status, error=failure.message, error_type=SERVER_ERROR, network_failure=True)
            return reply, None, may_retry
        return _mapped(response.status_code, response.content, response.headers, idempotent, self.host)

    def _direct_attempt(
        self,
        method: str,
        url: str,
        query: Sequence[tuple[str, str]],
        form: Sequence[tuple[str, str]],
        json_body: Any,
        timeout: float,
    ) -> tuple[Reply, float | None, bool]:
        """`_attempt` through the pool itself: the same bytes on the wire as requests would send."""
        assert self._pool is not None
        idempotent = method in IDEMPOTENT_METHODS
        headers = self._direct_headers
        body: bytes | None = None
        url = url[len(self._origin):]  # the pool knows the host: the request target is the path (origin-form)
        if query:
            url += ("&" if "?" in url else "?") + urlencode(list(query))
        try:
            if form:
                body = urlencode(list(form)).encode("utf-8")
                headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
            elif json_body is not None:
                body = json.dumps(json_body, allow_nan=False).encode("utf-8")  # as requests encodes it
                headers = {**headers, "Content-Type": "application/json"}
            elif method not in ("GET", "HEAD"):
                headers = {**headers, "Content-Length": "0"}  # as requests sends an empty body
            response = self._pool.urlopen(
                method, url, body=body, headers=headers, redirect=False, assert_same_host=False,
                retries=self._max_retries, timeout=urllib3.Timeout(connect=timeout, read=timeout),
                preload_content=True, decode_content=True,
            )
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:  # what requests would wrap
            failure = classify_exception(exc, self.host, timeout)
            reply = Reply(failure.status, error=failure.message, error_type=SERVER_ERROR, network_failure=True)
            return reply, None, idempotent or not failure.sent
        return _mapped(response.status, response.data, response.headers, idempotent, self.host)


def _mapped(status: int, body: bytes, headers: Any, idempotent: bool, host: str) -> tuple[Reply, float | None, bool]:
    """An HTTP response as a Reply, its Retry-After delay, and whether a retry is allowed."""
    if 200 <= status < 300:
        return _success(status, body, host), None, False
    retry_after = parse_retry_after(headers.get("Retry-After"))
    # 429 means "not processed, safe to retry" even for a POST; other statuses only for idempotent methods.
    may_retry = status == 429 or (idempotent and status in RETRYABLE_STATUSES)
    error_type = QUERY_ERROR if 400 <= status < 500 else SERVER_ERROR
    # Decoded directly: requests' .text would guess the charset of a JSON body, slowly.
    text = body.decode(get_encoding_from_headers(headers) or "utf-8", errors="replace")
    return Reply(status, error=text, error_type=error_type), retry_after, may_retry


def _success(status: int, body: bytes, host: str) -> Reply:
    if status == 204 or not body.strip():
        return Reply(status)
    try:
        return Reply(status, value=json.loads(body))
    except ValueError:
        return Reply(STATUS_BAD_GATEWAY, error=f"unparseable response from {host}: HTTP {status} "
                     "with a body that is not JSON", error_type=SERVER_ERROR)


def _describe(reply: Reply) -> str:
    return (reply.error or "") if reply.network_failure else f"HTTP {reply.status}"

