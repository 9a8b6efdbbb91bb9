"""Murano's globals: response, request, to_json/from_json, print, bench, os."""

from __future__ import annotations

import json
import re

import pytest
from engines import luajit_only

from murano_sim import Runtime


def message(rt: Runtime, source: str, **kwargs):
    result = rt.run(source, **kwargs)
    assert result.error is None, result.error
    return result.response.message


def test_response_defaults(runtime):
    result = runtime.run("")
    assert (result.response.code, result.response.message) == (200, "Ok")
    assert result.response.headers == {"content-type": "text/plain"}


def test_return_string_sets_message(runtime):
    result = runtime.run("return 'hello'")
    assert result.response.message == "hello"
    assert result.response.headers["content-type"] == "text/plain"


def test_return_table_sets_json_message(runtime):
    result = runtime.run("response.code = 201 return {a = 1, list = {1, 2}}")
    assert result.response.code == 201
    assert result.response.message == {"a": 1, "list": [1, 2]}
    assert result.response.headers["content-type"] == "application/json"


def test_script_headers_are_kept(runtime):
    result = runtime.run("response.headers['Content-Type'] = 'text/html' response.headers['x-a'] = 'b' return '<p>'")
    assert result.response.headers == {"content-type": "text/html", "x-a": "b"}


def test_request_fields(runtime):
    got = message(runtime, "return request", request={"method": "POST", "parameters": {"id": "7"}})
    assert got["method"] == "POST" and got["parameters"] == {"id": "7"}
    assert {"uri", "route", "headers", "timestamp", "request_id", "server_ip"} <= set(got)


def test_request_and_response_are_also_chunk_arguments(runtime):
    assert message(runtime, "local req, resp = ... resp.message = req.method") == "GET"


def test_json_body_arrives_as_table(runtime):
    got = message(runtime, "return request.body.temp * 2",
                  request={"body": '{"temp": 21}', "headers": {"Content-Type": "application/json"}})
    assert got == 42


def test_plain_body_stays_a_string(runtime):
    assert message(runtime, "return request.body", request={"body": "a=1&b=2"}) == "a=1&b=2"


@pytest.mark.parametrize(
    "lua, expected",
    [
        ("{a = {b = {c = 1}}}", {"a": {"b": {"c": 1}}}),
        ("{1, 2, 3}", [1, 2, 3]),
        ("{}", {}),
        ("{1, nil, 3}", {"1": 1, "3": 3}),
        ("{[1] = 'a', x = 'b'}", {"1": "a", "x": "b"}),
        ("'h\\195\\169llo \\226\\130\\172'", "héllo €"),
        ("1.5", 1.5),
        ("true", True),
    ],
)
def test_to_json(runtime, lua, expected):
    encoded = message(runtime, f"local s, err = to_json({lua}) assert(err == nil, err) return s")
    assert json.loads(encoded) == expected


def test_to_json_reports_unencodable_values_without_raising(runtime):
    got = message(runtime, """
        local a, e1 = to_json({f = function() end})
        local t = {} t.self = t
        local b, e2 = to_json(t)
        return {tostring(a), e1, tostring(b), e2}
    """)
    assert got[0] == "nil" and "function" in got[1]
    assert got[2] == "nil" and "itself" in got[3]


def test_from_json_round_trip(runtime):
    got = message(runtime, """
        local t, err = from_json('{"a":[1,2,{"b":null,"c":"\\\\u00e9"}],"n":-0.5,"t":true,"e":{}}')
        assert(err == nil)
        return {first = t.a[1], count = #t.a, b = tostring(t.a[3].b), c = t.a[3].c, n = t.n, t = t.t,
                e = next(t.e) == nil}
    """)
    assert got == {"first": 1, "count": 3, "b": "nil", "c": "é", "n": -0.5, "t": True, "e": True}


