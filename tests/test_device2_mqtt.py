"""The MQTT device API with paho-mqtt as a real device, over TLS verified against the local CA."""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import requests

from murano_sim import Runtime
from murano_sim.net.local_ca import LocalCA
from murano_sim.services.device2.device_api import serve_devices
from murano_sim.services.device2.mqtt_api import MAX_INFLIGHT, serve_mqtt
from murano_sim.state.clock import ManualClock

RESOURCES = {"temperature": {"format": "number"}, "led": {"format": "boolean", "settable": True}}
OK, BAD_CREDENTIALS = "Success", "Bad user name or password"  # CONNACK 0 and 4 (MQTT 3.1.1)
WAIT = 30  # seconds: only so that a broken server cannot hang the suite


class Device:
    """A paho-mqtt client as firmware uses it: TLS against the CA, token as password."""

    def __init__(self, port: int, ca: Path | None, token: str | None = None, username: str = "", *,
                 client_id: str = "", clean: bool = True, manual_ack: bool = False) -> None:
        self.messages: queue.Queue[tuple[str, str]] = queue.Queue()
        self.received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()  # the same messages, with mid and dup
        self.connacks: queue.Queue[str] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                                  clean_session=clean, manual_ack=manual_ack)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        if token is not None:
            self.client.username_pw_set(username, token)
        self.client.on_message = lambda c, u, m: (self.messages.put((m.topic, m.payload.decode())),
                                                  self.received.put(m))
        # paho names CONNACK's return code
        self.client.on_connect = lambda c, u, f, rc, p: self.connacks.put(rc.getName())
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def connack(self) -> str:
        return self.connacks.get(timeout=WAIT)

    def publish(self, topic: str, payload: str, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos).wait_for_publish(timeout=WAIT)

    def message(self) -> tuple[str, str]:
        return self.messages.get(timeout=WAIT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[Runtime, int, Path]]:
    config = {"serve": {"mqtt_ca_dir": str(tmp_path / "ca")}}
    with Runtime(config, clock=ManualClock(), solution_configs={"device2": {"resources": RESOURCES}}) as runtime, \
            serve_mqtt(runtime.platform) as server:
        assert server.url.startswith("mqtts://127.0.0.1:")
        yield runtime, int(server.url.rsplit(":", 1)[1]), LocalCA(tmp_path / "ca").ca_path


def provision(port: int, ca: Path, identity: str) -> str:
    device = Device(port, ca)
    assert device.connack() == OK
    device.publish(f"$provision/{identity}", "")
    topic, token = device.message()
    device.close()
    assert topic == f"$provision/{identity}"
    return token


def events(runtime: Runtime) -> list[dict]:
    return [e["payload"] for e in runtime.platform.events if e["service"] == "device2"]


def test_provision_write_and_receive_a_set_value_over_tls(served):
    runtime, port, ca = served
    token = provision(port, ca, "mq-1")
    assert len(token) == 40
    device = Device(port, ca, token)
    assert device.connack() == OK
    device.publish("$resource/temperature", "21.5")
    device.publish("$resource.batch", '[{"values": {"temperature": 22}}]', qos=0)
    device.publish("$resource/temperature", "23")  # QoS 1 after QoS 0: both arrived once this is acknowledged
    state = runtime.run("return Device2.getIdentityState{identity = 'mq-1'}").response.message
    assert state["temperature"]["reported"] == 23
    runtime.run("return Device2.setIdentityState{identity = 'mq-1', led = true}")
    topic, value = device.message()
    assert topic.startswith("$resource/led/") and int(topic.rsplit("/", 1)[1]) > 0 and value == "true"
    device.close()
    guard = time.monotonic() + WAIT  # the server sees the DISCONNECT after paho returns
    while "disconnect" not in (kinds := [e["type"] for e in events(runtime)]) and time.monotonic() < guard:
        time.sleep(0.01)
    assert kinds == ["provisioned", "connect", "data_in", "data_in", "data_in", "data_out", "disconnect"]
    data_in = events(runtime)[2]
    assert data_in["identity"] == "mq-1" and data_in["payload"][0]["values"] == {"temperature": 21.5}


def test_a_wrong_token_gets_bad_credentials_and_the_identity_is_accepted_as_username(served):
    runtime, port, ca = served
    token = provision(port, ca, "mq-2")
    wrong = Device(port, ca, "0" * 40)
    assert wrong.connack() == BAD_CREDENTIALS
    wrong.close()
    other = Device(port, ca, token, username="someone-else")
    assert other.connack() == BAD_CREDENTIALS
    other.close()
    named = Device(port, ca, token, username="mq-2")
    assert named.connack() == OK
    named.close()


