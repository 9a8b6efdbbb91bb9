"""Service gaps of issue 22: Twilio answering-machine detection through Murano's createCall arguments."""

from __future__ import annotations

from emulator_support import WebhookReceiver

from murano_sim import Runtime

MACHINE = "+15551230005"
CONFIG = {"emulator": {"numbers": {MACHINE: {"answered_by": "machine_start"}}}}


def test_if_machine_continue_turns_on_detection_and_the_twiml_request_carries_answered_by() -> None:
    receiver = WebhookReceiver()
    try:
        with Runtime(CONFIG) as rt:
            call = f"""return Twilio.createCall{{To = "{MACHINE}", From = "+15005550006",
                Url = "{receiver.url}/answer", IfMachine = %s}}"""
            amd = rt.run(call % '"Continue"').response.message
            plain = rt.run(call % "nil").response.message
            rt.advance(30)
            fetched = [rt.run(f'return Twilio.getCall{{CallSid = "{c["sid"]}"}}').response.message.get("answered_by")
                       for c in (amd, plain)]
    finally:
        receiver.close()
    assert fetched == ["machine_start", None]  # without IfMachine no detection runs
    forms = [r["form"] for r in receiver.requests if r["path"] == "/answer"]
    assert [f.get("CallSid") for f in forms] == [amd["sid"], plain["sid"]]
    assert forms[0]["AnsweredBy"] == "machine_start" and "AnsweredBy" not in forms[1]
