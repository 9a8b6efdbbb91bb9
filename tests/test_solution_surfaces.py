"""The one background-server class, and what a served solution answers under /_murano-sim/."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
import requests
from werkzeug.wrappers import Response

from murano_sim import Runtime
from murano_sim.console import Console
from murano_sim.errors import UsageError
from murano_sim.net.listen import BackgroundServer
from murano_sim.solution import serve_solution
from murano_sim.state.clock import ManualClock

SOLUTION = Path(__file__).resolve().parent / "solutions" / "keystore-only"
WAIT = 30  # a hang guard only


def _port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()
    except OSError:
        return True
    return False


def test_a_background_server_serves_and_stops_once():
    calls = []
    app = Response("hello", content_type="text/plain")
    server = BackgroundServer(app, name="test-server", on_shutdown=[lambda: calls.append("closed")])
    assert server.url.startswith("http://127.0.0.1:") and _port_of(server.url) > 0
    assert requests.get(server.url + "/anything", timeout=WAIT).text == "hello"
    server.shutdown()
    server.shutdown()  # idempotent: the hooks ran once and nothing raises
    assert calls == ["closed"]
    assert _refuses_connections(_port_of(server.url))


def test_shutdown_lets_a_running_request_finish_before_it_returns():
    # The caller closes the app's runtime once shutdown() returns: no request may still be inside.
    entered, release, order = threading.Event(), threading.Event(), []

    def app(environ, start_response):
        entered.set()
        release.wait(WAIT)
        order.append("request finished")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = BackgroundServer(app, name="drain")
    answers = []
    client = threading.Thread(target=lambda: answers.append(requests.get(server.url, timeout=WAIT).text))
    client.start()
    assert entered.wait(WAIT)
    stopper = threading.Thread(target=lambda: (server.shutdown(), order.append("shutdown returned")))
    stopper.start()
    stopper.join(1.0)  # well within the drain bound: shutdown() must still be waiting for the request
    release.set()
    stopper.join(WAIT)
    client.join(WAIT)
    assert order == ["request finished", "shutdown returned"]
    assert answers == ["ok"]  # and its answer went out


def test_a_background_server_is_a_context_manager_and_a_busy_port_is_one_line():
    with BackgroundServer(Response("x"), name="first") as first:
        with pytest.raises(UsageError, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            BackgroundServer(Response("y"), port=_port_of(first.url), name="second")
    assert _refuses_connections(_port_of(first.url))


def test_without_a_console_the_dev_prefix_is_a_clear_404_and_the_event_route_still_answers():
    with Runtime({}, clock=ManualClock()) as runtime, serve_solution(SOLUTION, runtime) as server:
        page = requests.get(server.url + "/_murano-sim/", timeout=WAIT)
        assert page.status_code == 404 and "no console here" in page.json()["error"]
        event = requests.post(server.url + "/_murano-sim/events/timer/timer", json={}, timeout=WAIT)
        assert (event.status_code, event.text) == (404, "no event handler for timer timer")  # the solution's own route
        assert requests.get(server.url + "/visits", timeout=WAIT).json() == {"visits": 1}


class _Hello:
    """A surface of the test's own: answers /_murano-sim/hello, 404 for the rest, counts closes."""

    closed = 0

    def __init__(self, app) -> None:
        self.app = app

    def handle(self, request) -> Response:
        if request.path == "/_murano-sim/hello":
            return Response(f"hello from {self.app.solution.root.name}")
        return Response("not mine", status=404)

    def close(self) -> None:
        type(self).closed += 1


def test_surfaces_are_asked_in_turn_and_closed_with_the_server():
    with Runtime({}, clock=ManualClock()) as runtime:
        server = serve_solution(SOLUTION, runtime, surfaces=(_Hello, Console))
        try:
            assert requests.get(server.url + "/_murano-sim/hello", timeout=WAIT).text == "hello from keystore-only"
            page = requests.get(server.url + "/_murano-sim/", timeout=WAIT)  # not _Hello's: the console's
            assert page.status_code == 200 and "<html" in page.text.lower()
            assert requests.get(server.url + "/_murano-sim/api/clock", timeout=WAIT).status_code == 200
            assert requests.get(server.url + "/_murano-sim/nothing", timeout=WAIT).status_code == 404
        finally:
            server.shutdown()
            server.shutdown()
        assert _Hello.closed == 1
