"""WEBSOCKET endpoints served over a real WebSocket on loopback, driven by a real client."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from simple_websocket import ConnectionClosed
from websocket_client import Client

from murano_sim import Runtime
from murano_sim.solution import SolutionLog, serve_solution

SOLUTION = Path(__file__).resolve().parent / "solutions" / "websocket"
WAIT = 60  # seconds: a hang guard only


class Served:
    def __init__(self, runtime: Runtime) -> None:
        self.stream = io.StringIO()
        self.server = serve_solution(SOLUTION, runtime, log=SolutionLog(self.stream))
        self.url = self.server.url
        self.ws_url = self.url.replace("http://", "ws://")
        self.runtime = runtime

    def connect(self, path: str = "/chat", **kwargs) -> Client:
        return Client.connect(self.ws_url + path, **kwargs)

    def keystore(self, key: str):
        return self.runtime.platform.call_value("keystore", "get", {"key": key}).get("value")


def receive(client: Client):
    message = client.receive(timeout=WAIT)
    assert message is not None, "no message before the hang guard"
    return message


def wait_closed(client: Client) -> None:
    with pytest.raises(ConnectionClosed):
        for _ in range(100):
            if client.receive(timeout=WAIT) is None:
                raise AssertionError("socket still open after the hang guard")


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with Runtime({"services": {"websocket": {"messages_per_second": 1000}}}) as rt:
        yield rt


@pytest.fixture
def served(runtime) -> Iterator[Served]:
    runtime.reset()
    served = Served(runtime)
    yield served
    served.server.shutdown()


def test_open_data_and_close_run_the_endpoint_with_websocket_info(served):
    client = served.connect("/chat?who=ada")
    hello = json.loads(receive(client))
    socket_id = hello["hello"]
    assert len(socket_id) == 24 and socket_id.isalnum()
    assert hello == {"hello": socket_id, "route": "/chat", "who": "ada", "same": True}
    client.send("hi")
    assert receive(client) == "echo hi"
    client.send("count")
    assert receive(client) == "2"  # the hot VM keeps the script's globals between events
    client.close()
    # the close run saw send refused, and still ran to the end
    deadline = time.monotonic() + WAIT
    while served.keystore(f"closed:{socket_id}") is None and time.monotonic() < deadline:
        time.sleep(0.02)
    stored = served.keystore(f"closed:{socket_id}")
    assert stored.startswith("false ") and 'the socket is closed (type is "close")' in stored


def test_send_sends_extra_messages_before_the_reply(served):
    client = served.connect()
    receive(client)
    client.send("extra")
    assert [receive(client) for _ in range(3)] == ["first", '{"n":2}', "last"]
    client.send("silent")  # no response.message: nothing is sent
    client.send("after")
    assert receive(client) == "echo after"
    client.close()


def test_binary_messages_arrive_as_base64(served):
    client = served.connect()
    receive(client)
    client.send(b"\x00\xffbin")
    assert receive(client) == "binary " + base64.b64encode(b"\x00\xffbin").decode()
    client.close()


def test_close_from_the_script_sends_the_reply_then_closes(served):
    client = served.connect()
    receive(client)
    client.send("bye")
    assert receive(client) == "goodbye"
    wait_closed(client)


def test_a_script_error_is_logged_and_the_socket_stays_open(served):
    client = served.connect()
    receive(client)
    client.send("boom")
    client.send("still")
    assert receive(client) == "echo still"
    assert "chat.lua:34: boom" in served.stream.getvalue()
    client.close()


def test_the_websocket_service_reaches_other_sockets(served):
    first, second = served.connect(), served.connect()
    first_id = json.loads(receive(first))["hello"]
    second_id = json.loads(receive(second))["hello"]
    assert first_id != second_id
    first.send("list")
    assert json.loads(receive(first)) == {"count": 2, "route": "/chat", "id": first_id}
    assert requests.get(served.url + "/status", timeout=WAIT).json() == {"open": 2}
    first.send(f"tell {second_id} psst")
    assert receive(second) == "psst"
    assert json.loads(receive(first)) == {"status": 204, "status_code": 204}
    first.send(f"kill {second_id}")
    assert json.loads(receive(first)) == {"status": 204, "status_code": 204}
    wait_closed(second)
    first.send(f"tell {second_id} anyone")
    answer = json.loads(receive(first))
    assert answer["status"] == 404 and second_id in answer["error"]
    first.send("closeAll")
    assert receive(first) == "1"
    wait_closed(first)


def test_service_operations_check_their_arguments(runtime):
    result = runtime.run('return {Websocket.info{socket_id = "short"}, Websocket.list()}')
    bad, listed = result.response.message
    assert bad["status"] == 400 and "24 letters or digits" in bad["error"]
    assert listed == []
    gone = runtime.run('return Websocket.close{socket_id = "' + "a" * 24 + '"}').response.message
    assert gone["status"] == 404


def test_path_parameters_and_security_on_the_upgrade(served):
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode()}
    refused = requests.get(served.url + "/rooms/blue", headers=upgrade, timeout=WAIT)
    assert refused.status_code == 401
    client = served.connect("/rooms/blue", headers={"Authorization": "Bearer t0k"})
    assert receive(client) == "room blue Bearer t0k"
    client.close()


def test_incoming_messages_past_the_rate_limit_are_dropped():
    with Runtime({"services": {"websocket": {"messages_per_second": 1}}}) as runtime:
        served = Served(runtime)
        try:
            client = served.connect()
            receive(client)
            for n in range(20):
                client.send(f"m{n}")
            assert receive(client) == "echo m0"
            time.sleep(1.1)  # let the one-second window pass (not an assertion on timing)
            client.send("count")
            answered = int(receive(client))
            assert answered < 21  # unless the 20 sends took 20 seconds, most were dropped
            assert "message dropped" in served.stream.getvalue()
            client.close()
        finally:
            served.server.shutdown()
