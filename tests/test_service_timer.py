"""Murano's Timer service driven from Lua: operations, shapes, errors, firing on the solution's clock,
the configured schedule, persistence in the state and reset()."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from lua_support import lua_value as lua

from murano_sim import Runtime
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

START = datetime(2024, 1, 1, 0, 30, tzinfo=timezone.utc)  # a Monday
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def runtime(start: datetime = START, **kwargs) -> tuple[Runtime, ManualClock, list[tuple[datetime, dict]]]:
    """A runtime on a manual clock, and the `timer` events it emits with the clock's time at each."""
    clock = ManualClock(start)
    rt = Runtime({}, clock=clock, **kwargs)
    fired: list[tuple[datetime, dict]] = []
    rt.platform.on_event = lambda alias, event, payload: fired.append((clock.now(), payload)) \
        if (alias, event) == ("timer", "timer") else None
    return rt, clock, fired



def test_send_after_answers_ok_with_an_id_and_fires_once_with_the_documented_request():
    rt, clock, fired = runtime()
    with rt:
        answer = lua(rt, "return Timer.sendAfter{message = {device = 'd1'}, duration = 5000}")
        assert answer["result"] == "Ok" and UUID.match(answer["timer_id"])
        assert lua(rt, "return Timer.list()") == {"list": [answer["timer_id"]], "result": "Ok"}
        rt.advance(4.999)
        assert fired == []
        rt.advance(60)
        solution_id = lua(rt, "return Config.solution().id")
        assert fired == [(START + timedelta(seconds=5),
                          {"message": {"device": "d1"}, "timer_id": answer["timer_id"], "solution_id": solution_id})]
        assert lua(rt, "return Timer.list()")["list"] == []


def test_an_interval_fires_repeatedly_each_at_its_own_time():
    rt, clock, fired = runtime()
    with rt:
        assert lua(rt, "return Timer.sendInterval{message = 'tick', duration = 3000, timer_id = 'poll'}") == {
            "result": "Ok", "timer_id": "poll"}
        rt.advance(10)
        assert [(when - START).total_seconds() for when, _ in fired] == [3, 6, 9]
        assert {payload["timer_id"] for _, payload in fired} == {"poll"}
        assert lua(rt, "return Timer.list()")["list"] == ["poll"]  # still pending


def test_timers_fire_in_time_order_across_kinds():
    rt, clock, fired = runtime()
    with rt:
        lua(rt, """
            Timer.sendAfter{message = 'late', duration = 7000, timer_id = 'late'}
            Timer.sendInterval{message = 'every4', duration = 4000, timer_id = 'every4'}
            Timer.sendAfter{message = 'early', duration = 1000, timer_id = 'early'}
        """)
        rt.advance(9)
        assert [(p["message"], (when - START).total_seconds()) for when, p in fired] == [
            ("early", 1), ("every4", 4), ("late", 7), ("every4", 8)]


def test_schedule_fires_at_the_start_of_each_utc_period_and_list_orders_by_next_fire():
    rt, clock, fired = runtime()
    with rt:
        assert lua(rt, "return Timer.schedule{message = 'day', timer_id = 'd', schedule = {daily = true}}") == {
            "result": "Ok", "timer_id": "d"}
        lua(rt, "Timer.schedule{message = 'week', timer_id = 'w', schedule = {weekly = true, monthly = true}}")
        lua(rt, "Timer.schedule{message = 'hour', timer_id = 'h', schedule = {hourly = true}}")
        assert lua(rt, "return Timer.list()")["list"] == ["h", "d", "w"]
        rt.advance(8 * 24 * 3600)
        times = {tid: [w for w, p in fired if p["timer_id"] == tid] for tid in ("h", "d", "w")}
        assert times["d"] == [datetime(2024, 1, day, tzinfo=timezone.utc) for day in range(2, 10)]
        assert times["w"] == [datetime(2024, 1, 8, tzinfo=timezone.utc)]  # the next Monday 00:00
        assert times["h"][:2] == [datetime(2024, 1, 1, hour, tzinfo=timezone.utc) for hour in (1, 2)]
        assert len(times["h"]) == 8 * 24
        rt.advance(24 * 24 * 3600)  # to 2024-02-02: weekly Mondays, then the monthly start on 1 February
        weekly = [w.day for w, p in fired if p["timer_id"] == "w" and w.month == 1]
        assert weekly == [8, 15, 22, 29]
        assert datetime(2024, 2, 1, tzinfo=timezone.utc) in [w for w, p in fired if p["timer_id"] == "w"]


