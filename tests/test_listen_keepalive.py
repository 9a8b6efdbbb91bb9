"""HTTP/1.1 keep-alive on every listener (murano_sim/net/keepalive.py): real servers and clients on loopback."""

from __future__ import annotations

import email.utils
import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import simple_websocket
from listen_support import serving

from murano_sim import Runtime
from murano_sim.net import listen as listen_module
from murano_sim.net.keepalive import DRAIN_BYTES
from murano_sim.net.listen import BackgroundServer, QuietHandler, listen
from murano_sim.services.device2.device_api import serve_devices
from murano_sim.state.clock import ManualClock


class App:
    """Answers with the client's port as the server saw it (one port: one connection)."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            self.ports.append(int(environ["REMOTE_PORT"]))
        path = environ["PATH_INFO"]
        if path == "/read":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/stream":  # no Content-Length: chunked
            start_response("200 OK", [("Content-Type", "text/plain")])
            return (f"part{i};".encode() for i in range(5))
        if path == "/fail-late":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return _fail_after_first()
        if path == "/ws":  # the socket is taken over, as a WEBSOCKET endpoint does
            ws = simple_websocket.Server.accept(environ)
            ws.send("echo " + str(ws.receive(timeout=30)))
            ws.close()
            raise ConnectionError("handed over")
        if path == "/empty":
            start_response("204 No Content", [])
            return [b""]
        if path == "/fail-early":
            raise RuntimeError("a defect before the answer")
        answer = f"{path} {len(self.ports)}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
        return [answer]


def _fail_after_first() -> Iterator[bytes]:
    yield b"first"
    raise RuntimeError("a defect after the status went out")


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def server(app: App) -> Iterator[BackgroundServer]:
    with BackgroundServer(app, name="test-keepalive") as running:
        yield running


def _address(server: BackgroundServer) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _read_answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """(head, body) of one Content-Length answer read from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole head: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed before the whole body"
        body += chunk
    assert len(body) == length, "more than one answer's bytes: the test sends one request at a time here"
    return head, body


