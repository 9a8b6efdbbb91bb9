"""The local HTTP surfaces trust only the developer: real servers on loopback, real clients.

A request murano-sim sends on a solution's behalf carries a marker that every local surface
refuses; the device API checks Host; every server drops half-sent requests and caps open
connections; malformed requests get a 4xx with one line; a corrupt --state file is one line.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from listen_support import serving

from murano_sim import Runtime, load_config
from murano_sim.console import Console
from murano_sim.net.listen import listen
from murano_sim.net.local_surface import MARKER_HEADER
from murano_sim.services.device2.device_api import serve_devices
from murano_sim.services.transport import Transport
from murano_sim.services.twilio import Emulator
from murano_sim.services.twilio.server import serve as serve_emulator
from murano_sim.services.twilio.webhooks import attempt
from murano_sim.solution import serve_solution
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

API = r"""
--#ENDPOINT GET /ping
return "pong"

--#ENDPOINT POST /call
local headers = {}
if request.body.spoof then headers[request.body.spoof] = "developer" end
local reply = Http.post{url = request.body.url, headers = headers, json = {seconds = 60}}
return {status = reply.status_code, body = reply.body}

--#ENDPOINT POST /hook
return {marked = request.headers["x-murano-sim-sent-for"]}
"""


def make_solution(root: Path) -> Path:
    (root / "endpoints").mkdir(parents=True)
    (root / "endpoints" / "api.lua").write_text(API)
    (root / "files").mkdir()
    (root / "files" / "hello.txt").write_text("hello" * 100)
    return root


@pytest.fixture(scope="module")
def solution(tmp_path_factory) -> Path:
    return make_solution(tmp_path_factory.mktemp("surfaces") / "solution")


@pytest.fixture(scope="module")
def served(solution) -> Iterator[tuple[Runtime, str]]:
    root = solution
    with Runtime({}, clock=ManualClock()) as runtime:
        server = serve_solution(root, runtime, surfaces=(Console,))
        yield runtime, server.url
        server.shutdown()


def _now(runtime: Runtime) -> float:
    return runtime.platform.clock.now().timestamp()


# --- the marker header --------------------------------------------------------------------------


@pytest.mark.parametrize("spoof", [None, MARKER_HEADER, MARKER_HEADER.lower(), MARKER_HEADER.upper()])
def test_a_script_cannot_drive_the_console_through_http(served, spoof):  # reproducer 5
    runtime, url = served
    before = _now(runtime)
    reply = requests.post(f"{url}/call", json={"url": f"{url}/_murano-sim/api/clock/advance", "spoof": spoof},
                          timeout=30).json()
    assert reply["status"] == 403
    assert "on a solution's behalf" in json.loads(reply["body"])["error"]
    assert _now(runtime) == before
    # The developer (no marker) still drives it, with no token.
    assert requests.post(f"{url}/_murano-sim/api/clock/advance", json={"seconds": 60}, timeout=30).status_code == 200
    assert _now(runtime) == before + 60


def test_the_event_route_refuses_marked_requests(served):
    _, url = served
    reply = requests.post(f"{url}/call", json={"url": f"{url}/_murano-sim/events/device2/event"}, timeout=30).json()
    assert reply["status"] == 403


def test_a_solutions_endpoints_accept_marked_requests(served, solution):
    _, url = served
    with Runtime({}) as runtime:  # another solution (a script calling its own server would wait for itself)
        other = serve_solution(solution, runtime)
        try:
            reply = requests.post(f"{url}/call", json={"url": f"{other.url}/hook"}, timeout=30).json()
        finally:
            other.shutdown()
    assert reply["status"] == 200 and json.loads(reply["body"]) == {"marked": "solution"}


def test_the_device_api_refuses_marked_requests(served):
    runtime, url = served
    with serve_devices(runtime.platform) as devices:
        reply = requests.post(f"{url}/call", json={"url": f"{devices.url}/provision/activate"}, timeout=30).json()
        assert reply["status"] == 403 and "error" in json.loads(reply["body"])
        assert requests.get(f"{devices.url}/timestamp", timeout=30).status_code == 200


@pytest.fixture
def standalone() -> Iterator[str]:
    emulator = Emulator(load_config(None), clock=ManualClock())
    server = serve_emulator(emulator, control=True)
    yield server.url
    server.shutdown()
    emulator.close()


def test_webhooks_and_transport_cannot_reach_the_emulators_control_plane(standalone):
    delivery = attempt(f"{standalone}/_emulator/reset", {}, "token")
    assert delivery.status == 403 and "on a solution's behalf" in json.loads(delivery.body)["error"]
    reply = Transport(standalone).send("POST", "/_emulator/reset")
    assert reply.status == 403
    assert requests.post(f"{standalone}/_emulator/reset", timeout=30).status_code == 200  # the developer


# --- the device API's Host ----------------------------------------------------------------------


def _raw(address: tuple[str, int], data: bytes) -> bytes:
    chunks = []
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(data)
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


@pytest.mark.parametrize("request_text", [
    "GET /timestamp HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    "POST /provision/activate HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    "Content-Length: 6\r\nConnection: close\r\n\r\nid={n:03d}",
])
def test_the_device_api_refuses_a_foreign_host_unless_listed(request_text):  # reproducer 6
    listed = "p1234.m2.exosite.io"
    with Runtime({"serve": {"device_hosts": [listed]}}, clock=ManualClock()) as runtime, \
            serve_devices(runtime.platform) as devices:
        address = _address(devices.url)
        evil = _raw(address, request_text.format(host="evil.example", n=0).encode())
        assert evil.startswith(b"HTTP/1.1 403") and b"serve.device_hosts" in evil
        for n, host in enumerate((listed, "localhost", f"127.0.0.1:{address[1]}", "[::1]"), 1):
            answer = _raw(address, request_text.format(host=host, n=n).encode())
            assert answer.startswith(b"HTTP/1.1 200"), (host, answer)


# --- slow and greedy clients --------------------------------------------------------------------


def _closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(0.2)
    try:
        return sock.recv(65536) == b""  # a closed connection reads as end-of-file
    except TimeoutError:
        return False
    except OSError:
        return True


def test_half_sent_requests_are_dropped_and_the_server_still_answers(served):  # reproducer 7
    _, url = served
    address = _address(url)
    sockets = [socket.create_connection(address, timeout=30) for _ in range(50)]
    try:
        for i, sock in enumerate(sockets):
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: localhost\r\n" if i % 2 else b"POST /call HTTP/1.1\r\n"
                         b"Host: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        open_ones = list(sockets)
        deadline = time.monotonic() + 120
        while open_ones and time.monotonic() < deadline:
            open_ones = [s for s in open_ones if not _closed_by_server(s)]
        assert not open_ones, f"{len(open_ones)} half-sent requests still open"
    finally:
        for sock in sockets:
            sock.close()
    assert requests.get(f"{url}/ping", timeout=30).text == "pong"


def test_connections_over_the_cap_get_a_503_and_the_server_recovers():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = listen("127.0.0.1", 0, app, max_connections=5)
    with serving(server) as address:
        held = [socket.create_connection(address, timeout=30) for _ in range(5)]
        try:
            for sock in held:
                sock.sendall(b"GET / HTTP/1.1\r\n")  # half-sent: each holds a slot
            busy = _raw(address, b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            assert busy.startswith(b"HTTP/1.1 503") and b"too many open connections" in busy
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 60
        answer = b""
        while time.monotonic() < deadline:
            answer = _raw(address, b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            if answer.startswith(b"HTTP/1.1 200"):
                break
            time.sleep(0.1)
        assert answer.startswith(b"HTTP/1.1 200")


# --- malformed requests: a 4xx and one line -----------------------------------------------------


def test_a_range_bomb_gets_the_whole_file(served):  # reproducer 8
    _, url = served
    bomb = "bytes=" + ",".join(f"{i}-{i}" for i in range(5000))
    response = requests.get(f"{url}/hello.txt", headers={"Range": bomb}, timeout=30)
    assert response.status_code == 200 and response.text == "hello" * 100
    one = requests.get(f"{url}/hello.txt", headers={"Range": "bytes=0-3"}, timeout=30)
    assert one.status_code == 206 and one.text == "hell"
    beyond = requests.get(f"{url}/hello.txt", headers={"Range": "bytes=9999-"}, timeout=30)
    assert beyond.status_code == 416


@pytest.mark.parametrize("path", ["/_murano-sim/api/keystore", "/_murano-sim/api/clock/advance",
                                  "/_murano-sim/api/devices/d1/data_in"])
def test_deep_json_on_the_console_api_is_400_with_one_line(served, path):  # reproducer 9
    _, url = served
    deep = "[" * 200_000 + "]" * 200_000
    response = requests.post(f"{url}{path}", data=deep, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 400 and response.json() == {"error": "the JSON is nested too deeply"}


def test_deep_json_on_the_emulators_control_plane_is_400(standalone):
    response = requests.post(f"{standalone}/_emulator/reset", data="[" * 200_000,
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]


def test_an_oversized_form_to_the_emulator_is_413(standalone):  # reproducer 10
    from murano_sim.services.twilio.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

    response = requests.post(
        f"{standalone}/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Messages.json", auth=(DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN),
        data={"To": "+15005550006", "From": "+15005550006", "Body": "x" * 30_000_000}, timeout=60)
    assert response.status_code == 413 and response.json()["status"] == 413
    assert requests.get(f"{standalone}/_emulator/requests", timeout=30).status_code < 500


# --- a corrupt --state file ---------------------------------------------------------------------


def _murano_sim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "murano_sim.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_a_state_file_with_rows_that_do_not_decode_is_one_line_and_left_as_it_is(solution, tmp_path):  # repro 11
    state_path = tmp_path / "state.db"
    with Runtime({}, state=State(state_path)) as runtime:
        runtime.run('Keystore.set{key = "good", value = "1"}')
    with sqlite3.connect(state_path) as db:
        db.execute("UPDATE keystore SET value = '{bad' WHERE key = 'good'")
    db.close()
    before = state_path.read_bytes()
    result = _murano_sim("serve", str(solution), "--port", "0", "--device-port", "0", "--state", str(state_path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot restore from this state file" in lines[0] and "Traceback" not in result.stderr
    assert state_path.read_bytes() == before


def test_an_emulator_state_file_with_a_bad_record_is_one_line_and_left_as_it_is(tmp_path):
    state_path = tmp_path / "emulator.db"
    with sqlite3.connect(state_path) as db:  # the tables an emulator state file had before issue 20
        db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, sid TEXT UNIQUE, data TEXT)")
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO records (seq, sid, data) VALUES (1, 'SM1', '{bad')")
    db.close()
    before = state_path.read_bytes()
    result = _murano_sim("twilio-emulator", "--port", "0", "--state", str(state_path))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "cannot restore" in result.stderr
    assert state_path.read_bytes() == before
