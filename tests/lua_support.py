"""Helpers for tests that drive a service from Lua."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from murano_sim import Runtime

ROOT = Path(__file__).resolve().parent.parent


def lua_value(runtime: Runtime, source: str) -> Any:
    """Run `source` and return what it returned; a script error fails the test with its message."""
    result = runtime.run(source)
    assert result.error is None, result.error
    return result.response.message


def run_cli_requiring(folder: Path, module: str, module_source: str, main_source: str, timeout: float) -> Any:
    """`murano-sim run main.lua --solution FOLDER` in a subprocess, with `modules/<module>.lua` in the
    solution; the JSON it printed."""
    (folder / "modules").mkdir(parents=True)
    (folder / "modules" / f"{module}.lua").write_text(module_source)
    script = folder / "main.lua"
    script.write_text(main_source)
    proc = subprocess.run([sys.executable, "-m", "murano_sim", "run", str(script), "--solution", str(folder)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)
    return json.loads(proc.stdout)
