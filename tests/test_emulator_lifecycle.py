"""Lifecycles driven by a ManualClock, with status callbacks, TwiML fetches and inbound SMS
delivered over real HTTP to a loopback receiver and checked with the SDK's RequestValidator."""

from __future__ import annotations

import socket

import pytest
import requests
from emulator_support import WebhookReceiver
from twilio.request_validator import RequestValidator

from murano_sim.errors import UsageError
from murano_sim.services.twilio import Emulator, ManualClock, WSGIAdapter

BASE = "http://twilio-emulator.invalid"
FROM, TO = "+15005550006", "+15551230000"


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.fixture
def emulator():
    e = Emulator({}, clock=ManualClock())
    yield e
    e.close()


def api(emulator: Emulator) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.mount(BASE, WSGIAdapter(emulator.wsgi_app))
    session.auth = (emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"])
    return session, f"{BASE}/2010-04-01/Accounts/{emulator.primary_account_sid}"


def token_of(emulator: Emulator) -> str:
    return emulator.config.services["twilio"]["AuthToken"]


def assert_signed(emulator: Emulator, request: dict) -> None:
    validator = RequestValidator(token_of(emulator))
    url = request["url"]
    params = request["form"] if request["method"] == "POST" else {}
    assert validator.validate(url, params, request["signature"]), request


def test_message_moves_queued_sending_sent_delivered_on_the_clock(emulator):
    session, root = api(emulator)
    sid = session.post(f"{root}/Messages.json", data={"To": TO, "From": FROM, "Body": "x"}).json()["sid"]
    statuses = []
    for _ in range(4):
        statuses.append(session.get(f"{root}/Messages/{sid}.json").json()["status"])
        emulator.advance(1)
    assert statuses == ["queued", "sending", "sent", "delivered"]
    emulator.advance(60)
    assert emulator.messages()[0]["status"] == "delivered"


def test_status_callback_is_signed_and_posted_for_each_change_after_the_first(emulator, receiver):
    session, root = api(emulator)
    callback = f"{receiver.url}/status?tag=1"
    sid = session.post(f"{root}/Messages.json",
                       data={"To": TO, "From": FROM, "Body": "x", "StatusCallback": callback}).json()["sid"]
    assert receiver.requests == []
    emulator.advance(3)
    assert [r["form"]["MessageStatus"] for r in receiver.requests] == ["sending", "sent", "delivered"]
    for request in receiver.requests:
        assert request["method"] == "POST"
        assert request["form"]["MessageSid"] == request["form"]["SmsSid"] == sid
        assert request["form"]["AccountSid"] == emulator.primary_account_sid
        assert set(request["form"]) >= {"From", "To", "ApiVersion", "SmsStatus"}
        assert_signed(emulator, request)
    assert [d.ok for d in emulator.deliveries] == [True, True, True]


def test_failed_callback_delivery_is_recorded_and_not_fatal(emulator, receiver, caplog):
    session, root = api(emulator)
    receiver.statuses["/broken"] = 500
    sid = session.post(f"{root}/Messages.json", data={
        "To": TO, "From": FROM, "Body": "x", "StatusCallback": f"{receiver.url}/broken"}).json()["sid"]
    emulator.advance(3)
    assert session.get(f"{root}/Messages/{sid}.json").json()["status"] == "delivered"
    assert [d.status for d in emulator.deliveries] == [500, 500, 500]
    assert "answered HTTP 500" in caplog.text


def test_callback_to_a_non_loopback_host_is_refused_without_network(emulator, monkeypatch):
    contacted = []

    def no_network(*args, **kwargs):
        contacted.append(args)
        raise OSError("network use in a test")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    session, root = api(emulator)
    session.post(f"{root}/Messages.json",
                 data={"To": TO, "From": FROM, "Body": "x", "StatusCallback": "https://example.com/status"})
    emulator.advance(3)
    assert contacted == []
    assert len(emulator.deliveries) == 3
    assert all(not d.ok and d.status is None and d.error.startswith("refused") for d in emulator.deliveries)


def test_call_status_callbacks_follow_status_callback_event(emulator, receiver):
    session, root = api(emulator)
    data = [("To", TO), ("From", FROM), ("Url", f"{receiver.url}/twiml"), ("StatusCallback", f"{receiver.url}/cs")]
    data += [("StatusCallbackEvent", e) for e in ("initiated", "ringing", "answered", "completed")]
    sid = session.post(f"{root}/Calls.json", data=data).json()["sid"]
    emulator.advance(0)
    emulator.advance(10)
    events = [(r["path"], r["form"].get("CallStatus")) for r in receiver.requests]
    assert events == [("/cs", "initiated"), ("/cs", "ringing"), ("/twiml", "in-progress"), ("/cs", "in-progress"),
                      ("/cs", "completed")]
    completed = receiver.requests[-1]["form"]
    assert completed["CallSid"] == sid and completed["CallDuration"] == "5"
    assert [r["form"]["SequenceNumber"] for r in receiver.requests if r["path"] == "/cs"] == ["0", "1", "2", "3"]
    for request in receiver.requests:
        assert_signed(emulator, request)
    call = session.get(f"{root}/Calls/{sid}.json").json()
    assert (call["status"], call["duration"]) == ("completed", "5")


def test_call_callbacks_default_to_completed_only(emulator, receiver):
    session, root = api(emulator)
    session.post(f"{root}/Calls.json", data={"To": TO, "From": FROM, "Twiml": "<Response/>",
                                             "StatusCallback": f"{receiver.url}/cs"})
    emulator.advance(20)
    assert [r["form"]["CallStatus"] for r in receiver.requests] == ["completed"]


def test_twiml_is_fetched_with_method_when_the_call_connects(emulator, receiver):
    session, root = api(emulator)
    sid = session.post(f"{root}/Calls.json", data={"To": TO, "From": FROM, "Url": f"{receiver.url}/twiml?x=1",
                                                   "Method": "GET"}).json()["sid"]
    emulator.advance(2)
    assert receiver.requests == []
    emulator.advance(1)
    (fetch,) = receiver.requests
    assert fetch["method"] == "GET" and fetch["args"]["CallSid"] == sid and fetch["args"]["x"] == "1"
    assert_signed(emulator, fetch)
    assert session.get(f"{root}/Calls/{sid}.json").json()["status"] == "in-progress"


def test_fallback_url_is_used_when_url_fails(emulator, receiver):
    session, root = api(emulator)
    receiver.statuses["/twiml"] = 500
    sid = session.post(f"{root}/Calls.json", data={
        "To": TO, "From": FROM, "Url": f"{receiver.url}/twiml", "FallbackUrl": f"{receiver.url}/fallback",
    }).json()["sid"]
    emulator.advance(3)
    assert receiver.paths() == ["/twiml", "/fallback"]
    assert session.get(f"{root}/Calls/{sid}.json").json()["status"] == "in-progress"


def test_call_fails_when_url_and_fallback_both_fail(emulator, receiver):
    session, root = api(emulator)
    receiver.statuses.update({"/twiml": 500, "/fallback": 404})
    sid = session.post(f"{root}/Calls.json", data={
        "To": TO, "From": FROM, "Url": f"{receiver.url}/twiml", "FallbackUrl": f"{receiver.url}/fallback",
        "StatusCallback": f"{receiver.url}/cs",
    }).json()["sid"]
    emulator.advance(30)
    call = session.get(f"{root}/Calls/{sid}.json").json()
    assert (call["status"], call["duration"], call["price"]) == ("failed", "0", None)
    assert receiver.paths() == ["/twiml", "/fallback", "/cs"]
    assert receiver.requests[-1]["form"]["CallStatus"] == "failed"
    assert session.delete(f"{root}/Calls/{sid}.json").status_code == 204


def test_receive_message_stores_and_posts_a_signed_inbound_webhook(emulator, receiver):
    message = emulator.receive_message(to=FROM, from_=TO, body="STOP?", url=f"{receiver.url}/sms")
    assert (message["direction"], message["status"], message["body"]) == ("inbound", "received", "STOP?")
    (hook,) = receiver.requests
    assert hook["form"]["MessageSid"] == message["sid"] and hook["form"]["Body"] == "STOP?"
    assert {"SmsSid", "AccountSid", "From", "To", "NumMedia", "ApiVersion"} <= set(hook["form"])
    assert_signed(emulator, hook)
    assert emulator.messages()[-1]["sid"] == message["sid"]


def test_advance_needs_a_manual_clock():
    with Emulator({}) as real_time, pytest.raises(UsageError, match="ManualClock"):
        real_time.advance(1)


def test_real_clock_lifecycle_is_applied_lazily_on_each_request():
    from datetime import datetime, timedelta, timezone

    class Shifted:  # a real-time clock that can be moved forward without waiting
        offset = timedelta()

        def now(self):
            return datetime.now(timezone.utc) + self.offset

    clock = Shifted()
    with Emulator({}, clock=clock) as emulator:
        session, root = api(emulator)
        sid = session.post(f"{root}/Messages.json", data={"To": TO, "From": FROM, "Body": "x"}).json()["sid"]
        clock.offset = timedelta(seconds=10)
        assert session.get(f"{root}/Messages/{sid}.json").json()["status"] == "delivered"
