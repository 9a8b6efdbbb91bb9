"""`murano-sim run`: one JSON object on stdout, exit codes 0/1/2, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "murano_sim.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's murano_sim, whatever the cwd
    )


def test_run_prints_one_json_object_and_exits_0(tmp_path):
    script = tmp_path / "hello.lua"
    script.write_text("print('hi') return {greeting = 'hello ' .. request.parameters.name}")
    proc = cli("run", str(script), "--request", '{"parameters": {"name": "ada"}}', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"response", "logs", "calls", "error"}
    assert data["response"]["message"] == {"greeting": "hello ada"}
    assert data["logs"] == ["hi"] and data["error"] is None
    assert proc.stdout.count("\n") == 1


def test_request_from_file(tmp_path):
    (tmp_path / "req.json").write_text('{"method": "PUT"}')
    script = tmp_path / "m.lua"
    script.write_text("return request.method")
    proc = cli("run", str(script), "--request", f"@{tmp_path / 'req.json'}", cwd=tmp_path)
    assert json.loads(proc.stdout)["response"]["message"] == "PUT"


def test_failing_script_exits_1_with_error(tmp_path):
    script = tmp_path / "bad.lua"
    script.write_text("\nerror('nope')")
    proc = cli("run", str(script), cwd=tmp_path)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["response"]["code"] == 500 and data["error"] == "bad.lua:2: nope"


def test_limit_exits_1(tmp_path):
    script = tmp_path / "loop.lua"
    script.write_text("while true do end")
    proc = cli("run", str(script), cwd=tmp_path)
    assert proc.returncode == 1 and "lua.max_instructions" in json.loads(proc.stdout)["error"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "missing.lua"], "missing.lua: no such script"),
        (["run", "ok.lua", "--request", "{nope"], "--request: invalid JSON"),
        (["run", "ok.lua", "--request", "[1]"], "must be a JSON object"),
        (["run", "ok.lua", "--config", "bad.yaml"], "bad.yaml"),
        (["run", "ok.lua", "--config", "absent.yaml"], "absent.yaml: cannot read config file"),
        (["run"], "required"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_and_config_errors_exit_2_with_one_line(tmp_path, args, fragment):
    (tmp_path / "ok.lua").write_text("return 1")
    (tmp_path / "bad.yaml").write_text("lua: {max_memory: [}\n")
    proc = cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_documents_run():
    proc = cli("run", "--help")
    assert proc.returncode == 0
    assert "--request" in proc.stdout and "--config" in proc.stdout
    top = cli("--help").stdout
    assert "exit 0" in top and "twilio-emulator" in top
