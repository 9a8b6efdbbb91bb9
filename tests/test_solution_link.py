"""Two solutions served together: the application calls the product's Interface operations and
receives the events the product triggers (murano_solution(app, product=...) and `serve --product`)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from murano_sim.errors import ConfigError
from murano_sim.services.device2.device_api import serve_devices
from murano_sim.solution.link import default_alias, exposed_operations, parse_product
from murano_sim.solution.loader import load_solution

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
APP, PRODUCT = SOLUTIONS / "link-app", SOLUTIONS / "link-product"


@pytest.fixture
def app(murano_solution):
    return murano_solution(APP, product=PRODUCT, product_alias="sensors")


def _device_writes(device_url: str, identity: str, **values: str) -> None:
    token = requests.post(f"{device_url}/provision/activate", data={"id": identity}, timeout=10).text
    wrote = requests.post(f"{device_url}/onep:v1/stack/alias", data=values,
                          headers={"X-Exosite-CIK": token}, timeout=10)
    assert wrote.status_code in (200, 204), wrote.text


def test_the_application_calls_the_products_operation_with_its_own_solution_id_as_caller(app):
    app.product.devices.provision("sensor-1")
    app.product.devices.data_in("sensor-1", temperature="21.5")
    me = app.get("/me").text
    assert app.get("/reading/sensor-1").json() == {"identity": "sensor-1", "value": "21.5", "caller": me}
    calls = [r for r in app.logs if r["type"] == "service_call" and r["service_alias"] == "sensors"]
    assert [(c["function_call"], c["arguments"], c["status"]) for c in calls] == [
        ("getReading", {"identity": "sensor-1"}, 200)]


def test_a_device_write_to_the_product_reaches_the_applications_alias_event_handler(app):
    assert app.get("/heard").json() == {}  # nothing yet
    with serve_devices(app.product.runtime.platform, "127.0.0.1", 0) as api:
        _device_writes(api.url, "sensor-2", temperature="19")
    assert app.get("/heard").json() == {"value": "data_in sensor-2 19"}
    assert app.get("/reading/sensor-2").json()["value"] == "19"


def test_a_device_write_hands_its_event_to_the_application_only_after_the_products_turn(app):
    # The application's executions call into the product (taking its turn while holding their own), and
    # a device write takes the product's turn to store: it must forward its event after releasing it.
    application, product = app.app.vm.turns, app.product.app.vm.turns
    with serve_devices(app.product.runtime.platform, "127.0.0.1", 0) as api:
        token = requests.post(f"{api.url}/provision/activate", data={"id": "sensor-9"}, timeout=10).text
        answers: list[int] = []
        writer = threading.Thread(target=lambda: answers.append(requests.post(
            f"{api.url}/onep:v1/stack/alias", data={"temperature": "7"}, headers={"X-Exosite-CIK": token},
            timeout=30).status_code))
        application.acquire()  # an application execution is running
        try:
            writer.start()
            deadline = time.monotonic() + 30
            while application.waiting < 1:  # the write's event waits for the application
                assert time.monotonic() < deadline, "the write's event never reached the application"
                time.sleep(0.01)
            assert not product.held  # ... and the product's turn is free meanwhile
        finally:
            application.release()
        writer.join(30)
    assert answers == [204]
    assert app.get("/heard").json() == {"value": "data_in sensor-9 7"}

def test_an_event_triggered_inside_a_call_from_the_application_runs_after_that_call_ends(app):
    assert app.post("/announce/sensor-4").json() == {"answer": "announced", "heard_meanwhile": "nothing"}
    assert app.get("/heard").json() == {"value": "announce sensor-4 nil"}


def test_the_application_is_the_products_only_subscriber(app):
    listed = app.product.get("/subscribers").json()
    assert listed["items"] == [{"solution_id": app.get("/me").text, "alias": "sensors", "parameters": {}}]
    app.product.reset()  # a fresh state keeps the link
    assert app.product.get("/subscribers").json() == listed


def test_a_failing_product_operation_is_an_error_table_for_the_application(app):
    answer = app.get("/failing").json()
    assert answer["status"] == 500 and answer["type"] == "ServerError"
    assert "the sensor is unplugged" in answer["error"]


def test_exposed_operations_and_aliases():
    assert exposed_operations(load_solution(PRODUCT)) == ["announce", "failing", "getReading"]
    assert default_alias(PRODUCT) == "link_product"
    assert parse_product(f"{PRODUCT}:sensors") == (PRODUCT, "sensors")
    assert parse_product(str(PRODUCT)) == (PRODUCT, "link_product")
    with pytest.raises(ConfigError, match="'keystore'"):
        parse_product(f"{PRODUCT}:keystore")


def test_serve_with_a_product_prints_its_url_third_and_links_the_two():
    proc = subprocess.Popen(
        [sys.executable, "-m", "murano_sim.cli", "serve", str(APP), "--port", "0", "--product", f"{PRODUCT}:sensors"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    watchdog = threading.Timer(60, proc.kill)  # a hang guard only
    watchdog.start()
    try:
        assert proc.stdout is not None
        base, devices, product = (proc.stdout.readline().rstrip("\n") for _ in range(3))
        assert base.startswith("http://127.0.0.1:") and devices.startswith("devices: http://127.0.0.1:")
        assert product.startswith("product sensors: http://127.0.0.1:"), product
        _device_writes(devices.removeprefix("devices: "), "sensor-3", temperature="7")
        reading = requests.get(f"{base}/reading/sensor-3", timeout=10).json()
        assert reading["value"] == "7" and reading["caller"] == requests.get(f"{base}/me", timeout=10).text
        assert requests.get(f"{base}/heard", timeout=10).json() == {"value": "data_in sensor-3 7"}
        product_url = product.removeprefix("product sensors: ")
        assert requests.get(f"{product_url}/subscribers", timeout=10).json()["total"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        watchdog.cancel()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_an_application_written_with_the_product_id_placeholder_hears_the_linked_product(murano_solution, tmp_path):
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "services").mkdir()
    (tmp_path / "endpoints" / "heard.lua").write_text(
        "--#ENDPOINT GET /heard\nreturn Keystore.get{key = 'heard'}\n")
    (tmp_path / "services" / "product.lua").write_text(  # MuranoCLI's `--#EVENT {product.id} event`
        "--#EVENT {product.id} event\nKeystore.set{key = 'heard', value = event.type .. ' ' .. event.identity}\n")
    app = murano_solution(tmp_path, product=PRODUCT, product_alias="sensors")
    app.product.devices.provision("sensor-9")
    app.product.devices.data_in("sensor-9", temperature="20")
    assert app.get("/heard").json() == {"value": "data_in sensor-9"}
