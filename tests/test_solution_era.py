"""The era setting: derived from the layout, overridden by config.yaml, handed to every service's host."""

from __future__ import annotations

from pathlib import Path

import pytest

from murano_sim import Runtime
from murano_sim.errors import ConfigError
from murano_sim.solution import load_solution
from murano_sim.solution.hotvm import SolutionVM

SOLUTIONS = Path(__file__).resolve().parent / "solutions"


@pytest.mark.parametrize(("folder", "era"), [
    ("layout-solutionfile-02", 2016), ("layout-solutionfile-03", 2016), ("layout-project-file", 2017),
    ("layout-murano-yaml", 2021),
])
def test_the_layout_decides_the_era(folder: str, era: int) -> None:
    assert load_solution(SOLUTIONS / folder).era == era


def test_a_murano_config_folder_is_muranocli(tmp_path: Path) -> None:
    (tmp_path / ".murano").mkdir()
    (tmp_path / ".murano" / "config").write_text("[location]\nendpoints = api\n")
    assert load_solution(tmp_path).era == 2017


def test_muranoclis_first_default_folders_are_2017(tmp_path: Path) -> None:
    (tmp_path / "eventhandlers").mkdir()
    (tmp_path / "eventhandlers" / "timer_timer.lua").write_text("print('tick')\n")
    assert load_solution(tmp_path).era == 2017
    (tmp_path / "eventhandlers").rename(tmp_path / "services")
    assert load_solution(tmp_path).era == 2021


def _hosts(runtime: Runtime) -> dict[str, int]:
    return {alias: host.era for alias, _, host in runtime.services._local()}


def test_every_service_gets_the_solutions_era() -> None:
    with Runtime() as runtime:
        assert set(_hosts(runtime).values()) == {2021}  # no solution: the current platform
        SolutionVM(runtime, load_solution(SOLUTIONS / "layout-solutionfile-02"))
        eras = _hosts(runtime)
        assert {"keystore", "device2", "timer"} <= set(eras)
        assert set(eras.values()) == {2016}


def test_config_yaml_overrides_the_layout() -> None:
    with Runtime({"era": 2017}) as runtime:
        SolutionVM(runtime, load_solution(SOLUTIONS / "layout-murano-yaml"))
        assert set(_hosts(runtime).values()) == {2017}


@pytest.mark.parametrize("value", [2010, "old", 2099])
def test_an_unknown_era_is_a_config_error(value: object) -> None:
    with pytest.raises(ConfigError, match="era"):
        Runtime({"era": value})


def test_muranoclis_later_default_routes_folder_is_2017(tmp_path: Path) -> None:
    # MuranoCLI's Config.rb defaults from March 2017: location.endpoints = routes, eventhandlers = services
    (tmp_path / "routes").mkdir()
    (tmp_path / "routes" / "status.get.lua").write_text("return 'ok'\n")
    (tmp_path / "services").mkdir()
    assert load_solution(tmp_path).era == 2017
    (tmp_path / "routes").rename(tmp_path / "endpoints")  # the platform templates' folder
    assert load_solution(tmp_path).era == 2021


def test_a_projects_product_id_is_read_from_muranocli_files(tmp_path: Path) -> None:
    (tmp_path / "routes").mkdir()
    assert load_solution(tmp_path).product_id is None
    (tmp_path / ".mrmuranorc").write_text("[product]\nid = olderpid\n")  # MrMurano's file, before MuranoCLI
    assert load_solution(tmp_path).product_id == "olderpid"
    (tmp_path / ".murano").mkdir()
    (tmp_path / ".murano" / "config").write_text("[business]\nid = b1\n[product]\nid = 'p2x9'\n")
    assert load_solution(tmp_path).product_id == "p2x9"
    (tmp_path / ".murano" / "config").write_text("[product\nid = broken")  # unreadable: no product id from it
    assert load_solution(tmp_path).product_id == "olderpid"
