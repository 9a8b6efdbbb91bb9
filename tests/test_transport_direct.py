"""Transport's direct path (a plain http:// URL on a stock session goes through urllib3's pool, below
requests): the server must receive exactly what the requests path sends. Real loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from test_service_httpserver import Answer, Recorded, RecordingServer, recording_server

from murano_sim.services.transport import Transport


class ThroughRequests(HTTPAdapter):
    """A mounted adapter of its own: the transport then keeps the requests path."""


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with recording_server() as srv:
        yield srv


def both(url: str) -> tuple[Transport, Transport]:
    auth = ("AC" + "0" * 32, "secret-token")
    direct = Transport(url, auth=auth, retries=0)
    session = requests.Session()
    session.mount(url, ThroughRequests())
    via_requests = Transport(url, auth=auth, retries=0, session=session)
    # The premise of the comparison: one of each path.
    assert direct._pool is not None and via_requests._pool is None
    return direct, via_requests


def seen(record: Recorded) -> tuple[Any, ...]:
    return record.method, record.raw_uri, record.form, record.body, record.headers


@pytest.mark.parametrize(("method", "options"), [
    ("POST", {"form": [("To", "+1 763"), ("Body", "é & = ?"), ("To", "+2")]}),
    ("GET", {"query": [("PageSize", "2"), ("q", "a b/ü")]}),
    ("POST", {"json_body": {"a": [1, "ü"], "b": None}}),
    ("DELETE", {}),
    ("POST", {}),
])
def test_direct_path_sends_what_requests_sends(server: RecordingServer, method: str, options: dict[str, Any]) -> None:
    direct, via_requests = both(server.url)
    server.default = Answer(201, {"sid": "SM1"})
    first = direct.send(method, "/2010-04-01/Accounts/AC/Messages.json", **options)
    second = via_requests.send(method, "/2010-04-01/Accounts/AC/Messages.json", **options)
    assert first == second and first.value == {"sid": "SM1"}
    a, b = server.wait_for_requests(2)
    assert seen(a) == seen(b)


def test_direct_path_maps_errors_as_requests_does(server: RecordingServer) -> None:
    direct, via_requests = both(server.url)
    server.answer(Answer(400, "bad To ü", headers={"Content-Type": "text/plain; charset=utf-8"}),
                  Answer(400, "bad To ü", headers={"Content-Type": "text/plain; charset=utf-8"}))
    first = direct.send("POST", "/m", form=[("To", "x")])
    second = via_requests.send("POST", "/m", form=[("To", "x")])
    assert first == second and first.error == "bad To ü" and first.error_type == "QueryError"


def test_direct_path_keeps_connections_as_requests_does(server: RecordingServer) -> None:
    for transport in both(server.url):
        for _ in range(3):
            assert transport.send("GET", "/m").ok
    records = server.wait_for_requests(6)
    # Werkzeug's server may close after each answer; whatever it does, both paths connect alike.
    assert len({r.client_port for r in records[:3]}) == len({r.client_port for r in records[3:]})


def test_after_close_a_call_still_works(server: RecordingServer) -> None:
    direct, _ = both(server.url)
    direct.close()
    assert direct.send("GET", "/m").ok
