"""The solution served whole (the `murano_solution` fixture): an endpoint and a device's report."""

from pathlib import Path

import pytest

SOLUTION = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(murano_solution):
    return murano_solution(SOLUTION)


def test_hello_counts_visits(app):
    assert app.get("/hello/ada").json() == {"greeting": "Hello, ada!", "visits": 1}
    assert app.get("/hello/ada").json()["visits"] == 2


def test_a_report_is_kept(app):
    app.devices.provision("sensor-1")
    app.devices.data_in("sensor-1", temperature=21.5)
    assert app.keystore["last:sensor-1"] == '{"temperature":"21.5"}'  # device2 values arrive as strings
