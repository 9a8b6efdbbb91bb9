"""`murano-sim run` pays only for what the script uses (issue 21): held by what a run imported, not by time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("fakeredis", "werkzeug", "jsonschema", "simple_websocket",
         "murano_sim.services.twilio.app", "murano_sim.services.keystore.model", "murano_sim.solution.server")

PROBE = """
import json, sys
from murano_sim.cli import main
code = main(["run", sys.argv[1]])
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in
      ("fakeredis", "werkzeug", "jsonschema", "simple_websocket") or m.startswith("murano_sim."))}))
"""


def _run(tmp_path: Path, source: str) -> tuple[int, set[str], dict[str, object]]:
    script = tmp_path / "script.lua"
    script.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", PROBE, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    result_line, probe_line = done.stdout.strip().splitlines()[-2:]
    probe = json.loads(probe_line)
    return probe["code"], set(probe["loaded"]), json.loads(result_line)


def test_a_script_that_uses_no_service_imports_no_model_no_werkzeug_and_no_schema_checker(tmp_path):
    code, loaded, result = _run(tmp_path, "return 1")
    assert code == 0 and result["response"]["message"] == 1
    assert not {name for name in loaded if name in HEAVY}


def test_a_script_imports_the_services_it_calls_and_they_work(tmp_path):
    code, loaded, result = _run(tmp_path, 'Keystore.set{key = "k", value = "v"}\n'
                                          'local sms = Twilio.postMessage{To = "+15005550006", '
                                          'From = "+15005550006", Body = "hi"}\n'
                                          'return Keystore.get{key = "k"}.value .. " " .. sms.status')
    assert code == 0, result
    assert result["response"]["message"] == "v queued"
    assert {"fakeredis", "murano_sim.services.keystore.model", "murano_sim.services.twilio.app"} <= loaded


def test_a_bad_setting_of_a_service_not_yet_used_is_still_one_line_at_start(tmp_path):
    # The service's model is built on first use only when nothing configures it: config stays strict.
    (tmp_path / "config.yaml").write_text("services:\n  http:\n    allow_hosts: example.com\n")
    (tmp_path / "script.lua").write_text("return 1")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-m", "murano_sim.cli", "run", "script.lua"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "murano-sim: services.http.allow_hosts: must be a list of host names or addresses"]