@pytest.mark.parametrize("bad", ["'{bad'", "''", "'[1,'", "nil", "42", "'NaN'"])
def test_from_json_invalid_gives_nil_and_error(runtime, bad):
    got = message(runtime, f"local v, err = from_json({bad}) return {{tostring(v), type(err)}}")
    assert got == ["nil", "string"]


def test_print_goes_to_logs_in_murano_rendering(runtime):
    result = runtime.run("print('a', 1, 2.5, true, nil) print({b = 2, a = 'foo'}) print({1, 2, 3})")
    assert result.logs == ["a 1 2.5 true <nil>", "map[a:foo b:2]", "[1 2 3]"]


def test_bench_measure_returns_results_and_go_duration(runtime):
    got = message(runtime, "return {bench.measure(function(a, b) return a + b, 'x' end, 1, 2)}")
    assert got[:2] == [3, "x"]
    assert re.fullmatch(r"\d+(\.\d+)?(ns|µs|ms|s)", got[2])


def test_os_subset_works(runtime):
    got = message(runtime, "return {type(os.time()), os.date('!%Y', 0), os.difftime(5, 2), type(os.clock())}")
    assert got == ["number", "1970", 3, "number"]


@luajit_only("goto and labels are LuaJIT's (Lua 5.2) syntax; tests/test_lua_engine.py checks Lua 5.1's refusal")
def test_goto_is_available_as_in_luajit(runtime):
    assert message(runtime, "local i = 0 ::top:: i = i + 1 if i < 3 then goto top end return i") == 3


def test_format_s_takes_any_value_through_tostring_as_luajit_does(runtime):
    # Lua 5.1's own format refuses nil and tables for %s; the sandbox answers as LuaJIT on both engines.
    source = ('local t = setmetatable({}, {__tostring = function() return "T" end}) '
              'return string.format("%s|%5s|%%s|%d|%s|%q", nil, true, 3, t, "a")')
    assert message(runtime, source) == 'nil| true|%s|3|T|"a"'


def test_no_integer_division_operator_as_in_lua51(runtime):
    assert runtime.run("return 7 // 2").error is not None


def test_service_operations_are_lua_functions(runtime):
    ops = message(runtime, "local t = {} for k, v in pairs(Twilio) do t[#t + 1] = k .. ':' .. type(v) end "
                           "table.sort(t) return t")
    assert len(ops) == 12 and all(op.endswith(":function") for op in ops)
    assert message(runtime, "return type(twilio) == 'table' and twilio.postMessage == Twilio.postMessage") is True


def test_uncaught_error_gives_500_with_script_name_and_line(runtime):
    result = runtime.run("local x = 1\nerror('boom')", name="alarm.lua")
    assert result.response.code == 500
    assert result.error == "alarm.lua:2: boom"


def test_runtime_error_names_line(runtime):
    result = runtime.run("\n\nlocal t = nil\nreturn t.field", name="s.lua")
    assert result.error.startswith("s.lua:4: attempt to index")


def test_error_with_table_value_gets_position(runtime):
    result = runtime.run("\nerror({code = 1})", name="s.lua")
    assert result.error.startswith("s.lua:2: ")


def test_syntax_error_is_reported(runtime):
    result = runtime.run("local = 1", name="broken.lua")
    assert result.response.code == 500 and result.error.startswith("broken.lua:1:")


def test_empty_json_arrays_stay_arrays(runtime):
    got = message(runtime, """
        local t = from_json('{"a":[],"b":{}}')
        print(t.a, t.b)
        return {json = to_json(t), a = t.a, b = t.b, n = #t.a}
    """)
    assert got == {"json": '{"a":[],"b":{}}', "a": [], "b": {}, "n": 0}
    assert runtime.run("print(from_json('[]'), {})").logs == ["[] map[]"]


def test_empty_list_in_a_service_result_stays_a_list(runtime):
    assert message(runtime, "return Twilio.listCall{To = '+15550001111'}")["calls"] == []
