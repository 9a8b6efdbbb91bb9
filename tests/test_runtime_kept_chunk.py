"""A script's compiled main chunk is kept for the next run of the same script (sandbox.lua's
compile_main): each run must still get its own environment, and what an earlier run's functions
captured must stay theirs."""

from __future__ import annotations

import pytest

from murano_sim import Runtime

COUNTER = "counter = (counter or 0) + 1 return tostring(counter)"


@pytest.fixture
def runtime():
    with Runtime({}) as rt:
        yield rt


def test_the_same_script_twice_starts_from_fresh_globals(runtime):
    assert [runtime.run(COUNTER).response.message for _ in range(3)] == ["1", "1", "1"]


def test_a_shared_context_keeps_its_globals_across_runs_of_the_same_script(runtime):
    context = runtime.new_context()
    seen = [runtime.run(COUNTER, context=context).response.message for _ in range(3)]
    assert seen == ["1", "2", "3"]
    assert runtime.run(COUNTER).response.message == "1"  # a fresh run between does not see it


def test_a_function_made_by_an_earlier_run_keeps_that_runs_globals(runtime):
    source = "marker = marker or 'first' if not keep then function keep() return marker end end return keep()"
    context = runtime.new_context()
    assert runtime.run(source, context=context).response.message == "first"
    # the same source in fresh environments: their own `keep`, their own marker
    assert runtime.run(source, globals={"marker": "second"}).response.message == "second"
    assert runtime.run(source).response.message == "first"
    # the kept chunk ran in other environments since; the context's globals and function are its own
    assert runtime.run(source, context=context, globals={"other": 1}).response.message == "first"
    assert runtime.run("return tostring(keep ~= nil)", context=context).response.message == "true"


def test_the_chunk_name_still_names_each_run_s_errors(runtime):
    for name in ("a.lua", "b.lua", "a.lua"):
        result = runtime.run("local x = nil; return x.y", name=name)
        assert result.error is not None and result.error.startswith(name + ":1:")


def test_a_script_that_fails_to_compile_still_fails_each_time(runtime):
    for _ in range(2):
        result = runtime.run("return (")
        assert result.error is not None and "script.lua:1:" in result.error


def test_solution_modules_kept_in_lua_follow_every_change_of_the_modules(runtime):
    # The modules' sources reach Lua once while they stay the same (vm.py _module_tables): a changed
    # source, a new module or a removed one must be what the next run requires.
    modules = {"lib.util": ("modules/lib/util.lua", "return {n = 1}")}
    script = "local ok, m = pcall(require, 'lib.util') return ok and m.n or m"
    assert runtime.run(script, modules=modules).response.message == 1
    assert runtime.run(script, modules=modules).response.message == 1
    modules["lib.util"] = ("modules/lib/util.lua", "return {n = 2}")  # the same dict, edited in place
    assert runtime.run(script, modules=modules).response.message == 2
    assert runtime.run(script, modules={"lib.util": ("modules/lib/util.lua", "return {n = 3}")}).response.message == 3
    missing = runtime.run(script, modules={"lib.other": ("modules/lib/other.lua", "return {}")}).response.message
    assert "module 'lib.util' not found" in missing
    assert runtime.run("local u = require('lib.util') u.n = 9 return u.n", modules=modules).response.message == 9
    assert runtime.run(script, modules=modules).response.message == 2  # a run's changes stay in that run
