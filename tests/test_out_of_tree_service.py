"""A service from a package of one's own (tests/oot_service): found by discover(extra=...) or by the
entry-point group `murano_sim.services`, called from Lua, reached through its control, reset with the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from oot_service import PLUGIN

from murano_sim import ConfigError, Runtime
from murano_sim.services import ServicePlugin, discover
from murano_sim.services.plugin import ENTRY_POINT_GROUP

ROOT = Path(__file__).resolve().parent.parent
CONFIG = {"services": {"exchange": {"base": "USD", "rates": {"EUR": 1.25}}}}


def test_discover_with_extra_adds_the_service_after_the_built_ins():
    plugins = discover(extra=[PLUGIN])
    assert plugins[-1] is PLUGIN and "keystore" in [p.alias for p in plugins]


def test_an_alias_twice_is_a_config_error_naming_both_specs():
    twin = ServicePlugin(spec=PLUGIN.spec)
    with pytest.raises(ConfigError, match="'exchange' is defined twice"):
        discover(extra=[PLUGIN, twin])


def test_a_lua_call_its_control_and_a_reset():
    with Runtime(CONFIG, plugins=[PLUGIN]) as runtime:
        result = runtime.run("""
            Exchange.setRate{currency = "GBP", rate = 2}
            return {Exchange.convert{amount = 10, currency = "GBP"}, Exchange.convert{amount = 4, currency = "EUR"},
                    Exchange.convert{amount = 1, currency = "XXX"}.status, Exchange.setRate{currency = "gbp", rate = 1}}
        """)
        assert result.error is None, result.error
        converted, seeded, missing, refused = result.response.message
        assert converted == {"amount": 20, "currency": "USD"} and seeded == {"amount": 5, "currency": "USD"}
        assert missing == 404 and refused["error"] == "Exchange.setRate: currency: must be a 3-letter currency code"
        assert [c["operation"] for c in result.calls] == ["setRate", "convert", "convert", "convert", "setRate"]
        assert runtime.services.events[0] == {"service": "exchange", "event": "rateChanged",
                                              "payload": {"currency": "GBP", "rate": 2}}

        control = runtime.services.control("exchange")
        assert control is runtime.services.controls()["exchange"] and control.fixture() is control
        assert control.inspect() == {"EUR": 1.25, "GBP": 2}
        control.seed({"CHF": 0.5})
        assert runtime.run("return Exchange.convert{amount = 8, currency = 'CHF'}").response.message["amount"] == 4

        runtime.reset()
        assert control.inspect() == {"EUR": 1.25}
        assert runtime.services.events == []


def test_an_unknown_setting_of_the_service_is_refused_like_a_built_in_one():
    with pytest.raises(ConfigError, match="services.exchange"):
        Runtime({"services": {"exchange": {"nonsense": 1}}}, plugins=[PLUGIN])


def test_an_installed_package_is_seen_by_murano_sim_run(tmp_path: Path):
    # What `pip install` of a package declaring the entry point leaves on sys.path, without installing it.
    dist = tmp_path / "oot_exchange-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: oot-exchange\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nexchange = oot_service:PLUGIN\n")
    script = tmp_path / "rates.lua"
    script.write_text('Exchange.setRate{currency = "JPY", rate = 0.01} '
                      'return Exchange.convert{amount = 300, currency = "JPY"}\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests"), str(tmp_path)])}
    done = subprocess.run([sys.executable, "-m", "murano_sim.cli", "run", str(script)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["response"]["message"] == {"amount": 3, "currency": "EUR"}


def test_a_broken_installed_plugin_is_one_log_line_and_the_rest_works(tmp_path: Path):
    dist = tmp_path / "broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken = no_such_package:PLUGIN\n")
    script = tmp_path / "ks.lua"
    script.write_text('Keystore.set{key = "k", value = "v"} return Keystore.get{key = "k"}\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    done = subprocess.run([sys.executable, "-m", "murano_sim.cli", "run", str(script)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["response"]["message"] == {"value": "v"}
    assert "service plugin broken (no_such_package:PLUGIN) could not be loaded" in done.stderr
    assert "Traceback" not in done.stderr
