"""One runtime, many runs: nothing a script changes is visible to the next run."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "poison, probe, clean",
    [
        ("leaked = 'yes'", "return tostring(leaked)", "nil"),
        ("_G.print = nil", "return type(print)", "function"),
        ("string.upper = function() return 'pwned' end", "return string.upper('a')", "A"),
        ("string.upper = function() return 'pwned' end", "return ('a'):upper()", "A"),
        ("table.insert = nil", "return type(table.insert)", "function"),
        ("math.pi = 3", "return math.pi > 3.14", True),
        ("os.time = nil", "return type(os.time)", "function"),
        ("Twilio.postMessage = nil", "return type(Twilio.postMessage)", "function"),
        ("bench.measure = nil", "return type(bench.measure)", "function"),
        ("setmetatable(_G, {__index = function() return 'meta' end})", "return tostring(undefined_name)", "nil"),
        # the parts each run's environment is built from are shared: the copies must not be
        ("coroutine.wrap = nil", "return type(coroutine.wrap)", "function"),
        ("os.getenv = function() return 'pwned' end", "return tostring(os.getenv('NOPE'))", "nil"),
        ("Keystore.extra = 1", "return tostring(rawget(Keystore, 'extra'))", "nil"),
        ("getmetatable(Keystore).__index = function() return 'pwned' end",
         "return type(Keystore.noSuchOperation)", "function"),
        ("Mqtt.extra = 1", "return tostring(rawget(Mqtt, 'extra'))", "nil"),
        ("murano.services.keystore.get = nil", "return type(murano.services.keystore.get)", "function"),
        ("json.null = 1", "return tostring(json.null)", "null"),
        ("log.info = nil", "return type(log.info)", "function"),
    ],
)
def test_changes_do_not_leak_into_the_next_run(runtime, poison, probe, clean):
    poisoned = runtime.run(poison + "\n" + probe)
    assert poisoned.error is None, poisoned.error
    assert poisoned.response.message != clean  # the poison did take effect in its own run
    assert runtime.run(probe).response.message == clean


def test_string_methods_use_the_runs_own_string_table(runtime):
    result = runtime.run("string.shout = function(s) return s:upper() .. '!' end return ('hi'):shout()")
    assert result.response.message == "HI!"
    assert runtime.run("return type(('hi').shout)").response.message == "nil"


def test_random_sequence_is_reseeded_per_run(runtime):
    runtime.run("math.randomseed(42)")
    first = runtime.run("return math.random(1, 1000000)").response.message
    runtime.run("math.randomseed(42)")
    second = runtime.run("return math.random(1, 1000000)").response.message
    assert first != second


def test_each_run_lists_every_global_and_service_operation(runtime):
    probe = (
        "local names = {} for k in pairs(_G) do names[#names + 1] = k end table.sort(names) "
        "local ops = {} for k, v in pairs(Twilio) do ops[#ops + 1] = k .. ':' .. type(v) end table.sort(ops) "
        "return table.concat(names, ',') .. '|' .. table.concat(ops, ',')"
    )
    first = runtime.run(probe + "").response.message
    runtime.run("Twilio.extra = 1 Twilio.postMessage = nil newglobal = 1 Keystore = nil")
    assert runtime.run(probe).response.message == first
    names, ops = first.split("|")
    assert {"Keystore", "Twilio", "string", "os", "json", "require", "_G"} <= set(names.split(","))
    assert "postMessage:function" in ops.split(",")
