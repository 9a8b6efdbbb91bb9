"""pytest --murano-cov: Lua line coverage through every path of the plugin, its reports, and the
sandbox's limits with the line hook on (docs/coverage.md).

The expected lines of tests/solutions/coverage are counted by hand from its files (comments in
the test say which line is which); nothing here is computed by the code under test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from engines import luajit_only
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

from murano_sim import Runtime
from murano_sim.lua import coverage
from murano_sim.lua.coverage import executable_lines

pytest_plugins = ["pytester"]
# Coverage reads lines with LuaJIT's jit.util; on Lua 5.1 it refuses (the test below runs that in a subprocess).
pytestmark = luajit_only("--murano-cov needs LuaJIT's jit.util")

SOLUTION = Path(__file__).parent / "solutions" / "coverage"

# By hand, from the files: the lines that hold a statement (a comment, a blank, a bare `end` or
# `else` hold none; a function's closing `end` makes the function, so it counts).
GREET = {3: 1, 4: 1, 6: 1, 7: 0, 8: 0, 10: 1}  # the yaml case names someone: 7-8 never run
NAMES_LINES = {2, 4, 5, 6, 8, 9, 11, 12, 13, 15}  # 12: names.unused's body, never called
DAYS = {3: 1, 4: 1, 5: 1, 6: 0}  # one day passes: n is 0, the print never runs


def test_executable_lines_of_hand_checked_chunks():
    assert executable_lines((SOLUTION / "modules" / "names.lua").read_text()) == NAMES_LINES
    # an if block closing the chunk: its `end` holds only the chunk's implicit return
    assert executable_lines("if x then\n  y()\nend") == {1, 2}
    # a constant field is in the table's template (line 1); a computed one is set on its own line
    assert executable_lines("local t = {\n  a = 1,\n}\nreturn t\n") == {1, 4}
    assert executable_lines("local t = {\n  a = x,\n}\nreturn t\n") == {1, 2, 4}
    assert executable_lines("f()") == {1}
    assert executable_lines("-- nothing\n") == set()
    assert executable_lines("local = 1") == set()  # a syntax error: nothing can run


def _inner(pytester: pytest.Pytester) -> Path:
    target = pytester.path / "solution"
    shutil.copytree(SOLUTION, target)
    return target


def _lcov_records(text: str) -> dict[str, dict[str, object]]:
    """SF -> {"DA": {line: hits}, "LF": n, "LH": n}; every record closed by end_of_record."""
    records: dict[str, dict[str, object]] = {}
    current: dict[str, object] | None = None
    for line in text.splitlines():
        if line == "TN:":
            assert current is None
        elif line.startswith("SF:"):
            assert current is None
            current = records[line[3:]] = {"DA": {}}
        elif line.startswith("DA:"):
            assert current is not None
            number, hits = line[3:].split(",")
            current["DA"][int(number)] = int(hits)  # type: ignore[index]
        elif line.startswith(("LF:", "LH:")):
            assert current is not None
            current[line[:2]] = int(line[3:])
        else:
            assert line == "end_of_record" and current is not None, line
            current = None
    assert current is None
    return records


def test_every_path_of_the_plugin_is_counted_with_the_hand_checked_lines(pytester):
    """A yaml case (served), a Lua test (modules), murano_solution (the timer handler): one report."""
    _inner(pytester)
    result = pytester.runpytest(
        # importlib mode: the outer suite imported this solution's test_days.py under the same name
        "solution", "--import-mode=importlib", "--murano-cov", "--murano-cov-source=solution",
        "--murano-cov-report=term", "--murano-cov-report=lcov:out/cov.lcov", "--murano-cov-report=xml:out/cov.xml",
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "File * Lines  Hit  Cover  Missing",
        "solution/endpoints/greet.lua *6    4    67%  7-8",
        "solution/modules/names.lua *10    9    90%  12",
        "solution/services/timer_timer.lua *4    3    75%  6",
        "TOTAL *20   16    80%",
    ])
    table = result.stdout.str().split("murano-sim Lua coverage")[1]
    assert "names_test.lua" not in table  # a test file is no solution file

    records = _lcov_records((pytester.path / "out" / "cov.lcov").read_text())
    assert set(records) == {"solution/endpoints/greet.lua", "solution/modules/names.lua",
                            "solution/services/timer_timer.lua"}
    greet, names, days = (records[f"solution/{f}"] for f in ("endpoints/greet.lua", "modules/names.lua",
                                                              "services/timer_timer.lua"))
    assert {k: bool(v) for k, v in greet["DA"].items()} == {k: bool(v) for k, v in GREET.items()}  # type: ignore[union-attr]
    assert (greet["LF"], greet["LH"]) == (6, 4)
    assert set(names["DA"]) == NAMES_LINES  # type: ignore[arg-type]
    assert [n for n, hits in names["DA"].items() if not hits] == [12]  # type: ignore[union-attr]
    assert names["DA"][6] == 1  # type: ignore[index] # only the Lua test greets ""
    assert (names["LF"], names["LH"]) == (10, 9)
    assert {k: bool(v) for k, v in days["DA"].items()} == {k: bool(v) for k, v in DAYS.items()}  # type: ignore[union-attr]

    _check_cobertura(ElementTree.parse(pytester.path / "out" / "cov.xml").getroot(), records)


# coverage-04.dtd: each element's required attributes and its children, in order.
DTD = {
    "coverage": ({"line-rate", "branch-rate", "lines-covered", "lines-valid", "branches-covered",
                  "branches-valid", "complexity", "version", "timestamp"}, ["sources", "packages"]),
    "sources": (set(), ["source*"]),
    "packages": (set(), ["package*"]),
    "package": ({"name", "line-rate", "branch-rate", "complexity"}, ["classes"]),
    "classes": (set(), ["class*"]),
    "class": ({"name", "filename", "line-rate", "branch-rate", "complexity"}, ["methods", "lines"]),
    "methods": (set(), ["method*"]),
    "lines": (set(), ["line*"]),
    "line": ({"number", "hits"}, []),
    "source": (set(), []),
}


def _check_dtd(element: ElementTree.Element) -> None:
    required, children = DTD[element.tag]
    assert required <= set(element.attrib), (element.tag, required - set(element.attrib))
    tags = [child.tag for child in element]
    if children and children[0].endswith("*"):
        assert set(tags) <= {children[0][:-1]}, tags
    else:
        assert tags == children, (element.tag, tags)
    for child in element:
        _check_dtd(child)


def _check_cobertura(root: ElementTree.Element, records: dict[str, dict[str, object]]) -> None:
    _check_dtd(root)
    assert (root.get("lines-valid"), root.get("lines-covered")) == ("20", "16")
    assert float(root.get("line-rate", "")) == pytest.approx(0.8)
    classes = {c.get("filename"): c for c in root.iter("class")}
    assert set(classes) == set(records)
    for filename, cls in classes.items():
        lines = {int(line.get("number", "")): int(line.get("hits", "")) for line in cls.iter("line")}
        assert lines == records[filename]["DA"]
    packages = {p.get("name") for p in root.iter("package")}
    assert packages == {"solution.endpoints", "solution.modules", "solution.services"}


def test_without_source_the_files_that_ran_are_listed(pytester):
    _inner(pytester)
    result = pytester.runpytest("solution/tests/test_greet.murano.yaml", "--murano-cov")
    result.assert_outcomes(passed=1)
    # names.lua's line 6 is the Lua test's; the served solution defines the timer handler (its
    # file ran) but never calls it; names_test.lua did not run and no --murano-cov-source lists it
    result.stdout.fnmatch_lines([
        "solution/endpoints/greet.lua *6    4    67%  7-8",
        "solution/modules/names.lua *10    8    80%  6, 12",
        "solution/services/timer_timer.lua *4    0     0%  3-6",
        "TOTAL *20   12    60%",
    ])


def test_a_file_no_test_ran_is_listed_at_zero_under_its_source(pytester):
    _inner(pytester)
    result = pytester.runpytest("solution/modules/names_test.lua", "--murano-cov", "--murano-cov-source=solution")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["solution/endpoints/greet.lua *6    0     0%  3-10"])


def test_xdist_workers_counts_come_back_to_the_controller(pytester):
    _inner(pytester)
    result = pytester.runpytest_subprocess(
        "solution", "-n", "2", "--murano-cov", "--murano-cov-report=lcov:cov.lcov",
    )
    result.assert_outcomes(passed=3)
    records = _lcov_records((pytester.path / "cov.lcov").read_text())
    names = records["solution/modules/names.lua"]["DA"]
    assert [n for n, hits in names.items() if not hits] == [12]  # type: ignore[attr-defined]
    assert names[6] == 1  # type: ignore[index] # the Lua test's, from whichever worker ran it
    assert (records["solution/endpoints/greet.lua"]["LF"], records["solution/endpoints/greet.lua"]["LH"]) == (6, 4)


@pytest.mark.parametrize("args, message", [
    (["--murano-cov", "--murano-cov-report=html"],
     "--murano-cov-report html: expected term, lcov[:PATH] or xml[:PATH]"),
    (["--murano-cov-report=term"], "--murano-cov-report and --murano-cov-source need --murano-cov"),
    (["--murano-cov", "--murano-cov-source=nowhere"], "--murano-cov-source */nowhere: not a folder"),
])
def test_bad_options_are_one_line(pytester, args, message):
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str()


def test_on_lua51_coverage_refuses_in_one_line(tmp_path):
    # The engine is chosen at import: a fresh pytest process on Lua 5.1 (README: Portability).
    target = tmp_path / "solution"
    shutil.copytree(SOLUTION, target)
    env = {**os.environ, "MURANO_SIM_LUA": "lua51"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:xdist", "--murano-cov",
                           str(target)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert "--murano-cov needs LuaJIT (its jit.util reads the lines); this run is plain Lua 5.1" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


# -- the sandbox with the line hook on ------------------------------------------------------------
@pytest.fixture
def counting() -> Iterator[coverage.LineCoverage]:
    collector = coverage.start()
    try:
        yield collector
    finally:
        coverage.stop()


LIMITS = {"lua": {"max_instructions": 100_000, "max_memory": 2_000_000}}


def test_the_instruction_limit_holds_with_the_line_hook(counting):
    with Runtime(LIMITS) as runtime:
        result = runtime.run("local n = 0\nwhile true do\n  n = n + 1\nend\n", name="spin.lua")
    assert result.error == "instruction limit exceeded (lua.max_instructions = 100000)"
    (spin,) = counting.data()
    assert spin.hits[3] > 1000  # the loop ran, and was counted, until the limit stopped it


MEMORY_SCRIPT = """local parts = {}
for i = 1, {n} do
  parts[i] = string.rep("x", 1000) .. i
