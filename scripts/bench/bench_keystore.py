"""Keystore.set + Keystore.get from Lua beside the same two commands on fakeredis called from Python.

Both sides use a fresh in-memory store in one process, run interleaved; ratio = ours / direct
(target <= 1.5). Ours includes the Lua call, validation, the call log and the save of
the changed keys into the state after the execution.
Usage: python scripts/bench/bench_keystore.py [N] [--cpu]
--cpu: the process's CPU time rather than the wall clock (a loaded machine's other jobs are not ours).
"""

from __future__ import annotations

import platform
import statistics
import sys
import time

import fakeredis

from murano_sim import Runtime

WARMUP = 3  # rounds run before the counted ones
CLOCK = time.process_time if "--cpu" in sys.argv else time.perf_counter
LOOP = "for i = 1, {n} do Keystore.set{{key = 'k' .. i, value = 'v' .. i}} local v = Keystore.get{{key = 'k' .. i}} end"


def ours(runtime: Runtime, n: int) -> float:
    source = LOOP.format(n=n)
    started = CLOCK()
    result = runtime.run(source)
    elapsed = CLOCK() - started
    assert result.error is None, result.error
    return elapsed / n


def direct(n: int) -> float:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    started = CLOCK()
    for i in range(1, n + 1):
        client.execute_command("SET", f"k{i}", f"v{i}")
        client.execute_command("GET", f"k{i}")
    return (CLOCK() - started) / n


def main() -> None:
    numbers = [arg for arg in sys.argv[1:] if arg != "--cpu"]
    n = int(numbers[0]) if numbers else 2000
    config = {"lua": {"max_instructions": 100_000_000, "timeout_seconds": 600}}
    rounds = []
    # The first rounds of a process pay its warm-up (lazy imports and models, the allocator's
    # growth): 261, 137, 134 us/pair before a steady 63-86 (docs/benchmarks.md, "s21c").
    # A served solution's process is warm: those rounds are run and not counted.
    for index in range(WARMUP + 5):
        with Runtime(config) as runtime:
            measured = (ours(runtime, n), direct(n))
        if index >= WARMUP:
            rounds.append(measured)
    ours_us = statistics.median(r[0] for r in rounds) * 1e6
    direct_us = statistics.median(r[1] for r in rounds) * 1e6
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"fakeredis {fakeredis.__version__ if hasattr(fakeredis, '__version__') else ''}")
    print(f"clock: {CLOCK.__name__}")
    print(f"Keystore.set+get from Lua:          {ours_us:8.1f} us/pair")
    print(f"fakeredis SET+GET from Python:      {direct_us:8.1f} us/pair")
    print(f"ratio ours/direct: {ours_us / direct_us:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
