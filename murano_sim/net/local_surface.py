"""The rules every local HTTP surface follows (DECISIONS: the console, the event route, the
emulator's control plane): loopback clients only unless configured, a Host header that names
loopback (against DNS rebinding), an Origin that is the page's own on state-changing requests
(against CSRF), no request murano-sim sent on a solution's behalf (MARKER_HEADER), JSON or form
in, JSON out, errors as {"error": "<one line>"} with a 4xx.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from .marker import MARKER_HEADER
from .marker import MARKER_VALUE as MARKER_VALUE  # where the surfaces' callers look for it

MAX_BODY_BYTES = 1024 * 1024
_SAFE = {"GET", "HEAD", "OPTIONS"}

def check_unmarked(request: Request) -> None:
    """Refused(403) if a solution's own outbound request (its marker header) reached a local surface."""
    if MARKER_HEADER in request.headers:
        raise Refused(403, "a request sent on a solution's behalf cannot reach a local surface")


class Refused(Exception):
    """A request a local surface will not serve: its status and one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def is_loopback(host: str | None) -> bool:
    """The literal name localhost or a loopback address (IPv6 in brackets or not)."""
    if not host:
        return False
    if host == "127.0.0.1":  # nearly every request's client address: no address parsing
        return True
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name (or address) in a Host header, without its port."""
    if host_header.startswith("["):
        return host_header[: host_header.find("]") + 1]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def check(request: Request, *, remote: bool = False) -> None:
    """Raise Refused unless the request may reach a local surface."""
    check_unmarked(request)
    if not remote:
        if not is_loopback(request.remote_addr):
            raise Refused(403, "this surface answers loopback clients only")
        host = request.headers.get("Host", "")
        if not is_loopback(host_name(host)):
            raise Refused(403, f"Host {host[:100]!r} is not a loopback name (DNS rebinding is refused)")
    origin = request.headers.get("Origin")
    if request.method not in _SAFE and request.headers.get("Sec-Fetch-Site", "") == "cross-site":
        raise Refused(403, "cross-site request refused (Sec-Fetch-Site: cross-site)")
    if request.method not in _SAFE and origin is not None:
        own = f"{request.scheme}://{request.headers.get('Host', '')}".lower()
        parsed = urlsplit(origin)
        if f"{parsed.scheme}://{parsed.netloc}".lower() != own:  # "null" and other sites alike
            raise Refused(403, f"cross-site request refused (Origin {origin[:100]} is not {own})")


def body(request: Request) -> dict[str, Any]:
    """A JSON object, or form fields (repeated fields become lists); {} when there is no body."""
    request.max_content_length = MAX_BODY_BYTES
    try:
        if request.mimetype == "application/json":
            data = loads(request.get_data(cache=True) or b"{}")
            if not isinstance(data, dict):
                raise Refused(400, "the JSON body must be an object")
            return data
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            return {k: (v[0] if len(v) == 1 else v) for k, v in request.form.lists()}
        if request.get_data(cache=True).strip():
            raise Refused(415, f"send JSON (or a form), not {request.mimetype or 'an untyped body'}")
        return {}
    except HTTPException as exc:
        raise Refused(exc.code or 400, f"request body could not be read ({exc.name})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, f"the body is not valid JSON ({exc})") from None


def loads(text: str | bytes) -> Any:
    """json.loads, with nesting too deep for the decoder refused as bad input (400), not a crash."""
    try:
        return json.loads(text)
    except RecursionError:
        raise Refused(400, "the JSON is nested too deeply") from None


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def error(status: int, reason: str) -> Response:
    """{"error": "<one line>"} with a 4xx status."""
    return json_response({"error": " ".join(str(reason).split()) or "error"}, status)
