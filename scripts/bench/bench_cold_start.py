"""`murano-sim run` of `return 1`, cold (a new process each time), beside the floor
`python -c "import lupa, requests, yaml"`: what a run costs beyond the libraries it cannot avoid.

Interleaved: each round starts one of each, in turn; the ratio is of the medians (issue 21's goal: <= 2.0).
Usage: PYTHONPATH=. python scripts/bench/bench_cold_start.py [ROUNDS]
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# As a user's Python runs: with .pyc files (the libraries of the floor have theirs from pip; a
# PYTHONDONTWRITEBYTECODE in this environment would make our side compile every module on every run).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as folder:  # no config.yaml, no solution around the script
        script = Path(folder) / "one.lua"
        script.write_text("return 1\n")
        ours_cmd = [sys.executable, "-m", "murano_sim.cli", "run", str(script)]
        floor_cmd = [sys.executable, "-c", "import lupa, requests, yaml"]
        timed(ours_cmd, folder), timed(floor_cmd, folder)  # warm the OS's file cache and the .pyc files
        pairs = [(timed(ours_cmd, folder), timed(floor_cmd, folder)) for _ in range(rounds)]
    ours = statistics.median(p[0] for p in pairs)
    floor = statistics.median(p[1] for p in pairs)
    ratios = sorted(p[0] / p[1] for p in pairs)
    print(f"machine: {platform.machine()} python {platform.python_version()}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"murano-sim run (return 1), cold:          {ours * 1000:7.1f} ms (median of {rounds})")
    print(f"python -c 'import lupa, requests, yaml':  {floor * 1000:7.1f} ms")
    print(f"ratio: {ours / floor:.2f} (pairs: {ratios[0]:.2f}-{ratios[-1]:.2f}; goal <= 2.0)")


if __name__ == "__main__":
    main()
