"""pytest tests of the example solution with murano-sim's fixtures `murano` and `twilio`."""

from __future__ import annotations

from pathlib import Path

import pytest

SOLUTION = Path(__file__).resolve().parent.parent
ALERT = SOLUTION / "endpoints" / "alert.lua"
SMS = SOLUTION / "endpoints" / "sms.lua"
ONCALL = "+15557654321"


@pytest.fixture
def murano_config():
    """Every test in this file runs on the solution's config.yaml (markers can still change it)."""
    return SOLUTION / "config.yaml"


def post_alert(murano, **body):
    return murano.run_file(ALERT, {"method": "POST", "body": body})


def test_alert_goes_to_oncall_as_one_queued_message(murano, twilio):
    result = post_alert(murano, device="pump-7", severity="critical", message="pressure low")
    assert result.response.code == 201, result.error
    assert [(m["to"], m["body"], m["status"]) for m in twilio.messages] == [
        (ONCALL, "CRIT pump-7: pressure low", "queued")
    ]


def test_alert_is_delivered_after_three_seconds(murano, twilio):
    post_alert(murano, device="pump-7")
    twilio.advance(2)
    assert twilio.messages[0]["status"] == "sent"
    twilio.advance(1)
    assert twilio.messages[0]["status"] == "delivered"


@pytest.mark.murano(config={"services": {"twilio": {"retries": 0}}})  # merged onto config.yaml
def test_twilio_rate_limit_becomes_502(murano, twilio):
    twilio.fail_next(429, code=20429)
    result = post_alert(murano, device="pump-7")
    assert result.response.code == 502
    assert result.response.message["status"] == 429
    assert twilio.messages == []


@pytest.mark.murano(env={"ALERT_FROM": "+15005550009"})
def test_marker_env_overrides_the_config_file(murano, twilio):
    result = post_alert(murano, device="pump-7")
    assert result.response.code == 502  # +15005550009 is not among emulator.owned_numbers


def test_oncall_acknowledges_by_sms(murano, twilio):
    inbound = twilio.receive_message(to="+15005550006", from_=ONCALL, body="ack")
    result = murano.run_file(SMS, {"method": "POST", "body": {"From": inbound["from"], "Body": inbound["body"]}})
    assert result.response.message == "<Response><Message>Alert acknowledged.</Message></Response>"
    assert result.response.headers["content-type"] == "text/xml"
    assert twilio.messages[-1]["direction"] == "inbound"
