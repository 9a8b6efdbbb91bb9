"""Modules as each era's Murano ran them (docs/solutions.md, "Modules by era"), through real Lua.

2016 Solutionfile modules were joined into each script (their locals in scope), 2016-2017 modules had
a global table named after them (a .luacheckrc of the time lists such a module as "visible from all
scripts"), and later solutions use `require`. The solutions are written here in those shapes.
"""

from __future__ import annotations

import json
from pathlib import Path

FLEET = """-- the fleet's limits, in one place
Fleet.Limits = {max_devices = 3, poll_seconds = 30}
function Fleet.describe() return "max " .. Fleet.Limits.max_devices end
"""
FLEET_ENDPOINT = """--#ENDPOINT GET /fleet
return {max = Fleet.Limits.max_devices, text = Fleet.describe()}
"""


def _muranocli(root: Path) -> Path:
    (root / "fleet.murano").write_text("info:\n  name: fleet\nformatversion: 1.0.0\n")
    (root / "modules").mkdir(parents=True)
    (root / "modules" / "Fleet.lua").write_text(FLEET)
    (root / "routes").mkdir()
    (root / "routes" / "fleet.get.lua").write_text(FLEET_ENDPOINT)
    return root


def test_a_2017_module_has_its_global_table(murano_solution, tmp_path):
    served = murano_solution(_muranocli(tmp_path))
    assert served.get("/fleet").json() == {"max": 3, "text": "max 3"}


def test_a_current_solution_keeps_plain_lua_modules(murano_solution, tmp_path):
    root = _muranocli(tmp_path)
    (root / "fleet.murano").unlink()
    (root / "murano.yaml").write_text("formatversion: 1.0.0\nendpoints:\n  location: routes\n")
    served = murano_solution(root)
    assert served.get("/fleet").status_code == 500
    assert any("attempt to index global 'Fleet'" in str(line) and "modules/Fleet.lua:2" in str(line)
               for line in served.logs)


def test_an_existing_global_is_not_replaced(murano_solution, tmp_path):
    root = _muranocli(tmp_path)
    (root / "modules" / "Keystore.lua").write_text("Keystore.kept = true\n")
    (root / "routes" / "kept.get.lua").write_text(
        "--#ENDPOINT GET /kept\nreturn {kept = Keystore.kept, service = type(Keystore.get)}\n")
    assert murano_solution(root).get("/kept").json() == {"kept": True, "service": "function"}


CONVERT = """-- conversions every script uses (no require in 2016)
local factor = 5 / 9
local function celsius(f)
  return (f - 32) * factor
end
local readings = 0
function count_reading()
  readings = readings + 1
  return readings
end
local function label() return "convert" end
function convert_label() return label() end
"""
OTHER = """local function label() return "other" end
function other_label() return label() end
"""
API = """--#ENDPOINT GET /celsius/{f}
return {c = celsius(tonumber(request.parameters.f)), n = count_reading(), n2 = count_reading(),
        labels = {convert_label(), other_label(), label()}}
"""


def _solutionfile(root: Path) -> Path:
    (root / "modules").mkdir(parents=True)
    (root / "modules" / "convert.lua").write_text(CONVERT)
    (root / "modules" / "other.lua").write_text(OTHER)
    (root / "api.lua").write_text(API)
    (root / "Solutionfile.json").write_text(json.dumps({
        "custom_api": "api.lua", "modules": {"convert": "modules/convert.lua", "other": "modules/other.lua"}}))
    return root


def test_2016_module_locals_are_in_scope_in_every_script(murano_solution, tmp_path):
    answer = murano_solution(_solutionfile(tmp_path)).get("/celsius/212").json()
    assert answer["c"] == 100
    assert answer["n2"] == answer["n"] + 1  # the module's functions keep their own state
    # each module's functions see its own locals; a script sees the last module's (joined in file order)
    assert answer["labels"] == ["convert", "other", "other"]


def test_config_yaml_era_decides_for_a_current_layout(murano_solution, tmp_path):
    root = _solutionfile(tmp_path)
    (root / "Solutionfile.json").unlink()
    (root / "endpoints").mkdir()
    (root / "api.lua").rename(root / "endpoints" / "api.lua")
    (root / "murano.yaml").write_text("formatversion: 1.0.0\n")
    assert murano_solution(root).get("/celsius/212").status_code == 500  # require-era: locals stay private
    (root / "config.yaml").write_text("era: 2016\n")
    assert murano_solution(root).get("/celsius/212").json()["c"] == 100
