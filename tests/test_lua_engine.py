"""MURANO_SIM_LUA selects the Lua engine, in a real subprocess each: plain Lua 5.1 is never silent unless
chosen, a bad value is one line, and where Lua 5.1 lacks a LuaJIT feature (goto) the error says why."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = ("from murano_sim import Runtime\n"
         "with Runtime({}) as rt:\n"
         "    r = rt.run('local i = 0 ::top:: i = i + 1 if i < 3 then goto top end return i')\n"
         "    print(r.error or r.response.message)\n")


# Run as on a lupa wheel without LuaJIT (macOS): the import of lupa.luajit21 fails, nothing else changes.
NO_LUAJIT = "import sys; sys.modules['lupa.luajit21'] = None\n"


def _python(engine: str | None, code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MURANO_SIM_LUA"}
    if engine is not None:
        env["MURANO_SIM_LUA"] = engine
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_without_luajit_lua51_says_at_start_that_it_is_not_luajit_and_refuses_goto_with_the_reason():
    proc = _python(None, NO_LUAJIT + PROBE)
    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr.splitlines()
    assert len(warnings) == 1 and "plain Lua 5.1, not LuaJIT" in warnings[0]
    assert "goto and ::labels:: need LuaJIT" in proc.stdout
    assert proc.stdout.startswith("script.lua:1:")


def test_lua51_chosen_is_quiet_and_refuses_goto_the_same_way():
    proc = _python("lua51", PROBE)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # who set MURANO_SIM_LUA=lua51 knows
    assert "goto and ::labels:: need LuaJIT" in proc.stdout and proc.stdout.startswith("script.lua:1:")


def test_luajit_chosen_where_there_is_none_is_one_line_and_exit_2():
    proc = _python("luajit", NO_LUAJIT + "import murano_sim.lua.engine")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "MURANO_SIM_LUA=luajit, but this lupa wheel has no LuaJIT" in proc.stderr


def test_luajit_runs_goto_without_a_warning():
    pytest.importorskip("lupa.luajit21", reason="this lupa wheel has no LuaJIT (macOS)")
    proc = _python(None, PROBE)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "3\n", "")
    assert _python("LuaJIT", PROBE).stdout == "3\n"  # the setting's case does not matter


def test_an_unknown_engine_is_one_line_and_exit_2():
    proc = _python("lua54", "import murano_sim.lua.engine")
    assert proc.returncode == 2
    assert proc.stderr == "murano-sim: MURANO_SIM_LUA='lua54' is not a Lua engine; use luajit or lua51\n"


def test_luajit_stays_luajit_when_fakeredis_loaded_lua51_first():
    # fakeredis imports lupa.lua51 with RTLD_GLOBAL (for EVAL); lupa.luajit21 imported after it used to
    # call that module's Lua 5.1 functions: no `jit`, goto refused, 2-3x slower.
    code = ("import fakeredis, lupa.lua51\n" + PROBE
            + "    print(rt._vm._lua.lua_implementation.decode())\n")
    proc = _python(None, code)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "3" and lines[1].startswith("LuaJIT"), proc.stdout


def test_a_luajit_module_bound_to_lua51_is_refused_with_the_reason():
    # Imported by someone else before murano-sim, without engine.py's binding: refused, not run as LuaJIT.
    code = ("import sys, os, lupa\n"
            "with lupa.allow_lua_module_loading():\n"
            "    import lupa.lua51\n"
            "import lupa.luajit21\n"
            "from murano_sim import Runtime\n"
            "try:\n"
            "    Runtime({}).run('return 1')\n"
            "except RuntimeError as exc:\n"
            "    print(exc)\n")
    proc = _python(None, code)
    assert proc.returncode == 0, proc.stderr
    assert "runs another lupa module's Lua 5.1" in proc.stdout, proc.stdout
