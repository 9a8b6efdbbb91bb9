"""Reset and named snapshots of a running serve: `murano-sim reset` / `murano-sim snapshot` against a real
`murano-sim serve` subprocess, checked through the console API (every service through its control)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from murano_sim.state import snapshots

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "tests" / "solutions" / "reset-state"


class Serve:
    """`murano-sim serve SOLUTION --port 0` in a subprocess (killed after 120 s whatever happens)."""

    def __init__(self, solution: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "murano_sim", "serve", str(solution), "--port", "0", *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._watchdog = threading.Timer(120, self.proc.kill)
        self._watchdog.start()
        self.url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert self.url.startswith("http://127.0.0.1:"), self.proc.stderr.read()  # type: ignore[union-attr]
        self.api = self.url + "/_murano-sim/api"

    def write(self, name: str) -> None:
        assert requests.post(self.url + "/write", json={"name": name}, timeout=30).json() == {"ok": True}

    def written(self) -> str:
        return str(requests.get(self.url + "/written", timeout=30).json()["written"])

    def held(self) -> dict[str, object]:
        """What each service holds, as its control shows it."""
        def get(alias: str) -> dict:
            return requests.get(f"{self.api}/services/{alias}", timeout=30).json()
        return {
            "keystore": {k["key"]: k["value"] for k in get("keystore")["keys"]},
            "rooms": sorted(get("tsdb")["tags"].get("room", [])),
            "devices": sorted(d["identity"] for d in get("device2")["devices"]),
            "messages": sorted(m["body"] for m in get("twilio")["messages"]),
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "murano_sim", *args, "--url", self.url],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)

    def now(self) -> datetime:
        return datetime.fromisoformat(requests.get(self.api + "/clock", timeout=30).json()["now"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.communicate(timeout=30)
        self._watchdog.cancel()


SEEDED = {
    # config.yaml's seeds, and what init.lua writes
    "keystore": {"plan": "basic", "init": "ran"},
    "rooms": ["seed"],
    "devices": ["from-init"],
    "messages": ["seeded message"],
}


@pytest.fixture
def serve():
    started: list[Serve] = []

    def start(solution: Path = SOLUTION, *args: str) -> Serve:
        started.append(Serve(solution, *args))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def test_reset_removes_what_the_solution_wrote_and_keeps_the_seeds(serve):
    s = serve()
    s.write("dev-1")
    assert s.held() == {"keystore": {**SEEDED["keystore"], "written": "dev-1"}, "rooms": ["dev-1", "seed"],
                        "devices": ["dev-1", "from-init"], "messages": ["from dev-1", "seeded message"]}
    done = s.cli("reset")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"reset {s.url}: ")
    assert s.held() == SEEDED  # init.lua ran again (the console's inspect runs no script: the GET below does)
    assert s.written() == "nothing"
    s.write("dev-2")
    as_json = s.cli("reset", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["reset"] is True
    assert s.held() == SEEDED


def test_a_snapshot_brings_back_every_service_and_the_clock(serve, tmp_path):
    s = serve(SOLUTION, "--state", str(tmp_path / "state.db"))
    s.write("dev-1")
    before = s.held()
    saved = s.cli("snapshot", "save", "one")
    assert saved.returncode == 0, saved.stderr
    at = s.now()
    s.write("dev-2")
    assert requests.post(s.api + "/clock/advance", json={"seconds": 86400}, timeout=30).ok
    assert s.held() != before
    loaded = s.cli("snapshot", "load", "one")
    assert loaded.returncode == 0, loaded.stderr
    assert s.held() == before
    assert s.written() == "dev-1"
    assert (s.now() - at).total_seconds() < 3600  # the day's advance is undone with the data
    listed = s.cli("snapshot", "list", "--json")
    assert [x["name"] for x in requests.get(s.api + "/snapshots", timeout=30).json()["snapshots"]] == ["one"]
    assert '"name": "one"' in listed.stdout
    # a snapshot survives a reset, and the reset's state is not the snapshot's
    assert s.cli("reset").returncode == 0 and s.held() == SEEDED
    assert s.cli("snapshot", "load", "one").returncode == 0 and s.held() == before
    deleted = s.cli("snapshot", "delete", "one")
    assert deleted.returncode == 0 and deleted.stdout.strip() == "deleted one"
    assert s.cli("snapshot", "list").stdout.strip() == "no snapshots"


@pytest.mark.parametrize("args, error", [
    (("snapshot", "load", "missing"), "no snapshot 'missing'"),
    (("snapshot", "save", "../up"), "snapshot name '../up': use 1 to 64 letters"),
    (("snapshot", "delete", "missing"), "no snapshot 'missing'"),
    (("snapshot", "load"), "snapshot load: give the snapshot's NAME"),
])
def test_bad_snapshot_commands_are_one_line_and_change_nothing(serve, args, error):
    s = serve()
    s.write("dev-1")
    before = s.held()
    done = s.cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and error in done.stderr, done.stderr
    assert s.held() == before


def test_no_serve_at_the_url_is_one_line():
    done = subprocess.run([sys.executable, "-m", "murano_sim", "reset", "--url", "http://127.0.0.1:1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no murano-sim serve answers there" in done.stderr and "--url" in done.stderr


def _edit_snapshot(path: Path, name: str, change) -> None:
    """Rewrite a stored snapshot from outside the serve (a damaged or hand-edited file)."""
    db = sqlite3.connect(path)
    try:
        (data,) = db.execute("SELECT data FROM murano_sim_snapshots WHERE name = ?", (name,)).fetchone()
        db.execute("UPDATE murano_sim_snapshots SET data = ? WHERE name = ?", (change(data), name))
        db.commit()
    finally:
        db.close()


def _keystore_table_with_another_shape(data: bytes) -> bytes:
    copy = sqlite3.connect(":memory:")
    snapshots.deserialize(copy, data)  # Python 3.10 has no Connection.deserialize
    copy.execute("DROP TABLE keystore")
    copy.execute("CREATE TABLE keystore (key TEXT, other TEXT)")
    copy.execute("INSERT INTO keystore VALUES ('x', 'y')")
    copy.commit()
    return snapshots.serialize(copy)


@pytest.mark.parametrize("change, error", [
    (lambda data: b"not a database" + data[14:], "cannot be loaded"),
    (_keystore_table_with_another_shape, "cannot be loaded"),  # fails after other tables were emptied
])
def test_a_damaged_snapshot_loads_nothing(serve, tmp_path, change, error):
    state = tmp_path / "state.db"
    s = serve(SOLUTION, "--state", str(state))
    s.write("dev-1")
    assert s.cli("snapshot", "save", "one").returncode == 0
    s.write("dev-2")
    before = s.held()
    _edit_snapshot(state, "one", change)
    done = s.cli("snapshot", "load", "one")
    assert done.returncode == 2 and error in done.stderr and "nothing loaded" in done.stderr, done.stderr
    assert s.held() == before
    assert s.written() == "dev-2"


def test_a_snapshot_of_another_solution_is_refused(serve, tmp_path):
    state = tmp_path / "state.db"
    first = serve(SOLUTION, "--state", str(state))
    first.write("dev-1")
    assert first.cli("snapshot", "save", "theirs").returncode == 0
    first.stop()
    other = tmp_path / "other"
    shutil.copytree(SOLUTION, other)
    s = serve(other, "--state", str(state))
    before = s.held()
    done = s.cli("snapshot", "load", "theirs")
    assert done.returncode == 2 and "is of the solution" in done.stderr and "nothing loaded" in done.stderr
    assert s.held() == before


def test_the_murano_solution_fixture_snapshots_and_restores(murano_solution):
    from murano_sim.errors import UsageError

    app = murano_solution(SOLUTION)
    app.post("/write", json={"name": "dev-1"})
    app.snapshot("one")
    at = app.runtime.clock.now()
    app.post("/write", json={"name": "dev-2"})
    app.advance(3600)
    app.restore("one")
    assert app.get("/written").json() == {"written": "dev-1"}
    assert app.runtime.clock.now() == at  # a manual clock is back exactly where it was
    devices = app.runtime.platform.control("device2").inspect()["devices"]
    assert sorted(d["identity"] for d in devices) == ["dev-1", "from-init"]
    with pytest.raises(UsageError, match="no snapshot 'two'"):
        app.restore("two")


def test_a_table_the_state_lacks_comes_back_with_its_index_and_counter():
    from murano_sim.state import State, snapshots

    state = State()
    reloads: list[bool] = []
    state.on_load(lambda: reloads.append(True))
    with state.transaction() as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT)")
        db.execute("CREATE INDEX notes_text ON notes (text)")
        db.executemany("INSERT INTO notes (text) VALUES (?)", [("a",), ("b",), ("c",)])
        db.execute("DELETE FROM notes WHERE text = 'c'")  # the counter stays at 3
    at = datetime(2030, 1, 2, tzinfo=timezone.utc)
    snapshots.save(state, "one", solution="here", clock=at)
    with state.transaction() as db:
        db.execute("DROP TABLE notes")
    assert snapshots.load(state, "one", solution="here") == at and reloads == [True]
    assert state.db.execute("SELECT id, text FROM notes ORDER BY id").fetchall() == [(1, "a"), (2, "b")]
    indexes = state.db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'notes'")
    assert indexes.fetchall() == [("notes_text",)]
    with state.transaction() as db:
        assert db.execute("INSERT INTO notes (text) VALUES ('d')").lastrowid == 4
    with pytest.raises(Exception, match="is of the solution here, not there; nothing loaded"):
        snapshots.load(state, "one", solution="there")
    assert reloads == [True]


def test_with_a_state_file_snapshots_survive_a_restart(serve, tmp_path):
    state = tmp_path / "state.db"
    first = serve(SOLUTION, "--state", str(state))
    first.write("dev-1")
    kept = first.held()
    assert first.cli("snapshot", "save", "kept").returncode == 0
    first.write("dev-2")
    first.stop()
    again = serve(SOLUTION, "--state", str(state))
    assert again.written() == "dev-2"
    assert again.cli("snapshot", "load", "kept").returncode == 0
    assert again.held() == kept


def test_the_log_is_history_a_snapshot_load_leaves_it_as_it_is():
    from murano_sim.solution import logstore
    from murano_sim.state import State, snapshots

    state = State()
    with state.transaction() as db:
        db.execute(logstore._CREATE)
        db.execute(f"INSERT INTO {logstore.TABLE} (record) VALUES ('before')")
    at = datetime(2030, 1, 2, tzinfo=timezone.utc)
    snapshots.save(state, "one", solution="here", clock=at)
    with state.transaction() as db:
        db.execute(f"INSERT INTO {logstore.TABLE} (record) VALUES ('after')")
    snapshots.load(state, "one", solution="here")
    rows = state.db.execute(f"SELECT id, record FROM {logstore.TABLE} ORDER BY id").fetchall()
    assert rows == [(1, "before"), (2, "after")]  # what ran after the save is still in the log
    with state.transaction() as db:
        assert db.execute(f"INSERT INTO {logstore.TABLE} (record) VALUES ('next')").lastrowid == 3
