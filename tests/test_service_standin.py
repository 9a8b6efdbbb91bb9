"""Stand-in services from Lua: canned answers, and a Swagger 2.0 exchange description."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lua_support import lua_value as call

from murano_sim import ConfigError, Runtime, load_config

DATA = Path(__file__).parent / "data"
SWAGGER = str(DATA / "weather_exchange.yaml")



def weather(**section: Any) -> Runtime:
    return Runtime({"services": {"weather": section}})


def test_canned_results_and_errors_per_operation_under_the_capitalised_alias():
    standin = {"operations": {
        "lookup": {"result": {"temp": 21.5, "tags": ["a", "b"]}},
        "missing": {"error": {"status": 404, "error": "no such city"}},
        "quiet": {},
    }}
    with Runtime({"services": {"spms": {"standin": standin}}}) as runtime:
        assert call(runtime, "return Spms.lookup{city = 'x', anything = 1}") == {"temp": 21.5, "tags": ["a", "b"]}
        assert call(runtime, "return murano.services.spms.lookup{}")["temp"] == 21.5
        assert call(runtime, "return Spms.missing{}") == {"error": "no such city",
                                                          "status": 404, "type": "QueryError", "status_code": 404}
        assert call(runtime, "return Spms.quiet() == nil") is True
        unknown = runtime.run("return Spms.other{}")
        result = runtime.run("return Spms.lookup{city = 'Paris'}")
    # only declared operations exist: another name is the dispatcher's error table, never a Lua error
    assert unknown.error is None and unknown.response.message["status"] == 404
    assert unknown.response.message["error"].startswith("Spms.other is not emulated by murano-sim")
    assert result.calls[0]["service"] == "spms" and result.calls[0]["arguments"] == {"city": "Paris"}


def test_canned_operations_may_declare_arguments_in_the_spec_format():
    standin = {"operations": {"ping": {"arguments": {"host": {"type": "string", "required": True}},
                                       "result": "pong"}}}
    with weather(standin=standin) as runtime:
        assert call(runtime, "return Weather.ping{host = 'h'}") == "pong"
        assert call(runtime, "return Weather.ping{}") == {
            "error": "Weather.ping: host: is required", "status": 400, "type": "QueryError", "status_code": 400}
        warned = runtime.run("return Weather.ping{host = 'h', hots = 1}")
    assert any("unknown argument 'hots'" in line for line in warned.logs)


def test_swagger_operations_validate_their_arguments():
    with weather(standin={"swagger": SWAGGER}, apikey="k-123") as runtime:
        now = call(runtime, "return Weather.getWeather{city = 'Paris'}")
        no_city = call(runtime, "return Weather.getWeather{}")
        bad_city = call(runtime, "return Weather.getWeather{city = 'R2D2'}")
        bad_units = call(runtime, "return Weather.getWeather{city = 'Paris', units = 'kelvin'}")
        bad_days = call(runtime, "return Weather.getForecast{days = 'many'}")
        restricted = call(runtime, "return rawget(Weather, 'setup') == nil")
        restricted_call = call(runtime, "return Weather.setup{}")
    assert now == {"temp": 18.5, "sky": "clear", "city": "Example"}  # the response schema's example
    assert no_city == {"error": "Weather.getWeather: city: is required", "status": 400, "type": "QueryError",
                       "status_code": 400}
    assert bad_city["status"] == 400 and "city: must match" in bad_city["error"]
    assert bad_units["status"] == 400 and "units: must be one of metric, imperial" in bad_units["error"]
    assert bad_days["status"] == 400 and "days: must be an integer" in bad_days["error"]
    assert restricted is True  # x-exosite-restricted: not exposed to Lua
    assert restricted_call["status"] == 404 and "Weather.setup is not emulated" in restricted_call["error"]


def test_swagger_body_parameters_are_expanded_and_204_is_the_status_table():
    with weather(standin={"swagger": SWAGGER}, apikey="key-abc") as runtime:
        done = call(runtime, "return Weather.subscribeAlerts{callback = 'http://x', level = 'watch', tags = {'a'}}")
        missing = call(runtime, "return Weather.subscribeAlerts{level = 'watch'}")
        level = call(runtime, "return Weather.subscribeAlerts{callback = 'c', level = 'panic'}")
        warned = runtime.run("return Weather.subscribeAlerts{callback = 'c', apikey = 'from-lua'}")
    assert done == {"status": 204, "status_code": 204}
    assert missing["status"] == 400 and "callback: is required" in missing["error"]
    assert level["status"] == 400 and "level: must be one of watch, warning" in level["error"]
    # a restricted parameter is not the script's to give
    assert any("unknown argument 'apikey'" in line for line in warned.logs)


def test_config_parameters_are_default_arguments_and_the_call_may_override_them():
    with weather(standin={"swagger": SWAGGER}) as runtime:
        without = call(runtime, "return Weather.getForecast{days = 3}")
    assert without["status"] == 400 and "apikey: is required" in without["error"]
    solution = {"weather": {"apikey": "from-solution-file"}}
    with Runtime({"services": {"weather": {"standin": {"swagger": SWAGGER}}}}, solution_configs=solution) as runtime:
        ok = runtime.run("return Weather.getForecast{days = 3}")
        bad = call(runtime, "return Weather.getWeather{city = 'Oslo', units = 'furlongs'}")
    assert ok.error is None and ok.response.message == {"days": [{"temp": 20}, {"temp": 22}]}
    assert ok.calls[0]["arguments"] == {"days": 3}  # the call log shows what the script gave
    assert bad["status"] == 400 and "units" in bad["error"]


def test_a_secret_config_parameter_never_reaches_the_call_log():
    standin = {"swagger": SWAGGER, "operations": {"getForecast": {"result": {"echo": "key k-SECRET-42"}}}}
    with weather(standin=standin, apikey="k-SECRET-42") as runtime:
        result = runtime.run("return Weather.getForecast{days = 1}")
    assert "k-SECRET-42" not in repr(result.calls) and "k-SECRET-42" not in repr(result.response)


def test_canned_answers_override_the_swagger_defaults():
    standin = {"swagger": SWAGGER, "operations": {
        "getWeather": {"result": {"temp": -3}},
        "getForecast": {"error": {"status": 503, "error": "upstream down"}},
    }}
    with weather(standin=standin, apikey="key-abc") as runtime:
        assert call(runtime, "return Weather.getWeather{city = 'Oslo'}") == {"temp": -3}
        assert call(runtime, "return Weather.getForecast{days = 2}") == {
            "error": "upstream down", "status": 503, "type": "ServerError", "status_code": 503}
        assert call(runtime, "return Weather.listStations{}") == {}  # no example: an empty table


def test_the_swagger_path_is_relative_to_config_yaml(tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "weather.yaml").write_text(Path(SWAGGER).read_text(encoding="utf-8"), encoding="utf-8")
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "services:\n  weather:\n    apikey: key-abc\n    standin:\n      swagger: services/weather.yaml\n",
        encoding="utf-8")
    with Runtime(load_config(config_file)) as runtime:
        assert call(runtime, "return Weather.getWeather{city = 'Rome'}")["sky"] == "clear"


@pytest.mark.parametrize("section,message", [
    ({"standin": {}}, r"services\.weather\.standin: needs operations"),
    ({"standin": {"opertions": {}}}, r"unknown key 'opertions' \(did you mean 'operations'\?\)"),
    ({"standin": {"swagger": "nope.yaml"}}, r"standin\.swagger: .*nope\.yaml: cannot read"),
    ({"standin": {"swagger": SWAGGER, "operations": {"getWether": {}}}},
     r"getWether: the Swagger document has no such operation \(did you mean 'getWeather'\?\)"),
    ({"standin": {"swagger": SWAGGER}, "apikye": "k"}, r"services\.weather\.apikye: unknown key \(did you mean"),
    ({"standin": {"operations": {"x": {"error": {"status": 200, "error": "e"}}}}}, r"error\.status: must be"),
    ({"standin": {"operations": {"x": {"result": 1, "error": {"status": 400, "error": "e"}}}}}, "not both"),
])
def test_a_bad_declaration_is_one_clear_config_error(section, message):
    with pytest.raises(ConfigError, match=message):
        weather(**section)


def test_a_malformed_swagger_document_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("swagger: '2.0'\npaths: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+:"):
        weather(standin={"swagger": str(bad)})
    loop = tmp_path / "loop.yaml"
    loop.write_text("swagger: '2.0'\nparameters: {a: {$ref: '#/parameters/a'}}\n"
                    "paths: {/x: {get: {operationId: x, parameters: [{$ref: '#/parameters/a'}], responses: {}}}}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="loops"):
        weather(standin={"swagger": str(loop)})
    with pytest.raises(ConfigError, match="not a Swagger 2.0 document"):
        weather(standin={"swagger": str(DATA / "echo_service.yaml")})


def test_a_standin_cannot_replace_an_emulated_service():
    with pytest.raises(ConfigError, match=r"services\.http\.standin: (unknown key|http is emulated)"):
        Runtime({"services": {"http": {"standin": {"operations": {"get": {}}}}}})


# -- stand-ins written in Lua ---------------------------------------------------------------------
WEATHER_LUA = """\
local served = 0                      -- lives as long as the caller's environment
local M = {}
function M.getWeather(args)
  served = served + 1
  if args.city == "Atlantis" then return {error = "no such city", status = 404} end
  return {temp = 20 + served, city = args.city, units = args.units, op = context.event,
          secret_seen = Secret ~= nil, home = os.getenv("HOME_CITY")}
