"""State.reset after nothing was written (a pooled runtime after a case that stored nothing) skips its
shared transaction, and only then: whatever was written, by a service, a seed, the init marker or a
snapshot, is gone after the next reset, however many quiet resets came before."""

from __future__ import annotations

from datetime import datetime, timezone

from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

from murano_sim.state import State, snapshots

pytest_plugins = ["pytester"]


class Table:
    """A service of the simplest kind: one table, a seed row, a reset that counts its calls."""

    def __init__(self, state: State) -> None:
        self.state, self.resets = state, 0
        state.db.execute("CREATE TABLE things (name TEXT PRIMARY KEY)")
        state.on_reset(self.reset)
        self.reset()

    def reset(self) -> None:
        self.resets += 1
        with self.state.transaction() as db:
            db.execute("DELETE FROM things")
            db.execute("INSERT INTO things VALUES ('seed')")

    def names(self) -> list[str]:
        return [name for (name,) in self.state.db.execute("SELECT name FROM things ORDER BY name")]


def test_every_write_is_undone_and_every_service_reset_runs_even_when_nothing_was_written():
    state = State()
    try:
        table = Table(state)
        for _ in range(3):  # quiet resets between the writes must not make the next one quiet too
            state.reset()
            state.reset()
            assert table.names() == ["seed"] and not state.initialized("sol")
            with state.transaction() as db:
                db.execute("INSERT INTO things VALUES ('written')")
            state.mark_initialized("sol")
            assert table.names() == ["seed", "written"] and state.initialized("sol")
            state.reset()
            assert table.names() == ["seed"] and not state.initialized("sol")
        assert table.resets == 1 + 3 * 3  # a quiet reset still resets every service (data kept in memory)
    finally:
        state.close()


def test_a_snapshot_loaded_since_the_last_reset_is_reset_too():
    state = State()
    try:
        table = Table(state)
        with state.transaction() as db:
            db.execute("INSERT INTO things VALUES ('kept')")
        state.mark_initialized("sol")
        snapshots.save(state, "s", solution="sol", clock=datetime(2020, 1, 1, tzinfo=timezone.utc))
        state.reset()
        state.reset()  # quiet
        snapshots.load(state, "s", solution="sol")
        assert table.names() == ["kept", "seed"] and state.initialized("sol")
        state.reset()
        assert table.names() == ["seed"] and not state.initialized("sol")
    finally:
        state.close()


def test_a_case_after_a_case_that_wrote_starts_clean_after_quiet_ones_too(pytester):
    pytester.makefile(".lua", write="""
        Keystore.set{key = "k", value = request.body.v}
        Tsdb.write{metrics = {temp = 9}}
        return Keystore.get{key = "k"}.value
    """, read="""
        return {k = Keystore.get{key = "k"}.value or "none", points = #Tsdb.query{metrics = {"temp"}}.values}
    """)
    pytester.makefile(".murano.yaml", test_cases="""
        cases:
          - {name: writes, script: write.lua, request: {body: {v: a}}, expect: {message: a}}
          - {name: clean after a write, script: read.lua, expect: {message: {k: none, points: 0}}}
          - {name: clean after nothing, script: read.lua, expect: {message: {k: none, points: 0}}}
          - {name: writes after quiet ones, script: write.lua, request: {body: {v: b}}, expect: {message: b}}
          - {name: clean again, script: read.lua, expect: {message: {k: none, points: 0}}}
    """)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=5)
