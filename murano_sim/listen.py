"""A Werkzeug threaded server on a socket bound here, so that a bad port or address is one clear line.

Werkzeug's own bind prints two unprefixed lines and calls sys.exit(1) when a port is in use, and
Python's bind wraps a port above 65535 around; binding the socket first avoids both.
"""

from __future__ import annotations

import socket
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, get_sockaddr, make_server, select_address_family

from .errors import UsageError

MAX_PORT = 65535


class QuietHandler(WSGIRequestHandler):
    """No access-log line per request (serve's solution log and the device API log their own)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def check_port(port: int, what: str = "port") -> int:
    if not 0 <= port <= MAX_PORT:
        raise UsageError(f"{what} {port} is outside 0-{MAX_PORT}")
    return port


def listen(host: str, port: int, app: Any, handler: Any = None, what: str = "port") -> BaseWSGIServer:
    """A threaded server for `app` on host:port (0: a free port); UsageError if it cannot listen."""
    check_port(port, what)
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as socketserver does for HTTP servers
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(128)
        server = make_server(host, port, app, threaded=True, request_handler=handler, fd=sock.fileno())
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot listen on {host}:{port} ({reason})") from None
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor
    # What HTTPServer.server_bind would have set, had Werkzeug bound the socket itself.
    server.server_name, server.server_port = host, server.port
    return server
