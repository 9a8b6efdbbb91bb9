"""WEBSOCKET endpoints over a real WebSocket: simple-websocket (on wsproto) takes over the
connection from Werkzeug's server (its `werkzeug.socket` environ key).

Each connection runs the endpoint's script in the solution's hot VM for `open`, every incoming
message (`data`) and `close`, with `websocketInfo` (also `websocket_info`) and a fresh
`response`; `response.message` or the returned value is sent back. The connection is attached
to the Websocket service's model, so any script can send to it or close it by socket id.
See docs/websocket.md.
"""

from __future__ import annotations

import base64
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from simple_websocket import ConnectionClosed, Server
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..runtime.result import ScriptResult
from ..services import ServiceError
from .guards import multi
from .hotvm import EVENT_SLOT
from .loader import route_rule
from .model import Endpoint, Solution

# Put in front of the endpoint's first line (a header comment), so the script's lines keep their
# numbers. Murano's wrapper is function(websocketInfo, response); send/close go through the
# Websocket service (one call path, one call log) and refuse once the socket is closed.
_PRELUDE = (
    f"local websocketInfo = {EVENT_SLOT}; {EVENT_SLOT} = nil; request = nil; response.message = nil; "
    "local websocket_info = websocketInfo; "
    "do local call, id = murano.service_call, websocketInfo.socket_id; "
    "if websocketInfo.type == 'close' then "
    "local function gone(what) return function() "
    "error('websocketInfo.' .. what .. ': the socket is closed (type is \"close\")', 2) end end; "
    "websocketInfo.send, websocketInfo.close = gone('send'), gone('close') "
    "else websocketInfo.send = function(message, kind) "
    "return call('websocket', 'send', {socket_id = id, message = message, type = kind}) end; "
    "websocketInfo.close = function() return call('websocket', 'close', {socket_id = id}) end end end "
)
_POLL_SECONDS = 0.5  # how often a connection's loop notices a close made from another thread


def script_source(endpoint: Endpoint) -> str:
    """The endpoint's source as the VM runs it for one websocket event."""
    return _PRELUDE + endpoint.source


def is_upgrade(request: Request) -> bool:
    # the environ as the Upgrade header's lookup reads it, without building the headers view (per request)
    environ = request.environ
    if environ.get("REQUEST_METHOD", "GET").upper() != "GET":
        return False
    return str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket"


class _HandedOver(Response):
    """Ends the WSGI call without an HTTP response: the socket belonged to the WebSocket.

    Werkzeug's server treats a ConnectionError from the application as a dropped connection
    and writes nothing more (the approach Flask-Sock takes with simple-websocket)."""

    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        raise ConnectionError("websocket connection ended")


class Connection:
    """One open WebSocket: the loop that runs the script per event, and the Socket the
    Websocket service sends to and closes."""

    def __init__(
        self, ws: Server, service: Any, info: dict[str, Any],
        run: Callable[[dict[str, Any]], ScriptResult], now: Callable[[], float], log: Callable[[str], None],
    ) -> None:
        self.ws = ws
        self._now = now
        self.service = service
        self.info = info
        self._run = run
        self._log = log
        self._send_lock = threading.Lock()
        self._own_thread: threading.Thread | None = None
        self._in_own_run = False
        self._close_requested = False
        self.socket_id = service.attach(self)
        self.info["socket_id"] = self.socket_id

    # -- the Socket the service sees ------------------------------------------------------------
    def send(self, data: str | bytes) -> None:
        with self._send_lock:
            try:
                self.ws.send(data)
            except (ConnectionClosed, OSError):
                raise ServiceError(404, f"socket {self.socket_id} is not open", "NotFound") from None

    def close(self) -> None:
        # During this socket's own execution the close waits until the reply is sent.
        if self._in_own_run and threading.current_thread() is self._own_thread:
            self._close_requested = True
            return
        self._close_now()

    def describe(self) -> dict[str, Any]:
        keys = ("socket_id", "uri", "route", "server_ip", "headers", "parameters")
        return {**{k: self.info[k] for k in keys}, "timestamp": self.info["opened"]}

    def _close_now(self) -> None:
        with self._send_lock:
            try:
                self.ws.close()
            except (ConnectionClosed, OSError):
                pass
        # Closed is no longer open: not listed or counted even before this connection's loop ends.
        self.service.detach(self.socket_id)

    # -- the loop ---------------------------------------------------------------------------------
    def serve(self) -> None:
        """Run open, then data per message (at most messages_per_second), then close."""
        self._own_thread = threading.current_thread()
        limit = self.service.messages_per_second
        recent: deque[float] = deque()
        try:
            self._event("open", None)
            while not self._close_requested:
                try:
                    data = self.ws.receive(timeout=_POLL_SECONDS)
                except ConnectionClosed:
                    break
                if data is None:
                    continue
                if limit > 0:
                    now = time.monotonic()  # the wire's rate, not the solution clock
                    while recent and now - recent[0] >= 1.0:
                        recent.popleft()
                    if len(recent) >= limit:
                        self._log(f"websocket {self.info['route']} {self.socket_id}: more than {limit} "
                                  "messages in a second; message dropped")
                        continue
                    recent.append(now)
                self._event("data", data)
        finally:
            self._close_now()
            self.service.detach(self.socket_id)
            self._event("close", None)

    def _event(self, kind: str, data: str | bytes | None) -> None:
        info = {k: v for k, v in self.info.items() if k != "opened"}
        info["type"], info["timestamp"] = kind, int(self._now())
        if isinstance(data, bytes):
            info["message"], info["message_type"] = base64.b64encode(data).decode("ascii"), "data-binary"
        elif data is not None:
            info["message"], info["message_type"] = data, "data-text"
        self._in_own_run = True
        try:
            result = self._run(info)
        finally:
            self._in_own_run = False
        message = result.response.message if result.error is None else None
        if message is not None and kind != "close":
            try:
                self.service.send({"socket_id": self.socket_id, "message": message})  # as the script's own send
            except ServiceError:
                pass  # the client went away meanwhile
        if self._close_requested:
            self._close_now()


