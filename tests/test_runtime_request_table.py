"""The request table a script sees: the usual fields go through a Lua constructor (vm.py's
_request_table), any other field through the general conversion; both must give the same table."""

from __future__ import annotations

import json

import pytest

from murano_sim import Runtime
from murano_sim.lua.vm import LuaVM

SHOW = ("return to_json({request = request,"
        " kinds = {type(request.parameters), type(request.headers), type(request.body)}})")

BASE = {"method": "post", "uri": "http://localhost/a?q=1", "route": "/a", "timestamp": 1700000000,
        "request_id": "abc", "server_ip": "127.0.0.1"}


@pytest.fixture
def runtime():
    with Runtime({}) as rt:
        yield rt


def _seen(runtime: Runtime, request: dict) -> dict:
    result = runtime.run(SHOW, request)
    assert result.error is None, result.error
    return json.loads(result.response.message)


@pytest.mark.parametrize("extra", [
    {},
    {"parameters": {"id": "7", "n": 3}, "headers": {"X-Ünï": "ça"}},
    {"body": {"a": [1, 2.5, True], "b": {"c": None, "d": []}}},
    {"body": "plain text"},
    {"body": 2**70},
    {"body": 12},
    {"body": False},
    {"body": 1.5},
    {"body": []},
    {"body": {}},
])
def test_usual_fields_give_the_table_the_general_conversion_gives(runtime, extra):
    fast = _seen(runtime, {**BASE, **extra})
    general = _seen(runtime, {**BASE, **extra, "other": "x"})  # a field outside the usual ones
    assert general["request"].pop("other") == "x"
    assert fast == general
    assert fast["request"]["method"] == "POST" and fast["request"]["request_id"] == "abc"
    assert fast["kinds"][:2] == ["table", "table"]


def test_a_wide_integer_and_a_nested_value_arrive_intact(runtime):
    seen = _seen(runtime, {**BASE, "parameters": {"deep": {"list": [1, {"x": "y"}]}}, "body": 2**70})
    assert seen["request"]["parameters"] == {"deep": {"list": [1, {"x": "y"}]}, "q": "1"}
    assert seen["request"]["body"] == float(2**70)


@pytest.mark.parametrize("request_", [
    {"method": "GET"},  # no parameters or headers: they stay nil
    {"method": "GET", "parameters": None, "headers": {}},
    {"method": "GET", "parameters": {"a": "b"}, "headers": None, "body": {}},
])
def test_a_request_without_the_usual_tables_keeps_them_absent(request_):
    """LuaVM.run takes any request mapping (Runtime.run always fills every field)."""
    with Runtime({}) as rt:
        limits = rt.config.limits
    vm = LuaVM()
    show = "return to_json({type(request.parameters), type(request.headers), type(request.body)})"
    fast = vm.run(show, "a.lua", limits, request_)
    general = vm.run(show, "a.lua", limits, {**request_, "other": 1})
    assert fast.ok and general.ok and fast.message == general.message
    expected = ["table" if isinstance(request_.get(k), dict) else "nil" for k in ("parameters", "headers", "body")]
    assert json.loads(fast.message) == expected
