"""Murano's HTTPS device API (the `onep:v1/http` protocol) on loopback: what device firmware speaks.

Wire only: it parses requests and formats answers; every rule is the Device2 model's
(activate, authenticate, data_in, read_set, wait_set). Paths, headers and status codes follow
Exosite's published device API; see docs/services/device2.md.

  POST /provision/activate        id=<identity> (or the One Platform form vendor=&model=&sn=) -> token
  POST /onep:v1/stack/alias       X-Exosite-CIK: <token>, body a=1&b=2 -> 204 (data_in); with ?x&y also
                                  reads those set values back (200)
  GET  /onep:v1/stack/alias?x&y   the set values, form-encoded (204 when none); Request-Timeout: <ms>
                                  (and If-Modified-Since) long-polls one alias: 200 or 304
  POST /onep:v1/stack/record      X-Exosite-CIK: <token>, body alias=a&<ts>=<v>&<ts>=<v>&alias=b&... -> 204
                                  (values at their own Unix times: one data_in event)
  GET  /timestamp                 the solution clock's Unix time
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

from werkzeug.http import parse_date
from werkzeug.wrappers import Request, Response

from ...errors import UsageError
from ...net.limits import DEFAULT_MAX_BODY_BYTES, RequestRefused, check_length, read_data
from ...net.listen import BackgroundServer
from ...net.local_surface import MARKER_HEADER, host_name
from ...net.local_surface import error as json_error
from ...net.local_surface import is_loopback as _is_loopback
from ...state.ids import new_id
from .. import ServiceError
from .model import MAX_LONG_POLL_SECONDS, Device2, number_text

FORM = "application/x-www-form-urlencoded; charset=utf-8"
TOKEN_HEADER = "X-Exosite-CIK"


def _text(status: int, text: str = "", content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(text, status=status, content_type=content_type, headers={"Server": "murano-sim"})


class _Fixed:
    """An answer that is the same for every request (a device write's 204): the status and headers
    Werkzeug sends for it, taken once, then sent without building a Response per write."""

    def __init__(self, response: Response) -> None:
        sent: list[tuple[str, list[tuple[str, str]]]] = []

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            sent.append((status, headers))
            return lambda data: None

        environ = {"REQUEST_METHOD": "POST", "SERVER_NAME": "localhost", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
        response(environ, keep)
        self.status, self.headers = sent[0]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(self.status, list(self.headers))
        return []


NO_CONTENT = _Fixed(_text(204))  # a 204 has no body, whatever the method: one answer for every write


class DeviceAPI:
    """The WSGI app. `remote`: answer clients that are not on loopback (serve.console_remote)."""

    def __init__(self, model: Device2, *, remote: bool = False, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 hosts: Iterable[str] = ()) -> None:
        self.model = model
        self.remote = remote
        self.max_body_bytes = max_body_bytes
        self.hosts = {h.lower() for h in hosts}  # serve.device_hosts: names firmware may use besides loopback

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        refused = self._refusal(request)
        if refused is not None:
            return json_error(403, refused)(environ, start_response)
        try:
            response = self._dispatch(request)
        except ServiceError as exc:
            response = _text(exc.status, exc.message + "\n")
        except RequestRefused as exc:
            response = _text(exc.status, exc.reason + "\n")
        return response(environ, start_response)

    def _refusal(self, request: Request) -> str | None:
        """Why this request may not reach the device API (a local surface), or None."""
        if MARKER_HEADER in request.headers:
            return "a request sent on a solution's behalf cannot reach the device API"
        if not self.remote and not _is_loopback(request.remote_addr):
            return "the device API answers loopback clients only (serve.console_remote)"
        host = request.headers.get("Host", "")
        if not self._known_host(host_name(host)):
            return f"Host {host[:100]!r} is not loopback and not in serve.device_hosts (DNS rebinding is refused)"
        origin = request.headers.get("Origin")
        if origin is not None and not _is_loopback(urlsplit(origin).hostname):
            return "cross-site request refused (Origin is not loopback)"  # a browser, not a device
        return None

    def _known_host(self, name: str) -> bool:
        if _is_loopback(name) or name.lower() in self.hosts:
            return True
        if not self.remote:
            return False
        try:  # a device on the network may name the machine by address; rebinding needs a name
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return False
        return True

    def _dispatch(self, request: Request) -> Response | _Fixed:
        route = (request.method, request.path)
        if route == ("GET", "/timestamp"):
            return _text(200, str(int(self.model.host.now())))
        if route == ("POST", "/provision/activate"):
            return self._activate(request)
        if request.path == "/onep:v1/stack/alias" and request.method in ("GET", "POST"):
            return self._stack_alias(request)
        if route == ("POST", "/onep:v1/stack/record"):
            return self._record(request)
        if request.path == "/provision/download":  # gdc http content list|info|download
            return _text(501, "the content area (/provision/download) is not emulated by murano-sim\n")
        if request.path in ("/timestamp", "/provision/activate", "/onep:v1/stack/alias", "/onep:v1/stack/record"):
            return _text(405, f"{request.method} is not allowed on {request.path}\n")
        return _text(404, f"no device API at {request.path}\n")

    def _form(self, request: Request) -> list[tuple[str, str]]:
        check_length(request, self.max_body_bytes)
        body = read_data(request, self.max_body_bytes)
        try:
            return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise RequestRefused(400, "the body is not UTF-8 form data") from None

    def _activate(self, request: Request) -> Response:
        form = dict(self._form(request))
        identity = form.get("id") or form.get("sn")  # Murano: id; the One Platform's vendor/model/sn form: sn
        if not identity:
            raise RequestRefused(400, "give the identity as id=<identity>")
        token = self.model.activate(identity, ip=request.remote_addr)
        return _text(200, token)

    def _stack_alias(self, request: Request) -> Response | _Fixed:
        identity = self.model.authenticate(request.headers.get(TOKEN_HEADER))
        reads = _query_names(request.query_string.decode("latin-1"))
        if request.method == "POST":
            values = self._form(request)  # read before data_in's turn: a slow device never holds the solution up
            if values:
                self.model.data_in(identity, dict(values), ip=request.remote_addr, connection_id=new_id())
            if not reads:
                return NO_CONTENT
        if "Request-Timeout" in request.headers:
            return self._long_poll(request, identity, reads)
        found = self.model.read_set(identity, reads)
        if not found:
            return _text(204)
        return _text(200, urlencode({k: number_text(v) for k, v in found.items()}), FORM)

    def _record(self, request: Request) -> Response | _Fixed:
        identity = self.model.authenticate(request.headers.get(TOKEN_HEADER))
        entries = _recorded(self._form(request))
        self.model.record(identity, entries, ip=request.remote_addr, connection_id=new_id())
        return NO_CONTENT

    def _long_poll(self, request: Request, identity: str, reads: list[str]) -> Response:
        if len(reads) != 1:
            raise RequestRefused(400, "long polling reads exactly one alias")
        raw = request.headers["Request-Timeout"].strip()
        if not raw.isdigit() or int(raw) > MAX_LONG_POLL_SECONDS * 1000:
            raise RequestRefused(400, "Request-Timeout must be milliseconds, at most 300000")
        since = _since(request.headers.get("If-Modified-Since"))
        found = self.model.wait_set(identity, reads[0], int(raw) / 1000.0, since)
        if found is None:
            return _text(304)
        value, at = found
        response = _text(200, urlencode({reads[0]: number_text(value)}), FORM)
        response.headers["Last-Modified"] = str(at // 1_000_000)
        return response


def _recorded(pairs: list[tuple[str, str]]) -> list[tuple[float, dict[str, str]]]:
    """`alias=a&<ts>=<v>&...&alias=b&...` (the order matters) as [(ts, {alias: value}), ...]."""
    entries: list[tuple[float, dict[str, str]]] = []
    alias: str | None = None
    for key, value in pairs:
        if key == "alias":
            alias = value
            continue
        if not alias:
            raise RequestRefused(400, "record: give alias=<alias> before its <timestamp>=<value> pairs")
        try:
            at = float(key)
        except ValueError:
            raise RequestRefused(400, f"record: {key[:40]!r} is not a Unix timestamp") from None
        if not math.isfinite(at) or at < 0:
            raise RequestRefused(400, f"record: {key[:40]!r} is not a Unix timestamp")
        entries.append((at, {alias: value}))
    if not entries:
        raise RequestRefused(400, "record: give alias=<alias>&<timestamp>=<value>")
    return entries


def _query_names(query: str) -> list[str]:
    """`?a&b` (or `?a=&b=`): the aliases to read, in order, without repeats."""
    names: list[str] = []
    for part in query.split("&"):
        name = unquote_plus(part.split("=", 1)[0])
        if name and name not in names:
            names.append(name)
    return names


def _since(value: str | None) -> float | None:
    """If-Modified-Since: Unix seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    parsed = parse_date(text)
    if parsed is None:
        raise RequestRefused(400, "If-Modified-Since must be Unix seconds or an HTTP date")
    return parsed.timestamp()


def make_device_app(services: Any) -> DeviceAPI:
    """The device API over a solution's Services (its device2 model and serve settings)."""
    service = services.by_alias.get("device2")
    if service is None:
        raise UsageError("the device API needs the device2 service")
    serve = services.config.data.get("serve") or {}
    return DeviceAPI(service.model, remote=bool(serve.get("console_remote", False)),
                     max_body_bytes=int(serve.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
                     hosts=serve.get("device_hosts") or ())


def serve_devices(services: Any, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
    """Serve the device API for `services` in a background thread (stop it with .shutdown())."""
    return BackgroundServer(make_device_app(services), host, port, name="murano-sim-devices", what="device port")
