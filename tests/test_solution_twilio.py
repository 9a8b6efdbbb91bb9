"""Twilio calling back into a served solution: inbound SMS and status callbacks, signed as Twilio signs them."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from twilio.request_validator import RequestValidator

from murano_sim import Runtime, UsageError
from murano_sim.services.twilio.inbound import deliver_inbound_sms, main_inbound
from murano_sim.solution import SolutionLog, serve_solution

SOLUTIONS = Path(__file__).resolve().parent / "solutions"
TOKEN = "0123456789abcdef0123456789abcdef"
CONFIG = {"services": {"twilio": {"AuthToken": TOKEN}}}


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    with Runtime(CONFIG) as rt:
        yield rt


@pytest.fixture(scope="module")
def served(runtime):
    records: list[dict] = []
    log = SolutionLog(io.StringIO(), secrets=[TOKEN])
    log.listeners.append(records.append)
    with serve_solution(SOLUTIONS / "newer", runtime, log=log) as server:
        server.records = records
        yield server


def seen_by_endpoint(delivery) -> dict:
    assert delivery.ok, delivery.error
    return json.loads(delivery.body)


def test_emulator_inbound_sms_carries_a_signature_the_official_validator_accepts(runtime, served):
    runtime.emulator.receive_message(to="+15005550006", from_="+15551230000", body="hello",
                                     url=served.url + "/twilio/inspect")
    seen = seen_by_endpoint(runtime.emulator.deliveries[-1])
    assert seen["params"]["Body"] == "hello" and seen["params"]["From"] == "+15551230000"
    assert seen["params"]["MessageSid"].startswith("SM")
    assert RequestValidator(TOKEN).validate(seen["uri"], seen["params"], seen["signature"])
    assert not RequestValidator("another-token").validate(seen["uri"], seen["params"], seen["signature"])


def test_inbound_sms_is_stored_in_the_emulator_scripts_talk_to(runtime, served):
    message = runtime.emulator.receive_message(to="+15005550006", from_="+15550001111", body="stored",
                                               url=served.url + "/twilio/sms")
    assert any(m["sid"] == message["sid"] and m["direction"] == "inbound" for m in runtime.emulator.messages())


def test_endpoint_answers_inbound_sms_with_twiml_and_logs_it(runtime, served):
    runtime.emulator.receive_message(to="+15005550006", from_="+15551230000", body="ping",
                                     url=served.url + "/twilio/sms")
    delivery = runtime.emulator.deliveries[-1]
    assert delivery.ok and "<Message>Got: ping</Message>" in delivery.body
    record = [r for r in served.records if r["type"] == "script"][-1]
    assert record["event"] == "POST /twilio/sms" and record["script_output"][0].endswith("from +15551230000: ping")


def test_command_line_delivery_is_signed_with_the_configured_token(served):
    delivery = deliver_inbound_sms(served.url + "/twilio/inspect", to="+15005550006", from_="+15557654321",
                                   body="from the CLI", config=CONFIG)
    seen = seen_by_endpoint(delivery)
    assert seen["params"]["Body"] == "from the CLI"
    assert RequestValidator(TOKEN).validate(seen["uri"], seen["params"], seen["signature"])


def test_command_line_prints_the_outcome_and_exits_0(served, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./config.yaml: built-in defaults
    assert main_inbound(served.url + "/twilio/sms", "+15005550006", "+15551230000", "hi") == 0
    out = capsys.readouterr().out
    assert out.startswith("delivered inbound SMS SM") and "<Message>Got: hi</Message>" in out


def test_command_line_exits_1_when_the_endpoint_does_not_answer_2xx(served, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main_inbound(served.url + "/nowhere", "+15005550006", "+15551230000", "hi") == 1
    assert "not delivered: HTTP 404" in capsys.readouterr().out


@pytest.mark.parametrize(
    "url, to, fragment",
    [
        ("http://example.com/sms", "+15005550006", "host is not loopback"),
        ("ftp://127.0.0.1/sms", "+15005550006", "must start with http://"),
        ("http://127.0.0.1:1/sms", "not a number!", "--to 'not a number!'"),
    ],
)
def test_command_line_rejects_bad_input_with_one_line(url, to, fragment):
    with pytest.raises(UsageError, match=fragment):
        deliver_inbound_sms(url, to=to, from_="+15551230000", body="x", config=CONFIG)


def test_status_callbacks_of_a_message_sent_by_a_script_reach_the_solution():
    with Runtime(CONFIG) as runtime:
        records: list[dict] = []
        log = SolutionLog(io.StringIO())
        log.listeners.append(records.append)
        with serve_solution(SOLUTIONS / "newer", runtime, log=log) as server:
            # serve_solution started the one ticker: it runs the emulator's lifecycle steps too
            sent = requests.post(server.url + "/notify", json={"to": "+15551234567", "text": "hi"}, timeout=10).json()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                statuses = [d for d in runtime.emulator.deliveries if d.kind == "message-status"]
                if any(d.params.get("MessageStatus") == "delivered" for d in statuses):
                    break
                time.sleep(0.05)
    assert statuses and all(d.ok for d in statuses), [d.error for d in statuses]
    assert all(d.params["MessageSid"] == sent["sid"] for d in statuses)
    outputs = [line for r in records if r["type"] == "script" and r["event"] == "POST /twilio/status"
               for line in r["script_output"]]
    assert f"status {sent['sid']} delivered" in outputs


# -- with the pytest plugin's fixtures (manual clock: no waiting) ------------------------------
def test_twilio_fixture_delivers_a_signed_inbound_sms_to_a_served_solution(murano, twilio):
    token = murano.config.services["twilio"]["AuthToken"]
    with serve_solution(SOLUTIONS / "newer", murano, log=SolutionLog(io.StringIO())) as server:
        twilio.receive_message(to="+15005550006", from_="+15551230000", body="fixture",
                               url=server.url + "/twilio/inspect")
    seen = seen_by_endpoint(twilio.deliveries[-1])
    assert seen["params"]["Body"] == "fixture"
    assert RequestValidator(token).validate(seen["uri"], seen["params"], seen["signature"])


def test_twilio_fixture_advance_drives_status_callbacks_into_the_solution(murano, twilio):
    records: list[dict] = []
    log = SolutionLog(io.StringIO())
    log.listeners.append(records.append)
    with serve_solution(SOLUTIONS / "newer", murano, log=log) as server:
        sent = requests.post(server.url + "/notify", json={"to": "+15551234567", "text": "hi"}, timeout=10).json()
        twilio.advance(10)
    statuses = [d for d in twilio.deliveries if d.kind == "message-status"]
    assert [d.params["MessageStatus"] for d in statuses][-1] == "delivered" and all(d.ok for d in statuses)
    outputs = [line for r in records if r.get("event") == "POST /twilio/status" for line in r["script_output"]]
    assert outputs == [f"status {sent['sid']} {d.params['MessageStatus']}" for d in statuses]


SLOW_SENDER = """--#ENDPOINT POST /slow
local first = Twilio.postMessage{To = "+15551234567", From = "+15557654321", Body = "a",
                                 StatusCallback = request.body.callback}
local started = os.clock()
while os.clock() - started < 1.5 do end  -- meanwhile the first message's `sending` step comes due
local second = Twilio.postMessage{To = "+15551234567", From = "+15557654321", Body = "b"}
return {first = first.sid, second = second.sid}

--#ENDPOINT POST /status
print("status " .. request.body.MessageStatus)
return "ok"
"""


def test_a_callback_due_while_a_script_runs_is_delivered_after_it(tmp_path):
    # The ticker delivers the callback while the script holds the runtime; the script's next
    # Twilio request must not wait for that delivery (it would stall until the webhook timed out).
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "slow.lua").write_text(SLOW_SENDER)
    config = {**CONFIG, "lua": {"max_instructions": 10**10}}
    with Runtime(config) as runtime, serve_solution(tmp_path, runtime, log=SolutionLog(io.StringIO())) as server:
        reply = requests.post(server.url + "/slow", json={"callback": server.url + "/status"}, timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(d.kind == "message-status" for d in runtime.emulator.deliveries):
            time.sleep(0.05)
        deliveries = [d for d in runtime.emulator.deliveries if d.kind == "message-status"]
    assert reply.status_code == 200, reply.text
    assert deliveries and all(d.ok for d in deliveries), [d.error for d in deliveries]

