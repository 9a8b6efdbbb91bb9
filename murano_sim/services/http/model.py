"""Http: Murano's outbound HTTP client, through requests, only to hosts the rule allows.

Every request goes to loopback, or to a host listed in `services.http.allow_hosts`, checked with
the one host parser (murano_sim/hosts.py) before any connection. Redirects are returned, not
followed. A network failure is an error table (502, or 504 for a timeout), never a raise.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from ...errors import ConfigError
from ...net.hosts import is_allowed_host, unambiguous_host
from ...net.marker import mark
from ..bounds import MAX_ARGUMENT_BYTES
from ..host import SERVER_ERROR, ServiceError, ServiceHost

METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
CONN_TIMEOUT_MS, CONN_TIMEOUT_MAX_MS = 3000, 10000
RECV_TIMEOUT_MS, RECV_TIMEOUT_MAX_MS = 5000, 20000
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
# A request body after credentials are filled in: placeholders cannot grow it past the arguments' own bound.
MAX_REQUEST_BYTES = MAX_ARGUMENT_BYTES
BAD_GATEWAY, GATEWAY_TIMEOUT = 502, 504
_CHUNK = 64 * 1024
# {{name}}: a credential's value (the reference names no syntax; this one cannot clash with JSON or Lua).
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
_USER_AGENT = "murano-sim Http"


class Http:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        allow = host.settings.get("allow_hosts") or []
        if not isinstance(allow, list) or not all(isinstance(h, str) and h for h in allow):
            raise ConfigError("services.http.allow_hosts: must be a list of host names or addresses")
        self.allow_hosts = tuple(allow)
        limit = host.settings.get("max_response_bytes", MAX_RESPONSE_BYTES)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            raise ConfigError("services.http.max_response_bytes: must be a positive integer")
        self.max_response_bytes = limit
        self.session = requests.Session()
        self.session.trust_env = False  # never through a proxy from the environment, never .netrc

    def close(self) -> None:
        self.session.close()

    def allows(self, url: str) -> bool:
        """Whether a URL passes the host rule with this service's allow_hosts."""
        return is_allowed_host(url, self.allow_hosts)

    # -- operations ------------------------------------------------------------------------------
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._send("get", args)

    def post(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._send("post", args)

    def put(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._send("put", args)

    def patch(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._send("patch", args)

    def delete(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._send("delete", args)

    def head(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._send("head", args)

    def options(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._send("options", args)

    def request(self, args: dict[str, Any]) -> dict[str, Any]:
        method = str(args.get("method") or "get").lower()
        if method not in METHODS:
            raise ServiceError(400, f"method: must be one of {', '.join(METHODS)}, got {args.get('method')!r}")
        return self._send(method, args)

    # -- the request -----------------------------------------------------------------------------
    def _send(self, method: str, args: Mapping[str, Any]) -> dict[str, Any]:
        conn = _timeout(args, "conn_timeout", CONN_TIMEOUT_MS, CONN_TIMEOUT_MAX_MS)
        recv = _timeout(args, "recv_timeout", RECV_TIMEOUT_MS, RECV_TIMEOUT_MAX_MS)
        fill = _filler(self._credentials(args))
        given_url = str(args["url"])
        url = fill(given_url)
        if unambiguous_host(url) is None:
            raise ServiceError(400, "url: must be an absolute http:// or https:// URL with one unambiguous host")
        if not self.allows(url):
            raise ServiceError(
                403, f"url: host {unambiguous_host(url)} is not loopback and not in services.http.allow_hosts"
            )
        headers = {"User-Agent": _USER_AGENT}
        headers.update({str(k): fill(_header_value(k, v)) for k, v in (args.get("headers") or {}).items()})
        mark(headers)  # the host's marker: a script can neither set nor remove it
        query, data = self._body(method, args, headers, fill)
        if data is not None and len(data) > MAX_REQUEST_BYTES:
            raise ServiceError(413, f"{given_url}: request body of {len(data)} bytes; at most {MAX_REQUEST_BYTES}")
        remaining = None if self.host.deadline is None else self.host.deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise ServiceError(GATEWAY_TIMEOUT, "the script's time limit was reached before the request", SERVER_ERROR)
        timeouts = (conn, recv) if remaining is None else (min(conn, remaining), min(recv, remaining))
        with _tls_files(self._ssl_options(args)) as tls:
            try:
                response = self.session.request(
                    method.upper(), url, params=query or None, data=data, headers=headers, timeout=timeouts,
                    allow_redirects=False, stream=True, **tls,
                )
            except requests.Timeout:
                raise ServiceError(GATEWAY_TIMEOUT, f"{given_url}: timed out", SERVER_ERROR) from None
            except requests.RequestException as exc:
                # The exception's text may hold the URL with credentials in place: name the kind only.
                raise ServiceError(BAD_GATEWAY, f"{given_url}: {type(exc).__name__}", SERVER_ERROR) from None
            with response:
                body = self._read(response, given_url)
        return {
            "status_code": response.status_code,
            "headers": {k.lower(): v for k, v in response.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }

    def _body(
        self, method: str, args: Mapping[str, Any], headers: dict[str, str], fill: Any
    ) -> tuple[list[tuple[str, str]], bytes | None]:
        """(query pairs, body bytes): GET ignores body/json and sends params as the query string;
        otherwise json, else body, else params (as a form) is the body, and params left over go
        to the query string."""
        params = _pairs(args.get("params") or {}, fill)
        has_type = any(k.lower() == "content-type" for k in headers)
        if method == "get":
            return params, None
        if args.get("json") is not None:
            if not has_type:
                headers["Content-Type"] = "application/json"
            return params, json.dumps(_fill_deep(args["json"], fill), separators=(",", ":")).encode("utf-8")
        if args.get("body") is not None:
            return params, fill(str(args["body"])).encode("utf-8")
        if params:
            if not has_type:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            return [], urlencode(params).encode("ascii")
        return [], None

    def _read(self, response: requests.Response, given_url: str) -> bytes:
        """The reply body, stopped at the size limit and at the script's deadline."""
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise ServiceError(
                        BAD_GATEWAY, f"{given_url}: reply larger than {self.max_response_bytes} bytes", SERVER_ERROR
                    )
                if self.host.deadline is not None and time.monotonic() >= self.host.deadline:
                    raise ServiceError(GATEWAY_TIMEOUT, f"{given_url}: the script's time limit was reached",
                                       SERVER_ERROR)
                chunks.append(chunk)
        except requests.Timeout:
            raise ServiceError(GATEWAY_TIMEOUT, f"{given_url}: timed out", SERVER_ERROR) from None
        except requests.RequestException as exc:
            raise ServiceError(BAD_GATEWAY, f"{given_url}: {type(exc).__name__}", SERVER_ERROR) from None
        return b"".join(chunks)

    # -- configuration ---------------------------------------------------------------------------
    def _credentials(self, args: Mapping[str, Any]) -> dict[str, str]:
        """Config credentials, then the call's own (which win), as name -> value."""
        found = _credential_map(self.host.parameters.get("credentials"), "services.http.credentials")
        found.update(_credential_map(args.get("credentials"), "credentials"))
        return found

    def _ssl_options(self, args: Mapping[str, Any]) -> dict[str, str]:
        options = dict(self.host.parameters.get("sslOptions") or {})
        options.update(args.get("sslOptions") or {})
        unknown = sorted(set(options) - {"key", "cert", "cacerts"})
        if unknown:
            raise ServiceError(400, f"sslOptions: unknown option {unknown[0]!r} (known: cacerts, cert, key)")
        return {k: str(v) for k, v in options.items() if v}


def _timeout(args: Mapping[str, Any], name: str, default_ms: int, max_ms: int) -> float:
    value = args.get(name, default_ms)
    if not 0 < value <= max_ms:
        raise ServiceError(400, f"{name}: must be between 1 and {max_ms} milliseconds, got {value}")
    return value / 1000


def _credential_map(value: Any, where: str) -> dict[str, str]:
    """Credentials as a table of names and values, or Murano's string form: a JSON object."""
    if value is None or value == "" or value == []:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping) or not all(isinstance(v, (str, int, float)) for v in value.values()):
        raise ServiceError(400, f"{where}: must be a table (or a JSON object) of names and string values")
    return {str(k): str(v) for k, v in value.items()}


def _filler(credentials: Mapping[str, str]) -> Any:
    def fill(text: str) -> str:
        if not credentials or "{{" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: credentials.get(m.group(1), m.group(0)), text)

    return fill


def _fill_deep(node: Any, fill: Any) -> Any:
    if isinstance(node, str):
        return fill(node)
    if isinstance(node, Mapping):
        return {k: _fill_deep(v, fill) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill_deep(v, fill) for v in node]
    return node


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ServiceError(400, f"{name}: must be a string, number or boolean")


def _header_value(name: Any, value: Any) -> str:
    text = _scalar(f"headers.{name}", value)
    if any(ch in text for ch in "\r\n\0"):
        raise ServiceError(400, f"headers.{name}: must not contain a line break")
    return text


def _pairs(params: Mapping[str, Any], fill: Any) -> list[tuple[str, str]]:
    """params as name-value pairs; a list value repeats its name."""
    if not isinstance(params, Mapping):
        raise ServiceError(400, "params: must be a table of named values")
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((str(name), fill(_scalar(f"params.{name}", item))))
    return pairs


@contextmanager
def _tls_files(options: Mapping[str, str]) -> Iterator[dict[str, Any]]:
    """requests reads client certificates and CA bundles from files: write the PEM text to a
    private temporary directory for the length of one request."""
    if not options:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="murano-sim-tls-") as folder:
        paths = {}
        for name, pem in options.items():
            path = Path(folder) / f"{name}.pem"
            path.write_text(pem, encoding="utf-8")
            paths[name] = str(path)
        tls: dict[str, Any] = {}
        if "cacerts" in paths:
            tls["verify"] = paths["cacerts"]
        if "cert" in paths:
            tls["cert"] = (paths["cert"], paths["key"]) if "key" in paths else paths["cert"]
        yield tls