def test_a_device_cannot_publish_outside_its_own_resources(served):
    runtime, port, ca = served
    token = provision(port, ca, "mq-3")
    device = Device(port, ca, token)
    assert device.connack() == OK
    device.client.publish("$resource/other-device/temperature", "1", qos=1)
    with pytest.raises(queue.Empty):  # nothing comes back on a closed connection
        device.messages.get(timeout=1)
    assert not any(e["type"] == "data_in" for e in events(runtime))
    device.close()


def test_garbage_is_disconnected_and_the_server_keeps_serving(served, caplog):
    runtime, port, ca = served
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"\xf0\x00GET / HTTP/1.1\r\n\r\n")
        assert tls.recv(10) == b""  # closed by the server
    assert any("disconnected" in r.getMessage() for r in caplog.records)
    assert provision(port, ca, "mq-4")


def test_plain_tcp_by_setting(tmp_path):
    with Runtime({"serve": {"mqtt_tls": False}}, clock=ManualClock()) as runtime, \
            serve_mqtt(runtime.platform) as server:
        assert server.url.startswith("mqtt://") and server.note is None
        device = Device(int(server.url.rsplit(":", 1)[1]), None)
        assert device.connack() == OK
        device.publish("$provision/plain-1", "")
        assert device.message()[0] == "$provision/plain-1"
        device.close()


def set_led(runtime: Runtime, identity: str, value: bool) -> None:
    runtime.run(f"return Device2.setIdentityState{{identity = '{identity}', led = {str(value).lower()}}}")


def test_set_values_go_at_qos_1_and_are_resent_on_reconnect_until_acknowledged(served):
    runtime, port, ca = served
    token = provision(port, ca, "mq-q1")
    device = Device(port, ca, token, manual_ack=True)  # clean session 1 and client id "", as murano-client
    assert device.connack() == OK
    set_led(runtime, "mq-q1", True)
    first = device.received.get(timeout=WAIT)
    assert first.qos == 1 and not first.dup and first.payload == b"true"
    device.close()  # without the PUBACK: the server keeps the delivery for the next connection
    again = Device(port, ca, token, manual_ack=True)  # Murano ignores Clean Session: the session is the identity's
    assert again.connack() == OK
    resent = again.received.get(timeout=WAIT)
    assert (resent.topic, resent.payload, resent.dup) == (first.topic, b"true", True)
    again.client.ack(resent.mid, resent.qos)
    again.close()
    clean = Device(port, ca, token, client_id="mq-q1", clean=False)
    assert clean.connack() == OK
    set_led(runtime, "mq-q1", False)  # the acknowledged value is not sent again: the next message is the new one
    assert clean.message()[1] == "false"
    clean.close()


def test_an_unacknowledged_delivery_is_resent_after_the_timeout(tmp_path):
    config = {"serve": {"mqtt_ca_dir": str(tmp_path / "ca"), "mqtt_resend_seconds": 0.2}}
    with Runtime(config, clock=ManualClock(), solution_configs={"device2": {"resources": RESOURCES}}) as runtime, \
            serve_mqtt(runtime.platform) as server:
        port, ca = int(server.url.rsplit(":", 1)[1]), LocalCA(tmp_path / "ca").ca_path
        device = Device(port, ca, provision(port, ca, "mq-t"), manual_ack=True)
        assert device.connack() == OK
        set_led(runtime, "mq-t", True)
        first = device.received.get(timeout=WAIT)
        resent = device.received.get(timeout=WAIT)
        assert (resent.mid, resent.dup, first.dup) == (first.mid, True, False)
        device.close()


def test_in_flight_deliveries_are_capped_per_connection(served):
    runtime, port, ca = served
    device = Device(port, ca, provision(port, ca, "mq-cap"), manual_ack=True)
    assert device.connack() == OK
    for n in range(MAX_INFLIGHT + 2):
        set_led(runtime, "mq-cap", n % 2 == 0)
    got = [device.received.get(timeout=WAIT) for _ in range(MAX_INFLIGHT)]
    with pytest.raises(queue.Empty):  # the rest wait for an acknowledgement
        device.received.get(timeout=1)
    device.client.ack(got[0].mid, 1)
    assert device.received.get(timeout=WAIT).payload == b"true"  # the 17th (n = 16)
    device.close()


