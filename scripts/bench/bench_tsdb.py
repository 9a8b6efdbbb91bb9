"""A Tsdb query averaging 1,000,000 points into hourly buckets, beside the same GROUP BY on plain SQLite.

Both hold the same points in memory (ours: the default in-memory state, written through the point
store; plain: a bare (ts, value) table); ratio = ours / plain (target <= 1.5). Ours includes the
Lua call, validation, shaping the rows and converting them to Lua.
Usage: python scripts/bench/bench_tsdb.py [POINTS]
"""

from __future__ import annotations

import platform
import sqlite3
import statistics
import sys
import time

from murano_sim import Runtime
from murano_sim.state.clock import ManualClock

HOUR_US = 3_600_000_000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    step_us = 1_000_000  # one point a second: 1,000,000 points span about 278 hours
    clock = ManualClock()
    now_us = int(clock.now().timestamp()) * 1_000_000
    first = now_us - n * step_us
    points = [(first + i * step_us, float(i % 100)) for i in range(n)]
    plain = sqlite3.connect(":memory:")
    plain.execute("CREATE TABLE t (ts INTEGER, value REAL)")
    plain.executemany("INSERT INTO t VALUES (?, ?)", points)
    plain_sql = f"SELECT (ts / {HOUR_US}) * {HOUR_US} AS b, AVG(value) FROM t GROUP BY b"
    config = {"lua": {"max_instructions": 100_000_000, "timeout_seconds": 600, "max_memory": 64 * 1024 * 1024}}
    with Runtime(config, clock=clock) as runtime:
        store = runtime.services["tsdb"].model.store
        store.insert((ts, "temp", value, {}) for ts, value in points)
        query = (f"return #Tsdb.query{{metrics = {{'temp'}}, aggregate = {{'avg'}}, sampling_size = '1h', "
                 f"start_time = {first}, epoch = 'u', fill = 'none', limit = 10000}}.values")
        expected = len(plain.execute(plain_sql).fetchall())
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            result = runtime.run(query)
            ours = time.perf_counter() - started
            assert result.error is None and result.response.message == expected, (result.error, expected)
            started = time.perf_counter()
            rows = plain.execute(plain_sql).fetchall()
            floor = time.perf_counter() - started
            assert len(rows) == expected
            rounds.append((ours, floor))
    ours_ms = statistics.median(r[0] for r in rounds) * 1e3
    plain_ms = statistics.median(r[1] for r in rounds) * 1e3
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}, "
          f"sqlite {sqlite3.sqlite_version}")
    print(f"Tsdb.query hourly avg of {n:,} points from Lua: {ours_ms:8.1f} ms ({expected} buckets)")
    print(f"plain SQLite GROUP BY:                       {plain_ms:8.1f} ms")
    print(f"ratio ours/plain: {ours_ms / plain_ms:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
