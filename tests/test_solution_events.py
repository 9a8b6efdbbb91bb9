"""Services' events reach a served solution's handlers: timers, devices, Config, and the fallback."""

from __future__ import annotations

from pathlib import Path

import requests

from murano_sim.services.device2.device_api import serve_devices

SOLUTION = Path(__file__).parent / "solutions" / "events"


def test_a_timer_armed_by_an_endpoint_fires_its_handler_when_the_clock_reaches_it(murano_solution):
    served = murano_solution(SOLUTION)
    armed = served.post("/remind", json={"text": "water the plants"}).json()
    assert armed["timer_id"] == "reminder"
    served.advance(4)
    assert served.get("/value/reminded").json() == {}  # not yet due
    started = served.runtime.clock.now().timestamp()
    served.advance(2)
    due = int(started) + 1  # fired when the clock stood at the timer's due time, not after
    assert served.get("/value/reminded").json() == {"value": f"water the plants @{due}"}


def test_a_device_writing_over_the_device_api_reaches_the_data_in_handler(murano_solution):
    served = murano_solution(SOLUTION)
    assert served.post("/devices/sensor-1").json()["status"] == 204
    with serve_devices(served.runtime.platform, "127.0.0.1", 0) as api:
        token = requests.post(f"{api.url}/provision/activate", data={"id": "sensor-1"}, timeout=10).text
        wrote = requests.post(f"{api.url}/onep:v1/stack/alias", data={"temperature": "21.5"},
                              headers={"X-Exosite-CIK": token}, timeout=10)
        assert wrote.status_code in (200, 204), wrote.text
    assert served.get("/value/sensor-1.temperature").json() == {"value": "21.5"}


def test_set_parameters_fires_the_config_service_event(murano_solution):
    served = murano_solution(SOLUTION)
    served.post("/configure", json={"note": "x"})
    assert served.get("/value/changed").json()["value"].startswith("keystore ")


def test_an_event_with_no_handler_goes_to_config_fallback_with_its_origin_in_context(murano_solution):
    served = murano_solution(SOLUTION)
    served.runtime.platform.emit("tsdb", "exportJob", {"job_id": "j1"})
    assert served.get("/value/unhandled").json() == {"value": "tsdb exportJob"}


def test_a_served_solution_reads_its_own_config_yaml_as_murano_sim_serve_does(murano_solution, tmp_path):
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "env.lua").write_text("--#ENDPOINT GET /env\nreturn os.getenv('GREETING')\n")
    (tmp_path / "config.yaml").write_text("env:\n  GREETING: from the solution's own config\n")
    assert murano_solution(tmp_path).get("/env").text == "from the solution's own config"
