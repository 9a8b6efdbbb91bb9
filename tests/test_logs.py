"""`murano-sim logs` against a real `serve` (subprocesses, real HTTP), its API and the kept history."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from murano_sim import Runtime
from murano_sim.cli import main
from murano_sim.console import Console
from murano_sim.net.marker import MARKER_HEADER, MARKER_VALUE
from murano_sim.solution import SolutionLog, serve_solution
from murano_sim.solution.logstore import LogFilter, LogStore, read_state_file
from murano_sim.state import State

SOLUTION = Path(__file__).resolve().parent / "solutions" / "console"
SECRET = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
WAIT = 60  # seconds: a hang guard only; every read ends as soon as the line arrives


class Lines:
    """A subprocess's stdout, line by line, read on a thread (so that a missing line fails, not hangs)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next(self) -> str:
        try:
            line = self._lines.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no line from {self.proc.args} in {WAIT} s") from None
        assert line is not None, f"{self.proc.args} ended: {self.proc.stderr.read() if self.proc.stderr else ''}"
        return line


def _env(runtime_dir: Path) -> dict[str, str]:
    return {**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir), "PYTHONUNBUFFERED": "1"}


def _start(args: list[str], cwd: Path, runtime_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "murano_sim", *args], cwd=cwd, env=_env(runtime_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture
def solution(tmp_path: Path) -> Path:
    folder = tmp_path / "solution"
    shutil.copytree(SOLUTION, folder)
    (folder / "config.yaml").write_text(f"services:\n  twilio:\n    AuthToken: {SECRET}\n", encoding="utf-8")
    return folder


@pytest.fixture
def served(solution: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`murano-sim serve` of the solution with a --state file: (its URL, the state file)."""
    state = tmp_path / "state.db"
    proc = _start(["serve", str(solution), "--port", "0", "--state", str(state)], tmp_path, tmp_path / "run")
    try:
        url = Lines(proc).next()
        assert url.startswith("http://127.0.0.1:"), url
        yield url, state
    finally:
        _stop(proc)


def test_logs_follow_in_the_solutions_folder_shows_a_request_made_after_it_started(served, solution, tmp_path):
    url, _ = served
    requests.get(f"{url}/greeting", params={"when": "before"}, timeout=10)
    # No --url: the serve of the solution in this folder, as serve recorded it.
    follower = _start(["logs", "--follow", "--endpoint", "/greeting", "--json"], solution, tmp_path / "run")
    try:
        lines = Lines(follower)
        before = json.loads(lines.next())  # the history: the follower is reading now
        assert (before["event"], before["parameters"]) == ("GET /greeting", {"when": "before"})
        assert json.loads(lines.next())["function_call"] == "get"  # its Keystore call
        requests.get(f"{url}/fired", timeout=10)  # another endpoint: filtered out
        requests.get(f"{url}/greeting", params={"when": "after"}, timeout=10)
        after = json.loads(lines.next())
        assert (after["type"], after["event"], after["parameters"]) == ("script", "GET /greeting", {"when": "after"})
        assert after["severity"] == "info" and after["status"] == 200
    finally:
        assert _stop(follower) == 130  # Ctrl-C, as documented


def test_reading_the_state_file_after_serve_stopped(solution, tmp_path):
    state = tmp_path / "state.db"
    proc = _start(["serve", str(solution), "--port", "0", "--state", str(state)], tmp_path, tmp_path / "run")
    try:
        url = Lines(proc).next()
        requests.get(f"{url}/greeting", params={"token": SECRET}, timeout=10)
        requests.get(f"{url}/boom", timeout=10)
    finally:
        assert _stop(proc) == 0
    assert not list((tmp_path / "run").rglob("*.json")), "serve forgets its URL record when it stops"
    done = subprocess.run([sys.executable, "-m", "murano_sim", "logs", "--state", str(state), "--json"],
                          capture_output=True, text=True, env=_env(tmp_path / "run"), timeout=WAIT)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    events = [r["event"] for r in records if r["type"] == "script"]
    assert events == ["GET /greeting", "GET /boom"]
    assert SECRET not in done.stdout and "{\"token\": \"" in done.stdout  # the parameter is there, redacted
    pretty = subprocess.run([sys.executable, "-m", "murano_sim", "logs", "--state", str(state), "--severity", "error"],
                            capture_output=True, text=True, env=_env(tmp_path / "run"), timeout=WAIT)
    assert pretty.returncode == 0, pretty.stderr
    assert "GET /boom -> 500" in pretty.stdout and "! error: endpoints/api.lua:" in pretty.stdout
    assert "/greeting" not in pretty.stdout


def test_logs_without_a_serve_or_with_bad_input_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.chdir(tmp_path)
    cases = [
        ([], "no running `murano-sim serve` of"),
        (["--url", "http://example.com:80"], "not a loopback address"),
        (["--state", str(tmp_path / "missing.db")], "no such state file"),
        (["--state", str(Path(__file__))], "not a murano-sim state file"),
        (["--state", str(Path(__file__)), "--severity", "loud"], "severity: expected one of"),
    ]
    for args, message in cases:
        assert main(["logs", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.fixture
def console_url() -> Iterator[str]:
    with Runtime({"services": {"twilio": {"AuthToken": SECRET}}}) as runtime, open(os.devnull, "w") as quiet:
        server = serve_solution(SOLUTION, runtime, log=SolutionLog(quiet, secrets=[SECRET]), surfaces=(Console,))
        try:
            yield server.url
        finally:
            server.shutdown()


def _logs(url: str, **query: str) -> dict:
    answer = requests.get(f"{url}/_murano-sim/api/logs", params=query, timeout=WAIT)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_filters_over_the_api_and_the_cli(console_url, capsys):
    requests.get(f"{console_url}/greeting", timeout=10)
    requests.post(f"{console_url}/sms", data={"From": "+15551230001", "Body": "hi"}, timeout=10)
    requests.get(f"{console_url}/boom", timeout=10)

    def events(**query: str) -> list[tuple[str, str]]:
        return [(r["type"], r.get("event")) for r in _logs(console_url, **query)["records"]]

    assert events(endpoint="/greeting") == [("script", "GET /greeting"), ("service_call", "GET /greeting")]
    assert events(endpoint="POST /*") == [("script", "POST /sms")]
    assert events(severity="warning") == [("script", "POST /sms"), ("script", "GET /boom")]
    assert events(severity="error") == [("script", "GET /boom")]
    assert events(service="keystore") == [("service_call", "GET /greeting")]
    assert events(grep="SMS FROM +1555") == [("script", "POST /sms")]
    for query, message in (({"severity": "loud"}, "severity: expected one of"), ({"wait": "nan"}, "wait: expected"),
                           ({"after": "x"}, "after: expected a whole number")):
        bad = requests.get(f"{console_url}/_murano-sim/api/logs", params=query, timeout=10)
        assert bad.status_code == 400 and bad.json()["error"].startswith(message), bad.text
    # The CLI asks the same API: pretty text by default.
    assert main(["logs", "--url", console_url, "--endpoint", "/sms"]) == 0
    out = capsys.readouterr().out
    assert "[webservice] POST /sms -> 200" in out and "| [warn] sms from +15551230001" in out
    assert "/greeting" not in out


def test_the_api_long_polls_and_answers_loopback_unmarked_requests_only(console_url):
    last = _logs(console_url)["last"]
    got: dict = {}
    poll = threading.Thread(target=lambda: got.update(_logs(console_url, after=str(last), wait="20",
                                                            endpoint="/fired")))
    poll.start()
    requests.get(f"{console_url}/greeting", timeout=10)  # not what the poll waits for
    requests.get(f"{console_url}/fired", timeout=10)
    poll.join(WAIT)
    assert [r["event"] for r in got["records"] if r["type"] == "script"] == ["GET /fired"]
    assert got["last"] > last
    marked = requests.get(f"{console_url}/_murano-sim/api/logs", headers={MARKER_HEADER: MARKER_VALUE}, timeout=10)
    assert marked.status_code == 403
    foreign = requests.get(f"{console_url}/_murano-sim/api/logs", headers={"Host": "evil.example"}, timeout=10)
    assert foreign.status_code == 403


def test_the_store_keeps_its_cap_dropping_the_oldest_and_a_restart_goes_on_from_the_file(tmp_path):
    path = tmp_path / "state.db"
    state = State(path)
    store = LogStore(state, cap=3)
    for n in range(5):
        store.add([{"type": "server", "timestamp": "t", "message": f"record {n}"}])
    assert [r["message"] for r in store.records()] == ["record 2", "record 3", "record 4"]
    store.close()  # writes what is pending
    state.close()
    kept = read_state_file(path, LogFilter(grep="record 4"))
    assert [(r["id"], r["message"]) for r in kept] == [(5, "record 4")]
    state = State(path)
    again = LogStore(state, cap=3)
    again.add([{"type": "server", "timestamp": "t", "message": "after the restart"}])
    assert [(r["id"], r["message"]) for r in again.records(after=3)] == [
        (4, "record 3"), (5, "record 4"), (6, "after the restart")]
    again.close()
    state.close()
    assert [r["message"] for r in read_state_file(path)] == ["record 3", "record 4", "after the restart"]


def test_a_websocket_endpoints_runs_pass_the_endpoint_filter_and_not_the_handler_one():
    from websocket_client import Client

    folder = SOLUTION.parent / "websocket"
    with Runtime({"services": {"websocket": {"messages_per_second": 1000}}}) as runtime, \
            open(os.devnull, "w") as quiet:
        server = serve_solution(folder, runtime, log=SolutionLog(quiet), surfaces=(Console,))
        try:
            client = Client.connect(server.url.replace("http://", "ws://") + "/chat")
            client.receive(timeout=WAIT)  # the open run's answer
            client.send("hello")
            client.receive(timeout=WAIT)  # the message run's echo
            client.close()
            requests.get(f"{server.url}/status", timeout=10)
            runs = [r["event"] for r in _logs(server.url, endpoint="/ch*")["records"]
                    if r["type"] == "script"]
            assert runs and all(event.startswith("WEBSOCKET /chat ") for event in runs), runs
            assert runs[:2] == ["WEBSOCKET /chat open", "WEBSOCKET /chat data"]
            with_method = _logs(server.url, endpoint="WEBSOCKET /chat")["records"]
            assert [r["event"] for r in with_method if r["type"] == "script"][:len(runs)] == runs
            assert _logs(server.url, handler="websocket")["records"] == []
            status = _logs(server.url, endpoint="/status")["records"]
            assert [(r["type"], r["event"]) for r in status] == [("script", "GET /status"),
                                                                  ("service_call", "GET /status")]
        finally:
            server.shutdown()
