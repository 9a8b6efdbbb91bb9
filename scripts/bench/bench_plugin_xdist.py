"""Wall time of 500 generated `*.murano.yaml` cases under pytest -n 0 beside pytest-xdist -n 2.

Each case runs a small notification script (three postMessage calls and a listMessage against
the worker's emulator, reset before each case) and checks code, message subset and calls. Prints
both times and the speed-up, and beside them two measurements that say where the time goes:
the same number of empty Python tests under -n 0 and -n 2 (what pytest-xdist costs by
itself, and so the best -n 2 could do), and two plain -n 0 processes run side by side on half the
case files each (how the plugin scales with no xdist). The ceiling is the empty suite's -n 2 time
plus half the cases' own work; -n 2 is printed against it (target: within 10%), and against the
same ceiling with each worker's session start (a 1-case suite minus a 1-test one) counted in
full, since both workers pay it. Runs are interleaved over the repetitions. Each pytest run
is a subprocess on this checkout's murano_sim; the best of R repetitions is kept.
Usage: python scripts/bench/bench_plugin_xdist.py [CASES] [REPEAT]
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

CASES_PER_FILE = 20
CHECKOUT = Path(__file__).resolve().parents[2]

SCRIPT = """\
local to = request.body.to
local sent = {}
for i = 1, 3 do
  local out = Twilio.postMessage({To = to, From = "+15005550006", Body = "order " .. request.body.order .. " #" .. i})
  if out.error then
    response.code = out.status
    return out
  end
  sent[#sent + 1] = out.sid
end
local page = Twilio.listMessage({To = to, PageSize = 10})
response.code = 201
return {sent = #sent, listed = #page.messages, first = page.messages[#page.messages].body}
"""

CASE = """\
  - name: order {n}
    request: {{method: POST, body: {{to: "+1555{n:07d}", order: {n}}}}}
    expect:
      code: 201
      message_subset: {{sent: 3, listed: 3, first: "order {n} #1"}}
      calls:
        - {{operation: postMessage, arguments: {{To: "+1555{n:07d}"}}}}
        - {{operation: postMessage}}
        - {{operation: postMessage}}
        - {{operation: listMessage}}
"""


def generate(folder: Path, cases: int) -> dict[str, int]:
    """Writes the script and the case files; returns each file's name with its number of cases."""
    (folder / "notify.lua").write_text(SCRIPT, encoding="utf-8")
    files: dict[str, int] = {}
    for start in range(0, cases, CASES_PER_FILE):
        numbers = range(start, min(start + CASES_PER_FILE, cases))
        name = f"test_notify_{start // CASES_PER_FILE:03d}.murano.yaml"
        (folder / name).write_text("script: notify.lua\ncases:\n" + "".join(CASE.format(n=n) for n in numbers),
                                   encoding="utf-8")
        files[name] = len(numbers)
    # An empty ini file makes the folder the rootdir: no outside configuration leaks in.
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return files


def generate_empty(folder: Path, tests: int) -> None:
    """The same number of tests with no work at all: what pytest and xdist cost by themselves."""
    for start in range(0, tests, CASES_PER_FILE):
        body = "".join(f"def test_{n}():\n    pass\n\n" for n in range(start, min(start + CASES_PER_FILE, tests)))
        (folder / f"test_empty_{start // CASES_PER_FILE:03d}.py").write_text(body, encoding="utf-8")
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


def pytest_command(workers: int, targets: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            "-p", "no:hypothesispytest", "-n", str(workers), *targets]


def check(done: subprocess.CompletedProcess[str], what: str, expected: int) -> None:
    lines = done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or ["(no output)"]
    if done.returncode != 0 or f"{expected} passed" not in lines[-1]:
        print("\n".join(lines[-40:]), file=sys.stderr)
        raise SystemExit(f"{what} did not pass all {expected} tests: {lines[-1]}")


def pytest_env() -> dict[str, str]:
    """This checkout's murano_sim first on the path, whatever is installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")]))
    env.pop("PYTEST_ADDOPTS", None)
    # Compiled modules are cached as a user's are (PYTHONDONTWRITEBYTECODE would make every process
    # compile murano-sim again), in a folder of their own so the checkout stays clean.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "murano-bench-pycache")
    return env


CPU: dict[tuple[str, int], float] = {}  # (folder, workers) -> CPU seconds of the fastest run


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # every waited-for descendant: the workers too
    return usage.ru_utime + usage.ru_stime


def run_pytest(folder: Path, workers: int, expected: int) -> float:
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(pytest_command(workers, ["."]), cwd=folder, capture_output=True, text=True,
                          env=pytest_env())
    elapsed = time.perf_counter() - started
    check(done, f"pytest -n {workers}", expected)
    key = (folder.name, workers)
    if elapsed <= BEST_WALL.get(key, elapsed):
        BEST_WALL[key], CPU[key] = elapsed, children_cpu() - cpu
    return elapsed


BEST_WALL: dict[tuple[str, int], float] = {}


def run_halves(folder: Path, files: dict[str, int]) -> float:
    """Two `pytest -n 0` processes side by side, each on half the case files: no xdist at all."""
    names = sorted(files)
    halves = [names[: len(names) // 2], names[len(names) // 2 :]]
    started = time.perf_counter()
    running = [subprocess.Popen(pytest_command(0, half), cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=pytest_env()) for half in halves]
    outputs = [process.communicate() for process in running]
    elapsed = time.perf_counter() - started
    for process, (out, err), half in zip(running, outputs, halves, strict=True):
        done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        check(done, "a half of the case files", sum(files[name] for name in half))
    return elapsed


def main() -> int:
    cases = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {cases} cases, best of {repeat}", flush=True)
    with tempfile.TemporaryDirectory(prefix="murano-bench-") as tmp:
        folder, empty = Path(tmp) / "cases", Path(tmp) / "empty"
        one_case, one_empty = Path(tmp) / "one-case", Path(tmp) / "one-empty"
        for made in (folder, empty, one_case, one_empty):
            made.mkdir()
        files = generate(folder, cases)
        generate_empty(empty, cases)
        generate(one_case, 1)
        generate_empty(one_empty, 1)
        runs = {
            "serial": lambda: run_pytest(folder, 0, cases),
            "parallel": lambda: run_pytest(folder, 2, cases),
            "empty_serial": lambda: run_pytest(empty, 0, cases),
            "empty_parallel": lambda: run_pytest(empty, 2, cases),
            "halves": lambda: run_halves(folder, files),
            "one_case": lambda: run_pytest(one_case, 0, 1),
            "one_empty": lambda: run_pytest(one_empty, 0, 1),
        }
        best: dict[str, float] = {}
        for _ in range(repeat):  # interleaved: a slow moment of the machine hits every run alike
            for name, run in runs.items():
                elapsed = run()
                best[name] = min(best.get(name, elapsed), elapsed)
        serial, parallel, halves = best["serial"], best["parallel"], best["halves"]
        empty_serial, empty_parallel = best["empty_serial"], best["empty_parallel"]
    # If the cases' own work (serial minus the empty suite) split perfectly in two on top of what
    # xdist costs with no work at all, -n 2 could not do better than this.
    best_xdist = empty_parallel + (serial - empty_serial) / 2
    per_case = serial / cases * 1000
    print(f"cases        pytest -n 0: {serial:6.2f} s  ({per_case:.2f} ms per case, process start included)")
    print(f"cases        pytest -n 2: {parallel:6.2f} s")
    print(f"speed-up:                 {serial / parallel:6.2f}x")
    print(f"empty tests  pytest -n 0: {empty_serial:6.2f} s,  -n 2: {empty_parallel:6.2f} s  "
          f"(xdist by itself: {empty_parallel - empty_serial:+.2f} s)")
    print(f"ceiling under xdist:      {serial / best_xdist:6.2f}x  (empty -n 2 + half the cases' own work: "
          f"{best_xdist:.2f} s)")
    above = (parallel / best_xdist - 1) * 100
    print(f"-n 2 against the ceiling: {parallel:.2f} s vs {best_xdist:.2f} s = {above:+.1f}% (target: within 10%)")
    # Each worker starts its own session (imports, its first runtime): that part does not halve.
    start = max(best["one_case"] - best["one_empty"], 0.0)
    best_workers = empty_parallel + start + (serial - empty_serial - start) / 2
    above = (parallel / best_workers - 1) * 100
    print(f"  with each worker's session start ({start:.2f} s) in full: {best_workers:.2f} s, -n 2 {above:+.1f}%")
    cpu_serial, cpu_parallel = CPU["cases", 0], CPU["cases", 2]
    print(f"CPU time (all processes): cases -n 0 {cpu_serial:.2f} s, -n 2 {cpu_parallel:.2f} s; empty -n 0 "
          f"{CPU['empty', 0]:.2f} s, -n 2 {CPU['empty', 2]:.2f} s. Two cores cannot run -n 2 in less than "
          f"{cpu_parallel / 2:.2f} s (its CPU time / 2): -n 2 is {(2 * parallel / cpu_parallel - 1) * 100:+.1f}% above")
    print(f"two -n 0 side by side:    {halves:6.2f} s  = {serial / halves:.2f}x  (half the case files each, no xdist)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
