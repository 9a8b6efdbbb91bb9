"""A device write's path through Device2 (and Device v1's share of it) after issue 21's cuts: what it
stores, refuses and leaves untouched stays what it was (docs/benchmarks.md, branch dv21)."""

from __future__ import annotations

import threading

import pytest

from murano_sim import Runtime
from murano_sim.services import ServiceError
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

HANG_GUARD = 30  # seconds: only so that a broken long poll cannot hang the suite


def device2(runtime: Runtime):
    return runtime.platform.by_alias["device2"].model


def state_rows(runtime: Runtime, identity: str) -> list[tuple]:
    return runtime.state.db.execute("SELECT alias, reported, set_value FROM device2_state WHERE identity = ? "
                                    "ORDER BY alias", (identity,)).fetchall()


def data_in_events(runtime: Runtime) -> list[dict]:
    return [e["payload"] for e in runtime.platform.events if e["service"] == "device2" and e["event"] == "data_in"]


def test_a_write_for_an_identity_removed_after_its_token_was_checked_is_404_and_keeps_nothing():
    with Runtime({}, clock=ManualClock()) as runtime:
        model = device2(runtime)
        identity = model.authenticate(model.activate("d1", ip="127.0.0.1"))
        assert runtime.run("return Device2.removeIdentity{identity = 'd1'}").response.message["status"] == 204
        with pytest.raises(ServiceError) as refused:
            model.data_in(identity, {"temp": "5"}, ip="127.0.0.1")
        assert refused.value.status == 404 and "'d1'" in refused.value.message
        assert state_rows(runtime, "d1") == [] and data_in_events(runtime) == []
        assert runtime.state.db.execute("SELECT COUNT(*) FROM device2_identity").fetchone() == (0,)


def test_each_write_stores_its_values_and_moves_lastip_and_lastseen():
    clock = ManualClock()
    with Runtime({}, clock=clock) as runtime:
        model = device2(runtime)
        model.activate("d1", ip="127.0.0.1")
        model.data_in("d1", {"temp": "5", "mode": "on"}, ip="127.0.0.2")
        clock.advance(60)
        model.data_in("d1", {"temp": "6"}, ip="127.0.0.3")
        got = runtime.run("return Device2.getIdentity{identity = 'd1'}").response.message
        assert got["lastip"] == "127.0.0.3" and got["lastseen"] == int(round(model.host.now() * 1_000_000))
        assert got["state"]["temp"]["reported"] == "6" and got["state"]["mode"]["reported"] == "on"
        assert state_rows(runtime, "d1") == [("mode", '"on"', '"on"'), ("temp", '"6"', '"6"')]
        assert [e["payload"][0]["values"] for e in data_in_events(runtime)] == [{"temp": "5", "mode": "on"},
                                                                               {"temp": "6"}]


def test_the_quota_counts_a_writes_json_text_and_a_refused_write_keeps_nothing():
    config = {"services": {"device2": {"quota_bytes": 4_000}}}
    with Runtime(config, clock=ManualClock()) as runtime:
        model = device2(runtime)
        model.activate("d1")
        with pytest.raises(ServiceError) as refused:
            model.data_in("d1", {"blob": "x" * 3_000})  # stored twice (reported and set): 6,000 bytes
        assert refused.value.status == 403 and "quota" in refused.value.message
        assert state_rows(runtime, "d1") == [] and data_in_events(runtime) == []
        model.data_in("d1", {"blob": "x" * 1_000})
        assert state_rows(runtime, "d1") == [("blob", '"' + "x" * 1_000 + '"', '"' + "x" * 1_000 + '"')]
        too_big = runtime.run("return Device2.setIdentityState{identity = 'd1', blob = string.rep('y', 3000)}")
        assert too_big.response.message["status"] == 403
        assert state_rows(runtime, "d1")[0][2] == '"' + "x" * 1_000 + '"'


def test_tokens_are_found_by_their_index_among_many_identities_and_an_older_state_file_gets_it(tmp_path):
    path = tmp_path / "state.db"
    old = State(path)  # a state file from before the index: the table only
    old.db.execute("CREATE TABLE device2_identity (identity TEXT PRIMARY KEY, auth_type TEXT, token_hash TEXT, "
                   "locked INTEGER NOT NULL DEFAULT 0, reprovision INTEGER NOT NULL DEFAULT 0, online INTEGER NOT NULL "
                   "DEFAULT 0, lastip TEXT, lastseen INTEGER, created INTEGER NOT NULL)")
    old.close()
    with Runtime({}, clock=ManualClock(), state=State(path)) as runtime:
        model = device2(runtime)
        tokens = {f"dev-{n:03d}": model.activate(f"dev-{n:03d}") for n in range(200)}
        assert all(model.authenticate(token) == identity for identity, token in tokens.items())
        plan = " ".join(str(row) for row in runtime.state.db.execute(
            "EXPLAIN QUERY PLAN SELECT identity, locked FROM device2_identity WHERE token_hash = ?", ("x",)))
        assert "device2_identity_token" in plan
        runtime.run("Device2.updateIdentity{identity = 'dev-007', locked = true}")
        with pytest.raises(ServiceError) as locked:
            model.authenticate(tokens["dev-007"])
        assert locked.value.status == 403


def test_a_record_is_one_write_a_refused_entry_leaves_none_of_them_stored():
    settings = {"resources": {"temp": {"format": "number"}}}
    with Runtime({}, clock=ManualClock(), solution_configs={"device2": settings}) as runtime:
        model = device2(runtime)
        model.activate("d1")
        with pytest.raises(ServiceError) as refused:
            model.record("d1", [(1_600_000_000, {"temp": "1"}), (1_600_000_001, {"temp": "warm"})])
        assert refused.value.status == 400 and "temp" in refused.value.message
        assert state_rows(runtime, "d1") == [] and data_in_events(runtime) == []
        payload = model.record("d1", [(1_600_000_001, {"temp": "2"}), (1_600_000_000, {"temp": "1"})])
        assert [entry["values"] for entry in payload] == [{"temp": 1}, {"temp": 2}]  # in time order
        assert state_rows(runtime, "d1") == [("temp", "2", "2")]
        assert [e["payload"] for e in data_in_events(runtime)] == [payload]


def test_a_record_wakes_a_long_poll_on_its_alias():
    with Runtime({}, clock=ManualClock()) as runtime:
        model = device2(runtime)
        model.activate("d1")
        stop = threading.Event()

        def keep_recording() -> None:  # until the poll answers: a record lands after it starts, however late
            at = 1_600_000_000
            while not stop.wait(0.05):
                at += 1
                model.record("d1", [(at, {"other": "x"}), (at, {"level": str(at)})])

        writer = threading.Thread(target=keep_recording)
        writer.start()
        try:
            found = model.wait_set("d1", "level", HANG_GUARD)
        finally:
            stop.set()
            writer.join()
        assert found is not None and int(found[0]) == found[1] // 1_000_000
