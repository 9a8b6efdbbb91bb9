"""Murano's Config service driven from Lua: solution, get/setParameters and the `service` event,
listServices/listService, usage on the solution's clock, and the murano_services_config fixture."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from lua_support import lua_value as lua

from murano_sim import Runtime
from murano_sim.state.clock import ManualClock

START = datetime(2024, 1, 31, 23, 0, tzinfo=timezone.utc)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")



def test_solution_is_derived_from_the_solution_folder_and_stable(tmp_path):
    folder = tmp_path / "My Weather App"
    folder.mkdir()
    (folder / "config.yaml").write_text("env: {}\n")
    answers = []
    for _ in range(2):
        with Runtime(folder / "config.yaml") as rt:
            answers.append(lua(rt, "return Config.solution()"))
    first = answers[0]
    assert answers[1] == first
    assert first["name"] == "my-weather-app" and first["domain"] == "my-weather-app.apps.exosite.io"
    assert re.fullmatch(r"[0-9a-z]{17}", first["id"]) and re.fullmatch(r"[0-9a-z]{17}", first["business_id"])
    assert first["id"] != first["business_id"] and len(first["products"]) == 1
    assert re.fullmatch(r"[0-9a-z]{17}", first["products"][0]) and first["products"][0] != first["id"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.yaml").write_text("env: {}\n")
    with Runtime(other / "config.yaml") as rt:
        assert lua(rt, "return Config.solution().id") != first["id"]


def test_solution_values_named_in_config_yaml_win():
    solution = {"id": "abc123", "name": "demo", "products": ["p1", "p2"], "business_id": "biz"}
    with Runtime({"services": {"config": {"solution": solution}}}) as rt:
        assert lua(rt, "return Config.solution()") == {
            "id": "abc123", "name": "demo", "domain": "demo.apps.exosite.io", "products": ["p1", "p2"],
            "business_id": "biz"}


def test_get_parameters_defaults_then_the_solution_file_then_config_yaml():
    solution_configs = {"config": {"reuse_vm": False, "extra": "kept"}, "sigfox": {"login": "me", "n": 3}}
    with Runtime({"services": {"config": {"rate_limit": 5}}}, solution_configs=solution_configs) as rt:
        assert lua(rt, "return Config.getParameters{service = 'config'}") == {
            "parameters": {"auto_update": True, "reuse_vm": False, "rate_limit": 5, "extra": "kept"}}
        assert lua(rt, "return Config.getParameters{service = 'sigfox'}.parameters") == {"login": "me", "n": 3}
        # a Murano service the solution has not configured (and murano-sim does not emulate) answers empty
        assert lua(rt, "return Config.getParameters{service = 'spms'}") == {"parameters": {}}
    with Runtime({}) as rt:
        assert lua(rt, "return Config.getParameters{service = 'config'}.parameters") == {
            "auto_update": True, "reuse_vm": True, "rate_limit": 100}


def test_include_schema_is_the_services_configuration_as_json_schema():
    with Runtime({}) as rt:
        answer = lua(rt, "return Config.getParameters{service = 'timer', includeSchema = true}")
        assert answer["parameters"] == {}
        assert answer["schema"]["type"] == "object"
        assert answer["schema"]["properties"]["schedule"]["type"] == "object"
        config = lua(rt, "return Config.getParameters{service = 'config', includeSchema = true}.schema")
        assert config["properties"]["reuse_vm"] == {
            "type": "boolean", "default": True,
            "description": "reuse the scripting context between executions (hot VM)"}
        assert "schema" not in lua(rt, "return Config.getParameters{service = 'config'}")


def test_get_parameters_refusals():
    with Runtime({}) as rt:
        assert lua(rt, "return Config.getParameters{service = 'nothing_here'}") == {
            "error": "service 'nothing_here' is not configured in this solution",
            "status": 404, "type": "QueryError", "status_code": 404}
        assert lua(rt, "return Config.getParameters{}") == {
            "error": "Config.getParameters: service: is required", "status": 400, "type": "QueryError",
            "status_code": 400}
        assert lua(rt, "return Config.setParameters{service = 'x', parameters = 'no'}")["status"] == 400


def test_set_parameters_merges_and_emits_the_service_event():
    with Runtime({}, solution_configs={"sigfox": {"login": "me", "password": "p"}}) as rt:
        assert lua(rt, "return Config.setParameters{service = 'sigfox', parameters = {password = 'new', n = 1}}") == {
            "parameters": {"login": "me", "password": "new", "n": 1}}
        assert lua(rt, "return Config.getParameters{service = 'sigfox'}.parameters") == {
            "login": "me", "password": "new", "n": 1}
        lua(rt, "Config.setParameters{service = 'brand_new', parameters = {a = {b = 1}}}")
        lua(rt, "Config.setParameters{service = 'config', parameters = {reuse_vm = false}}")
        assert [e["payload"] for e in rt.platform.events] == [
            {"service": "sigfox", "action": "updated", "parameters": {"login": "me", "password": "new", "n": 1}},
            {"service": "brand_new", "action": "added", "parameters": {"a": {"b": 1}}},
            {"service": "config", "action": "updated",
             "parameters": {"auto_update": True, "reuse_vm": False, "rate_limit": 100}},
        ]
        assert {(e["service"], e["event"]) for e in rt.platform.events} == {("config", "service")}
        assert rt.platform.parameters("config")["reuse_vm"] is False  # what the hot-VM code reads


def test_list_services_and_the_2017_name():
    settings = {"solution": {"id": "sol1", "products": ["prod9"]}}
    with Runtime({"services": {"config": settings}}, solution_configs={"sigfox": {}}) as rt:
        listed = lua(rt, "return Config.listServices()")
        assert lua(rt, "return Config.listService()") == listed
        by_alias = {entry["service"]: entry for entry in listed}
        assert {"config", "timer", "twilio", "sigfox", "prod9"} <= set(by_alias)
        assert by_alias["timer"]["type"] == "core" and by_alias["twilio"]["type"] == "exchange"
        assert by_alias["sigfox"] == {**by_alias["sigfox"], "type": "exchange", "script_key": "sigfox"}
        assert by_alias["prod9"]["type"] == "product"
        assert all(UUID.match(e["id"]) for e in listed) and len({e["id"] for e in listed}) == len(listed)
        products = lua(rt, "return Config.listServices{type = 'product'}")
        assert [e["service"] for e in products] == ["prod9"]
        assert lua(rt, "return Config.listServices{type = 'nope'}")["status"] == 400
    with Runtime({"services": {"config": settings}}) as rt:
        assert {e["service"]: e["id"] for e in lua(rt, "return Config.listServices()")}["timer"] == \
            by_alias["timer"]["id"]


def test_usage_counts_calls_per_service_by_day_and_month_on_the_solution_clock():
    clock = ManualClock(START)
    with Runtime({}, clock=clock) as rt:
        lua(rt, "Timer.list() Timer.list() Config.solution()")
        usage = lua(rt, "return Config.usage()")
        assert usage["timer"] == {"quota": {}, "service": "timer",
                                  "usage": {"daily_calls": 2, "monthly_calls": 2, "total_calls": 2}}
        assert usage["config"]["usage"]["total_calls"] == 2  # solution() and this usage()
        assert usage["twilio"]["usage"]["total_calls"] == 0
        rt.advance(2 * 3600)  # into 1 February: a new day and a new month
        lua(rt, "Timer.list()")
        assert lua(rt, "return Config.usage().timer.usage") == {
            "daily_calls": 1, "monthly_calls": 1, "total_calls": 3}
        rt.advance(24 * 3600)
        lua(rt, "Timer.list()")
        assert lua(rt, "return Config.usage().timer.usage") == {
            "daily_calls": 1, "monthly_calls": 2, "total_calls": 4}
        rt.reset()
        assert lua(rt, "return Config.usage().timer.usage") == {
            "daily_calls": 0, "monthly_calls": 0, "total_calls": 0}


def test_usage_reports_the_configured_quotas():
    with Runtime({"services": {"config": {"quota": {"timer": {"daily_calls": 500}}}}}) as rt:
        assert lua(rt, "return Config.usage().timer.quota") == {"daily_calls": 500}


def test_the_murano_services_config_fixture_reads_and_merges(murano, murano_services_config):
    assert murano_services_config["config"]["reuse_vm"] is True
    assert murano_services_config.set("timer", {"schedule": {"hourly": True}}) == {"schedule": {"hourly": True}}
    result = murano.runtime.run("return Config.getParameters{service = 'timer'}.parameters.schedule.hourly")
    assert result.response.message is True
    assert murano_services_config.solution["name"] == re.sub(
        r"[^a-z0-9-]+", "-", Path(murano.runtime.config.base_dir).name.lower()).strip("-")
