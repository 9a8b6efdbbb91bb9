"""The MQTT sensor script (devices/mqtt_sensor.py, paho-mqtt) against the served solution: the same
data_in handler as an HTTP device's writes keeps its readings and texts on-call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SOLUTION = Path(__file__).resolve().parent.parent
SENSOR = SOLUTION / "devices" / "mqtt_sensor.py"
ONCALL = "+15557654321"


@pytest.fixture
def app(murano_solution, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # the local CA is made here, not in the home folder
    return murano_solution(SOLUTION)


def test_an_mqtt_sensor_and_an_http_sensor_reach_the_same_handler(app):
    port = app.devices.mqtt_port()  # the MQTT device API, as `murano-sim serve` opens it
    done = subprocess.run([sys.executable, str(SENSOR), port.url, str(port.ca_path), "sensor-mqtt", "20.5", "31"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    app.devices.provision("sensor-http")
    app.devices.data_in("sensor-http", temperature=21)
    assert app.get("/devices/sensor-mqtt/temperature").json() == {"identity": "sensor-mqtt", "celsius": 31}
    assert app.get("/devices/sensor-http/temperature").json() == {"identity": "sensor-http", "celsius": 21}
    texts = [m["body"] for m in app.runtime.emulator.messages() if m["to"] == ONCALL]
    assert texts == ["CRIT sensor-mqtt: 31.0 C, above 30 C"]
