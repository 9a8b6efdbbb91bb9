"""A service is one folder: delete it and the rest of murano-sim still imports, runs a script,
serves a solution that does not use it, and loads the console.

Each case copies the package to a temporary directory, deletes `services/<alias>/`, and drives
the copy in subprocesses (its own interpreter, so nothing of the full package is loaded).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "tests" / "solutions" / "keystore-only"
WAIT = 60  # a hang guard only: subprocesses start a fresh interpreter on a loaded machine
REMOVED = ["twilio", "timeseries"]


@pytest.fixture(scope="module", params=REMOVED)
def without(request, tmp_path_factory) -> tuple[str, Path]:
    """(alias, a directory holding murano_sim/ without services/<alias>/)."""
    alias = request.param
    where = tmp_path_factory.mktemp(f"without-{alias}")
    shutil.copytree(ROOT / "murano_sim", where / "murano_sim", ignore=shutil.ignore_patterns("__pycache__"))
    folder = where / "murano_sim" / "services" / alias
    assert (folder / "spec.yaml").is_file()  # it was there: the deletion below is real
    shutil.rmtree(folder)
    return alias, where


def _env(where: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MURANO_SIM_", "TWILIO_"))}
    env["PYTHONPATH"] = str(where)  # the copy, not the worktree's package
    env["NO_PROXY"] = "*"
    return env


def _python(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=where, env=_env(where), capture_output=True,
                          text=True, timeout=WAIT)


def test_the_package_imports_without_it(without):
    alias, where = without
    proc = _python(where, "-c", "import murano_sim, murano_sim.cli, murano_sim.testing.plugin, murano_sim.console; "
                   "print(murano_sim.__file__)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(where / "murano_sim" / "__init__.py")


def test_a_keystore_script_runs_without_it(without):
    alias, where = without
    script = where / "keystore.lua"
    script.write_text('Keystore.set{key = "k", value = "v"}\nreturn Keystore.get{key = "k"}\n', encoding="utf-8")
    proc = _python(where, "-m", "murano_sim.cli", "run", str(script))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["error"] is None and result["response"]["message"] == {"value": "v"}
    assert [call["service"] for call in result["calls"]] == ["keystore", "keystore"]


class _Served:
    """`murano-sim serve` of the copy, on free ports; its first stdout line is the base URL."""

    def __init__(self, where: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "murano_sim.cli", "serve", str(SOLUTION), "--port", "0", "--device-port", "0"],
            cwd=where, env=_env(where), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=lambda: [lines.put(line) for line in self.process.stdout], daemon=True).start()
        try:
            self.url = lines.get(timeout=WAIT).strip()
        except queue.Empty:
            self.url = ""

    def stop(self) -> str:
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return err


@pytest.fixture(scope="module")
def served(without):
    alias, where = without
    server = _Served(where)
    yield alias, server
    server.stop()


def test_a_solution_that_does_not_use_it_is_served_with_its_console(served):
    alias, server = served
    assert server.url.startswith("http://127.0.0.1:"), (server.url, server.process.poll())
    first = requests.get(server.url + "/visits", timeout=WAIT)
    second = requests.get(server.url + "/visits", timeout=WAIT)
    assert (first.status_code, first.json(), second.json()) == (200, {"visits": 1}, {"visits": 2})
    page = requests.get(server.url + "/_murano-sim/", timeout=WAIT)
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_the_console_lists_every_service_but_the_removed_one(served):
    alias, server = served
    assert server.url.startswith("http://127.0.0.1:")
    listed = requests.get(server.url + "/_murano-sim/api/services", timeout=WAIT)
    assert listed.status_code == 200
    body = listed.json()
    entries = body.get("services", body) if isinstance(body, dict) else body  # {alias: ...} or [{alias}, ...]
    aliases = set(entries) if isinstance(entries, dict) else {e["alias"] if isinstance(e, dict) else e for e in entries}
    assert "keystore" in aliases and alias not in aliases


def test_the_pytest_plugin_tests_a_script_without_it(without):
    # Fixtures and yaml case keys come from the plugins left: the keystore ones work, the removed
    # service's are unknown (a case naming them is a clear collection error, not a crash).
    alias, where = without
    tests = where / "tests"
    tests.mkdir()
    (tests / "test_keystore.py").write_text(
        "def test_it(murano, keystore):\n"
        "    assert murano.run('Keystore.set{key = \"k\", value = \"v\"}').error is None\n"
        "    assert keystore['k'] == 'v'\n", encoding="utf-8")
    (tests / "test_cases.murano.yaml").write_text(
        "- name: counts\n"
        "  source: 'return Keystore.get{key = \"n\"}'\n"
        "  keystore: {n: \"1\"}\n"
        "  expect: {message: {value: \"1\"}, keystore: {n: \"1\"}}\n", encoding="utf-8")
    proc = _python(where, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", str(tests))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
    (tests / "test_removed.murano.yaml").write_text(
        f"- name: uses it\n  source: 'return 1'\n  {alias}: {{}}\n", encoding="utf-8")
    proc = _python(where, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", str(tests))
    assert proc.returncode != 0
    assert f"unknown key {alias!r}" in proc.stdout, proc.stdout
