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
    # the endpoint returns Device.write's result: nil in 2016 (no content), so the default "Ok"
    written = lock.post("/lock/front", json={"lock-command": "unlock"})
    assert written.status_code == 200 and written.text == "Ok"
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
    assert posted == {}  # {device = Device.write{...}}: nil in 2017 (no content), so an empty object
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

    from murano_sim.services.device2.device_api import serve_devices

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


def _lua(solution, source: str):  # noqa: ANN001, ANN202 - a one-off Lua read of the served solution's state
    done = solution.runtime.run(source)
    assert done.error is None, done.error
    return done.response.message


# The fixture takes the test's configuration, not the solution's own config.yaml (which `serve` reads)
@pytest.mark.murano(config="solutions/real-c2c-weather-2020/config.yaml")
def test_c2c_weather_2020_callbacks_proxy_device2_and_poll_on_the_timer(murano_solution) -> None:
    weather = murano_solution(SOLUTIONS / "real-c2c-weather-2020")
    assert "weather connector" in weather.get("/").text
    assert weather.post("/c2c/callback?token=wrong", json={"name": "Paris"}).status_code == 401
    # init.lua (run before that first execution) stored the callback token via Config.setParameters
    params = _lua(weather, 'return Config.getParameters({service = "weatherapi"}).parameters')
    token = params["callback_token"]
    assert len(token) >= 26 and params["callback_url"].endswith("/c2c/callback?token=" + token)
    # ... and that change fired the Config `service` event, whose handler resynced (nothing yet)
    assert _lua(weather, 'return Keystore.get({key = "config.changes"}).value') in ("1", 1)

    place = {"id": 2988507, "name": "Paris", "dt": 1577836800, "coord": {"lat": 48.85, "lon": 2.35},
             "main": {"temp": 3.5, "humidity": 90}, "wind": {"speed": 1.5, "deg": 90}}
    assert weather.post(f"/c2c/callback?token={token}", json=place).json() == {"identity": "Paris"}
    assert weather.get("/c2c/locations").json() == ["Paris"]

    # the Device2 proxy wrote through murano.services.device2; the handler was called directly
    state = weather.call_interface("getIdentityState", {"identity": "Paris"})
    data_in = json.loads(state["data_in"]["set"])
    assert data_in == {"temp": 3.5, "humidity": 90, "wind_speed": 1.5, "gps": {"lat": 48.85, "lng": 2.35}}
    last = json.loads(_lua(weather, 'return Keystore.get({key = "last.Paris"}).value'))
    assert last["type"] == "data_in" and last["protocol"] == "weatherapi"
    assert last["timestamp"] == 1577836800 * 1_000_000  # seconds turned into microseconds
    assert last["connection_id"]  # context.tracking_id
    handled = [r for r in weather.logs if r.get("type") == "script" and r.get("event") == "event"]
    assert handled and all(r["error"] is None for r in handled), handled

    # the hourly schedule from services/timer.yaml polls every known location in bulk
    weather.advance(3600)
    devices = {d["identity"]: d for d in weather.call_interface("listIdentities", {})["devices"]}
    assert sorted(devices) == ["London", "Paris"] == sorted(weather.get("/c2c/locations").json())
    assert {t["name"]: t["value"] for t in devices["London"]["tags"]} == {"id": "2643743", "query": "N/A"}
    assert json.loads(devices["London"]["state"]["data_in"]["set"])["temp"] == 12.5  # from the bulk poll
    assert json.loads(devices["Paris"]["state"]["data_in"]["set"])["temp"] == 3.5


def test_aka8_2018_keystore_hashes_and_a_tsdb_query_in_json(murano_solution) -> None:
    stats = murano_solution(SOLUTIONS / "real-aka8-2018")
    assert "device statistics" in stats.get("/").text
    assert stats.get("/cache/dev-1").json() == {}  # nothing stored: an empty object
    for value in (4, 10, 1):
        posted = stats.post("/cache/dev-1/temp", json={"value": value})
        assert posted.status_code == 200, posted.text
    assert stats.post("/cache/dev-1/hum", json={"value": "55"}).status_code == 200
    assert stats.post("/cache/dev-1/hum", json={"value": "wet"}).status_code == 400

    everything = stats.get("/cache/dev-1").json()  # Keystore.get of a hash: the whole hash
    assert everything["temp"] == {"last": 1, "max": 10, "min": 1, "sum": 15, "count": 3, "avg": 5}
    assert everything["hum"]["last"] == 55
    assert stats.get("/cache/dev-1/temp").json() == {"temp": everything["temp"]}
    assert set(stats.get("/cache/dev-1/temp,hum").json()) == {"temp", "hum"}

    query = json.dumps({"metrics": ["temp"], "tags": {"id": "dev-1"}, "aggregate": ["max", "count"]})
    answer = stats.get("/tsdb", params={"query": query})
    assert answer.status_code == 200, answer.text
    assert answer.json()["values"]["temp"] == {"max": 10, "count": 3}
    assert stats.get("/tsdb", params={"query": "{not json"}).status_code == 400  # json.parse's err
    assert stats.get("/tsdb").status_code == 400


