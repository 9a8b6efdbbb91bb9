"""Limits stop runaway scripts with an error naming the limit; the next run is unaffected."""

from __future__ import annotations

import pytest

from murano_sim import Runtime

INSTRUCTIONS = "instruction limit exceeded (lua.max_instructions = 65536)"
MEMORY = "memory limit exceeded (lua.max_memory = 1048576 bytes)"

BOMBS = {
    "busy loop": ("while true do end", INSTRUCTIONS),
    "pcall swallowing the limit": ("while true do pcall(function() while true do end end) end", INSTRUCTIONS),
    "xpcall swallowing the limit": (
        "while true do xpcall(function() while true do end end, function() return 'caught' end) end", INSTRUCTIONS),
    "string.rep bomb": ("local s = string.rep('x', 1e9) return #s", MEMORY),
    "string.rep bomb under pcall": ("local ok = pcall(string.rep, 'x', 1e9) return 'survived'", MEMORY),
    "doubling string": ("local s = 'x' while true do s = s .. s end", MEMORY),
    "table-filling memory bomb": ("local t = {} local i = 0 while true do i = i + 1 t[i] = {i} end", None),
    "error object whose __tostring loops": (
        "error(setmetatable({}, {__tostring = function() while true do end end}))", INSTRUCTIONS),
    "print forever": ("while true do print('spam') end", INSTRUCTIONS),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_limit_stops_the_script_and_next_run_is_clean(runtime, name):
    source, expected = BOMBS[name]
    result = runtime.run(source)
    assert result.response.code == 500
    if expected is None:
        assert result.error in (INSTRUCTIONS, MEMORY)
    else:
        assert result.error == expected
    after = runtime.run("local t = {} for i = 1, 100 do t[i] = i end return #t")
    assert after.error is None and after.response.message == 100


def test_unbounded_recursion_is_stopped(runtime):
    result = runtime.run("local function f(n) return f(n + 1) + 1 end return f(1)")
    assert result.response.code == 500
    assert result.error in (INSTRUCTIONS, MEMORY) or result.error.endswith("stack limit of 65500 slots)")
    assert runtime.run("return 1").response.message == 1


def test_print_forever_keeps_logs_bounded():
    with Runtime({"lua": {"max_instructions": 10_000_000, "max_log_lines": 50}}) as rt:
        result = rt.run("while true do print('spam') end")
    assert result.error.startswith("instruction limit exceeded")
    assert len(result.logs) == 51
    assert result.logs[-1].startswith("[log truncated: lua.max_log_lines = 50")


def test_log_bytes_are_bounded():
    with Runtime({"lua": {"max_log_bytes": 1000}}) as rt:
        result = rt.run("for i = 1, 100 do print(string.rep('y', 100)) end")
    assert result.error is None
    assert sum(len(line) for line in result.logs[:-1]) <= 1000
    assert result.logs[-1].startswith("[log truncated")


def test_timeout_names_its_limit():
    with Runtime({"lua": {"max_instructions": 10**12, "timeout_seconds": 0.2}}) as rt:
        result = rt.run("while true do end")
    assert result.error == "time limit exceeded (lua.timeout_seconds = 0.2)"


def test_limits_can_be_raised_in_config():
    loop = "local n = 0 for i = 1, 100000 do n = n + i end return n"
    with Runtime({}) as rt:
        assert rt.run(loop).error == INSTRUCTIONS
    with Runtime({"lua": {"max_instructions": 2_000_000}}) as rt:
        assert rt.run(loop).response.message == 5000050000


def test_memory_limit_can_be_raised_in_config():
    script = "local s = string.rep('x', 4 * 1024 * 1024) return #s"
    with Runtime({}) as rt:
        assert rt.run(script).error == MEMORY
    with Runtime({"lua": {"max_memory": 16 * 1024 * 1024}}) as rt:
        assert rt.run(script).response.message == 4 * 1024 * 1024


def test_each_run_gets_the_whole_memory_budget(runtime):
    script = "local s = string.rep('x', 400 * 1024) return #s"
    for _ in range(5):  # 2 MB in all: garbage of earlier runs never eats this run's budget
        assert runtime.run(script).response.message == 400 * 1024


def test_instruction_limit_is_counted_to_within_a_thousand():
    # An empty numeric for loop costs one VM instruction per iteration.
    with Runtime({"lua": {"max_instructions": 10_500}}) as rt:
        assert rt.run("for i = 1, 9000 do end return 'done'").response.message == "done"
        assert rt.run("for i = 1, 11500 do end return 'done'").error == (
            "instruction limit exceeded (lua.max_instructions = 10500)")