def _closed(sock: socket.socket) -> bool:
    """True once the server has closed (end of file, or a reset); waits up to the socket's timeout."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def test_back_to_back_requests_share_one_connection(server: BackgroundServer, app: App) -> None:
    conn = http.client.HTTPConnection(*_address(server), timeout=30)
    conn.connect()
    first = conn.sock
    for n in range(1, 301):
        conn.request("GET", f"/n{n}")
        response = conn.getresponse()
        assert response.read() == f"/n{n} {n}".encode()
        assert response.status == 200 and not response.will_close
        assert conn.sock is first, f"request {n} needed a new connection"
    conn.close()
    assert len(app.ports) == 300 and len(set(app.ports)) == 1


def test_the_date_header_is_the_current_second_on_every_answer(server: BackgroundServer) -> None:
    # The handler makes the Date text once per second (KeepAliveHandler.date_time_string).
    conn = http.client.HTTPConnection(*_address(server), timeout=30)
    seen = []
    for _ in range(3):
        before = int(time.time())
        conn.request("GET", "/date")
        response = conn.getresponse()
        response.read()
        after = int(time.time())
        stamp = email.utils.parsedate_to_datetime(response.getheader("Date")).timestamp()
        assert before <= stamp <= after, (response.getheader("Date"), before, after)
        seen.append(stamp)
        time.sleep(1.05 - time.time() % 1)  # into the next second
    conn.close()
    assert seen == sorted(seen) and len(set(seen)) == 3


def test_pipelined_requests_are_all_answered_in_order(server: BackgroundServer) -> None:
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(b"".join(f"GET /p{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(20)))
        reader = sock.makefile("rb")
        for i in range(20):
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), (i, status)
            length = 0
            while (line := reader.readline()) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert reader.read(length).startswith(f"/p{i} ".encode())


@pytest.mark.parametrize("size", [0, 1, 10_000, DRAIN_BYTES])
def test_a_body_the_endpoint_ignores_is_drained_before_the_next_request(server: BackgroundServer, app: App,
                                                                        size: int) -> None:
    conn = http.client.HTTPConnection(*_address(server), timeout=30)
    conn.request("POST", "/ignores", body=b"GET /smuggled HTTP/1.1\r\n\r\n".ljust(size, b"x")[:size])
    assert conn.getresponse().read() == b"/ignores 1"
    conn.request("GET", "/next")
    response = conn.getresponse()
    assert response.read() == b"/next 2" and not response.will_close
    conn.close()
    assert len(set(app.ports)) == 1


def test_a_chunked_body_the_endpoint_ignores_is_drained(server: BackgroundServer, app: App) -> None:
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(b"POST /ignores HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n1a\r\nGET /smuggled HTTP/1.1\r\n\r\n\r\n0\r\n\r\n")
        assert _read_answer(sock)[1] == b"/ignores 1"
        sock.sendall(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_answer(sock)[1] == b"/next 2"
    assert len(app.ports) == 2


def test_a_body_that_is_read_then_another_request(server: BackgroundServer, app: App) -> None:
    conn = http.client.HTTPConnection(*_address(server), timeout=30)
    for n in range(20):
        conn.request("POST", "/read", body=f"body {n}".encode())
        assert conn.getresponse().read() == f"body {n}".encode()
    conn.close()
    assert len(set(app.ports)) == 1


def test_an_oversized_ignored_body_is_answered_then_the_connection_closed(server: BackgroundServer) -> None:
    body = b"x" * (DRAIN_BYTES * 4)
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(b"POST /ignores HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        head, answer = _read_answer(sock)
        assert head.startswith(b"HTTP/1.1 200") and answer == b"/ignores 1"
        assert _closed(sock)


@pytest.mark.parametrize("request_text", [
    b"GET /old HTTP/1.0\r\n\r\n",
    b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"GET /old HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /old HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n",
    b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
])
def test_http_1_0_and_connection_close_are_closed_after_the_answer(server: BackgroundServer,
                                                                    request_text: bytes) -> None:
    with socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(request_text)
        head, body = _read_answer(sock)
        assert body == b"/old 1" and b"\r\nConnection: close" in head
        assert _closed(sock)


def test_a_streamed_answer_is_chunked_and_the_connection_kept(server: BackgroundServer, app: App) -> None:
    conn = http.client.HTTPConnection(*_address(server), timeout=30)
    conn.request("GET", "/stream")
    response = conn.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read() == b"part0;part1;part2;part3;part4;"
    conn.request("GET", "/after")
    assert conn.getresponse().read() == b"/after 2"
    conn.close()
    assert len(set(app.ports)) == 1


def test_a_kept_connection_can_upgrade_to_a_websocket(server: BackgroundServer, app: App) -> None:
    with socket.create_connection(_address(server), timeout=30) as sock:
        for _ in range(3):
            sock.sendall(b"GET /before HTTP/1.1\r\nHost: x\r\n\r\n")
            _read_answer(sock)
        sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, rest = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101") and b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
        mask = b"\x01\x02\x03\x04"
        sock.sendall(b"\x81\x82" + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(b"hi")))  # a masked "hi"
        while len(rest) < 2 or len(rest) < 2 + rest[1]:
            rest += sock.recv(65536)
        assert rest[0] == 0x81 and rest[2:2 + rest[1]] == b"echo hi"
        received = rest[2 + rest[1]:]
        while chunk := sock.recv(65536):  # the server's close frame, then the end: nothing HTTP after it
            received += chunk
        assert received.startswith(b"\x88") and b"HTTP/1.1" not in received
    assert len(set(app.ports)) == 1


def test_answers_without_a_body_keep_the_connection(server: BackgroundServer, app: App) -> None:
    conn = http.client.HTTPConnection(*_address(server), timeout=30)
    for n in range(5):
        conn.request("HEAD", "/head")  # the app writes a body anyway: it must not reach the client
        response = conn.getresponse()
        assert response.read() == b"" and response.getheader("Content-Length") == str(len(f"/head {2 * n + 1}"))
        conn.request("GET", "/empty")
        response = conn.getresponse()
        assert response.status == 204 and response.read() == b"" and not response.will_close
    conn.request("GET", "/last")
    assert conn.getresponse().read() == b"/last 11"
    conn.close()
    assert len(set(app.ports)) == 1


def test_an_error_before_the_answer_is_a_500_on_a_kept_connection(server: BackgroundServer, app: App, caplog) -> None:
    conn = http.client.HTTPConnection(*_address(server), timeout=30)
    with caplog.at_level(logging.ERROR, logger="werkzeug"):
        conn.request("GET", "/fail-early")
        response = conn.getresponse()
        response.read()
    assert response.status == 500 and not response.will_close
    assert "a defect before the answer" in caplog.text  # our defect surfaces in the log
    conn.request("GET", "/after")
    assert conn.getresponse().read() == b"/after 2"
    conn.close()


def test_an_error_after_the_status_closes_the_connection(server: BackgroundServer, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="werkzeug"), \
            socket.create_connection(_address(server), timeout=30) as sock:
        sock.sendall(b"GET /fail-late HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        assert received.startswith(b"HTTP/1.1 200") and b"first" in received
        assert not received.endswith(b"0\r\n\r\n")  # no clean end: the client sees the answer broke
    assert "a defect after the status went out" in caplog.text


def test_an_idle_kept_connection_times_out_quietly(app: App, monkeypatch, capfd, caplog) -> None:
    monkeypatch.setattr(listen_module, "READ_TIMEOUT_SECONDS", 0.3)
    handler = listen_module.KeepAliveHandler  # Werkzeug's logging, where a timeout line would show
    with caplog.at_level(logging.DEBUG), BackgroundServer(app, name="test-idle", handler=handler) as running, \
            socket.create_connection(_address(running), timeout=30) as sock:
        sock.sendall(b"GET /once HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_answer(sock)[1] == b"/once 1"
        assert _closed(sock)  # the server closed it after its read timeout
        with socket.create_connection(_address(running), timeout=30) as silent:
            assert _closed(silent)  # a connection that never sends a request goes quietly too
    out, err = capfd.readouterr()
    assert "timed out" not in out + err + caplog.text


def test_shutdown_closes_idle_kept_connections(app: App, monkeypatch) -> None:
    monkeypatch.setattr(listen_module, "READ_TIMEOUT_SECONDS", 600.0)  # the idle ones would stay for this
    running = BackgroundServer(app, name="test-shutdown")
    sockets = [socket.create_connection(_address(running), timeout=30) for _ in range(8)]
    try:
        for i, sock in enumerate(sockets):
            sock.sendall(f"GET /s{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            _read_answer(sock)
        running.shutdown()
        assert not running._server._open, "a kept connection outlived shutdown"
        assert all(_closed(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_a_request_on_a_kept_connection_cannot_reach_an_app_being_closed(app: App) -> None:
    seen: list[int] = []
    running = BackgroundServer(app, name="test-closing", on_shutdown=[lambda: seen.append(_late_request(sock))])
    sock = socket.create_connection(_address(running), timeout=30)
    try:
        sock.sendall(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        _read_answer(sock)
        deadline = time.monotonic() + 60
        while running._server.idle_count() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        running.shutdown()  # its hook (the app closing) sends a request on the kept connection
    finally:
        sock.close()
    assert seen == [0] and len(app.ports) == 1, "a request reached the app while it was closing"


def _late_request(sock: socket.socket) -> int:
    """Bytes answered to a request sent on `sock` (0: the server closed it unanswered)."""
    try:
        sock.sendall(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return len(received)
    except (ConnectionResetError, BrokenPipeError):
        return 0


def test_at_the_cap_an_idle_kept_connection_makes_room(app: App) -> None:
    server = listen("127.0.0.1", 0, app, QuietHandler, max_connections=2)
    with serving(server) as address:
        _fill_and_make_room(server, address)


def _fill_and_make_room(server: Any, address: tuple[str, int]) -> None:
    kept = [socket.create_connection(address, timeout=30) for _ in range(2)]
    try:
        for sock in kept:
            sock.sendall(b"GET /kept HTTP/1.1\r\nHost: x\r\n\r\n")
            _read_answer(sock)
        deadline = time.monotonic() + 60
        while server.idle_count() < 2 and time.monotonic() < deadline:  # their threads wait for a next request
            time.sleep(0.01)
        with socket.create_connection(address, timeout=30) as new:
            new.sendall(b"GET /new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head, body = _read_answer(new)
            assert head.startswith(b"HTTP/1.1 200") and body == b"/new 3"
        for sock in kept:
            sock.settimeout(0.5)
        assert sum(_closed_or_open(sock) for sock in kept) >= 1, "no idle connection was closed"
    finally:
        for sock in kept:
            sock.close()


def _closed_or_open(sock: socket.socket) -> bool:
    try:
        return _closed(sock)
    except TimeoutError:
        return False


def test_the_device_api_keeps_a_devices_connection() -> None:
    with Runtime(clock=ManualClock()) as runtime, serve_devices(runtime.platform) as devices:
        conn = http.client.HTTPConnection(*_address(devices), timeout=30)
        conn.request("POST", "/provision/activate", body="id=ka-1",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        token = conn.getresponse().read().decode()
        first = conn.sock
        assert first is not None, "the activation's connection was closed"
        for n in range(20):
            conn.request("POST", "/onep:v1/stack/alias", body=f"temp={n}",
                         headers={"Content-Type": "application/x-www-form-urlencoded", "X-Exosite-CIK": token})
            response = conn.getresponse()
            response.read()
            assert response.status in (200, 204), response.status
            assert conn.sock is first and not response.will_close
        conn.close()
