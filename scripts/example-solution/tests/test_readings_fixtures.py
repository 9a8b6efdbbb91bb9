"""The temperature flow with fixtures: the solution served whole (`murano_solution`), a device
acting on it (`.devices`), the clock moved to the daily summary, and the handlers' data checked."""

from __future__ import annotations

from pathlib import Path

import pytest

SOLUTION = Path(__file__).resolve().parent.parent
ONCALL = "+15557654321"


@pytest.fixture
def app(murano_solution):
    return murano_solution(SOLUTION)


@pytest.fixture
def sensor(app):
    app.devices.provision("sensor-1")
    return app.devices


def texts(app):
    return [m["body"] for m in app.runtime.emulator.messages() if m["to"] == ONCALL]


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
    assert app.get("/alerts").json()["count"] == 1  # the existing alert list shows it too


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
