"""A memory-limit error names the file:line that was allocating, as instruction and time limits do.

LuaJIT calls no error handler on out-of-memory: sandbox.lua's count hook notes the running line once
the heap nears the budget (docs/running-scripts.md)."""

from __future__ import annotations

from pathlib import Path

from engines import luajit_only
from lua_support import run_cli_requiring

from murano_sim import Runtime

ROOT = Path(__file__).resolve().parent.parent
MEMORY = "memory limit exceeded (lua.max_memory = 1048576 bytes)"
BIG = {"lua": {"max_instructions": 10**9, "timeout_seconds": 60}}


def test_a_memory_limit_error_names_the_line_that_grows_the_table():
    with Runtime(BIG) as runtime:
        grown = runtime.run("local t = {}\nfor i = 1, 1e9 do\n  t[i] = {i}\nend\n")
        in_function = runtime.run("local t = {}\nlocal function grow(n)\n  for i = 1, n do\n"
                                  "    t[#t + 1] = tostring(i) .. '-'\n  end\nend\ngrow(1e9)\n")
    # the note is the line of the tick before the error: the loop's body, or its `for` line (LuaJIT
    # gives the loop's back jump the `for` line), never outside the loop
    assert grown.error == MEMORY and grown.error_at in ("script.lua:2", "script.lua:3")
    assert in_function.error == MEMORY and in_function.error_at in ("script.lua:3", "script.lua:4")


def test_a_memory_limit_error_in_a_module_names_the_modules_line_through_the_cli(tmp_path):
    result = run_cli_requiring(
        tmp_path / "solution", "hoard",
        "local M = {}\nfunction M.go()\n  local t = {}\n  for i = 1, 1e9 do t[i] = {i} end\nend\nreturn M\n",
        "local hoard = require('hoard')\nhoard.go()\n", timeout=120)
    assert (result["error"], result["error_at"]) == (MEMORY, "modules/hoard.lua:4")


@luajit_only("Lua 5.1 needs about twice a string's size while building it (docs/sandbox.md, On plain Lua 5.1)")
def test_noting_the_line_costs_a_script_near_its_budget_nothing():
    # 98% of the budget held through ~3000 hook ticks: the notes' own garbage must not tip it over
    held = int(1048576 * 0.98)
    script = f"local big = string.rep('x', {held})\nlocal x = 0\nfor i = 1, 1e6 do x = x + i end\nreturn #big"
    with Runtime(BIG) as runtime:
        result = runtime.run(script)
    assert result.error is None and result.response.message == held
