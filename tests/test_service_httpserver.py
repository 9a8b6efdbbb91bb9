"""A real HTTP server on loopback that records every request and plays scripted answers.

Shared by the service and transport tests (imported as a module; it holds no tests itself
except the two that check the helper does what the other tests rely on).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    client_port: int  # the client's TCP port: equal ports mean one reused connection
    raw_uri: str  # the request target exactly as sent

    def form_dict(self) -> dict[str, list[str]]:
        return _group(self.form)

    def query_dict(self) -> dict[str, list[str]]:
        return _group(self.query)


@dataclass
class Answer:
    """One scripted answer: a status and body, or a dropped connection, optionally after a delay."""

    status: int = 200
    body: Any = field(default_factory=dict)  # dict/list -> JSON; str/bytes as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close the connection after reading the request, without answering


def _group(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


class RecordingServer:
    def __init__(self) -> None:
        self.received: list[Recorded] = []
        self._script: list[Answer] = []
        self.default = Answer()
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def answer(self, *answers: Answer) -> None:
        """Answer the next requests with these, in order; then with `self.default`."""
        with self._lock:
            self._script = list(answers)

    def wait_for_requests(self, count: int, hang_guard: float = 60) -> list[Recorded]:
        """What was received once `count` requests have been: a client that timed out may return
        before the server (slow on a loaded machine) even read its request."""
        deadline = time.monotonic() + hang_guard
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.received)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        form = list(request.form.items(multi=True)) if request.mimetype == "application/x-www-form-urlencoded" else []
        body = request.get_data() if not form else b""
        record = Recorded(
            method=request.method,
            path=request.path,
            query=list(request.args.items(multi=True)),
            form=form,
            headers=dict(request.headers.items()),
            body=body,
            client_port=int(environ.get("REMOTE_PORT") or 0),
            raw_uri=environ.get("RAW_URI") or environ.get("REQUEST_URI") or "",
        )
        with self._lock:
            self.received.append(record)
            answer = self._script.pop(0) if self._script else self.default
        if answer.delay:
            time.sleep(answer.delay)
        if answer.drop:
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return Response(b"", 200)(environ, start_response)
        if isinstance(answer.body, (dict, list)):
            payload, mimetype = json.dumps(answer.body).encode(), "application/json"
        else:
            payload = answer.body.encode() if isinstance(answer.body, str) else answer.body
            mimetype = "text/plain"
        response = Response(payload, status=answer.status, mimetype=mimetype, headers=answer.headers)
        return response(environ, start_response)

    def start(self) -> RecordingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def recording_server() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    try:
        yield server
    finally:
        server.stop()


def unused_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_helper_records_repeated_form_keys_and_scripted_status() -> None:
    with recording_server() as server:
        server.answer(Answer(status=418, body={"teapot": True}))
        response = requests.post(server.url + "/x?q=1&q=2", data=[("a", "1"), ("a", "2")], timeout=30)
        assert response.status_code == 418 and response.json() == {"teapot": True}
        (seen,) = server.received
        assert seen.form_dict() == {"a": ["1", "2"]} and seen.query_dict() == {"q": ["1", "2"]}


def test_helper_drop_closes_the_connection_without_a_response() -> None:
    with recording_server() as server:
        server.answer(Answer(drop=True))
        try:
            requests.post(server.url + "/x", data={"a": "1"}, timeout=30)
        except requests.exceptions.ConnectionError:
            pass
        else:
            raise AssertionError("a dropped connection must not produce a response")
        assert len(server.received) == 1
