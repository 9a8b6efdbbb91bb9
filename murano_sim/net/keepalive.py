"""HTTP/1.1 persistent connections for every listener: one connection answers many requests.

Werkzeug's development server closes every connection after one answer (its `run_wsgi` sends
`Connection: close` and then reads and discards whatever follows, which would be a kept client's
next request). `KeepAliveHandler` keeps Werkzeug's parsing and environ and writes the answer
itself, framed (Content-Length or chunked), so the connection can carry the next request:

- a body the application did not read is drained (up to DRAIN_BYTES) before the next request
  line is parsed; beyond that, or for anything unclear, the connection is closed after the answer;
- closed after: HTTP/1.0, `Connection: close`, an upgrade (the socket is taken over), an
  application error once the status went out, an answer whose length does not match its
  Content-Length, a request whose framing is ambiguous, and any request while the server stops;
- between requests the read timeout still applies; an idle connection that times out or that
  the client closes is closed quietly (no "Request timed out" line).

`KeptConnections` is the server's side: which connections are idle (waiting for a request), so
that a server at its connection cap can close one of them rather than turn a new client away.
"""

from __future__ import annotations

import io
import selectors
import socket
import threading
import time
import traceback
from collections.abc import Iterable
from typing import Any, cast

from werkzeug.exceptions import InternalServerError
from werkzeug.serving import WSGIRequestHandler

DRAIN_BYTES = 64 * 1024  # an unread request body up to this is read and dropped; a longer one closes
_DISCARD_LIMIT = 10_000_000_000  # before a close, the most read and dropped (as Werkzeug's own server)
_NO_BODY = {204, 304}


class KeptConnections:
    """The server's record of idle kept connections (mixed into the server class)."""

    def __init__(self) -> None:
        self._idle_lock = threading.Lock()
        self._idle: set[socket.socket] = set()
        self.closing = False  # set when the server stops: no further request on a kept connection

    def idle_begin(self, conn: socket.socket) -> None:
        with self._idle_lock:
            self._idle.add(conn)

    def idle_end(self, conn: socket.socket) -> None:
        with self._idle_lock:
            self._idle.discard(conn)

    def idle_count(self) -> int:
        """How many kept connections are waiting for their next request now."""
        with self._idle_lock:
            return len(self._idle)

    def close_one_idle(self) -> bool:
        """Stop reading on one idle connection (its thread then ends and frees its slot); False if none."""
        with self._idle_lock, selectors.DefaultSelector() as selector:  # no FD_SETSIZE limit, unlike select()
            for conn in list(self._idle):
                self._idle.discard(conn)
                try:
                    selector.register(conn, selectors.EVENT_READ)
                    arriving = selector.select(timeout=0)
                    selector.unregister(conn)
                    if arriving:
                        continue  # a request is arriving: not idle after all
                    conn.shutdown(socket.SHUT_RD)
                except (OSError, ValueError, KeyError):
                    continue  # closed meanwhile
                return True
        return False

    def close_idle(self) -> None:
        """Stop reading on every idle connection (the server is stopping)."""
        self.closing = True
        while self.close_one_idle():
            pass