end
M.boom = function() error("kaput") end
M.spin = function() while true do end end
M.remember = function(args) Keystore.set{key = "w", value = args.v}; return Keystore.get{key = "w"}.value end
M.again = function(args) return Weather.getWeather{city = args.city}.temp end
M.nothing = function() end
return M
"""


def lua_standin(tmp_path: Path, source: str = WEATHER_LUA, **standin: Any) -> Runtime:
    (tmp_path / "weather.lua").write_text(source, encoding="utf-8")
    config = {"services": {"weather": {"standin": {"lua": "weather.lua", **standin}}},
              "env": {"HOME_CITY": "Oslo"}}
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    return Runtime(load_config(config_file))


def test_a_lua_file_of_functions_implements_the_operations_inside_the_callers_execution(tmp_path):
    with lua_standin(tmp_path) as runtime:
        first = runtime.run("Secret = 1; return {Weather.getWeather{city = 'Rome'}, "
                            "murano.services.weather.getWeather{city = 'Oslo'}}")
        fresh = call(runtime, "return Weather.getWeather{city = 'Rome'}")
        missing = call(runtime, "return Weather.getWeather{city = 'Atlantis'}")
        boom = call(runtime, "return Weather.boom{}")
        nothing = call(runtime, "return Weather.nothing() == nil")
        hidden = call(runtime, "return served == nil and M == nil")
        unknown = runtime.run("return Weather.other{}")
    assert first.error is None, first.error
    assert first.response.message == [
        {"temp": 21, "city": "Rome", "op": "getWeather", "secret_seen": False, "home": "Oslo"},
        {"temp": 22, "city": "Oslo", "op": "getWeather", "secret_seen": False, "home": "Oslo"}]
    assert [c["operation"] for c in first.calls] == ["getWeather", "getWeather"]
    assert fresh["temp"] == 21  # a new environment loads the file again: its upvalues start over
    assert missing == {"error": "no such city", "status": 404}  # the function's value, as it returned it
    assert boom == {"error": "weather.lua:9: kaput", "status": 500, "type": "ServerError"}
    assert nothing is True and hidden is True
    assert unknown.error is None and unknown.response.message["status"] == 404
    assert unknown.response.message["error"].startswith("Weather.other is not emulated by murano-sim")


def test_a_lua_standin_keeps_its_state_while_the_callers_environment_lives(tmp_path):
    with lua_standin(tmp_path) as runtime:
        context = runtime.new_context()
        temps = [runtime.run("return Weather.getWeather{city = 'Rome'}.temp", context=context).response.message
                 for _ in range(3)]
    assert temps == [21, 22, 23]


def test_a_lua_standin_may_call_services_and_itself_under_the_callers_budgets(tmp_path):
    with lua_standin(tmp_path) as runtime:
        remembered = runtime.run("return Weather.remember{v = 'hi'}")
        again = call(runtime, "return Weather.again{city = 'Rome'}")
        spun = runtime.run("local ok = pcall(Weather.spin); return 'swallowed'")
    assert remembered.response.message == "hi"
    assert [c["operation"] for c in remembered.calls] == ["remember", "set", "get"]
    assert again == 21
    assert spun.error is not None and "instruction limit exceeded" in spun.error  # cannot be caught


def test_lua_functions_behind_a_swagger_document_get_its_validation_and_defaults(tmp_path):
    source = "return {getWeather = function(args) return {city = args.city, units = args.units} end}"
    with lua_standin(tmp_path, source, swagger=SWAGGER) as runtime:
        ok = call(runtime, "return Weather.getWeather{city = 'Rome', apikey = 'k'}")
        invalid = runtime.run("return Weather.getWeather{apikey = 'k'}")
        example = call(runtime, "return Weather.getForecast{days = 2, apikey = 'k'}")
    assert ok == {"city": "Rome", "units": "metric"}  # units: the config parameter's default
    assert invalid.response.message["status"] == 400 and "city: is required" in invalid.response.message["error"]
    assert [c["operation"] for c in invalid.calls] == ["getWeather"]
    assert example == {"days": [{"temp": 20}, {"temp": 22}]}  # not in the file: the Swagger example


def test_lua_functions_beside_canned_operations_and_their_arguments(tmp_path):
    source = "return {ping = function(args) return 'pong ' .. args.host end}"
    operations = {"ping": {"arguments": {"host": {"type": "string", "required": True}}},
                  "status": {"result": {"up": True}}}
    with lua_standin(tmp_path, source, operations=operations) as runtime:
        assert call(runtime, "return Weather.ping{host = 'h'}") == "pong h"
        assert call(runtime, "return Weather.ping{}")["error"] == "Weather.ping: host: is required"
        assert call(runtime, "return Weather.status{}") == {"up": True}


@pytest.mark.parametrize("source,standin,message", [
    ("return {", {}, r"standin\.lua: weather\.lua did not load: weather\.lua:\d+:"),
    ("return 42", {}, "must return a table of functions, returned a number"),
    ("return {}", {}, "returns no functions"),
    ("local t = Keystore.get{key = 'x'}\nreturn {f = function() end}", {}, r"weather\.lua:1: .*without services"),
    ("while true do end", {}, "instruction limit exceeded"),
    ("return {getWether = function() end}", {"swagger": SWAGGER},
     r"returns getWether, which the Swagger document does not have \(did you mean 'getWeather'\?\)"),
    ("return {ping = function() end}", {"operations": {"ping": {"result": 1}}}, "weather.lua implements ping"),
])
def test_a_bad_lua_standin_is_one_clear_config_error(tmp_path, source, standin, message):
    with pytest.raises(ConfigError, match=message):
        lua_standin(tmp_path, source, **standin)


def test_the_lua_path_must_exist(tmp_path):
    with pytest.raises(ConfigError, match=r"standin\.lua: .*nope\.lua: cannot read"):
        weather(standin={"lua": str(tmp_path / "nope.lua")})
