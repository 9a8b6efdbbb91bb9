"""Case files drive the phone network: outcomes, texts received first, the caller pressing keys,
and expectations on the SMS and calls sent and on a call's transcript (pytester, real Lua, the
real emulator, the solution served over loopback)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plugin_support import inner_sessions_without_unrelated_plugins  # noqa: F401 - autouse fixture

pytest_plugins = ["pytester"]

SOLUTION = Path(__file__).resolve().parent / "solutions" / "case-phone"


@pytest.fixture
def app(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copytree(SOLUTION, pytester.path / "app")
    return pytester


def run_cases(pytester: pytest.Pytester, text: str) -> pytest.RunResult:
    pytester.makefile(".murano.yaml", test_phone=text)
    return pytester.runpytest("-v", "-p", "no:randomly")


def test_undelivered_sms_and_busy_lines_from_yaml(app):
    result = run_cases(app, """
solution: app
cases:
  - name: an undelivered alert
    twilio: {outcomes: {"+15551230001": {sms: undelivered, error_code: 30003}}}
    request: {method: POST, path: /alert, json: {to: "+15551230001", text: "door open"}}
    advance: 10
    expect:
      code: 200
      sms: [{to: "+15551230001", contains: door, status: undelivered}]
  - name: a busy line
    twilio: {outcomes: {"+15551230002": {call: busy}}}
    request: {method: POST, path: /call, json: {to: "+15551230002"}}
    advance: 10
    expect: {phone_calls: [{to: "+15551230002", status: busy}], sms: []}
  - name: an answering machine
    twilio: {outcomes: {"+15551230003": {answered_by: machine_start}}}
    request: {method: POST, path: /call, json: {to: "+15551230003", detect: Enable}}
    advance: 3
    expect: {phone_calls: [{to: "+15551230003"}]}
  - name: expecting delivered when it was not fails
    twilio: {outcomes: {"+15551230001": {sms: undelivered, error_code: 30003}}}
    request: {method: POST, path: /alert, json: {to: "+15551230001", text: "door open"}}
    advance: 10
    expect: {sms: [{to: "+15551230001", status: delivered}]}
  - name: an outcome no request used fails
    twilio: {outcomes: {"+15551239999": {call: busy}}}
    request: {method: POST, path: /alert, json: {to: "+15551230001", text: "hi"}}
    expect: {sms: [{to: "+15551230001"}]}
  - name: an sms nobody expected fails
    request: {method: POST, path: /alert, json: {to: "+15551230001", text: "surprise"}}
    expect: {sms: []}
""")
    result.assert_outcomes(passed=3, failed=3)
    out = result.stdout.str()
    assert "expected an SMS with to='+15551230001', status='delivered'; sent instead:" in out
    assert "(undelivered) 'door open'" in out
    assert "outcome for +15551239999" in out and "never used" in out
    assert "sms: sent but not expected:" in out and "'surprise'" in out


def test_an_ivr_menu_press_1_and_press_2_from_yaml(app):
    result = run_cases(app, """
solution: app
request: {method: POST, path: /call, json: {to: "+15551230000"}}
cases:
  - name: press 1 confirms
    advance: 3                                  # the call rings, is answered, fetches the menu
    twilio: {caller: [{call: last, press: "1"}]}
    expect:
      keystore: {answer: confirmed}
      phone_calls:
        - to: "+15551230000"
          said: ["Press 1 to confirm", "Confirmed."]
          transcript: [{verb: Gather, digits: "1"}, {verb: Say, text: Confirmed.}]
  - name: press 2 cancels, then the line is hung up
    advance: 3
    twilio:
      caller:
        - {call: "+15551230000", press: "2"}
        - {advance: 1}
        - {call: last, hangup: true}
    expect:
      keystore: {answer: cancelled}
      phone_calls: [{to: "+15551230000", status: completed, said: Cancelled.}]
  - name: the wrong transcript fails with the real one
    advance: 3
    twilio: {caller: [{call: last, press: "2"}]}
    expect: {phone_calls: [{transcript: [{verb: Gather, digits: "1"}]}]}
""")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "transcript: these entries do not appear in this order" in out and '"digits": "2"' in out


def test_opt_outs_from_yaml(app):
    result = run_cases(app, """
solution: app
cases:
  - name: a STOP first, then a send is refused
    twilio: {receive: [{from: "+15551230000", to: "+15005550006", body: STOP}]}
    request: {method: POST, path: /alert, json: {to: "+15551230000", text: "promo"}}
    expect:
      code: 409
      keystore: {"refused:+15551230000": "21610"}
      sms: [{to: "+15551230000", contains: unsubscribed}]
""")
    result.assert_outcomes(passed=1)


def test_script_cases_and_fail_next_use_the_same_control(pytester):
    pytester.makefile(".lua", send="""
local sent = Twilio.postMessage({To = "+15551230001", From = "+15005550006", Body = "hello"})
return {status = sent.status}
""")
    result = run_cases(pytester, """
cases:
  - name: a fault is met
    script: send.lua
    fail_next: {status: 503}
    expect: {message: {status: 503}, sms: []}
  - name: an unused fault fails
    source: return 1
    fail_next: {status: 503}
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*1 fail_next fault(s) never used*"])


@pytest.mark.parametrize("section,message", [
    ("twilio: {outcome: {}}", "twilio: unknown key 'outcome' (known: outcomes, receive, caller)"),
    ("twilio: {caller: [{call: last}]}", "twilio.caller[0]: give one of press, speak or hangup"),
    ("twilio: {caller: [{press: '1', speak: 'x'}]}", "twilio.caller[0]: give one of press"),
    ("twilio: {receive: [{from: '+1', body: STOP}]}", "twilio.receive[0] needs `from`, `to` and `body`"),
    ("expect: {sms: [{too: '+1'}]}", "expect.sms[0]: unknown key 'too' (known: to, contains, status)"),
    ("expect: {phone_calls: {to: '+1'}}", "expect.phone_calls must be a list"),
])
def test_a_malformed_phone_section_is_one_collection_error(pytester, section, message):
    result = run_cases(pytester, f"cases:\n  - name: bad\n    source: return 1\n    {section}\n")
    out = result.stdout.str()
    assert f"test_phone.murano.yaml:2: case 'bad': {message}" in out and "Traceback" not in out
