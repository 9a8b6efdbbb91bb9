"""Murano's QA probe: a 512 KiB string fits in the 1 MB per-execution budget, a ~5 MB one does not.

What counts is what the script holds: LuaJIT's string scratch buffer and the request body are
not the script's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engines import luajit_only

from murano_sim import Runtime

MEMORY = "memory limit exceeded (lua.max_memory = 1048576 bytes)"
PROBE_LOCAL = 'local s = string.rep("x", 512 * 1024) return #s'
PROBE_RETURN = 'return string.rep("x", 512 * 1024)'


@pytest.mark.parametrize("source", [PROBE_LOCAL, PROBE_RETURN], ids=["local", "return"])
def test_a_512_kib_string_fits_on_a_fresh_vm_and_every_run_after(source):
    with Runtime({}) as rt:
        for _ in range(3):
            result = rt.run(source)
            assert result.error is None
            assert result.response.message in (512 * 1024, "x" * (512 * 1024))


def test_a_512_kib_string_fits_in_a_kept_context_as_in_a_hot_vm():
    with Runtime({}) as rt:
        context = rt.new_context()
        assert rt.run("big = 0", context=context).error is None
        for _ in range(3):
            assert rt.run(PROBE_RETURN, context=context).response.message == "x" * (512 * 1024)


# On Lua 5.1 the reserved string scratch is no VM buffer: it lends the script up to its size.
SCRATCH_IS_LUAJITS = luajit_only("the memory budget's scratch reserve is LuaJIT's string buffer")


@pytest.mark.parametrize("source", [
    'local s = string.rep("x", 5 * 1024 * 1024) return #s',
    'return string.rep("x", 5 * 1024 * 1024)',
    'local ok = pcall(string.rep, "x", 1e9) return ok',
    # The reserve is scratch only: what the script holds is still bounded by the budget.
    pytest.param('local a = string.rep("x", 512 * 1024) local b = string.rep("y", 512 * 1024) return #a + #b',
                 marks=SCRATCH_IS_LUAJITS),
    pytest.param('local t = {} for i = 1, 12 do t[i] = string.rep(tostring(i), 100 * 1024) end return #t',
                 marks=SCRATCH_IS_LUAJITS),
], ids=["5 MB", "5 MB returned", "rep bomb", "two 512 KiB strings", "twelve 100 KiB strings"])
def test_what_the_script_holds_is_still_bounded(source):
    with Runtime({}) as rt:
        assert rt.run(source).error == MEMORY  # the reserved scratch lends the script nothing
        assert rt.run(PROBE_LOCAL).error is None


def test_the_request_body_does_not_count_toward_the_budget():
    body = "y" * (2 * 1024 * 1024)  # twice the budget; serve.max_body_bytes bounds it
    with Runtime({}) as rt:
        result = rt.run("return #request.body", {"body": body})
        assert result.error is None and result.response.message == len(body)
        # ...but a copy the script makes of it is the script's
        assert rt.run("return #(request.body .. '!')", {"body": body}).error == MEMORY


def test_the_probe_passes_under_murano_sim_run(tmp_path: Path):
    script = tmp_path / "probe.lua"
    script.write_text(PROBE_RETURN)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run(
        [sys.executable, "-c", "from murano_sim.cli import main; main()", "run", str(script)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["error"] is None and out["response"]["message"] == "x" * (512 * 1024)
