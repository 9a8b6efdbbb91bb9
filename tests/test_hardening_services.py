"""Work inside a service call is bounded: sizes checked before anything is allocated, the caller's
deadline, and a backing Redis that fails is Murano's error table, logged once per outage.

Real Lua in lupa, real fakeredis, a real redis-server on loopback, a real `serve` on loopback.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lua_support import lua_value as run
from test_service_keystore import _free_port

from murano_sim import Runtime
from murano_sim.lua.convert import LimitReached
from murano_sim.services.bounds import MAX_ARGUMENT_BYTES
from murano_sim.services.keystore.sizes import entry_size
from murano_sim.solution import SolutionLog, serve_solution
from murano_sim.state.clock import ManualClock

MiB = 1024 * 1024
RSS_CEILING = 300 * MiB  # the bound the issue sets for the host; the calls below stay far below it


def _rss(pid: int | str = "self", field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _error(status: int, fragment: str):
    def check(value):
        assert isinstance(value, dict) and value.get("status") == status, value
        assert fragment in value["error"], value
        assert value["type"] == ("QueryError" if status < 500 else "ServerError")
        return True
    return check


# -- the reproducers ------------------------------------------------------------------------------
GROWERS = r"""
local function call(command, args, key) return Keystore.command{key = key or 'k', command = command, args = args} end
return {
  setrange = call('setrange', {64000000, 'x'}),
  setrange_far = call('setrange', {536870000, 'x'}),
  getrange = call('getrange', {0, 536870000}),
  lrange = call('lrange', {0, 536870000}, 'l'),
  lset = call('lset', {536870000, 'x'}, 'l'),
  setbit = call('setbit', {536870000, 1}),
}
"""


def test_the_reproducers_end_with_clean_error_tables_and_a_small_process(tmp_path):
    # A fresh interpreter, so its peak RSS is this script's alone. VmHWM, not ru_maxrss: Linux carries
    # ru_maxrss over exec from the (large) pytest process that started the child.
    script = tmp_path / "grow.lua"
    script.write_text(GROWERS)
    probe = (
        "import json, sys\n"
        "from murano_sim import Runtime\n"
        "with Runtime({}) as rt:\n"
        "    result = rt.run_file(sys.argv[1])\n"
        "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM:')][0]\n"
        "print(json.dumps({'body': result.response.message, 'error': result.error,\n"
        "                  'peak': int(peak.split()[1]) * 1024}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    import json

    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["error"] is None and "Traceback" not in done.stderr
    body = out["body"]
    assert _error(413, "setrange: 64000000 is beyond the value size bound (1048576 bytes)")(body["setrange"])
    assert _error(413, "536870000 is beyond the value size bound")(body["setrange_far"])
    assert _error(413, "getrange: 536870000")(body["getrange"])
    assert _error(413, "lrange: 536870000")(body["lrange"])
    assert _error(413, "lset: 536870000")(body["lset"])
    assert _error(400, "'setbit' is not supported")(body["setbit"])
    assert out["peak"] < RSS_CEILING / 2, out["peak"]


@pytest.fixture
def runtime():
    with Runtime({}, clock=ManualClock()) as rt:
        yield rt


def test_growing_a_value_by_many_small_calls_stops_at_the_value_bound():
    runtime = Runtime({"lua": {"max_instructions": 10_000_000}}, clock=ManualClock())
    before = _rss()
    with runtime:
        out = run(runtime, r"""
        local chunk = string.rep('x', 4096)
        local results = {}
        local function grow(command, key, args)
          for i = 1, 400 do
            local r = Keystore.command{key = key, command = command, args = args(i)}
            if type(r) == 'table' and r.error then return {calls = i, error = r} end
          end
          return {calls = 400}
        end
        results.append = grow('append', 'a', function() return {chunk} end)
        results.rpush = grow('rpush', 'l', function() return {chunk, chunk} end)
        results.sadd = grow('sadd', 's', function() return {chunk} end)
        results.hset = grow('hset', 'h', function(i) return {'f' .. i, chunk} end)
        results.same_field = grow('hset', 'g', function() return {'f', chunk} end)
        results.strlen = Keystore.command{key = 'a', command = 'strlen'}.value
        return results""")
    # 1 MiB / 4096 = 256 appends fit; the 257th is refused, and the stored value is still 256 chunks.
    assert out["append"]["calls"] == 257 and out["strlen"] == 256 * 4096
    assert _error(413, "a value holds at most 1048576")(out["append"]["error"])
    for name in ("rpush", "hset"):
        assert out[name]["calls"] < 400 and _error(413, "would be")(out[name]["error"])
    # A set keeps one copy of the chunk, a hash one value per field: estimates past the bound are measured
    # again, so writes that do not grow the key go on.
    assert out["sadd"]["calls"] == 400 and out["same_field"]["calls"] == 400
    assert _rss() - before < 64 * MiB


def test_a_huge_set_or_mset_value_is_refused_before_it_is_stored():
    with Runtime({"services": {"keystore": {"max_value_bytes": 1000}}}, clock=ManualClock()) as rt:
        out = run(rt, """return {Keystore.set{key = 'k', value = string.rep('x', 1001)},
            Keystore.mset{kvs = {a = 'small', b = string.rep('y', 2000)}},
            Keystore.get{key = 'a'}, Keystore.set{key = 'k', value = string.rep('x', 1000)}}""")
    assert _error(413, "'k' would be 1001 bytes")(out[0])
    assert _error(413, "'b' would be 2000 bytes")(out[1])
    assert out[2] == {}  # nothing of the refused mset was stored
    assert out[3] == {"status": 204, "status_code": 204}


def test_the_byte_quota_refuses_writes_and_deleting_makes_room_again():
    config = {"services": {"keystore": {"quota_bytes": 10_000}}}
    with Runtime(config, clock=ManualClock()) as rt:
        out = run(rt, r"""
            local refused
            for i = 1, 20 do
              local r = Keystore.set{key = 'k' .. i, value = string.rep('x', 1000)}
              if r.error then refused = {i = i, error = r}; break end
            end
            for i = 1, 5 do Keystore.delete{key = 'k' .. i} end
            refused.after = Keystore.set{key = 'again', value = string.rep('x', 1000)}
            refused.shrunk = Keystore.command{key = 'k6', command = 'setrange', args = {0, 'y'}}
            return refused""")
    assert out["i"] == 11  # ten values of 1000 bytes fill a 10 000-byte quota
    assert _error(403, "byte quota reached (10000 bytes)")(out["error"])
    assert out["after"] == {"status": 204, "status_code": 204}
    assert out["shrunk"] == {"value": 1000}


def test_a_negative_srandmember_count_cannot_multiply_a_set_past_the_bound():
    with Runtime({"services": {"keystore": {"max_value_bytes": 4096}}}, clock=ManualClock()) as rt:
        out = run(rt, """Keystore.command{key = 's', command = 'sadd', args = {'a', 'b', 'c'}}
            return {Keystore.command{key = 's', command = 'srandmember', args = {-4000}},
                    #Keystore.command{key = 's', command = 'srandmember', args = {-10}}.value}""")
    assert _error(413, "the reply would pass the value size bound (4096 bytes)")(out[0])
    assert out[1] == 10


# -- the same call behind serve -------------------------------------------------------------------
def test_one_get_to_a_served_endpoint_cannot_grow_serve(tmp_path):
    root = tmp_path / "solution"
    (root / "endpoints").mkdir(parents=True)
    (root / "endpoints" / "api.lua").write_text(
        "--#ENDPOINT GET /grow\n"
        "return Keystore.command{key = 'k', command = 'setrange',"
        " args = {tonumber(request.parameters.offset), 'x'}}\n"
    )
    with Runtime({}) as runtime:
        server = serve_solution(root, runtime, log=SolutionLog(io.StringIO(), secrets=[]))
        try:
            before = _rss()
            answer = requests.get(server.url + "/grow", params={"offset": 64000000}, timeout=60)
            grown = _rss() - before
            small = requests.get(server.url + "/grow", params={"offset": 10}, timeout=60)
        finally:
            server.shutdown()
    assert answer.status_code == 200
    assert _error(413, "64000000 is beyond the value size bound")(answer.json())
    assert small.json() == {"value": 11}
    assert grown < 32 * MiB


# -- the generic bound: the deadline and the arguments' size ---------------------------------------
def test_a_call_after_the_deadline_fails_as_the_time_limit_does(runtime):
    with pytest.raises(LimitReached) as raised:
        runtime.platform.call("keystore", "get", {"key": "k"}, deadline=time.monotonic() - 1)
    assert raised.value.kind == "time"
    assert runtime.platform.call("keystore", "get", {"key": "k"}, deadline=time.monotonic() + 60).value == {}


def test_arguments_above_the_generic_bound_are_refused_before_the_service_runs(runtime):
    outcome = runtime.platform.call("keystore", "set", {"key": "k", "value": "x" * (MAX_ARGUMENT_BYTES + 1)})
    assert _error(413, "Keystore.set: arguments: larger than")(outcome.value)
    assert outcome.record["arguments"] == "[arguments too large]"
    many = runtime.platform.call("email", "send", {"to": ["a@example.com"] * (MAX_ARGUMENT_BYTES // 8)})
    assert _error(413, "Email.send: arguments: larger than")(many.value)
    assert runtime.platform.call("keystore", "get", {"key": "k"}).value == {}


# -- property: random growth never passes the bounds and never raises -------------------------------
VERBS = ["set", "append", "setrange", "getrange", "rpush", "lpush", "lset", "linsert", "lrange", "sadd", "hset",
         "hsetnx", "hincrby", "zadd", "zincrby", "incrby", "incrbyfloat", "srandmember", "spop", "getset", "setex"]
SMALL = {"services": {"keystore": {"max_value_bytes": 2048, "quota_bytes": 8192}}}


@pytest.fixture(scope="module")
def bounded():
    with Runtime(SMALL, clock=ManualClock()) as rt:
        yield rt


arguments = st.lists(
    st.one_of(st.integers(-10**10, 10**10), st.text(max_size=3000), st.sampled_from(["BEFORE", "x", "0", "-1"])),
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=st.lists(st.tuples(st.sampled_from(VERBS), st.sampled_from(["a", "b", "c"]), arguments),
                         min_size=1, max_size=12))
def test_random_commands_stay_within_the_value_bound_and_the_quota(bounded, commands):
    platform = bounded.platform
    keystore = platform.by_alias["keystore"].model
    platform.call("keystore", "clear", {})
    for verb, key, args in commands:
        value = platform.call("keystore", "command", {"key": key, "command": verb, "args": args}).value
        if isinstance(value, dict) and "error" in value:
            assert 400 <= value["status"] < 500, value
        elif isinstance(value, dict) and "value" in value and isinstance(value["value"], (str, list)):
            assert len(str(value["value"])) <= 2 * 2048 + 64  # a reply is bounded by the value bound too
    sizes = {key: entry_size(*keystore._typed_read(key)) for key in keystore.keys()}
    assert all(size <= 2048 for size in sizes.values()), sizes
    assert sum(sizes.values()) <= 8192, sizes


# -- a real Redis that fails ------------------------------------------------------------------------
class RedisServer:
    def __init__(self, folder: Path) -> None:
        import shutil

        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.port = _free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 20  # a hang guard only
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "murano_sim.keystore"]


def _until(predicate, what: str):
    deadline = time.monotonic() + 30  # a hang guard only
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_a_stopped_redis_gives_503_tables_one_log_line_and_service_resumes(redis_server, caplog):
    caplog.set_level(logging.WARNING, logger="murano_sim.keystore")
    config = {"services": {"keystore": {"url": redis_server.url, "timeout_seconds": 0.5}}}
    with Runtime(config) as runtime:
        assert run(runtime, "return Keystore.set{key = 'a', value = 'x'}") == {"status": 204, "status_code": 204}
        redis_server.stop()
        out = run(runtime, """local seen = {}
            for i = 1, 200 do seen[#seen + 1] = Keystore.get{key = 'a'} end
            return {first = seen[1], last = seen[#seen], n = #seen}""")
        assert out["n"] == 200
        for value in (out["first"], out["last"]):
            assert _error(503, "Keystore: the Redis server is unavailable")(value)
        lines = _outage_lines(caplog)
        assert len(lines) == 1 and "is unavailable" in lines[0] and "Traceback" not in caplog.text
        redis_server.start()
        back = _until(lambda: run(runtime, "return Keystore.set{key = 'a', value = 'y'}").get("status") == 204,
                      "Keystore to answer again")
        assert back and run(runtime, "return Keystore.get{key = 'a'}") == {"value": "y"}
        lines = _outage_lines(caplog)
        assert len(lines) == 2 and "is back" in lines[1]


def test_a_frozen_redis_cannot_hang_a_call(redis_server, caplog):
    caplog.set_level(logging.WARNING, logger="murano_sim.keystore")
    config = {"services": {"keystore": {"url": redis_server.url, "timeout_seconds": 0.5}},
              "lua": {"timeout_seconds": 20}}
    with Runtime(config) as runtime:
        assert run(runtime, "return Keystore.set{key = 'a', value = 'x'}")["status"] == 204
        assert redis_server.process is not None
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            out = run(runtime, "return {Keystore.get{key = 'a'}, Keystore.command{key = 'n', command = 'incr'}}")
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        assert _error(503, "unavailable")(out[0]) and _error(503, "unavailable")(out[1])
        assert len(_outage_lines(caplog)) == 1
        _until(lambda: run(runtime, "return Keystore.get{key = 'a'}") == {"value": "x"}, "Keystore to answer again")
