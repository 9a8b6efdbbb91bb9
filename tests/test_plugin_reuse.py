"""Test runtimes are reused within a process and reset between tests: nothing one test does is seen
by the next (services, emulator, clock, parameters, events), and per-test checks stay per test."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

from murano_sim.state.clock import ManualClock
from murano_sim.testing.pool import RuntimePool
from murano_sim.testing.testbed import base_config

pytest_plugins = ["pytester"]

DIRTY = """
Keystore.set{key = "k", value = "dirty"}
Tsdb.write{metrics = {temp = 9}}
Timer.sendAfter{message = "m", duration = 60000, timer_id = "t"}
Config.setParameters{service = "timer", parameters = {schedule = {hourly = true}}}
Twilio.postMessage{To = "+15551234567", From = "+15005550006", Body = "x"}
"""


def test_a_reused_runtime_starts_as_a_new_one_would():
    pool = RuntimePool()
    config = base_config(None)
    try:
        runtime = pool.acquire(config)
        fresh_parameters = runtime.platform.parameters("timer")
        assert runtime.run(DIRTY).error is None
        runtime.advance(3600 * 24)
        runtime.emulator.fail_next(500)
        runtime.platform.emit("keystore", "custom", {})
        runtime.platform.on_event = lambda *a: None
        again = pool.acquire(config)
        assert again is runtime
        message = again.run("""return {
            k = Keystore.get{key = "k"}.value, points = #Tsdb.query{metrics = {"temp"}}.values,
            sent = #Twilio.listMessage{}.messages,
            params = Config.getParameters{service = "timer"}.parameters}""").response.message
        assert "k" not in message and message["points"] == 0 and message["sent"] == 0
        assert message.get("params", {}) == fresh_parameters == {}
        assert again.emulator.unused() == [] and again.platform.events == [] and again.platform.on_event is None
        assert abs(again.clock.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)
        assert pool.acquire(base_config({"env": {"X": "1"}})) is not runtime  # another config, another runtime
    finally:
        pool.close()


def test_the_pool_drops_the_least_recently_used_runtime():
    pool = RuntimePool(size=1)
    try:
        first = pool.acquire(base_config(None))
        pool.acquire(base_config({"env": {"X": "1"}}))
        assert pool.acquire(base_config(None)) is not first
    finally:
        pool.close()


def test_a_manual_clock_can_start_again():
    clock = ManualClock(datetime(2020, 1, 1, tzinfo=timezone.utc))
    clock.advance(90)
    assert clock.set(datetime(2019, 5, 1)) == datetime(2019, 5, 1, tzinfo=timezone.utc)
    assert abs(clock.set() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_tests_of_every_kind_share_a_runtime_and_see_none_of_each_others_work(pytester):
    pytester.makefile(".lua", dirty=DIRTY)
    pytester.makepyfile(test_fixtures="""
        SEEN = []
        def test_a(murano, keystore, twilio):
            SEEN.append(id(murano.runtime))
            murano.run_file("dirty.lua")
            murano.runtime.advance(7200)
            assert keystore["k"] == "dirty" and len(twilio.messages) == 1
        def test_b(murano, keystore, twilio, timers, murano_services_config):
            SEEN.append(id(murano.runtime))
            assert "k" not in keystore and twilio.messages == [] and len(timers) == 0
            assert murano_services_config["timer"] == {}
        def test_c_same_runtime():
            assert len(SEEN) == 2 and SEEN[0] == SEEN[1]
    """)
    pytester.makefile(".murano.yaml", test_cases="""
        script: dirty.lua
        cases:
          - name: first
            expect: {keystore: {k: dirty}}
          - name: second
            source: return Keystore.get{key = "k"}
            expect: {message: {}}
    """)
    pytester.makefile(".lua", things_test="""
        function test_dirty() Keystore.set{key = "k", value = "lua"} end
        function test_clean() assert_nil(Keystore.get{key = "k"}.value) end
    """)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=7)


def test_per_test_twilio_checks_still_fail_the_test_that_left_them(pytester):
    pytester.makepyfile("""
        def test_leaves_a_fault(murano, twilio):
            twilio.fail_next(500)
        def test_next_is_clean(murano, twilio):
            out = murano.run('return Twilio.postMessage{To = "+15551234567", From = "+15005550006", Body = "x"}')
            assert out.response.message["status"] == "queued"
        def test_strict(murano, twilio):
            twilio.strict()
            murano.run('Twilio.postMessage{To = "+15551234567", From = "+15005550006", Body = "x"}')
    """)
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3, errors=2)  # the two teardown errors
    result.stdout.fnmatch_lines(["*fail_next fault(s) never used*", "*strict: sent but never expected*"])
