"""When what services keep in memory (fakeredis's keys, the Twilio emulator's records) reaches SQLite.

A state file gets it after every execution (a killed process loses no acknowledged write); a state in
memory when its database is read whole (a snapshot) and every MEMORY_SAVE_EVERY executions, so what the
services keep marked as unsaved stays bounded."""

import sqlite3

from murano_sim import Runtime
from murano_sim.state import MEMORY_SAVE_EVERY, State


def _stored_keys(db) -> set[str]:
    return {key for (key,) in db.execute("SELECT key FROM keystore")}


def test_a_state_file_holds_each_execution_s_keys_when_it_ends(tmp_path):
    path = tmp_path / "state.sqlite"
    with Runtime({}, state=State(path)) as runtime:
        for n in range(3):
            assert runtime.run(f"Keystore.set{{key = 'k{n}', value = 'v'}}").error is None
            reader = sqlite3.connect(path)  # another connection: what a killed process leaves on disk
            try:
                assert _stored_keys(reader) == {f"k{i}" for i in range(n + 1)}
            finally:
                reader.close()


def test_a_state_in_memory_is_copied_every_so_many_executions_and_before_a_snapshot():
    with Runtime({}) as runtime:
        db = runtime.state.db
        for n in range(MEMORY_SAVE_EVERY):
            assert runtime.run(f"Keystore.set{{key = 'k{n}', value = 'v'}}").error is None
        assert _stored_keys(db) == {f"k{n}" for n in range(MEMORY_SAVE_EVERY)}
        assert not runtime.services["keystore"].model._dirty  # nothing left marked: the marks stay bounded
        assert runtime.run("Keystore.set{key = 'late', value = 'v'}").error is None
        runtime.platform.save_snapshot("now", "s")
        runtime.run("Keystore.delete{key = 'late'}")
        runtime.platform.load_snapshot("now", "s")
        assert runtime.run("return Keystore.get{key = 'late'}").response.message == {"value": "v"}