def test_cancel_cancel_all_and_the_june_2016_name():
    rt, clock, fired = runtime()
    with rt:
        lua(rt, "for i = 1, 3 do Timer.sendAfter{message = i, duration = 1000, timer_id = 't' .. i} end")
        assert lua(rt, "return Timer.cancel{timer_id = 't2'}") == {"result": "Ok", "timer_id": "t2"}
        assert lua(rt, "return Timer.cancel{timer_id = 'never-armed'}")["result"] == "Ok"
        assert lua(rt, "return Timer.list()")["list"] == ["t1", "t3"]
        assert lua(rt, "return Timer.cancelAll()") == {"result": "Ok"}
        assert lua(rt, "return Timer.list()")["list"] == []
        lua(rt, "Timer.sendInterval{message = 'x', duration = 1000}")
        assert lua(rt, "return Timer.cancel_all()") == {"result": "Ok"}
        rt.advance(5)
        assert fired == []


def test_the_same_timer_id_re_arms_the_pending_timer():
    rt, clock, fired = runtime()
    with rt:
        lua(rt, "Timer.sendAfter{message = 'first', duration = 5000, timer_id = 'debounce'}")
        rt.advance(4)
        lua(rt, "Timer.sendAfter{message = 'second', duration = 5000, timer_id = 'debounce'}")
        rt.advance(10)
        assert [(p["message"], (w - START).total_seconds()) for w, p in fired] == [("second", 9)]


def test_refusals_are_murano_error_tables():
    rt, clock, fired = runtime()
    with rt:
        def refused(source: str) -> dict:
            answer = lua(rt, f"return {source}")
            assert set(answer) == {"error", "status", "type", "status_code"}, answer
            return answer

        assert refused("Timer.sendAfter{duration = 1000}")["error"] == "Timer.sendAfter: message: is required"
        assert refused("Timer.sendAfter{message = 'x', duration = -1}") == {
            "error": "duration: must be 0 to 31536000000 milliseconds, got -1",
"status": 400, "type": "QueryError", "status_code": 400}
        assert refused("Timer.sendInterval{message = 'x', duration = 999}")["error"].startswith(
            "duration: must be 1000 to")
        assert refused("Timer.sendAfter{message = 'x', duration = 1.5}")["status"] == 400
        assert refused("Timer.schedule{message = 'x', schedule = {daily = false}}") == {
            "error": "schedule: set at least one of hourly, daily, weekly, monthly, yearly to true",
            "status": 400, "type": "QueryError", "status_code": 400}
        assert refused("Timer.sendAfter{message = 'x', duration = 1, timer_id = string.rep('x', 129)}")["status"] == 400
        assert refused("Timer.cancel{}")["error"] == "Timer.cancel: timer_id: is required"
        assert lua(rt, "return Timer.list()")["list"] == []


def test_at_most_1000_pending_timers_but_re_arming_one_is_allowed():
    rt, clock, fired = runtime()
    with rt:
        lua(rt, "for i = 1, 1000 do Timer.sendAfter{message = i, duration = 60000, timer_id = 't' .. i} end")
        assert lua(rt, "return Timer.sendAfter{message = 0, duration = 1000}") == {
            "error": "too many pending timers (at most 1000); cancel some first", "status": 429, "type": "QueryError",
            "status_code": 429}
        assert lua(rt, "return Timer.sendAfter{message = 0, duration = 1000, timer_id = 't7'}")["result"] == "Ok"
        assert len(lua(rt, "return Timer.list()")["list"]) == 1000


def test_the_schedule_parameter_fires_timer_events_with_no_code():
    configs = {"timer": {"schedule": {"hourly": True, "daily": True}}}
    rt, clock, fired = runtime(solution_configs=configs)
    with rt:
        rt.advance(24 * 3600)
        assert {p["timer_id"] for _, p in fired} == {"schedule"}
        assert [w.hour for w, _ in fired] == [*range(1, 24), 0]
        assert [p["message"] for _, p in fired][-2:] == ["hourly", "daily"]  # one event at midnight
        assert lua(rt, "return Timer.list()")["list"] == []  # the configured schedule is not a timer


