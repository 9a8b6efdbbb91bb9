"""The temperature flow with fixtures: the solution served whole (`murano_solution`), a device
acting on it (`.devices`), the clock moved to the daily summary, and the handlers' data checked."""

from __future__ import annotations

from pathlib import Path

import pytest

SOLUTION = Path(__file__).resolve().parent.parent
ONCALL = "+15557654321"


@pytest.fixture
def app(murano_solution):
    app = murano_solution(SOLUTION)
    # The test clock starts at the real time; these tests move it by minutes, so near midnight they
    # start just after tonight's daily summary instead of across it, and count only what they send.
    now = app.runtime.clock.now()
    to_midnight = 86400 - (now.hour * 3600 + now.minute * 60 + now.second)
    if to_midnight <= 600:
        app.advance(to_midnight + 1)
    app.texts_before = len(app.runtime.emulator.messages())
    app.alerts_before = app.get("/alerts").json()["count"]
    return app


@pytest.fixture
def sensor(app):
    app.devices.provision("sensor-1")
    return app.devices


def texts(app):
    return [m["body"] for m in app.runtime.emulator.messages()[app.texts_before:] if m["to"] == ONCALL]


def test_readings_are_kept_and_served(app, sensor):
    for celsius in (20.5, 21.5):
        sensor.data_in("sensor-1", temperature=celsius)
        app.advance(60)  # a minute apart (one Tsdb point per metric, tags and time)
    assert app.get("/devices/sensor-1/temperature").json() == {"identity": "sensor-1", "celsius": 21.5}
    history = app.get("/devices/sensor-1/history").json()
    assert [r["celsius"] for r in history["readings"]] == [20.5, 21.5]
    assert texts(app) == []  # nothing above 30 C


def test_a_hot_reading_texts_oncall_once(app, sensor):
    sensor.data_in("sensor-1", temperature=31)
    sensor.data_in("sensor-1", temperature=29)
    assert texts(app) == ["CRIT sensor-1: 31.0 C, above 30 C"]
    assert app.get("/alerts").json()["count"] == app.alerts_before + 1  # the existing alert list shows it too


@pytest.mark.murano(env={"TEMP_ALERT_ABOVE": "40"})
def test_the_threshold_is_configurable(app, sensor):
    sensor.data_in("sensor-1", temperature=35)
    assert texts(app) == []


def test_the_daily_summary_fires_at_midnight(app, sensor):
    sensor.data_in("sensor-1", temperature=20)
    app.advance(60)
    sensor.data_in("sensor-1", temperature=24)
    app.advance(86400)  # a midnight falls in any 24 hours: the daily schedule fires once
    summary = "Daily summary: 2 readings, min 20.0, avg 22.0, max 24.0 C"
    assert texts(app) == [summary]
    assert app.keystore["summary:last"] == summary
