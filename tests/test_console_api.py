"""The console's JSON API and live feed over real HTTP, and the local-surface rules it follows."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

from murano_sim import Runtime
from murano_sim.console import Console as ConsoleSurface
from murano_sim.solution import SolutionLog, serve_solution

SOLUTION = Path(__file__).resolve().parent / "solutions" / "console"
SECRET = "f0e1d2c3b4a5968778695a4b3c2d1e0f"


class Console:
    def __init__(self, runtime: Runtime) -> None:
        self.server = serve_solution(SOLUTION, runtime, log=SolutionLog(open(os.devnull, "w")),
                                     surfaces=(ConsoleSurface,))
        self.url = self.server.url
        self.api = self.url + "/_murano-sim/api"

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.api + path, timeout=10, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return requests.post(self.api + path, timeout=10, **kw)


@pytest.fixture
def console() -> Iterator[Console]:
    config = {"services": {"twilio": {"AuthToken": SECRET}}, "env": {"TOKEN": SECRET}}
    with Runtime(config) as runtime:
        served = Console(runtime)
        try:
            yield served
        finally:
            served.server.shutdown()


def test_the_page_and_its_assets_are_served(console):
    page = requests.get(console.url + "/_murano-sim/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for src in ("/_murano-sim/static/console.js", "/_murano-sim/static/console.css"):
        assert src in page.text
        assert requests.get(console.url + src, timeout=10).status_code == 200
    # nothing is fetched from elsewhere: the only absolute URL is the SVG namespace name
    for asset in ("/_murano-sim/", "/_murano-sim/static/console.js", "/_murano-sim/static/console.css"):
        text = requests.get(console.url + asset, timeout=10).text
        assert set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"']*", text)) <= {"http://www.w3.org/2000/svg"}


def test_solution_view_lists_endpoints_handlers_and_services(console):
    report = console.get("/solution").json()
    assert {(e["method"], e["path"]) for e in report["endpoints"]} >= {("GET", "/greeting"), ("POST", "/sms")}
    assert [(h["service"], h["event"]) for h in report["handlers"]] == [("device2", "data_in"), ("timer", "timer")]
    assert {s["name"]: s["emulated"] for s in report["services"]}["Keystore"] is True


def test_an_execution_is_recorded_with_request_logs_calls_and_response(console):
    requests.post(console.url + "/remind", json={"note": "tea"}, timeout=10)
    [summary] = console.get("/executions").json()["executions"]
    shown = (summary["kind"], summary["method"], summary["path"], summary["status"])
    assert shown == ("endpoint", "POST", "/remind", 200)
    detail = console.get(f"/executions/{summary['id']}").json()
    assert json.loads(detail["request"]["body"]) == {"note": "tea"}
    assert detail["logs"] == [{"level": "info", "text": "arming a reminder"}]
    assert [(c["service"], c["operation"]) for c in detail["calls"]] == [("timer", "sendAfter")]
    assert detail["response"]["body"]["timer_id"] == "reminder"


def test_an_error_carries_its_file_and_line(console):
    requests.get(console.url + "/boom", timeout=10)
    [summary] = console.get("/executions").json()["executions"]
    detail = console.get(f"/executions/{summary['id']}").json()
    assert detail["error_location"]["file"].endswith("api.lua")
    line = SOLUTION.joinpath("endpoints/api.lua").read_text().splitlines().index("return nothing.field") + 1
    assert detail["error_location"]["line"] == line, detail["error"]


def test_replay_as_it_was_and_edited(console):
    requests.post(console.url + "/remind", json={"note": "tea"}, timeout=10)
    first = console.get("/executions").json()["executions"][0]["id"]
    again = console.post(f"/executions/{first}/replay", json={}).json()
    assert again["id"] == first + 1 and json.loads(again["request"]["body"]) == {"note": "tea"}
    edited = console.post(f"/executions/{first}/replay", json={"body": json.dumps({"note": "coffee"})}).json()
    assert edited["calls"][0]["arguments"]["message"] == {"note": "coffee"}


def test_keystore_edit_is_what_the_endpoint_returns(console):
    assert requests.get(console.url + "/greeting", timeout=10).json() == {}
    keys = console.post("/keystore", json={"key": "greeting", "value": "hello"}).json()["keys"]
    assert {"key": "greeting", "type": "string", "value": "hello"} in keys
    assert requests.get(console.url + "/greeting", timeout=10).json() == {"greeting": "hello"}
    assert console.post("/keystore", data={"key": "greeting", "value": "form"}).status_code == 200  # forms too
    assert requests.get(console.url + "/greeting", timeout=10).json() == {"greeting": "form"}
    requests.delete(console.api + "/keystore/greeting", timeout=10)
    assert requests.get(console.url + "/greeting", timeout=10).json() == {}


def test_advancing_the_clock_fires_the_timer_and_answers_what_ran(console):
    requests.post(console.url + "/remind", json={"note": "tea"}, timeout=10)
    assert [t["timer_id"] for t in console.get("/timers").json()["timers"]] == ["reminder"]
    before = console.get("/clock").json()["epoch"]
    result = console.post("/clock/advance", json={"seconds": 61}).json()
    assert result["after"]["epoch"] - before >= 61
    assert [(x["service"], x["event"], x["kind"]) for x in result["ran"]] == [("timer", "timer", "timer")]
    assert requests.get(console.url + "/fired", timeout=10).json() == {"fired": "tea"}
    assert console.get("/timers").json()["timers"] == []


def test_phone_sms_reaches_the_endpoint_and_the_twiml_reply_is_in_the_thread(console):
    sent = console.post("/phone/sms", json={"from": "+15551230001", "to": "+15005550006", "path": "/sms", "body": "hi"})
    thread = sent.json()["messages"]
    assert [(m["from_phone"], m["body"]) for m in thread] == [(True, "hi"), (False, "You said: hi")]
    assert console.get("/phone", params={"from": "+15551230001"}).json()["messages"] == thread
    twilio = console.get("/twilio").json()
    assert twilio["messages"][-1]["direction"] == "inbound"
    [delivery] = twilio["deliveries"]
    assert delivery["kind"] == "inbound-sms" and delivery["status"] == 200
    [summary] = console.get("/executions").json()["executions"]
    assert console.get(f"/executions/{summary['id']}").json()["logs"][0]["level"] == "warn"


def test_tsdb_points_come_back_for_the_chart(console):
    for value in (20, 21.5):
        requests.post(console.url + "/reading", json={"value": value}, timeout=10)
    view = console.get("/tsdb", params={"metric": "temperature", "tag": "room=lab", "window": "1h"}).json()
    assert view["metrics"] == ["temperature"] and [p[1] for p in view["points"]] == [20, 21.5]
    assert console.get("/tsdb", params={"window": "forever"}).status_code == 400


def test_bad_input_is_one_json_line_with_a_4xx(console):
    answer = console.post("/clock/advance", json={"seconds": "soon"})
    assert answer.status_code == 400 and answer.json() == {"error": "seconds: expected a number, got 'soon'"}
    assert console.get("/nothing-here").status_code == 404
    assert console.get("/executions/999").json()["error"].startswith("no execution 999")
    assert console.post("/phone/sms", json={"from": "x y", "to": "+1", "path": "/sms", "body": "a"}).status_code == 400


def test_secrets_never_reach_the_console(console):
    requests.post(console.url + "/reading", json={"value": 1, "token": SECRET}, timeout=10)
    [summary] = console.get("/executions").json()["executions"]
    assert SECRET not in console.get(f"/executions/{summary['id']}").text


def test_a_new_execution_arrives_on_the_live_stream(console):
    with requests.get(console.api + "/stream", stream=True, timeout=10) as stream:
        lines = (line for line in stream.iter_lines(decode_unicode=True) if line)
        assert next(lines) == ": connected"  # subscribed: what runs from now on is sent
        request = threading.Thread(target=requests.get, args=(console.url + "/greeting",), kwargs={"timeout": 10})
        request.start()
        event = [next(lines), next(lines)]
        request.join()
    assert event[0] == "event: execution"
    assert json.loads(event[1].removeprefix("data: "))["path"] == "/greeting"


# -- the local-surface rules (DECISIONS: "Local HTTP surfaces") ---------------------------------------
def test_a_non_loopback_host_header_is_refused(console):
    answer = requests.get(console.api + "/clock", headers={"Host": "attacker.example"}, timeout=10)
    assert answer.status_code == 403 and "Host" in answer.json()["error"]
    assert requests.get(console.api + "/clock", headers={"Host": "localhost:1"}, timeout=10).status_code == 200


def test_a_state_changing_request_from_a_foreign_origin_is_refused(console):
    foreign = console.post("/keystore", json={"key": "k", "value": "v"}, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and "Origin" in foreign.json()["error"]
    assert console.get("/keystore").json()["keys"] == []
    cross = console.post("/keystore", json={"key": "k", "value": "v"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    own = console.post("/keystore", json={"key": "k", "value": "v"}, headers={"Origin": console.url})
    assert own.status_code == 200


def test_the_event_route_follows_the_same_rules(console):
    answer = requests.post(console.url + "/_murano-sim/events/timer/timer", json={"message": {"note": "x"}},
                           headers={"Origin": "http://evil.example"}, timeout=10)
    assert answer.status_code == 403
    assert requests.get(console.url + "/fired", timeout=10).json() == {}


def test_a_remote_client_is_refused_unless_console_remote():
    with Runtime({}) as runtime:
        from murano_sim.solution import SolutionApp

        app = SolutionApp(SOLUTION, runtime, SolutionLog(open(os.devnull, "w")), surfaces=(ConsoleSurface,))
        remote = {"REMOTE_ADDR": "192.0.2.7"}
        answer = Client(app).get("/_murano-sim/api/clock", environ_overrides=remote)
        assert answer.status_code == 403 and "loopback" in answer.get_json()["error"]
    with Runtime({"serve": {"console_remote": True}}) as runtime:
        app = SolutionApp(SOLUTION, runtime, SolutionLog(open(os.devnull, "w")), surfaces=(ConsoleSurface,))
        answer = Client(app).get("/_murano-sim/api/clock", environ_overrides=remote, headers={"Host": "192.0.2.1"})
        assert answer.status_code == 200


def test_data_in_sent_as_a_device_reaches_the_handler_and_shows_in_the_device_state(console):
    runtime = console.server.app.runtime
    runtime.platform.by_alias["device2"].model.addIdentity({"identity": "pump-1"})
    devices = console.post("/devices/pump-1/data_in", json={"values": {"temperature": 21}}).json()["devices"]
    assert devices[0]["identity"] == "pump-1"
    # no resources defined: every alias is an open string resource, as a device's wire sends it
    assert runtime.platform.by_alias["keystore"].model.read("reported") == 'pump-1 {"temperature":"21"}'
    [summary] = console.get("/executions").json()["executions"]
    assert (summary["service"], summary["event"], summary["kind"]) == ("device2", "data_in", "event")
    assert console.post("/devices/nobody/data_in", json={"values": {"t": 1}}).status_code == 404


# -- every service through its control ----------------------------------------------------------
def test_the_services_list_names_every_emulated_service_and_its_actions(console):
    listed = {s["alias"]: s for s in console.get("/services").json()["services"]}
    assert {"keystore", "tsdb", "timer", "user", "device2", "email", "config"} <= set(listed)
    assert listed["keystore"]["globals"] == ["Keystore"]
    assert listed["keystore"]["actions"] == ["delete", "set"]
    assert listed["device2"]["actions"] == ["data_in", "provision"]


def test_a_service_is_seeded_and_inspected_through_the_generic_api(console):
    seeded = console.post("/services/keystore/seed", json={"greeting": "seeded"})
    assert seeded.status_code == 200
    assert {"key": "greeting", "type": "string", "value": "seeded"} in seeded.json()["keys"]
    assert requests.get(console.url + "/greeting", timeout=10).json() == {"greeting": "seeded"}
    assert console.get("/services/keystore").json() == console.get("/keystore").json()  # the old path is an alias
    assert console.post("/services/keystore/set", json={"key": "greeting", "value": "set"}).status_code == 200
    assert requests.get(console.url + "/greeting", timeout=10).json() == {"greeting": "set"}
    assert console.post("/services/keystore/reset").json() == {"keys": []}


def test_a_service_action_runs_the_handlers_it_triggers(console):
    assert console.post("/services/device2/provision", json={"identity": "dev-9"}).json()["identity"] == "dev-9"
    answer = console.post("/services/device2/data_in", json={"identity": "dev-9", "values": {"temperature": 30}})
    assert answer.status_code == 200
    assert [d["identity"] for d in answer.json()["devices"]] == ["dev-9"]
    executions = console.get("/executions").json()["executions"]
    assert [(e["kind"], e["service"], e["event"]) for e in executions] == [("event", "device2", "data_in")]


def test_the_generic_api_refuses_bad_input_with_one_line(console):
    unknown = console.post("/services/keystore/explode", json={})
    assert unknown.status_code == 400 and unknown.json()["error"] == (
        "keystore has no action 'explode' (known: seed, reset, delete, set)")
    wrong = console.post("/services/keystore/set", json={"nope": 1})
    assert wrong.status_code == 400 and wrong.json()["error"].startswith("keystore.set: ")
    absent = console.get("/services/content")
    assert absent.status_code == 400 and "not emulated" in absent.json()["error"]
    assert console.post("/services/keystore/seed", json={"greeting": "x"},
                        headers={"Origin": "http://evil.example"}).status_code == 403
    assert console.get("/keystore").json()["keys"] == []


@pytest.fixture
def booting(tmp_path) -> Iterator[Console]:
    """A solution whose init.lua writes a key, served with its console."""
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "init.lua").write_text('Keystore.set({ key = "boot", value = "yes" })\n')
    (tmp_path / "endpoints" / "api.lua").write_text(
        '--#ENDPOINT GET /keys\n'
        'return Keystore.list({}).keys\n'
    )
    with Runtime({}) as runtime:
        server = serve_solution(tmp_path, runtime, log=SolutionLog(open(os.devnull, "w")), surfaces=(ConsoleSurface,))
        served = Console.__new__(Console)
        served.server, served.url, served.api = server, server.url, server.url + "/_murano-sim/api"
        try:
            yield served
        finally:
            server.shutdown()


def test_reset_puts_every_service_back_and_runs_init_lua_again(booting):
    assert requests.get(booting.url + "/keys", timeout=10).json() == ["boot"]
    booting.post("/keystore", json={"key": "typed", "value": "in the console"})
    booting.post("/services/keystore/delete", json={"key": "boot"})
    assert requests.get(booting.url + "/keys", timeout=10).json() == ["typed"]
    answer = booting.post("/reset")
    assert answer.status_code == 200 and answer.json()["reset"] is True
    assert requests.get(booting.url + "/keys", timeout=10).json() == ["boot"]


def test_reset_follows_the_local_surface_rules(booting):
    booting.post("/keystore", json={"key": "typed", "value": "v"})
    assert booting.post("/reset", headers={"Origin": "http://evil.example"}).status_code == 403
    assert booting.post("/reset", headers={"Host": "attacker.example"}).status_code == 403
    from murano_sim.net.local_surface import MARKER_HEADER, MARKER_VALUE
    assert booting.post("/reset", headers={MARKER_HEADER: MARKER_VALUE}).status_code == 403
    assert sorted(requests.get(booting.url + "/keys", timeout=10).json()) == ["boot", "typed"]
