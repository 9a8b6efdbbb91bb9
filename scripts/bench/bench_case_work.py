"""murano-sim's own work per yaml case, steady under load: reading the case files and running the items.

bench_plugin_cases.py measures whole pytest sessions, whose differences of a few hundredths of a
millisecond per case drown when other jobs share the cores. Here one pytest session per checkout
collects the generated cases (bench_plugin_cases.generate), then a conftest hook, instead of pytest's
own run loop, times `load_cases` over every file and `item.runtest()` over every item, ROUNDS times,
and keeps the fastest round (CPU time of the process): a slow moment of the machine only makes a
round slower, never faster. Checkouts alternate, three sessions each.

Usage: python scripts/bench/bench_case_work.py [N] [CHECKOUT ...]   (default: this checkout)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_plugin_cases import CHECKOUT, generate, pytest_env  # noqa: E402 - the sibling script

ROUNDS = 15
HOOK = f'''
import time
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    from murano_sim.testing.cases import load_cases
    items = session.items
    files = sorted({{item.path for item in items}})
    for item in items[:5]:  # warm-up: the pooled runtime exists
        item.runtest()
    load, run = [], []
    for _ in range({ROUNDS}):
        started = time.process_time()
        for file in files:
            load_cases(Path(file))
        load.append(time.process_time() - started)
        started = time.process_time()
        for item in items:
            item.runtest()
        run.append(time.process_time() - started)
    print(f"\\nWORK {{min(load) / len(items) * 1e6:.1f}} {{min(run) / len(items) * 1e6:.1f}}")
    return True
'''


def main() -> int:
    tests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    trees = [Path(arg).resolve() for arg in sys.argv[2:]] or [CHECKOUT]
    print(f"{tests} cases, fastest of {ROUNDS} rounds, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="murano-bench-") as tmp:
        folder = Path(tmp) / "cases"
        generate(folder, "cases", tests)
        (folder / "conftest.py").write_text(HOOK, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-p", "no:randomly",
                   "-p", "no:hypothesispytest", "."]
        for _ in range(3):
            for tree in trees:
                done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=pytest_env(tree))
                line = next((x for x in done.stdout.splitlines() if x.startswith("WORK ")), None)
                if line is None:
                    raise SystemExit(f"{tree}: no figures\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
                load, run = (float(x) for x in line.split()[1:])
                print(f"{tree}: load_cases {load:.1f} us/case, runtest {run:.1f} us/case, "
                      f"together {load + run:.1f} us/case", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
