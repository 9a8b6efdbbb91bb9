"""`murano-sim serve` end to end, as a subprocess: URL first, serves, logs, stops cleanly on a signal."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = Path(__file__).resolve().parent / "solutions"


class Serving:
    """`murano-sim serve ... --port 0` in a subprocess; killed after 60 s whatever happens."""

    def __init__(self, *args: str, cwd: Path = ROOT) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "murano_sim.cli", "serve", *args, "--port", "0"],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._watchdog = threading.Timer(60, self.proc.kill)
        self._watchdog.start()
        self.first_line = self.proc.stdout.readline().rstrip("\n")  # type: ignore[union-attr]
        self.devices_line = self.proc.stdout.readline().rstrip("\n")  # type: ignore[union-attr]
        self.mqtt_line = self.proc.stdout.readline().rstrip("\n")  # type: ignore[union-attr]

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        self._watchdog.cancel()
        return self.proc.returncode, out, err


def test_serve_prints_the_url_first_serves_and_exits_0_on_sigterm():
    serving = Serving(str(SOLUTIONS / "newer"))
    try:
        assert serving.first_line.startswith("http://127.0.0.1:"), serving.first_line
        response = requests.get(serving.first_line + "/users/9", params={"sort": "up"}, timeout=10)
        assert response.status_code == 200 and response.json()["id"] == "9"
    finally:
        code, out, err = serving.stop()
    assert code == 0, err
    assert "[webservice] GET /users/{id} -> 200" in out
    assert "Traceback" not in err


def test_serve_exits_0_on_sigint():
    serving = Serving(str(SOLUTIONS / "older"))
    assert serving.first_line.startswith("http://")
    code, _, err = serving.stop(signal.SIGINT)
    assert code == 0 and "Traceback" not in err


def test_json_logs_are_one_object_per_line_after_the_url():
    serving = Serving(str(SOLUTIONS / "newer"), "--json")
    try:
        requests.get(serving.first_line + "/fail", timeout=10)
    finally:
        code, out, _ = serving.stop()
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    script = next(r for r in records if r["type"] == "script")
    assert script["event"] == "GET /fail" and script["status"] == 500
    assert script["error"] == "endpoints/api.lua:38: database exploded"


def test_a_folder_that_is_not_a_solution_fails_at_start_in_one_line(tmp_path):
    # A malformed header is only a warning now (see docs/solutions.md); a non-solution is fatal.
    (tmp_path / "README.txt").write_text("hello\n")
    proc = subprocess.run(
        [sys.executable, "-m", "murano_sim.cli", "serve", str(tmp_path), "--port", "0"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"murano-sim: {tmp_path}: not a Murano solution")


def test_config_beside_the_solution_is_used(tmp_path):
    root = tmp_path / "solution"
    shutil.copytree(SOLUTIONS / "older", root)
    (root / "config.yaml").write_text("env:\n  GREETING: bonjour\n")
    (root / "routes" / "env.lua").write_text("--#ENDPOINT GET /env\nreturn os.getenv('GREETING')\n")
    serving = Serving(str(root), cwd=tmp_path)
    try:
        assert requests.get(serving.first_line + "/env", timeout=10).text == "bonjour"
    finally:
        serving.stop()


@pytest.mark.parametrize("flag", ["--config"])
def test_explicit_config_wins(tmp_path, flag):
    (tmp_path / "other.yaml").write_text("env:\n  GREETING: hallo\n")
    root = tmp_path / "solution"
    shutil.copytree(SOLUTIONS / "older", root)
    (root / "config.yaml").write_text("env:\n  GREETING: bonjour\n")
    (root / "routes" / "env.lua").write_text("--#ENDPOINT GET /env\nreturn os.getenv('GREETING')\n")
    serving = Serving(str(root), flag, str(tmp_path / "other.yaml"), cwd=tmp_path)
    try:
        assert requests.get(serving.first_line + "/env", timeout=10).text == "hallo"
    finally:
        serving.stop()


def test_the_device_api_is_the_second_line_and_a_device_can_provision_and_write():
    serving = Serving(str(SOLUTIONS / "newer"))
    try:
        assert serving.devices_line.startswith("devices: http://127.0.0.1:"), serving.devices_line
        assert serving.mqtt_line.startswith("mqtt: mqtts://127.0.0.1:"), serving.mqtt_line
        devices = serving.devices_line.removeprefix("devices: ")
        token = requests.post(devices + "/provision/activate", data={"id": "serve-1"}, timeout=10)
        assert token.status_code == 200
        written = requests.post(devices + "/onep:v1/stack/alias", data={"temperature": "20"},
                                headers={"X-Exosite-CIK": token.text}, timeout=10)
        assert written.status_code == 204
        assert requests.post(devices + "/onep:v1/stack/alias", data={"t": "1"}, timeout=10).status_code == 401
    finally:
        code, out, err = serving.stop()
    assert code == 0 and "Traceback" not in err and token.text not in out + err
