"""Exosite's own device client, `gdc mqtt` (pip murano-client, on paho-mqtt), against `murano-sim serve`'s
MQTT port over TLS verified with murano-sim's local CA (`gdc -E ca.pem`): activate, publish, subscribe.

Each gdc command is one subprocess, as a developer types it; the solution's handlers are real Lua.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from test_device_gdc import GDC, HANDLER
from test_solution_cli import Serving

pytestmark = pytest.mark.skipif(GDC is None, reason="murano-client (gdc) is not installed (Python <= 3.11)")

CONNECT = """--#EVENT device2 connect
Keystore.set{key = "connected", value = event.identity}
"""
ENDPOINTS = """--#ENDPOINT GET /seen
return Keystore.get{key = "data_in"}.value or "none"

--#ENDPOINT GET /connected
return Keystore.get{key = "connected"}.value or "none"

--#ENDPOINT POST /config/{identity}
return Device2.setIdentityState{identity = request.parameters.identity, config_io = request.body.config_io}
"""


class Served:
    def __init__(self, api: str, devices: str, mqtt: str, ca: Path) -> None:
        self.api, self.devices, self.ca = api, devices, ca
        parts = urlsplit(mqtt)
        assert parts.scheme == "mqtts" and parts.port, mqtt
        # murano-client takes the host as a URL without a port (it connects to its netloc) and the port apart
        self.host, self.port = f"mqtts://{parts.hostname}", str(parts.port)

    def gdc(self, *args: str, token: str | None = None, identity: str | None = None) -> list[str]:
        return [GDC, "-H", self.host, "-P", self.port, "-E", str(self.ca),  # type: ignore[list-item]
                *(["-k", token] if token else []), *(["-u", identity] if identity else []), "mqtt", *args]

    def run(self, *args: str, token: str | None = None, identity: str | None = None) -> str:
        done = subprocess.run(self.gdc(*args, token=token, identity=identity), capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done.stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("gdc-mqtt-solution")
    (root / "murano.yaml").write_text("formatversion: 1.0.0\n")
    (root / "endpoints").mkdir()
    (root / "endpoints" / "api.lua").write_text(ENDPOINTS)
    (root / "services").mkdir()
    (root / "services" / "device2_data_in.lua").write_text(HANDLER)
    (root / "services" / "device2_connect.lua").write_text(CONNECT)
    (root / "services" / "device2.yaml").write_text("resources:\n  config_io: {format: string, settable: true}\n")
    data = tmp_path_factory.mktemp("gdc-mqtt-data")  # the local CA is made here, not in the user's home
    before = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(data)
    try:
        serving = Serving(str(root))
    finally:
        if before is None:
            del os.environ["XDG_DATA_HOME"]
        else:
            os.environ["XDG_DATA_HOME"] = before
    try:
        assert serving.mqtt_line.startswith("mqtt: mqtts://127.0.0.1:"), serving.mqtt_line
        yield Served(serving.first_line.split()[-1], serving.devices_line.removeprefix("devices: "),
                     serving.mqtt_line.removeprefix("mqtt: "), data / "murano-sim" / "ca" / "ca.pem")
    finally:
        code, _, err = serving.stop()
        assert code == 0 and "Traceback" not in err


def identity_of(request) -> str:
    return "mqtt-" + request.node.name[:35]


@pytest.fixture
def token(served, request) -> str:
    """`gdc mqtt activate` for a device named for the test: the token it prints."""
    cik = served.run("activate", identity=identity_of(request))
    assert len(cik) == 40 and int(cik, 16) >= 0, cik
    return cik


def seen(served: Served) -> str:
    return requests.get(served.api + "/seen", timeout=10).text


def test_activate_prints_a_token_that_the_http_device_api_accepts_too(served, token):
    written = requests.post(served.devices + "/onep:v1/stack/alias", data={"via_http": "1"},
                            headers={"X-Exosite-CIK": token}, timeout=10)
    assert written.status_code == 204, written.text


def test_publish_runs_the_solutions_data_in_handler(served, token):
    assert served.run("publish", "$resource/data_in", '{"t": 21.5}', token=token) == ""
    assert 'data_in={"t": 21.5}@' in seen(served)


def test_publish_at_qos_0(served, token):
    served.run("publish", "$resource/qos0", "zero", "-Q", "0", token=token)
    deadline = time.monotonic() + 30  # QoS 0 has no PUBACK: gdc may exit before the handler ran
    while "qos0=zero@" not in seen(served) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "qos0=zero@" in seen(served)


def test_batch_with_murano_clients_microsecond_timestamps_is_a_record(served, token):
    # what murano-client's MQTTTellThread sends: [{"timestamp": int(time.time() * 1e6), "values": {...}}]
    batch = ('[{"timestamp": 1600000000000000, "values": {"level": 7}},'
             ' {"timestamp": 1600000001500000, "values": {"level": 8}}]')
    served.run("publish", "$resource.batch", batch, token=token)
    assert "level=7@1600000000;level=8@1600000001;" in seen(served)


def test_batch_with_seconds_as_gdc_publish_help_shows(served, token):
    served.run("publish", "$resource.batch", '[{"timestamp": 1526046488, "values": {"test": "some test data"}}]',
               token=token)
    assert "test=some test data@1526046488;" in seen(served)


def test_subscribe_prints_what_the_solution_sets(served, token, request):
    subscriber = subprocess.Popen(served.gdc("subscribe", "--disconnect-after", "20", token=token),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30  # until the solution's connect handler saw this device
        while requests.get(served.api + "/connected", timeout=10).text != identity_of(request):
            assert time.monotonic() < deadline and subscriber.poll() is None, "gdc mqtt subscribe did not connect"
            time.sleep(0.1)
        set_state = requests.post(served.api + f"/config/{identity_of(request)}", json={"config_io": "interval=5"},
                                  timeout=10)
        assert set_state.status_code == 200, set_state.text
        assert subscriber.stdout is not None
        line = subscriber.stdout.readline().strip()  # gdc prints "<alias>.<timestamp>=<value>" per message
    finally:
        subscriber.kill()
        subscriber.communicate(timeout=30)
    alias_at, _, value = line.partition("=")
    alias, _, at = alias_at.partition(".")
    assert (alias, value) == ("config_io", "interval=5"), line
    # the timestamp is µs on the solution's clock, the device API's /timestamp in seconds
    now = int(requests.get(served.devices + "/timestamp", timeout=10).text)
    assert abs(int(at) // 1_000_000 - now) <= 60, line


def test_a_wrong_token_is_refused_and_nothing_is_written(served):
    done = subprocess.run(served.gdc("publish", "$resource/data_in", "nope", "--disconnect-after", "5",
                                     token="0" * 40), capture_output=True, text=True, timeout=60)
    # CONNACK 4 (bad credentials): gdc stops its loop, and its publish fails (paho's own error, in gdc)
    assert done.returncode != 0 and "not currently connected" in done.stderr, done.stderr
    assert "data_in=nope" not in seen(served)


def test_activate_again_gets_no_token_and_the_first_token_still_works(served, token, request):
    """As against Murano: no second token over MQTT (HTTP answers 409). murano-client only waits for
    a token, so it gives up at --disconnect-after and prints None; the device keeps its first token."""
    done = subprocess.run(served.gdc("activate", "--disconnect-after", "3", identity=identity_of(request)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.strip() == "None"
    assert served.run("publish", "$resource/data_in", '{"again": 1}', token=token) == ""
    assert 'data_in={"again": 1}@' in seen(served)
