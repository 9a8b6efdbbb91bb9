"""*_test.lua files: each global test_* function is a test with Murano's globals and assertion helpers."""

from __future__ import annotations

import pytest
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

pytest_plugins = ["pytester"]


def test_each_global_test_function_is_an_item_in_file_order(pytester):
    pytester.makefile(".lua", sms_test="""
        function test_zebra() end
        local function test_hidden() error("locals are not tests") end
        function helper() end
        test_alpha = function() end
    """)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*sms_test.lua::test_zebra PASSED*", "*sms_test.lua::test_alpha PASSED*"])


def test_failing_assertion_reports_the_test_file_and_line(pytester):
    pytester.makefile(".lua", sms_test="""
        function test_passes()
          assert_equal(1 + 1, 2)
        end

        function test_fails()
          local status = "queued"
          assert_equal(status, "delivered", "message status")
        end
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ['sms_test.lua:7: message status: assert_equal failed: expected "delivered", got "queued"']
    )
    assert "Traceback" not in result.stdout.str()


def test_assertion_in_a_helper_reports_the_helper_line(pytester):
    pytester.makefile(".lua", sms_test="""
        local function check(value)
          assert_true(value)
        end
        function test_it() check(false) end
    """)
    pytester.runpytest().stdout.fnmatch_lines(["sms_test.lua:2: assert_true failed: got false"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("assert_equal({a = 1, b = {2}}, {a = 1, b = {3}})",
         "assert_equal failed: expected {a=1, b={3}}, got {a=1, b={2}}"),
        ("assert_not_equal({1}, {1})", "assert_not_equal failed: got the value it must not be: {1}"),
        ("assert_false(1)", "assert_false failed: got 1"),
        ("assert_nil('x')", 'assert_nil failed: got "x"'),
        ("assert_not_nil(nil)", "assert_not_nil failed: got nil"),
        ('assert_match("abc", "^b")', 'assert_match failed: "abc" does not match pattern "^b"'),
        ("assert_table_contains({a = {b = 1}}, {a = {b = 2}})",
         "assert_table_contains failed: at a.b: expected 2, got 1"),
        ('assert_ok({error = "bad To", status = 400, type = "QueryError"})',
         "assert_ok failed: service error 400: bad To"),
        ("assert_error(function() end)", "assert_error failed: the function did not raise an error"),
        ('assert_error(function() error("boom") end, "bang")',
         "assert_error failed: error *boom* does not match *bang*"),
        ('fail("not yet")', "fail: not yet"),
    ],
)
def test_each_helper_fails_with_a_readable_message_at_the_calling_line(pytester, body, message):
    fails_at_line_2(pytester, "h_test", body, message)


def fails_at_line_2(pytester: pytest.Pytester, file: str, body: str, message: str) -> pytest.RunResult:
    """A one-test Lua file whose line 2 is `body` fails with `message` at that line."""
    pytester.makefile(".lua", **{file: f"function test_it()\n  {body}\nend\n"})
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"{file}.lua:2: {message}"])
    return result


def test_passing_helpers_return_quietly(pytester):
    pytester.makefile(".lua", h_test="""
        function test_all_pass()
          assert_equal({a = 1, b = {"x"}}, {b = {"x"}, a = 1})
          assert_table_contains({a = 1, b = {c = 2, d = 3}}, {b = {c = 2}})
          assert_match("SM123", "^SM%d+$")
          assert_nil(nil)
          local err = assert_error(function() error("boom") end, "boom")
          assert_match(err, "boom")
          local value = assert_ok({sid = "SM1"})
          assert_equal(value.sid, "SM1")
        end
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_twilio_calls_reach_a_fresh_emulator_in_every_test(pytester):
    send = 'assert_ok(Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "hi"}))'
    pytester.makefile(".lua", t_test=f"""
        function test_first()
          {send}
          assert_equal(#Twilio.listMessage({{}}).messages, 1)
        end
        function test_second()
          {send}
          assert_equal(#Twilio.listMessage({{}}).messages, 1)
        end
    """)
    pytester.runpytest().assert_outcomes(passed=2)


def test_murano_globals_are_there(pytester):
    pytester.makefile(".lua", g_test="""
        function test_globals()
          assert_equal(from_json(to_json({a = 1})).a, 1)
          assert_equal(type(request), "table")
          assert_equal(response.code, 200)
          assert_nil(io)
          print("visible in the report")
          fail("show logs")
        end
    """)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["g_test.lua:7: fail: show logs", "logs:", "  visible in the report"])


def test_setup_and_teardown_run_around_each_test(pytester):
    pytester.makefile(".lua", s_test="""
        local events = {}
        function setup() events[#events + 1] = "setup" end
        function teardown() print("teardown after " .. table.concat(events, ",")) end
        function test_sees_setup()
          events[#events + 1] = "test"
          assert_equal(events, {"setup", "test"})
          fail("to show the teardown log")
        end
    """)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["s_test.lua:7: fail: to show the teardown log", "  teardown after setup,test"])


