"""A served solution's hot VM, platform globals at the gateway, security and CORS, through the
`murano_solution` fixture (real Lua, real HTTP on loopback)."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

SOLUTIONS = Path(__file__).resolve().parent / "solutions"


@pytest.fixture
def runtime_solution(murano_solution):
    return murano_solution(SOLUTIONS / "runtime")


def edit(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


# -- VM lifetime --------------------------------------------------------------------------------
def test_globals_persist_across_requests_and_handlers(runtime_solution):
    assert runtime_solution.get("/state").json()["hits"] == 1
    assert runtime_solution.trigger("timer", "timer").response.message["ticks"] == 1
    state = runtime_solution.get("/state").json()
    assert state["hits"] == 2 and state["ticks"] == 1


def test_modules_run_at_load_and_init_lua_once(runtime_solution):
    for _ in range(3):
        state = runtime_solution.get("/state").json()
    assert state["init_runs"] == 1 and state["module_loads"] == 1 and state["shout"] == "HI"
    assert state["twice"] == 42


def test_reset_gives_a_fresh_environment_and_runs_init_lua_again(runtime_solution):
    runtime_solution.get("/state")
    runtime_solution.reset()
    state = runtime_solution.get("/state").json()
    assert state["hits"] == 1 and state["init_runs"] == 1 and state["module_loads"] == 1


def test_a_reload_runs_the_modules_again_but_not_init_lua(murano_solution, tmp_path):
    root = tmp_path / "solution"
    shutil.copytree(SOLUTIONS / "runtime", root)
    served = murano_solution(root)
    assert served.get("/state").json()["hits"] == 1
    util = root / "modules" / "util.lua"
    edit(util, util.read_text().replace("x * 2", "x * 3"))
    state = served.get("/state").json()
    assert state["twice"] == 63 and state["module_loads"] == 1 and state["hits"] == 1
    assert "init_runs" not in state  # init.lua's globals belong to the environment it ran in


def test_reuse_vm_false_gives_each_execution_a_fresh_environment(murano_solution):
    served = murano_solution(SOLUTIONS / "fresh")
    assert served.get("/counter").json() == {"counter": 1, "greeting": "hello"}
    assert served.get("/counter").json() == {"counter": 1, "greeting": "hello"}
    assert served.trigger("timer", "timer").response.message == {"counter": 1, "greeting": "hello"}


@pytest.mark.murano(limits={"max_vm_memory": 1})
def test_a_vm_past_max_vm_memory_is_rebuilt_with_its_modules_but_not_init(runtime_solution):
    first = runtime_solution.get("/state").json()
    second = runtime_solution.get("/state").json()
    assert first["hits"] == 1 and second["hits"] == 1 and second["module_loads"] == 1
    assert "init_runs" not in second
    assert any("lua.max_vm_memory" in str(r.get("message")) for r in runtime_solution.logs)


def test_each_execution_gets_a_fresh_context(runtime_solution):
    one, two = runtime_solution.get("/state").json(), runtime_solution.get("/state").json()
    assert one["service"] == "webservice" and one["tracking_id"] != two["tracking_id"]


# -- handlers -----------------------------------------------------------------------------------
def test_handler_argument_names_per_service(runtime_solution):
    timer = runtime_solution.trigger("timer", "timer").response.message
    assert timer == {"ticks": 1, "argument": "table", "event": "nil", "service": "timer"}
    device = runtime_solution.trigger("device2", "data_in", {"identity": "d1"}).response.message
    assert device == {"type": "data_in", "identity": "d1", "data": "nil", "request": "nil"}


def test_an_unhandled_event_reaches_config_fallback_with_the_original_in_context(runtime_solution):
    result = runtime_solution.trigger("user", "account", {"email": "a@b.c"})
    assert result.response.message == {"original": "user account", "payload": {"email": "a@b.c"}}


def test_handler_functions_are_globals_an_endpoint_can_call(runtime_solution):
    assert runtime_solution.get("/call-handler").json()["ticks"] == 1
    assert runtime_solution.trigger("timer", "timer").response.message["ticks"] == 2


# -- responses and bodies -----------------------------------------------------------------------
def test_an_endpoint_that_assigns_a_new_response_table_is_answered_from_it(runtime_solution):
    answer = runtime_solution.post("/created", json={"name": "ada"})
    assert answer.status_code == 201 and answer.json() == {"id": "ada"}


def test_slice_marker_encodes_an_empty_table_as_an_array(runtime_solution):
    assert runtime_solution.get("/slice").json() == {"empty": [], "object": {}, "text": '{"list":[]}'}


def test_a_form_body_arrives_as_a_table(runtime_solution):
    assert runtime_solution.post("/form", data={"name": "ada"}).json() == {"name": "ada", "kind": "table"}


def test_log_levels_show_in_the_solution_log_and_the_result(runtime_solution):
    assert runtime_solution.get("/boom").status_code == 500
    record = [r for r in runtime_solution.logs if r["type"] == "script"][-1]
    assert record["script_output"] == ["[error] bad thing 7"]
    assert runtime_solution.results[-1].error == "endpoints/api.lua:32: boom"


# -- security -----------------------------------------------------------------------------------
def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_security_without_the_credential_is_401_and_the_script_does_not_run(runtime_solution):
    answer = runtime_solution.get("/secure/basic")
    assert answer.status_code == 401 and "Authorization" in answer.json()["error"]
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    assert runtime_solution.results == []
    assert runtime_solution.get("/secure/basic", headers=_basic("any", "thing")).text == "basic ok"


def test_api_key_is_looked_for_where_the_webservice_scheme_says(runtime_solution):
    assert runtime_solution.get("/secure/key", headers={"X-API-Key": "k"}).status_code == 401
    assert runtime_solution.get("/secure/key", headers={"X-Token": "k"}).text == "key ok"


@pytest.mark.murano(config={"serve": {"security": {"basic": [{"user": "ada", "password": "s3cret"}],
                                                   "apiKey": ["good-key"]}}})
def test_configured_credentials_are_checked(runtime_solution):
    assert runtime_solution.get("/secure/basic", headers=_basic("ada", "wrong")).status_code == 401
    assert runtime_solution.get("/secure/basic", headers=_basic("ada", "s3cret")).status_code == 200
    assert runtime_solution.get("/secure/key", headers={"X-Token": "bad-key"}).status_code == 401
    assert runtime_solution.get("/secure/key", headers={"X-Token": "good-key"}).status_code == 200


# -- CORS ---------------------------------------------------------------------------------------
def test_cors_preflight_from_an_allowed_origin(runtime_solution):
    answer = runtime_solution.request("OPTIONS", "/created", headers={
        "Origin": "http://app.example", "Access-Control-Request-Method": "POST"})
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert answer.headers["Access-Control-Allow-Methods"] == "GET, POST"
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type, x-token"
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"


def test_cors_preflight_from_another_origin_is_refused(runtime_solution):
    answer = runtime_solution.request("OPTIONS", "/created", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert answer.status_code == 403 and "Access-Control-Allow-Origin" not in answer.headers


def test_cors_headers_on_responses(runtime_solution):
    answer = runtime_solution.get("/state", headers={"Origin": "http://app.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "http://app.example"
    assert answer.headers["Access-Control-Expose-Headers"] == "x-request-id"
    assert "Access-Control-Allow-Origin" not in runtime_solution.get("/state").headers


@pytest.mark.parametrize("reuse_vm", [True, False])
def test_a_broken_module_or_handler_is_one_log_line_and_the_rest_still_loads(murano_solution, tmp_path, reuse_vm):
    files = {
        "modules/good.lua": "Good = {value = 'loaded'}\n",  # old-style global module
        "modules/broken.lua": "Broken = {\n",  # a syntax error
        "modules/failing.lua": "error('module blew up')\n",  # fails when it runs
        "services/timer_timer.lua": "Keystore.set{key = 'fired', value = request.message}\n",
        "services/device2_data_in.lua": "local x = = 1\n",  # a handler with a syntax error
        "endpoints/api.lua": "--#ENDPOINT GET /good\nreturn Good.value\n",
        "services/config.yaml": f"reuse_vm: {str(reuse_vm).lower()}\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    served = murano_solution(tmp_path)
    assert served.get("/good").text == "loaded"
    served.trigger("timer", "timer", {"message": "tick"})
    assert served.runtime.services["keystore"].model.get({"key": "fired"}) == {"value": "tick"}
    problems = [r["message"] for r in served.logs if r.get("type") == "server"]
    assert any("loading modules/broken.lua failed" in m for m in problems), problems
    assert any("loading modules/failing.lua failed" in m and "module blew up" in m for m in problems), problems
