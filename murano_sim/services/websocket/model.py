"""Murano's Websocket service: the sockets open on a solution's WEBSOCKET endpoints.

The model only keeps the open sockets by id; the wire (solution/websocket.py, under `serve`)
attaches each connection when it opens and detaches it when it ends. Live sockets are not part
of the solution's persisted state: a restart closes them, as a redeploy would.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
import threading
from typing import Any, Protocol

from .. import ServiceError, ServiceHost

SOCKET_ID_LENGTH = 24  # Murano's 2017 form: ^[a-zA-Z0-9]{24}$
_ALPHABET = string.ascii_letters + string.digits
DEFAULT_MESSAGES_PER_SECOND = 5


class Socket(Protocol):
    """What the wire side attaches: one open connection."""

    def send(self, data: str | bytes) -> None: ...

    def close(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...


def new_socket_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(SOCKET_ID_LENGTH))


def frame_of(message: Any, kind: str | None = "data-text") -> str | bytes:
    """What goes on the wire for a message: text as is, a table as its JSON text, data-binary as
    the bytes its base64 text decodes to (ServiceError when it is not base64)."""
    if kind == "data-binary":
        try:
            return base64.b64decode(str(message), validate=True)
        except (binascii.Error, ValueError):
            raise ServiceError(400, "message: data-binary needs the bytes as base64 text") from None
    if isinstance(message, str):
        return message
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


class Websocket:
    def __init__(self, host: ServiceHost) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._sockets: dict[str, Socket] = {}  # insertion order: oldest first

    # -- the wire side --------------------------------------------------------------------------
    def attach(self, socket: Socket) -> str:
        """Register an open connection; returns its new socket id."""
        with self._lock:
            socket_id = new_socket_id()
            while socket_id in self._sockets:
                socket_id = new_socket_id()
            self._sockets[socket_id] = socket
            return socket_id

    def detach(self, socket_id: str) -> None:
        with self._lock:
            self._sockets.pop(socket_id, None)

    @property
    def messages_per_second(self) -> int:
        return int(self.host.settings.get("messages_per_second", DEFAULT_MESSAGES_PER_SECOND))

    def _socket(self, socket_id: str) -> Socket:
        with self._lock:
            socket = self._sockets.get(socket_id)
        if socket is None:
            raise ServiceError(404, f"socket {socket_id} is not open", "NotFound")
        return socket

    # -- operations -----------------------------------------------------------------------------
    def send(self, args: dict[str, Any]) -> None:
        socket = self._socket(args["socket_id"])
        socket.send(frame_of(args["message"], args.get("type") or "data-text"))

    def close(self, args: dict[str, Any] | None = None) -> None:
        """The `close` operation; without arguments (the runtime shutting down) every socket closes."""
        if args is None:
            self.closeAll({})
            return
        self._socket(args["socket_id"]).close()

    def closeAll(self, args: dict[str, Any]) -> int:
        with self._lock:
            sockets = list(self._sockets.values())
        for socket in sockets:
            socket.close()
        return len(sockets)

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._socket(args["socket_id"]).describe()

    def list(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            sockets = list(self._sockets.values())
        return [socket.describe() for socket in sockets]

    def reset(self) -> None:
        """A fresh state closes every open socket (their `close` runs still follow)."""
        self.closeAll({})
