"""`murano-sim check DIR` through the real command: what it prints, --json, and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
LAYOUTS = ["layout-murano-yaml", "layout-project-file", "layout-solutionfile-02", "layout-solutionfile-03",
           "layout-murano-config", "layout-folders-2016", "placeholders"]


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "murano_sim.cli", "check", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_layout_checks_clean(name):
    proc = check(str(SOLUTIONS / name), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"] == [] and report["endpoints"] and report["handlers"]
    assert proc.stderr == ""


def test_text_report_shows_endpoints_annotations_modules_services_and_env_schema():
    proc = check(str(SOLUTIONS / "layout-murano-yaml"))
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == f"solution {SOLUTIONS / 'layout-murano-yaml'} (murano.yaml layout)"
    assert ("  GET /api/sum [tags math,public; security none; ratelimit 60/min]  endpoints/api.lua:3") in lines
    assert "  POST /api/describe [accepts application/json; tags math; security bearer]  endpoints/api.lua:13" in lines
    assert "  WEBSOCKET /api/live  endpoints/api.lua:25" in lines
    assert "  config fallback  services/config.lua:6" in lines
    assert "  legacy  modules/legacy.lua  (global: runs at every VM load)" in lines
    assert "  c2c.utils  modules/c2c/utils.lua" in lines
    assert "  assets/ (2 files)" in lines
    assert "  GREETING: The word the /api/greet endpoint uses" in lines
    assert "  Tsdb: emulated" in lines and "  keystore: emulated" in lines
    assert lines[-2:] == ["warnings: 0", "errors: 0"]


def test_json_report_marks_emulated_services():
    report = json.loads(check(str(SOLUTIONS / "newer"), "--json").stdout)
    assert report["services"] == [{"name": "Twilio", "emulated": True}]
    assert report["layout"] == "folders" and report["init_script"] == "init.lua"


def test_warnings_are_printed_and_do_not_fail_the_check():
    proc = check(str(SOLUTIONS / "placeholders"))
    assert proc.returncode == 0
    assert "warnings: 3" in proc.stdout
    assert "  services/product.lua:2: '{product.id}' is not a Murano service alias: " \
           "kept as the script key {product.id} event, fired only on request" in proc.stdout.splitlines()


def test_a_syntax_error_fails_the_check_with_file_and_line(tmp_path):
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "a.lua").write_text("--#ENDPOINT GET /a\nreturn 1\n--#ENDPOINT GET /b\nreturn (\n")
    proc = check(str(tmp_path))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[-2] == "errors: 1" and lines[-1].startswith("  endpoints/a.lua:4:")
    assert "  GET /b  endpoints/a.lua:3" in lines  # still listed: it answers 500 with the error when served
    report = json.loads(check(str(tmp_path), "--json").stdout)
    assert report["errors"][0].startswith("endpoints/a.lua:4:")


def test_an_unreadable_file_fails_the_check(tmp_path):
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "gone.lua").symlink_to(tmp_path / "absent.lua")
    proc = check(str(tmp_path))
    assert proc.returncode == 1
    assert "  endpoints/gone.lua: cannot read (No such file or directory)" in proc.stdout.splitlines()


@pytest.mark.parametrize("args, message", [
    (["/no/such/dir"], "murano-sim: /no/such/dir: no such solution directory"),
    ([], "murano-sim: the following arguments are required: SOLUTION_DIR (see murano-sim check --help)"),
])
def test_usage_errors_exit_2_in_one_line(args, message):
    proc = check(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == message


def test_a_folder_that_is_not_a_solution_is_a_usage_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hi\n")
    proc = check(str(tmp_path))
    assert proc.returncode == 2 and "not a Murano solution" in proc.stderr
