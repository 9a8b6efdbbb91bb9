"""Keystore from Lua: documented shapes and errors, command verbs, quotas, the clock, persistence, real Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
from lua_support import lua_value as run

from murano_sim import Runtime
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

NO_CONTENT = {"status": 204, "status_code": 204}



@pytest.fixture
def runtime():
    with Runtime({}, clock=ManualClock()) as rt:
        yield rt


def test_get_set_delete_shapes_and_a_missing_key_is_an_empty_table(runtime):
    out = run(runtime, """
        local set = Keystore.set{key = 'a', value = 'hello'}
        local got = Keystore.get{key = 'a'}
        local deleted = Keystore.delete{key = 'a'}
        local missing = Keystore.get{key = 'a'}
        return {set = set, got = got, deleted = deleted, empty = next(missing) == nil,
                n = Keystore.set{key = 'n', value = 5}, b = Keystore.set{key = 'b', value = true},
                nv = Keystore.get{key = 'n'}.value, bv = Keystore.get{key = 'b'}.value}""")
    assert out == {"set": NO_CONTENT, "got": {"value": "hello"}, "deleted": NO_CONTENT, "empty": True,
                   "n": NO_CONTENT, "b": NO_CONTENT, "nv": "5", "bv": "true"}


def test_june_2016_body_form_and_key_length_rule(runtime):
    out = run(runtime, """return {Keystore.set{key = 'k', body = {value = 'v'}}, Keystore.get{key = 'k'},
        Keystore.get{key = string.rep('x', 201)}, Keystore.get{key = ''}}""")
    assert out[:2] == [NO_CONTENT, {"value": "v"}]
    assert out[2] == {"error": "Keystore.get: key: must be 1 to 200 characters",
                      "status": 400, "type": "QueryError", "status_code": 400}
    assert out[3]["status"] == 400


def test_a_hash_reads_back_as_a_table_and_verbs_are_case_insensitive(runtime):
    out = run(runtime, """
        Keystore.command{key = 'h', command = 'HSET', args = {'name', 'pump', 'rpm', 1200}}
        return {Keystore.get{key = 'h'}, Keystore.command{key = 'h', command = 'hget', args = {'rpm'}},
                Keystore.command{key = 'h', command = 'HgetAll'},
                Keystore.command{key = 'c', command = 'incrby', args = {5}},
                Keystore.command{key = 's', command = 'sadd', args = {'x', 'y'}},
                Keystore.command{key = 's', command = 'srem', args = {'x'}},
                Keystore.command{key = 's', command = 'smembers'},
                Keystore.command{key = 'l', command = 'rpush', args = {'a', 'b', 'c'}},
                Keystore.command{key = 'l', command = 'lrange', args = {0, -1}},
                Keystore.command{key = 'nothing', command = 'get'}}""")
    assert out == [{"value": {"name": "pump", "rpm": "1200"}}, {"value": "1200"},
                   {"value": {"name": "pump", "rpm": "1200"}}, {"value": 5}, {"value": 2}, {"value": 1},
                   {"value": ["y"]}, {"value": 3}, {"value": ["a", "b", "c"]}, {}]


def test_unsupported_verbs_and_redis_errors_are_error_tables(runtime):
    out = run(runtime, """Keystore.set{key = 'a', value = 'text'}
        return {Keystore.command{key = 'a', command = 'flushall'}, Keystore.command{key = 'a', command = 'incr'}}""")
    assert out[0]["status"] == 400 and "'flushall' is not supported" in out[0]["error"]
    assert out[1] == {"error": "Keystore.command: value is not an integer or out of range", "status": 400,
                      "type": "QueryError", "status_code": 400}


def test_list_match_cursor_count_clear_and_info(runtime):
    out = run(runtime, """
        for i = 1, 5 do Keystore.set{key = 'dev_' .. i, value = i} end
        Keystore.set{key = 'other', value = 1}
        local keys, cursor, pages = {}, '0', 0
        repeat
          local page = Keystore.list{match = 'dev_', count = 2, cursor = cursor}
          for _, k in ipairs(page.keys) do keys[#keys + 1] = k end
          cursor, pages = page.cursor, pages + 1
        until cursor == '0'
        table.sort(keys)
        local info = Keystore.info()
        local cleared = Keystore.clear{match = 'dev_'}
        return {keys = keys, pages = pages, info = info, cleared = cleared, left = Keystore.list{}.keys,
                bad = Keystore.list{count = 5000}}""")
    assert out["keys"] == [f"dev_{i}" for i in range(1, 6)] and out["pages"] >= 2
    assert out["info"] == {"quota": {"keys": 10000}, "usage": {"keys": 6}}
    assert out["cleared"] == NO_CONTENT and out["left"] == ["other"]
    assert out["bad"]["status"] == 400


def test_mget_mset_mdelete(runtime):
    out = run(runtime, """
        local a = Keystore.mset{kvs = {x = '1', y = 2}}
        local b = Keystore.mset{kvs = {'p', 'q'}}
        local got = Keystore.mget{keys = {'x', 'y', 'p', 'missing'}}
        local d = Keystore.mdelete{keys = {'x', 'p'}}
        return {a, b, got, d, Keystore.mget{keys = {'x', 'y', 'p'}}}""")
    assert out == [NO_CONTENT, NO_CONTENT, {"values": {"x": "1", "y": "2", "p": "q"}}, NO_CONTENT,
                   {"values": {"y": "2"}}]


def test_key_count_quota_is_murano_error_table():
    with Runtime({"services": {"keystore": {"quota_keys": 2}}}) as runtime:
        out = run(runtime, """return {Keystore.set{key = 'a', value = 1}, Keystore.set{key = 'b', value = 1},
            Keystore.set{key = 'a', value = 2}, Keystore.set{key = 'c', value = 1},
            Keystore.command{key = 'd', command = 'lpush', args = {1}}, Keystore.info()}""")
    assert out[:3] == [NO_CONTENT] * 3
    assert out[3]["status"] == 403 and "quota" in out[3]["error"] and out[4]["status"] == 403
    assert out[5] == {"quota": {"keys": 2}, "usage": {"keys": 2}}


def test_expiry_follows_the_solution_clock(runtime):
    run(runtime, "Keystore.set{key = 'a', value = 'v'} Keystore.command{key = 'a', command = 'EXPIRE', args = {30}}")
    runtime.advance(20)
    assert run(runtime, "return Keystore.command{key = 'a', command = 'ttl'}") == {"value": 10}
    runtime.advance(11)
    assert run(runtime, "return Keystore.get{key = 'a'}") == {}


def test_state_survives_a_restart_with_types_and_ttls_and_reset_restores_the_seed(tmp_path):
    path = tmp_path / "state.sqlite"
    config = {"services": {"keystore": {"seed": {"seeded": "yes"}}}}
    clock = ManualClock()
    with Runtime(config, state=State(path), clock=clock) as runtime:
        run(runtime, """Keystore.set{key = 's', value = 'v'}
            Keystore.command{key = 'h', command = 'hset', args = {'f', 'v'}}
            Keystore.command{key = 'l', command = 'rpush', args = {1, 2}}
            Keystore.command{key = 'z', command = 'zadd', args = {1.5, 'm'}}
            Keystore.command{key = 'g', command = 'geoadd', args = {13.361389, 38.115556, 'Palermo'}}
            Keystore.command{key = 't', command = 'setex', args = {100, 'soon'}}
            Keystore.delete{key = 'seeded'}""")
    clock.advance(50)
    with Runtime(config, state=State(path), clock=clock) as runtime:
        out = run(runtime, """return {Keystore.get{key = 's'}, Keystore.get{key = 'h'}, Keystore.get{key = 'l'},
            Keystore.command{key = 'z', command = 'zscore', args = {'m'}},
            Keystore.command{key = 'g', command = 'geohash', args = {'Palermo'}},
            Keystore.command{key = 't', command = 'ttl'}, Keystore.get{key = 'seeded'}}""")
        assert out == [{"value": "v"}, {"value": {"f": "v"}}, {"value": ["1", "2"]}, {"value": 1.5},
                       {"value": ["sqc8b49rny0"]}, {"value": 50}, {}]
        runtime.advance(60)
    with Runtime(config, state=State(path), clock=clock) as runtime:
        assert run(runtime, "return Keystore.get{key = 't'}") == {}
        runtime.reset()
        assert run(runtime, "return Keystore.list{}.keys") == ["seeded"]


# -- a real Redis server ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 60  # a hang guard only
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_real_redis_server_keeps_keys_under_the_prefix_and_reset_deletes_only_those(redis_url):
    import redis

    other = redis.Redis.from_url(redis_url, decode_responses=True)
    other.set("not-ours", "kept")
    config = {"services": {"keystore": {"url": redis_url, "prefix": "sol1:", "seed": {"s": "1"}}}}
    with Runtime(config) as runtime:
        out = run(runtime, """Keystore.set{key = 'a', value = 'x'}
            Keystore.command{key = 'h', command = 'HSET', args = {'f', 'v'}}
            return {Keystore.get{key = 'a'}, Keystore.get{key = 'h'}, Keystore.list{}, Keystore.info().usage}""")
        assert out[:2] == [{"value": "x"}, {"value": {"f": "v"}}]
        assert sorted(out[2]["keys"]) == ["a", "h", "s"] and out[3] == {"keys": 3}
        assert sorted(other.keys("sol1:*")) == ["sol1:a", "sol1:h", "sol1:s"]
        runtime.reset()
        assert sorted(other.keys("*")) == ["not-ours", "sol1:s"]
    other.close()


def test_an_unreachable_redis_url_is_one_clear_error():
    from murano_sim.errors import UsageError

    with pytest.raises(UsageError, match=r"services\.keystore\.url: cannot reach redis://127\.0\.0\.1:"):
        Runtime({"services": {"keystore": {"url": f"redis://127.0.0.1:{_free_port()}/0"}}})


@pytest.mark.parametrize("args", ["{1, 2}", "{1, 2, 3}"])
def test_a_command_with_too_many_arguments_is_a_query_error(runtime, args):
    # fakeredis checks srandmember's arity by calling its method; the script gets Redis's error, not a defect
    result = runtime.run(f'return Keystore.command{{key = "s", command = "srandmember", args = {args}}}')
    assert result.error is None
    assert result.response.message["status"] == 400
    assert "wrong number of arguments for 'srandmember'" in result.response.message["error"]


def test_every_reset_restores_the_seed_whether_or_not_anything_was_written_since(tmp_path):
    # a reset with nothing written since the last one skips the store: the next ones must not
    path = tmp_path / "state.sqlite"
    config = {"services": {"keystore": {"seed": {"seeded": "yes"}}}}
    listing = "return Keystore.list{}.keys"
    with Runtime(config, state=State(path)) as runtime:
        for writes in ("", "Keystore.set{key = 'a', value = '1'}", "", "", "Keystore.delete{key = 'seeded'}",
                       "Keystore.command{key = 'l', command = 'rpush', args = {1}}", ""):
            run(runtime, writes + " return 1")
            runtime.reset()
            assert run(runtime, listing) == ["seeded"], writes
        runtime.services.by_alias["keystore"].model.write("direct", "x")  # not through a script: no run's save
        runtime.reset()
        assert run(runtime, listing) == ["seeded"]
        run(runtime, "Keystore.set{key = 'b', value = '2'}")
        runtime.reset()
        runtime.reset()
    with Runtime(config, state=State(path)) as runtime:  # the state file holds the seed only
        assert run(runtime, listing) == ["seeded"]


def test_a_verb_answers_the_same_on_first_and_later_use(runtime):
    # the embedded store calls fakeredis's command handling directly once a verb is known (direct.py):
    # replies and Redis's errors must be those of the first use, which takes fakeredis's full path
    out = run(runtime, """Keystore.set{key = 'a', value = 'text'}
        local seen = {}
        for i = 1, 2 do
          seen[#seen + 1] = {Keystore.command{key = 'a', command = 'incr'},
                             Keystore.command{key = 's', command = 'srandmember', args = {1, 2}},
                             Keystore.command{key = 'h', command = 'hset', args = {'f', 'v' .. i}},
                             Keystore.command{key = 'h', command = 'hgetall'}, Keystore.get{key = 'a'}}
        end
        return seen""")
    first, second = out
    assert first[0] == second[0] == {"error": "Keystore.command: value is not an integer or out of range",
                                     "status": 400, "type": "QueryError", "status_code": 400}
    assert "wrong number of arguments for 'srandmember'" in first[1]["error"] == second[1]["error"]
    assert (first[2], second[2]) == ({"value": 1}, {"value": 0})
    assert (first[3], second[3]) == ({"value": {"f": "v1"}}, {"value": {"f": "v2"}})
    assert first[4] == second[4] == {"value": "text"}


def test_the_store_answers_after_its_connections_were_closed(runtime):
    runtime.run("Keystore.set{key = 'kept', value = 'yes'}")
    runtime.platform.by_alias["keystore"].model.client.connection_pool.disconnect()
    assert run(runtime, "return {Keystore.get{key = 'kept'}, Keystore.set{key = 'b', value = 1}}") == [
        {"value": "yes"}, NO_CONTENT]


def test_the_direct_store_is_in_use_and_answers_as_the_redis_py_fallback():
    # direct.py uses fakeredis internals; with the pinned fakeredis they are there (else the store
    # would quietly fall back to redis-py's client), and both paths give the same replies and errors.
    import fakeredis
    import redis

    from murano_sim.services.keystore.direct import DirectRedis, usable
    from murano_sim.services.keystore.model import _raw_client

    def answers(client) -> list:
        out = []
        for command in (("SET", "a", "text"), ("GET", "a"), ("INCR", "a"), ("EXPIRE", "a", 10), ("TTL", "a"),
                        ("HSET", "h", "f", "v"), ("HGETALL", "h"), ("SRANDMEMBER", "s", 1, 2), ("NOPE",)):
            try:
                out.append(client.execute_command(*command))
            except (redis.ResponseError, TypeError) as exc:  # fakeredis's arity slip (srandmember) is a TypeError
                out.append((type(exc).__name__, str(exc)))
        return out

    def fresh() -> redis.Redis:
        return fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)

    assert usable(fresh())
    direct, fallback = answers(DirectRedis(fresh())), answers(_raw_client(fresh()))
    assert direct == fallback
    assert direct[:3] == ["OK", "text", ("ResponseError", "value is not an integer or out of range")]
