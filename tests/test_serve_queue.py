"""A served solution's executions wait in one FIFO queue, bounded by serve.max_queued (beyond it: 503 + Retry-After).

Real server, real concurrent HTTP clients. The test thread takes the VM's turn itself (the same
object every execution waits for) so that requests queue behind it deterministically; nothing is
timed: the test waits until the queue holds what it sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from murano_sim import Runtime
from murano_sim.errors import ConfigError
from murano_sim.services.device2.device_api import serve_devices
from murano_sim.solution import serve_solution
from murano_sim.solution.turns import Turns

ENDPOINTS = """\
--#ENDPOINT GET /visit/{n}
order = order or {}
order[#order + 1] = tonumber(request.parameters.n)
return "visited " .. request.parameters.n

--#ENDPOINT GET /order
return order or {}
"""


@pytest.fixture
def solution(tmp_path: Path) -> Path:
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "api.lua").write_text(ENDPOINTS)
    return tmp_path


def _wait_until(condition) -> None:
    """Until condition() holds (the clients' requests reached the queue); fails after a minute."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the requests never reached the VM's queue"
        time.sleep(0.01)


class Clients:
    """Requests sent from threads of their own; their answers once they are all back."""

    def __init__(self) -> None:
        self.answers: dict[int, requests.Response] = {}
        self.threads: list[threading.Thread] = []

    def send(self, url: str, n: int) -> None:
        def call() -> None:
            self.answers[n] = requests.get(f"{url}/visit/{n}", timeout=60)
        thread = threading.Thread(target=call)
        thread.start()
        self.threads.append(thread)

    def join(self) -> dict[int, requests.Response]:
        for thread in self.threads:
            thread.join()
        return self.answers


@pytest.fixture
def served(solution: Path) -> Iterator:
    with Runtime({"serve": {"max_queued": 3, "retry_after_seconds": 7}}) as runtime:
        server = serve_solution(solution, runtime)
        yield server
        server.shutdown()


def test_requests_run_in_arrival_order_and_beyond_the_bound_get_503(served) -> None:
    turns = served.app.vm.turns
    clients = Clients()
    turns.acquire()  # the VM is busy: every request from here queues
    try:
        for n in range(1, 4):  # one at a time, so their arrival order is known
            clients.send(served.url, n)
            _wait_until(lambda n=n: turns.waiting == n)
        full = requests.get(f"{served.url}/visit/99", timeout=60)
    finally:
        turns.release()
    answers = clients.join()
    assert full.status_code == 503
    assert full.headers["Retry-After"] == "7"
    assert [answers[n].status_code for n in (1, 2, 3)] == [200, 200, 200]
    # first come, first served; the refused request never ran
    assert requests.get(f"{served.url}/order", timeout=60).json() == [1, 2, 3]


def test_a_refused_request_leaves_room_for_the_next(served) -> None:
    turns = served.app.vm.turns
    clients = Clients()
    turns.acquire()
    try:
        for n in range(1, 4):
            clients.send(served.url, n)
            _wait_until(lambda n=n: turns.waiting == n)
        assert requests.get(f"{served.url}/visit/98", timeout=60).status_code == 503
    finally:
        turns.release()
    clients.join()
    assert requests.get(f"{served.url}/visit/4", timeout=60).status_code == 200
    assert requests.get(f"{served.url}/order", timeout=60).json() == [1, 2, 3, 4]


HANDLER = """\
--#EVENT device2 data_in
Keystore.set{key = "seen:" .. event.identity, value = event.payload[1].values.temp}
"""


def test_a_device_write_waits_for_the_turn_before_it_is_stored(solution: Path) -> None:
    # The store and its data_in handler are one turn: a running execution never sees a device's value
    # land without the handler's work, and the write waits once (not at the state's lock, then the VM's).
    (solution / "services").mkdir()
    (solution / "services" / "devices.lua").write_text(HANDLER)
    with Runtime({}) as runtime:
        server = serve_solution(solution, runtime)
        devices = serve_devices(runtime.platform)
        try:
            session = requests.Session()
            token = session.post(f"{devices.url}/provision/activate", data={"id": "d1"}, timeout=60).text
            turns = server.app.vm.turns
            answer: list[int] = []
            writing = threading.Thread(target=lambda: answer.append(session.post(
                f"{devices.url}/onep:v1/stack/alias", data={"temp": "21"}, headers={"X-Exosite-CIK": token},
                timeout=60).status_code))
            turns.acquire()  # an execution is running
            try:
                writing.start()
                _wait_until(lambda: turns.waiting == 1)
                state = runtime.run("return Device2.getIdentityState{identity = 'd1'}").response.message
                assert state == {}, state  # waiting for the turn, not yet stored
            finally:
                turns.release()
            writing.join(60)
            assert answer == [204]
            state = runtime.run("return Device2.getIdentityState{identity = 'd1'}").response.message
            assert state["temp"]["reported"] == "21"
            assert runtime.run("return Keystore.get{key = 'seen:d1'}").response.message == {"value": "21"}
        finally:
            devices.shutdown()
            server.shutdown()

def test_turns_are_reentrant_and_handed_over_in_order() -> None:
    turns = Turns(limit=None)
    ran: list[int] = []
    turns.acquire()
    turns.acquire()  # the holder again (a handler triggered inside a run): no deadlock
    threads = []
    for n in range(5):
        def take(n: int = n) -> None:
            with turns.turn():
                ran.append(n)
        thread = threading.Thread(target=take)
        thread.start()
        threads.append(thread)
        _wait_until(lambda n=n: turns.waiting == n + 1)
    turns.release()
    assert ran == []  # still held once
    turns.release()
    for thread in threads:
        thread.join()
    assert ran == [0, 1, 2, 3, 4]
    with pytest.raises(RuntimeError):
        turns.release()


@pytest.mark.parametrize("setting", [{"max_queued": 0}, {"retry_after_seconds": "soon"}])
def test_bad_queue_settings_are_one_config_error(setting) -> None:
    with pytest.raises(ConfigError, match="serve"):
        Runtime({"serve": setting})


def test_a_fixtures_device_write_waits_for_the_turn_too(solution: Path) -> None:
    # Device2's data_in takes the turn itself: the fixtures' and the console's writes, documented as device
    # writes, are stored and handled in one turn as the device APIs' are.
    (solution / "services").mkdir()
    (solution / "services" / "devices.lua").write_text(HANDLER)
    with Runtime({}) as runtime:
        server = serve_solution(solution, runtime)
        try:
            devices = runtime.platform.control("device2").fixture()
            devices.provision("d2")
            turns = server.app.vm.turns
            writing = threading.Thread(target=devices.data_in, args=("d2",), kwargs={"temp": "22"})
            turns.acquire()  # an execution is running
            try:
                writing.start()
                _wait_until(lambda: turns.waiting == 1)
                state = runtime.run("return Device2.getIdentityState{identity = 'd2'}").response.message
                assert state == {}, state  # waiting for the turn, not yet stored
            finally:
                turns.release()
            writing.join(60)
            assert runtime.run("return Keystore.get{key = 'seen:d2'}").response.message == {"value": "22"}
        finally:
            server.shutdown()
