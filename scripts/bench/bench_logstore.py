"""What keeping the solution log (logstore.py) costs a served request: the same endpoint served with
the log store on and off, interleaved, in one process, over real loopback HTTP.

Both sides serve tests/solutions/console with the console; "off" removes the store's listener, so
the difference is the SQLite insert (one transaction per execution) and the cap's delete.
Runs in memory and on a --state file (WAL). ratio = on / off.
Usage: python scripts/bench/bench_logstore.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from murano_sim import Runtime
from murano_sim.console import Console
from murano_sim.solution import SolutionLog, serve_solution
from murano_sim.state import State

SOLUTION = Path(__file__).resolve().parents[2] / "tests" / "solutions" / "console"


def per_request(url: str, session: requests.Session, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        session.get(f"{url}/greeting", timeout=10).raise_for_status()
    return (time.perf_counter() - started) / n


def served(state: State | None, keep_log: bool, quiet: object) -> tuple[object, object]:
    runtime = Runtime({}, state=state) if state is not None else Runtime({})
    server = serve_solution(SOLUTION, runtime, log=SolutionLog(quiet), surfaces=(Console,))  # type: ignore[arg-type]
    if not keep_log:
        server.app.log.batch_listeners.clear()
    return runtime, server


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with open(os.devnull, "w") as quiet, tempfile.TemporaryDirectory() as folder, requests.Session() as session:
        for label in ("memory", "state file"):
            times: dict[bool, list[float]] = {True: [], False: []}
            setups = {}
            for keep in (True, False):
                state = State(Path(folder) / f"{label}-{keep}.db") if label == "state file" else None
                setups[keep] = served(state, keep, quiet)
            for _ in range(5):
                for keep in (True, False):
                    times[keep].append(per_request(setups[keep][1].url, session, n))  # type: ignore[attr-defined]
            for runtime, server in setups.values():
                server.shutdown()  # type: ignore[attr-defined]
                runtime.close()  # type: ignore[attr-defined]
            on, off = statistics.median(times[True]), statistics.median(times[False])
            print(f"{label:10}  log kept {on * 1e3:.3f} ms/request  not kept {off * 1e3:.3f} ms/request  "
                  f"ratio {on / off:.3f}")


if __name__ == "__main__":
    main()
