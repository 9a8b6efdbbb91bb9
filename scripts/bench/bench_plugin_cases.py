"""What one yaml case and one fixture test cost beyond pytest's own per-test cost (issue 21).

Generated suites, each run by `pytest -n 0` in a subprocess: empty Python tests (`def test_n():
pass`: what pytest costs per test, the baseline of yaml cases), yaml cases (`test_*.murano.yaml`: a
script that answers with what it was sent, checked with code and message), fixture tests
(`murano`: the same script, the same check) and the fixture tests with stand-in `murano_config`
and `murano` fixtures that do nothing (the baseline of fixture tests: pytest's own cost for two
fixtures and an assert). Each kind runs as a suite of N tests and as a suite of 1 test, so the
fixed cost of a session (importing murano-sim, the first config and runtime) is apart:

    per test = ((kind(N) - kind(1)) - (baseline(N) - baseline(1))) / (N - 1)

What is measured is the CPU time of the pytest process (user + system, from the kernel's account
of the finished child), not wall time: on a machine whose cores other jobs share, wall time counts
the waits for a core, which made baselines negative. Every round runs every suite once, in an
order rotated from round to round (interleaved), and gives one figure of each kind; the medians
over the rounds are printed with their spread (min-max).

--base CHECKOUT runs the yaml cases of another checkout in the same rounds (its own empty
baseline is the same pytest) and prints both sides' per-case figures, the difference and the
ratio, each a median with its spread: e.g. main against a branch, or a tree without a feature
against one with it.
Usage: python scripts/bench/bench_plugin_cases.py [N] [ROUNDS] [CHECKOUT] [--base CHECKOUT]
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]  # the third argument names another checkout
PER_FILE = 50
SCRIPT = "response.code = 201\nreturn {n = request.body.n}\n"
CASE = """\
  - name: case {n}
    request: {{method: POST, body: {{n: {n}}}}}
    expect: {{code: 201, message: {{n: {n}}}}}
"""
FIXTURE_TEST = """\
def test_{n}(murano):
    assert murano.run_file("echo.lua", {{"method": "POST", "body": {{"n": {n}}}}}).response.message == {{"n": {n}}}

"""
# The fixture tests' shape with murano-sim's fixtures replaced by do-nothing ones of the same kind
# (conftest fixtures win over a plugin's): pytest's own cost for such a test.
STAND_INS = """\
from types import SimpleNamespace

import pytest


@pytest.fixture
def murano_config():
    return None


@pytest.fixture
def murano(murano_config):
    def run_file(path, request):
        return SimpleNamespace(response=SimpleNamespace(message=request["body"]))

    yield SimpleNamespace(run_file=run_file)
"""
KINDS = ("empty", "cases", "stand-ins", "fixtures")


def generate(folder: Path, kind: str, tests: int) -> None:
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # the folder is the rootdir
    (folder / "echo.lua").write_text(SCRIPT, encoding="utf-8")
    for start in range(0, tests, PER_FILE):
        numbers = range(start, min(start + PER_FILE, tests))
        index = start // PER_FILE
        if kind == "empty":
            (folder / f"test_empty_{index:03d}.py").write_text(
                "".join(f"def test_{n}():\n    pass\n\n" for n in numbers), encoding="utf-8")
        elif kind == "cases":
            (folder / f"test_echo_{index:03d}.murano.yaml").write_text(
                "script: echo.lua\ncases:\n" + "".join(CASE.format(n=n) for n in numbers), encoding="utf-8")
        else:
            (folder / f"test_echo_{index:03d}.py").write_text(
                "".join(FIXTURE_TEST.format(n=n) for n in numbers), encoding="utf-8")
    if kind == "stand-ins":
        (folder / "conftest.py").write_text(STAND_INS, encoding="utf-8")


def pytest_env(tree: Path) -> dict[str, str]:
    """`tree`'s murano_sim first on the path, whatever is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), env.get("PYTHONPATH")]))
    env.pop("PYTEST_ADDOPTS", None)
    # Compiled modules are cached as a user's are (PYTHONDONTWRITEBYTECODE would make every process
    # compile murano-sim again), in a folder of their own so the checkout stays clean.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "murano-bench-pycache")
    return env


def arguments() -> tuple[list[str], Path | None]:
    args = list(sys.argv[1:])
    base = None
    if "--base" in args:
        at = args.index("--base")
        if at + 1 >= len(args):
            raise SystemExit("--base needs a checkout folder")
        base = Path(args[at + 1]).resolve()
        del args[at:at + 2]
    return args, base


