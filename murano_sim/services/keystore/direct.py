"""fakeredis's command handling called in process, for the embedded store's hot path.

redis-py's client and the RESP encoding and parsing of each command cost more than fakeredis's
own work (profiled: 1.65 s of 2.73 s for 1000 set+get pairs). This hands the command's fields
to a fakeredis socket and reads its reply as redis-py would have returned it from a client
without response callbacks (Keystore's `raw`): bytes decoded as the client's encoder decodes
them, errors raised as the same redis-py exceptions. A real Redis (`url:`) keeps redis-py.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import redis

try:  # fakeredis internals (pinned below 3 in pyproject): a release without them falls back to redis-py
    from fakeredis._helpers import SimpleError
    from fakeredis._socket._resp import COMMANDS_WITH_SUB, extract_command
except ImportError:  # pragma: no cover - only with a fakeredis that moved them
    SimpleError = COMMANDS_WITH_SUB = extract_command = None  # type: ignore[assignment,misc]

# What this module calls on a fakeredis socket; `usable` checks them before the store relies on them.
_SOCKET_API = ("_process_command", "_run_command", "_name_to_func", "_decode_result", "put_response", "version")

# redis-py's reply errors as fakeredis queues them (its `RaiseErrorTypes`): raised, never returned.
_ERRORS = (redis.ResponseError, redis.ConnectionError, redis.TimeoutError)


def usable(client: redis.Redis) -> bool:
    """True when this fakeredis has the internals DirectRedis uses (else the store keeps redis-py's client)."""
    if SimpleError is None:
        return False
    connection: Any = client.connection_pool.get_connection()
    try:
        connection.connect()
        return all(hasattr(connection._sock, name) for name in _SOCKET_API)
    except Exception:  # noqa: BLE001 - any surprise in another fakeredis's internals means: do not use them
        return False
    finally:
        client.connection_pool.release(connection)


class DirectRedis:
    """execute_command and pipeline(), as `redis.Redis` with no response callbacks, on one fakeredis connection."""

    def __init__(self, client: redis.Redis) -> None:
        # A connection of the client's own pool, kept: the same server, database and encoder.
        self._connection: Any = cast(Any, client.connection_pool.get_connection())
        self._replies: list[Any] = []
        self._commands: dict[bytes, tuple[Any, Any]] = {}  # a verb as sent -> the socket's handler and signature
        self._socket = self._open()
        self._encode = self._connection.encoder.encode
        self._decode = self._connection._decode
        self._lock = threading.Lock()  # one socket's reply queue: one command at a time

    def execute_command(self, *args: Any) -> Any:
        encode = self._encode
        fields = [arg.encode("utf-8", "replace") if type(arg) is str else encode(arg) for arg in args]
        with self._lock:
            socket = self._socket
            if socket._server is None:  # closed (a pool's disconnect, close()): redis-py would reconnect
                socket = self._socket = self._open()
            found = self._commands.get(fields[0])
            if found is None:  # first use of this verb, or one fakeredis refuses: its own path and error
                socket._process_command(fields)
                self._learn(fields[0])
            else:
                # What _process_command does for a client with no ACL user, transaction or CLIENT REPLY
                # setting (this one has none), less its reply queue and time stamps (the clock is ours).
                func, sig = found
                with socket._server.lock:
                    try:
                        sig.check_arity(fields[1:], socket.version)
                        result = socket._run_command(func, sig, fields[1:], False)
                    except SimpleError as exc:
                        result = exc
                self._replies.append(socket._decode_result(result))
            if not self._replies:  # a command that answers nothing (none of Keystore's verbs)
                return None
            reply = self._replies.pop()
            self._replies.clear()
        if isinstance(reply, _ERRORS):
            raise reply
        return self._decode(reply)

    def _open(self) -> Any:
        self._connection.connect()
        socket = self._connection._sock
        # Its replies land here rather than in the socket's thread-safe queue and event (no reader waits).
        socket.put_response = self._replies.append
        self._commands.clear()  # the handlers are the socket's methods
        return socket

    def _learn(self, verb: bytes) -> None:
        """Remember a plain verb's handler (a verb with a sub-command or a refused one keeps the full path)."""
        cmd, _ = extract_command([verb])
        if cmd not in COMMANDS_WITH_SUB:
            try:
                self._commands[verb] = self._socket._name_to_func(cmd)
            except SimpleError:
                pass

    def pipeline(self, transaction: bool = False) -> Batch:
        return Batch(self)

    def close(self) -> None:
        self._connection.disconnect()


class Batch:
    """redis-py's non-transactional pipeline: every command runs; the first error is raised after them all."""

    def __init__(self, direct: DirectRedis) -> None:
        self._direct = direct
        self._commands: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any) -> Batch:
        self._commands.append(args)
        return self

    def execute(self) -> list[Any]:
        replies: list[Any] = []
        error: Exception | None = None
        for args in self._commands:
            try:
                replies.append(self._direct.execute_command(*args))
            except redis.ResponseError as exc:
                replies.append(exc)
                error = error or exc
        self._commands = []
        if error is not None:
            raise error
        return replies