end
return #parts
"""


@pytest.mark.parametrize("n, fails", [(1200, False), (4000, True)])
def test_the_memory_budget_is_the_same_with_the_line_hook(n, fails):
    """Counting allocates nothing in the run: a script near the budget fits, one past it fails,
    with coverage on as with it off."""
    source = MEMORY_SCRIPT.replace("{n}", str(n))
    outcomes = []
    for on in (False, True):
        if on:
            coverage.start()
        try:
            with Runtime(LIMITS) as runtime:
                outcomes.append(runtime.run(source, name="grow.lua").error)
        finally:
            coverage.stop()
    assert outcomes[0] == outcomes[1]
    assert (outcomes[0] == "memory limit exceeded (lua.max_memory = 2000000 bytes)") is fails


def test_scripts_neither_see_nor_change_the_hook_and_globals_still_work(counting):
    module = "shared = 41\nlocal M = {}\nfunction M.bump() shared = shared + 1 return shared end\nreturn M\n"
    source = (
        "local m = require('m')\n"
        "return {debug = type(debug), getfenv = type(getfenv), sethook = type(rawget(_G, 'debug')),\n"
        "        bumped = m.bump(), raw = rawget(_G, 'shared'), same = (_G == _G._G)}\n"
    )
    with Runtime() as runtime:
        result = runtime.run(source, name="e.lua", modules={"m": ("modules/m.lua", module)})
    assert result.error is None
    assert result.response.message == {"debug": "nil", "getfenv": "nil", "sethook": "nil", "bumped": 42,
                                       "raw": 42, "same": True}
    assert {f.name: f.hit for f in counting.data()} == {"e.lua": 3, "modules/m.lua": 4}
