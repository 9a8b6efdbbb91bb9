"""A Werkzeug threaded server on a socket bound here, so that a bad port or address is one clear line.

Werkzeug's own bind prints two unprefixed lines and calls sys.exit(1) when a port is in use, and
Python's bind wraps a port above 65535 around; binding the socket first avoids both.

Every connection has a read timeout (a half-sent or idle request is dropped) and the number of
open connections is capped (one over the cap gets a 503 and is closed), so a slow or greedy
client cannot hold every thread. Connections are kept alive between requests (keepalive.py); an
idle kept connection holds its slot until its read timeout, or until a new client needs the slot.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from werkzeug.serving import (
    BaseWSGIServer,
    ThreadedWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    select_address_family,
)

from ..errors import UsageError
from .keepalive import KeepAliveHandler, KeptConnections
from .ports import check_port

_Server = TypeVar("_Server", bound="BackgroundServer")  # typing.Self is 3.11+; we support 3.10
READ_TIMEOUT_SECONDS = 5.0  # per read on a connection: a request line, headers or a body chunk
MAX_CONNECTIONS = 128  # open at once per server (WebSockets and live streams count too)
DRAIN_SECONDS = 5.0  # on shutdown, how long requests still running may take to finish
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 46\r\n"
         b"Connection: close\r\nRetry-After: 1\r\n\r\n"
         b'{"error": "too many open connections; retry"}\n')


_MAKE_ROOM_SECONDS = 1.0  # at the cap, how long a new client waits for an idle kept connection to close


class BoundedServer(ThreadedWSGIServer, KeptConnections):
    """Werkzeug's threaded server with a read timeout on each connection and a cap on how many
    are open at once; at the cap an idle kept connection is closed to make room."""

    def __init__(self, *args: Any, max_connections: int = MAX_CONNECTIONS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        KeptConnections.__init__(self)
        self._slots = threading.BoundedSemaphore(max_connections)
        self._open: set[socket.socket] = set()
        self._changed = threading.Condition()

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        conn.settimeout(READ_TIMEOUT_SECONDS)  # a WebSocket lifts it once the upgrade is done
        return conn, address

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False) and not (
            self.close_one_idle() and self._slots.acquire(timeout=_MAKE_ROOM_SECONDS)
        ):
            try:
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._changed:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()
            with self._changed:
                self._open.discard(request)
                self._changed.notify_all()

    def shutdown(self) -> None:
        """Stop accepting, and close the idle kept connections (a request that arrived on one
        would reach an app that is being closed)."""
        super().shutdown()
        self.close_idle()

    def close_connections(self, wait: float = DRAIN_SECONDS) -> None:
        """Stop reading from every open connection (one still sending its request would reach an
        app that is being closed) and wait up to `wait` seconds for the requests still running:
        they finish and their answers go out."""
        self.closing = True
        with self._changed:
            for conn in self._open:
                try:
                    conn.shutdown(socket.SHUT_RD)
                except OSError:
                    pass  # already closed by the client
            self._changed.wait_for(lambda: not self._open, timeout=wait)


class QuietHandler(KeepAliveHandler):
    """No access-log line per request (serve's solution log and the device API log their own)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def listen(
    host: str, port: int, app: Any, handler: Any = KeepAliveHandler, what: str = "port", *,
    max_connections: int = MAX_CONNECTIONS,
) -> BoundedServer:
    """A threaded server for `app` on host:port (0: a free port); UsageError if it cannot listen.
    `handler` should be a KeepAliveHandler (Werkzeug's own closes every connection)."""
    check_port(port, what)
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as socketserver does for HTTP servers
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(128)
        server = BoundedServer(host, port, app, handler, fd=sock.fileno(), max_connections=max_connections)
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot listen on {host}:{port} ({reason})") from None
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor
    # What HTTPServer.server_bind would have set, had Werkzeug bound the socket itself.
    server.server_name, server.server_port = host, server.port
    return server


def base_url(server: BaseWSGIServer, host: str) -> str:
    """http://HOST:PORT with the port actually bound (so port 0 shows the one picked)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{server.server_port}"


class BackgroundServer:
    """`app` served on host:port from a daemon thread: every listener murano-sim opens (a solution,
    a service's own port such as the device API, a standalone emulator) is one of these.

    `url` has the port actually bound; `shutdown()` stops accepting, runs `on_shutdown` (e.g. end
    open streams and sockets), lets the requests still running finish (so none reaches an app
    that is closed after it returns), closes the socket and joins the thread, once however
    often it is called. Use as a context manager.
    """

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str,
        handler: type[WSGIRequestHandler] = QuietHandler,
        on_shutdown: Iterable[Callable[[], object]] = (),
        what: str = "port",
    ) -> None:
        self._server = listen(host, port, app, handler, what)
        self.url = base_url(self._server, host)
        self._on_shutdown = list(on_shutdown)
        self._lock = threading.Lock()
        self._stopped = False
        # A short poll interval makes shutdown() prompt.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()

    def shutdown(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._server.shutdown()
        try:
            for hook in self._on_shutdown:
                hook()
        finally:
            self._server.close_connections()
            self._server.server_close()
            self._thread.join()

    def __enter__(self: _Server) -> _Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url})"