def test_switching_the_schedule_on_with_set_parameters_counts_from_then():
    rt, clock, fired = runtime()
    with rt:
        rt.advance(3 * 3600)  # 03:30, nothing configured
        lua(rt, "Config.setParameters{service = 'timer', parameters = {schedule = {hourly = true}}}")
        rt.advance(3600)
        assert [w for w, _ in fired] == [datetime(2024, 1, 1, 4, tzinfo=timezone.utc)]
        lua(rt, "Config.setParameters{service = 'timer', parameters = {schedule = {hourly = false}}}")
        rt.advance(3 * 3600)
        assert len(fired) == 1


def test_pending_timers_survive_a_restart_with_a_state_file(tmp_path):
    path = tmp_path / "state.sqlite"
    rt, clock, fired = runtime(state=State(path))
    with rt:
        lua(rt, "Timer.sendAfter{message = {n = 1}, duration = 60000, timer_id = 'once'}")
        lua(rt, "Timer.sendInterval{message = 'poll', duration = 10000, timer_id = 'poll'}")
        rt.advance(15)
        assert [p["timer_id"] for _, p in fired] == ["poll"]
    # back 20 s after the last stop: once (due at +60 s) is still pending; poll missed +20 s only
    rt, clock, fired = runtime(START + timedelta(seconds=35), state=State(path))
    with rt:
        assert lua(rt, "return Timer.list()")["list"] == ["poll", "once"]
        rt.advance(0)
        assert [(p["timer_id"], w) for w, p in fired] == [("poll", START + timedelta(seconds=35))]
        rt.advance(30)
        assert [(p["timer_id"], (w - START).total_seconds()) for w, p in fired[1:]] == [
            ("poll", 40), ("poll", 50), ("once", 60), ("poll", 60)]
        assert fired[-2][1]["message"] == {"n": 1}


def test_a_stalled_clock_fires_a_missed_interval_once_not_once_per_period(tmp_path):
    path = tmp_path / "state.sqlite"
    rt, clock, fired = runtime(state=State(path))
    with rt:
        lua(rt, "Timer.sendInterval{message = 'poll', duration = 1000, timer_id = 'poll'}")
    rt, clock, fired = runtime(START + timedelta(days=1), state=State(path))
    with rt:
        rt.advance(0.5)
        assert len(fired) == 1
        rt.advance(1)
        assert len(fired) == 2


def test_reset_clears_every_timer():
    rt, clock, fired = runtime()
    with rt:
        lua(rt, "Timer.sendInterval{message = 'x', duration = 1000, timer_id = 'a'}")
        rt.reset()
        assert lua(rt, "return Timer.list()")["list"] == []
        rt.advance(5)
        assert fired == []


def test_generated_ids_are_stable_from_run_to_run():
    ids = []
    for _ in range(2):
        rt, clock, fired = runtime()
        with rt:
            ids.append([lua(rt, "return Timer.sendAfter{message = 'x', duration = 1}")["timer_id"] for _ in range(2)])
    assert ids[0] == ids[1] and ids[0][0] != ids[0][1]


def test_events_wait_in_platform_events_until_a_sink_is_attached():
    with Runtime({}, clock=ManualClock(START)) as rt:
        lua(rt, "Timer.sendAfter{message = 'm', duration = 0, timer_id = 'now'}")
        rt.advance(0)
        assert [(e["service"], e["event"], e["payload"]["timer_id"]) for e in rt.platform.events] == [
            ("timer", "timer", "now")]


def test_the_timers_fixture_lists_pending_timers_with_due_times(murano, timers):
    murano.runtime.run("Timer.sendAfter{message = {a = 1}, duration = 2000, timer_id = 'x'}")
    murano.runtime.run("Timer.schedule{message = 'm', timer_id = 's', schedule = {yearly = true}}")
    now = murano.runtime.clock.now()
    assert timers.ids() == ["x", "s"] and "x" in timers and len(timers) == 2
    assert timers["x"]["due"] == now + timedelta(seconds=2)
    assert timers["x"]["message"] == {"a": 1} and timers["x"]["kind"] == "after"
    assert timers["s"]["due"] == datetime(now.year + 1, 1, 1, tzinfo=timezone.utc)
    murano.runtime.advance(2)
    assert timers.ids() == ["s"]