def test_ti_dashboard_2017_product_events_fill_tsdb_and_keystore(murano_solution) -> None:
    board = murano_solution(SOLUTIONS / "real-ti-dashboard-2017")  # murano.yaml wins over the stale Solutionfile
    assert "sensor dashboard" in board.get("/").text
    assert board.get("/css/board.css").status_code == 200
    # init.lua stored the default dashboard before the first request ran
    assert board.get("/v1/dashboard").json()["columns"] == 3
    assert board.post("/v1/dashboard?id=2", json={"columns": 4}).status_code == 200
    assert board.get("/v1/dashboard?id=2").json() == {"columns": 4}

    gw = "00:11:22:33:44:55"
    ts = int(_lua(board, "return os.now()")) * 1000  # microseconds, now (older points fall out of retention)
    event = {"type": "data_in", "identity": gw, "timestamp": ts, "payload": [
        {"timestamp": ts - 1_000_000, "values": {"temp": 72, "uptime": 31}},
        {"timestamp": ts, "values": {"temp": "71.5", "uptime": 30, "node": '{"sn": "n-9", "lux": {"v": 3}}'}},
    ]}
    done = board.trigger("{product.id}", "event", event)  # the script key, as MuranoCLI left it
    assert done is not None and done.error is None, done and done.error
    assert board.trigger("{product.id}", "event", {"type": "connect", "identity": "n-10"}).error is None

    assert board.get("/v1/devices").json() == {gw: {"uptime": ["30", "31"]}, "n-9": {"uptime": []},
                                                 "n-10": {"uptime": []}}  # Redis keeps strings
    rows = board.get(f"/v1/data/{gw}").json()
    assert rows["columns"] == ["time", "node.lux.v", "temp"] and rows["tags"] == {"sn": gw}
    node = board.get("/v1/data/n-9").json()
    # epoch ms; the sub-device's own serial number tag; its row keeps the temp column, null
    assert node["values"] == [[ts // 1000, 3, None]]
    # a merge row with an empty cell keeps its place: json.null in Lua, null in the JSON answer
    # (docs/solutions.md, "Nulls in service results"), never an object {"1": t, "3": 71.5}
    assert [len(row) for row in rows["values"]] == [3, 3] and rows["values"][1][1] is None, rows


def test_user_mgmt_2017_signup_verify_login_and_password_reset_by_email(murano_solution) -> None:
    import re

    from murano_sim.services.email.model import read_outbox

    users = murano_solution(SOLUTIONS / "real-user-mgmt-2017")

    def mails() -> list:
        return read_outbox(users.runtime.platform.state.db)

    assert "simple user management" in users.get("/").text
    who = {"email": "ada@example.com", "name": "Ada", "password": "lovelace-1815"}
    assert users.post("/api/v1/user-signup", json=who).text == "Check your email"  # a string: text/plain
    sent = mails()
    assert [m["to"] for m in sent] == [["ada@example.com"]] or [m["to"] for m in sent] == ["ada@example.com"]
    code = re.search(r"/api/v1/verify/(\S+)", sent[0]["text"]).group(1)
    assert users.get(f"/api/v1/verify/{code}x", allow_redirects=False).status_code == 401
    verified = users.get(f"/api/v1/verify/{code}", allow_redirects=False)
    assert verified.status_code == 303 and verified.headers["Location"] == "/index.html"

    assert users.post("/api/v1/session", json={"email": who["email"], "password": "nope"}).status_code >= 400
    login = users.post("/api/v1/session", json={"email": who["email"], "password": who["password"]})
    token = login.json()["token"]
    assert login.cookies["sid"] == token
    me = users.get("/api/v1/session", headers={"cookie": f"sid={token}"}).json()
    assert me["email"] == who["email"] and me["name"] == "Ada" and me["token"] == token
    assert users.get("/api/v1/session", headers={"x-token": token}).json()["id"] == me["id"]
    assert users.get("/api/v1/session", headers={"cookie": "sid=forged"}).status_code == 400
    assert users.get("/api/v1/users", headers={"x-token": token}).json() == ["ada@example.com"]

    assert users.post("/api/v1/forgotten", json={"email": "nobody@example.com"}).status_code == 404
    assert users.post("/api/v1/forgotten", json=who).status_code == 200
    reset = re.search(r"rt=(\S+)", mails()[-1]["text"]).group(1)
    changed = users.post("/api/v1/resetPassword", json={"token": reset, "password": "babbage-1834"})
    assert changed.text == "Password changed"
    assert users.post("/api/v1/resetPassword", json={"token": reset, "password": "x"}).status_code == 403
    users.advance(1)
    relogin = users.post("/api/v1/session", json={"email": who["email"], "password": "babbage-1834"})
    assert relogin.status_code == 200 and relogin.json()["token"]
