"""What Lua line coverage (pytest --murano-cov) costs when it is on.

1. One Runtime runs an endpoint that requires a module and loops (the shape of a solution's
   script) N times, with coverage off and on, interleaved, best of R: the cost per run.
2. The example solution's test suite (scripts/example-solution: yaml cases, Lua tests, fixture
   tests, served solutions) as pytest sessions without and with --murano-cov (all three
   reports), interleaved, best of R: the cost for a whole suite.
Both are CPU time (of this process, of the pytest process), not wall time: on a shared machine
the wall clock measures the neighbours.

Off, the only cost is one check per run (see bench_plugin_cases.py for the per-case bench).
Usage: python scripts/bench/bench_coverage.py [N] [REPEAT]
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(CHECKOUT))

from murano_sim.lua import coverage  # noqa: E402 - this checkout's, whatever is installed
from murano_sim.runtime import Runtime  # noqa: E402

MODULE = """local M = {}
function M.score(values)
  local total = 0
  for _, v in ipairs(values) do
    if v > 10 then
      total = total + v
    else
      total = total - 1
    end
  end
  return total
end
return M
"""
ENDPOINT = """local m = require("m")
local values = {}
for i = 1, 50 do
  values[i] = i
end
response.code = 200
return {score = m.score(values)}
"""


def per_run(tests: int, on: bool) -> float:
    if on:
        coverage.start()
    try:
        with Runtime({}) as runtime:
            modules = {"m": ("modules/m.lua", MODULE)}
            runtime.run(ENDPOINT, name="endpoints/score.lua", modules=modules)
            started = time.process_time()  # CPU time: the machine's other load is not ours
            for _ in range(tests):
                result = runtime.run(ENDPOINT, name="endpoints/score.lua", modules=modules)
            elapsed = (time.process_time() - started) / tests
            assert result.error is None, result.error
            return elapsed
    finally:
        coverage.stop()


def suite(on: bool) -> float:
    env = dict(os.environ, PYTHONPATH=str(CHECKOUT))
    env.pop("PYTEST_ADDOPTS", None)
    with tempfile.TemporaryDirectory(prefix="murano-bench-cov-") as tmp:
        extra = ["--murano-cov", "--murano-cov-source=.", f"--murano-cov-report=lcov:{tmp}/c.lcov",
                 f"--murano-cov-report=xml:{tmp}/c.xml"] if on else []
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                   "-p", "no:hypothesispytest", *extra]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, cwd=CHECKOUT / "scripts" / "example-solution", capture_output=True,
                              text=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        elapsed = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)  # the session's CPU
    if done.returncode != 0:
        raise SystemExit(f"the example solution's suite failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    tests = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
          f"{tests} runs, best of {repeat}", flush=True)
    runs: dict[bool, float] = {}
    suites: dict[bool, float] = {}
    for _ in range(repeat):  # interleaved: a slow moment of the machine hits both alike
        for on in (False, True):
            runs[on] = min(runs.get(on, 1e9), per_run(tests, on))
            suites[on] = min(suites.get(on, 1e9), suite(on))
    print(f"one run (endpoint + module, 50-step loop): off {runs[False] * 1e6:.0f} us, "
          f"on {runs[True] * 1e6:.0f} us -> x{runs[True] / runs[False]:.2f}")
    print(f"example solution suite: off {suites[False]:.2f} s, on {suites[True]:.2f} s CPU "
          f"-> x{suites[True] / suites[False]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