class _Body(io.RawIOBase):
    """The request body as the application reads it: never past its end (the next request's bytes
    belong to the next request), counting what is left so that the rest can be drained."""

    def __init__(self, stream: Any, length: int | None) -> None:
        super().__init__()
        self._stream = stream
        self.left = length  # None: read until the stream ends (a dechunked body)
        self.ended = length == 0

    def readable(self) -> bool:
        return True

    def _cap(self, size: int | None) -> int:
        if self.left is None:
            return -1 if size is None or size < 0 else size
        return self.left if size is None or size < 0 else min(size, self.left)

    def _took(self, data_len: int, asked: int) -> None:
        if self.left is not None:
            self.left -= data_len
            self.ended = self.left == 0
        elif data_len == 0 and asked != 0:
            self.ended = True

    def readinto(self, buffer: Any) -> int:
        size = self._cap(len(buffer))
        if size == 0:
            return 0
        view = memoryview(buffer)[:size] if size > 0 else memoryview(buffer)
        count = self._stream.readinto(view) or 0
        self._took(count, len(view))
        return count

    def read(self, size: int | None = -1) -> bytes:
        cap = self._cap(size)
        if cap == 0:
            return b""
        data = self._stream.read(cap)
        self._took(len(data), cap)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        cap = self._cap(size)
        if cap == 0:
            return b""
        data = self._stream.readline(cap)
        self._took(len(data), cap)
        return data

    def drain(self, limit: int) -> bool:
        """Read and drop the rest, at most `limit` bytes; True if the body ended within it."""
        try:
            while not self.ended and limit > 0:
                chunk = self.read(min(limit, 65536))
                if not chunk:
                    return self.ended and self.left in (None, 0)
                limit -= len(chunk)
        except (OSError, ValueError):
            return False
        return self.ended


class KeepAliveHandler(WSGIRequestHandler):
    """Werkzeug's request handler with HTTP/1.1 persistent connections (see the module's doc)."""

    protocol_version = "HTTP/1.1"
    _date: tuple[int, str] = (0, "")
    disable_nagle_algorithm = True  # the answer goes out in one write; do not hold its tail for an ACK

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header's text, made once per second (email.utils.formatdate was ~4% of a request)."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        second = int(time.time())
        cached = KeepAliveHandler._date  # (second, text): one tuple, replaced whole, so never half of one
        if cached[0] != second:
            cached = KeepAliveHandler._date = (second, super().date_time_string(second))
        return cached[1]

    def handle_one_request(self) -> None:
        # Wait for the request's first byte here: a connection that stays idle (or is closed by the
        # client, or by the server stopping) ends quietly instead of logging a timeout.
        server = self.server
        kept = server if isinstance(server, KeptConnections) else None
        if kept is not None and kept.closing:
            self.close_connection = True
            return
        # Only a connection that has had an answer may be closed to make room: its client expects
        # a kept connection to close, not a new one.
        idle = kept if getattr(self, "_answered", False) else None
        if idle is not None:
            idle.idle_begin(self.connection)
        try:
            first = cast(io.BufferedReader, self.rfile).peek(1)
        except (OSError, ValueError):
            first = b""
        finally:
            if idle is not None:
                idle.idle_end(self.connection)
        if not first or (kept is not None and kept.closing):
            self.close_connection = True
            return
        super().handle_one_request()
        self._answered = True

    def run_wsgi(self) -> None:
        self.environ = environ = self.make_environ()
        body = self._body(environ)
        environ["wsgi.input"] = body
        keep = self._may_keep()
        self.close_connection = not keep  # announced in the answer's headers (`Connection: close`)
        response = _Response(self, environ)
        app_iter: Iterable[bytes] | None = None
        try:
            try:
                app_iter = self.server.app(environ, response.start_response)
                for data in app_iter:
                    response.write(data)
                response.finish()
            finally:
                if app_iter is not None and hasattr(app_iter, "close"):
                    app_iter.close()
        except (ConnectionError, TimeoutError) as exc:  # the client went, or the socket was taken over
            self.close_connection = True
            self.connection_dropped(exc, environ)
            return
        except Exception:
            if self.server.passthrough_errors:
                raise
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            if response.status_sent:
                self.close_connection = True  # the answer is broken: only a close ends it
                return
            try:
                response = _Response(self, environ)
                for data in InternalServerError()(environ, response.start_response):
                    response.write(data)
                response.finish()
            except Exception:
                self.close_connection = True
                return
        keep = keep and response.framed and not self.close_connection and not getattr(self.server, "closing", False)
        if keep and body.drain(DRAIN_BYTES):
            self.close_connection = False
            return
        self.close_connection = True
        if not body.ended:
            self._discard()

    def _body(self, environ: dict[str, Any]) -> _Body:
        stream = environ["wsgi.input"]
        if environ.get("wsgi.input_terminated"):  # chunked: Werkzeug's dechunker ends it
            return _Body(stream, None)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True  # a length we cannot trust: nothing more on this connection
            return _Body(stream, 0)
        return _Body(stream, length)

    def _may_keep(self) -> bool:
        """Whether the request lets the connection carry another one after its answer."""
        if self.close_connection or self.request_version != "HTTP/1.1":
            return False  # parse_request closes on `Connection: close`; HTTP/1.0 always closes here
        tokens = {t.strip().lower() for t in self.headers.get("Connection", "").split(",")}
        if "close" in tokens or "upgrade" in tokens or "Upgrade" in self.headers:
            return False
        # Both framings at once is how requests are smuggled: answer, then close.
        return not ("Content-Length" in self.headers and "Transfer-Encoding" in self.headers)

    def _discard(self) -> None:
        """Before a close, read and drop what the client is still sending, so it sees the answer
        rather than a reset (the approach of Werkzeug's own server)."""
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.connection, selectors.EVENT_READ)
                total = 0
                while total < _DISCARD_LIMIT and selector.select(timeout=0.01):
                    data = self.connection.recv(1 << 20)
                    if not data:
                        break
                    total += len(data)
        except (OSError, ValueError):
            pass


