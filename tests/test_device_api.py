"""The device HTTP API on loopback, driven by a device simulator that speaks it with requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.test import Client

from murano_sim import Runtime
from murano_sim.services.device2.device_api import make_device_app, serve_devices
from murano_sim.state.clock import ManualClock

RESOURCES = {
    "temperature": {"format": "number"},
    "config_io": {"format": "string", "settable": True},
    "led": {"format": "boolean", "settable": True, "initial": False},
}
HANG_GUARD = 30  # seconds: only so that a broken long poll cannot hang the suite


class Simulator:
    """A device as firmware would be: provisions itself, keeps its token, writes and reads."""

    def __init__(self, url: str, identity: str) -> None:
        self.url, self.identity, self.token = url, identity, None
        self.session = requests.Session()

    def provision(self) -> requests.Response:
        response = self.session.post(f"{self.url}/provision/activate", data={"id": self.identity},
                                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        if response.status_code == 200:
            self.token = response.text
        return response

    def write(self, **values) -> requests.Response:
        return self.session.post(f"{self.url}/onep:v1/stack/alias", data=values,
                                 headers={"X-Exosite-CIK": self.token or ""})

    def read(self, *aliases: str, **headers: str) -> requests.Response:
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        return self.session.get(f"{self.url}/onep:v1/stack/alias?" + "&".join(aliases),
                                headers={"X-Exosite-CIK": self.token or "", **headers}, timeout=HANG_GUARD)


@pytest.fixture
def served(request) -> Iterator[tuple[Runtime, str]]:
    settings = {"resources": RESOURCES, **getattr(request, "param", {})}
    with Runtime({}, clock=ManualClock(), solution_configs={"device2": settings}) as runtime, \
            serve_devices(runtime.platform) as server:
        assert server.url.startswith("http://127.0.0.1:")
        yield runtime, server.url


def device_events(runtime: Runtime) -> list[dict]:
    return [e["payload"] for e in runtime.platform.events if e["service"] == "device2"]


def test_a_simulator_provisions_writes_and_reads_back_set_values(served):
    runtime, url = served
    device = Simulator(url, "sim-001")
    response = device.provision()
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    assert len(device.token) == 40 and device.token not in repr(runtime.run(
        "return Device2.getIdentity{identity = 'sim-001'}").response.message)
    assert device.write(temperature="21.5", config_io='{"channels":{}}').status_code == 204
    state = runtime.run("return Device2.getIdentityState{identity = 'sim-001'}").response.message
    assert state["temperature"]["reported"] == 21.5 and state["config_io"]["reported"] == '{"channels":{}}'
    assert runtime.run("return Device2.setIdentityState{identity = 'sim-001', led = true}").response.message[
        "status"] == 204
    read = device.read("led", "temperature", "unknown")
    assert read.status_code == 200 and read.text == "led=true&temperature=21.5"
    assert read.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert device.read("unknown").status_code == 204
    provisioned, data_in, data_out = device_events(runtime)
    assert provisioned["type"] == "provisioned" and provisioned["ip"] == "127.0.0.1" and provisioned["payload"] is None
    assert data_in["type"] == "data_in" and data_in["identity"] == "sim-001" and data_in["ip"] == "127.0.0.1"
    assert data_in["payload"] == [{"timestamp": data_in["timestamp"],
                                   "values": {"temperature": 21.5, "config_io": '{"channels":{}}'}}]
    assert data_out["payload"][0]["values"] == {"led": True}


def test_a_combined_post_writes_then_reads(served):
    runtime, url = served
    device = Simulator(url, "sim-2")
    device.provision()
    response = device.session.post(f"{url}/onep:v1/stack/alias?led&temperature", data={"temperature": "7"},
                                   headers={"X-Exosite-CIK": device.token})
    assert response.status_code == 200 and response.text == "led=false&temperature=7"


def test_wrong_or_missing_tokens_are_refused_and_locked_devices_too(served):
    runtime, url = served
    device = Simulator(url, "sim-3")
    device.provision()
    intruder = Simulator(url, "sim-3")
    assert intruder.write(temperature="1").status_code == 401
    intruder.token = "0" * 40
    assert intruder.write(temperature="1").status_code == 401
    assert intruder.read("led").status_code == 401
    runtime.run("Device2.updateIdentity{identity = 'sim-3', locked = true}")
    assert device.write(temperature="1").status_code == 403
    assert [e["type"] for e in device_events(runtime)] == ["provisioned"]  # nothing refused reached the solution


def test_provisioning_twice_conflicts_until_reprovision_is_allowed(served):
    runtime, url = served
    device = Simulator(url, "sim-4")
    first = device.provision().text
    assert device.provision().status_code == 409
    runtime.run("Device2.updateIdentity{identity = 'sim-4', reprovision = true}")
    assert device.provision().status_code == 200 and device.token != first
    old = Simulator(url, "sim-4")
    old.token = first
    assert old.write(temperature="1").status_code == 401


def test_a_bad_value_is_a_400_with_one_line(served):
    runtime, url = served
    device = Simulator(url, "sim-5")
    device.provision()
    response = device.write(temperature="warm")
    assert response.status_code == 400 and response.text == "temperature: must be a number, got 'warm'\n"


@pytest.mark.parametrize("served", [{"provisioning": {"generate_identity": False}}], indirect=True)
def test_without_self_registration_only_whitelisted_identities_provision(served):
    runtime, url = served
    assert Simulator(url, "stranger").provision().status_code == 404
    runtime.run("Device2.addIdentity{identity = 'known'}")
    assert Simulator(url, "known").provision().status_code == 200


@pytest.mark.parametrize("served", [{"identity_format": {"type": "mac:colon"}}], indirect=True)
def test_identities_must_match_the_identity_format(served):
    runtime, url = served
    assert Simulator(url, "not-a-mac").provision().status_code == 400
    assert Simulator(url, "00:14:22:01:23:45").provision().status_code == 200


ELSEWHERE_ONLY = {"provisioning": {"ip_whitelisting": {"enabled": True, "allowed": ["10.0.0.0/8"]}}}


@pytest.mark.parametrize("served", [ELSEWHERE_ONLY], indirect=True)
def test_ip_whitelisting_restricts_provisioning(served):
    runtime, url = served
    response = Simulator(url, "sim-6").provision()
    assert response.status_code == 403 and "ip_whitelisting" in response.text


def test_long_poll_times_out_with_304(served):
    runtime, url = served
    device = Simulator(url, "sim-7")
    device.provision()
    assert device.read("led", Request_Timeout="100").status_code == 304
    assert device.read("led", "config_io", Request_Timeout="100").status_code == 400
    assert device.read("led", Request_Timeout="300001").status_code == 400


def test_long_poll_returns_when_the_solution_sets_the_value(served):
    runtime, url = served
    device = Simulator(url, "sim-8")
    device.provision()
    now = str(int(runtime.platform.clock.now().timestamp()))
    with ThreadPoolExecutor(1) as pool:
        # If-Modified-Since makes the outcome independent of which comes first: the poll or the set
        polled = pool.submit(device.read, "config_io", Request_Timeout=str(HANG_GUARD * 1000), If_Modified_Since=now)
        runtime.advance(1)
        result = runtime.run("return Device2.setIdentityState{identity = 'sim-8', config_io = 'go'}")
        assert result.response.message["status"] == 204
        response = polled.result(HANG_GUARD)
    assert response.status_code == 200 and response.text == "config_io=go"
    state = runtime.run("return Device2.getIdentityState{identity = 'sim-8'}").response.message
    assert response.headers["Last-Modified"] == str(state["config_io"]["timestamp"] // 1_000_000)


def test_long_poll_without_if_modified_since_waits_for_a_new_write():
    with Runtime({}, clock=ManualClock(), solution_configs={"device2": {"resources": RESOURCES}}) as runtime:
        model = runtime.platform.by_alias["device2"].model
        model.activate("sim-10")
        runtime.run("Device2.setIdentityState{identity = 'sim-10', config_io = 'old'}")
        assert model.wait_set("sim-10", "config_io", 0.05) is None  # an older value does not answer the poll
        stop = threading.Event()

        def keep_writing() -> None:  # until the poll answers: a write lands after it starts, however late
            while not stop.wait(0.05):
                runtime.run("Device2.setIdentityState{identity = 'sim-10', config_io = 'old'}")

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            found = model.wait_set("sim-10", "config_io", HANG_GUARD)  # the same value written again counts
        finally:
            stop.set()
            writer.join()
        assert found is not None and found[0] == "old"


def test_if_modified_since_answers_at_once_for_a_value_set_later(served):
    runtime, url = served
    device = Simulator(url, "sim-9")
    device.provision()
    before = int(runtime.platform.clock.now().timestamp())
    runtime.advance(2)
    runtime.run("Device2.setIdentityState{identity = 'sim-9', config_io = 'v1'}")
    response = device.read("config_io", Request_Timeout=str(HANG_GUARD * 1000), If_Modified_Since=str(before))
    assert response.status_code == 200 and response.text == "config_io=v1"
    last = response.headers["Last-Modified"]
    assert device.read("config_io", Request_Timeout="100", If_Modified_Since=last).status_code == 304


def test_timestamp_is_the_solution_clock(served):
    runtime, url = served
    start = int(requests.get(f"{url}/timestamp").text)
    assert start == int(runtime.platform.clock.now().timestamp())
    runtime.advance(3600)
    assert int(requests.get(f"{url}/timestamp").text) == start + 3600


def test_only_loopback_clients_and_no_cross_site_requests():
    with Runtime({}, clock=ManualClock()) as runtime:
        client = Client(make_device_app(runtime.platform))
        remote = client.post("/provision/activate", data={"id": "x"}, environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert remote.status_code == 403 and "loopback" in remote.get_data(as_text=True)
        local = {"REMOTE_ADDR": "127.0.0.1"}
        cross = client.post("/provision/activate", data={"id": "x"}, headers={"Origin": "https://evil.example"},
                            environ_base=local)
        assert cross.status_code == 403
        assert client.post("/provision/activate", data={"id": "x"}, environ_base=local).status_code == 200
        assert client.get("/provision/activate", environ_base=local).status_code == 405
        assert client.get("/nothing", environ_base=local).status_code == 404
        assert runtime.run("return Device2.countIdentities()").response.message["total"] == 1


def test_the_one_platform_activation_form_uses_sn_as_the_identity(served):
    runtime, url = served
    response = requests.post(f"{url}/provision/activate", data={"vendor": "v", "model": "m", "sn": "12345678"})
    assert response.status_code == 200
    assert runtime.run("return Device2.getIdentity{identity = '12345678'}").response.message["status"] == "provisioned"


def test_writes_from_many_devices_at_once_all_arrive(served):
    runtime, url = served
    sims = [Simulator(url, f"fleet-{i}") for i in range(8)]
    for sim in sims:
        sim.provision()
    barrier = threading.Barrier(len(sims))

    def write(sim: Simulator) -> int:
        barrier.wait(HANG_GUARD)
        return sim.write(temperature=sim.identity[-1]).status_code

    with ThreadPoolExecutor(len(sims)) as pool:
        assert list(pool.map(write, sims)) == [204] * len(sims)
    listed = runtime.run("return Device2.listIdentities{identity = 'fleet'}").response.message["devices"]
    assert sorted(d["state"]["temperature"]["reported"] for d in listed) == list(range(8))
