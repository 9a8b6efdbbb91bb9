"""What one yaml case and one fixture test cost beyond pytest's own per-test cost.

Generated suites, run by `pytest -n 0` in subprocesses, interleaved, best of R: empty Python
tests (`def test_n(): pass`: what pytest costs per test, the baseline of yaml cases), yaml cases
(`test_*.murano.yaml`: a script that answers with what it was sent, checked with code and
message), fixture tests (`murano`: the same script, the same check) and the fixture tests with
stand-in `murano_config` and `murano` fixtures that do nothing (the baseline of fixture tests:
pytest's own cost for two fixtures and an assert). Each kind runs as a suite
of N tests and as a suite of 1 test, so the fixed cost of a session (importing murano-sim, the
first config and runtime) is apart from the cost per test:

    per test = ((kind(N) - kind(1)) - (baseline(N) - baseline(1))) / (N - 1)

That is murano-sim's own work per test, the script included (target: at most 1 ms). The script
alone, run N times on one Runtime, is printed too.
Usage: python scripts/bench/bench_plugin_cases.py [N] [REPEAT] [CHECKOUT]
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]  # the third argument names another checkout (before/after)
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


def pytest_env() -> dict[str, str]:
    """This checkout's murano_sim first on the path, whatever is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout()), env.get("PYTHONPATH")]))
    env.pop("PYTEST_ADDOPTS", None)
    # Compiled modules are cached as a user's are (PYTHONDONTWRITEBYTECODE would make every process
    # compile murano-sim again), in a folder of their own so the checkout stays clean.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "murano-bench-pycache")
    return env


def checkout() -> Path:
    return Path(sys.argv[3]).resolve() if len(sys.argv) > 3 else CHECKOUT


def run_pytest(folder: Path, expected: int, *extra: str) -> float:
    # Plugins that are not the subject are left out (hypothesis imports itself at the summary).
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
               "-p", "no:hypothesispytest", *extra, "."]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=pytest_env())
    elapsed = time.perf_counter() - started
    lines = done.stdout.strip().splitlines() or ["(no output)"]
    if done.returncode != 0 or f"{expected} passed" not in lines[-1]:
        print("\n".join(lines[-30:]), done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"{folder.name}: not all {expected} tests passed: {lines[-1]}")
    return elapsed


def script_alone(tests: int) -> float:
    """The script's own cost: N runs on one Runtime (what a case cannot do without)."""
    sys.path.insert(0, str(checkout()))
    from murano_sim.runtime import Runtime

    with Runtime({}) as runtime:
        runtime.run(SCRIPT, {"body": {"n": 0}})
        started = time.perf_counter()
        for n in range(tests):
            runtime.run(SCRIPT, {"method": "POST", "body": {"n": n}})
        return (time.perf_counter() - started) / tests


def main() -> int:
    tests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {tests} tests per suite, best of {repeat}, "
          f"murano_sim from {checkout()}", flush=True)
    best: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="murano-bench-") as tmp:
        suites = {(kind, size): Path(tmp) / f"{kind}-{size}" for kind in KINDS for size in (1, tests)}
        for (kind, size), folder in suites.items():
            generate(folder, kind, size)
        for _ in range(repeat):  # interleaved: a slow moment of the machine hits every suite alike
            for key, folder in suites.items():
                elapsed = run_pytest(folder, key[1])
                best[key] = min(best.get(key, elapsed), elapsed)
    alone = script_alone(tests)

    def growth(kind: str) -> float:
        return best[kind, tests] - best[kind, 1]

    def per_test(kind: str) -> float:
        return growth(kind) / (tests - 1) * 1000

    print(f"empty tests:   {best['empty', tests]:6.2f} s for {tests}, {best['empty', 1]:.2f} s for 1 "
          f"-> pytest's own cost: {per_test('empty'):.3f} ms per test")
    print(f"stand-ins:     {best['stand-ins', tests]:6.2f} s for {tests} -> pytest's own cost for the fixture tests' "
          f"shape (two fixtures, an assert): {per_test('stand-ins'):.3f} ms per test")
    for kind, label, baseline in (("cases", "yaml cases", "empty"), ("fixtures", "fixture tests", "stand-ins")):
        own = per_test(kind) - per_test(baseline)
        fixed = best[kind, 1] - best[baseline, 1]
        print(f"{label + ':':14} {best[kind, tests]:6.2f} s for {tests}, {best[kind, 1]:.2f} s for 1 -> "
              f"{own:.3f} ms per test beyond pytest's ({baseline}; target <= 1 ms); session start {fixed:+.2f} s")
    print(f"the script alone: {alone * 1000:.3f} ms per run on one Runtime")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
