"""The emulator as a phone network, driven with the official SDK over real HTTP: per-number
outcomes, failed deliveries, busy lines, answering machines, IVR menus, test credentials,
opt-outs, and the wire gaps (updates, IncomingPhoneNumbers, Accounts, paging, encoding)."""

from __future__ import annotations

import contextlib

import pytest
import requests
from emulator_support import Recorder, SpecValidator, WebhookReceiver
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from murano_sim.errors import ConfigError, UsageError
from murano_sim.services.twilio import Emulator, ManualClock, serve
from murano_sim.services.twilio.models import segments_for

FROM, TO = "+15005550006", "+15551230000"
BAD, BUSY, NOANSWER, FAILED, MACHINE = "+15551230001", "+15551230002", "+15551230003", "+15551230004", "+15551230005"
TEST_SID, TEST_TOKEN = "AC" + "7" * 32, "test-token"
IVR = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Gather numDigits="1" action="/menu" timeout="10"><Say>Press 1 for sales, 2 for support.</Say></Gather>
  <Say>We did not get that.</Say>
</Response>"""
MENU = {
    "1": "<Response><Say>Connecting you to sales.</Say><Hangup/></Response>",
    "2": "<Response><Say>Support is closed.</Say><Redirect>/goodbye</Redirect></Response>",
}


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    return SpecValidator()


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


def make_env(config: dict, validator: SpecValidator):
    emulator = Emulator(config, clock=ManualClock())
    recorder = Recorder(emulator.wsgi_app)
    emulator.wsgi_app = recorder
    server = serve(emulator)

    class Env:
        pass

    env = Env()
    env.emulator, env.url, env.server, env.recorder = emulator, server.url, server, recorder
    env.sid, env.token = emulator.primary_account_sid, emulator.config.services["twilio"]["AuthToken"]
    env.client = Client(env.sid, env.token)
    env.client.api.base_url = server.url
    return env


@pytest.fixture
def net(validator):
    numbers = {
        BAD: {"sms": "undelivered", "error_code": 30005},
        BUSY: {"call": "busy"}, NOANSWER: {"call": "no-answer"}, FAILED: {"call": "failed", "sms": "failed"},
        MACHINE: {"answered_by": "machine_start"},
    }
    env = make_env({"emulator": {"numbers": numbers, "accounts": [
        {"AccountSid": TEST_SID, "AuthToken": TEST_TOKEN, "test": True}]}}, validator)
    yield env
    env.server.shutdown()
    env.emulator.close()
    env.recorder.validate_all(validator)


@contextlib.contextmanager
def raises(status: int, code: int):
    with pytest.raises(TwilioRestException) as info:
        yield info
    assert (info.value.status, info.value.code) == (status, code), info.value


# --- outcomes: messages ---------------------------------------------------------------------


def test_undelivered_message_carries_error_code_and_its_callback_says_so(net, receiver):
    m = net.client.messages.create(to=BAD, from_=FROM, body="hi", status_callback=receiver.url + "/cb")
    assert m.error_code is None and m.status == "queued"
    net.emulator.advance(10)
    m = net.client.messages(m.sid).fetch()
    assert (m.status, m.error_code, m.error_message) == ("undelivered", 30005, "Unknown destination handset")
    statuses = [(r["form"]["MessageStatus"], r["form"].get("ErrorCode")) for r in receiver.requests]
    assert statuses == [("sending", None), ("sent", None), ("undelivered", "30005")]
    assert RequestValidator(net.token).validate(receiver.requests[-1]["url"], receiver.requests[-1]["form"],
                                                receiver.requests[-1]["signature"])


def test_failed_message_never_reaches_sent_and_gets_the_default_code(net):
    m = net.client.messages.create(to=FAILED, from_=FROM, body="hi")
    net.emulator.advance(10)
    m = net.client.messages(m.sid).fetch()
    assert (m.status, m.error_code, m.date_sent) == ("failed", 30008, None)


def test_runtime_outcome_applies_and_reset_forgets_it(net):
    net.emulator.outcome(TO, sms="undelivered")
    sid = net.client.messages.create(to=TO, from_=FROM, body="x").sid
    net.emulator.advance(5)
    assert net.client.messages(sid).fetch().status == "undelivered"
    assert net.emulator.unused() == []
    net.emulator.reset()
    sid = net.client.messages.create(to=TO, from_=FROM, body="x").sid
    net.emulator.advance(5)
    assert net.client.messages(sid).fetch().status == "delivered"


def test_unused_runtime_outcomes_and_faults_are_reported_but_config_ones_are_not(net):
    assert net.emulator.unused() == []
    net.emulator.outcome("+15550009999", call="busy")
    net.emulator.fail_next(500)
    assert len(net.emulator.unused()) == 2 and "+15550009999" in " ".join(net.emulator.unused())


def test_bad_rules_are_one_line_errors():
    with pytest.raises(ConfigError, match="numbers.+15551230001.sms"):
        Emulator({"emulator": {"numbers": {"+15551230001": {"sms": "lost"}}}})
    with Emulator({}, clock=ManualClock()) as emulator, pytest.raises(UsageError, match="call"):
        emulator.outcome(TO, call="maybe")


# --- outcomes: calls ------------------------------------------------------------------------


@pytest.mark.parametrize("to, status, events", [
    (BUSY, "busy", ["ringing", "busy"]),
    (NOANSWER, "no-answer", ["ringing", "no-answer"]),
    (FAILED, "failed", ["failed"]),
])
def test_calls_end_busy_no_answer_failed_with_callbacks_and_zero_duration(net, receiver, to, status, events):
    call = net.client.calls.create(to=to, from_=FROM, url=receiver.url + "/twiml", timeout=20,
                                   status_callback=receiver.url + "/cs",
                                   status_callback_event=["ringing", "answered", "completed"])
    net.emulator.advance(60)
    call = net.client.calls(call.sid).fetch()
    assert (call.status, call.duration, call.price, call.start_time) == (status, "0", None, None)
    callbacks = [r["form"] for r in receiver.requests if r["path"] == "/cs"]
    assert [c["CallStatus"] for c in callbacks] == events
    assert callbacks[-1]["CallDuration"] == "0"
    assert "/twiml" not in receiver.paths()  # never answered: no TwiML fetched


def test_no_answer_waits_for_the_timeout(net):
    sid = net.client.calls.create(to=NOANSWER, from_=FROM, twiml="<Response/>", timeout=30).sid
    net.emulator.advance(30)
    assert net.client.calls(sid).fetch().status == "ringing"
    net.emulator.advance(1)
    assert net.client.calls(sid).fetch().status == "no-answer"


def test_machine_detection_is_validated_and_sets_answered_by(net, receiver):
    with raises(400, 20001):
        net.client.calls.create(to=MACHINE, from_=FROM, twiml="<Response/>", machine_detection="Maybe")
    plain = net.client.calls.create(to=MACHINE, from_=FROM, twiml="<Response/>")
    amd = net.client.calls.create(to=MACHINE, from_=FROM, url=receiver.url + "/t", machine_detection="Enable")
    end = net.client.calls.create(to=MACHINE, from_=FROM, twiml="<Response/>", machine_detection="DetectMessageEnd")
    human = net.client.calls.create(to=TO, from_=FROM, twiml="<Response/>", machine_detection="Enable")
    net.emulator.advance(30)
    got = [net.client.calls(c.sid).fetch().answered_by for c in (plain, amd, end, human)]
    assert got == [None, "machine_start", "machine_end_beep", "human"]
    assert receiver.requests[0]["form"]["AnsweredBy"] == "machine_start"


def test_update_call_cancels_a_ringing_call_and_hangs_up_a_live_one(net, receiver):
    ringing = net.client.calls.create(to=TO, from_=FROM, twiml="<Response/>", status_callback=receiver.url + "/cs")
    net.emulator.advance(1)
    assert net.client.calls(ringing.sid).update(status="canceled").status == "canceled"
    assert receiver.requests[-1]["form"]["CallStatus"] == "canceled"
    live = net.client.calls.create(to=TO, from_=FROM, twiml="<Response><Pause length='30'/></Response>")
    net.emulator.advance(4)
    assert net.client.calls(live.sid).update(status="canceled").status == "in-progress"  # canceled: no effect
    done = net.client.calls(live.sid).update(status="completed")
    assert (done.status, done.duration) == ("completed", "1")
    with raises(400, 21220):
        net.client.calls(live.sid).update(url=receiver.url + "/t")


def test_update_call_with_twiml_redirects_a_live_call(net):
    sid = net.client.calls.create(to=TO, from_=FROM, twiml=IVR.replace('action="/menu" ', "")).sid
    net.emulator.advance(3)
    net.client.calls(sid).update(twiml="<Response><Say>Changed course.</Say><Hangup/></Response>")
    transcript = net.emulator.transcript(sid)
    assert transcript[-2:] == [{"verb": "Say", "text": "Changed course."}, {"verb": "Hangup", "text": ""}]
    assert net.client.calls(sid).fetch().status == "completed"


# --- the TwiML interpreter ------------------------------------------------------------------


@pytest.fixture
def ivr(receiver):
    receiver.bodies.update({"/ivr": IVR, "/goodbye": "<Response><Say>Goodbye.</Say></Response>"})
    return receiver


def _menu(receiver, digit):
    receiver.bodies["/menu"] = MENU[digit]


@pytest.mark.parametrize("digit, said, status", [
    ("1", "Connecting you to sales.", "completed"),
    ("2", "Goodbye.", "completed"),
])
def test_ivr_press_1_and_press_2(net, ivr, digit, said, status):
    _menu(ivr, digit)
    sid = net.client.calls.create(to=TO, from_=FROM, url=ivr.url + "/ivr").sid
    net.emulator.advance(3)
    assert net.emulator.transcript(sid) == [{"verb": "Say", "text": "Press 1 for sales, 2 for support."}]
    net.emulator.press(sid, digit)
    action = [r for r in ivr.requests if r["path"] == "/menu"][0]["form"]
    assert action["Digits"] == digit and action["CallSid"] == sid
    net.emulator.advance(10)
    transcript = net.emulator.transcript(sid)
    assert transcript[1] == {"verb": "Gather", "text": "", "digits": digit, "action": ivr.url + "/menu"}
    assert [e["text"] for e in transcript if e["verb"] == "Say"][-1] == said
    assert net.client.calls(sid).fetch().status == status


def test_gather_timeout_falls_through_to_the_next_verb(net, ivr):
    sid = net.client.calls.create(to=TO, from_=FROM, url=ivr.url + "/ivr").sid
    net.emulator.advance(3 + 10)
    verbs = [(e["verb"], e.get("text")) for e in net.emulator.transcript(sid)]
    assert verbs[1:] == [("Gather", ""), ("Say", "We did not get that.")]


def test_speech_gather_posts_speech_result(net, receiver):
    receiver.bodies["/q"] = '<Response><Gather input="speech" action="/a"><Say>Yes or no?</Say></Gather></Response>'
    receiver.bodies["/a"] = "<Response><Hangup/></Response>"
    sid = net.client.calls.create(to=TO, from_=FROM, url=receiver.url + "/q").sid
    net.emulator.advance(3)
    with pytest.raises(UsageError, match="not key presses"):
        net.emulator.press(sid, "1")
    net.emulator.speak(sid, "yes")
    assert [r["form"].get("SpeechResult") for r in receiver.requests if r["path"] == "/a"] == ["yes"]
    assert net.client.calls(sid).fetch().status == "completed"


def test_dial_record_message_and_pause(net, receiver):
    receiver.bodies["/t"] = (f"<Response><Pause length='2'/><Dial action='/dialed'><Number>{BUSY}</Number></Dial>"
                             "</Response>")
    receiver.bodies["/dialed"] = ("<Response><Record action='/rec' maxLength='30'/></Response>")
    receiver.bodies["/rec"] = "<Response><Message>Sorry we missed you</Message></Response>"
    sid = net.client.calls.create(to=TO, from_=FROM, url=receiver.url + "/t").sid
    net.emulator.advance(30)
    verbs = [e["verb"] for e in net.emulator.transcript(sid)]
    assert verbs == ["Pause", "Dial", "Record", "Message"]
    dialed = [r["form"] for r in receiver.requests if r["path"] == "/dialed"][0]
    assert dialed["DialCallStatus"] == "busy"
    child = net.client.calls.list(parent_call_sid=sid)
    assert [(c.to, c.status) for c in child] == [(BUSY, "busy")]
    assert [r["form"]["RecordingUrl"].startswith("https://api.twilio.com/") for r in receiver.requests
            if r["path"] == "/rec"] == [True]
    sms = [m for m in net.client.messages.list() if m.body == "Sorry we missed you"]
    assert [(m.to, m.from_) for m in sms] == [(TO, FROM)]


def test_malformed_twiml_is_12100_and_the_fallback_gets_error_code(net, receiver):
    receiver.bodies["/bad"] = "<Response><Say>unclosed</Response>"
    receiver.bodies["/fallback"] = "<Response><Say>Fallback speaking.</Say></Response>"
    sid = net.client.calls.create(to=TO, from_=FROM, url=receiver.url + "/bad",
                                  fallback_url=receiver.url + "/fallback").sid
    net.emulator.advance(10)
    fallback = [r["form"] for r in receiver.requests if r["path"] == "/fallback"][0]
    assert fallback["ErrorCode"] == "12100" and fallback["ErrorUrl"] == receiver.url + "/bad"
    transcript = net.emulator.transcript(sid)
    assert transcript[0]["code"] == 12100 and transcript[-1]["text"] == "Fallback speaking."
    inline = net.client.calls.create(to=TO, from_=FROM, twiml="<Response><Say>x</Say>").sid
    net.emulator.advance(10)
    assert net.emulator.transcript(inline)[0]["code"] == 12100


def test_entities_and_dtds_are_refused_by_the_parser(net):
    bomb = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><Response><Say>&a;</Say></Response>'
    sid = net.client.calls.create(to=TO, from_=FROM, twiml=bomb).sid
    net.emulator.advance(10)
    assert net.emulator.transcript(sid)[0]["code"] == 12100


def test_twiml_over_4000_characters_is_refused(net):
    with raises(400, 20001):
        net.client.calls.create(to=TO, from_=FROM, twiml="<Response><Say>" + "x" * 4000 + "</Say></Response>")


def test_reject_ends_an_inbound_call_busy_without_answering(net, receiver):
    receiver.bodies["/voice"] = "<Response><Reject reason='busy'/></Response>"
    net.emulator.outcome("+15005550010", voice_url=receiver.url + "/voice")
    call = net.emulator.inbound_call(from_=TO, to="+15005550010")
    assert (call["status"], call["direction"]) == ("busy", "inbound")
    hook = receiver.requests[0]
    assert hook["form"]["CallStatus"] == "ringing"
    assert RequestValidator(net.token).validate(hook["url"], hook["form"], hook["signature"])


# --- test credentials and magic numbers -----------------------------------------------------


def test_test_credentials_only_create_and_only_from_magic_numbers(net):
    client = Client(TEST_SID, TEST_TOKEN)
    client.api.base_url = net.url
    m = client.messages.create(to=TO, from_=FROM, body="hi")
    assert m.status == "queued"
    with raises(400, 21606):
        client.messages.create(to=TO, from_="+15550001234", body="hi")
    with raises(400, 21211):
        client.messages.create(to="+15005550001", from_=FROM, body="hi")
    with pytest.raises(TwilioException, match="20008"):  # the SDK's page error
        client.messages.list()
    with raises(403, 20008):
        client.messages(m.sid).fetch()
    client.calls.create(to=TO, from_=FROM, twiml="<Response/>")
    with raises(400, 21210):
        client.calls.create(to=TO, from_="+15550001234", twiml="<Response/>")


def test_magic_numbers_limited_to_test_accounts(validator):
    env = make_env({"emulator": {"magic_numbers": "test-accounts", "owned_numbers": ["+15550001111"]}}, validator)
    try:
        with raises(400, 21606):  # +15005550006 is not special for a live account any more
            env.client.messages.create(to=TO, from_=FROM, body="hi")
        m = env.client.messages.create(to="+15005550001", from_="+15550001111", body="hi")
        assert m.status == "queued"
    finally:
        env.server.shutdown()
        env.emulator.close()


# --- opt-out ----------------------------------------------------------------------------------


def test_stop_opts_out_start_opts_back_in_and_help_answers(net):
    ours = "+15005550006"
    net.emulator.receive_message(to=ours, from_=TO, body=" stop ")
    with raises(400, 21610):
        net.client.messages.create(to=TO, from_=ours, body="promo")
    replies = [m.body for m in net.client.messages.list(to=TO)]
    assert replies[0].startswith("You have successfully been unsubscribed")
    net.emulator.receive_message(to=ours, from_=TO, body="HELP")
    net.emulator.receive_message(to=ours, from_=TO, body="Start")
    assert net.client.messages.create(to=TO, from_=ours, body="welcome back").status == "queued"
    replies = [m.body for m in net.client.messages.list(to=TO)]
    assert replies[1].startswith("You have successfully been re-subscribed")
    assert replies[2].startswith("Reply STOP to unsubscribe")


def test_inbound_sms_goes_to_the_numbers_sms_url_signed(net, receiver):
    net.emulator.outcome("+15005550010", sms_url=receiver.url + "/sms")
    net.emulator.receive_message(to="+15005550010", from_=TO, body="STOP")
    hook = receiver.requests[0]
    assert hook["path"] == "/sms" and hook["form"]["OptOutType"] == "STOP"
    assert RequestValidator(net.token).validate(hook["url"], hook["form"], hook["signature"])


# --- wire gaps --------------------------------------------------------------------------------


def test_page_size_above_1000_is_capped(net):
    net.client.messages.create(to=TO, from_=FROM, body="x")
    assert len(net.client.messages.list(limit=5000)) == 1
    page = requests.get(f"{net.url}/2010-04-01/Accounts/{net.sid}/Messages.json", params={"PageSize": 5000},
                        auth=(net.sid, net.token)).json()
    assert page["page_size"] == 1000


def test_smart_encoded_and_segments(net):
    m = net.client.messages.create(to=TO, from_=FROM, body="\u201cHi\u201d \u2014 ok\u2026", smart_encoded=True)
    assert (m.body, m.num_segments) == ('"Hi" - ok...', "1")
    assert segments_for("\f" * 80) == 1 and segments_for("\f" * 81) == 2  # \f costs two septets
    thumbs = "\U0001F44D\U0001F3FD"  # a thumb and a skin tone: one grapheme cluster, four UTF-16 units
    # 64 + 4 units overflow the first 67-unit segment: the whole cluster moves on, and the rest
    # needs a third segment (split by code points it would fit in two)
    assert segments_for("a" * 64 + thumbs + "b" * 64) == 3
    assert segments_for("a" * 66 + thumbs) == 1 and segments_for("a" * 67 + thumbs) == 2


@pytest.mark.parametrize("callback", ["http://bad_host.example/cb", "http://127.0.0.1/" + "x" * 4000])
def test_status_callback_with_underscore_host_or_too_long_is_21609(net, callback):
    with raises(400, 21609):
        net.client.messages.create(to=TO, from_=FROM, body="x", status_callback=callback)


def test_message_that_is_only_sent_cannot_be_deleted_until_final(net):
    sid = net.client.messages.create(to=TO, from_=FROM, body="x").sid
    net.emulator.advance(2)
    assert net.client.messages(sid).fetch().status == "sent"
    with raises(400, 20009):
        net.client.messages(sid).delete()
    net.emulator.advance(1)
    assert net.client.messages(sid).delete() is True


def test_message_update_redacts_and_cancels(net):
    sid = net.client.messages.create(to=TO, from_=FROM, body="secret").sid
    with raises(400, 20009):
        net.client.messages(sid).update(body="")
    net.emulator.advance(5)
    assert net.client.messages(sid).update(body="").body == ""
    queued = net.client.messages.create(to=TO, from_=FROM, body="later").sid
    assert net.client.messages(queued).update(status="canceled").status == "canceled"
    net.emulator.advance(5)
    assert net.client.messages(queued).fetch().status == "canceled"


def test_media_content_url_redirects_without_fetching(net):
    m = net.client.messages.create(to=TO, from_=FROM, media_url=["http://127.0.0.1:9/cat.png"])
    media = net.client.messages(m.sid).media.list()[0]
    content = f"{net.url}{media.uri[:-len('.json')]}"
    answer = requests.get(content, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"] == "http://127.0.0.1:9/cat.png"


def test_incoming_phone_numbers_list_fetch_update_and_account_fetch(net, receiver):
    numbers = net.client.incoming_phone_numbers.list()
    assert numbers == []
    net.emulator.outcome("+15005550010", sms_url=receiver.url + "/sms")
    [number] = net.client.incoming_phone_numbers.list()
    assert (number.phone_number, number.sms_url) == ("+15005550010", receiver.url + "/sms")
    updated = net.client.incoming_phone_numbers(number.sid).update(voice_url=receiver.url + "/voice",
                                                                   voice_method="GET", friendly_name="Main line")
    assert (updated.voice_url, updated.voice_method, updated.friendly_name) == (
        receiver.url + "/voice", "GET", "Main line")
    assert net.client.incoming_phone_numbers(number.sid).fetch().voice_url == receiver.url + "/voice"
    receiver.bodies["/voice"] = "<Response><Say>Welcome.</Say></Response>"
    call = net.emulator.inbound_call(from_=TO, to="+15005550010")
    assert receiver.requests[-1]["method"] == "GET"
    assert net.emulator.transcript(call["sid"]) == [{"verb": "Say", "text": "Welcome."}]
    account = net.client.api.accounts(net.sid).fetch()
    assert account.sid == net.sid and account.status == "active" and net.token not in str(account.auth_token)