class WebSockets:
    """A served solution's WEBSOCKET endpoints: matching upgrades, and every open connection."""

    def __init__(
        self, service: Any, run: Callable[[Endpoint, dict[str, Any]], ScriptResult],
        now: Callable[[], float], log: Callable[[str], None], max_message_bytes: int,
    ) -> None:
        self.service = service  # the Websocket service's model: attach, detach, send (by socket id)
        self._run = run
        self._now = now
        self._log = log
        self.max_message_bytes = max_message_bytes
        self._map: tuple[Solution | None, Map] = (None, Map())
        self._active = 0
        self._idle = threading.Condition()

    def match(self, solution: Solution, request: Request) -> tuple[Endpoint, dict[str, str]] | None:
        """The WEBSOCKET endpoint for this path, with its path parameters, or None."""
        if self._map[0] is not solution:
            urls = Map(strict_slashes=False)
            for index, endpoint in enumerate(solution.endpoints):
                if endpoint.method == "WEBSOCKET":
                    urls.add(Rule(route_rule(endpoint.path), endpoint=index, methods=["GET"], websocket=True))
            self._map = (solution, urls)
        try:
            index, params = self._map[1].bind_to_environ(request.environ).match()
        except HTTPException:
            return None
        return solution.endpoints[index], dict(params)

    def serve(self, endpoint: Endpoint, path_params: Mapping[str, str], request: Request) -> Response:
        """Accept the upgrade and serve the connection until it closes (this thread is its loop)."""
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            sock.settimeout(None)  # the server's read timeout is for HTTP: an open WebSocket may stay quiet
        try:
            ws = Server.accept(request.environ, max_message_size=self.max_message_bytes)
        except (ConnectionError, RuntimeError) as exc:  # no socket to take over, or a bad handshake
            self._log(f"websocket {endpoint.path}: upgrade failed ({exc})")
            return Response("WebSocket upgrade failed", status=400, content_type="text/plain; charset=utf-8")
        parameters = {**multi(request.args), **path_params}  # a path parameter wins, as for HTTP
        info: dict[str, Any] = {
            "uri": request.url.replace("http", "ws", 1),
            "route": endpoint.path,
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "server_ip": request.environ.get("SERVER_NAME", "127.0.0.1"),
            "parameters": parameters,
            "opened": int(self._now()),
        }
        with self._idle:
            self._active += 1
        try:
            run = lambda event: self._run(endpoint, event)  # noqa: E731
            Connection(ws, self.service, info, run, self._now, self._log).serve()
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()
        return _HandedOver()

    def close_all(self, wait_seconds: float = 5.0) -> None:
        """Close every open socket and wait (a bounded time) for their `close` runs to finish."""
        self.service.closeAll({})
        with self._idle:
            self._idle.wait_for(lambda: self._active == 0, timeout=wait_seconds)
