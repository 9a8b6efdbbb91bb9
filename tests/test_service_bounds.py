"""Each service's own store bounds: per-value sizes (413) and byte quotas (403) for Tsdb, Timeseries,
User, Device2, Email, Interface; payload rules for Scripts, Interface and Http; the Keystore's Redis
timeout shortened to the calling execution's deadline.

Real Lua in lupa, the solution's real SQLite state, a real redis-server on loopback.
"""

from __future__ import annotations

import logging
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lua_support import lua_value as run
from test_hardening_services import _error, _outage_lines, redis_server  # noqa: F401 - a fixture

from murano_sim import Runtime
from murano_sim.services.bounds import MAX_ARGUMENT_BYTES, table_bytes
from murano_sim.state.clock import ManualClock

MiB = 1024 * 1024
OK = {"status": 204, "status_code": 204}


def _state_bytes(rt: Runtime) -> int:
    """What the solution's SQLite state occupies now (its pages)."""
    db = rt.platform.state.db
    return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]


# -- Tsdb and Timeseries ----------------------------------------------------------------------------
def test_a_loop_of_tsdb_writes_stops_at_the_byte_quota_and_delete_all_makes_room():
    config = {"services": {"tsdb": {"quota_bytes": 200_000}}, "lua": {"max_instructions": 10_000_000}}
    with Runtime(config, clock=ManualClock()) as rt:
        out = run(rt, r"""
            local chunk = string.rep('x', 10000)
            local refused
            for i = 1, 100 do
              local r = Tsdb.write{metrics = {log = chunk}, tags = {n = tostring(i)}}
              if r.error then refused = {i = i, error = r}; break end
            end
            refused.count = Tsdb.query{metrics = {'log'}, start_time = 0, aggregate = {'count'}}.values.log.count
            refused.multi = Tsdb.multiWrite{datapoints = {{metrics = {a = chunk}}, {metrics = {b = chunk}}}}
            Tsdb.deleteAll{}
            refused.after = Tsdb.write{metrics = {log = chunk}}
            return refused""")
        # ~10 100 bytes a point: 19 fit in 200 000; the 20th is refused and nothing of it is stored.
        assert out["i"] == 20 and out["count"] == 19
        assert _error(403, "Tsdb: byte quota reached (200000 bytes")(out["error"])
        assert "services.tsdb.quota_bytes" in out["error"]["error"]
        assert _error(403, "byte quota reached")(out["multi"])
        assert out["after"] == OK
        assert table_bytes(rt.platform.state, ["tsdb_points"]) < 11_000


def test_the_host_stays_bounded_when_writes_go_on_far_past_the_quota():
    config = {"services": {"tsdb": {"quota_bytes": MiB}}, "lua": {"max_instructions": 50_000_000}}
    with Runtime(config, clock=ManualClock()) as rt:
        for _ in range(4):  # 4 executions x 300 writes of 50 KB: 60 MB offered to a 1 MiB quota
            out = run(rt, r"""
                local chunk, refused = string.rep('y', 50000), 0
                for i = 1, 300 do
                  if Tsdb.write{metrics = {m = chunk}}.error then refused = refused + 1 end
                end
                return refused""")
            assert out >= 280
        assert table_bytes(rt.platform.state, ["tsdb_points", "tsdb_jobs"]) <= MiB
        assert _state_bytes(rt) < 4 * MiB  # the SQLite pages, with a generous margin over the quota


@pytest.mark.parametrize(("write", "fragment"), [
    ("Tsdb.write{metrics = {[string.rep('m', 256)] = 1}}", "metric name: 256 bytes; at most 255"),
    ("Tsdb.write{metrics = {m = 1}, tags = {[string.rep('t', 256)] = 'v'}}", "tag name: 256 bytes"),
    ("Tsdb.write{metrics = {m = 1}, tags = {t = string.rep('v', 1025)}}", "tag t: 1025 bytes; at most 1024"),
    ("Tsdb.write{metrics = {m = string.rep('s', 65537)}}", "value of m: 65537 bytes; at most 65536"),
    ("Tsdb.write{metrics = {m = 1}, tags = many_tags}", "tags: 65 given; at most 64"),
    ("Timeseries.write{query = 'm,t=' .. string.rep('v', 1025) .. ' value=1'}", "Timeseries.write: tag t"),
])
def test_oversized_points_are_refused_and_nothing_is_stored(write, fragment):
    with Runtime({}, clock=ManualClock()) as rt:
        out = run(rt, f"""
            local many_tags = {{}}
            for i = 1, 65 do many_tags['t' .. i] = 'v' end
            return {{{write}, Tsdb.listMetrics{{}}}}""")
    assert _error(413, fragment)(out[0])
    assert out[1] == {"metrics": []}


