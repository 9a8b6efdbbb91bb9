"""The shape of the house, held by tests: no import circles, no arrows back up a floor, no
function-local imports hiding one, no service named outside its own folder.

The measure is scripts/import_graph.py (stdlib only): modules are files, folders are rooms,
imports are arrows, and every kind of import counts (module level, TYPE_CHECKING, function-local).
Run it by hand for the whole picture: `python3 scripts/import_graph.py murano_sim`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "murano_sim"
SERVICES = PACKAGE / "services"

# Function-local imports of the package's own modules that are allowed, each with why. Nothing
# else may import inside a function: such an import that closes a circle only hides it.
# (source module, imported module) -> why
ALLOWED_LOCAL_IMPORTS = {
    ("murano_sim", "murano_sim.runtime"): "`murano_sim.Runtime` loads lupa and every service on first use only",
    ("murano_sim", "murano_sim.config"): "`murano_sim.Config` loads yaml and jsonschema on first use only",
    ("murano_sim", "murano_sim.runtime.result"): "`murano_sim.ScriptResult` loads on first use, as Runtime does",
    ("murano_sim", "murano_sim.services.settings"):
        "`murano_sim.load_config` discovers every service's plugin on first use only",
    **{("murano_sim.cli", target): "each command loads what it needs when it runs (start-up time)" for target in (
        "murano_sim.solution.scriptrun", "murano_sim.solution.server", "murano_sim.console",
        "murano_sim.solution.loader", "murano_sim.solution.report", "murano_sim.solution.solution_config",
    )},
    **{("murano_sim.services.twilio.cli", target): "each command loads what it needs when it runs (start-up time)"
       for target in ("murano_sim.services.settings", "murano_sim.services.twilio.server",
                      "murano_sim.services.twilio.inbound")},
    ("murano_sim.testing", "murano_sim.services.twilio.fixture"):
        "the documented `from murano_sim.testing import TwilioControl`, lazy so the package works without the folder",
    ("murano_sim.services.device2.cli", "murano_sim.services.device2.client"):
        "`requests` loads only for `murano-sim device`",
    ("murano_sim.services.device2.cli", "murano_sim.services.device2.mqtt_client"):
        "paho-mqtt loads only for `murano-sim device --mqtt`",
    ("murano_sim.services.device2.control", "murano_sim.services.device2.mqtt_api"):
        "asyncio and amqtt load only for a test that connects a device over MQTT (devices.mqtt)",
    ("murano_sim.services.device2.control", "murano_sim.services.device2.mqtt_client"):
        "paho-mqtt loads only for a test that connects a device over MQTT (devices.mqtt)",
    ("murano_sim.services.email.cli", "murano_sim.services.email.model"):
        "smtplib and ssl load only for `murano-sim outbox`",
    **{("murano_sim.scaffold.cli", target): "each command loads what it needs when it runs (start-up time)"
       for target in ("murano_sim.solution.loader", "murano_sim.scaffold.luaglobals", "murano_sim.scaffold.stubs",
                      "murano_sim.scaffold.lint", "murano_sim.scaffold.template")},
    # issue 21: `murano-sim run` pays only for what the script uses
    ("murano_sim.services.twilio.local", "murano_sim.services.twilio.app"):
        "the emulator (its models, Werkzeug) loads with the first request that reaches Twilio",
    ("murano_sim.services.twilio.settings", "murano_sim.services.twilio.models"):
        "the emulator's models load for the config check only when emulator.numbers has rules",
    **{("murano_sim.solution.scriptrun", target): "a script run alone needs neither the solution's loader "
       "nor its VM" for target in ("murano_sim.solution.hotvm", "murano_sim.solution.loader")},
}

# Files outside services/twilio/ that may name Twilio (plan §7): Runtime.emulator, a documented
# alias, and the `from murano_sim.testing import TwilioControl` re-export.
MAX_FILES_NAMING_TWILIO = 2

# Imports of a service's folder from outside it that are allowed, with why.
ALLOWED_SERVICE_IMPORTS = {
    ("murano_sim.testing", "murano_sim.services.twilio.fixture"):
        "`from murano_sim.testing import TwilioControl` is documented (docs/testing.md)",
}

def _load_import_graph():
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


import_graph = _load_import_graph()


@pytest.fixture(scope="module")
def report():
    return import_graph.analyse(PACKAGE, twilio_place=("services/twilio",))


def _lines(imports) -> str:
    return "\n".join(f"  {i.where} -> {i.target} [{i.kind}] {', '.join(i.names)}" for i in imports)


def service_folders() -> list[str]:
    """Every built-in service: a folder under services/ with a spec.yaml."""
    return sorted(p.parent.name for p in SERVICES.glob("*/spec.yaml"))


def test_the_tool_sees_the_package(report):
    # A guard for the tests below: an analysis that found nothing would pass them all.
    assert "murano_sim.runtime" in report.modules and "murano_sim.services.registry" in report.modules
    assert len(report.imports) > 100
    assert {"keystore", "twilio", "timeseries"} <= set(service_folders())


def test_no_file_level_import_cycles(report):
    assert report.file_cycles == [], "\n".join(", ".join(c) for c in report.file_cycles)


def test_no_arrow_runs_back_up_a_floor(report):
    found = {arrow: report.room_arrows[arrow] for arrow in report.back_arrows}
    assert found == {}, "\n".join(f"{a} -> {b}:\n{_lines(imports)}" for (a, b), imports in found.items())


def test_the_solution_does_not_reach_up_into_the_console(report):
    # Circle 2 of issue 20: the console reads the solution; the solution is handed its surfaces.
    up = [i for i in report.imports if i.source.startswith("murano_sim.solution")
          and i.target.startswith("murano_sim.console")]
    assert up == [], _lines(up)


def test_function_local_imports_only_where_allowed_with_a_why(report):
    unexplained = [i for i in report.local_imports_in_package
                   if (i.source, i.target) not in ALLOWED_LOCAL_IMPORTS]
    assert unexplained == [], _lines(unexplained)


def test_the_allow_list_has_no_stale_entries(report):
    # An entry whose import is gone would let a new one slip in unnoticed.
    present = {(i.source, i.target) for i in report.local_imports_in_package}
    assert set(ALLOWED_LOCAL_IMPORTS) <= present, sorted(set(ALLOWED_LOCAL_IMPORTS) - present)


def test_at_most_two_files_outside_the_twilio_service_name_it(report):
    files = report.twilio_files
    assert len(files) <= MAX_FILES_NAMING_TWILIO, "\n".join(f"  {n:4d} {p}" for p, n in sorted(files.items()))


def _service_imports_from_outside(report) -> list:
    folders = set(service_folders())
    found = []
    for imp in report.imports:
        parts = imp.target.split(".")
        if len(parts) < 3 or parts[:2] != ["murano_sim", "services"] or parts[2] not in folders:
            continue
        home = ".".join(parts[:3])
        if imp.source == home or imp.source.startswith(home + "."):
            continue
        if (imp.source, imp.target) not in ALLOWED_SERVICE_IMPORTS:
            found.append(imp)
    return found


def test_no_module_outside_a_service_imports_it(report):
    found = _service_imports_from_outside(report)
    assert found == [], _lines(found)


def test_the_house_proper_never_imports_a_service(report):
    # cli, net/, solution/ and the package's public face reach services through plugins only.
    rooms = ("murano_sim.net", "murano_sim.solution")
    found = [i for i in _service_imports_from_outside(report)
             if i.source in ("murano_sim", "murano_sim.cli") or any(i.source.startswith(r + ".") for r in rooms)]
    assert found == [], _lines(found)


def test_only_errors_cli_and_the_package_face_are_loose_modules():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "cli.py", "errors.py"]  # __main__: `python -m murano_sim`
