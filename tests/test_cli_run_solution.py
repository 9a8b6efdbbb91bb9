"""`murano-sim run` inside a solution: --solution, --endpoint, stdin, --pretty, a closed stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "tests" / "solutions" / "runtime"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's murano_sim, whatever the cwd


def cli(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "murano_sim.cli", *args], capture_output=True, text=True,
                          cwd=cwd, input=stdin, env=ENV, timeout=60)


def test_a_script_in_a_solution_runs_after_its_modules_and_init_lua():
    proc = cli("run", str(SOLUTION / "endpoints" / "api.lua"), "--endpoint", "GET /state")
    assert proc.returncode == 0, proc.stderr
    message = json.loads(proc.stdout)["response"]["message"]
    assert message["init_runs"] == 1 and message["module_loads"] == 1 and message["twice"] == 42


def test_a_multi_endpoint_file_needs_endpoint_to_pick_a_section():
    proc = cli("run", str(SOLUTION / "endpoints" / "api.lua"))
    assert proc.returncode == 2 and "pick one with --endpoint" in proc.stderr and "GET /state" in proc.stderr
    proc = cli("run", str(SOLUTION / "endpoints" / "api.lua"), "--endpoint", "GET /nowhere")
    assert proc.returncode == 2 and "no endpoint 'GET /nowhere'" in proc.stderr


def test_endpoint_section_keeps_its_file_line_in_errors():
    proc = cli("run", str(SOLUTION / "endpoints" / "api.lua"), "--endpoint", "get /boom")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["error"] == "endpoints/api.lua:32: boom" and data["logs"] == ["[error] bad thing 7"]


def test_stdin_script_with_solution_and_pretty_output(tmp_path):
    proc = cli("run", "-", "--solution", str(SOLUTION), "--pretty",
               stdin='return {shout("x"), handle_timer_timer({}).ticks}', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("{\n  ") and json.loads(proc.stdout)["response"]["message"] == ["X", 1]


def test_stdin_without_a_solution_runs_alone(tmp_path):
    proc = cli("run", "-", stdin="return type(shout)", cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["response"]["message"] == "nil"


def test_a_closed_stdout_is_not_an_internal_error(tmp_path):
    script = tmp_path / "big.lua"
    script.write_text('return string.rep("x", 400000)')  # more than a pipe's buffer
    reader = subprocess.Popen([sys.executable, "-m", "murano_sim.cli", "run", "--pretty", str(script)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=ENV)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(10)
    reader.stdout.close()  # like `| head -c 10`
    stderr = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == 0
    assert "internal error" not in stderr and "Traceback" not in stderr and "BrokenPipe" not in stderr