def test_timeseries_counts_against_its_own_quota_setting():
    config = {"services": {"timeseries": {"quota_bytes": 5000}}}
    with Runtime(config, clock=ManualClock()) as rt:
        out = run(rt, r"""
            local refused
            for i = 1, 50 do
              local r = Timeseries.write{query = 'cpu,host=a value="' .. string.rep('z', 400) .. '" ' .. i}
              if r.error then refused = {i = i, error = r}; break end
            end
            return refused""")
    assert 5 < out["i"] < 50
    assert _error(403, "Timeseries: byte quota reached (5000 bytes")(out["error"])
    assert "services.timeseries.quota_bytes" in out["error"]["error"]


# -- User -----------------------------------------------------------------------------------------------
def test_user_data_hits_the_quota_and_deleting_makes_room_again():
    config = {"services": {"user": {"quota_bytes": 30_000, "hash_iterations": 1}}}
    with Runtime(config, clock=ManualClock()) as rt:
        out = run(rt, r"""
            local code = User.createUser{name = 'a', email = 'a@example.com', password = 'pw'}
            User.activateUser{code = code}
            local id = User.listUsers{}[1].id
            local refused
            for i = 1, 100 do
              local r = User.createUserData{id = id, ['k' .. i] = string.rep('d', 1000)}
              if type(r) == 'table' and r.error then refused = {i = i, error = r}; break end
            end
            for i = 1, 10 do User.deleteUserData{id = id, keys = {'k' .. i}} end
            refused.after = User.updateUserData{id = id, again = string.rep('d', 1000)}
            refused.big = User.updateUserData{id = id, big = string.rep('b', 65536)}
            refused.long_key = User.updateUserData{id = id, [string.rep('k', 256)] = 1}
            refused.role = User.createRole{role_id = 'r', parameter = {{name = string.rep('p', 256)}}}
            return refused""")
    assert 20 < out["i"] < 31
    assert _error(403, "User: byte quota reached (30000 bytes")(out["error"])
    assert out["error"]["status_code"] == 403  # User's 2016 fields too
    assert out["after"] == OK
    assert _error(413, "value of big: 65538 bytes; at most 65536")(out["big"])  # JSON: the quotes count
    assert _error(413, "key: 256 bytes; at most 255")(out["long_key"])
    assert _error(413, "parameter[1].name: 256 bytes")(out["role"])


# -- Device2 ---------------------------------------------------------------------------------------------
def test_a_loop_of_identities_hits_the_device2_quota_and_removing_one_makes_room():
    config = {"services": {"device2": {"quota_bytes": 20_000}}, "lua": {"max_instructions": 10_000_000}}
    with Runtime(config, clock=ManualClock()) as rt:
        out = run(rt, r"""
            local refused
            for i = 1, 1000 do
              local r = Device2.addIdentity{identity = string.format('dev-%04d', i)}
              if type(r) == 'table' and r.error then refused = {i = i, error = r}; break end
            end
            refused.count = Device2.countIdentities{}.total
            Device2.removeIdentity{identity = 'dev-0001'}
            refused.after = Device2.addIdentity{identity = 'again'}
            refused.tag = Device2.addIdentityTag{identity = 'again', name = 'n', value = string.rep('v', 1025)}
            refused.identity = Device2.addIdentity{identity = string.rep('i', 256)}
            return refused""")
    assert out["count"] == out["i"] - 1 and 100 < out["i"] < 1000
    assert _error(403, "Device2: byte quota reached (20000 bytes")(out["error"])
    assert out["after"] == OK
    assert _error(413, "tag n: 1025 bytes; at most 1024")(out["tag"])
    assert _error(413, "identity: 256 bytes; at most 255")(out["identity"])


def test_device_reports_count_against_the_device2_quota():
    config = {"services": {"device2": {"quota_bytes": 300_000}}}
    with Runtime(config, clock=ManualClock()) as rt:
        device2 = rt.platform.by_alias["device2"].model
        device2.addGatewayResource({"alias": "log", "format": "string"})
        refused = None
        for i in range(100):  # a device API loop: each report replaces the last, so the store does not grow
            device2.addIdentity({"identity": f"d{i}"})
            try:
                device2.data_in(f"d{i}", {"log": "x" * 60_000})
            except Exception as exc:  # noqa: BLE001 - the refusal is what the test looks for
                refused = (i, exc)
                break
    assert refused is not None and getattr(refused[1], "status", None) == 403
    assert 1 < refused[0] < 5  # 120 KB a device (reported and set): the third cannot fit in 300 000


