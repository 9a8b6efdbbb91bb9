"""`murano-sim stubs` and `murano-sim init`, through the real command, real Lua, real luacheck and pytest."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from murano_sim.lua.engine import lupa_lua as lupa
from murano_sim.services.plugin import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = [ROOT / "scripts" / "example-solution", *sorted((ROOT / "tests" / "solutions").glob("real-*"))]
LUACHECK = shutil.which("luacheck")
needs_luacheck = pytest.mark.skipif(LUACHECK is None,
                                    reason="luacheck is not installed (Debian: apt install lua-check)")
# luacheck's undefined-global family: W111 setting, W112 mutating, W113 accessing a non-standard global.
UNDEFINED_GLOBAL = re.compile(r"\(W11[1-3]\)")


def murano_sim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "murano_sim", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def stubbed_copy(source: Path, tmp_path: Path) -> Path:
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    done = murano_sim("stubs", str(copy))
    assert done.returncode == 0, done.stderr
    return copy


def test_the_generated_files_parse_as_lua_and_json(tmp_path):
    copy = stubbed_copy(PUBLIC[0], tmp_path)
    lua = lupa.LuaRuntime()
    for name in (".murano-sim/murano.d.lua", ".luacheckrc"):
        compiled = lua.eval("function(source, name) local f, err = loadstring(source, name) return err end")
        assert compiled((copy / name).read_text(encoding="utf-8"), name) is None
    settings = json.loads((copy / ".luarc.json").read_text(encoding="utf-8"))
    assert settings["runtime.version"] == "LuaJIT"
    meta = (copy / ".murano-sim/murano.d.lua").read_text(encoding="utf-8")
    # From keystore's spec: `set` needs key and value, answers the 204 table.
    assert "---@field key string\n---@field value string|number|boolean" in meta
    assert "---@return {status: integer}|MuranoError\nfunction Keystore.set(arguments) end" in meta


def test_the_luacheckrc_runs_and_lists_the_sandbox(tmp_path):
    copy = stubbed_copy(PUBLIC[0], tmp_path)
    lua = lupa.LuaRuntime()
    env = lua.eval("function(source) local t = {stds = {}, files = {}} local f = assert(loadstring(source)) "
                   "setfenv(f, t) f() return t end")((copy / ".luacheckrc").read_text(encoding="utf-8"))
    read_globals = env["stds"]["murano"]["read_globals"]
    assert read_globals["Keystore"]["fields"]["get"] is not None
    assert read_globals["io"] is None  # not in Murano's sandbox, so not in the configuration


def test_an_edited_file_is_kept_without_force(tmp_path):
    copy = stubbed_copy(PUBLIC[0], tmp_path)
    again = murano_sim("stubs", str(copy))
    assert again.returncode == 0, again.stderr  # its own files, unedited: rewritten
    rc = copy / ".luacheckrc"
    rc.write_text(rc.read_text(encoding="utf-8") + "globals = {'mine'}\n", encoding="utf-8")
    refused = murano_sim("stubs", str(copy))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and ".luacheckrc" in refused.stderr and "--force" in refused.stderr
    assert "mine" in rc.read_text(encoding="utf-8")
    forced = murano_sim("stubs", "--force", str(copy))
    assert forced.returncode == 0 and "mine" not in rc.read_text(encoding="utf-8")


@needs_luacheck
@pytest.mark.parametrize("solution", PUBLIC, ids=lambda p: p.name)
def test_luacheck_finds_no_undefined_global(solution, tmp_path):
    copy = stubbed_copy(solution, tmp_path)
    done = subprocess.run([LUACHECK, "--codes", "--no-color", "--formatter", "plain", "."], cwd=copy,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1, 2), done.stderr  # 1, 2: warnings or syntax errors were found
    assert [line for line in done.stdout.splitlines() if UNDEFINED_GLOBAL.search(line)] == []


@needs_luacheck
def test_without_the_generated_files_luacheck_sees_undefined_globals(tmp_path):
    """The check above can fail: the same solution without .luacheckrc reports its Murano globals."""
    copy = tmp_path / "plain"
    shutil.copytree(PUBLIC[0], copy)
    done = subprocess.run([LUACHECK, "--codes", "--no-color", "--formatter", "plain", "."], cwd=copy,
                          capture_output=True, text=True, timeout=120)
    assert any(UNDEFINED_GLOBAL.search(line) for line in done.stdout.splitlines())


def test_init_makes_a_solution_that_passes_its_own_tests(tmp_path):
    root = tmp_path / "fresh"
    made = murano_sim("init", str(root))
    assert made.returncode == 0, made.stderr
    for name in ("endpoints/hello.lua", "modules/greeting.lua", "services/device2_data_in.lua", "config.yaml",
                 "tests/test_solution.py", "tests/test_hello.murano.yaml", ".github/workflows/test.yml",
                 "README.md", ".luarc.json", ".luacheckrc", ".murano-sim/murano.d.lua"):
        assert (root / name).is_file(), name
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"],
                           cwd=root, capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout
    checked = murano_sim("check", str(root))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    if LUACHECK:
        lint = subprocess.run([LUACHECK, "--codes", "--no-color", "."], cwd=root, capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout


def test_init_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.lua").write_text("return 1\n", encoding="utf-8")
    refused = murano_sim("init", str(tmp_path))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "not an empty directory" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.lua"]


def test_an_installed_service_is_in_the_editor_files(tmp_path):
    """An out-of-tree service (tests/oot_service, declared in the entry-point group) gets its
    definitions and luacheck fields, as the built-in ones do."""
    dist = tmp_path / "site" / "oot_exchange-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: oot-exchange\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nexchange = oot_service:PLUGIN\n")
    solution = tmp_path / "solution"
    (solution / "endpoints").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), str(tmp_path / "site")])}
    done = subprocess.run([sys.executable, "-m", "murano_sim", "stubs", str(solution)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    meta = (solution / ".murano-sim/murano.d.lua").read_text(encoding="utf-8")
    assert "function Exchange.convert(arguments) end" in meta and "---@class Exchange.setRate.arguments" in meta
    assert '["convert"] = {}' in (solution / ".luacheckrc").read_text(encoding="utf-8")
