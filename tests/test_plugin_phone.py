"""Phone-style assertions and controls of the `twilio` fixture, in inner pytest sessions: outcomes
a solution's Lua meets, IVR menus, opt-outs, expect_sms/expect_call, strict(), and teardown
failures for faults and outcomes no request used."""

from __future__ import annotations

from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

pytest_plugins = ["pytester"]

HELPERS = '''
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SEND = """
return Twilio.postMessage({To = request.body.to, From = "+15005550006", Body = request.body.text})
"""
CALL = """
return Twilio.createCall({To = request.body.to, From = "+15005550006", Url = request.body.url})
"""

@pytest.fixture
def twiml():
    """A loopback server answering the TwiML documents set in its dict, by path."""
    documents = {}

    @Request.application
    def app(request):
        return Response(documents.get(request.path, "<Response/>"), content_type="text/xml")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    documents["url"] = f"http://127.0.0.1:{server.port}"
    yield documents
    server.shutdown()
'''


def test_a_solution_sees_undelivered_sms_and_busy_lines(pytester):
    pytester.makepyfile(HELPERS + '''
def test_undelivered(murano, twilio):
    twilio.outcome("+15551230001", sms="undelivered", error_code=30006)
    sid = murano.run(SEND, {"body": {"to": "+15551230001", "text": "alert"}}).response.message["sid"]
    twilio.advance(10)
    got = murano.run("return Twilio.getMessage({MessageSid = request.body.sid})",
                     {"body": {"sid": sid}}).response.message
    assert (got["status"], got["error_code"]) == ("undelivered", 30006)
    twilio.expect_sms(to="+15551230001", contains="alert", status="undelivered")

def test_busy(murano, twilio, twiml):
    twilio.outcome("+15551230002", call="busy")
    murano.run(CALL, {"body": {"to": "+15551230002", "url": twiml["url"] + "/t"}})
    twilio.advance(10)
    assert twilio.expect_call(to="+15551230002").status == "busy"
''')
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_ivr_press_1_press_2_through_the_fixture(pytester):
    pytester.makepyfile(HELPERS + '''
MENU = ('<Response><Gather numDigits="1" timeout="8"><Say>Press 1 to confirm, 2 to cancel.</Say></Gather>'
        '<Say>No answer.</Say></Response>')

@pytest.mark.parametrize("key", ["1", "2"])
def test_menu(murano, twilio, twiml, key):
    twiml["/menu"] = MENU
    murano.run(CALL, {"body": {"to": "+15551230000", "url": twiml["url"] + "/menu"}})
    twilio.advance(3)
    call = twilio.expect_call(to="+15551230000")
    assert call.said() == ["Press 1 to confirm, 2 to cancel."]
    call.press(key)
    assert call.transcript[1] == {"verb": "Gather", "text": "", "digits": key, "action": twiml["url"] + "/menu"}
    twilio.advance(10)
    assert call.status == "completed"
''')
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


def test_opt_out_in_a_test(pytester):
    pytester.makepyfile(HELPERS + '''
def test_stop(murano, twilio):
    twilio.receive_message(to="+15005550006", from_="+15551230000", body="STOP")
    result = murano.run(SEND, {"body": {"to": "+15551230000", "text": "promo"}})
    assert "21610" in result.response.message["error"]
    twilio.expect_sms(to="+15551230000", contains="unsubscribed")
''')
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)


def test_expect_sms_failure_says_what_was_sent_instead(pytester):
    pytester.makepyfile(HELPERS + '''
def test_wrong(murano, twilio):
    murano.run(SEND, {"body": {"to": "+15551230000", "text": "the door is open"}})
    twilio.expect_sms(to="+15551239999", contains="door")
''')
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected an SMS with to='+15551239999', contains='door'; sent instead:*",
                                 "*to +15551230000 from +15005550006 at *'the door is open'*"])


def test_unused_fault_and_outcome_and_strict_fail_at_teardown(pytester):
    pytester.makepyfile(HELPERS + '''
def test_unused_fault(twilio):
    twilio.fail_next(503)

def test_unused_outcome(twilio):
    twilio.outcome("+15551230001", call="busy")

def test_strict(murano, twilio):
    twilio.strict()
    murano.run(SEND, {"body": {"to": "+15551230000", "text": "one"}})
    murano.run(SEND, {"body": {"to": "+15551230001", "text": "two"}})
    twilio.expect_sms(to="+15551230000")

def test_config_outcomes_never_count(twilio):
    pass
''')
    pytester.makefile(".yaml", config="emulator:\n  numbers:\n    '+15551230005': {call: busy}\n")
    result = pytester.runpytest("-p", "no:randomly", "-o", "murano_config=config.yaml")
    result.assert_outcomes(passed=4, errors=3)
    result.stdout.fnmatch_lines(["*1 fail_next fault(s) never used*", "*outcome for +15551230001 (call=busy) never*",
                                 "*strict: sent but never expected:*", "*SM to +15551230001 'two'*"])


def test_lua_tests_reach_every_service_control_by_alias_and_action(pytester):
    send = 'Twilio.postMessage({To = "+15551234567", From = "+15005550006", Body = "hi"})'
    pytester.makefile(".lua", c_test=f"""
        function test_generic_controls()
          local sid = assert_ok({send}).sid
          local twilio = murano_test.services.twilio
          assert_equal(#twilio.messages(), 1)
          local moved = twilio.advance({{seconds = 3}})
          assert_match(moved.now, "^%d%d%d%d%-")
          assert_equal(Twilio.getMessage({{MessageSid = sid}}).status, "delivered")
          assert_error(function() twilio.inbound_call({{From = "+15551234567", To = "+15005550006"}}) end,
                       "murano_test.twilio.inbound_call: inbound call: %+15005550006 has no voice_url")
          assert_error(function() twilio.teleport() end, "murano_test.twilio.teleport: no such control teleport")
          assert_error(function() twilio.advance({{seconds = 1, minutes = 1}}) end,
                       "murano_test.twilio.advance: .*argument 'minutes'")
          assert_error(function() murano_test.services.fax.send() end, "murano_test.fax.send: no service fax")
          twilio.reset()
          assert_equal(#murano_test.twilio.messages(), 0)
        end
    """)
    pytester.runpytest().assert_outcomes(passed=1)
