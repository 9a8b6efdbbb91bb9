"""Per-script cost of Runtime.run beside the naive floor (a fresh lupa runtime per script).

Both run the same trivial chunk in one process; the ratio is ours / floor (target <= 0.3, issue 21).
Usage: python scripts/bench/bench_runtime.py [N]
"""

from __future__ import annotations

import platform
import statistics
import sys
import time

from murano_sim import Runtime
from murano_sim.lua.engine import lupa_lua

SCRIPT = "response.message = 'hello ' .. request.method"


def naive(n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        lua = lupa_lua.LuaRuntime(register_eval=False, register_builtins=False)
        lua.execute("request = {method = 'GET'} response = {code = 200, message = 'Ok', headers = {}}\n" + SCRIPT)
    return (time.perf_counter() - started) / n


def ours(runtime: Runtime, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        runtime.run(SCRIPT)
    return (time.perf_counter() - started) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with Runtime({}) as runtime:
        assert runtime.run(SCRIPT).response.message == "hello GET"
        ours(runtime, 200)  # warm up
        naive(200)
        rounds = [(ours(runtime, n), naive(n)) for _ in range(5)]
    ours_us = statistics.median(r[0] for r in rounds) * 1e6
    naive_us = statistics.median(r[1] for r in rounds) * 1e6
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"lupa {lupa_lua.__name__}")
    print(f"Runtime.run (reused runtime, fresh env): {ours_us:8.1f} us/script")
    print(f"fresh LuaRuntime per script (floor):     {naive_us:8.1f} us/script")
    print(f"ratio ours/floor: {ours_us / naive_us:.2f} (target <= 0.3)")


if __name__ == "__main__":
    main()