def test_the_control_shows_which_devices_are_connected_and_over_which_protocol(served):
    runtime, port, ca = served
    control = runtime.platform.control("device2")
    device = Device(port, ca, provision(port, ca, "mq-on"))
    assert device.connack() == OK
    device.publish("$resource/temperature", "1")  # acknowledged after CONNACK: the connect is recorded
    [shown] = control.inspect()["devices"]
    assert (shown["identity"], shown["connected"], shown["online"]) == ("mq-on", ["mqtt"], True)
    device.close()
    guard = time.monotonic() + WAIT
    while control.inspect()["devices"][0]["connected"] and time.monotonic() < guard:
        time.sleep(0.01)
    assert control.inspect()["devices"][0]["connected"] == []


def test_a_long_polling_http_device_shows_as_connected_over_http(tmp_path):
    with Runtime({}, clock=ManualClock(), solution_configs={"device2": {"resources": RESOURCES}}) as runtime, \
            serve_devices(runtime.platform) as server:
        control = runtime.platform.control("device2")
        token = requests.post(f"{server.url}/provision/activate", data={"id": "poller"}, timeout=WAIT).text
        answers: list[int] = []
        poll = threading.Thread(target=lambda: answers.append(requests.get(
            f"{server.url}/onep:v1/stack/alias?led", headers={"X-Exosite-CIK": token, "Request-Timeout": "60000"},
            timeout=WAIT * 3).status_code))
        poll.start()
        guard = time.monotonic() + WAIT
        while control.inspect()["devices"][0]["connected"] != ["http"] and time.monotonic() < guard:
            time.sleep(0.01)
        assert control.inspect()["devices"][0]["connected"] == ["http"]
        set_led(runtime, "poller", True)  # answers the long poll
        poll.join(WAIT * 3)
        assert answers == [200] and control.inspect()["devices"][0]["connected"] == []


def test_a_reset_closes_the_device_connections_and_the_old_token_is_refused(served):
    runtime, port, ca = served
    token = provision(port, ca, "mq-1")
    device = Device(port, ca, token)
    assert device.connack() == OK
    dropped: queue.Queue[bool] = queue.Queue()
    device.client.on_disconnect = lambda *args: dropped.put(True)
    runtime.reset()  # the identity is gone: its connection must not go on writing to nothing
    assert dropped.get(timeout=WAIT)
    device.close()
    again = Device(port, ca, token)
    assert again.connack() == BAD_CREDENTIALS
    again.close()


def test_a_write_waits_for_the_solutions_turn_before_it_is_stored(tmp_path):
    # As over HTTP (test_serve_queue.py): the store and its data_in handler are one turn of the solution,
    # so a running execution never sees a device's value land without its handler's work.
    from murano_sim.solution import serve_solution

    folder = tmp_path / "solution"
    (folder / "services").mkdir(parents=True)
    (folder / "services" / "devices.lua").write_text('--#EVENT device2 data_in\n'
                                                     'Keystore.set{key = "seen:" .. event.identity, '
                                                     'value = event.payload[1].values.temp}\n')
    with Runtime({"serve": {"mqtt_ca_dir": str(tmp_path / "ca")}}) as runtime:
        solution = serve_solution(folder, runtime)
        try:
            with serve_mqtt(runtime.platform) as server:
                port, ca = int(server.url.rsplit(":", 1)[1]), LocalCA(tmp_path / "ca").ca_path
                device = Device(port, ca, provision(port, ca, "mq-t"))
                assert device.connack() == OK
                turns = solution.app.vm.turns
                writing = threading.Thread(target=device.publish, args=("$resource/temp", "21"))
                turns.acquire()  # an execution is running
                try:
                    writing.start()
                    guard = time.monotonic() + WAIT
                    while turns.waiting != 1:
                        assert time.monotonic() < guard, "the write never waited for the turn"
                        time.sleep(0.01)
                    state = runtime.run("return Device2.getIdentityState{identity = 'mq-t'}").response.message
                    assert state == {}, state  # waiting for the turn, not yet stored
                finally:
                    turns.release()
                writing.join(WAIT)  # QoS 1: PUBACK once stored and handled
                state = runtime.run("return Device2.getIdentityState{identity = 'mq-t'}").response.message
                assert state["temp"]["reported"] == "21", state
                assert runtime.run("return Keystore.get{key = 'seen:mq-t'}").response.message == {"value": "21"}
                device.close()
        finally:
            solution.shutdown()
