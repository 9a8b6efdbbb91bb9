"""The rules every local HTTP surface under /_murano-sim/ follows (docs/console.md, "Local surfaces").

- only loopback clients, unless serve.console_remote;
- a Host header that names loopback (a DNS-rebinding page has its own name there);
- a state-changing request from a browser page must come from the console's own origin (CSRF).
"""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_loopback_name(host: str | None) -> bool:
    """localhost (or a name under .localhost) or a loopback address, with or without brackets."""
    if not host:
        return False
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name part of a Host header value: "[::1]:8080" -> "::1", "localhost:80" -> "localhost"."""
    if host_header.startswith("["):
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def check_local_request(request: Request, *, remote: bool = False) -> tuple[int, str] | None:
    """(status, reason) when the request must be refused, else None."""
    if not remote:
        if not is_loopback_name(request.remote_addr):
            return 403, "the console answers loopback clients only (set serve.console_remote to allow others)"
        if not is_loopback_name(host_name(request.headers.get("Host", ""))):
            return 403, "Host header is not a loopback name (set serve.console_remote to allow others)"
    if request.method not in SAFE_METHODS:
        if request.headers.get("Sec-Fetch-Site", "") == "cross-site":
            return 403, "cross-site request refused"
        origin = request.headers.get("Origin")
        if origin is not None and not _same_origin(origin, request):
            return 403, f"Origin {origin} is not this console's origin"
    return None


def _same_origin(origin: str, request: Request) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == request.scheme and parts.netloc.lower() == request.host.lower()


def json_error(status: int, message: str) -> Response:
    """The local surfaces' error shape: {"error": "<one line>"} with a 4xx status."""
    line = " ".join(str(message).split())
    return Response(json.dumps({"error": line}), status=status, content_type="application/json")
