"""How deep can calls through C functions nest before the C stack runs out?

Each boundary (a gsub callback, a sort comparator, __tostring through tostring and
string.format, a coroutine resume, os.time reading a table) recurses to a given depth in a
child process with murano-sim's own depth limit lifted; the deepest depth that survived is
printed, on the main thread and in a threading.Thread (serve runs scripts in worker threads).
C_DEPTH_MAX in murano_sim/lua/vm.py must stay well below every figure here.

    PYTHONPATH=. python scripts/bench/bench_c_depth.py
"""

from __future__ import annotations

import subprocess
import sys

BOUNDARIES = {
    "gsub callback": 'string.gsub("a", "a", function() f(n - 1) end)',
    "sort comparator": "local once = false table.sort({2, 1}, function(a, b) "
    "if not once then once = true f(n - 1) end return a < b end)",
    "tostring": 'tostring(setmetatable({}, {__tostring = function() f(n - 1) return "" end}))',
    "string.format %s": 'string.format("%s", setmetatable({}, {__tostring = function() f(n - 1) return "" end}))',
    "coroutine.wrap": "coroutine.wrap(function() f(n - 1) end)()",
    "os.time": "os.time(setmetatable({}, {__index = function(t, k) if k == 'year' then f(n - 1) end return 1 end}))",
}

CHILD = """
import sys, threading
import murano_sim.lua.vm as vm
vm.C_DEPTH_MAX = 10**6
from murano_sim import Runtime
depth, body, threaded = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
source = "local f f = function(n) if n == 0 then return end " + body + " end f(" + str(depth) + ") return 'ok'"
out = {}
def work():
    with Runtime({"lua": {"max_instructions": 10**9, "max_memory": 1 << 30, "timeout_seconds": 60}}) as rt:
        out["r"] = rt.run(source)
if threaded:
    t = threading.Thread(target=work)
    t.start()
    t.join()
else:
    work()
r = out["r"]
print(r.response.message if r.error is None else r.error)
"""


def survives(depth: int, body: str, threaded: bool) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(depth), body, "1" if threaded else "0"],
        capture_output=True, text=True, timeout=300,
    )
    return done.returncode == 0 and done.stdout.strip() == "ok"


def deepest(body: str, threaded: bool) -> str:
    """The largest depth that survives, by doubling then bisecting (">N" when even N survived)."""
    low, high = 0, 100
    while survives(high, body, threaded):
        low, high = high, high * 2
        if high > 25_000:
            return f">{low}"
    while high - low > max(1, low // 50):
        middle = (low + high) // 2
        if survives(middle, body, threaded):
            low = middle
        else:
            high = middle
    return str(low)


def main() -> None:
    from murano_sim.lua.vm import C_DEPTH_MAX

    print(f"C_DEPTH_MAX = {C_DEPTH_MAX}")
    print(f"{'boundary':<20} {'main thread':>12} {'worker thread':>14}")
    for name, body in BOUNDARIES.items():
        print(f"{name:<20} {deepest(body, False):>12} {deepest(body, True):>14}", flush=True)


if __name__ == "__main__":
    main()
