"""Every escape route of LUA_SANDBOX.md is closed, each by its own test."""

from __future__ import annotations

import pytest

from murano_sim import Runtime


def value(rt: Runtime, source: str):
    result = rt.run(source)
    assert result.error is None, result.error
    return result.response.message


@pytest.mark.parametrize(
    "name",
    ["python", "debug", "io", "package", "dofile", "loadfile", "jit", "ffi", "collectgarbage",
     "getfenv", "setfenv", "newproxy", "module", "gcinfo"],
)
def test_dangerous_global_is_absent(runtime, name):
    assert value(runtime, f"return type({name})") == "nil"


def test_coroutine_library_is_there_as_in_murano(runtime):
    # Murano scripts have `coroutine`; its limits are covered in test_hardening_runtime.py.
    source = ("local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)"
              " return {co(1), co(5)}")
    assert value(runtime, source) == [2, 10]


def test_python_bridge_is_unreachable_even_through_package_loaded(runtime):
    assert value(runtime, "return tostring(package) .. tostring(rawget(_G, 'python'))") == "nilnil"


def test_python_object_walk_fails_because_python_is_gone(runtime):
    result = runtime.run("return python.none.__class__.__base__.__subclasses__()")
    assert result.error is not None and "python" in result.error


def test_require_of_ffi_is_refused(runtime):
    result = runtime.run('local ffi = require("ffi") return ffi.C')
    assert result.error == "script.lua:1: module 'ffi' not found"


def test_string_dump_is_removed(runtime):
    assert value(runtime, "return type(string.dump)") == "nil"


def test_bytecode_is_refused_by_load(runtime):
    message = value(runtime, r'local f, err = load("\27LJ\2\0") return {type(f), err}')
    assert message[0] == "nil" and "binary chunk" in message[1]


def test_load_cannot_reach_the_real_globals(runtime):
    assert value(runtime, 'return type(load("return debug")()) .. type(loadstring("return jit")())') == "nilnil"


def test_load_defaults_to_the_script_environment(runtime):
    assert value(runtime, 'x = 41 return load("return x + 1")()') == 42


def test_string_metatable_is_locked(runtime):
    assert value(runtime, 'return tostring(getmetatable(""))') == "false"
    result = runtime.run('getmetatable("").__index = {upper = function() return "pwned" end}')
    assert result.error is not None


def test_os_has_only_murano_subset(runtime):
    names = value(runtime, "local t = {} for k in pairs(os) do t[#t + 1] = k end table.sort(t) return t")
    assert names == ["clock", "date", "difftime", "getenv", "now", "time"]  # os.now: modern Murano (ms)


def test_os_getenv_never_reads_the_host_environment(monkeypatch):
    monkeypatch.setenv("MURANO_SIM_HOST_SECRET", "leak")
    with Runtime({"env": {"GREETING": "hello"}}) as rt:
        assert value(rt, 'return {os.getenv("GREETING"), os.getenv("MURANO_SIM_HOST_SECRET") or "absent"}') == [
            "hello", "absent"]


def test_every_reachable_global_is_a_plain_lua_value(runtime):
    found = value(runtime, """
        local bad, seen = {}, {}
        local function walk(t, path)
          if seen[t] then return end
          seen[t] = true
          for k, v in pairs(t) do
            local kind = type(v)
            if kind == "userdata" or kind == "thread" or kind == "cdata" then
              bad[#bad + 1] = path .. "." .. tostring(k)
            end
            if kind == "table" then walk(v, path .. "." .. tostring(k)) end
          end
        end
        walk(_G, "_G")
        return {bad = bad, to_json = type(to_json), postMessage = type(Twilio.postMessage)}
    """)
    assert found == {"bad": {}, "to_json": "function", "postMessage": "function"}


@pytest.mark.parametrize(
    "call",
    [
        "to_json(function() end)",
        "to_json(setmetatable({}, {__index = function() error('x') end}))",
        "from_json({})",
        "from_json(string.rep('[', 100000))",
        "to_json('\\255')",
        "Twilio.postMessage({To = function() end})",
        "Twilio.postMessage('not a table')",
        "Twilio.getCall({CallSid = {1, 2, {3}}})",
        "bench.measure(function() error({}) end)",
    ],
)
def test_host_failures_never_hand_lua_a_python_object(runtime, call):
    kinds = value(runtime, f"""
        local results = {{pcall(function() return {call} end)}}
        local kinds = {{}}
        local function walk(v, depth)
          local kind = type(v)
          kinds[#kinds + 1] = kind
          if kind == "table" and depth < 4 then for _, x in pairs(v) do walk(x, depth + 1) end end
        end
        for i = 1, 4 do walk(results[i], 0) end
        return kinds
    """)
    assert set(kinds) <= {"nil", "boolean", "string", "number", "table"}, kinds