# -- Email, Scripts, Interface, Http ---------------------------------------------------------------------------
def test_email_bounds_recipients_and_body():
    with Runtime({}, clock=ManualClock()) as rt:
        out = run(rt, r"""
            local to = {}
            for i = 1, 101 do to[i] = 'u' .. i .. '@example.com' end
            return {Email.send{to = to, subject = 's', text = 'hi'},
                    Email.send{to = 'a@example.com', subject = 's', text = 'hi'}}""")
        big = rt.platform.call("email", "send", {"to": "a@example.com", "subject": "s", "html": "h" * (MiB + 1)})
        outbox = rt.platform.by_alias["email"].model.outbox()
    assert _error(413, "recipients (to, cc and bcc): 101 given; at most 100")(out[0])
    assert out[1] == OK
    assert _error(413, "Email.send: html: 1048577 bytes")(big.value)
    assert len(outbox) == 1


def test_the_email_outbox_has_a_byte_quota():
    with Runtime({"services": {"email": {"quota_bytes": 50_000}}}, clock=ManualClock()) as rt:
        out = run(rt, r"""
            for i = 1, 100 do
              local r = Email.send{to = 'a@example.com', subject = 's', text = string.rep('t', 5000)}
              if type(r) == 'table' and r.error then return {i = i, error = r} end
            end""")
    assert 5 < out["i"] < 11
    assert _error(403, "Email.send: byte quota reached (50000 bytes")(out["error"])


def test_scripts_and_interface_payloads_are_bounded():
    with Runtime({}, clock=ManualClock()) as rt:
        data = {"blob": "x" * MiB}
        results = [rt.platform.call("scripts", "trigger", {"event": "ev", "data": data, "mode": "async"}).value,
                   rt.platform.call("interface", "trigger", {"event": "ev", "data": data}).value,
                   rt.platform.call("interface", "setSubscriber",
                                    {"solution_id": "s", "parameters": {"p": "y" * 70_000}}).value]
        assert rt.platform.events == []  # nothing was delivered
    assert _error(413, "Scripts.trigger: data: larger than 1048576 bytes")(results[0])
    assert _error(413, "Interface.trigger: data: larger than 1048576 bytes")(results[1])
    assert _error(413, "Interface.setSubscriber: subscriber: larger than 65536 bytes")(results[2])


def test_credentials_cannot_grow_an_http_request_body_past_the_bound():
    # 200 000 placeholders of 13 bytes, each filled with 40 bytes: ~2.6 MB of arguments, an 8 MB body.
    # The refusal comes before any connection (the URL's port has no server).
    with Runtime({}, clock=ManualClock()) as rt:
        body = "{{password}}," * 200_000
        outcome = rt.platform.call("http", "post", {"url": "http://127.0.0.1:9/", "body": body,
                                                    "credentials": {"password": "p" * 40}})
    assert len(body) < MAX_ARGUMENT_BYTES
    assert _error(413, f"request body of 8200000 bytes; at most {MAX_ARGUMENT_BYTES}")(outcome.value)


# -- the Keystore's Redis timeout and the execution's deadline ------------------------------------------------
def test_a_frozen_redis_cannot_hold_a_call_past_the_execution_deadline(redis_server, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING, logger="murano_sim.keystore")
    # Redis may take 60 s a reply, the script 2 s in all: the call ends with the script's time limit.
    config = {"services": {"keystore": {"url": redis_server.url, "timeout_seconds": 60}},
              "lua": {"timeout_seconds": 2}}
    with Runtime(config) as runtime:
        assert run(runtime, "return Keystore.set{key = 'a', value = 'x'}")["status"] == 204
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            result = runtime.run("return Keystore.get{key = 'a'}")
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        assert result.error is not None and "time" in result.error.lower(), result.error
        assert _outage_lines(caplog) == []  # the deadline's, not an outage of Redis
        assert run(runtime, "return Keystore.get{key = 'a'}") == {"value": "x"}


# -- a property: whatever the writes and deletes, the store stays within its quota ---------------------------
QUOTA = 20_000


@pytest.fixture(scope="module")
def user_store():
    with Runtime({"services": {"user": {"quota_bytes": QUOTA, "hash_iterations": 1}}}, clock=ManualClock()) as rt:
        rt.platform.call("user", "createUser", {"name": "a", "email": "a@example.com", "password": "pw"})
        yield rt


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.booleans(), st.sampled_from("abcdef"), st.integers(0, 6000)), max_size=15))
def test_user_storage_never_passes_its_quota(user_store, steps):
    platform = user_store.platform
    for write, key, size in steps:
        if write:
            value = platform.call("user", "updateUserData", {"id": 1, key: "v" * size}).value
            assert value == OK or value["status"] == 403, value
            if value != OK:  # refused only when the exact count leaves no room
                assert table_bytes(platform.state, ["user_data", "user_users", "user_activation"]) + size > QUOTA - 100
        else:
            assert platform.call("user", "deleteUserData", {"id": 1, "keys": [key]}).value == OK
        assert table_bytes(platform.state, ["user_data", "user_users", "user_activation"]) <= QUOTA
