"""Solutions shaped like Exosite's public ones (2016-2024), served over loopback HTTP and driven end to end.

Each folder under tests/solutions/real-* is our own code; its README names the public
repository whose layout, headers, module style and service calls it reproduces.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOLUTIONS = Path(__file__).resolve().parent / "solutions"
REAL = sorted(p.name for p in SOLUTIONS.glob("real-*"))


@pytest.mark.parametrize("name", REAL)
def test_check_accepts_the_solution(name: str) -> None:
    done = subprocess.run([sys.executable, "-m", "murano_sim.cli", "check", str(SOLUTIONS / name)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "errors: 0" in done.stdout


def test_doorlock_2016_users_locks_and_device_writes(murano_solution) -> None:
    lock = murano_solution(SOLUTIONS / "real-doorlock-2016")
    assert lock.get("/").text.count("door lock console") == 1
    assert lock.get("/install").json() == ["OK", "OK", "OK", 403]
    assert lock.get("/mine").status_code == 400  # no session cookie yet

    login = lock.post("/session", json={"email": "olga@example.com", "password": "olga-secret-1"})
    assert login.status_code == 200 and login.json()["email"] == "olga@example.com"
    sid = login.cookies["sid"]
    wrong = lock.post("/session", json={"email": "olga@example.com", "password": "nope"})
    assert wrong.status_code >= 400

    mine = lock.get("/mine", headers={"cookie": f"sid={sid}"}).json()
    assert mine == [{"role": "keyholder", "lock": "front", "state": {"label": "Front door"}}]

    # Device.write on the solution's product fires the datapoint handler, which fills the hash
    assert lock.post("/lock/front", json={"lock-command": "unlock"}).json()["status"] == 204
    listed = lock.get("/locks").json()
    assert [d["sn"] for d in listed] == ["front"]
    state = listed[0]["state"]
    assert state["lock-command"] == "unlock" and state["label"] == "Front door" and state["seen_at"]


def test_doorlock_2016_cors_origin_pattern(murano_solution) -> None:
    lock = murano_solution(SOLUTIONS / "real-doorlock-2016")
    ok = lock.request("OPTIONS", "/locks", headers={"Origin": "http://localhost:3000",
                                                     "Access-Control-Request-Method": "GET"})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    refused = lock.request("OPTIONS", "/locks", headers={"Origin": "http://evil.example",
                                                          "Access-Control-Request-Method": "GET"})
    assert refused.status_code == 403


def test_thermostat_2017_project_file_defaults_tsdb_and_device(murano_solution) -> None:
    thermo = murano_solution(SOLUTIONS / "real-thermostat-2017")
    assert "thermostat dashboard" in thermo.get("/").text
    assert thermo.get("/js/main.js").status_code == 200
    assert thermo.get("/device").text.strip() == "[]"  # the shadowing slice, empty

    posted = thermo.post("/device/t-1", json={"setpoint": 21, "heating": 1}).json()
    assert posted == {"device": {"status": 204, "status_code": 204}}
    assert thermo.get("/device").json() == [{"sn": "t-1", "setpoint": "21"}]  # Keystore keeps strings
    read = thermo.get("/device/t-1").json()
    assert read["columns"] == ["time", "heating", "setpoint"] or read["columns"] == ["time", "setpoint", "heating"]
    assert read["setpoint_column"] == read["columns"].index("setpoint") + 1
    assert read["knows_heating"] is True and read["rows"] == 3
    handled = [r for r in thermo.logs if r.get("type") == "script" and r.get("event") == "datapoint"]
    assert len(handled) == 1 and "setpoint" in str(handled[0]["script_output"])


def test_thermostat_2017_cors_origin_true_reflects_the_origin(murano_solution) -> None:
    thermo = murano_solution(SOLUTIONS / "real-thermostat-2017")
    answer = thermo.get("/device", headers={"Origin": "http://anywhere.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "http://anywhere.example"
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"


def test_insight_2022_modules_register_at_load_and_tsdb_holds_the_prior(murano_solution) -> None:
    insight = murano_solution(SOLUTIONS / "real-insight-2022")
    assert insight.get("/info").json()["name"] == "Demo insight"
    listed = insight.post("/insights", json={}).json()
    assert listed["count"] == 2
    smooth = next(i for i in listed["insights"] if i["id"] == "smooth")
    assert smooth["inlets"] == [] and smooth["constants"] == []  # slices stay arrays when empty
    assert insight.get("/insight/adder").json() == {"id": "adder", "name": "Adder"}

    call = {"id": "sig-1", "args": {"function_id": "smooth"}, "data": [{"value": 10}]}
    assert insight.post("/process", json=call).json() == [[{"value": 10}]]
    insight.advance(60)
    call["data"] = [{"value": 20}]
    assert insight.post("/process", json=call).json() == [[{"value": 15}]]  # averaged with Tsdb's prior
    adder = {"args": {"function_id": "adder", "constants": {"value": 5}}, "data": [{"value": 1}]}
    assert insight.post("/process", json=adder).json() == [[{"value": 6}]]
    assert insight.post("/process", json={"args": {"function_id": "adder"}, "data": []}).json() == [[]]


def test_product_2023_a_device_reports_over_http_and_interface_reads_it(murano_solution) -> None:
    import requests

    from murano_sim.platform.device_api import serve_devices

    product = murano_solution(SOLUTIONS / "real-product-2023")
    with serve_devices(product.runtime.platform) as devices, requests.Session() as device:
        device.trust_env = False
        token = device.post(f"{devices.url}/provision/activate", data={"id": "hub-7"}, timeout=30).text
        wrote = device.post(f"{devices.url}/onep:v1/stack/alias", headers={"X-Exosite-CIK": token}, timeout=30,
                            data={"fields": '["temp","hum"]', "states": '{"temp":20}'})
        assert wrote.status_code == 204

        handled = [r for r in product.logs if r.get("type") == "script" and r.get("service") == "device2"]
        assert [r["parameters"]["type"] for r in handled] == ["provisioned", "data_in", "data_out"]
        assert all(r["error"] is None for r in handled), handled
        # the handler wrote config_io back, derived from the reported fields
        state = product.call_interface("getIdentityState", {"identity": "hub-7"})
        channels = json.loads(state["config_io"]["set"])["channels"]
        assert sorted(channels) == ["hum", "temp"]
        assert state["states"]["reported"] == '{"temp":20}'

        found = product.call_interface("getIdentity", {"identity": "hub-7"})
        assert found["identity"] == "hub-7" and json.loads(found["state"]["summary"]) == {"count": 2}
        assert [d["identity"] for d in product.call_interface("listIdentities", {})["devices"]] == ["hub-7"]
        assert product.call_interface("getIdentity", {"identity": "nobody"})["status"] == 404

        # an application sets data_out; the overload turns it into an action the device reads
        set_out = product.call_interface("setIdentityState", {"identity": "hub-7", "data_out": '{"fan":1}'})
        assert set_out["status"] == 204
        read = device.get(f"{devices.url}/onep:v1/stack/alias?action", headers={"X-Exosite-CIK": token}, timeout=30)
        assert read.status_code == 200 and "fan" in requests.utils.unquote(read.text)
