"""What the timed pattern matching costs ordinary scripts: LuaJIT's own functions vs the sandbox's.

Each case runs the same loop in a plain LuaJIT VM (JIT off, as the sandbox runs: the old
behaviour, native string functions) and in a Runtime (the sandbox's string functions: a cost
estimate, then the native function or the timed Lua port), interleaved, best of three.
Times are CPU time measured inside Lua (os.clock). Prints the ratio sandbox / native.

    PYTHONPATH=. python scripts/bench/bench_patterns.py   (from the checkout being measured)
"""

from __future__ import annotations

from murano_sim import Runtime
from murano_sim.lua.engine import lupa_lua

CASES = {
    "find plain (header)": ('local s = "application/json; charset=utf-8"', 's:find("json", 1, true)'),
    "find pattern (phone)": ('local s = "+15005550006"', 's:find("^%+%d+$")'),
    "match key=value": ('local s = "token=abc123; path=/"', 's:match("token=([^;]+)")'),
    "match trim (20 B)": ('local s = "   hello world   "', 's:match("^%s*(.-)%s*$")'),
    "gsub escape (200 B)": (
        'local s = string.rep("a<b>&c ", 28)', 's:gsub("[<>&]", {["<"]="&lt;", [">"]="&gt;", ["&"]="&amp;"})'
    ),
    "gsub %s+ (200 B)": ('local s = string.rep("a  b\\t", 40)', 's:gsub("%s+", " ")'),
    "gmatch csv (100 B)": ('local s = string.rep("abc,", 25)', "for w in s:gmatch(\"[^,]+\") do end"),
    "gsub callback (50 B)": ('local s = string.rep("ab", 25)', 's:gsub("a", function(c) return c end)'),
    "trim (2 KB, timed port)": ('local s = "  " .. string.rep("x ", 1000) .. "  "', 's:match("^%s*(.-)%s*$")'),
    "gsub %s+ (10 KB, timed port)": ('local s = string.rep("a  b\\t", 2000)', 's:gsub("%s+", " ")'),
}

SCRIPT = """
{setup}
local t0 = os.clock()
for i = 1, {n} do {body} end
return os.clock() - t0
"""


def main() -> None:
    plain = lupa_lua.LuaRuntime(register_eval=False)
    plain.execute("jit.off() jit.flush()")
    limits = {"lua": {"max_instructions": 10**10, "timeout_seconds": 600, "max_memory": 256 << 20}}
    print(f"{'case':<30} {'native µs':>10} {'sandbox µs':>11} {'ratio':>7}")
    with Runtime(limits) as rt:
        for name, (setup, body) in CASES.items():
            n = 200 if "timed port" in name else 20000
            script = SCRIPT.format(setup=setup, body=body, n=n)
            native, sandbox = [], []
            for _ in range(3):
                native.append(plain.execute(script) / n * 1e6)
                result = rt.run(script)
                assert result.error is None, (name, result.error)
                sandbox.append(result.response.message / n * 1e6)
            a, b = min(native), min(sandbox)
            print(f"{name:<30} {a:>10.2f} {b:>11.2f} {b / a:>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
