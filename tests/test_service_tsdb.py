"""Tsdb and Timeseries from Lua: writes, every query option, shapes, retention, export, persistence."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from lua_support import lua_value as run

from murano_sim import Runtime
from murano_sim.state import State
from murano_sim.state.clock import ManualClock

NOON = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
NOON_S = int(NOON.timestamp())
NO_CONTENT = {"status": 204, "status_code": 204}



@pytest.fixture
def runtime():
    with Runtime({}, clock=ManualClock(NOON)) as rt:
        run(rt, f"""
            Tsdb.write{{metrics = {{temp = 20, hum = 50}}, tags = {{sn = 'a'}}, ts = '{NOON_S - 3600}s'}}
            Tsdb.write{{metrics = {{temp = 22}}, tags = {{sn = 'b'}}, ts = {(NOON_S - 1800) * 1_000_000}}}
            Tsdb.multiWrite{{datapoints = {{{{metrics = {{temp = 24, state = 'ok'}}, tags = {{sn = 'a'}}}},
                {{metrics = {{temp = 26}}, tags = {{sn = 'b'}}, ts = '{NOON_S}000ms'}}}}}}""")
        yield rt


def test_write_answers_the_204_table_and_bad_writes_are_error_tables(runtime):
    out = run(runtime, """return {Tsdb.write{metrics = {x = 1}}, Tsdb.write{metrics = {x = {1}}},
        Tsdb.write{metrics = {x = 1}, ts = 'yesterday'}, Tsdb.write{tags = {a = 'b'}}}""")
    assert out[0] == NO_CONTENT
    assert out[1]["status"] == 400 and "metrics.x" in out[1]["error"]
    assert out[2]["status"] == 400 and "ts" in out[2]["error"]
    assert out[3] == {"error": "Tsdb.write: metrics: is required",
                      "status": 400, "type": "QueryError", "status_code": 400}


def test_merge_mode_is_the_default_newest_first_with_iso_times(runtime):
    out = run(runtime, "return Tsdb.query{metrics = {'temp', 'hum'}, tags = {sn = 'a'}}")
    assert out == {"metrics": ["temp", "hum"], "tags": {"sn": "a"}, "columns": ["time", "temp", "hum"],
                   "values": [["2024-01-01T12:00:00Z", 24, None], ["2024-01-01T11:00:00Z", 20, 50]]}


def test_a_null_cell_keeps_its_place_in_lua_as_json_null(runtime):
    # fill = "null" (the default): a row of a sensor that sent only some metrics. Its empty cell is
    # json.null in Lua, so #row counts every column and to_json gives the row back as an array.
    out = run(runtime, """local r = Tsdb.query{metrics = {'hum', 'temp'}, tags = {sn = 'a'}, fill = 'null', epoch = 's'}
        local newest = r.values[1]
        return {n = #newest, null = newest[2] == json.null, is_null = json.is_null(newest[2]),
                truthy = newest[2] and true or false, temp = newest[3], encoded = to_json(newest),
                fields = r.tags.nothing == nil}""")
    assert out == {"n": 3, "null": True, "is_null": True, "truthy": True, "temp": 24,
                   "encoded": f"[{NOON_S},null,24]", "fields": True}


def test_epoch_order_limit_and_split_mode(runtime):
    out = run(runtime, """return {
        Tsdb.query{metrics = {'temp'}, epoch = 's', order_by = 'asc', limit = 2}.values,
        Tsdb.query{metrics = {'temp'}, epoch = 'ms', limit = 1}.values,
        Tsdb.query{metrics = {'temp', 'hum'}, mode = 'split', epoch = 'u', order_by = 'asc'}.values}""")
    assert out[0] == [[NOON_S - 3600, 20], [NOON_S - 1800, 22]]
    assert out[1] == [[NOON_S * 1000, 24]] or out[1] == [[NOON_S * 1000, 26]]
    assert out[2]["hum"] == [[(NOON_S - 3600) * 1_000_000, 50]] and len(out[2]["temp"]) == 4


def test_time_windows_absolute_and_relative(runtime):
    out = run(runtime, f"""return {{
        Tsdb.query{{metrics = {{'temp'}}, relative_start = '-45m', epoch = 's', order_by = 'asc'}}.values,
        Tsdb.query{{metrics = {{'temp'}}, start_time = '{NOON_S - 3600}s', end_time = '{NOON_S - 1}s',
                   epoch = 's'}}.values,
        Tsdb.query{{metrics = {{'temp'}}, relative_start = '-2h', relative_end = '-40m', epoch = 's'}}.values}}""")
    assert [row[0] for row in out[0]] == [NOON_S - 1800, NOON_S, NOON_S]
    assert out[1] == [[NOON_S - 1800, 22], [NOON_S - 3600, 20]]
    assert out[2] == [[NOON_S - 3600, 20]]


def test_aggregates_without_and_with_sampling_and_every_fill(runtime):
    out = run(runtime, """return {
        Tsdb.query{metrics = {'temp', 'state'}, aggregate = {'avg', 'min', 'max', 'count', 'sum'}}.values,
        Tsdb.query{metrics = {'temp'}, aggregate = {'avg'}, sampling_size = '30m', relative_start = '-90m',
                   epoch = 's', order_by = 'asc'}.values,
        Tsdb.query{metrics = {'temp'}, aggregate = {'max'}, sampling_size = '30m', relative_start = '-90m',
                   epoch = 's', order_by = 'asc', fill = 'none'}.values,
        Tsdb.query{metrics = {'temp'}, aggregate = {'max'}, sampling_size = '30m', relative_start = '-90m',
                   epoch = 's', order_by = 'asc', fill = 0}.values,
        Tsdb.query{metrics = {'temp', 'hum'}, aggregate = {'max'}, sampling_size = '30m', relative_start = '-90m',
                   epoch = 's', order_by = 'asc', fill = 'previous'}.values,
        Tsdb.query{metrics = {'temp'}, mode = 'split', aggregate = {'count'}, sampling_size = '1h',
                   relative_start = '-1h', epoch = 's', fill = 'none'}.values}""")
    assert out[0] == {"temp": {"avg": 23, "min": 20, "max": 26, "count": 4, "sum": 92}, "state": {"count": 1}}
    start = NOON_S - 5400
    assert out[1] == [[start, None], [start + 1800, {"avg": 20}], [start + 3600, {"avg": 22}], [NOON_S, {"avg": 25}]]
    assert out[2] == [[start + 1800, {"max": 20}], [start + 3600, {"max": 22}], [NOON_S, {"max": 26}]]
    assert out[3][0] == [start, {"max": 0}]
    assert out[4][2] == [start + 3600, {"max": 22}, {"max": 50}]  # hum carried forward
    assert out[5] == {"temp": [[NOON_S, {"count": 2}], [NOON_S - 3600, {"count": 2}]]}


def test_query_errors_name_the_argument(runtime):
    out = run(runtime, """return {Tsdb.query{metrics = {}}, Tsdb.query{metrics = {'t'}, aggregate = {'median'}},
        Tsdb.query{metrics = {'t'}, sampling_size = 'soon'}, Tsdb.query{metrics = {'t'}, limit = 0},
        Tsdb.query{metrics = {'t'}, mode = 'both'}}""")
    assert all(o["status"] == 400 for o in out)
    assert "metrics" in out[0]["error"] and "median" in out[1]["error"] and "sampling_size" in out[2]["error"]
    assert "limit" in out[3]["error"] and "mode" in out[4]["error"]


def test_recent_list_metrics_list_tags_and_delete_all(runtime):
    out = run(runtime, """return {Tsdb.recent{metrics = {'temp'}, tag_name = 'sn', epoch = 's'},
        Tsdb.recent{metrics = {'hum'}}, Tsdb.listMetrics{limit = 2}, Tsdb.listMetrics{limit = 2, next = 'state'},
        Tsdb.listTags{}, Tsdb.deleteAll(), Tsdb.listMetrics{}}""")
    assert out[0] == {"values": {"a": {"temp": [NOON_S, 24]}, "b": {"temp": [NOON_S, 26]}}}
    assert out[1] == {"values": {"hum": ["2024-01-01T11:00:00Z", 50]}}
    assert out[2] == {"metrics": ["hum", "state"], "next": "state"} and out[3] == {"metrics": ["temp"]}
    assert out[4] == {"tags": {"sn": ["a", "b"]}}
    assert out[5] == NO_CONTENT and out[6] == {"metrics": []}


def test_recent_can_be_disabled_by_configuration():
    with Runtime({}, solution_configs={"tsdb": {"recent_function_disable": True}}) as runtime:
        assert run(runtime, "return Tsdb.recent{metrics = {'x'}}")["status"] == 403


def test_retention_from_the_configuration_hides_and_drops_old_points():
    config = {"tsdb": {"default_retention": "1d", "metrics_retention": {"kept": "infinity", "short": "default"}}}
    clock = ManualClock(NOON)
    with Runtime({}, clock=clock, solution_configs=config) as runtime:
        run(runtime, "Tsdb.write{metrics = {kept = 1, short = 2}}")
        runtime.advance(2 * 86400)
        out = run(runtime, """return {Tsdb.query{metrics = {'kept', 'short'}, relative_start = '-5d', epoch = 's'},
            Tsdb.listMetrics{}}""")
        assert out[0]["values"] == [[NOON_S, 1, None]]
        run(runtime, "Tsdb.write{metrics = {other = 3}}")  # a write drops what retention no longer keeps
        assert [p["metric"] for p in runtime.services["tsdb"].model.store.points()] == ["kept", "other"]


def _statements(runtime, script):
    statements: list[str] = []
    db = runtime.state.db.raw
    db.set_trace_callback(statements.append)
    try:
        run(runtime, script)
    finally:
        db.set_trace_callback(None)
    return statements


def test_retention_after_each_write_reads_only_the_points_it_drops(runtime):
    # A write applies retention: a DELETE by time across metrics, once a stored point is old enough. Without
    # an index on the time it scanned the whole table on each write (its cost grew with the points stored).
    old = f"{NOON_S - 200 * 86400}s"  # past the default retention (3 months)
    statements = _statements(
        runtime, f"Tsdb.write{{metrics = {{temp = 1}}}}; Tsdb.write{{metrics = {{t = 0}}, ts = '{old}'}}")
    deletes = [s for s in statements if s.startswith("DELETE FROM tsdb_points")]
    assert deletes
    db = runtime.state.db.raw
    for statement in deletes:
        plan = " ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}"))
        assert plan.startswith("SEARCH tsdb_points USING") and "INDEX" in plan, plan
    assert "t" not in [p["metric"] for p in runtime.services["tsdb"].model.store.points()]


def test_a_write_with_nothing_to_drop_is_one_statement(runtime):
    # Under serve every SQLite statement hands the GIL over: a write that retention has nothing to drop for
    # is its INSERT alone (it was BEGIN, INSERT, DELETE, COMMIT).
    runtime.services["tsdb"].model.store.points()  # the oldest point is known from here on
    run(runtime, "Tsdb.write{metrics = {temp = 1}}")
    statements = _statements(runtime, "Tsdb.write{metrics = {temp = 2}}")
    assert [s.split(" ")[0] for s in statements] == ["INSERT"], statements
    several = _statements(runtime, "Tsdb.write{metrics = {temp = 3, hum = 4}}")  # two rows: one transaction
    assert [s.split(" ")[0] for s in several] == ["BEGIN", "INSERT", "INSERT", "COMMIT"], several


@pytest.mark.parametrize("how", ["timeseries", "snapshot", "sql"])
def test_retention_sees_old_points_however_they_arrived(runtime, how):
    # Tsdb knows its oldest point to skip retention's DELETE; a point stored by any other way must not
    # escape retention: Timeseries (the same table), a snapshot load, another statement on the state.
    run(runtime, "Tsdb.write{metrics = {temp = 1}}")  # the oldest point known
    old_us = (NOON_S - 200 * 86400) * 1_000_000
    if how == "timeseries":
        run(runtime, f"Timeseries.write{{query = 'old value=1 {old_us * 1000}'}}")
    elif how == "sql":
        runtime.state.db.execute("INSERT INTO tsdb_points VALUES ('old', ?, 1.0, NULL, '{}')", (old_us,))
    else:
        runtime.state.db.execute("INSERT INTO tsdb_points VALUES ('old', ?, 1.0, NULL, '{}')", (old_us,))
        runtime.services.save_snapshot("with-old", "s")
        runtime.state.db.execute("DELETE FROM tsdb_points WHERE metric = 'old'")
        run(runtime, "Tsdb.write{metrics = {temp = 2}}")  # known again: nothing old
        runtime.services.load_snapshot("with-old", "s")
    assert "old" in [p["metric"] for p in runtime.services["tsdb"].model.store.points()]
    run(runtime, "Tsdb.write{metrics = {temp = 3}}")
    assert "old" not in [p["metric"] for p in runtime.services["tsdb"].model.store.points()]


def test_export_is_a_job_with_an_export_job_event(runtime):
    out = run(runtime, """local job = Tsdb.export{query = {metrics = {'hum'}, epoch = 's'}, filename = 'h.csv'}
        return {job = job, info = Tsdb.exportJobInfo{job_id = job.job_id}, list = Tsdb.exportJobList(),
                missing = Tsdb.exportJobInfo{job_id = 'nope'}}""")
    job_id = out["job"]["job_id"]
    assert out["info"]["status"] == "completed" and out["info"]["filename"] == "h.csv"
    assert out["list"]["jobs"] == [out["info"]] and out["missing"]["status"] == 404
    assert runtime.platform.events == [{"service": "tsdb", "event": "exportJob", "payload": out["info"]}]
    assert runtime.services["tsdb"].model.export_content(job_id) == f"time,hum\n{NOON_S - 3600},50\n"


def test_points_survive_a_restart_and_reset_restores_the_seed(tmp_path):
    path = tmp_path / "state.sqlite"
    config = {"services": {"tsdb": {"seed": [{"metrics": {"seeded": 1}, "ts": f"{NOON_S}s"}]}}}
    with Runtime(config, state=State(path), clock=ManualClock(NOON)) as runtime:
        run(runtime, "Tsdb.write{metrics = {kept = 7}}")
    with Runtime(config, state=State(path), clock=ManualClock(NOON)) as runtime:
        assert run(runtime, "return Tsdb.listMetrics{}.metrics") == ["kept", "seeded"]
        runtime.reset()
        assert run(runtime, "return Tsdb.listMetrics{}.metrics") == ["seeded"]


# -- Timeseries (legacy) ---------------------------------------------------------------------------
def test_timeseries_line_protocol_and_influxql_on_the_same_store(runtime):
    ns = (NOON_S - 600) * 1_000_000_000
    out = run(runtime, f"""
        local w = Timeseries.write{{query = 'temp,sn=c value=30,unit="C" {ns}\\ntemp,sn=c value=31'}}
        local w16 = Timeseries.write{{body = {{query = 'pressure value=1.5'}}}}
        return {{w = w, w16 = w16,
          q = Timeseries.query{{q = "SELECT value FROM temp WHERE sn = 'c' AND time > now() - 1h", epoch = 's'}},
          star = Timeseries.query{{q = "SELECT * FROM temp WHERE sn = 'c'"}},
          g = Timeseries.query{{q = "SELECT mean(value), count(value) FROM temp WHERE time >= now() - 1h " ..
                                   "GROUP BY time(30m) fill(none) LIMIT 5", epoch = 's'}},
          two = Timeseries.query{{q = "SELECT value FROM pressure; SELECT value FROM nothing"}},
          tsdb = Tsdb.query{{metrics = {{'temp.unit'}}}}}}""")
    assert out["w"] == NO_CONTENT and out["w16"] == NO_CONTENT
    assert out["q"] == {"results": [{"series": [{"name": "temp", "columns": ["time", "value"],
                                                 "values": [[NOON_S - 600, 30], [NOON_S, 31]]}]}]}
    assert out["star"]["results"][0]["series"][0]["columns"] == ["time", "value", "unit"]
    assert out["star"]["results"][0]["series"][0]["values"][0] == ["2024-01-01T11:50:00Z", 30, "C"]
    assert out["g"]["results"][0]["series"][0]["values"] == [[NOON_S - 3600, 20, 1], [NOON_S - 1800, 26, 2],
                                                             [NOON_S, 27, 3]]
    assert out["two"]["results"][1] == {} and out["two"]["results"][0]["series"][0]["values"][0][1] == 1.5
    assert out["tsdb"]["values"] == [["2024-01-01T11:50:00Z", "C"]]


@pytest.mark.parametrize("q, unsupported", [
    ("SHOW SERIES", "SHOW statements"),
    ("SELECT value FROM temp WHERE sn = 'a' OR sn = 'b'", "OR in WHERE"),
    ("SELECT derivative(value) FROM temp", "function derivative()"),
    ("SELECT value FROM /te.*/", "measurement '/te.*/'"),
    ("SELECT mean(value) FROM temp WHERE time > now() - 1h GROUP BY time(1h), time(2h)",
     "GROUP BY time(1h), time(2h)"),
    ("SELECT value FROM temp GROUP BY /s.*/", "GROUP BY /s.*/"),
    ("SELECT value FROM temp WHERE sn != 'a'", "condition \"sn != 'a'\""),
])
def test_timeseries_outside_the_subset_is_a_clear_error(runtime, q, unsupported):
    out = run(runtime, f"return Timeseries.query{{q = [[{q}]]}}")
    assert out["status"] == 400 and "unsupported InfluxQL" in out["error"] and unsupported in out["error"]


def test_timeseries_group_by_tag_and_the_common_show_statements(runtime):
    ns = (NOON_S - 600) * 1_000_000_000
    out = run(runtime, f"""
        Timeseries.write{{query = 'room,sn=a,site=x value=10 {ns}\\nroom,sn=b,site=x value=20 {ns}\\n' ..
                                  'room,sn=a,site=x value=30\\ngauge value=50'}}
        return {{
          by_sn = Timeseries.query{{q = "SELECT mean(value) FROM room WHERE time >= now() - 1h " ..
                                       "GROUP BY time(1h), sn fill(none)", epoch = 's'}},
          raw = Timeseries.query{{q = "SELECT value FROM room WHERE site = 'x' GROUP BY sn", epoch = 's'}},
          m = Timeseries.query{{q = "SHOW MEASUREMENTS"}},
          keys = Timeseries.query{{q = "SHOW TAG KEYS FROM room"}},
          all_keys = Timeseries.query{{q = "SHOW TAG KEYS"}}}}""")
    series = out["by_sn"]["results"][0]["series"]
    assert [(s["tags"], s["values"]) for s in series] == [({"sn": "a"}, [[NOON_S - 3600, 10], [NOON_S, 30]]),
                                                           ({"sn": "b"}, [[NOON_S - 3600, 20]])]
    raw = out["raw"]["results"][0]["series"]
    assert [(s["name"], s["tags"], s["values"]) for s in raw] == [
        ("room", {"sn": "a"}, [[NOON_S - 600, 10], [NOON_S, 30]]), ("room", {"sn": "b"}, [[NOON_S - 600, 20]])]
    listed = out["m"]["results"][0]["series"][0]
    assert listed["name"] == "measurements" and listed["columns"] == ["name"]
    assert {"room", "gauge", "temp", "hum"} <= {v[0] for v in listed["values"]}  # with the fixture's Tsdb writes
    assert "temp.state" not in {v[0] for v in listed["values"]}  # a field, not a measurement
    assert out["keys"]["results"][0]["series"] == [{"name": "room", "columns": ["tagKey"],
                                                    "values": [["site"], ["sn"]]}]
    named = [s["name"] for s in out["all_keys"]["results"][0]["series"]]
    assert "room" in named and "gauge" not in named  # gauge's points have no tags


def test_timeseries_bad_line_protocol_names_the_line(runtime):
    out = run(runtime, "return Timeseries.write{query = 'ok value=1\\nbroken'}")
    assert out["status"] == 400 and out["error"].startswith("Timeseries.write: line 2:")
