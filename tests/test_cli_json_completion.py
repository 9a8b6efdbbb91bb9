"""CLI conventions through the real command: -v/-q on every command, --json output that parses on every
command that takes it, and `murano-sim completion bash|zsh`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from murano_sim import Runtime
from murano_sim.cli import build_parser
from murano_sim.state import State

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scripts" / "example-solution"
# The commands that print results and take --json (docs/cli-conventions.md lists them).
JSON_COMMANDS = ["run", "serve", "check", "trust", "outbox", "logs", "reset", "snapshot"]


def murano_sim(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "murano_sim", *args], capture_output=True, text=True,
                          env=full, input=stdin, timeout=120)


def test_every_command_takes_v_and_q_and_the_listed_ones_take_json():
    parser = build_parser()
    for name, command in parser.commands.items():
        assert {"-v", "-q"} <= set(command._option_string_actions), name
    assert sorted(parser.json_commands) == sorted(JSON_COMMANDS)


def test_json_output_parses_for_run_check_and_trust(tmp_path):
    run = murano_sim("run", "-", "--json", stdin="return {a = 1}")
    assert json.loads(run.stdout)["response"]["message"] == {"a": 1}
    check = murano_sim("check", str(EXAMPLE), "--json")
    assert json.loads(check.stdout)["layout"]
    (tmp_path / "config.yaml").write_text("lua: {}\n")
    data = {"XDG_DATA_HOME": str(tmp_path / "data")}  # the trust record goes to this test's folder
    trusted = json.loads(murano_sim("trust", str(tmp_path), "--json", env=data).stdout)
    assert trusted["trusted"] is True and trusted["file"].endswith("config.yaml")
    revoked = json.loads(murano_sim("trust", str(tmp_path), "--revoke", "--json", env=data).stdout)
    assert revoked == {"file": trusted["file"], "trusted": False, "was_trusted": True}


def test_json_output_parses_for_outbox(tmp_path):
    state = tmp_path / "state.db"
    script = 'Email.send({to = "a@example.com", subject = "hi", text = "x"})'
    with Runtime({}, state=State(state)) as runtime:  # a real run writes what outbox reads
        assert runtime.run(script).error is None
    listed = json.loads(murano_sim("outbox", "--state", str(state), "--json").stdout)
    assert [m["subject"] for m in listed] == ["hi"]


def test_verbose_prints_the_loaders_debug_line_and_quiet_prints_only_the_result():
    verbose = murano_sim("check", str(EXAMPLE), "-v")
    assert f"murano-sim: murano_sim.loader: {EXAMPLE}: " in verbose.stderr
    assert "murano_sim.loader" not in murano_sim("check", str(EXAMPLE)).stderr
    quiet = murano_sim("run", "-", "-q", stdin="return 1")
    assert quiet.stderr == "" and json.loads(quiet.stdout)["response"]["message"] == 1


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_prints_a_script_that_knows_every_command(shell):
    proc = murano_sim("completion", shell)
    assert proc.returncode == 0, proc.stderr
    for command in build_parser().commands:
        assert command in proc.stdout
    interpreter = shutil.which(shell)
    if interpreter is None:
        pytest.skip(f"{shell} is not installed: the script was checked for the commands only")
    syntax = subprocess.run([interpreter, "-n"], input=proc.stdout, capture_output=True, text=True, timeout=60)
    assert syntax.returncode == 0, syntax.stderr