def test_require_loads_solution_modules_beside_the_test(pytester):
    pytester.mkdir("modules")
    module = "local M = {}\nfunction M.double(x) return 2 * x end\nreturn M\n"
    (pytester.path / "modules" / "util.lua").write_text(module)
    (pytester.path / "modules" / "util_test.lua").write_text(
        'local util = require("modules.util")\nfunction test_double() assert_equal(util.double(21), 42) end\n'
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_file_that_does_not_load_is_one_collection_error(pytester):
    pytester.makefile(".lua", bad_test="function test_x(\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["bad_test.lua: cannot load the test file: bad_test.lua:*"])
    assert "Traceback" not in result.stdout.str()


def test_lua_runtime_errors_name_the_line(pytester):
    pytester.makefile(".lua", e_test="function test_x()\n  local t = nil\n  return t.field\nend\n")
    pytester.runpytest().stdout.fnmatch_lines(["e_test.lua:3: attempt to index*"])


def test_limits_apply_to_lua_tests(pytester):
    pytester.makefile(".lua", l_test="function test_forever() while true do end end\n")
    pytester.runpytest().stdout.fnmatch_lines(["*instruction limit exceeded*"])


def test_base_config_option_applies_to_lua_tests(pytester):
    pytester.makefile(".yaml", other="env:\n  WHO: from-config\n")
    pytester.makefile(".lua", c_test='function test_env() assert_equal(os.getenv("WHO"), "from-config") end\n')
    pytester.runpytest().assert_outcomes(failed=1)
    pytester.runpytest("--murano-config", "other.yaml").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nmurano_config = other.yaml\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_nearest_config_yaml_is_read_and_an_explicit_one_wins(pytester):
    pytester.makefile(".yaml", config="env:\n  WHO: from-config\n", other="env:\n  WHO: other\n")
    pytester.mkdir("sub")
    (pytester.path / "sub" / "c_test.lua").write_text(
        'function test_env() assert_equal(os.getenv("WHO"), "from-config") end\n')
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest("--murano-config", "other.yaml").assert_outcomes(failed=1)


def test_a_live_config_found_beside_the_tests_is_refused_without_murano_live(pytester):
    pytester.makefile(".yaml", config="services:\n  twilio:\n    backend: live\n")
    pytester.makepyfile(test_x="def test_x(murano):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*backend is live*--murano-live*"])
    # With --murano-live the config is taken as it is (and then wants real credentials).
    pytester.runpytest("--murano-live").stdout.fnmatch_lines(["*AccountSid is missing*"])


def test_a_missing_base_config_stops_the_session_with_one_line(pytester):
    pytester.makefile(".lua", c_test="function test_x() end\n")
    result = pytester.runpytest("--murano-config", "nope.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*nope.yaml: cannot read config file*"])


SEND = 'Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "hi"})'


def test_fail_next_from_lua_fails_only_the_next_request(pytester):
    pytester.makefile(".lua", f_test=f"""
        function test_retry_path()
          murano_test.twilio.fail_next(503, 20503)
          local failed = {SEND}
          assert_equal(failed.status, 503)
          assert_match(failed.error, "20503")
          assert_ok({SEND})
          assert_equal(#murano_test.twilio.messages(), 1)
        end
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_advance_from_lua_moves_the_message_lifecycle(pytester):
    pytester.makefile(".lua", a_test=f"""
        function test_delivery()
          local sid = assert_ok({SEND}).sid
          assert_equal(murano_test.twilio.messages()[1].status, "queued")
          murano_test.twilio.advance(3)
          assert_equal(Twilio.getMessage({{MessageSid = sid}}).status, "delivered")
        end
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_receive_message_calls_and_reset_from_lua(pytester):
    pytester.makefile(".lua", r_test="""
        function test_inbound_then_reset()
          local inbound = murano_test.twilio.receive_message({
            To = "+15005550006", From = "+15557654321", Body = "hello there"})
          assert_equal(inbound.direction, "inbound")
          assert_equal(Twilio.listMessage({}).messages[1].body, "hello there")
          assert_ok(Twilio.createCall({To = "+15557654321", From = "+15005550006", Url = "http://127.0.0.1:9/twiml"}))
          assert_equal(#murano_test.twilio.calls(), 1)
          murano_test.twilio.reset()
          assert_equal(#murano_test.twilio.messages(), 0)
          assert_equal(#murano_test.twilio.calls(), 0)
        end
    """)
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(("call", "message"), [
    ('murano_test.twilio.fail_next("x")', "murano_test.twilio.fail_next: status must be a whole number, got 'x'"),
    ("murano_test.twilio.fail_next(200)",
     "murano_test.twilio.fail_next: status must be an HTTP error status (400-599), got 200"),
    ("murano_test.twilio.advance(-1)", "murano_test.twilio.advance: seconds must be a number of seconds >= 0*"),
    ('murano_test.twilio.receive_message({To = "+15005550006"})', "*receive_message: needs From, Body (text)*"),
])
def test_a_misused_control_fails_at_the_test_line(pytester, call, message):
    result = fails_at_line_2(pytester, "m_test", call, message)
    assert "Traceback" not in result.stdout.str()


def test_controls_are_not_service_calls_of_the_test(pytester):
    pytester.makefile(".lua", l_test=f"""
        function test_log()
          murano_test.twilio.fail_next(500)
          {SEND}
          assert_nil(_murano_test)
          fail("show the calls")
        end
    """)
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["service calls:", '  twilio.postMessage(*) -> 500 error:*'])
    assert "_murano_test" not in result.stdout.str()


def test_scripts_outside_lua_tests_have_no_controls(pytester):
    pytester.makepyfile(test_script="""
        def test_plain_script(murano):
            result = murano.run("return {type(_murano_test), type(murano_test)}")
            assert result.response.message == ["nil", "nil"]
    """)
    pytester.makefile(".murano.yaml", **{"test_case": """
        - name: no controls
          source: return type(_murano_test)
          expect: {message: "nil"}
    """})
    pytester.runpytest().assert_outcomes(passed=2)
