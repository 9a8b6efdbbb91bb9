"""`murano-sim lint`: real luacheck over solutions whose files hold several `--#ENDPOINT` sections."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "tests" / "solutions"
# The public solutions with a multi-endpoint file, and that file.
MULTI = {"real-doorlock-2016": "doorlock_api.lua", "real-c2c-weather-2020": "endpoints/c2c/callbacks.lua"}
LUACHECK = shutil.which("luacheck")
needs_luacheck = pytest.mark.skipif(LUACHECK is None,
                                    reason="luacheck is not installed (Debian: apt install lua-check)")
UNDEFINED_GLOBAL = re.compile(r"W11[1-3]")


def murano_sim(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "murano_sim", *args], capture_output=True, text=True, env=full,
                          timeout=300)


@needs_luacheck
@pytest.mark.parametrize("name", sorted(MULTI))
def test_a_multi_endpoint_file_is_linted_section_by_section(name, tmp_path):
    copy = tmp_path / name
    shutil.copytree(SOLUTIONS / name, copy)
    whole = subprocess.run([LUACHECK, "--codes", "--no-color", "--formatter", "plain", MULTI[name]], cwd=copy,
                           capture_output=True, text=True, timeout=120)
    assert "(E011)" in whole.stdout  # luacheck alone stops at the second section
    done = murano_sim("lint", str(copy), "--json")
    assert done.returncode in (0, 1), done.stderr  # 1: warnings (unused arguments), never errors
    findings = json.loads(done.stdout)
    assert [f for f in findings if f["code"] == "E011" or UNDEFINED_GLOBAL.match(f["code"])] == []
    assert not (copy / ".luacheckrc").exists()  # without one, the generated config is used, not written


@needs_luacheck
@pytest.mark.parametrize("solution", [ROOT / "scripts" / "example-solution", *sorted(SOLUTIONS.glob("real-*"))],
                         ids=lambda p: p.name)
def test_every_public_solution_lints_without_a_syntax_error_or_an_undefined_global(solution):
    done = murano_sim("lint", str(solution), "--json")
    assert done.returncode in (0, 1), done.stderr
    codes = {f["code"] for f in json.loads(done.stdout)}
    assert {c for c in codes if c.startswith("E") or UNDEFINED_GLOBAL.match(c)} == set()


@needs_luacheck
def test_a_finding_in_a_later_section_names_the_files_own_line(tmp_path):
    copy = tmp_path / "doorlock"
    shutil.copytree(SOLUTIONS / "real-doorlock-2016", copy)
    api = copy / "doorlock_api.lua"
    lines = api.read_text(encoding="utf-8").splitlines()
    third = next(i for i, line in enumerate(lines) if line.startswith("--#ENDPOINT get /mine"))
    lines.insert(third + 2, "undefined_thing_xyz()")
    api.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = murano_sim("lint", str(copy))
    assert done.returncode == 1, done.stderr
    expected = f"doorlock_api.lua:{third + 3}:1: (W113) accessing undefined variable 'undefined_thing_xyz'"
    assert expected in done.stdout.splitlines(), done.stdout


@needs_luacheck
def test_the_solutions_own_luacheckrc_is_the_one_used(tmp_path):
    copy = tmp_path / "doorlock"
    shutil.copytree(SOLUTIONS / "real-doorlock-2016", copy)
    (copy / ".luacheckrc").write_text('std = "min"\n', encoding="utf-8")  # knows no Murano global
    findings = json.loads(murano_sim("lint", str(copy), "--json").stdout)
    assert any(f["file"] == "doorlock_api.lua" and UNDEFINED_GLOBAL.match(f["code"]) for f in findings)


def test_without_luacheck_lint_says_so_in_one_line(tmp_path):
    done = murano_sim("lint", str(SOLUTIONS / "real-doorlock-2016"), env={"PATH": str(tmp_path)})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "luacheck is not installed" in done.stderr