def checkout() -> Path:
    args, _ = arguments()
    return Path(args[2]).resolve() if len(args) > 2 else CHECKOUT


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pytest(folder: Path, expected: int, tree: Path) -> tuple[float, float]:
    """(CPU seconds of the pytest process, wall seconds)."""
    # Plugins that are not the subject are left out (hypothesis imports itself at the summary).
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
               "-p", "no:hypothesispytest", "."]
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=pytest_env(tree))
    elapsed, cpu = time.perf_counter() - started, children_cpu() - cpu  # a waited-for child's CPU is added
    lines = done.stdout.strip().splitlines() or ["(no output)"]
    if done.returncode != 0 or f"{expected} passed" not in lines[-1]:
        print("\n".join(lines[-30:]), done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{folder.name}: not all {expected} tests passed: {lines[-1]}")
    return cpu, elapsed


def script_alone(tests: int) -> float:
    """The script's own CPU cost: N runs on one Runtime (what a case cannot do without)."""
    sys.path.insert(0, str(checkout()))
    from murano_sim.runtime import Runtime

    with Runtime({}) as runtime:
        runtime.run(SCRIPT, {"body": {"n": 0}})
        started = time.process_time()
        for n in range(tests):
            runtime.run(SCRIPT, {"method": "POST", "body": {"n": n}})
        return (time.process_time() - started) / tests


def spread(values: list[float], unit: str = "ms", digits: int = 3) -> str:
    """The median, and min-max over the rounds."""
    return (f"{statistics.median(values):.{digits}f} {unit} "
            f"(min {min(values):.{digits}f}, max {max(values):.{digits}f})")


def main() -> int:
    args, base = arguments()
    tests = int(args[0]) if len(args) > 0 else 1000
    rounds = int(args[1]) if len(args) > 1 else 5
    if tests < 2 or rounds < 1:
        raise SystemExit("usage: bench_plugin_cases.py [N >= 2] [ROUNDS >= 1] [CHECKOUT] [--base CHECKOUT]")
    tree = checkout()
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; {tests} tests per suite, {rounds} rounds, CPU time of the "
          f"pytest process; murano_sim from {tree}" + (f", base {base}" if base else ""), flush=True)
    # (kind, tree) pairs: the base checkout runs only the yaml cases (pytest's own cost is the same).
    sides = [(kind, tree) for kind in KINDS] + ([("base-cases", base)] if base else [])
    cpu: dict[tuple[str, int], list[float]] = {}
    wall: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="murano-bench-") as tmp:
        suites = []
        for kind, side_tree in sides:
            for size in (1, tests):
                folder = Path(tmp) / f"{kind}-{size}"
                generate(folder, kind.removeprefix("base-"), size)
                suites.append(((kind, size), folder, side_tree))
        for _, folder, side_tree in suites:  # a warm-up: compiled modules cached, files in the page cache
            if folder.name.endswith("-1"):
                run_pytest(folder, 1, side_tree)
        for r in range(rounds):  # interleaved, rotated: a slow moment of the machine hits every suite alike
            order = suites[r % len(suites):] + suites[:r % len(suites)]
            for key, folder, side_tree in order:
                spent, elapsed = run_pytest(folder, key[1], side_tree)
                cpu.setdefault(key, []).append(spent)
                wall.setdefault(key, []).append(elapsed)
    alone = script_alone(tests)

    def per_test(kind: str, table: dict[tuple[str, int], list[float]]) -> list[float]:
        """One figure per round, ms per test: the growth from 1 to N tests."""
        return [(big - one) / (tests - 1) * 1000 for big, one in zip(table[kind, tests], table[kind, 1], strict=True)]

    def own(kind: str, baseline: str, table: dict[tuple[str, int], list[float]]) -> list[float]:
        return [k - b for k, b in zip(per_test(kind, table), per_test(baseline, table), strict=True)]

    print(f"pytest, empty test:                 {spread(per_test('empty', cpu))} per test")
    print(f"pytest, the fixture tests' shape:   {spread(per_test('stand-ins', cpu))} per test "
          "(two fixtures, an assert)")
    print(f"yaml case beyond an empty test:     {spread(own('cases', 'empty', cpu))}  (target <= 0.5 ms)")
    print(f"fixture test beyond the stand-ins:  {spread(own('fixtures', 'stand-ins', cpu))}")
    if base is not None:
        mine, theirs = own("cases", "empty", cpu), own("base-cases", "empty", cpu)
        print(f"base yaml case beyond an empty test: {spread(theirs)}")
        print(f"  this - base, per case:            {spread([m - t for m, t in zip(mine, theirs, strict=True)])}")
        whole = [c / b for c, b in zip(cpu["cases", tests], cpu["base-cases", tests], strict=True)]
        print(f"  this / base, whole {tests}-case suite: {spread(whole, 'x')}")
    for kind in ("cases", "fixtures"):
        fixed = [k - b for k, b in zip(cpu[kind, 1], cpu["empty", 1], strict=True)]
        print(f"session start ({kind}) beyond pytest's: {spread(fixed, 's')}")
    print(f"wall time, for comparison: yaml case beyond an empty test {spread(own('cases', 'empty', wall))}")
    print(f"the script alone: {alone * 1000:.3f} ms CPU per run on one Runtime")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