class _Response:
    """One answer's write path: status and headers go out with the first body bytes in one write;
    without a Content-Length an HTTP/1.1 body is chunked; `framed` says whether the client can
    tell where it ended without a close."""

    def __init__(self, handler: KeepAliveHandler, environ: dict[str, Any]) -> None:
        self._handler = handler
        self._environ = environ
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self.status_sent = False
        self._chunked = False
        self._no_body = False
        self._declared: int | None = None
        self._written = 0
        self.framed = True

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info:
            try:
                if self.status_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self._status is not None:
            raise AssertionError("Headers already set")
        self._status, self._headers = status, list(headers)
        return self.write

    def _head(self) -> bytes:
        handler = self._handler
        assert self._status is not None, "write() before start_response"
        code_text, _, reason = self._status.partition(" ")
        code = int(code_text)
        handler.log_request(code)
        lines = [f"{handler.protocol_version} {code} {reason}",
                 f"Server: {handler.version_string()}", f"Date: {handler.date_time_string()}"]
        names = set()
        for name, value in self._headers:
            lower = name.lower()
            if lower == "content-length":
                try:
                    self._declared = int(value)
                except ValueError:
                    self.framed = False
            elif lower == "connection" and "close" in value.lower():
                handler.close_connection = True
            names.add(lower)
            lines.append(f"{name}: {value}")
        self._no_body = self._environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in _NO_BODY
        if code < 200:
            self.framed = False  # an interim or switching answer: what follows is not ours to frame
        elif not self._no_body and "content-length" not in names:
            if handler.request_version == "HTTP/1.1" and "transfer-encoding" not in names:
                self._chunked = True
                lines.append("Transfer-Encoding: chunked")
            else:
                self.framed = False  # the body ends at the close
        if not self.framed or handler.close_connection:
            if "connection" not in names:
                lines.append("Connection: close")
            handler.close_connection = True
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.status_sent = True
        return head

    def write(self, data: bytes) -> None:
        assert isinstance(data, bytes), "applications must write bytes"
        out = self._head() if not self.status_sent else b""
        if data and not self._no_body:
            self._written += len(data)
            out += b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data
        if out:
            self._handler.wfile.write(out)

    def finish(self) -> None:
        """After the last body bytes: the chunked end, and whether the length matched."""
        if not self.status_sent:
            self.write(b"")
        if self._chunked:
            self._handler.wfile.write(b"0\r\n\r\n")
        elif self._declared is not None and not self._no_body and self._written != self._declared:
            self.framed = False  # the client would misread the next answer
