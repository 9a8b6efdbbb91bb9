"""`murano-sim serve` runs its threads on one CPU (Linux; `serve.one_cpu: false` lets them use every CPU).

serve is one Python process whose threads take turns on the GIL: a connection's thread, the
solution's VM turn, the device API, the ticker. Only Lua runs, SQLite steps and system calls leave
the GIL, and they are a few per cent of a request. On two or more CPUs each hand-over of the GIL
wakes a thread on another CPU (an inter-processor wake-up, cold caches, the kernel's run-queue
locks): measured under 16 concurrent clients on 2 CPUs, 1000-1100 µs of CPU per request on all
CPUs against 650-970 µs on one; serve's throughput beside a bare Werkzeug server went from 0.68-0.89
to 0.96-1.36 by mix (docs/benchmarks.md, "Issue 21: serve on one CPU"). The cost: a CPU-bound
neighbour on the same CPU halves serve's share, since the kernel no longer moves it;
`serve.one_cpu: false` is for that.
"""

from __future__ import annotations

import os
import sys


def pin_to_one_cpu() -> int | None:
    """Keep this process's threads, and every thread they start, on the CPU the calling thread is on
    now. The CPU, or None where there is nothing to choose or no way to choose it: not Linux, a single
    CPU allowed, a Python without a GIL (its threads do run in parallel)."""
    allowed_of = getattr(os, "sched_getaffinity", None)
    setter = getattr(os, "sched_setaffinity", None)
    gil_enabled = getattr(sys, "_is_gil_enabled", None)  # 3.13+: False on a free-threaded build
    if allowed_of is None or setter is None or (gil_enabled is not None and not gil_enabled()):
        return None
    allowed = allowed_of(0)
    if len(allowed) < 2:
        return None
    cpu = _current_cpu()
    if cpu not in allowed:
        cpu = min(allowed)
    for thread in _threads():  # threads started before this call (a thread starts with its creator's set)
        try:
            setter(thread, {cpu})
        except OSError:  # it ended meanwhile
            continue
    return cpu


def _current_cpu() -> int | None:
    """The CPU this thread last ran on (field 39 of /proc/thread-self/stat), or None if unreadable."""
    try:
        with open("/proc/thread-self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        return int(fields[36])
    except (OSError, IndexError, ValueError):
        return None


def _threads() -> list[int]:
    """This process's thread ids (0, the calling thread, where /proc is not there to list them)."""
    try:
        return [int(name) for name in os.listdir("/proc/self/task")]
    except (OSError, ValueError):
        return [0]
